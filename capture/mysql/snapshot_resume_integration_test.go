//go:build integration

package mysql

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestSnapshotResumeWatermarkWindows stops the source in the middle of its initial snapshot
// (the events up to there delivered, the rest lost, as a kill -9 leaves it), changes rows
// while it is down, restarts it while a writer keeps updating, deletes and inserting, stops it
// again in the middle of the resumed phase, and restarts it once more: the rows read again
// stay within the batches in flight at each stop (it resumed rather than restarted), and
// replaying every event delivered in order gives the table as the server has it.
func TestSnapshotResumeWatermarkWindows(t *testing.T) {
	eachServerReadOnly(t, snapshotResume)
}

func snapshotResume(t *testing.T, srv server, readOnly bool) {
	const rows = 3000
	db, dbName := snapshotDB(t, srv, "sl_snapresume", readOnly,
		"a (id INT PRIMARY KEY, v INT NOT NULL)",
		"t (id INT PRIMARY KEY, v INT NOT NULL, pad VARCHAR(40))",
		"z (k VARCHAR(20) PRIMARY KEY, v INT NOT NULL)")
	mustExec(t, db, "INSERT INTO "+dbName+".a VALUES (1, 1), (2, 2)")
	var vals []string
	for i := 1; i <= rows; i++ {
		vals = append(vals, fmt.Sprintf("(%d, 0, 'row %d')", i, i))
	}
	mustExec(t, db, "INSERT INTO "+dbName+".t VALUES "+strings.Join(vals, ","))
	vals = vals[:0]
	for i := 1; i <= 700; i++ {
		vals = append(vals, fmt.Sprintf("('k%05d', 0)", i))
	}
	mustExec(t, db, "INSERT INTO "+dbName+".z VALUES "+strings.Join(vals, ","))

	ts := newTestSource(t, srv, dbName)
	ts.cfg.SnapshotChunkRows = 100
	ts.cfg.SnapshotWorkers = 1
	ts.cfg.SignalDataCollection = dbName + ".sig"
	if readOnly {
		ts.cfg.ReadOnly, ts.cfg.SignalDataCollection = true, ""
	}
	state := map[string]string{} // table/key → row, from the events delivered
	reads := 0
	apply := func(recs []rec) {
		for _, r := range recs {
			if r.kind != capture.Change || r.tbl == "sig" || r.tbl == "fence" {
				continue
			}
			ev := r.ev
			if ev.Op == capture.OpRead {
				reads++
			}
			row := ev.After
			if ev.Op == capture.OpDelete {
				row = ev.Before
			}
			k := r.tbl + "/" + valText(row[0])
			if ev.Op == capture.OpDelete {
				delete(state, k)
			} else {
				state[k] = rowText(ev.After)
			}
		}
	}

	// Run 1: the consistent snapshot, stopped after 1,300 rows of t (mid-batch, past two
	// batches of 512).
	s := ts.open(t)
	recs := ts.collect(t, s, 60*time.Second, readsAtLeast(2+1300))
	s.Close()
	apply(recs)
	if !strings.Contains(string(ts.off), `"snapshot_table":"t"`) {
		t.Fatalf("stored offset after run 1 has no progress in t: %s", ts.off)
	}
	// While it is down: changes on both sides of the progress and in the tables not read yet.
	mustExec(t, db,
		"UPDATE "+dbName+".t SET v = v + 100 WHERE id IN (5, 900, 1100, 1500, 2999)",
		"DELETE FROM "+dbName+".t WHERE id IN (6, 1501, 2500)",
		"INSERT INTO "+dbName+".t VALUES (5001, 1, 'new')",
		"UPDATE "+dbName+".z SET v = 7 WHERE k = 'k00003'",
		"UPDATE "+dbName+".a SET v = 9 WHERE id = 1")

	// Run 2: resumed in watermark windows while a writer runs; stopped after 900 more reads
	// (in the middle of a chunk).
	writer := func(seed uint64, n int) (wait func()) {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 1))
			for i := 0; i < n; i++ {
				var q string
				switch r.IntN(6) {
				case 0:
					q = fmt.Sprintf("DELETE FROM %s.t WHERE id = %d", dbName, 1+r.IntN(rows))
				case 1:
					q = fmt.Sprintf("INSERT INTO %s.t VALUES (%d, 1, 'w') ON DUPLICATE KEY UPDATE v = v + 1", dbName, rows+1+r.IntN(200))
				case 2:
					q = fmt.Sprintf("UPDATE %s.z SET v = v + 1 WHERE k = 'k%05d'", dbName, 1+r.IntN(700))
				default:
					q = fmt.Sprintf("UPDATE %s.t SET v = v + 1 WHERE id = %d", dbName, 1+r.IntN(rows))
				}
				if _, err := db.Exec(q); err != nil {
					t.Errorf("writer: %s: %v", q, err)
					return
				}
			}
		}()
		return wg.Wait
	}
	wait := writer(1, 1500)
	s = ts.open(t)
	recs = ts.collect(t, s, 60*time.Second, readsAtLeast(950))
	s.Close()
	apply(recs)
	wait()
	if !strings.Contains(string(ts.off), `"snapshot":"INITIAL"`) {
		t.Fatalf("stored offset after run 2 is not in the snapshot: %s", ts.off)
	}

	// Run 3: resumed again, with the writer, to the end of the snapshot; then a fence row
	// after the writer stopped.
	wait = writer(2, 800)
	s = ts.open(t)
	defer s.Close()
	done := false
	recs = ts.collect(t, s, 120*time.Second, func(recs []rec) bool {
		if n := len(recs); n > 0 && recs[n-1].kind == capture.SnapshotDone {
			done = true
			wait()
			mustExec(t, db, "INSERT INTO "+dbName+".fence VALUES (1)")
		}
		n := len(recs)
		return done && n > 0 && recs[n-1].tbl == "fence"
	})
	apply(recs)
	if strings.Contains(string(ts.off), "INITIAL") {
		t.Fatalf("stored offset after the end still in the snapshot: %s", ts.off)
	}

	want := map[string]string{}
	for _, tbl := range []string{"a", "t", "z"} {
		rs, err := db.Query("SELECT * FROM " + dbName + "." + tbl)
		if err != nil {
			t.Fatal(err)
		}
		readTable(t, rs, tbl, want)
	}
	if diffs := stateDiffs(want, state); len(diffs) > 0 {
		t.Fatalf("%d keys wrong, e.g. %s", len(diffs), strings.Join(diffs[:min(len(diffs), 10)], "; "))
	}
	// The rows of a, t and z, plus what each stop read again: at most the batch in flight at
	// the first stop (512) and the chunk in flight at the second (100), and the writer's
	// inserts read by chunks after they were streamed.
	if limit := 2 + rows + 700 + 512 + 100 + 200; reads > limit {
		t.Fatalf("%d snapshot reads for %d rows: more than resuming reads again (limit %d)", reads, 2+rows+700, limit)
	}
	t.Logf("%d snapshot reads for %d rows", reads, 2+rows+700)
}

