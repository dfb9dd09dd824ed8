//go:build integration

package mysql

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestResumedSnapshotRecallsStreamedKeys: a snapshot is stopped, resumed, and stopped again
// after the resumed run streamed changes of rows its chunks had not read yet; the third run
// must not read those rows again (op r after the c or u that already carried them). Before,
// the third run's stream started past those changes and nothing told its chunks about them:
// every such row came out twice (issue 18: read_committed duplicates with --exactly-once,
// ~800 of 120,000 rows in torture/eos.sh). Now the resumed run re-reads the binlog from the
// snapshot's position (snapshot_recall.go). Replaying every event delivered still gives the
// table as the server has it: a recalled key never costs a row.
func TestResumedSnapshotRecallsStreamedKeys(t *testing.T) {
	eachServerReadOnly(t, func(t *testing.T, srv server, readOnly bool) {
		const rows = 2000
		db, dbName := snapshotDB(t, srv, "sl_recall", readOnly, "t (id INT PRIMARY KEY, v INT NOT NULL)")
		var vals []string
		for i := 1; i <= rows; i++ {
			vals = append(vals, fmt.Sprintf("(%d, 0)", i))
		}
		mustExec(t, db, "INSERT INTO "+dbName+".t VALUES "+strings.Join(vals, ","))
		ts := newTestSource(t, srv, dbName)
		ts.cfg.SnapshotChunkRows = 200
		ts.cfg.SnapshotWorkers = 1
		ts.cfg.SignalDataCollection = dbName + ".sig"
		if readOnly {
			ts.cfg.ReadOnly, ts.cfg.SignalDataCollection = true, ""
		}
		state := map[string]string{} // key → row, from the events delivered
		streamed := map[string]int{} // key → the run that streamed a change of it
		var again []string           // keys read (op r) after an earlier run streamed them
		run := func(n int, stop func([]rec) bool) {
			s := ts.open(t)
			defer s.Close()
			for _, r := range ts.collect(t, s, 60*time.Second, stop) {
				if r.kind != capture.Change || r.tbl != "t" {
					continue
				}
				row := r.ev.After
				if r.op == capture.OpDelete {
					row = r.ev.Before
				}
				k := valText(row[0])
				switch r.op {
				case capture.OpRead:
					if m, ok := streamed[k]; ok && m < n {
						again = append(again, k)
					}
					state[k] = rowText(r.ev.After)
				case capture.OpDelete:
					streamed[k] = n
					delete(state, k)
				default:
					streamed[k] = n
					state[k] = rowText(r.ev.After)
				}
			}
		}

		// Run 1: the consistent snapshot, stopped after 600 rows.
		run(1, readsAtLeast(600))
		// While it is down: DDL of another database (a busy server's other applications: the
		// binlog read goes past it), inserts after every key, updates and deletes of rows not
		// read yet.
		other := dbName + "_other"
		mustExec(t, db, "DROP DATABASE IF EXISTS "+other, "CREATE DATABASE "+other, "CREATE TABLE "+other+".x (id INT PRIMARY KEY)")
		t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS " + other) })
		var ins []string
		for i := 5001; i <= 5050; i++ {
			ins = append(ins, fmt.Sprintf("(%d, 1)", i))
		}
		mustExec(t, db, "INSERT INTO "+dbName+".t VALUES "+strings.Join(ins, ","),
			"UPDATE "+dbName+".t SET v = 2 WHERE id BETWEEN 1500 AND 1519",
			"DELETE FROM "+dbName+".t WHERE id BETWEEN 1800 AND 1804")
		// Run 2: resumed; its stream (from the snapshot's position) sends those changes; it
		// stops once it has and its chunks read 300 rows, far before 1500.
		changed, reads := 0, 0
		run(2, func(recs []rec) bool {
			if n := len(recs); n > 0 && recs[n-1].kind == capture.Change && recs[n-1].tbl == "t" {
				if recs[n-1].op == capture.OpRead {
					reads++
				} else {
					changed++
				}
			}
			return changed >= 75 && reads >= 300
		})
		if !strings.Contains(string(ts.off), `"snapshot":"INITIAL"`) {
			t.Fatalf("stored offset after run 2 is not in the snapshot: %s", ts.off)
		}
		// Run 3: resumed again, to the end, while rows change: a change streamed by this run
		// drops its chunk row too, and the rest of the table arrives.
		mustExec(t, db, "UPDATE "+dbName+".t SET v = 3 WHERE id IN (1700, 5010)", "INSERT INTO "+dbName+".t VALUES (6000, 3)")
		run(3, func(recs []rec) bool { return len(recs) > 0 && recs[len(recs)-1].kind == capture.SnapshotDone })

		want := map[string]string{}
		rs, err := db.Query("SELECT * FROM " + dbName + ".t")
		if err != nil {
			t.Fatal(err)
		}
		readTable(t, rs, "t", want)
		got := map[string]string{}
		for k, v := range state {
			got["t/"+k] = v
		}
		if diffs := stateDiffs(want, got); len(diffs) > 0 {
			t.Fatalf("%d keys wrong, e.g. %s", len(diffs), strings.Join(diffs[:min(len(diffs), 10)], "; "))
		}
		if len(again) > 0 {
			t.Fatalf("run 3 read %d rows again (op r) that run 2 had streamed, e.g. %s", len(again), strings.Join(again[:min(len(again), 10)], ","))
		}
	})
}
