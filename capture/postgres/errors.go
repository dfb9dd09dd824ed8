package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

var (
	// ErrSlotExists: the replication slot exists but no offset is stored, so nothing says
	// which of its changes were delivered; sluice neither drops nor reuses it on its own.
	ErrSlotExists = errors.New("replication slot exists but no offset is stored")
	// ErrSlotAhead: the replication slot is confirmed past the stored offset, so the changes
	// between them were consumed by someone else and never reached the sink.
	ErrSlotAhead = errors.New("replication slot is ahead of the stored offset")
	// ErrTableColumnsChanged: a column of a table that a resumed snapshot reads in chunks
	// changed its type (ALTER TABLE … TYPE) while it was read: the chunk would decode its
	// values as the old type. Retryable: reopened, the source reads the rest with the new
	// columns (a table without a key again from its start).
	ErrTableColumnsChanged = errors.New("a table's columns changed while the resumed snapshot read it")
	// ErrTableRewritten: a table was rewritten (ALTER TABLE … TYPE, TRUNCATE, VACUUM FULL,
	// CLUSTER) after the initial snapshot began and before it was read: through the snapshot
	// its new files look empty (ALTER … TYPE wrote every row again). Retryable: reopened, the
	// source resumes the snapshot, which reads the rest as the table is now.
	ErrTableRewritten = errors.New("a table was rewritten after the snapshot began")
	// ErrSlotLost: the server removed WAL the slot still needed (wal_status lost); the changes
	// in it are gone.
	ErrSlotLost = errors.New("replication slot lost")
	// ErrOffsetAhead: the stored offset is past the end of the server's WAL, so it was not
	// written against this server (or the server lost the end of its WAL); streaming from it
	// would skip every change until the WAL reached it.
	ErrOffsetAhead = errors.New("stored offset is past the end of the server's WAL")
	// ErrReadTimeout: the replication stream was silent for longer than Config.ReadTimeout.
	ErrReadTimeout = errors.New("read timeout: no message from the server")
)

// SnapshotLockTimeoutError: a snapshot read waited Config.SnapshotLockTimeout for its
// table's ACCESS SHARE lock (SQLSTATE 55P03). Another session holds or waits for a lock that
// conflicts with it: an ALTER TABLE, VACUUM FULL, CLUSTER, TRUNCATE or LOCK TABLE, often
// itself queued behind a long transaction, and every later lock of the table queues behind
// that. Retryable: reopened, the source resumes the snapshot from its last saved offset.
type SnapshotLockTimeoutError struct {
	Tables  []string // the table (schema.table), or the tables of one query over several
	Timeout time.Duration
	Err     error
}

func (e *SnapshotLockTimeoutError) Error() string {
	rels := make([]string, len(e.Tables))
	for i, t := range e.Tables {
		rels[i] = "'" + strings.ReplaceAll(t, "'", "''") + "'::regclass"
	}
	return fmt.Sprintf("postgres snapshot: waited --snapshot-lock-timeout %s for an ACCESS SHARE lock on %s: another session holds or waits for a conflicting lock on it "+
		"(ALTER TABLE, VACUUM FULL, CLUSTER, TRUNCATE or LOCK TABLE, often queued behind a long transaction); the source reopens and resumes the snapshot. "+
		"See who with SELECT pid, state, xact_start, query FROM pg_stat_activity WHERE pid IN (SELECT pid FROM pg_locks WHERE relation IN (%s)); "+
		"end the long transaction, let the DDL finish, or raise --snapshot-lock-timeout: %v", e.Timeout, strings.Join(e.Tables, ", "), strings.Join(rels, ", "), e.Err)
}

func (e *SnapshotLockTimeoutError) Unwrap() error   { return e.Err }
func (e *SnapshotLockTimeoutError) Retryable() bool { return true }

