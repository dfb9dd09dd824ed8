//go:build integration

package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// blockingState applies the events of t to state (id → v, deleted ids removed) and reports
// whether ev was a read.
func blockingState(ev capture.Event, state map[int64]int64) bool {
	if ev.Kind != capture.Change || ev.Table == nil || ev.Table.ID.Table != "t" {
		return false
	}
	if ev.Op == capture.OpDelete {
		delete(state, ev.Before[0].Int)
		return false
	}
	state[ev.After[0].Int] = ev.After[1].Int
	return ev.Op == capture.OpRead
}

// TestBlockingSnapshotUnderWrites: an execute-snapshot signal of type blocking pauses the
// stream at the next transaction boundary, reads t as the initial snapshot does (op r, no
// stream event among the reads), and then streams on from where it paused: with updates and
// deletes running all along, the events' final state equals the table. Closed part way, the
// source goes on from the stored offset (after the last key it records read, in a new
// snapshot) before it streams on.
func TestBlockingSnapshotUnderWrites(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		const n = 20000
		cfg := incrDB(t, db, n, 500)
		s := db.open(cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		ld := startLoad(t, db, n)
		db.exec(`INSERT INTO debezium_signal VALUES ('b-1', 'execute-snapshot', '{"data-collections": ["public.t"], "type": "BLOCKING"}')`)

		state := map[int64]int64{}
		reads, inReads, streamedAmid := 0, false, 0
		var mid capture.Position
		for reads < n/2 {
			ev, err := s.Next(ctx)
			if err != nil {
				t.Fatalf("Next after %d reads: %v", reads, err)
			}
			if ev.Position != nil {
				s.Ack(ctx, ev.Position)
				mid = ev.Position
			}
			if blockingState(ev, state) {
				reads++
				inReads = true
			} else if inReads && ev.Kind == capture.Change {
				streamedAmid++
			}
		}
		if streamedAmid > 0 {
			t.Errorf("%d stream events among the reads of a blocking snapshot", streamedAmid)
		}
		off := mid.(*Position).AppendOffset(nil)
		if !strings.Contains(string(off), `"blocking_snapshot_tables":["public.t"]`) {
			t.Fatalf("a blocking snapshot row's offset has no tables in progress: %s", off)
		}
		s.Close() // part way: the restart reads the rest of t, then streams on from the pause point
		cfg.Offset = off
		s = db.open(cfg)
		reads, inReads = 0, false
		stopped := false
		for {
			ev, err := s.Next(ctx)
			if err != nil {
				t.Fatalf("Next after %d reads: %v", reads, err)
			}
			if ev.Position != nil {
				s.Ack(ctx, ev.Position)
			}
			if isSentinel(ev) {
				break
			}
			if blockingState(ev, state) {
				reads++
				inReads = true
			} else if inReads && ev.Kind == capture.Change && !stopped && !s.Progress().Snapshot.Completed.Load() {
				t.Fatalf("a stream event (%v of %s) among the reads of a blocking snapshot", ev.Op, ev.Table.ID)
			}
			if !stopped && s.Progress().Snapshot.Completed.Load() {
				stopped = true
				ld.stop()
				db.exec("INSERT INTO sentinel VALUES (1)")
			}
		}
		want := finalState(t, db)
		// The rest of t, and at most the batch the stored offset was in (512 rows) again.
		if reads == 0 || reads > n/2+512 {
			t.Errorf("%d reads after the restart, want the %d rows left at most and the last batch again", reads, n/2)
		}
		for id, v := range want {
			if got, ok := state[id]; !ok || got != v {
				t.Errorf("id %d: events end at v=%d (present %v), table has v=%d", id, got, ok, v)
			}
		}
		for id := range state {
			if _, ok := want[id]; !ok {
				t.Errorf("id %d: deleted in the table, present in the events", id)
			}
		}
		if p := s.Progress(); !p.Snapshot.Completed.Load() {
			t.Error("SnapshotCompleted is false after the blocking snapshot")
		}
		t.Logf("%d reads after the restart, %d concurrent transactions", reads, ld.txns.Load())
	})
}
