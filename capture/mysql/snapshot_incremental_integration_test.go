//go:build integration

package mysql

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestMySQLIncrementalSnapshotWindows starts an incremental snapshot by a signal-table row
// while a writer keeps updating, deleting and inserting rows of the table, pauses and resumes
// it, stops the source in the middle (the events up to there delivered) and restarts it from
// the stored offset. Every snapshot read must equal the after image of the last streamed change
// of its key before it (a read older than a stream event it follows is the stale row the
// watermark window exists to drop), a deleted key must not be read again, the
// additional-conditions filter must hold, and replaying every event gives the table as the
// server has it.
func TestMySQLIncrementalSnapshotWindows(t *testing.T) {
	eachServerReadOnly(t, incrementalWindows)
}

func incrementalWindows(t *testing.T, srv server, readOnly bool) {
	const rows = 4000
	db, dbName := snapshotDB(t, srv, "sl_incrwin", readOnly,
		"t (id INT PRIMARY KEY, v INT NOT NULL)", "u (id INT PRIMARY KEY, v INT NOT NULL)")
	vals := zeroRows(rows)
	mustExec(t, db, "INSERT INTO "+dbName+".t VALUES "+strings.Join(vals, ","), "INSERT INTO "+dbName+".u VALUES "+strings.Join(vals[:300], ","))

	ts := newTestSource(t, srv, dbName)
	ts.cfg.SnapshotMode = SnapshotNoData // the incremental snapshot is the only reader of rows
	ts.cfg.SnapshotChunkRows = 150
	ts.cfg.SignalDataCollection = dbName + ".sig"
	ts.cfg.ReadOnly = readOnly
	if os.Getenv("DEBUGLOG") != "" {
		ts.cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}

	// The writer runs until stopped: updates and deletes over t, inserts above it.
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := rand.New(rand.NewPCG(7, 7))
		for !stop.Load() {
			var q string
			switch r.IntN(5) {
			case 0:
				q = fmt.Sprintf("DELETE FROM %s.t WHERE id = %d", dbName, 1+r.IntN(rows))
			case 1:
				q = fmt.Sprintf("INSERT INTO %s.t VALUES (%d, 1) ON DUPLICATE KEY UPDATE v = v + 1", dbName, 1+r.IntN(rows+300))
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

	// Checks, over the events delivered in order (across both runs).
	state := map[string]string{} // table/key → row
	streamed := map[string]string{}
	reads := map[string]int{}
	var bad []string
	check := func(recs []rec) {
		for _, r := range recs {
			if r.kind != capture.Change || r.tbl == "sig" || r.tbl == "fence" {
				continue
			}
			ev := r.ev
			row := ev.After
			if ev.Op == capture.OpDelete {
				row = ev.Before
			}
			k := r.tbl + "/" + valText(row[0])
			after := rowText(ev.After)
			switch ev.Op {
			case capture.OpRead:
				if ev.Source.Snapshot != capture.SnapshotIncremental {
					bad = append(bad, "read not marked incremental: "+k)
				}
				reads[r.tbl]++
				if last, ok := streamed[k]; ok && last != after {
					bad = append(bad, fmt.Sprintf("stale read %s %s after the stream's %s", k, after, last))
				}
				if r.tbl == "u" && ev.After[0].Int%2 != 0 {
					bad = append(bad, "read outside additional-conditions: "+k)
				}
				state[k] = after
			case capture.OpDelete:
				streamed[k] = "-"
				delete(state, k)
			default:
				streamed[k] = after
				state[k] = after
			}
		}
	}

	s := ts.open(t)
	check(ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
		return len(recs) > 0 && recs[len(recs)-1].kind == capture.SnapshotDone
	}))
	mustExec(t, db, `INSERT INTO `+dbName+`.sig VALUES ('log-1', 'log', '{"message": "hello from the test at {}"}'),
		('snap-1', 'execute-snapshot', '{"data-collections": ["`+dbName+`.t", "`+dbName+`.u"], "type": "incremental",
		  "additional-conditions": [{"data-collection": "`+dbName+`.u", "filter": "id % 2 = 0"}]}')`)
	recs := ts.collect(t, s, 60*time.Second, readsAtLeast(400))
	check(recs)
	// Pause, let the writer run, resume; then stop in the middle.
	mustExec(t, db, "INSERT INTO "+dbName+".sig VALUES ('pause-1', 'pause-snapshot', NULL)")
	recs = ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
		return len(recs) > 0 && recs[len(recs)-1].tbl == "sig"
	})
	check(recs)
	time.Sleep(300 * time.Millisecond)
	mustExec(t, db, "INSERT INTO "+dbName+".sig VALUES ('resume-1', 'resume-snapshot', NULL)")
	recs = ts.collect(t, s, 30*time.Second, readsAtLeast(300))
	check(recs)
	s.Close()
	if !strings.Contains(string(ts.off), `"incremental_snapshot_tables":["`+dbName+`.t"`) {
		t.Fatalf("stored offset has no incremental progress in t: %s", ts.off)
	}

	// Restart: the incremental snapshot carries on from the offset, to its end.
	s = ts.open(t)
	defer s.Close()
	fenced := false
	recs = ts.collect(t, s, 120*time.Second, func(recs []rec) bool {
		if !fenced && s.resumed == nil && s.cfg.Stats.Snapshot.Completed.Load() {
			fenced = true
			stop.Store(true)
			wg.Wait()
			mustExec(t, db, "INSERT INTO "+dbName+".fence VALUES (1)")
		}
		return fenced && len(recs) > 0 && recs[len(recs)-1].tbl == "fence"
	})
	check(recs)
	if strings.Contains(string(ts.off), "incremental_snapshot") {
		t.Fatalf("stored offset after the end still has incremental progress: %s", ts.off)
	}
	want := map[string]string{}
	for _, tbl := range []string{"t", "u"} {
		q := "SELECT * FROM " + dbName + "." + tbl
		if tbl == "u" {
			q += " WHERE id % 2 = 0"
		}
		rs, err := db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		readTable(t, rs, tbl, want)
	}
	bad = append(bad, stateDiffs(want, state)...)
	sort.Strings(bad)
	if len(bad) > 0 {
		t.Fatalf("%d problems, e.g. %s", len(bad), strings.Join(bad[:min(len(bad), 10)], "; "))
	}
	var marks int
	if err := db.QueryRow("SELECT count(*) FROM " + dbName + ".sig WHERE id LIKE 'sluice:%'").Scan(&marks); err != nil {
		t.Fatal(err)
	}
	if readOnly && marks != 0 {
		t.Fatalf("read-only: %d watermark rows written to the source", marks)
	}
	t.Logf("reads: %v; %d keys; %d watermark rows", reads, len(state), marks)
}

