package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

// snapshotState reads the captured tables inside one consistent-snapshot transaction.
type snapshotState struct {
	data    bool
	started bool
	conn    *sql.Conn    // the connection that holds the lock and reads the position
	readers []snapReader // each in a consistent snapshot opened under the same lock
	pos     *Position    // binlog position of the snapshot (Snapshot=true)
	tables  []*schema.Table
	units   []*snapUnit // in table order, each table's in key order
	ui      int
	batch   []capture.Row
	bi      int
	batchTs int64
	ti      int
	view    *tableView
	tableN  int64
	totalN  int64
	tStart  time.Time
	start   time.Time
	lastLog time.Time
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	// unlock releases the global read lock (or the table locks) that --snapshot-locking
	// extended keeps until the snapshot ends.
	unlock func()
	// tableLocks: the last snapshotOpen locked the captured tables (LOCK TABLES ... READ)
	// because the server did not permit the global read lock.
	tableLocks bool
	estimates  map[schema.TableID]int64
	prog       *capture.TableProgress // the current table's
	// batchPos is the position of the current batch's rows: the snapshot's, with the progress
	// up to the batch before (after: its last key), so a restart resumes at most a batch
	// (and what was in flight) before the rows acknowledged.
	batchPos *Position
	after    [][]byte

	pending       capture.Event
	hasPending    bool
	pendingFirstT bool
	pendingFirst  bool
	sawAny        bool
	newTable      bool

	// spare are more transactions opened under the same lock: a reader that has read
	// snapshotTxTables tables moves on to one. Taken by index (takeSpare).
	spare     []snapReader
	spareNext atomic.Int32

	// budget bounds the bytes of the batches read and not yet handed out, over all readers
	// (--snapshot-max-buffered-bytes); head is the index of the unit Next reads (ui), which
	// its reader may go over the budget for when it holds no batch (capture.ReadBudget).
	budget capture.ReadBudget
	head   atomic.Int32
	// held is the bytes of the batch Next hands out now, released when it takes the next.
	held int64
}

// snapUnit is a piece of one table a reader reads: all of it, or a range [lo, hi) of its
// single integer key (nil = open). Its rows reach Next in batches, in key order.
type snapUnit struct {
	ti     int // index in snapshotState.tables
	lo, hi *int64
	ch     chan *rowBatch // closed after the last batch
	err    error          // set before ch is closed
	// probe, for a table the engine estimates empty, is the batch that checks it; empty is
	// then set when the check found no row, and the table is not read.
	probe *emptyProbe
	empty bool
	// index is the unit's in snapshotState.units; held the bytes of its batches queued in ch
	// or handed out now (budget).
	index int
	held  atomic.Int64
}

// emptyProbe checks several tables estimated empty with one statement in a reader's snapshot
// transaction: one round trip instead of one per table (10,000 empty tables: 10,000 SELECTs).
// The estimate alone is not trusted (InnoDB's TABLE_ROWS is a sample and lags behind inserts).
// The first reader that takes one of its units runs it; the others wait for it.
type emptyProbe struct {
	once  sync.Once
	units []*snapUnit
	err   error
}

// emptyProbeTables is how many tables one probe statement checks.
var emptyProbeTables = 200 // a var for tests

// rowBatch is a run of rows read together at ts (µs since the epoch).
type rowBatch struct {
	rows []capture.Row
	vals []capture.Value // the rows' Values, snapBatchRows × columns (reused: rowPool)
	ts   int64
	last [][]byte // the last row's key columns as the server sent them; nil without a key
	size int64    // bytes: the Values and the row data (budget)
}

// snapBatchRows and snapBatchBytes end a batch: wide rows fill one with fewer rows, so that
// the budget counts them in small steps (and a 4 MB row is a batch of its own).
const (
	snapBatchRows  = 512
	snapBatchBytes = 256 << 10
)

func (st *snapshotState) close() {
	if st.cancel != nil {
		st.cancel()
		st.cancel = nil
	}
	st.wg.Wait() // readers stop at the cancelled context, also while handing over a batch
	st.units = nil
	st.budget.Reset()
	st.held = 0
	for _, r := range st.readers {
		r.close()
	}
	st.readers = nil
	for _, r := range st.spare {
		if r != nil {
			r.close()
		}
	}
	st.spare = nil
	st.spareNext.Store(0)
	if st.unlock != nil {
		st.unlock()
		st.unlock = nil
	}
	if st.conn != nil {
		// end the snapshot transaction before the connection goes back to the pool
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = st.conn.ExecContext(ctx, "COMMIT")
		st.conn.Close()
		st.conn = nil
	}
}

// errDDLRaced: a statement that may change a table definition reached the binlog between the
// snapshot's position and the end of its unlocked schema read, so the definitions read may be
// newer than the position.
var errDDLRaced = errors.New("DDL during the snapshot's schema read")

