//go:build integration

package mysql

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestMySQLIncrementalPauseSurvivesRestart pauses an incremental snapshot by signal, stops
// the source (its events delivered) and starts it again from the stored offset: the snapshot
// must stay paused (no chunk read while the stream goes on), and go on to its end after a
// resume-snapshot signal, every row read.
func TestMySQLIncrementalPauseSurvivesRestart(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) { incrementalPauseRestart(t, srv) })
	}
}

func incrementalPauseRestart(t *testing.T, srv server) {
	const rows = 2000
	db, dbName := snapshotDB(t, srv, "sl_incrpause", false, "t (id INT PRIMARY KEY, v INT NOT NULL)")
	vals := zeroRows(rows)
	mustExec(t, db, "INSERT INTO "+dbName+".t VALUES "+strings.Join(vals, ","))
	ts := newTestSource(t, srv, dbName)
	ts.cfg.SnapshotMode = SnapshotNoData
	ts.cfg.SnapshotChunkRows = 100
	ts.cfg.SignalDataCollection = dbName + ".sig"

	read := map[int64]bool{}
	note := func(recs []rec) {
		for _, r := range recs {
			if r.kind == capture.Change && r.op == capture.OpRead && r.tbl == "t" {
				read[r.ev.After[0].Int] = true
			}
		}
	}
	fenceSeen := func(id int) func([]rec) bool {
		want := fmt.Sprintf("-(%d)", id)
		return func(recs []rec) bool {
			n := len(recs)
			return n > 0 && recs[n-1].tbl == "fence" && recs[n-1].text == want
		}
	}

	s := ts.open(t)
	ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
		return len(recs) > 0 && recs[len(recs)-1].kind == capture.SnapshotDone
	})
	mustExec(t, db, `INSERT INTO `+dbName+`.sig VALUES ('snap-1', 'execute-snapshot', '{"data-collections": ["`+dbName+`.t"]}')`)
	note(ts.collect(t, s, 30*time.Second, readsAtLeast(300)))
	mustExec(t, db, "INSERT INTO "+dbName+".sig VALUES ('pause-1', 'pause-snapshot', NULL)")
	// The chunk in flight at the pause still goes out; the fence comes after it.
	note(ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
		n := len(recs)
		return n > 0 && recs[n-1].tbl == "sig"
	}))
	mustExec(t, db, "INSERT INTO "+dbName+".fence VALUES (1)")
	note(ts.collect(t, s, 30*time.Second, fenceSeen(1)))
	s.Close()
	if len(read) >= rows {
		t.Fatalf("the snapshot ended before the pause (%d rows read); the test needs more rows", len(read))
	}
	if !strings.Contains(string(ts.off), `"incremental_snapshot_paused":true`) {
		t.Errorf("stored offset after the pause does not say paused: %s", ts.off)
	}

	// Restart: still paused. An unpaused snapshot reads a chunk at once and its watermarks
	// reach the binlog long before the fence inserted 1.5 s later.
	s = ts.open(t)
	defer s.Close()
	if !s.cfg.Stats.Snapshot.Paused.Load() {
		t.Error("after the restart the snapshot progress does not say paused")
	}
	go func() {
		time.Sleep(1500 * time.Millisecond)
		db.Exec("INSERT INTO " + dbName + ".fence VALUES (2)")
	}()
	before := len(read)
	recs := ts.collect(t, s, 30*time.Second, fenceSeen(2))
	note(recs)
	if len(read) != before {
		t.Fatalf("after the restart the paused snapshot read %d more rows before any resume-snapshot signal", len(read)-before)
	}

	// Resume: the snapshot goes on to its end.
	mustExec(t, db, "INSERT INTO "+dbName+".sig VALUES ('resume-1', 'resume-snapshot', NULL)")
	note(ts.collect(t, s, 60*time.Second, func(recs []rec) bool {
		return s.resumed == nil && s.cfg.Stats.Snapshot.Completed.Load()
	}))
	if len(read) != rows {
		t.Fatalf("%d of %d rows read by the incremental snapshot", len(read), rows)
	}
}

