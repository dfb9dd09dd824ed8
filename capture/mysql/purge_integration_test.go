//go:build integration

package mysql

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestPurgedBinlog (on the replica of scripts/mariadb-replica.sh, whose binlogs nobody else
// reads): an offset whose binlog was purged stops the source with ErrPurged, or takes a new
// snapshot with when_needed.
func TestPurgedBinlog(t *testing.T) {
	primary, replica := testkit.Server(t, "SLUICE_TEST_MARIADB_DSN"), testkit.Server(t, "SLUICE_TEST_MARIADB_REPLICA_DSN")
	pdb, rdb := openDB(t, primary), openDB(t, replica)
	ensureReplicating(t, pdb, rdb)
	freshDB(t, pdb, dbPurge)
	mustExec(t, pdb, "CREATE TABLE "+dbPurge+".t (id INT PRIMARY KEY)", "INSERT INTO "+dbPurge+".t VALUES (1)")
	waitRows := func(n int) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			var c int
			rdb.QueryRow("SELECT COUNT(*) FROM " + dbPurge + ".t").Scan(&c)
			if c == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("replica has %d rows, want %d", c, n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitRows(1)
	ts := newTestSource(t, server{"mariadb", replica}, dbPurge)
	s := ts.open(t)
	ts.collect(t, s, 30*time.Second, untilSnapshotDone)
	s.Close()
	mustExec(t, pdb, "INSERT INTO "+dbPurge+".t VALUES (2)", "INSERT INTO "+dbPurge+".t VALUES (3)")
	waitRows(3)
	var last string
	mustExec(t, rdb, "FLUSH BINARY LOGS")
	rows, err := rdb.Query("SHOW BINARY LOGS")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		var size any
		rows.Scan(&n, &size)
		last = n
	}
	rows.Close()
	// a binlog a dump thread still reads is kept: retry until only the newest is left
	for i := 0; ; i++ {
		mustExec(t, rdb, "PURGE BINARY LOGS TO '"+last+"'")
		var n int
		rows, err := rdb.Query("SHOW BINARY LOGS")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			n++
		}
		rows.Close()
		if n == 1 {
			break
		}
		if i == 50 {
			t.Fatalf("%d binlogs left after PURGE", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	s = ts.open(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for err == nil {
		var ev capture.Event
		ev, err = s.Next(ctx)
		if err == nil && ev.Kind == capture.Change {
			t.Fatalf("a change after the purge: %+v", ev.Source)
		}
	}
	s.Close()
	if !errors.Is(err, ErrPurged) {
		t.Fatalf("want ErrPurged, got %v", err)
	}
	t.Logf("error: %v", err)
	ts.cfg.SnapshotMode = SnapshotWhenNeeded
	s = ts.open(t)
	defer s.Close()
	recs := ts.collect(t, s, 30*time.Second, untilSnapshotDone)
	ch := changes(recs)
	if len(ch) != 3 || ch[0].op != capture.OpRead || ch[2].text != "-(3)" {
		t.Fatalf("re-snapshot: %d changes %v", len(ch), ch)
	}
}
