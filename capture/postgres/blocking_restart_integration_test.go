//go:build integration

package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestBlockingSnapshotQueuedRestart stops the source after the commit of the transaction that
// carries a blocking execute-snapshot, before the snapshot's first row: a crash after that
// commit's offset was stored. The restart must still read the tables. The commit's position
// used to say nothing of the queued snapshot, so the restart skipped the signal and the
// snapshot was lost without a word.
func TestBlockingSnapshotQueuedRestart(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		const n = 50
		cfg := incrDB(t, db, n, 500)
		s := db.open(cfg)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		db.exec(`BEGIN; INSERT INTO debezium_signal VALUES ('b-1', 'execute-snapshot', '{"data-collections": ["public.t"], "type": "blocking"}');
UPDATE t SET v = 1 WHERE id = 1; COMMIT`)
		var off []byte
		for {
			ev, err := s.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind == capture.Change && ev.Op == capture.OpRead {
				t.Fatal("a snapshot row before the signal's commit")
			}
			if ev.Kind == capture.Commit {
				off = ev.Position.AppendOffset(nil)
				break
			}
		}
		s.Close()

		cfg.Offset = off
		s = db.open(cfg)
		defer s.Close()
		db.exec("INSERT INTO sentinel VALUES (1)")
		reads := 0
		for {
			ev, err := s.Next(ctx)
			if err != nil {
				t.Fatalf("Next after %d reads: %v", reads, err)
			}
			if isSentinel(ev) {
				break
			}
			if ev.Kind == capture.Change && ev.Op == capture.OpRead {
				reads++
			}
		}
		if reads != n {
			t.Fatalf("%d reads of t after the restart, want %d (offset %s)", reads, n, off)
		}
	})
}