// TestMySQLSignalQueuedDuringResumedSnapshotSurvivesRestart: an execute-snapshot signal read
// while the rest of an interrupted initial snapshot runs waits for it to end. The source
// stops (its events delivered, the stored offset past the signal's row) before it does: after
// the restart the queued incremental snapshot must still run.
func TestMySQLSignalQueuedDuringResumedSnapshotSurvivesRestart(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) { queuedSignalRestart(t, srv) })
	}
}

func queuedSignalRestart(t *testing.T, srv server) {
	const rows = 3000
	db, dbName := snapshotDB(t, srv, "sl_sigqueue", false,
		"t (id INT PRIMARY KEY, v INT NOT NULL)", "u (id INT PRIMARY KEY, v INT NOT NULL)")
	vals := zeroRows(rows)
	mustExec(t, db, "INSERT INTO "+dbName+".t VALUES "+strings.Join(vals, ","),
		"INSERT INTO "+dbName+".u VALUES "+strings.Join(vals[:50], ","))
	ts := newTestSource(t, srv, dbName)
	ts.cfg.SnapshotChunkRows = 100
	ts.cfg.SnapshotWorkers = 1
	ts.cfg.SignalDataCollection = dbName + ".sig"

	// Run 1: the initial snapshot, stopped in t.
	s := ts.open(t)
	ts.collect(t, s, 60*time.Second, readsAtLeast(700))
	s.Close()
	if !strings.Contains(string(ts.off), `"snapshot_table":"t"`) {
		t.Fatalf("stored offset after run 1 has no progress in t: %s", ts.off)
	}

	// Run 2: the rest of the snapshot in watermark windows. The signal is in the binlog right
	// after the stored offset, so the stream reads it while the rest runs: queued. The source
	// stops at the commit of the signal's transaction.
	mustExec(t, db, `INSERT INTO `+dbName+`.sig VALUES ('snap-u', 'execute-snapshot', '{"data-collections": ["`+dbName+`.u"], "type": "incremental"}')`)
	s = ts.open(t)
	sawSig := false
	ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
		n := len(recs)
		if n > 0 && recs[n-1].tbl == "sig" && recs[n-1].op == capture.OpCreate {
			sawSig = true
		}
		return sawSig && recs[n-1].kind == capture.Commit
	})
	if s.resumed == nil || s.resumed.incr || len(s.incrWait) == 0 {
		t.Fatalf("the signal was not queued behind the rest of the initial snapshot (resumed %v, queued %v)", s.resumed != nil, s.incrWait)
	}
	s.Close()
	if !strings.Contains(string(ts.off), `"snapshot":"INITIAL"`) {
		t.Fatalf("stored offset after run 2 is not in the snapshot: %s", ts.off)
	}

	// Run 3: the rest of the initial snapshot, then the queued incremental snapshot of u.
	s = ts.open(t)
	defer s.Close()
	incr := map[int64]bool{}
	note := func(recs []rec) {
		for _, r := range recs {
			if r.op == capture.OpRead && r.tbl == "u" && r.ev.Source.Snapshot == capture.SnapshotIncremental {
				incr[r.ev.After[0].Int] = true
			}
		}
	}
	note(ts.collect(t, s, 60*time.Second, func(recs []rec) bool {
		n := len(recs)
		return n > 0 && recs[n-1].kind == capture.SnapshotDone
	}))
	mustExec(t, db, "INSERT INTO "+dbName+".fence VALUES (1)")
	note(ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
		n := len(recs)
		return n > 0 && recs[n-1].tbl == "fence"
	}))
	if len(incr) == 0 && (s.resumed == nil || !s.resumed.incr) {
		t.Fatalf("the incremental snapshot signalled while the resumed snapshot ran was lost by the restart (stored offset %s)", ts.off)
	}
	note(ts.collect(t, s, 60*time.Second, func(recs []rec) bool {
		note(recs[len(recs)-min(len(recs), 1):])
		return len(incr) == 50
	}))
}

// TestKillNineQueuedSignal runs the real `sluice mysql` binary: killed with SIGKILL in the
// middle of the initial snapshot, started again (the rest is read in watermark windows) with
// an execute-snapshot signal waiting in the signal table, killed again once the signal's row
// was written out and the offsets saved after it, and started a third time: the incremental
// snapshot the signal asked for must run.
func TestKillNineQueuedSignal(t *testing.T) {
	bin := sluiceBin(t) // built once per test binary
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) { killNineQueuedSignal(t, srv, bin) })
	}
}

