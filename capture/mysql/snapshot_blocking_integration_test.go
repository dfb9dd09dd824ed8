//go:build integration

package mysql

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/signal"
)

// TestMySQLBlockingSnapshotUnderWrites sends a blocking execute-snapshot through the signal
// table while a writer updates, deletes and inserts rows, stops the source half way through
// the reads (its events delivered) and starts it again from the stored offset; then a second
// blocking snapshot comes through the Kafka channel's entry point (ReceiveSignal). Each run's
// reads must come as one block (streaming paused: no stream event among them), and replaying
// every event delivered gives the tables as the server has them (nothing lost, each key at
// its latest state), additional-conditions applied.
func TestMySQLBlockingSnapshotUnderWrites(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) { blockingUnderWrites(t, srv) })
	}
}

func blockingUnderWrites(t *testing.T, srv server) {
	const rows = 3000
	db, dbName := snapshotDB(t, srv, "sl_blocking", false,
		"t (id INT PRIMARY KEY, v INT NOT NULL)", "u (id INT PRIMARY KEY, v INT NOT NULL)", "k (v INT NOT NULL)")
	vals := zeroRows(rows)
	mustExec(t, db, "INSERT INTO "+dbName+".t VALUES "+strings.Join(vals, ","),
		"INSERT INTO "+dbName+".u VALUES "+strings.Join(vals[:300], ","),
		"INSERT INTO "+dbName+".k VALUES (1), (2), (3)")
	ts := newTestSource(t, srv, dbName)
	ts.cfg.SnapshotMode = SnapshotNoData // the blocking snapshots are the only readers of rows
	ts.cfg.SnapshotChunkRows = 100
	ts.cfg.SignalDataCollection = dbName + ".sig"

	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(3, 3))
		for !stop.Load() {
			var q string
			switch r.IntN(6) {
			case 0:
				q = fmt.Sprintf("DELETE FROM %s.t WHERE id = %d", dbName, 1+r.IntN(rows))
			case 1:
				q = fmt.Sprintf("INSERT INTO %s.t VALUES (%d, 1) ON DUPLICATE KEY UPDATE v = v + 1", dbName, 1+r.IntN(rows+300))
			case 2:
				q = fmt.Sprintf("UPDATE %s.u SET v = v + 1 WHERE id = %d", dbName, 1+r.IntN(300))
			default:
				q = fmt.Sprintf("UPDATE %s.t SET v = v + 1 WHERE id = %d", dbName, 1+r.IntN(rows))
			}
			if _, err := db.Exec(q); err != nil {
				t.Errorf("writer: %s: %v", q, err)
				return
			}
		}
	}()
	defer func() { stop.Store(true); wg.Wait() }()

	state := map[string]string{}
	var bad []string
	reads := 0
	apply := func(run string, recs []rec) {
		first, last, changes := -1, -1, 0
		for i, r := range recs {
			if r.kind != capture.Change || r.tbl == "sig" || r.tbl == "fence" {
				continue
			}
			ev := r.ev
			row := ev.After
			if ev.Op == capture.OpDelete {
				row = ev.Before
			}
			k := r.tbl + "/" + valText(row[0])
			switch ev.Op {
			case capture.OpRead:
				reads++
				if first < 0 {
					first, changes = i, 0
				}
				if changes > 0 {
					bad = append(bad, fmt.Sprintf("%s: %d stream changes among the reads (read %d)", run, changes, i))
					changes = 0
				}
				last = i
				if r.tbl == "u" && ev.After[0].Int%2 != 0 {
					bad = append(bad, "read outside additional-conditions: "+k)
				}
				if r.tbl == "k" {
					k = fmt.Sprintf("k/%d", i) // keyless: counted, not keyed
				}
				state[k] = rowText(ev.After)
			case capture.OpDelete:
				delete(state, k)
			default:
				if first >= 0 {
					changes++
				}
				state[k] = rowText(ev.After)
			}
		}
		t.Logf("%s: reads at events %d..%d of %d", run, first, last, len(recs))
	}

	s := ts.open(t)
	ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
		return len(recs) > 0 && recs[len(recs)-1].kind == capture.SnapshotDone
	})
	mustExec(t, db, `INSERT INTO `+dbName+`.sig VALUES ('block-1', 'execute-snapshot', '{"data-collections": ["`+dbName+`.t", "`+dbName+`.u"], "type": "blocking",
		"additional-conditions": [{"data-collection": "`+dbName+`.u", "filter": "id % 2 = 0"}]}')`)
	recs := ts.collect(t, s, 60*time.Second, readsAtLeast(1200))
	s.Close()
	apply("run 1 (stopped half way)", recs)
	if !strings.Contains(string(ts.off), `"blocking_snapshot_tables":["`+dbName+`.t","`+dbName+`.u"]`) {
		t.Fatalf("the stored offset in the middle of the blocking snapshot does not name its tables: %s", ts.off)
	}

	// Restart: the tables are read again from the start, then streaming goes on.
	s = ts.open(t)
	defer s.Close()
	started := false
	recs = ts.collect(t, s, 60*time.Second, func(recs []rec) bool {
		if n := len(recs); n > 0 && recs[n-1].op == capture.OpRead {
			started = true
		}
		return started && s.block == nil
	})
	apply("run 2 (restarted)", recs)
	if strings.Contains(string(ts.off), "blocking_snapshot") {
		t.Fatalf("the stored offset after the blocking snapshot still names its tables: %s", ts.off)
	}

	// A second one through the Kafka channel's entry point, for t and the keyless k.
	sig, ok, err := signal.ParseKafka("dbserver1", []byte("dbserver1"),
		[]byte(`{"id": "kafka-1", "type": "execute-snapshot", "data": {"data-collections": ["`+dbName+`\\.(t|k)"], "type": "blocking"}}`), 0, 0)
	if !ok || err != nil {
		t.Fatal(ok, err)
	}
	s.ReceiveSignal(&sig, 0)
	started = false
	recs = ts.collect(t, s, 60*time.Second, func(recs []rec) bool {
		if n := len(recs); n > 0 && recs[n-1].op == capture.OpRead {
			started = true
		}
		return started && s.block == nil
	})
	apply("run 2, Kafka signal", recs)
	if !strings.Contains(string(ts.off), `"signal_kafka_offset":1`) {
		t.Errorf("the stored offset after the Kafka signal does not move past it: %s", ts.off)
	}

	stop.Store(true)
	wg.Wait()
	mustExec(t, db, "INSERT INTO "+dbName+".fence VALUES (1)")
	recs = ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
		n := len(recs)
		return n > 0 && recs[n-1].tbl == "fence"
	})
	apply("after", recs)

	want := map[string]string{}
	for _, q := range []string{"SELECT * FROM " + dbName + ".t", "SELECT * FROM " + dbName + ".u WHERE id % 2 = 0"} {
		rs, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		readTable(t, rs, strings.Fields(q)[3][len(dbName)+1:], want)
	}
	got := map[string]string{}
	keyless := 0
	for k, v := range state {
		if strings.HasPrefix(k, "k/") {
			keyless++
			continue
		}
		var id int
		if _, err := fmt.Sscanf(k, "u/%d", &id); err == nil && id%2 != 0 {
			continue // u's odd keys come from stream updates only (not in the filtered read)
		}
		got[k] = v
	}
	bad = append(bad, stateDiffs(want, got)...)
	if keyless != 3 {
		bad = append(bad, fmt.Sprintf("%d reads of the keyless table, want 3", keyless))
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		t.Fatalf("%d problems, e.g. %s", len(bad), strings.Join(bad[:min(len(bad), 10)], "; "))
	}
	t.Logf("%d reads in all, %d keys", reads, len(got))
}

