//go:build integration

package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/signal"
)

// TestSnapshotQueuedDuringInitialSurvivesRestart asks for a snapshot of u (blocking or
// incremental, through the Kafka signal channel or the signal table) while the initial
// snapshot reads t, then stops the source at the next event: a crash with that event's
// offset stored. The restart must read u once more after the initial snapshot's rest. The
// initial snapshot's positions used to carry the Kafka channel's offset past the request
// without naming it, so the restart never heard of it again; an incremental one asked for
// through the Kafka channel was lost even without a restart (nocrash: it started beside the
// initial snapshot and read nothing).
func TestSnapshotQueuedDuringInitialSurvivesRestart(t *testing.T) {
	// nocrash: no restart, the request is served all the same.
	for _, phase := range []string{"initial", "resumed", "nocrash"} {
		for _, typ := range []string{"blocking", "incremental"} {
			for _, via := range []string{"kafka", "table"} {
				resumed := phase == "resumed"
				t.Run(phase+"/"+typ+"/"+via, func(t *testing.T) {
					eachServer(t, func(t *testing.T, db *testDB) {
						const nt, nu = 3000, 40
						cfg := incrDB(t, db, nt, 500)
						db.exec("CREATE TABLE u (id int PRIMARY KEY)", fmt.Sprintf("INSERT INTO u SELECT generate_series(1, %d)", nu))
						cfg.SnapshotMode = SnapshotInitial
						s := db.open(cfg)
						ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
						defer cancel()
						firstRead(t, ctx, s)
						if resumed {
							// A first crash: the rest is read in watermark windows while streaming.
							ev := firstRead(t, ctx, s)
							s.Close()
							db.slotReleased()
							cfg.Offset = ev.Position.AppendOffset(nil)
							s = db.open(cfg)
							firstRead(t, ctx, s)
						}
						data := `{"data-collections": ["public.u"], "type": "` + typ + `"}`
						var off []byte
						if via == "kafka" {
							sig, ok, err := signal.ParseKafka("dbserver1", []byte("dbserver1"), []byte(`{"type": "execute-snapshot", "data": `+data+`}`), 0, 7)
							if !ok || err != nil {
								t.Fatal(ok, err)
							}
							s.ReceiveSignal(&sig, 7)
							off = firstRead(t, ctx, s).Position.AppendOffset(nil)
						} else {
							db.exec(`BEGIN; INSERT INTO debezium_signal VALUES ('q-1', 'execute-snapshot', '` + data + `'); INSERT INTO sentinel VALUES (100); COMMIT`)
							if !resumed {
								// The signal comes through the slot after the snapshot.
								off = firstRead(t, ctx, s).Position.AppendOffset(nil)
							}
							for off == nil {
								ev, err := s.Next(ctx)
								if err != nil {
									t.Fatal(err)
								}
								if ev.Kind == capture.Commit && ev.Source.TxID != 0 {
									// The commit of the signal's transaction (the only one).
									off = ev.Position.AppendOffset(nil)
								}
							}
						}
						if phase != "nocrash" {
							s.Close()
							db.slotReleased()
							cfg.Offset = off
							s = db.open(cfg)
						}
						reads, done, sentinels := 0, false, 1
						for {
							ev, err := s.Next(ctx)
							if err != nil {
								t.Fatalf("Next after the restart (%d reads of u, offset %s): %v", reads, off, err)
							}
							if ev.Position != nil {
								s.Ack(ctx, ev.Position)
							}
							if ev.Kind == capture.SnapshotDone && !done {
								done = true
								db.exec("INSERT INTO sentinel VALUES (1)")
							}
							if isSentinel(ev) && ev.After[0].Int < 100 { // 100: the signal's transaction
								// Nothing runs nor waits (a blocking snapshot starts at the
								// transaction boundary after its signal).
								if !s.Progress().Snapshot.Running.Load() && s.blockWait == nil && len(s.incrWait) == 0 && s.incrResume == nil {
									break
								}
								sentinels++ // the queued snapshot still runs: another one after it
								db.exec(fmt.Sprintf("INSERT INTO sentinel VALUES (%d)", sentinels))
							}
							if ev.Op == capture.OpRead && ev.Table.ID.Table == "u" {
								reads++
							}
						}
						// The initial snapshot's rest reads u (after t), the queued snapshot once more.
						if reads != 2*nu {
							t.Fatalf("%d reads of u after the restart, want %d: the queued %s snapshot was lost (offset %s)", reads, 2*nu, typ, off)
						}
					})
				})
			}
		}
	}
}

// firstRead returns s's next read of t, skipping other events.
func firstRead(t *testing.T, ctx context.Context, s *Source) capture.Event {
	t.Helper()
	for {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Op == capture.OpRead && ev.Table.ID.Table == "t" {
			return ev
		}
		if ev.Op == capture.OpRead || ev.Kind == capture.SnapshotDone {
			t.Fatalf("%v of %v before the snapshot of t ended", ev.Kind, ev.Table)
		}
	}
}
