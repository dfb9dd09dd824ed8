package mysql

import (
	"context"
	"database/sql"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql/replication"
)

// snapReader reads snapshot rows on one connection inside its consistent snapshot.
type snapReader interface {
	// queryRows calls row for each row of q with the text-protocol values (nil = NULL), valid
	// only during the call.
	queryRows(ctx context.Context, q string, row func(vals [][]byte) error) error
	close()
}

// protoReader reads with the replication client's connection, which hands out each row's
// values straight from its read buffer (no per-row or per-value allocation, no database/sql
// layer in between).
type protoReader struct{ c *replication.Conn }

// readerSession is set on every reader: a reader waits on Next in the middle of a query, for
// as long as the units before its own take or the sink stalls, and the server must not abort
// the query meanwhile (net_write_timeout defaults to 60 s).
const readerSession = "SET SESSION net_write_timeout = 86400"

// readerNoTimeLimit lifts the server's time limit on a reader's SELECTs (MySQL's
// max_execution_time, MariaDB's max_statement_time; 0 unless a DBA set one): a reader reads a
// table or key range with one query that stays open for as long as the ranges before its own
// take, and a limit would kill it midway.
func readerNoTimeLimit(mariadb bool) string {
	if mariadb {
		return "SET SESSION max_statement_time = 0"
	}
	return "SET SESSION max_execution_time = 0"
}

// snapshotTxTables is how many tables a reader reads in one consistent-snapshot transaction
// before it moves on to a spare one opened under the same lock (and ends the first). A
// transaction keeps a metadata lock on every table it has read until it ends, and on MariaDB
// each further table costs more the more it holds (10,000 empty tables checked in one
// transaction: 19 s; in ten of 1,000: 6.7 s, as in autocommit). A var for tests.
var snapshotTxTables = 1000

// maxSnapshotTxs bounds the transactions (connections) of one snapshot, spares included.
const maxSnapshotTxs = 32

// snapshotReadBuffer is a reader's socket read buffer: a row bigger than it is copied out, and
// a snapshot may hold maxSnapshotTxs readers at once (the replication stream's 1 MiB each was a
// sixth of the peak heap of a 10,000-table snapshot).
const snapshotReadBuffer = 128 << 10

// dialReaders connects the snapshot's readers: SnapshotWorkers, and one per snapshotTxTables
// of the captured tables (counted now; DDL before the lock only changes how many are spare),
// up to maxSnapshotTxs. A connection that fails only leaves fewer (logged).
func (s *Source) dialReaders(ctx context.Context) []*protoReader {
	n := s.cfg.SnapshotWorkers
	if !s.snap.data {
		// no rows to read (the readers only hold the snapshot's state)
	} else if tables, err := countTables(ctx, s.db, s.f); err != nil {
		s.log.Warn("snapshot: tables not counted; one transaction per reader", "err", err)
	} else {
		n = max(n, min((tables+snapshotTxTables-1)/snapshotTxTables, maxSnapshotTxs))
	}
	var out []*protoReader
	for len(out) < n {
		r, err := s.dialReader(ctx)
		if err != nil {
			s.log.Warn("snapshot: reader connection not opened; reading with fewer", "err", err, "connections", len(out))
			break
		}
		out = append(out, r)
	}
	return out
}

// dialReader connects a protoReader for the snapshot, before any lock is taken (begin opens
// its consistent snapshot under the lock). The session matches the query pool's:
// utf8mb4_general_ci (the handshake's), time_zone +00:00.
func (s *Source) dialReader(ctx context.Context) (*protoReader, error) {
	cfg := s.replicationConfig()
	cfg.Logger = s.log
	cfg.ReadBufferSize = snapshotReadBuffer
	c, err := replication.Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	for _, q := range []string{"SET time_zone = '+00:00'", readerSession, readerNoTimeLimit(s.info.MariaDB), "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"} {
		if err := c.Exec(ctx, q); err != nil {
			c.Close()
			return nil, err
		}
	}
	return &protoReader{c: c}, nil
}

// begin opens r's consistent snapshot (the caller holds the global read lock, so that every
// reader sees the same state as the position read under it): one round trip.
func (r *protoReader) begin(ctx context.Context) error {
	return r.c.Exec(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT")
}

func (r *protoReader) queryRows(ctx context.Context, q string, row func(vals [][]byte) error) error {
	return r.c.QueryRows(ctx, q, row)
}

func (r *protoReader) close() {
	if r.c == nil {
		return
	}
	defer func() { r.c = nil }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = r.c.Exec(ctx, "COMMIT")
	r.c.Close()
}

// sqlReader reads with a database/sql connection (the one that read the snapshot's position,
// when no lock lets other connections share its snapshot). It does not own the connection.
type sqlReader struct {
	c    *sql.Conn
	raw  []sql.RawBytes
	ptrs []any
	vals [][]byte
}

func (r *sqlReader) queryRows(ctx context.Context, q string, row func(vals [][]byte) error) error {
	rows, err := r.c.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	if len(r.raw) != len(cols) {
		r.raw = make([]sql.RawBytes, len(cols))
		r.ptrs = make([]any, len(cols))
		r.vals = make([][]byte, len(cols))
		for i := range r.raw {
			r.ptrs[i] = &r.raw[i]
		}
	}
	for rows.Next() {
		if err := rows.Scan(r.ptrs...); err != nil {
			return err
		}
		for i, v := range r.raw {
			r.vals[i] = v
		}
		if err := row(r.vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (r *sqlReader) close() {}

// takeRowBatch returns a batch for rows of cols columns: a released one of pool when there is
// one (its Values still hold the old rows').
func takeRowBatch(pool *capture.ReadPool[*rowBatch], cols int) *rowBatch {
	if b, ok := pool.Take(); ok {
		if n := snapBatchRows * cols; cap(b.vals) >= n {
			// Not cleared: readUnit zeroes each Value as it writes it (in cache, one pass).
			b.rows, b.vals, b.last = b.rows[:0], b.vals[:n], nil
			return b
		}
	}
	return &rowBatch{rows: make([]capture.Row, 0, snapBatchRows), vals: make([]capture.Value, snapBatchRows*cols)}
}

// Values implements capture.ReadBatch.
func (b *rowBatch) Values() []capture.Value { return b.vals }

// LastRow implements capture.ReadBatch.
func (b *rowBatch) LastRow() capture.Row {
	if len(b.rows) == 0 {
		return nil
	}
	return b.rows[len(b.rows)-1]
}

// ReadsDone implements pipeline.ReadReleaser: every read handed out up to and including last
// is encoded, so the snapshot batches it covers may be reused.
func (s *Source) ReadsDone(last *capture.Event) {
	s.rowMem.Done(last.After)
}