// readsAtLeast is a collect predicate: true once n snapshot reads arrived. It counts as the
// events come (collect calls it after each one): a count over all of them each time was
// quadratic, and with a fast writer on a quiet machine it outran the collect timeout.
func readsAtLeast(n int) func([]rec) bool {
	seen, reads := 0, 0
	return func(recs []rec) bool {
		for ; seen < len(recs); seen++ {
			if recs[seen].op == capture.OpRead {
				reads++
			}
		}
		return reads >= n
	}
}

// TestMySQLSnapshotFilterFailsMidTable: an additional-conditions filter that passes its check
// (LIMIT 0) and fails on one row's value (a scalar subquery that returns two rows for key 35)
// ends that table's snapshot at the failing chunk, with an error naming the table, the filter
// and the rows published; the snapshot goes on with the next table and the stream goes on
// (Debezium ends the table with status SQL_EXCEPTION and streams on). An incremental snapshot
// used to stop the source, and meet the same row again at every restart.
func TestMySQLSnapshotFilterFailsMidTable(t *testing.T) {
	for _, srv := range servers(t) {
		for _, typ := range []string{"incremental", "blocking"} {
			t.Run(srv.name+"/"+typ, func(t *testing.T) {
				const rows = 50
				db, dbName := snapshotDB(t, srv, "sl_midfail_"+typ[:1], false,
					"t (id INT PRIMARY KEY, v INT NOT NULL)", "u (id INT PRIMARY KEY, v INT NOT NULL)", "dup (k INT NOT NULL, w INT NOT NULL)")
				vals := zeroRows(rows)
				mustExec(t, db, "INSERT INTO "+dbName+".t VALUES "+strings.Join(vals, ","),
					"INSERT INTO "+dbName+".u VALUES "+strings.Join(vals[:20], ","),
					"INSERT INTO "+dbName+".dup VALUES (35, 1), (35, 2)")
				ts := newTestSource(t, srv, dbName)
				ts.cfg.SnapshotMode = SnapshotNoData
				ts.cfg.SnapshotChunkRows = 10
				ts.cfg.SignalDataCollection = dbName + ".sig"
				ts.cfg.TableExclude = []string{dbName + `\.dup`}
				logs := &lockedLog{}
				ts.cfg.Logger = logs.logger()
				s := ts.open(t)
				defer s.Close()
				ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
					return len(recs) > 0 && recs[len(recs)-1].kind == capture.SnapshotDone
				})
				filter := "(SELECT w FROM " + dbName + ".dup WHERE k = id) IS NULL"
				mustExec(t, db, `INSERT INTO `+dbName+`.sig VALUES ('mid', 'execute-snapshot', '{"data-collections": ["`+dbName+`.t", "`+dbName+`.u"], "type": "`+typ+`",
					"additional-conditions": [{"data-collection": "`+dbName+`.t", "filter": "`+filter+`"}]}')`)
				reads := map[string]int{}
				ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
					if n := len(recs); n > 0 && recs[n-1].op == capture.OpRead {
						reads[recs[n-1].tbl]++
					}
					return reads["u"] == 20
				})
				mustExec(t, db, "INSERT INTO "+dbName+".fence VALUES (1)")
				ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
					n := len(recs)
					return n > 0 && recs[n-1].tbl == "fence"
				})
				if reads["t"] != 30 {
					t.Errorf("%d reads of t, want 30 (the chunks before key 35's)", reads["t"])
				}
				l := logs.String()
				if !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "table="+dbName+".t") || !strings.Contains(l, "rows_published=30") || !strings.Contains(l, "k = id") {
					t.Errorf("no error naming the table, the filter and the rows published:\n%s", l)
				}
				if !s.cfg.Stats.Snapshot.Table(dbName + ".t").Failed.Load() {
					t.Errorf("the table's progress does not say it failed")
				}
			})
		}
	}
}
