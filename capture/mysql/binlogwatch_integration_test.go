//go:build integration

package mysql

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestBinlogWatch: while streaming, Stats.Stream.BinlogBytesBehind is the binlog between the
// position read and the server's end (0 once caught up, more while rows wait unread), and the
// watch reads the server's binlog expiry as the server states it.
func TestBinlogWatch(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			db := openDB(t, srv.dsn)
			freshDB(t, db, dbBinlogwatch)
			mustExec(t, db, "CREATE TABLE "+dbBinlogwatch+".t (id INT PRIMARY KEY, pad TEXT)")
			ts := newTestSource(t, srv, dbBinlogwatch)
			stats := new(capture.Stats)
			ts.cfg.Stats = stats
			ts.cfg.BinlogCheckInterval = 100 * time.Millisecond
			s := ts.open(t)
			defer s.Close()
			ts.collect(t, s, 30*time.Second, untilSnapshotDone)
			// Written but not read yet: the source is behind by at least these rows' bytes.
			mustExec(t, db, "INSERT INTO "+dbBinlogwatch+".t SELECT seq, REPEAT('x', 1000) FROM (SELECT 1 AS seq UNION SELECT 2 UNION SELECT 3 UNION SELECT 4 UNION SELECT 5) s")
			deadline := time.Now().Add(20 * time.Second)
			for stats.Stream.BinlogBytesBehind.Load() < 5000 {
				if time.Now().After(deadline) {
					t.Fatalf("BinlogBytesBehind = %d with 5 kB of rows unread, want ≥ 5000", stats.Stream.BinlogBytesBehind.Load())
				}
				time.Sleep(50 * time.Millisecond)
			}
			// Read on, as a pipeline does (other tests write to the shared server meanwhile: the
			// lag is near 0, not 0).
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				for {
					if _, err := s.Next(ctx); err != nil {
						return
					}
				}
			}()
			defer func() { cancel(); <-done }()
			deadline = time.Now().Add(20 * time.Second)
			for b := stats.Stream.BinlogBytesBehind.Load(); b < 0 || b >= 5000; b = stats.Stream.BinlogBytesBehind.Load() {
				if time.Now().After(deadline) {
					t.Fatalf("BinlogBytesBehind = %d after reading every row, want near 0", b)
				}
				time.Sleep(50 * time.Millisecond)
			}
			w, err := s.readBinlogWatch(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var secs sql.NullFloat64
			db.QueryRow("SELECT @@binlog_expire_logs_seconds").Scan(&secs)
			if secs.Float64 > 0 && w.expiry != time.Duration(secs.Float64)*time.Second {
				t.Errorf("expiry %s, the server says binlog_expire_logs_seconds = %v", w.expiry, secs.Float64)
			}
			t.Logf("%d binlogs, expiry %s", len(w.files), w.expiry)
		})
	}
}