// TestMySQLBlockingSnapshotBadFilter: an additional-conditions filter the server refuses is a
// bad signal, found before streaming pauses: the whole signal is refused with an error that
// names the table and the filter, nothing is read, the stream goes on and a corrected signal
// is read. It used to pause streaming, read the other tables and find the bad filter only at
// its table's first chunk.
func TestMySQLBlockingSnapshotBadFilter(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			db, dbName := snapshotDB(t, srv, "sl_blockbad", false, "t (id INT PRIMARY KEY, v INT NOT NULL)", "u (id INT PRIMARY KEY, v INT NOT NULL)")
			mustExec(t, db, "INSERT INTO "+dbName+".t VALUES (1, 0), (2, 0)", "INSERT INTO "+dbName+".u VALUES (1, 0), (2, 0)")
			ts := newTestSource(t, srv, dbName)
			ts.cfg.SnapshotMode = SnapshotNoData
			ts.cfg.SignalDataCollection = dbName + ".sig"
			logs := &lockedLog{}
			ts.cfg.Logger = logs.logger()
			s := ts.open(t)
			defer s.Close()
			ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
				return len(recs) > 0 && recs[len(recs)-1].kind == capture.SnapshotDone
			})
			signal := func(id, filter string) string {
				return `INSERT INTO ` + dbName + `.sig VALUES ('` + id + `', 'execute-snapshot', '{"data-collections": ["` + dbName + `.t", "` + dbName + `.u"], "type": "blocking",
				"additional-conditions": [{"data-collection": "` + dbName + `.u", "filter": "` + filter + `"}]}')`
			}
			started0 := s.cfg.Stats.Snapshot.StartedUnixNano.Load()
			mustExec(t, db, signal("bad", "no_such_column > 1"), "INSERT INTO "+dbName+".fence VALUES (1)")
			recs := ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
				n := len(recs)
				return n > 0 && recs[n-1].tbl == "fence"
			})
			for _, r := range recs {
				if r.op == capture.OpRead {
					t.Fatalf("read %s/%s: the bad signal was not refused as a whole", r.tbl, r.text)
				}
			}
			if s.cfg.Stats.Snapshot.StartedUnixNano.Load() != started0 || strings.Contains(logs.String(), "blocking snapshot started") {
				t.Fatalf("a blocking snapshot started (streaming paused) for a signal with a refused filter")
			}
			if l := logs.String(); !strings.Contains(l, "refused") || !strings.Contains(l, "table="+dbName+".u") || !strings.Contains(l, "no_such_column > 1") {
				t.Fatalf("no error naming the table and the filter in the log:\n%s", l)
			}

			mustExec(t, db, signal("good", "id > 1"))
			started := false
			recs = ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
				if n := len(recs); n > 0 && recs[n-1].op == capture.OpRead {
					started = true
				}
				return started && s.block == nil
			})
			reads := map[string]int{}
			for _, r := range recs {
				if r.op == capture.OpRead {
					reads[r.tbl]++
				}
			}
			if reads["t"] != 2 || reads["u"] != 1 {
				t.Fatalf("reads %v, want t's 2 rows and u's 1 (id > 1)", reads)
			}
		})
	}
}

