package mysql

import (
	"context"
	"database/sql"
	"time"

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

// openReader connects a protoReader and opens its consistent snapshot (the caller holds the
// global read lock). The session matches the query pool's: utf8mb4_general_ci (the
// handshake's), time_zone +00:00.
func (s *Source) openReader(ctx context.Context) (*protoReader, error) {
	cfg := s.replicationConfig()
	cfg.Logger = s.log
	c, err := replication.Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	for _, q := range []string{"SET time_zone = '+00:00'", readerSession, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
		"START TRANSACTION WITH CONSISTENT SNAPSHOT"} {
		if err := c.Exec(ctx, q); err != nil {
			c.Close()
			return nil, err
		}
	}
	return &protoReader{c: c}, nil
}

func (r *protoReader) queryRows(ctx context.Context, q string, row func(vals [][]byte) error) error {
	return r.c.QueryRows(ctx, q, row)
}

func (r *protoReader) close() {
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
