//go:build integration

package clickhouse

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestSinkColumnDroppedByHandFailsFast: an operator drops (or renames) a column of the table
// the sink writes to. The values it held are gone; no retry brings the column back, so the
// sink stops at once with an error that names the column and what to do, and reports nothing
// after the last acknowledged batch durable. Before, it retried the INSERT for ever ("No such
// column"), with only a warning per attempt.
func TestSinkColumnDroppedByHandFailsFast(t *testing.T) {
	addr := chAddr(t)
	conn := chConn(t, addr)
	db := freshDB(t, conn)
	t.Cleanup(func() { _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var d durables
	s, err := New(ctx, Config{Addr: []string{addr}, Database: db}, d.add)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v1 := ordersTable(ordersV1)
	r1 := v1.record("c", nil, orderRow(1, "anne", 1, "n1"), 10, true)
	if err := s.Send(ctx, &r1, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	execCH(t, conn, "ALTER TABLE "+db+"."+dataTable(t, conn, db, "orders")+" DROP COLUMN note")
	r2 := v1.record("c", nil, orderRow(2, "bob", 1, "n2"), 20, true)
	t0 := time.Now()
	if err := s.Send(ctx, &r2, 2); err != nil {
		t.Fatal(err)
	}
	err = s.Flush(ctx)
	if err == nil || capture.Retryable(err) || time.Since(t0) > 10*time.Second || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("after %s: %v (retryable %v); want a stop at once", time.Since(t0).Round(time.Millisecond), err, err != nil && capture.Retryable(err))
	}
	for _, w := range []string{"note", "ADD COLUMN"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error lacks %q: %v", w, err)
		}
	}
	t.Logf("stopped: %v", err)
	if len(d.toks) != 1 {
		t.Fatalf("durable %v; want only the first record", d.toks)
	}
}
