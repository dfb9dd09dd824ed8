//go:build integration

package postgres

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestSnapshotReadAheadBounded: while Next is not called, the snapshot's readers hold at most
// --snapshot-max-buffered-bytes of rows (plus a row larger than it), however many tables there
// are and however wide their rows. Before the bound each reader read on through every unit it
// could (a bounded channel per table or key range, no bound on their number): here the whole
// 22 MB database sat in memory after a second. Then every row still arrives, each once.
func TestSnapshotReadAheadBounded(t *testing.T) {
	const (
		tables    = 12
		rows      = 200
		wideRows  = 12
		rowBytes  = 4 << 10
		wideBytes = 1 << 20
		limit     = 1 << 20
	)
	eachServer(t, func(t *testing.T, db *testDB) {
		var q strings.Builder // one round trip
		for i := range tables {
			fmt.Fprintf(&q, "CREATE TABLE t%02d (id int PRIMARY KEY, v text); ", i)
			fmt.Fprintf(&q, "INSERT INTO t%02d SELECT g, repeat(md5(g::text), %d) FROM generate_series(1, %d) g; ", i, rowBytes/32, rows)
		}
		db.exec(q.String())
		// Rows wider than the bound (stored uncompressed): each is read alone.
		db.exec("CREATE TABLE wide (id int PRIMARY KEY, v bytea)", "ALTER TABLE wide ALTER v SET STORAGE EXTERNAL",
			fmt.Sprintf("INSERT INTO wide SELECT g, convert_to(repeat(md5(g::text), %d), 'UTF8') FROM generate_series(1, %d) g", wideBytes/32, wideRows),
			"ANALYZE")
		cfg := db.config()
		cfg.SnapshotMode = SnapshotInitialOnly
		cfg.SnapshotWorkers = 4
		cfg.SnapshotMaxBufferedBytes = limit
		cfg.Stats = new(capture.Stats)
		var m runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m)
		base := m.HeapAlloc
		s := db.open(cfg)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
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
		peak := cfg.Stats.Snapshot.PeakBufferedBytes.Load()
		t.Logf("heap grown by %d KiB while Next waited; peak buffered %d KiB (bound %d KiB)", grown>>10, peak>>10, limit>>10)
		// The bound, a batch being filled per reader, one wide row, and the source itself.
		if max := int64(limit + 4*256<<10 + wideBytes + 6<<20); grown > max {
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
	})
}
