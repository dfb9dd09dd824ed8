//go:build integration

package mysql

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql/history"
)

// TestSnapshotRestartKeepsDeletes: a snapshot cut short (kill -9, or a lost server that the
// run loop reopens from the saved offset) after row 7 was published, and row 7 deleted
// before the next open. Taking the snapshot again from scratch starts at a later binlog
// position: neither the new snapshot nor the stream after it carries the delete, and the
// sink keeps row 7 for ever (the audit's extra key in ClickHouse). Now the next open either
// resumes from the first attempt's position (the delete streamed), or, when it cannot, fails
// with the flags to set.
func TestSnapshotRestartKeepsDeletes(t *testing.T) {
	for _, srv := range servers(t) {
		// The offset saved after some rows were acknowledged, no signal table: the windows
		// come from the server's GTID set.
		t.Run(srv.name+"/no-signal-table", func(t *testing.T) { snapshotRestart(t, srv, false, true, false) })
		// No signal table and an offset without GTIDs: nothing can resume the snapshot, the
		// open fails naming the flags.
		t.Run(srv.name+"/no-signal-table-no-gtids", func(t *testing.T) { snapshotRestart(t, srv, false, true, true) })
		// The offset without progress (an older sluice's), the rows published: resumable
		// from the snapshot's position with the signal table.
		t.Run(srv.name+"/no-progress", func(t *testing.T) { snapshotRestart(t, srv, true, false, false) })
		t.Run(srv.name+"/progress", func(t *testing.T) { snapshotRestart(t, srv, true, true, false) })
	}
}

func snapshotRestart(t *testing.T, srv server, signal, acked, noGTIDs bool) {
	db, dbName := snapshotDB(t, srv, fmt.Sprintf("sl_snaprestart_%v_%v_%v", signal, acked, noGTIDs), false,
		"t (id INT PRIMARY KEY, v INT NOT NULL)")
	var vals []string
	for i := 1; i <= 200; i++ {
		vals = append(vals, fmt.Sprintf("(%d, %d)", i, i))
	}
	mustExec(t, db, "INSERT INTO "+dbName+".t VALUES "+strings.Join(vals, ","))
	ts := newTestSource(t, srv, dbName)
	ts.cfg.SnapshotWorkers = 1
	if signal {
		ts.cfg.SignalDataCollection = dbName + ".sig"
	}
	state := map[string]string{}
	apply := func(recs []rec) {
		for _, r := range recs {
			if r.kind != capture.Change || r.tbl != "t" {
				continue
			}
			if r.ev.Op == capture.OpDelete {
				delete(state, "t/"+valText(r.ev.Before[0]))
			} else {
				state["t/"+valText(r.ev.After[0])] = rowText(r.ev.After)
			}
		}
	}

	// Run 1: published up to 50 rows of t (7 among them); the offset saved is that of the
	// last one, or the snapshot's position alone.
	s := ts.open(t)
	recs := ts.collect(t, s, 30*time.Second, func(recs []rec) bool { return countReads(recs) >= 50 })
	s.Close()
	apply(recs)
	if !acked {
		// As an older sluice wrote it: the snapshot's position without progress.
		p, err := ParsePosition(firstOffset(recs))
		if err != nil {
			t.Fatal(err)
		}
		p.SnapDB, p.SnapTable, p.SnapAfter = "", "", nil
		ts.off = p.AppendOffset(nil)
	}
	if noGTIDs {
		p, err := ParsePosition(ts.off)
		if err != nil {
			t.Fatal(err)
		}
		p.GTIDs = ""
		ts.off = p.AppendOffset(nil)
	}
	if _, ok := state["t/7"]; !ok {
		t.Fatalf("run 1 did not publish row 7")
	}
	if !strings.Contains(string(ts.off), `"snapshot":"INITIAL"`) {
		t.Fatalf("stored offset after run 1 is not in the snapshot: %s", ts.off)
	}
	mustExec(t, db, "DELETE FROM "+dbName+".t WHERE id = 7", "UPDATE "+dbName+".t SET v = -1 WHERE id = 8")

	// Run 2: to the end of the snapshot and a fence row.
	cfg := ts.cfg
	cfg.History = history.NewFile(ts.hist, nil)
	cfg.Offset = ts.off
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := New(ctx, cfg)
	if err != nil {
		if !noGTIDs || capture.Retryable(err) || !strings.Contains(err.Error(), "--signal-data-collection") ||
			!strings.Contains(err.Error(), "--snapshot-mode always") {
			t.Fatalf("reopen: %v", err)
		}
		t.Logf("reopen fails as it should: %v", err)
		return
	}
	defer s.Close()
	if noGTIDs {
		t.Fatal("reopen without a signal table or GTIDs resumed")
	}
	done := false
	recs = ts.collect(t, s, 60*time.Second, func(recs []rec) bool {
		n := len(recs)
		if n > 0 && recs[n-1].kind == capture.SnapshotDone && !done {
			done = true
			mustExec(t, db, "INSERT INTO "+dbName+".fence VALUES (1)")
		}
		return done && n > 0 && recs[n-1].tbl == "fence"
	})
	apply(recs)
	want := map[string]string{}
	rs, err := db.Query("SELECT * FROM " + dbName + ".t")
	if err != nil {
		t.Fatal(err)
	}
	readTable(t, rs, "t", want)
	if diffs := stateDiffs(want, state); len(diffs) > 0 {
		t.Fatalf("%d keys wrong after the snapshot was restarted, e.g. %s", len(diffs), strings.Join(diffs[:min(len(diffs), 10)], "; "))
	}
}