// snapshotBegin opens the consistent snapshot, reads the binlog position and the schemas under
// the locks --snapshot-locking asks for, and starts the readers. When the definitions were read
// without a DDL lock and a DDL raced them it begins once more, the definitions then read under
// the global read lock.
func (s *Source) snapshotBegin(ctx context.Context) error {
	st := s.snap
	st.started = true
	st.start = time.Now()
	ss := &s.cfg.Stats.Snapshot
	ss.Completed.Store(false)
	ss.Aborted.Store(false)
	ss.EndedUnixNano.Store(0)
	ss.StartedUnixNano.Store(st.start.UnixNano())
	ss.Running.Store(true)
	for attempt := 0; ; attempt++ {
		err := s.snapshotOpen(ctx, attempt > 0)
		if err == nil {
			break
		}
		// Under the global read lock the second try cannot race; table locks leave other
		// tables' DDL free, so they get a few tries, then the error (retryable: the source is
		// reopened).
		tries := 1
		if st.tableLocks {
			tries = 3
		}
		if !errors.Is(err, errDDLRaced) || attempt >= tries {
			if errors.Is(err, errDDLRaced) {
				return &retryableError{err}
			}
			return err
		}
		if st.tableLocks {
			s.log.Warn("snapshot: a DDL ran while the snapshot opened under table locks; beginning again", "err", err)
		} else {
			s.log.Warn("snapshot: a DDL ran while the table definitions were read without a lock; beginning again with the definitions read under the global read lock (GRANT BACKUP_ADMIN (MySQL) or RELOAD (MariaDB) lets a backup lock hold DDL off instead)", "err", err)
		}
		st.close()
		st.pos = nil
	}
	pos := st.pos
	for _, t := range s.cat.Tables() {
		if s.f.table(t.ID.DB, t.ID.Table) {
			st.tables = append(st.tables, t)
		}
	}
	ss.TotalTables.Store(int64(len(st.tables)))
	ss.RemainingTables.Store(int64(len(st.tables)))
	for _, t := range st.tables {
		tp := ss.Table(t.ID.String())
		tp.Rows.Store(0)
		tp.Done.Store(false)
		tp.Estimate.Store(st.estimates[t.ID])
	}
	st.estimates = nil
	s.log.Info("snapshot started", "file", pos.File, "pos", pos.Pos, "gtids", pos.GTIDs, "tables", len(st.tables), "data", st.data, "readers", len(st.readers), "locking", string(s.cfg.SnapshotLocking))
	if st.data {
		if err := s.startReaders(ctx); err != nil {
			return err
		}
		return s.saveSnapshotStart(ctx)
	}
	return nil
}

// saveSnapshotStart stores, through Config.SaveOffset, the offset of the snapshot about to
// hand out its first row: its binlog position, running, the first table not begun. The
// pipeline saves only every SnapshotFlushInterval after rows were delivered, so a kill in
// between left no offset, and the next start took a new snapshot at a later position: a row
// the first attempt had published and that was deleted in between reached neither the new
// snapshot nor the stream, and stayed in the sinks. From this offset a restart resumes
// (snapshot_resume.go). The readers have started; no row goes out before this returns, as
// rows leave only through Next.
func (s *Source) saveSnapshotStart(ctx context.Context) error {
	st := s.snap
	if s.cfg.SaveOffset == nil || len(st.tables) == 0 {
		return nil
	}
	p := snapProgress(st.pos, st.tables[0].ID, nil)
	p.Filters = s.filters // as Next stamps the positions it hands out
	if s.hasSigNext {
		p.SignalOffset, p.HasSignalOffset = s.sigNext, true
	}
	if err := s.cfg.SaveOffset(ctx, p.AppendOffset(nil)); err != nil {
		return &retryableError{errorf("store the offset of the snapshot at %s before its first row: %w", p.String(), err)}
	}
	return nil
}