// TestMySQLBlockingSnapshotKeylessPieces: a keyless table in a blocking snapshot is read by one
// query whose rows come in pieces of --snapshot-chunk-rows, so the source holds about a piece
// however big the table (it used to queue the whole table before handing out its first row).
// Every row is read once; the stream goes on after.
func TestMySQLBlockingSnapshotKeylessPieces(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			const rows, piece = 20000, 100
			db, dbName := snapshotDB(t, srv, "sl_blockkeyless", false, "k (v INT NOT NULL, w VARCHAR(20))")
			for i := 0; i < rows; i += 5000 {
				vals := make([]string, 5000)
				for j := range vals {
					vals[j] = fmt.Sprintf("(%d, 'row %d')", i+j, i+j)
				}
				mustExec(t, db, "INSERT INTO "+dbName+".k VALUES "+strings.Join(vals, ","))
			}
			ts := newTestSource(t, srv, dbName)
			ts.cfg.SnapshotMode = SnapshotNoData
			ts.cfg.SnapshotChunkRows = piece
			ts.cfg.SignalDataCollection = dbName + ".sig"
			s := ts.open(t)
			defer s.Close()
			ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
				return len(recs) > 0 && recs[len(recs)-1].kind == capture.SnapshotDone
			})
			mustExec(t, db, `INSERT INTO `+dbName+`.sig VALUES ('keyless', 'execute-snapshot', '{"data-collections": ["`+dbName+`.k"], "type": "blocking"}')`,
				"INSERT INTO "+dbName+".fence VALUES (1)")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			seen := map[int64]bool{}
			maxQueued := 0
			for {
				ev, err := s.Next(ctx)
				if err != nil {
					t.Fatalf("Next after %d reads: %v", len(seen), err)
				}
				maxQueued = max(maxQueued, len(s.queue))
				if ev.Kind == capture.Change && ev.Op == capture.OpRead {
					if seen[ev.After[0].Int] {
						t.Fatalf("row %d read twice", ev.After[0].Int)
					}
					seen[ev.After[0].Int] = true
				}
				if ev.Kind == capture.Change && ev.Table.ID.Table == "fence" {
					break
				}
			}
			if len(seen) != rows {
				t.Fatalf("%d rows read, want %d", len(seen), rows)
			}
			if maxQueued > piece {
				t.Fatalf("up to %d events queued in the source, want at most a piece (%d)", maxQueued, piece)
			}
			t.Logf("%d rows, at most %d queued", rows, maxQueued)

			// Closed in the middle of a keyless read: its goroutine ends with the source.
			mustExec(t, db, `INSERT INTO `+dbName+`.sig VALUES ('keyless-2', 'execute-snapshot', '{"data-collections": ["`+dbName+`.k"], "type": "blocking"}')`)
			for n := 0; n < 3*piece; {
				ev, err := s.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if ev.Op == capture.OpRead {
					n++
				}
			}
			k := s.block.keyless
			if k == nil {
				t.Fatal("no keyless read running")
			}
			s.Close()
			select {
			case <-k.done:
			default:
				t.Fatal("the keyless read's goroutine outlives Close")
			}
		})
	}
}
