//go:build integration

package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/signal"
)

// TestBlockingSnapshotCutExactlyOnce cuts a blocking snapshot of two tables twice (in the
// middle of the first table's second key range, read by two workers, then in the second table) and
// restarts it each time from the offset an exactly-once sink committed last: a model of the
// transactional sink whose transactions end only at positions that cover their events
// (capture.Rereads false, the pipeline's EventDone rule), a kill aborting the open one. Every
// row must be committed once (0 lost, 0 duplicated). The same cuts restarted from the last
// position handed out (the at-least-once offsets save) must lose nothing. Before, every row
// carried the pause position with the tables in progress and said it covered itself: a
// transaction ended at any row, and the restart read the tables again whole (the committed
// rows a second time).
func TestBlockingSnapshotCutExactlyOnce(t *testing.T) {
	for _, mode := range []string{"exactly-once", "at-least-once"} {
		t.Run(mode, func(t *testing.T) {
			eachServer(t, func(t *testing.T, db *testDB) { blockingCut(t, db, mode == "exactly-once") })
		})
	}
}

func blockingCut(t *testing.T, db *testDB, eos bool) {
	const na, nb = 3000, 700
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db.exec("CREATE TABLE a (id int PRIMARY KEY, v int NOT NULL)", fmt.Sprintf("INSERT INTO a SELECT g, 0 FROM generate_series(1, %d) g", na),
		"CREATE TABLE b (id int PRIMARY KEY, v int NOT NULL)", fmt.Sprintf("INSERT INTO b SELECT g, 0 FROM generate_series(1, %d) g", nb),
		"ANALYZE a", "ANALYZE b", signalDDL, "CREATE PUBLICATION sluice FOR ALL TABLES")
	cfg := db.config()
	cfg.SignalDataCollection = "public.debezium_signal"
	cfg.TableExclude = []string{`public\.debezium_signal`}
	cfg.SnapshotChunkRows = 1000
	cfg.SnapshotWorkers = 2 // a is read in key ranges, handed out in order

	var open []string             // reads of the open transaction
	committed := map[string]int{} // reads committed
	delivered := map[string]int{} // reads handed out
	var off []byte                // the offset the next run starts from
	// run reads until stop says so, then closes the source (a kill: the open transaction is
	// aborted).
	run := func(stop func(ev capture.Event) bool) {
		cfg.Offset = off
		s, err := Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { s.Close(); db.slotReleased() }()
		if off == nil { // the slot starts here: the signal after it
			db.exec(`INSERT INTO debezium_signal VALUES ('b-1', 'execute-snapshot', '{"data-collections": ["public.a", "public.b"], "type": "blocking"}')`)
		}
		open = open[:0]
		for {
			ev, err := s.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind == capture.Change && ev.Op == capture.OpRead {
				k := fmt.Sprintf("%s/%d", ev.Table.ID.Table, ev.After[0].Int)
				delivered[k]++
				open = append(open, k)
			}
			if ev.Position != nil && (!eos || !capture.Rereads(ev.Position)) {
				for _, k := range open {
					committed[k]++
				}
				open = open[:0]
				off = ev.Position.(*Position).AppendOffset(nil)
				if err := s.Ack(ctx, ev.Position); err != nil {
					t.Fatal(err)
				}
			}
			if stop(ev) {
				return
			}
		}
	}
	// The signal, then 1,700 reads (the restart goes on inside the second of three key ranges).
	reads := 0
	run(func(ev capture.Event) bool {
		if ev.Op == capture.OpRead {
			reads++
		}
		return reads == 1700
	})
	inB := 0
	run(func(ev capture.Event) bool {
		if ev.Op == capture.OpRead && ev.Table.ID.Table == "b" {
			inB++
		}
		return inB == 300
	})
	started := false
	run(func(ev capture.Event) bool {
		started = started || ev.Op == capture.OpRead
		p, _ := ev.Position.(*Position)
		return started && p != nil && p.Blocking == nil
	})

	got := delivered
	if eos {
		got = committed
	}
	var lost, dup []string
	for tbl, n := range map[string]int{"a": na, "b": nb} {
		for id := 1; id <= n; id++ {
			k := fmt.Sprintf("%s/%d", tbl, id)
			switch c := got[k]; {
			case c == 0:
				lost = append(lost, k)
			case c > 1 && eos:
				dup = append(dup, k)
			}
		}
	}
	total := 0
	for _, c := range delivered {
		total += c
	}
	t.Logf("%d keys, %d reads handed out in all; %d lost, %d committed twice", len(got), total, len(lost), len(dup))
	if len(lost) > 0 {
		t.Errorf("%d rows lost, e.g. %v", len(lost), lost[:min(5, len(lost))])
	}
	if len(dup) > 0 {
		t.Errorf("%d rows committed more than once, e.g. %v", len(dup), dup[:min(5, len(dup))])
	}
}