// snapshotOpen takes the locks, opens the snapshot's transactions, reads the position and the
// schemas into the catalog and the history, and releases what the locking mode does not keep.
// underLock reads the definitions under the global read lock (the old, always-safe way, for
// the second try after errDDLRaced).
//
// Why the definitions read after the global read lock is released still match the position:
// with a backup lock (held from before the position is read until the definitions are read)
// no DDL can run in between; without one, every DDL that changed what was read is in the
// binlog before the server position read after the definitions (a DDL is binlogged before its
// metadata lock is released, and the reads wait for that lock), so an empty check of
// (position, then-current position] proves no DDL interleaved.
func (s *Source) snapshotOpen(ctx context.Context, underLock bool) error {
	st := s.snap
	mode := s.cfg.SnapshotLocking
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return errorf("snapshot connection: %w", err)
	}
	st.conn = conn
	exec := func(q string) error {
		_, err := conn.ExecContext(ctx, q)
		return err
	}
	// The readers' connections are made before any lock (a connection costs milliseconds);
	// under the lock each only opens its transaction.
	var dialled []*protoReader
	if mode != LockNone {
		dialled = s.dialReaders(ctx)
	}
	defer func() {
		for _, r := range dialled {
			if r != nil {
				r.close() // not begun
			}
		}
	}()
	var bl *backupLock
	if mode == LockMinimalPercona || mode == LockMinimal && !underLock {
		if bl, err = s.takeBackupLock(ctx); err != nil {
			if mode == LockMinimalPercona || !errors.Is(err, errNoBackupLock) {
				return err
			}
			s.log.Info("snapshot: no backup lock; the table definitions are read without a DDL lock and the binlog is checked for DDL afterwards", "err", err)
			bl = nil
		}
		defer bl.release(s)
		if bl != nil && s.cfg.afterBackupLock != nil {
			s.cfg.afterBackupLock()
		}
	}
	// locked: no write to a captured table can commit until unlock (the global read lock on
	// conn, or tl's table locks where the server does not permit the global one).
	locked := false
	var tl *tableLock
	var lockedAt time.Time
	if mode != LockNone {
		lockedAt = time.Now()
		if err := exec(s.lockWaitTimeout()); err != nil {
			return errorf("snapshot: %w", err)
		}
		var err error
		if s.cfg.noGlobalLock {
			err = &gomysql.MySQLError{Number: 1045, Message: "Access denied (test: a managed server)"}
		} else {
			err = exec("FLUSH TABLES WITH READ LOCK")
		}
		if err != nil {
			if lockTimedOut(err) {
				return errorf("snapshot: FLUSH TABLES WITH READ LOCK waited --snapshot-lock-timeout %s: %w. Another session holds a table or waits "+
					"for this snapshot's backup lock (a DDL statement, which then blocks the lock), and writers queue behind the pending lock; "+
					"the locks are released so it can go on, and the snapshot begins again", s.cfg.SnapshotLockTimeout, err)
			}
			if transient(err) {
				// A lost or stalled connection (no answer for --query-timeout, e.g. the lock
				// waiting behind a long query), not a missing grant: retried.
				return errorf("snapshot: FLUSH TABLES WITH READ LOCK: %w (the connection broke, or nothing came for --query-timeout %s)", err, s.cfg.QueryTimeout)
			}
			if !lockDenied(err) {
				return errorf("snapshot: FLUSH TABLES WITH READ LOCK: %w", err)
			}
			// Not permitted (no RELOAD, or a managed server that refuses it to everyone):
			// table locks on the captured tables instead, as Debezium does.
			if tl, err = s.takeTableLocks(ctx, err); err != nil {
				return err
			}
			lockedAt = tl.at
		}
		locked = true
	}
	st.tableLocks = tl != nil
	unlock := func() {
		if locked {
			uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			what := "global read lock"
			if tl != nil {
				tl.release()
				what = "table locks"
			} else {
				_, _ = conn.ExecContext(uctx, "UNLOCK TABLES")
			}
			locked = false
			d := time.Since(lockedAt)
			s.cfg.Stats.Snapshot.WritesBlockedNanos.Add(int64(d))
			s.log.Info("snapshot: "+what+" released", "writes_blocked_seconds", d.Seconds())
		}
	}
	defer func() {
		if st.unlock == nil { // extended hands the lock to the snapshot
			unlock()
		}
	}()
	if err := exec("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"); err != nil {
		return errorf("snapshot: %w", err)
	}
	if !locked && !s.info.MariaDB {
		// MySQL has no binlog position of a consistent snapshot (MariaDB's
		// Binlog_snapshot_file): without a lock, a transaction written to the binlog before any
		// position read here but committed in InnoDB after the snapshot opens is in neither the
		// snapshot nor the stream (seen in CI: 403 of 404 rows).
		return errorf("snapshot: --snapshot-locking none cannot meet the stream exactly on MySQL (no snapshot-consistent binlog position without a lock), so it is refused. Fix: --snapshot-locking minimal (the default: the global read lock only while the position is read, or the backup lock with BACKUP_ADMIN), or take the snapshot from a replica")
	}
	var pos *Position
	if err := exec("START TRANSACTION WITH CONSISTENT SNAPSHOT"); err != nil {
		return errorf("snapshot: START TRANSACTION WITH CONSISTENT SNAPSHOT: %w", err)
	}
	if locked {
		// The readers, each opening its consistent snapshot while the lock still holds, so
		// all of them see the same state as conn; the transactions beyond SnapshotWorkers wait
		// as spares (snapshotState.spare).
		for i, r := range dialled {
			if err := r.begin(ctx); err != nil {
				s.log.Warn("snapshot: reader transaction not opened; reading with fewer", "err", err)
				continue
			}
			dialled[i] = nil // st owns it now
			if len(st.readers) < s.cfg.SnapshotWorkers {
				st.readers = append(st.readers, r)
			} else {
				st.spare = append(st.spare, r)
			}
		}
	}
	if len(st.readers) == 0 {
		// Without the lock only conn's own transaction matches the position.
		for _, q := range []string{readerSession, readerNoTimeLimit(s.info.MariaDB)} {
			if err := exec(q); err != nil {
				return errorf("snapshot: %w", err)
			}
		}
		st.readers = []snapReader{&sqlReader{c: conn}}
	}
	if tl != nil && s.cfg.tableLockHook != nil {
		s.cfg.tableLockHook()
	}
	if pos == nil {
		switch {
		case tl != nil && s.info.MariaDB:
			// Other tables' commits go on under table locks: MariaDB's position of conn's own
			// snapshot is exact.
			pos, err = s.binlogPosition(ctx, conn, true)
		case tl != nil:
			pos, err = s.settledPosition(ctx, conn)
		default:
			pos, err = s.binlogPosition(ctx, conn, !locked)
		}
		if err != nil {
			return err
		}
	}
	if tl != nil {
		// A captured table created between the listing and the lock was not locked: its
		// writes may have committed between the snapshot and the position.
		if err := tl.covers(ctx, s); err != nil {
			return err
		}
	}
	pos.TsSec = time.Now().Unix()
	st.pos = pos
	var sr *schemaRead
	// Table locks hold DDL off the captured tables only (a table created meanwhile, or one of
	// the history's other tables, may change): the binlog is checked after the read whatever
	// the mode.
	checkDDL := bl == nil && (tl != nil || mode == LockMinimal && !underLock)
	switch {
	case mode == LockExtended:
		// Writes stay blocked until the snapshot ends (snapshotState.close releases).
		if sr, err = s.readSchema(ctx, conn, true); err != nil {
			return err
		}
		st.unlock = unlock
	case underLock && tl == nil:
		if sr, err = s.readSchema(ctx, conn, true); err != nil {
			return err
		}
		unlock()
	default:
		unlock()
		if sr, err = s.readSchema(ctx, conn, true); err != nil {
			return err
		}
	}
	if checkDDL {
		ddl, err := s.ddlSince(ctx, pos)
		if err != nil {
			return err
		}
		if ddl != "" {
			return fmt.Errorf("mysql: snapshot: %w: %q", errDDLRaced, ddl)
		}
	}
	bl.release(s)
	if st.data {
		if err := loadEstimates(ctx, s.db, sr.tables, !s.info.MariaDB); err != nil {
			return errorf("snapshot: %w", err)
		}
	}
	st.estimates = sr.estimates()
	if h := s.cfg.estimateHook; h != nil {
		h(st.estimates)
	}
	return s.applySchema(ctx, sr, pos, true)
}

// lockWaitTimeout is the statement that bounds the session's lock waits by
// --snapshot-lock-timeout (lock_wait_timeout counts whole seconds, at least 1).
func (s *Source) lockWaitTimeout() string {
	secs := int64((s.cfg.SnapshotLockTimeout + time.Second - 1) / time.Second)
	return fmt.Sprintf("SET SESSION lock_wait_timeout = %d", max(secs, 1))
}

