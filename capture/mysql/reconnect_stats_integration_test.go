//go:build integration

package mysql

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestBinlogReconnectShowsInStats: while the binlog dump reconnects by itself (the link cut:
// the server down, as far as sluice can tell), Stats.Stream.DisconnectedUnixMilli is set, so
// /readyz and Connected say so; it is cleared once the dump is back and the change made
// meanwhile arrives. Before, nothing outside the log told the outage.
func TestBinlogReconnectShowsInStats(t *testing.T) {
	srv := servers(t)[0]
	db := openDB(t, srv.dsn)
	name := fmt.Sprintf("reconnstats_%d", os.Getpid())
	freshDB(t, db, name)
	t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS " + name) })
	mustExec(t, db, "CREATE TABLE "+name+".x (id int PRIMARY KEY)", "INSERT INTO "+name+".x VALUES (1)")
	ts, p := proxiedSource(t, srv, name)
	ts.cfg.Stats = new(capture.Stats)
	s := ts.open(t)
	defer s.Close()
	ts.collect(t, s, 30*time.Second, untilSnapshotDone)
	st := &ts.cfg.Stats.Stream

	got := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() { // the pipeline's reader: Next runs through the outage
		for {
			ev, err := s.Next(ctx)
			if err != nil || ev.Kind == capture.Change {
				got <- err
				return
			}
		}
	}()
	time.Sleep(200 * time.Millisecond)
	p.Cut()
	for deadline := time.Now().Add(10 * time.Second); st.DisconnectedUnixMilli.Load() == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the link is cut and the binlog dump reconnects, but Stats.Stream.DisconnectedUnixMilli stays 0")
		}
	}
	if e, _ := st.DisconnectErr.Load().(string); e == "" {
		t.Error("no DisconnectErr while disconnected")
	}
	p.Restore()
	mustExec(t, db, "INSERT INTO "+name+".x VALUES (2)")
	if err := <-got; err != nil {
		t.Fatalf("Next after the reconnect: %v", err)
	}
	if ms := st.DisconnectedUnixMilli.Load(); ms != 0 {
		t.Errorf("reconnected and streaming, but DisconnectedUnixMilli = %d", ms)
	}
}