// TestBlockingSnapshotQueuedDuringOneSurvivesRestart: a blocking execute-snapshot that comes
// through the Kafka channel while another blocking snapshot runs waits for it; a crash in the
// middle of the first must not lose the second, whether it is cut in the batch the signal came
// in (150 reads) or later (1,500). The same for an incremental execute-snapshot (which starts
// at once and reads its chunks once streaming goes on). The rows' positions carry the
// channel's next offset (past the second signal), so the restart never reads that signal
// again: before, they named only the running snapshot's tables, and the second snapshot was
// lost without a word.
func TestBlockingSnapshotQueuedDuringOneSurvivesRestart(t *testing.T) {
	for _, typ := range []string{"blocking", "incremental"} {
		for _, cut := range []int{150, 1500} {
			t.Run(fmt.Sprint(typ, cut), func(t *testing.T) { blockingQueuedDuring(t, cut, typ) })
		}
	}
}

func blockingQueuedDuring(t *testing.T, cut int, typ string) {
	eachServer(t, func(t *testing.T, db *testDB) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db.exec("CREATE TABLE a (id int PRIMARY KEY, v int NOT NULL)", "INSERT INTO a SELECT g, 0 FROM generate_series(1, 2000) g",
			"CREATE TABLE b (id int PRIMARY KEY, v int NOT NULL)", "INSERT INTO b SELECT g, 0 FROM generate_series(1, 300) g",
			"CREATE TABLE sentinel (id int PRIMARY KEY)", signalDDL, "CREATE PUBLICATION sluice FOR ALL TABLES")
		cfg := db.config()
		cfg.SignalDataCollection = "public.debezium_signal"
		cfg.TableExclude = []string{`public\.debezium_signal`}
		cfg.SnapshotChunkRows = 1000
		s, err := Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		db.exec(`INSERT INTO debezium_signal VALUES ('b-1', 'execute-snapshot', '{"data-collections": ["public.a"], "type": "blocking"}')`)
		var off []byte
		reads := 0
		for reads < cut {
			ev, err := s.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Op == capture.OpRead {
				if reads++; reads == 100 {
					sig, ok, err := signal.ParseKafka("dbserver1", []byte("dbserver1"),
						[]byte(`{"type": "execute-snapshot", "data": {"data-collections": ["public.b"], "type": "`+typ+`"}}`), 0, 7)
					if !ok || err != nil {
						t.Fatal(ok, err)
					}
					s.ReceiveSignal(&sig, 7)
				}
			}
			if ev.Position != nil {
				off = ev.Position.(*Position).AppendOffset(nil)
			}
		}
		s.Close()
		db.slotReleased()
		if !strings.Contains(string(off), `"signal_kafka_offset":8`) {
			t.Fatalf("the offset does not say the Kafka signal was read: %s", off)
		}
		cfg.Offset = off
		s, err = Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ticker(t, db) // the incremental snapshot's windows close at stream events
		got := map[string]int{}
		for started := false; ; {
			ev, err := s.Next(ctx)
			if err != nil {
				t.Fatalf("Next after %v: %v", got, err)
			}
			if ev.Op == capture.OpRead {
				started = true
				got[ev.Table.ID.Table]++
			}
			if p, _ := ev.Position.(*Position); started && p != nil && p.Blocking == nil && s.blockWait == nil && got["b"] >= 300 {
				break
			}
		}
		// The rest of a, and the batch (512 rows) the offset was in again at most.
		if got["b"] != 300 || got["a"] == 0 || got["a"] > 2000-cut+512 {
			t.Fatalf("after the restart: %v reads, want the rest of a and all 300 of b (offset %s)", got, off)
		}
	})
}