// lockTimedOut: the server gave up waiting for a metadata lock (ER_LOCK_WAIT_TIMEOUT).
func lockTimedOut(err error) bool {
	me, ok := errors.AsType[*gomysql.MySQLError](err)
	return ok && me.Number == 1205
}

// errNoBackupLock: the server or the user's grants do not allow a backup lock.
var errNoBackupLock = errors.New("no backup lock")

// backupLock is a lock on its own connection that holds DDL off and lets writes run: MySQL 8+
// LOCK INSTANCE FOR BACKUP (BACKUP_ADMIN), Percona Server LOCK TABLES FOR BACKUP, MariaDB
// BACKUP STAGE BLOCK_DDL (RELOAD).
type backupLock struct {
	c       *sql.Conn
	unlockQ string
	what    string
	at      time.Time
}

func (s *Source) takeBackupLock(ctx context.Context) (*backupLock, error) {
	if s.cfg.noBackupLock {
		return nil, fmt.Errorf("mysql: snapshot: %w (test)", errNoBackupLock)
	}
	c, err := s.db.Conn(ctx)
	if err != nil {
		return nil, errorf("snapshot: backup lock connection: %w", err)
	}
	var tries [][]string
	var releases []string
	switch {
	case s.info.MariaDB:
		tries, releases = [][]string{{"BACKUP STAGE START", "BACKUP STAGE BLOCK_DDL"}}, []string{"BACKUP STAGE END"}
	case s.cfg.SnapshotLocking == LockMinimalPercona:
		tries, releases = [][]string{{"LOCK TABLES FOR BACKUP"}, {"LOCK INSTANCE FOR BACKUP"}}, []string{"UNLOCK TABLES", "UNLOCK INSTANCE"}
	default:
		tries, releases = [][]string{{"LOCK INSTANCE FOR BACKUP"}}, []string{"UNLOCK INSTANCE"}
	}
	if _, err := c.ExecContext(ctx, s.lockWaitTimeout()); err != nil {
		c.Close()
		return nil, errorf("snapshot: backup lock connection: %w", err)
	}
	var errs []error
	for i, qs := range tries {
		var err error
		for _, q := range qs {
			if _, err = c.ExecContext(ctx, q); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", q, err))
				break
			}
		}
		if err == nil {
			s.log.Info("snapshot: backup lock taken: DDL waits, writes go on", "lock", strings.Join(qs, "; "))
			return &backupLock{c: c, unlockQ: releases[i], what: strings.Join(qs, "; "), at: time.Now()}, nil
		}
		if lockTimedOut(err) {
			c.Close()
			return nil, errorf("snapshot: %s waited --snapshot-lock-timeout %s for a running DDL statement: %w; the snapshot begins again", strings.Join(qs, "; "), s.cfg.SnapshotLockTimeout, err)
		}
		if transient(err) {
			c.Close()
			return nil, errorf("snapshot: backup lock: %w", err)
		}
		if s.info.MariaDB {
			_, _ = c.ExecContext(ctx, "BACKUP STAGE END")
		}
	}
	c.Close()
	fix := "GRANT BACKUP_ADMIN ON *.* TO the connector user"
	if s.info.MariaDB {
		fix = "GRANT RELOAD ON *.* TO the connector user"
	}
	return nil, fmt.Errorf("mysql: snapshot: %w: %w. Fix: %s, or use --snapshot-locking minimal", errNoBackupLock, errors.Join(errs...), fix)
}

// release ends the backup lock (nil-safe, once). A connection whose release fails is dropped,
// not handed back to the pool still holding the lock.
func (b *backupLock) release(s *Source) {
	if b == nil || b.c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := b.c.ExecContext(ctx, b.unlockQ); err != nil {
		_ = b.c.Raw(func(any) error { return driver.ErrBadConn })
	}
	b.c.Close()
	b.c = nil
	s.log.Info("snapshot: backup lock released", "lock", b.what, "ddl_blocked_seconds", time.Since(b.at).Seconds())
}

// ddlSince returns the first binlog statement after from that may change a table definition
// (any Query event but transaction control), reading up to the server's current position;
// "" when there is none.
func (s *Source) ddlSince(ctx context.Context, from *Position) (string, error) {
	end, err := s.binlogPosition(ctx, s.db, false)
	if err != nil {
		return "", err
	}
	files := []string{from.File}
	if end.File != from.File {
		logs, err := s.db.QueryContext(ctx, "SHOW BINARY LOGS")
		if err != nil {
			return "", errorf("snapshot: SHOW BINARY LOGS: %w", err)
		}
		cols, _ := logs.Columns()
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for logs.Next() {
			if err := logs.Scan(ptrs...); err != nil {
				logs.Close()
				return "", errorf("snapshot: SHOW BINARY LOGS: %w", err)
			}
			if n := string(vals[0]); n > from.File && n <= end.File {
				files = append(files, n)
			}
		}
		logs.Close()
		if err := logs.Err(); err != nil {
			return "", errorf("snapshot: SHOW BINARY LOGS: %w", err)
		}
	}
	const page = 1000
	for i, f := range files {
		at := uint64(4)
		if i == 0 {
			at = from.Pos
		}
		for {
			rows, err := s.db.QueryContext(ctx, fmt.Sprintf("SHOW BINLOG EVENTS IN '%s' FROM %d LIMIT %d", strings.ReplaceAll(f, "'", "''"), at, page))
			if err != nil {
				return "", errorf("snapshot: read the binlog for DDL since the snapshot's position: %w", err)
			}
			n, stop := 0, false
			var found string
			for rows.Next() {
				var logName, typ string
				var evPos, serverID, endPos uint64
				var info sql.NullString
				if err := rows.Scan(&logName, &evPos, &typ, &serverID, &endPos, &info); err != nil {
					rows.Close()
					return "", errorf("snapshot: SHOW BINLOG EVENTS: %w", err)
				}
				n++
				if f == end.File && evPos >= end.Pos {
					stop = true
					break
				}
				if typ == "Query" && !txControl(info.String) {
					found, stop = info.String, true
					break
				}
				at = endPos
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return "", errorf("snapshot: SHOW BINLOG EVENTS: %w", err)
			}
			if found != "" {
				return found, nil
			}
			if stop || n < page {
				break
			}
		}
		if f == end.File {
			break
		}
	}
	return "", nil
}

