//go:build integration

package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"github.com/sluicecdc/sluice/internal/testkit"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMySQLTaggedGTIDFailover (MySQL 8.4+): sluice reads part of the changes from a primary
// whose GTID set has tagged GTIDs, stopping inside a transaction, then continues from the same
// offset against a replica of it. The replica's binlog coordinates differ from the primary's
// (it rotated its binlog before replicating), so only the GTID set finds the place: the changes
// from both servers must be the primary's changes exactly once, in order. Both servers are
// private; the replica is a copy of the primary's fresh data directory (initialising a second
// MySQL takes ten seconds, copying one under one).
func TestMySQLTaggedGTIDFailover(t *testing.T) {
	primary := newPrivateServer(t, "mysql")
	replica := clonePrivateServer(t, primary, "--server-id=2")
	pdb, rdb := primary.db(), replica.db()
	// Rotations on the replica only: its binlog file names and positions no longer match the
	// primary's, as on any replica that did not start at the primary's first binlog.
	mustExec(t, rdb, "FLUSH BINARY LOGS", "FLUSH BINARY LOGS",
		fmt.Sprintf("CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=%d, SOURCE_USER='root', "+
			"SOURCE_PASSWORD='', SOURCE_AUTO_POSITION=1, GET_SOURCE_PUBLIC_KEY=1", primary.port),
		"START REPLICA")
	mustExec(t, pdb, "CREATE DATABASE "+dbTfo, "CREATE TABLE "+dbTfo+".t (id INT PRIMARY KEY, v INT)")
	ts := newTestSource(t, server{"mysql", primary.dsn}, dbTfo)
	s := ts.open(t)
	ts.collect(t, s, 30*time.Second, untilSnapshotDone)
	s.Close()
	start := ts.off

	// Ten transactions, every other one with a tagged GTID (one session: gtid_next is per session).
	ctx := context.Background()
	conn, err := pdb.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for i := 0; i < 10; i++ {
		next := "AUTOMATIC"
		if i%2 == 0 {
			next = "AUTOMATIC:sluice_fo"
		}
		var vals []string
		for j := 0; j < 10; j++ {
			vals = append(vals, fmt.Sprintf("(%d,%d)", i*10+j, i))
		}
		for _, q := range []string{"SET gtid_next='" + next + "'", "BEGIN", "INSERT INTO " + dbTfo + ".t VALUES " + strings.Join(vals, ","),
			fmt.Sprintf("UPDATE "+dbTfo+".t SET v=v+100 WHERE id >= %d", i*10+5), "COMMIT"} {
			if _, err := conn.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		total += 15
	}
	conn.Close()

	// The reference: every change, from the primary.
	ts.off = start
	s = ts.open(t)
	ref := changes(ts.collect(t, s, 30*time.Second, func(r []rec) bool { return len(changes(r)) == total }))
	s.Close()
	// 37 changes from the primary: inside the third transaction (tagged), after one tagged and
	// one untagged transaction, so the offset's GTID set holds a tag.
	ts.off = start
	s = ts.open(t)
	got := changes(ts.collect(t, s, 30*time.Second, func(r []rec) bool { return len(changes(r)) == 37 }))
	s.Close()
	if !strings.Contains(string(ts.off), ":sluice_fo:") {
		t.Fatalf("offset %s lacks the tagged GTID", ts.off)
	}
	t.Logf("offset after 37 changes on the primary: %s", ts.off)

	waitReplicaCaughtUp(t, pdb, rdb)
	ts.cfg.DSN = replica.dsn
	var logs lockedLog
	ts.cfg.Logger = logs.logger()
	s = ts.open(t)
	defer s.Close()
	rest := changes(ts.collect(t, s, 30*time.Second, func(r []rec) bool { return len(changes(r)) >= total-37 }))
	if len(rest) != total-37 {
		t.Fatalf("%d changes from the replica, want %d", len(rest), total-37)
	}
	got = append(got, rest...)
	for i := range ref {
		if ref[i].op != got[i].op || ref[i].text != got[i].text || ref[i].ev.Source.GTID != got[i].ev.Source.GTID {
			t.Fatalf("change %d: primary %c %s (gtid %s), after failover %c %s (gtid %s)", i, ref[i].op, ref[i].text,
				ref[i].ev.Source.GTID, got[i].op, got[i].text, got[i].ev.Source.GTID)
		}
	}
	if l := logs.String(); !strings.Contains(l, `start="gtid set`) {
		t.Fatalf("the replica was not read by GTID set:\n%s", l)
	}
	t.Logf("%d changes identical across the failover; first on the replica: gtid %s file %s pos %d",
		total, rest[0].ev.Source.GTID, rest[0].ev.Source.File, rest[0].ev.Source.Pos)
}

// waitReplicaCaughtUp waits until the replica has applied every transaction of the primary.
func waitReplicaCaughtUp(t *testing.T, pdb, rdb *sql.DB) {
	t.Helper()
	var want string
	if err := pdb.QueryRow("SELECT @@global.gtid_executed").Scan(&want); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var ok sql.NullBool
		if err := rdb.QueryRow("SELECT GTID_SUBSET(?, @@global.gtid_executed)", want).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		if ok.Bool {
			return
		}
		if time.Now().After(deadline) {
			var st string
			rows, err := rdb.Query("SHOW REPLICA STATUS")
			if err == nil {
				cols, _ := rows.Columns()
				for rows.Next() {
					vals := make([]sql.NullString, len(cols))
					ptrs := make([]any, len(cols))
					for i := range vals {
						ptrs[i] = &vals[i]
					}
					rows.Scan(ptrs...)
					for i, c := range cols {
						if strings.Contains(c, "Error") || strings.Contains(c, "Running") {
							st += fmt.Sprintf(" %s=%s", c, vals[i].String)
						}
					}
				}
				rows.Close()
			}
			t.Fatalf("the replica did not apply %s within 30 s:%s", want, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// clonePrivateServer starts a second private server on a copy of ps's data directory, taken
// while ps is shut down cleanly, with ps's binlogs and server UUID (auto.cnf) removed so the
// clone is a server of its own. ps runs again when it returns.
func clonePrivateServer(t *testing.T, ps *privateServer, extra ...string) *privateServer {
	t.Helper()
	ps.stop()
	dir := testkit.PrivateDir(t, "sluice-private-"+ps.flavor+"-", "run/error.log")
	c := &privateServer{t: t, flavor: ps.flavor, dir: dir, port: freePort(t), extra: extra}
	c.dsn = fmt.Sprintf("root@tcp(127.0.0.1:%d)/", c.port)
	t.Cleanup(c.kill) // before PrivateDir's cleanup, which removes dir
	// The server runs as the mysql user: it needs the directories as newPrivateServer makes
	// them, and cp -a keeps the data's ownership (tests run as root, as newPrivateServer needs).
	fi, err := os.Stat(ps.dir)
	if err != nil {
		t.Fatal(err)
	}
	uid, gid := int(fi.Sys().(*syscall.Stat_t).Uid), int(fi.Sys().(*syscall.Stat_t).Gid)
	run := filepath.Join(dir, "run")
	os.MkdirAll(run, 0o755)
	for _, d := range []string{dir, run} {
		if err := os.Chown(d, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := exec.Command("cp", "-a", filepath.Join(ps.dir, "data"), data).CombinedOutput(); err != nil {
		t.Fatalf("copy the data directory: %v\n%s", err, out)
	}
	binlogs, _ := filepath.Glob(filepath.Join(data, "binlog.*"))
	for _, f := range append(binlogs, filepath.Join(data, "auto.cnf")) {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	ps.start()
	c.start()
	return c
}