// TestResumedChunkKeepsItsProgress: a resumed snapshot dies part way through emitting a chunk.
// Before, every row of a chunk carried the progress before the chunk, so the next run read
// the whole chunk again (here 3,000 rows; at the default 10,000-row chunks and a fast
// snapshot, most of what a kill cost beside the save interval). Now every 512 rows the
// position says so: the next run re-reads at most 512 rows of it.
func TestResumedChunkKeepsItsProgress(t *testing.T) {
	eachServerReadOnly(t, func(t *testing.T, srv server, readOnly bool) {
		const rows = 20000
		db, dbName := snapshotDB(t, srv, "sl_chunkprog", readOnly, "t (id INT PRIMARY KEY, v INT NOT NULL)")
		var vals []string
		for i := 1; i <= rows; i++ {
			vals = append(vals, fmt.Sprintf("(%d, 0)", i))
		}
		mustExec(t, db, "INSERT INTO "+dbName+".t VALUES "+strings.Join(vals, ","))
		ts := newTestSource(t, srv, dbName)
		ts.cfg.SnapshotChunkRows = 5000
		ts.cfg.SnapshotWorkers = 1
		ts.cfg.SignalDataCollection = dbName + ".sig"
		if readOnly {
			ts.cfg.ReadOnly, ts.cfg.SignalDataCollection = true, ""
		}
		seen := map[string]int{} // key → the run that read it
		run := func(run int, stop func([]rec) bool) (again int) {
			s := ts.open(t)
			defer s.Close()
			for _, r := range ts.collect(t, s, 60*time.Second, stop) {
				if r.op != capture.OpRead || r.tbl != "t" {
					continue
				}
				k := valText(r.ev.After[0])
				if n, ok := seen[k]; ok && n < run {
					again++
				}
				seen[k] = run
			}
			return again
		}
		run(1, readsAtLeast(1200)) // the consistent snapshot: 1,200 rows
		run(2, readsAtLeast(3000)) // resumed: 3,000 rows into its first chunk
		t.Logf("stored offset after run 2: %s", ts.off)
		again := run(3, func(recs []rec) bool { return len(recs) > 0 && recs[len(recs)-1].kind == capture.SnapshotDone })
		if len(seen) != rows {
			t.Fatalf("%d of %d keys read", len(seen), rows)
		}
		t.Logf("run 3 read %d rows run 2 had read", again)
		if again > markRows {
			t.Errorf("run 3 read %d rows run 2 had read, want at most %d: the chunk's progress was not in the offset", again, markRows)
		}
	})
}