// txControl reports whether a binlog Query event only begins or ends a transaction.
func txControl(q string) bool {
	u := strings.ToUpper(strings.TrimSpace(q))
	switch u {
	case "BEGIN", "COMMIT", "ROLLBACK":
		return true
	}
	return strings.HasPrefix(u, "XA ") || strings.HasPrefix(u, "SAVEPOINT ") || strings.HasPrefix(u, "ROLLBACK TO ")
}

// startReaders splits the tables into units and starts one goroutine per reader; they take the
// units in order and hand their rows to Next through bounded channels.
func (s *Source) startReaders(ctx context.Context) error {
	st := s.snap
	var probe *emptyProbe
	for i, t := range st.tables {
		units, err := s.planUnits(ctx, st.readers[0], t, len(st.readers))
		if err != nil {
			return err
		}
		for _, u := range units {
			u.ti = i
			u.index = len(st.units)
			u.ch = make(chan *rowBatch, 8)
			st.units = append(st.units, u)
		}
		if len(units) == 1 && s.cfg.Stats.Snapshot.Table(t.ID.String()).Estimate.Load() == 0 {
			if probe == nil || len(probe.units) == emptyProbeTables {
				probe = &emptyProbe{}
			}
			units[0].probe = probe
			probe.units = append(probe.units, units[0])
		}
	}
	st.budget.Reset()
	st.budget.Limit, st.budget.Stats = s.cfg.SnapshotMaxBufferedBytes, &s.cfg.Stats.Snapshot
	s.cfg.Stats.Snapshot.MaxBufferedBytes.Store(s.cfg.SnapshotMaxBufferedBytes)
	st.head.Store(0)
	rctx, cancel := context.WithCancel(context.Background())
	st.cancel = cancel
	// Tables per transaction: snapshotTxTables, or more when the transactions are capped
	// (maxSnapshotTxs) or fewer could be opened, so that the last ones are not left with the rest.
	perTx := snapshotTxTables
	if n := len(st.readers) + len(st.spare); n > 0 {
		perTx = max(perTx, (len(st.units)+n-1)/n)
	}
	var next atomic.Int32
	for ri := range st.readers {
		st.wg.Add(1)
		go func(ri int) {
			defer st.wg.Done()
			taken := 0
			for {
				i := int(next.Add(1)) - 1
				if i >= len(st.units) {
					return
				}
				if taken++; taken > perTx {
					if r := st.takeSpare(); r != nil {
						st.readers[ri].close() // ends its transaction: its tables are released
						st.readers[ri], taken = r, 1
						s.log.Debug("snapshot: reader moved on to a spare transaction", "reader", ri, "next_table", st.tables[st.units[i].ti].ID.String())
					}
				}
				r := st.readers[ri]
				u := st.units[i]
				u.err = s.readUnit(rctx, r, st.tables[u.ti], u)
				close(u.ch)
				if u.err != nil {
					return
				}
			}
		}(ri)
	}
	return nil
}

// takeSpare hands out the next spare transaction, nil when there is none left.
func (st *snapshotState) takeSpare() snapReader {
	i := int(st.spareNext.Add(1)) - 1
	if i >= len(st.spare) {
		return nil
	}
	r := st.spare[i]
	st.spare[i] = nil
	return r
}

// planUnits splits a big table with a single signed integer key into key ranges, so that
// several readers read it at once; anything else is one unit.
func (s *Source) planUnits(ctx context.Context, r snapReader, t *schema.Table, readers int) ([]*snapUnit, error) {
	whole := []*snapUnit{{}}
	if readers < 2 || len(t.PrimaryKey) != 1 {
		return whole, nil
	}
	k := &t.Columns[t.PrimaryKey[0]]
	if textKindOf(k) != tkInt {
		return whole, nil
	}
	if est := s.cfg.Stats.Snapshot.Table(t.ID.String()).Estimate.Load(); est < 2*int64(s.cfg.SnapshotChunkRows) {
		// Small by the engine's estimate (information_schema.TABLES.TABLE_ROWS; ANALYZE TABLE
		// refreshes it): one unit, without a MIN/MAX query, which costs more the more tables
		// the snapshot's transaction has opened (10,000 empty tables: minutes).
		return whole, nil
	}
	var lo, hi int64
	var null bool
	q := "SELECT MIN(" + quoteID(k.Name) + "), MAX(" + quoteID(k.Name) + ") FROM " + quoteID(t.ID.DB) + "." + quoteID(t.ID.Table)
	err := r.queryRows(ctx, q, func(vals [][]byte) error {
		if vals[0] == nil || vals[1] == nil {
			null = true
			return nil
		}
		var err1, err2 error
		lo, err1 = strconv.ParseInt(string(vals[0]), 10, 64)
		hi, err2 = strconv.ParseInt(string(vals[1]), 10, 64)
		if err1 != nil || err2 != nil {
			null = true
		}
		return nil
	})
	if err != nil {
		return nil, errorf("snapshot: key range of %s: %w", t.ID, err)
	}
	chunk := int64(s.cfg.SnapshotChunkRows)
	if null || hi-lo < 0 || hi-lo+1 < 2*chunk {
		return whole, nil
	}
	n := min((hi-lo+1)/chunk, int64(readers)*4)
	span := (hi - lo + n) / n
	var units []*snapUnit
	for i := int64(0); i < n; i++ {
		a := lo + i*span
		if a > hi {
			break
		}
		u := &snapUnit{}
		if i > 0 {
			a := a
			u.lo = &a
		}
		if b := a + span; b <= hi && i < n-1 {
			u.hi = &b
		}
		units = append(units, u)
	}
	s.log.Info("snapshot: table split into key ranges", "table", t.ID.String(), "ranges", len(units), "estimated_rows", s.cfg.Stats.Snapshot.Table(t.ID.String()).Estimate.Load())
	return units, nil
}

