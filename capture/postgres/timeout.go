package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// QueryTimeoutError: a query on a side connection (catalog lookups, the heartbeat action
// query, the preflight, the snapshot's setup) got no answer within Config.QueryTimeout, or a
// snapshot read waited that long without a byte: a stalled link or a stuck server. It is
// retryable: the capture command reopens the source, on new connections, from the last saved
// offset.
type QueryTimeoutError struct {
	What    string // what was asked, e.g. "read columns of relation 16384"
	Timeout time.Duration
	Err     error
}

func (e *QueryTimeoutError) Error() string {
	return fmt.Sprintf("postgres: %s: no answer from the server within %s (a stalled network or a stuck server; --query-timeout): %v",
		e.What, e.Timeout, e.Err)
}

func (e *QueryTimeoutError) Unwrap() error   { return e.Err }
func (e *QueryTimeoutError) Retryable() bool { return true }

// bound runs f with ctx limited to timeout (none when timeout ≤ 0). Without a bound a query
// on a link that holds packets (no RST, no FIN) waits for ever, and so does Next. A timeout
// of f's own (not ctx's) comes back as a *QueryTimeoutError; pgx closes the connection it
// interrupts, so the caller must not use it again: the error ends the source.
func bound(ctx context.Context, timeout time.Duration, what string, f func(context.Context) error) error {
	if timeout <= 0 {
		return f(ctx)
	}
	qctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := f(qctx)
	if err != nil && ctx.Err() == nil && errors.Is(qctx.Err(), context.DeadlineExceeded) {
		return &QueryTimeoutError{What: what, Timeout: timeout, Err: err}
	}
	return err
}

// bounded is bound with the source's query timeout.
func (s *Source) bounded(ctx context.Context, what string, f func(context.Context) error) error {
	return bound(ctx, s.cfg.QueryTimeout, what, f)
}

// idleConn bounds every read of a connection by the time since the last byte: a read that
// waits idle long fails. The snapshot's table reads use it instead of a deadline for the
// whole query, which a table of millions of rows may rightly exceed: a healthy read moves
// bytes all the time, a stalled one none. Deadlines set by the connection's user (pgx's
// context watcher) still apply when they come first.
type idleConn struct {
	net.Conn
	idle time.Duration

	mu sync.Mutex
	rd time.Time // the read deadline the user set (zero: none)
}

// idleDialer wraps the connections dial makes in an idleConn.
func idleDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error), idle time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil || idle <= 0 {
			return c, err
		}
		return &idleConn{Conn: c, idle: idle}, nil
	}
}

func (c *idleConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	d, own := time.Now().Add(c.idle), true
	if !c.rd.IsZero() && c.rd.Before(d) {
		d, own = c.rd, false
	}
	// Under mu, so that a deadline the user sets meanwhile (a cancelled context) is not
	// overwritten by this later one.
	err := c.Conn.SetReadDeadline(d)
	c.mu.Unlock()
	if err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	if err != nil && own && errors.Is(err, os.ErrDeadlineExceeded) {
		return n, &idleError{idle: c.idle}
	}
	return n, err
}

func (c *idleConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rd = t
	return c.Conn.SetDeadline(t)
}

func (c *idleConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rd = t
	return c.Conn.SetReadDeadline(t)
}

// idleError is a read that waited idle too long. It is a net.Error with Timeout() true (so
// pgconn reports it as a timeout, pgconn.Timeout) and wraps os.ErrDeadlineExceeded.
type idleError struct{ idle time.Duration }

func (e *idleError) Error() string {
	return fmt.Sprintf("no byte from the server for %s", e.idle)
}
func (e *idleError) Timeout() bool   { return true }
func (e *idleError) Temporary() bool { return true }
func (e *idleError) Unwrap() error   { return os.ErrDeadlineExceeded }
