//go:build integration

package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestSnapshotReusedRows reads a snapshot as the pipeline does with encode workers: each read
// is reported done (ReadsDone) only ~700 reads later, and its batch's memory is then reused
// for rows read after it. Every row must keep its own values until it is reported, NULLs
// included.
func TestSnapshotReusedRows(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		const n = 30000
		db.exec("CREATE TABLE r (id bigint PRIMARY KEY, v text, k int, j jsonb)",
			fmt.Sprintf(`INSERT INTO r SELECT g, CASE WHEN g %% 3 = 0 THEN NULL ELSE 'v' || g END, CASE WHEN g %% 5 = 0 THEN NULL ELSE g * 7 END,
  CASE WHEN g %% 7 = 0 THEN NULL ELSE jsonb_build_object('g', g) END FROM generate_series(1, %d) g`, n), "ANALYZE r")
		cfg := db.config()
		cfg.SnapshotMode = SnapshotInitialOnly
		cfg.SnapshotWorkers = 3
		cfg.SnapshotChunkRows = 1000
		s := db.open(cfg)
		check := func(ev *capture.Event) {
			t.Helper()
			id := ev.After[0].Int
			want := [3]string{"v" + fmt.Sprint(id), fmt.Sprint(id * 7), fmt.Sprintf(`{"g": %d}`, id)}
			if id%3 == 0 {
				want[0] = "NULL"
			}
			if id%5 == 0 {
				want[1] = "NULL"
			}
			if id%7 == 0 {
				want[2] = "NULL"
			}
			got := [3]string{string(ev.After[1].Bytes), fmt.Sprint(ev.After[2].Int), string(ev.After[3].Bytes)}
			for i, v := range ev.After[1:] {
				if v.Kind == capture.Null {
					got[i] = "NULL"
				}
			}
			if got != want {
				t.Fatalf("row %d: %q, want %q", id, got, want)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		const lag = 700
		var held []capture.Event // read, not yet reported done
		reads := 0
		for {
			ev, err := s.Next(ctx)
			if err != nil {
				t.Fatalf("Next after %d reads: %v", reads, err)
			}
			if ev.Kind == capture.SnapshotDone {
				break
			}
			if ev.Kind != capture.Change || ev.Op != capture.OpRead {
				continue
			}
			reads++
			held = append(held, ev)
			if len(held) == lag+256 { // report the oldest 256, as a sender after a batch
				for i := range held {
					check(&held[i]) // nothing reported yet may have been reused
				}
				s.ReadsDone(&held[255])
				held = append(held[:0], held[256:]...)
			}
		}
		for i := range held {
			check(&held[i])
		}
		if reads != n {
			t.Fatalf("%d reads, want %d", reads, n)
		}
	})
}