func countReads(recs []rec) int {
	n := 0
	for _, r := range recs {
		if r.op == capture.OpRead && r.tbl == "t" {
			n++
		}
	}
	return n
}

// firstOffset is the offset of the first event of recs that has a position.
func firstOffset(recs []rec) []byte {
	for _, r := range recs {
		if p := r.ev.Position; p != nil {
			return p.AppendOffset(nil)
		}
	}
	return nil
}

// TestSnapshotRestartNoData: an unfinished snapshot (row 7 published, then deleted while
// sluice was down) restarted in snapshot mode no_data, from an offset it could not resume
// (without progress, an older sluice's; or without GTIDs and a signal table). Before,
// no_data took the schema again at a later binlog position (a warning, "taking it again"),
// and the delete reached neither it nor the stream: row 7 stayed in the sink. Now no_data
// streams from the stored offset, as Debezium does with one, without reading the rows left:
// the delete and the update stream.
func TestSnapshotRestartNoData(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name+"/no-progress", func(t *testing.T) { snapshotRestartNoData(t, srv, false) })
		t.Run(srv.name+"/no-gtids", func(t *testing.T) { snapshotRestartNoData(t, srv, true) })
	}
}

func snapshotRestartNoData(t *testing.T, srv server, noGTIDs bool) {
	db, dbName := snapshotDB(t, srv, fmt.Sprintf("sl_snaprestart_nodata_%v", noGTIDs), false, "t (id INT PRIMARY KEY, v INT NOT NULL)")
	var vals []string
	for i := 1; i <= 200; i++ {
		vals = append(vals, fmt.Sprintf("(%d, %d)", i, i))
	}
	mustExec(t, db, "INSERT INTO "+dbName+".t VALUES "+strings.Join(vals, ","))
	ts := newTestSource(t, srv, dbName)
	ts.cfg.SnapshotWorkers = 1
	state := map[string]string{}
	apply := func(recs []rec) {
		for _, r := range recs {
			if r.kind != capture.Change || r.tbl != "t" {
				continue
			}
			if r.ev.Op == capture.OpDelete {
				delete(state, "t/"+valText(r.ev.Before[0]))
			} else {
				state["t/"+valText(r.ev.After[0])] = rowText(r.ev.After)
			}
		}
	}
	s := ts.open(t)
	apply(ts.collect(t, s, 30*time.Second, func(recs []rec) bool { return countReads(recs) >= 50 }))
	s.Close()
	if _, ok := state["t/7"]; !ok || !strings.Contains(string(ts.off), `"snapshot":"INITIAL"`) {
		t.Fatalf("run 1 did not publish row 7 inside the snapshot (offset %s)", ts.off)
	}
	p, err := ParsePosition(ts.off)
	if err != nil {
		t.Fatal(err)
	}
	if noGTIDs {
		p.GTIDs = ""
	} else {
		p.SnapDB, p.SnapTable, p.SnapAfter = "", "", nil
	}
	ts.off = p.AppendOffset(nil)
	mustExec(t, db, "DELETE FROM "+dbName+".t WHERE id = 7", "UPDATE "+dbName+".t SET v = -1 WHERE id = 8")

	ts.cfg.SnapshotMode = SnapshotNoData
	s = ts.open(t)
	defer s.Close()
	fenced := false
	recs := ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
		n := len(recs)
		if n > 0 && !fenced { // after the start position was read
			fenced = true
			mustExec(t, db, "INSERT INTO "+dbName+".fence VALUES (1)")
		}
		return n > 0 && recs[n-1].tbl == "fence"
	})
	apply(recs)
	if n := countReads(recs); n > 0 {
		t.Errorf("snapshot mode no_data read %d rows", n)
	}
	if v, ok := state["t/7"]; ok {
		t.Errorf("row 7, deleted while sluice was down, is still in the sink: %s", v)
	}
	if !strings.Contains(state["t/8"], "-1") {
		t.Errorf("row 8 in the sink: %s, want v -1", state["t/8"])
	}
}
