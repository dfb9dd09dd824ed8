//go:build integration

package mysql

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestGTIDFailover reads part of the changes from the primary, stopping inside a transaction,
// then continues from the same offset against a replica that shares the primary's GTIDs
// (scripts/mariadb-replica.sh, SLUICE_TEST_MARIADB_REPLICA_DSN): the changes from both must be
// the primary's changes exactly once, in order.
// ensureReplicating restarts the replica's SQL thread at the primary's current GTID position
// when it stopped (other tests' tables created before the replica existed break it).
func ensureReplicating(t *testing.T, pdb, rdb *sql.DB) {
	t.Helper()
	var running string
	rows, err := rdb.Query("SHOW SLAVE STATUS")
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	if rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		rows.Scan(ptrs...)
		for i, c := range cols {
			if c == "Slave_SQL_Running" {
				running = vals[i].String
			}
		}
	}
	rows.Close()
	if running == "Yes" {
		return
	}
	var pos string
	if err := pdb.QueryRow("SELECT @@gtid_binlog_pos").Scan(&pos); err != nil {
		t.Fatal(err)
	}
	mustExec(t, rdb, "STOP SLAVE", "SET GLOBAL gtid_slave_pos='"+pos+"'", "START SLAVE")
	t.Logf("replica restarted at %s", pos)
}

func TestGTIDFailover(t *testing.T) {
	// The replica comes from scripts/mariadb-replica.sh.
	primary, replica := testkit.Server(t, "SLUICE_TEST_MARIADB_DSN"), testkit.Server(t, "SLUICE_TEST_MARIADB_REPLICA_DSN")
	pdb, rdb := openDB(t, primary), openDB(t, replica)
	ensureReplicating(t, pdb, rdb)
	freshDB(t, pdb, dbFo)
	mustExec(t, pdb, "CREATE TABLE "+dbFo+".t (id INT PRIMARY KEY, v INT)")
	ts := newTestSource(t, server{"mariadb", primary}, dbFo)
	s := ts.open(t)
	ts.collect(t, s, 30*time.Second, untilSnapshotDone)
	s.Close()
	start := ts.off
	total := 0
	for i := 0; i < 10; i++ {
		var vals []string
		for j := 0; j < 10; j++ {
			vals = append(vals, fmt.Sprintf("(%d,%d)", i*10+j, i))
		}
		mustExec(t, pdb, "BEGIN", "INSERT INTO "+dbFo+".t VALUES "+strings.Join(vals, ","),
			fmt.Sprintf("UPDATE "+dbFo+".t SET v=v+100 WHERE id >= %d", i*10+5), "COMMIT")
		total += 15
	}
	// reference from the primary
	ts.off = start
	s = ts.open(t)
	ref := changes(ts.collect(t, s, 30*time.Second, func(r []rec) bool { return len(changes(r)) == total }))
	s.Close()
	// 37 changes from the primary: stops inside the third transaction
	ts.off = start
	s = ts.open(t)
	got := changes(ts.collect(t, s, 30*time.Second, func(r []rec) bool { return len(changes(r)) == 37 }))
	s.Close()
	t.Logf("offset after 37 changes on the primary: %s", ts.off)
	// wait for the replica
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		rdb.QueryRow("SELECT COUNT(*) FROM " + dbFo + ".t WHERE v >= 109").Scan(&n)
		if n == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("replica did not catch up")
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.cfg.DSN = replica
	s = ts.open(t)
	defer s.Close()
	rest := changes(ts.collect(t, s, 30*time.Second, func(r []rec) bool { return len(changes(r)) == total-37 }))
	got = append(got, rest...)
	for i := range ref {
		if ref[i].op != got[i].op || ref[i].text != got[i].text {
			t.Fatalf("change %d: primary %c %s, after failover %c %s", i, ref[i].op, ref[i].text, got[i].op, got[i].text)
		}
	}
	if rest[0].ev.Source.ServerID != 1 || !strings.HasPrefix(rest[0].ev.Source.GTID, "0-1-") {
		t.Fatalf("replica event source %+v", rest[0].ev.Source)
	}
	t.Logf("%d changes identical across the failover; first on the replica: gtid %s file %s pos %d", total, rest[0].ev.Source.GTID, rest[0].ev.Source.File, rest[0].ev.Source.Pos)
}
