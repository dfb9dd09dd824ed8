//go:build integration

package mysql

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestSnapshotReadAheadBounded: while Next is not called, the snapshot's readers hold at most
// --snapshot-max-buffered-bytes of rows (plus a row larger than it), however many tables there
// are and however wide their rows. Before the bound each reader read on through every table it
// could (a bounded channel per table, no bound on their number): here the whole 22 MB database
// sat in memory after a second. Then every row still arrives, each once.
func TestSnapshotReadAheadBounded(t *testing.T) {
	const (
		tables    = 12
		rows      = 200
		wideRows  = 12
		rowBytes  = 4 << 10
		wideBytes = 1 << 20
		limit     = 1 << 20
	)
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			name := fmt.Sprintf("sl_budget_%d", os.Getpid())
			db := openDB(t, srv.dsn)
			freshDB(t, db, name)
			t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS " + name) })
			var q strings.Builder // one round trip: DDL is slow on a busy server
			for i := range tables {
				fmt.Fprintf(&q, "CREATE TABLE %s.t%02d (id INT PRIMARY KEY, v LONGTEXT);", name, i)
				fmt.Fprintf(&q, "INSERT INTO %s.t%02d WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM s WHERE n < %d) SELECT n, REPEAT('x', %d) FROM s;", name, i, rows, rowBytes)
			}
			// Rows wider than the bound: each is read alone.
			fmt.Fprintf(&q, "CREATE TABLE %s.wide (id INT PRIMARY KEY, v LONGBLOB);", name)
			fmt.Fprintf(&q, "INSERT INTO %s.wide WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM s WHERE n < %d) SELECT n, REPEAT('w', %d) FROM s", name, wideRows, wideBytes)
			mustExec(t, db, q.String())

			ts := newTestSource(t, srv, name)
			ts.cfg.SnapshotWorkers = 4
			ts.cfg.SnapshotMaxBufferedBytes = limit
			ts.cfg.SnapshotChunkRows = 10000
			ts.cfg.Stats = new(capture.Stats)
			var m runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m)
			base := m.HeapAlloc
			s := ts.open(t)
			defer s.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			got := map[string]int{}
			for { // up to the first row: the readers run
				ev, err := s.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if ev.Kind == capture.Change && ev.Op == capture.OpRead {
					got[ev.Table.ID.Table]++
					break
				}
			}
			time.Sleep(1500 * time.Millisecond) // readers that are not bounded read on meanwhile
			runtime.GC()
			runtime.ReadMemStats(&m)
			grown := int64(m.HeapAlloc) - int64(base)
			peak := ts.cfg.Stats.Snapshot.PeakBufferedBytes.Load()
			t.Logf("heap grown by %d KiB while Next waited; peak buffered %d KiB (bound %d KiB)", grown>>10, peak>>10, limit>>10)
			// The bound, a batch being filled per reader, one wide row, and the source itself.
			if max := int64(limit + 4*snapBatchBytes + wideBytes + 6<<20); grown > max {
				t.Errorf("heap grew by %d KiB while Next waited, want ≤ %d KiB: the readers read ahead beyond --snapshot-max-buffered-bytes", grown>>10, max>>10)
			}
			if peak > limit+2*wideBytes {
				t.Errorf("peak buffered %d bytes, want ≤ %d", peak, limit+2*wideBytes)
			}

			want := tables*rows + wideRows
			n := 1
			for n < want {
				ev, err := s.Next(ctx)
				if err != nil {
					t.Fatalf("after %d rows: %v", n, err)
				}
				if ev.Kind == capture.Change && ev.Op == capture.OpRead {
					got[ev.Table.ID.Table]++
					n++
				}
			}
			for i := range tables {
				if c := got[fmt.Sprintf("t%02d", i)]; c != rows {
					t.Errorf("t%02d: %d rows, want %d", i, c, rows)
				}
			}
			if got["wide"] != wideRows {
				t.Errorf("wide: %d rows, want %d", got["wide"], wideRows)
			}
			if b := ts.cfg.Stats.Snapshot.BufferedBytes.Load(); b > limit+wideBytes {
				t.Errorf("buffered %d bytes after the last row", b)
			}
		})
	}
}