// readUnit reads one unit with one query in key order (a scan without a key) and hands its rows
// on in batches as they fill. One streamed query, not LIMIT chunks: a chunk's end stalls the
// server until the reader has taken the last chunk's rows and sent the next query (500 of those
// per 5 M rows were most of the idle time of a snapshot on two cores), and a reader waiting for
// its turn (the units before its own) keeps the server filling the socket buffers instead of
// stopping at the chunk's end. A resume needs no chunk: each batch carries its last key. A reader
// may wait on Next in the middle of the query, for as long as the units before its own take;
// the readers' sessions have a long net_write_timeout so that the server does not abort it.
func (s *Source) readUnit(ctx context.Context, r snapReader, t *schema.Table, u *snapUnit) error {
	if p := u.probe; p != nil {
		p.once.Do(func() { p.err = s.probeEmpty(ctx, r, p) })
		if p.err != nil {
			return p.err
		}
		if u.empty {
			return nil
		}
	}
	kinds := make([]textKind, len(t.Columns))
	for i := range t.Columns {
		kinds[i] = textKindOf(&t.Columns[i])
	}
	var alloc capture.Alloc // the values' bytes
	cols := len(t.Columns)
	lastKey := make([][]byte, len(t.PrimaryKey))
	newBatch := func() *rowBatch {
		b := takeRowBatch(&s.rowMem, cols)
		b.ts = s.cfg.Now().UnixMicro()
		return b
	}
	b := newBatch()
	var data int64 // b's row data bytes
	st := s.snap
	// alone: Next waits for this unit and holds none of it, so this batch must go through
	// whatever the other readers hold (called under the budget's lock).
	alone := func() bool { return int(st.head.Load()) == u.index && u.held.Load() == 0 }
	send := func() error {
		if len(t.PrimaryKey) > 0 && len(b.rows) > 0 {
			b.last = make([][]byte, len(lastKey))
			for i, k := range lastKey {
				b.last[i] = append([]byte(nil), k...)
			}
		}
		b.size = data + int64(len(b.vals))*int64(unsafe.Sizeof(capture.Value{}))
		if err := st.budget.Acquire(ctx, b.size, alone); err != nil {
			return err
		}
		u.held.Add(b.size)
		select {
		case u.ch <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		b, data = newBatch(), 0
		return nil
	}
	q := snapshotQuery(t, u, nil, true, 0, "")
	err := r.queryRows(ctx, q, func(vals [][]byte) error {
		if len(vals) != cols {
			return fmt.Errorf("%d columns, want %d", len(vals), cols)
		}
		o := len(b.rows) * cols
		row := capture.Row(b.vals[o : o+cols : o+cols])
		for i, raw := range vals {
			row[i] = capture.Value{} // a reused batch's Value: parseTextTo writes into a zero one
			if err := parseTextTo(&row[i], &t.Columns[i], kinds[i], raw, &alloc); err != nil {
				return fmt.Errorf("column %s: %w", t.Columns[i].Name, err)
			}
			data += int64(len(raw))
		}
		for j, k := range t.PrimaryKey {
			lastKey[j] = append(lastKey[j][:0], vals[k]...)
		}
		b.rows = append(b.rows, row)
		if len(b.rows) == snapBatchRows || data >= snapBatchBytes {
			return send()
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, gomysql.ErrInvalidConn) {
			return errorf("snapshot of %s: %w (the connection broke, or the server sent nothing for --query-timeout %s)", t.ID, err, s.cfg.QueryTimeout)
		}
		return errorf("snapshot of %s: %w", t.ID, err)
	}
	if len(b.rows) > 0 {
		return send()
	}
	return nil
}

// probeEmpty sets empty on each of p's units whose table has no row in r's snapshot.
func (s *Source) probeEmpty(ctx context.Context, r snapReader, p *emptyProbe) error {
	var b strings.Builder
	for i, u := range p.units {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		id := s.snap.tables[u.ti].ID
		fmt.Fprintf(&b, "(SELECT %d FROM %s.%s LIMIT 1)", i, quoteID(id.DB), quoteID(id.Table))
	}
	nonEmpty := make([]bool, len(p.units))
	err := r.queryRows(ctx, b.String(), func(vals [][]byte) error {
		i, err := strconv.Atoi(string(vals[0]))
		if err != nil || i < 0 || i >= len(nonEmpty) {
			return fmt.Errorf("unexpected row %q", vals[0])
		}
		nonEmpty[i] = true
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		first := s.snap.tables[p.units[0].ti].ID
		return errorf("snapshot: check %d tables estimated empty (from %s): %w", len(p.units), first, err)
	}
	for i, u := range p.units {
		u.empty = !nonEmpty[i]
	}
	return nil
}

// binlogPosition reads the current binlog position and GTID set. Without the global read lock
// on MariaDB it uses the consistent snapshot's own position (binlog_snapshot_file/position).
func (s *Source) binlogPosition(ctx context.Context, conn queryer, unlocked bool) (*Position, error) {
	p := &Position{Snapshot: true}
	if s.info.MariaDB {
		if unlocked {
			m, err := queryMap(ctx, conn, "SHOW STATUS LIKE 'binlog_snapshot_%'")
			if err != nil {
				return nil, errorf("snapshot: read binlog position: %w", err)
			}
			for k, v := range m { // the server writes Binlog_snapshot_file
				m[strings.ToLower(k)] = v
			}
			p.File = m["binlog_snapshot_file"]
			p.Pos, _ = strconv.ParseUint(m["binlog_snapshot_position"], 10, 64)
			if p.File == "" || p.Pos == 0 {
				return nil, errorf("snapshot: the server reported no snapshot binlog position (%v)", m)
			}
			return p, nil
		}
		m, err := queryRow(ctx, conn, "SHOW MASTER STATUS")
		if err != nil {
			return nil, errorf("snapshot: SHOW MASTER STATUS: %w", err)
		}
		p.File = m["File"]
		p.Pos, _ = strconv.ParseUint(m["Position"], 10, 64)
		g, err := queryRow(ctx, conn, "SELECT @@gtid_binlog_pos AS g")
		if err != nil {
			return nil, errorf("snapshot: read gtid_binlog_pos: %w", err)
		}
		p.GTIDs = g["g"]
		return p, nil
	}
	m, err := queryRow(ctx, conn, "SHOW BINARY LOG STATUS")
	if err != nil {
		m, err = queryRow(ctx, conn, "SHOW MASTER STATUS")
	}
	if err != nil {
		return nil, errorf("snapshot: read binlog position: %w", err)
	}
	if m["File"] == "" {
		return nil, fmt.Errorf("mysql: %w: the binary log is off. Fix: start the server with log_bin (and binlog_format=ROW)", ErrPreflight)
	}
	p.File = m["File"]
	p.Pos, _ = strconv.ParseUint(m["Position"], 10, 64)
	if s.info.GTIDMode {
		p.GTIDs = strings.ReplaceAll(strings.ReplaceAll(m["Executed_Gtid_Set"], "\n", ""), " ", "")
	}
	return p, nil
}

// snapshotStep queues the next snapshot events.
func (s *Source) snapshotStep(ctx context.Context) error {
	st := s.snap
	if !st.started {
		if err := s.snapshotBegin(ctx); err != nil {
			return err
		}
		if len(s.queue) > 0 {
			return nil
		}
	}
	for len(s.queue) == 0 {
		if !st.data || st.ti >= len(st.tables) {
			return s.snapshotEnd(ctx)
		}
		ok, err := s.snapshotRow(ctx)
		if err != nil {
			return err
		}
		if ok {
			st.newTable = false
		}
	}
	// The rest of the batch at hand goes out in the same step (none of it waits): Next then
	// hands out up to a batch of events without a call down here for each.
	for st.bi < len(st.batch) {
		if _, err := s.snapshotRow(ctx); err != nil {
			return err
		}
		st.newTable = false
	}
	return nil
}

// pushSnapshot holds one row back (in st.pending, set by the caller with hasPending) so its
// marker can say whether it was the last of its table or of the snapshot: it emits the row
// held so far, if any. next is the table of the row about to be held (nil at the end).
func (s *Source) pushSnapshot(next *schema.Table, end bool) {
	st := s.snap
	if st.hasPending {
		p := &st.pending
		lastInTable := end || next.ID != p.Table.ID
		switch {
		case end:
			p.Source.Snapshot = capture.SnapshotLast
		case st.pendingFirst:
			p.Source.Snapshot = capture.SnapshotFirst
		case lastInTable:
			p.Source.Snapshot = capture.SnapshotLastInTable
		case st.pendingFirstT:
			p.Source.Snapshot = capture.SnapshotFirstInTable
		default:
			p.Source.Snapshot = capture.SnapshotTrue
		}
		s.emit(*p)
		st.hasPending = false
	}
}

// snapshotRow moves the next row of the current table into st.pending (emitting the one held
// before); ok false means no row was taken (a unit or the table ended).
func (s *Source) snapshotRow(ctx context.Context) (bool, error) {
	st := s.snap
	t := st.tables[st.ti]
	if st.view == nil {
		st.view = s.view(t)
		st.prog = s.cfg.Stats.Snapshot.Table(t.ID.String())
		st.tableN = 0
		st.tStart = time.Now()
		st.newTable = true
	}
	for st.bi >= len(st.batch) {
		u := st.units[st.ui]
		if st.held > 0 {
			// The batch handed out is done: its bytes go back before Next waits for the next,
			// so that u's reader, if it waits for the budget, may go through (alone).
			u.held.Add(-st.held)
			st.budget.Release(st.held)
			st.held = 0
		}
		var b *rowBatch
		var ok bool
		select {
		case b, ok = <-u.ch:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		if !ok {
			if u.err != nil {
				return false, u.err
			}
			st.ui++
			st.head.Store(int32(st.ui))
			st.budget.Wake()
			if st.ui < len(st.units) && st.units[st.ui].ti == st.ti {
				continue
			}
			s.log.Info("snapshot table done", "table", t.ID.String(), "rows", st.tableN, "seconds", time.Since(st.tStart).Seconds())
			st.prog.Done.Store(true)
			s.cfg.Stats.Snapshot.RemainingTables.Add(-1)
			st.ti++
			st.view = nil
			st.after = nil
			return false, nil
		}
		st.batch, st.bi, st.batchTs = b.rows, 0, b.ts
		st.held = b.size
		if st.view.keep == nil { // projected rows are copies: b's memory is not handed out
			s.rowMem.HandOut(b)
		}
		st.batchPos = snapProgress(st.pos, t.ID, st.after)
		// Its rows say the rows before the batch are done, not themselves: a restart from
		// one of them reads the batch again (capture.Rereader; the last row's is exact).
		// A keyless table has no progress to name: a restart reads it again whole.
		st.batchPos.rereads = b.last != nil
		st.after = b.last
	}
	row := st.batch[st.bi]
	st.bi++
	pos := st.batchPos
	if st.bi == len(st.batch) && st.after != nil {
		// The batch's last row: its position says the batch is done, so an exactly-once
		// sink may end a transaction here (one position per 512 rows).
		pos = snapProgress(st.pos, t.ID, st.after)
	}
	st.tableN++
	st.totalN++
	st.prog.Rows.Add(1)
	if st.tableN%1024 == 0 && time.Since(st.lastLog) > 10*time.Second {
		st.lastLog = time.Now()
		s.log.Info("snapshot: progress", "table", t.ID.String(), "rows", st.tableN, "total_rows", st.totalN, "table_index", st.ti+1, "tables", len(st.tables))
	}
	v := st.view
	after := row
	if v.keep != nil {
		var buf capture.Row
		after = append(capture.Row(nil), v.project(row, &buf)...)
	}
	s.pushSnapshot(v.t, false)
	src := capture.Source{Connector: s.connector, TsMicros: st.batchTs, Snapshot: capture.SnapshotTrue,
		DB: t.ID.DB, Table: t.ID.Table, File: st.pos.File, Pos: st.pos.Pos}
	st.pending = capture.Event{Kind: capture.Change, Op: capture.OpRead, Table: v.t, After: after, Source: src, Position: pos}
	st.hasPending = true
	st.pendingFirst = !st.sawAny
	st.pendingFirstT = st.newTable
	st.sawAny = true
	return true, nil
}

// snapProgress is a copy of p saying that the tables before id are complete, and of id every
// row whose key is ≤ after (none when after is nil).
func snapProgress(p *Position, id schema.TableID, after [][]byte) *Position {
	q := *p
	q.Snapshot = true
	q.SnapDB, q.SnapTable, q.SnapAfter = id.DB, id.Table, nil
	if after != nil {
		q.SnapAfter = make([]string, len(after))
		for i, k := range after {
			q.SnapAfter[i] = hex.EncodeToString(k)
		}
	}
	return &q
}

// snapshotQuery is one primary-key chunk of u: up to n rows (all when n ≤ 0) after lastKey
// (unless first) in key order; a full scan for tables without a key. filter, when set, is ANDed (an incremental
// snapshot's additional condition). Key values are written as literals: integers as they
// are, anything else as a hex string (binary, or utf8mb4 text compared in the column's
// collation, as a quoted parameter would be).
func snapshotQuery(t *schema.Table, u *snapUnit, lastKey [][]byte, first bool, n int, filter string) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quoteID(c.Name))
	}
	b.WriteString(" FROM ")
	b.WriteString(quoteID(t.ID.DB) + "." + quoteID(t.ID.Table))
	if len(t.PrimaryKey) == 0 {
		if filter != "" {
			b.WriteString(" WHERE (" + filter + ")")
		}
		return b.String()
	}
	keys := make([]string, len(t.PrimaryKey))
	for i, k := range t.PrimaryKey {
		keys[i] = quoteID(t.Columns[k].Name)
	}
	var conds []string
	if filter != "" {
		conds = append(conds, "("+filter+")")
	}
	if u != nil && u.lo != nil {
		conds = append(conds, keys[0]+" >= "+strconv.FormatInt(*u.lo, 10))
	}
	if u != nil && u.hi != nil {
		conds = append(conds, keys[0]+" < "+strconv.FormatInt(*u.hi, 10))
	}
	if !first {
		lits := make([]string, len(t.PrimaryKey))
		for i, k := range t.PrimaryKey {
			lits[i] = keyLiteral(&t.Columns[k], lastKey[i])
		}
		conds = append(conds, "("+strings.Join(keys, ",")+") > ("+strings.Join(lits, ",")+")")
	}
	if len(conds) > 0 {
		b.WriteString(" WHERE " + strings.Join(conds, " AND "))
	}
	b.WriteString(" ORDER BY " + strings.Join(keys, ","))
	if n > 0 {
		b.WriteString(" LIMIT " + strconv.Itoa(n))
	}
	return b.String()
}

// keyLiteral writes a key value as the text protocol returned it as an SQL literal.
func keyLiteral(c *schema.Column, raw []byte) string {
	if k := textKindOf(c); k == tkInt || k == tkUint {
		if _, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			return string(raw)
		}
		if _, err := strconv.ParseUint(string(raw), 10, 64); err == nil {
			return string(raw)
		}
	}
	if isBinaryType(c.Type) {
		return "X'" + hex.EncodeToString(raw) + "'"
	}
	return "_utf8mb4 X'" + hex.EncodeToString(raw) + "'"
}