// lockWaited is err as a *SnapshotLockTimeoutError when it is the lock_timeout of a snapshot
// read of tables (55P03 lock_not_available), else err.
func (s *Source) lockWaited(err error, tables ...string) error {
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok && pe.Code == "55P03" {
		return &SnapshotLockTimeoutError{Tables: tables, Timeout: s.cfg.SnapshotLockTimeout, Err: err}
	}
	return err
}

// lockTimeoutSQL sets the snapshot lock timeout for the rest of the transaction.
func (s *Source) lockTimeoutSQL() string {
	return "SET LOCAL lock_timeout = " + strconv.FormatInt(max(s.cfg.SnapshotLockTimeout.Milliseconds(), 1), 10)
}

// retryable marks a transient failure: the server went away, is restarting or is out of
// connections. The capture command reopens the source from the last saved offset.
type retryable struct{ error }

func (r retryable) Retryable() bool { return !errors.Is(r.error, context.Canceled) }
func (r retryable) Unwrap() error   { return r.error }

// hinted is a server error classify added its fix to; classifying it again keeps it as it is.
type hinted struct{ error }

func (h hinted) Unwrap() error { return h.error }

// classify marks err retryable when a later attempt may succeed (the connection failed or
// broke, the server is shutting down, starting up or out of connections) and adds the fix to
// server errors no retry can cure (bad password, missing grant, database or publication).
// Anything else is returned as it is.
func classify(err error) error {
	var h hinted
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, ErrSnapshotOnly) || errors.As(err, &h) {
		return err // (hinted: classified already, by the source before the pipeline)
	}
	if te := tlsError(err); te != nil {
		return te
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case transientCode(pe.Code):
			return retryable{err}
		case pe.Code == "28P01" || pe.Code == "28000":
			return hinted{fmt.Errorf("%w (check the user and password in --dsn, --password-file or SLUICE_PG_PASSWORD, and pg_hba.conf; not retried)", err)}
		case pe.Code == "42501":
			return hinted{fmt.Errorf("%w (the role lacks a privilege: it needs LOGIN, REPLICATION (ALTER ROLE … WITH REPLICATION) and SELECT on the captured tables; not retried)", err)}
		case pe.Code == "3D000":
			return hinted{fmt.Errorf("%w (create the database or fix the database name in --dsn/--dbname; not retried)", err)}
		case pe.Code == "42704" && strings.Contains(pe.Message, "publication") && strings.Contains(pe.Where, "pgoutput"):
			// pgoutput reads the publication as the catalog was at each change's WAL position.
			// The publication exists now (sluice created it at the open), so the slot reads WAL
			// written while it did not: dropped and created again, or created after the slot.
			// Every restart meets the same position; only a new slot gets past it.
			return hinted{fmt.Errorf("%w [%s]: the slot reads WAL written while the publication did not exist (it was dropped and created again, or created after the slot), "+
				"which pgoutput cannot decode at any restart; changes made then were never published. Restart once with --snapshot-mode always: it re-creates the slot and takes a new snapshot "+
				"(or use a new --slot with --snapshot-mode initial); not retried", err, pe.Where)}
		case pe.Code == "42704" && strings.Contains(pe.Message, "publication"):
			return hinted{fmt.Errorf("%w (create it, e.g. CREATE PUBLICATION … FOR ALL TABLES, or set --publication-mode all_tables|filtered; not retried)", err)}
		}
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, pgconn.ErrConnClosed) || pgconn.SafeToRetry(err) ||
		pgconn.Timeout(err) {
		return retryable{err}
	}
	return err
}

// transientCode reports SQLSTATEs of a server that is going away, coming back or busy:
// class 08 (connection exception), 57P01 admin_shutdown (pg_ctl stop -m fast), 57P02
// crash_shutdown, 57P03 cannot_connect_now (starting up or in recovery), 53300
// too_many_connections, 55006 object_in_use (the slot is still held by a dying walsender).
func transientCode(code string) bool {
	switch code {
	case "57P01", "57P02", "57P03", "53300", "55006":
		return true
	}
	return strings.HasPrefix(code, "08")
}

func isPgError(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe)
}
