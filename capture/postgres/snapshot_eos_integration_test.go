//go:build integration

package postgres

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestSnapshotPositionsCoverTheirRows: an exactly-once sink commits a transaction only at a
// position that covers every record in it (capture.Rereads false), so each snapshot row's
// position either rereads it or names the row's own key as done: the rows of an initial
// snapshot batch before its last carry the progress made before the batch, those of a
// resumed chunk the progress at the last mark. Before, every row carried that progress
// without saying so, and --exactly-once committed rows that the restart from the stored
// offset read again (issue 18 §1: 961 read_committed duplicates in the quick torture run).
func TestSnapshotPositionsCoverTheirRows(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		const rows = 3000
		db.exec("CREATE TABLE a (id int PRIMARY KEY, v int)", fmt.Sprintf("INSERT INTO a SELECT g, 0 FROM generate_series(1, %d) g", rows),
			"CREATE TABLE b (id int PRIMARY KEY, v int)", "INSERT INTO b SELECT g, 0 FROM generate_series(1, 700) g",
			"ANALYZE a", "ANALYZE b", "CREATE PUBLICATION sluice FOR ALL TABLES")
		cfg := db.config()
		cfg.SnapshotMode = SnapshotInitial
		cfg.SnapshotChunkRows = 1000 // batches of 512 rows inside a chunk, chunks of 1,000 when resumed
		cfg.SnapshotWorkers = 1
		seen := map[string]bool{}
		var reads, exact int
		check := func(ev capture.Event) {
			id := ev.After[0].Int
			seen[fmt.Sprint(ev.Table.ID.Table, id)] = true
			reads++
			p := ev.Position.(*Position)
			var done int64 // the last key of the row's table the position says is done (0: none)
			switch {
			case p.SnapTable > ev.Table.ID.Table || !p.Snapshot:
				done = 1 << 62 // the whole table
			case p.SnapTable == ev.Table.ID.Table && len(p.SnapAfter) == 1:
				var err error
				if done, err = strconv.ParseInt(p.SnapAfter[0], 10, 64); err != nil {
					t.Fatalf("snapshot_after %q: %v", p.SnapAfter, err)
				}
			}
			if capture.Rereads(ev.Position) {
				if done >= id {
					t.Errorf("%s row %d: a rereading position says rows up to %d are done", ev.Table.ID.Table, id, done)
				}
				return
			}
			exact++
			if done < id {
				t.Errorf("%s row %d: its position covers rows up to %d, not the row itself (%s %s %v)", ev.Table.ID.Table, id, done, p, p.SnapTable, p.SnapAfter)
			}
		}
		// run reads n snapshot rows (all when n is 0) from the offset stored and returns the
		// offset of the last event.
		run := func(n int, stored []byte) []byte {
			cfg.Offset = stored
			s, err := Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for got := 0; n == 0 || got < n; {
				ev, err := s.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if ev.Position != nil {
					stored = ev.Position.(*Position).AppendOffset(nil)
				}
				if ev.Kind == capture.SnapshotDone {
					break
				}
				if ev.Kind == capture.Change && ev.Op == capture.OpRead {
					got++
					check(ev)
				}
			}
			return stored
		}
		stored := run(1200, nil) // the consistent snapshot: 1,200 rows
		run(0, stored)           // resumed in chunks of 1,000 rows, from the last offset
		if len(seen) != rows+700 {
			t.Fatalf("%d of %d keys read", len(seen), rows+700)
		}
		// Initial: 1,200 rows, two batches' last rows at least; resumed: a mark or a chunk's
		// last row every 512 rows at most.
		if exact < 2+(reads-1200)/512 {
			t.Fatalf("%d reads, %d with a covering position (want at least %d)", reads, exact, 2+(reads-1200)/512)
		}
		t.Logf("%d reads, %d with a covering position", reads, exact)
	})
}