// snapshotEnd commits the snapshot transaction, emits the last row and SnapshotDone, and
// hands over to streaming at the snapshot's binlog position.
func (s *Source) snapshotEnd(ctx context.Context) error {
	st := s.snap
	s.pushSnapshot(nil, true)
	st.close()
	s.rowMem.Reset() // the free batches are not kept after the snapshot
	p := *st.pos
	p.Snapshot = false
	s.log.Info("snapshot completed", "rows", st.totalN, "tables", len(st.tables), "seconds", time.Since(st.start).Seconds())
	ss := &s.cfg.Stats.Snapshot
	ss.RemainingTables.Store(0)
	ss.EndedUnixNano.Store(time.Now().UnixNano())
	ss.Completed.Store(true)
	ss.Running.Store(false)
	s.emit(capture.Event{Kind: capture.SnapshotDone, Position: &p})
	s.snap = nil
	if s.cfg.SnapshotMode == SnapshotInitialOnly {
		s.phase = phaseDone
		return nil
	}
	return s.startStream(&p)
}

// queryRow runs q and returns its first row by column name ("" for NULL).
func queryRow(ctx context.Context, q queryer, query string) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	if !rows.Next() {
		return m, rows.Err()
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	for i, c := range cols {
		m[c] = vals[i].String
	}
	return m, rows.Err()
}

// queryMap runs a two-column query (SHOW VARIABLES/STATUS) into a map.
func queryMap(ctx context.Context, q queryer, query string) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var k string
		var v sql.NullString
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		m[k] = v.String
	}
	return m, rows.Err()
}

func isBinaryType(t string) bool {
	switch t {
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "bit":
		return true
	}
	return false
}
