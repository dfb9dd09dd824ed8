//go:build integration

package clickhouse

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestProgressLagOnlyWhileRowsArrive: the progress log gives source_lag_ms while rows arrive
// and not once the sink is caught up and idle, where the last row's age only grows (it read as
// a lag of minutes on a quiet source).
func TestProgressLagOnlyWhileRowsArrive(t *testing.T) {
	addr := chAddr(t)
	db := freshDB(t, chConn(t, addr))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var logs testkit.SyncBuffer
	var d durables
	s, err := New(ctx, Config{Addr: []string{addr}, Database: db, FlushInterval: 20 * time.Millisecond, ProgressInterval: 150 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}, d.add)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := ordersTable(ordersV1).record("c", nil, orderRow(1, "anne", 1, nil), 100, true)
	if err := s.Send(ctx, &r, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // six progress lines, the first after the insert, then idle
	var withRow, withLag int
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, `msg="clickhouse progress"`) && strings.Contains(l, " rows=1 ") {
			withRow++
			if strings.Contains(l, "source_lag_ms=") {
				withLag++
			}
		}
	}
	if withRow < 4 || withLag != 1 {
		t.Errorf("%d progress lines after the insert, %d with source_lag_ms; want ≥ 4 and exactly 1 (the interval with the row):\n%s", withRow, withLag, logs.String())
	}
}