func killNineQueuedSignal(t *testing.T, srv server, bin string) {
	const rows = 60000
	db, dbName := snapshotDB(t, srv, "sl_killsig", false,
		"t (id INT PRIMARY KEY, v INT NOT NULL)", "u (id INT PRIMARY KEY, v INT NOT NULL)")
	mustExec(t, db, "INSERT INTO "+dbName+".u VALUES (1, 0)")
	for i := 1; i <= rows; i += 10000 {
		var vals []string
		for j := i; j < i+10000; j++ {
			vals = append(vals, fmt.Sprintf("(%d, 0)", j))
		}
		mustExec(t, db, "INSERT INTO "+dbName+".t VALUES "+strings.Join(vals, ","))
	}
	dir := testkit.PrivateDir(t, "sluice-killsig-")
	offsets := filepath.Join(dir, "offsets.json")
	addr := strings.TrimSuffix(strings.TrimPrefix(srv.dsn, "root@tcp("), ")/")
	sid := fmt.Sprint(serverIDs.Add(1))
	var cur string // the running process's output file
	start := func(i int) (*exec.Cmd, string) {
		out := filepath.Join(dir, fmt.Sprintf("out%d.jsonl", i))
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd := exec.Command(bin, "mysql", "--dsn", "mysql://root@"+addr, "--server-id", sid, "--topic-prefix", "dbserver1",
			"--database-include", dbName, "--offsets-file", offsets, "--offsets-flush-interval", "10ms",
			"--schema-history", "file:"+filepath.Join(dir, "history.jsonl"), "--signal-data-collection", dbName+".sig",
			"--snapshot-max-threads", "1", "--snapshot-chunk-rows", "100", "--schemas-enable=false", "--log-format", "text", "--log-level", "info")
		cmd.Stdout = f
		cmd.Stderr, _ = os.Create(out + ".err")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		cur = out
		return cmd, out
	}
	kill := func(cmd *exec.Cmd) {
		cmd.Process.Signal(syscall.SIGKILL) // only the process this test started
		cmd.Wait()
	}
	read := func(name string) string { b, _ := os.ReadFile(name); return string(b) }
	waitFor := func(what string, d time.Duration, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(d); !ok(); time.Sleep(2 * time.Millisecond) {
			if time.Now().After(deadline) {
				log := read(cur + ".err")
				t.Fatalf("no %s after %s (outputs in %s); offsets %s; log ends %s", what, d, dir, read(offsets), log[max(0, len(log)-1500):])
			}
		}
	}

	// Run 1: killed once the offsets record snapshot progress in t.
	cmd, _ := start(1)
	waitFor("snapshot progress in t", 60*time.Second, func() bool { return strings.Contains(read(offsets), `"snapshot_table":"t"`) })
	kill(cmd)

	// Run 2: the rest in windows; the signal is in the binlog just after the stored offset.
	mustExec(t, db, `INSERT INTO `+dbName+`.sig VALUES ('snap-u', 'execute-snapshot', '{"data-collections": ["`+dbName+`.u"]}')`)
	cmd, out := start(2)
	waitFor("signal row in the output", 60*time.Second, func() bool { return strings.Contains(read(out), `"id":"snap-u"`) })
	saved := read(offsets)
	waitFor("offsets saved after the signal row", 10*time.Second, func() bool { o := read(offsets); return o != saved && o != "" })
	time.Sleep(50 * time.Millisecond)
	kill(cmd)
	if off := read(offsets); !strings.Contains(off, `"snapshot":"INITIAL"`) {
		t.Fatalf("the initial snapshot ended before the kill; the test needs more rows: %s", off)
	}

	// Run 3: the rest of the initial snapshot, then the incremental snapshot of u.
	cmd, out = start(3)
	defer kill(cmd)
	waitFor("incremental snapshot read of u (the signal was lost by the kill)", 90*time.Second, func() bool {
		for _, line := range strings.Split(read(out), "\n") {
			if strings.Contains(line, `"snapshot":"incremental"`) && strings.Contains(line, `"table":"u"`) {
				return true
			}
		}
		return false
	})
}
