//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestSnapshotKilledBeforeFirstSave: sluice is killed (SIGKILL) after its snapshot's first
// rows reached the sink and before the pipeline saved any offset (the flush intervals are an
// hour, so the pipeline never saves in run 1: the window a kill finds at the default 50 ms).
// A published row is deleted and another updated while it is down. Before, MySQL stored no
// offset until the pipeline's first save, so run 2 took a new snapshot at a later binlog
// position: the delete reached neither it nor the stream, and the deleted row stayed in the
// sink for good. Now the snapshot's start is stored before its first row leaves, run 2
// resumes from it, and every key ends as the table has it. PostgreSQL stores the slot's
// consistent point when it creates the slot (the same guarantee, checked here too).
func TestSnapshotKilledBeforeFirstSave(t *testing.T) {
	bin := buildSluice(t)
	for name, dsn := range mysqlServers(t) {
		t.Run(name, func(t *testing.T) { snapshotKillMySQL(t, bin, dsn) })
	}
	for name, dsn := range pgServers(t) {
		t.Run(name, func(t *testing.T) { snapshotKillPostgres(t, bin, dsn) })
	}
}

const snapKillRows = 20000

func snapshotKillMySQL(t *testing.T, bin, dsn string) {
	adm, err := sql.Open("mysql", dsn+"?multiStatements=true")
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	db := fmt.Sprintf("sl_snapkill_%d", os.Getpid())
	exec := func(qs ...string) {
		t.Helper()
		for _, q := range qs {
			if _, err := adm.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	exec("DROP DATABASE IF EXISTS "+db, "CREATE DATABASE "+db,
		"CREATE TABLE "+db+".t (id INT PRIMARY KEY, v INT NOT NULL)", "CREATE TABLE "+db+".fence (id INT PRIMARY KEY)")
	t.Cleanup(func() { // its own connection: adm closes before the cleanups run
		if adm, err := sql.Open("mysql", dsn); err == nil {
			adm.Exec("DROP DATABASE IF EXISTS " + db)
			adm.Close()
		}
	})
	for lo := 1; lo <= snapKillRows; lo += 5000 {
		var vals []string
		for i := lo; i < lo+5000; i++ {
			vals = append(vals, fmt.Sprintf("(%d, %d)", i, i))
		}
		exec("INSERT INTO " + db + ".t VALUES " + strings.Join(vals, ","))
	}
	serverID := fmt.Sprint(5_000_000 + os.Getpid()%100_000)
	args := []string{"mysql", "--dsn", dsn, "--server-id", serverID, "--database-include", db}
	snapshotKill(t, bin, args, func(q string) { exec(strings.ReplaceAll(q, "$db.", db+".")) })
}

func snapshotKillPostgres(t *testing.T, bin, dsn string) {
	ctx := context.Background()
	db := fmt.Sprintf("sl_snapkill_%d", os.Getpid())
	dbDSN, conn := testkit.FreshPGDatabase(t, dsn, db)
	exec := func(q string) {
		t.Helper()
		if _, err := conn.Exec(ctx, strings.ReplaceAll(q, "$db.", "")); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)")
	exec("CREATE TABLE fence (id int PRIMARY KEY)")
	exec(fmt.Sprintf("INSERT INTO t SELECT g, g FROM generate_series(1, %d) g", snapKillRows))
	args := []string{"postgres", "--dsn", dbDSN, "--slot", db}
	snapshotKill(t, bin, args, exec)
}

// snapKillRecord is a stdout record of table t or fence, as far as the test reads it.
type snapKillRecord struct {
	Topic string `json:"topic"`
	Value *struct {
		Op     string         `json:"op"`
		Before map[string]any `json:"before"`
		After  map[string]any `json:"after"`
	} `json:"value"`
}

// snapshotKill runs args (sluice mysql or postgres on a database with tables t and fence) twice,
// killing the first run after some snapshot rows of t reached stdout; exec runs a statement
// on the source ($db. names the database).
func snapshotKill(t *testing.T, bin string, args []string, execSQL func(string)) {
	dir := t.TempDir()
	offsets := filepath.Join(dir, "offsets.json")
	run := func(out string, flush string) *exec.Cmd {
		a := append(append([]string(nil), args...), "--topic-prefix", "srv", "--schemas-enable=false", "--offsets-file", offsets,
			"--offsets-flush-interval", flush, "--snapshot-offsets-flush-interval", flush, "--log-format", "text")
		cmd := exec.Command(bin, a...)
		f, err := os.Create(out)
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdout = f
		logf, _ := os.Create(out + ".log")
		cmd.Stderr = logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	read := func(path string) []snapKillRecord {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var out []snapKillRecord
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			var r snapKillRecord
			if json.Unmarshal(sc.Bytes(), &r) != nil {
				break // a line cut by SIGKILL
			}
			if r.Value != nil && r.Value.Op != "" {
				out = append(out, r)
			}
		}
		return out
	}
	fail := func(out, format string, a ...any) {
		t.Helper()
		log, _ := os.ReadFile(out + ".log")
		t.Fatalf(format+"\n%s", append(a, log)...)
	}

	// Run 1: killed once the first snapshot rows are on stdout. The pipeline never saves.
	out1 := filepath.Join(dir, "run1.jsonl")
	cmd := run(out1, "1h")
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(2 * time.Millisecond) {
		if fi, err := os.Stat(out1); err == nil && fi.Size() > 2000 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			fail(out1, "run 1 published nothing")
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	recs := read(out1)
	state := map[string]string{}
	apply := func(recs []snapKillRecord) {
		for _, r := range recs {
			if !strings.HasSuffix(r.Topic, ".t") {
				continue
			}
			switch r.Value.Op {
			case "d":
				delete(state, fmt.Sprint(r.Value.Before["id"]))
			default:
				state[fmt.Sprint(r.Value.After["id"])] = fmt.Sprint(r.Value.After["v"])
			}
		}
	}
	apply(recs)
	stored, _ := os.ReadFile(offsets)
	t.Logf("run 1 killed after %d records of t; stored offset: %s", len(state), stored)
	if _, ok := state["1"]; !ok {
		fail(out1, "run 1 did not publish row 1 (%d rows)", len(state))
	}
	if !bytes.Contains(stored, []byte(`"snapshot":"INITIAL"`)) || !bytes.Contains(stored, []byte(`"captured_filters"`)) {
		t.Errorf("no offset of the running snapshot (with its captured_filters) was stored before its rows left: %q", stored)
	}
	if len(state) >= snapKillRows {
		t.Logf("note: run 1 published the whole snapshot before the kill")
	}
	// While it is down: a published row deleted, another updated.
	execSQL("DELETE FROM $db.t WHERE id = 1")
	execSQL("UPDATE $db.t SET v = -2 WHERE id = 2")

	// Run 2: to the end of the snapshot (its completion saved), then a fence row.
	out2 := filepath.Join(dir, "run2.jsonl")
	cmd = run(out2, "50ms")
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(offsets)
		if len(b) > 0 && (!bytes.Contains(b, []byte(`"snapshot":"INITIAL"`)) || bytes.Contains(b, []byte(`"snapshot_completed":true`))) {
			break
		}
		if cmd.ProcessState != nil || time.Now().After(deadline) {
			fail(out2, "run 2 did not complete the snapshot; offset %s", b)
		}
	}
	execSQL("INSERT INTO $db.fence VALUES (1)")
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		recs = read(out2)
		if n := len(recs); n > 0 && strings.HasSuffix(recs[n-1].Topic, ".fence") {
			break
		}
		if time.Now().After(deadline) {
			fail(out2, "run 2: no fence record")
		}
	}
	apply(recs)
	if v, ok := state["1"]; ok {
		fail(out2, "row 1, deleted while sluice was down, is still in the sink (v %s): run 2 took a new snapshot instead of resuming the first", v)
	}
	if state["2"] != "-2" {
		fail(out2, "row 2: v %q in the sink, want -2", state["2"])
	}
	if len(state) != snapKillRows-1 {
		fail(out2, "%d rows in the sink, want %d", len(state), snapKillRows-1)
	}
	if log, _ := os.ReadFile(out2 + ".log"); !bytes.Contains(log, []byte("resuming the unfinished snapshot")) {
		t.Errorf("run 2 did not resume the snapshot:\n%s", log)
	}
}
