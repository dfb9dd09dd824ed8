package postgres

import (
	"context"
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// TestIdleConn: a read that waits idle for longer than the bound fails with a timeout of its
// own; a deadline the user set earlier (pgx's context watcher) wins; data resets the clock.
func TestIdleConn(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &idleConn{Conn: a, idle: 100 * time.Millisecond}
	buf := make([]byte, 8)

	go func() {
		for range 3 {
			time.Sleep(60 * time.Millisecond) // under the bound each time, over it in total
			b.Write([]byte("x"))
		}
	}()
	for range 3 {
		if _, err := c.Read(buf); err != nil {
			t.Fatalf("read with data arriving: %v", err)
		}
	}
	start := time.Now()
	_, err := c.Read(buf)
	var ie *idleError
	var ne net.Error
	if !errors.As(err, &ie) || !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("idle read: %v, want an idleError (a net.Error timeout)", err)
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > time.Second {
		t.Errorf("idle read failed after %v, bound 100ms", d)
	}

	c.SetDeadline(time.Now().Add(20 * time.Millisecond))
	_, err = c.Read(buf)
	if errors.As(err, &ie) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past the user's deadline: %v, want the plain deadline error", err)
	}
	c.SetDeadline(time.Time{})
}

// TestBound: only the bound's own deadline is a QueryTimeoutError.
func TestBound(t *testing.T) {
	block := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	err := bound(context.Background(), 10*time.Millisecond, "q", block)
	var qt *QueryTimeoutError
	if !errors.As(err, &qt) || !qt.Retryable() {
		t.Fatalf("bound: %v, want a *QueryTimeoutError", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := bound(ctx, time.Minute, "q", block); !errors.Is(err, context.Canceled) || errors.As(err, &qt) {
		t.Fatalf("cancelled caller: %v, want context.Canceled", err)
	}
	if err := bound(context.Background(), -1, "q", func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
}
