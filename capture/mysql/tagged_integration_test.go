//go:build integration

package mysql

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestTaggedGTID (MySQL 8.4+): a transaction with a tagged GTID gets source.gtid
// "uuid:tag:n", joins the offset's GTID set with its tag, and a restart after it resumes there
// by that GTID set (COM_BINLOG_DUMP_GTID in the tagged format), not by binlog file and position.
func TestTaggedGTID(t *testing.T) {
	for _, srv := range servers(t) {
		if srv.name != "mysql" {
			continue
		}
		t.Run(srv.name, func(t *testing.T) {
			db := openDB(t, srv.dsn)
			freshDB(t, db, "sl_tag")
			mustExec(t, db, "CREATE TABLE sl_tag.t (id INT PRIMARY KEY)")
			ts := newTestSource(t, srv, "sl_tag")
			s := ts.open(t)
			ts.collect(t, s, 30*time.Second, untilSnapshotDone)
			conn, err := db.Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{"SET gtid_next='AUTOMATIC:sluice_it'", "INSERT INTO sl_tag.t VALUES (1)", "SET gtid_next='AUTOMATIC'"} {
				if _, err := conn.ExecContext(context.Background(), q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			conn.Close()
			ch := changes(ts.collect(t, s, 20*time.Second, func(r []rec) bool { return len(changes(r)) == 1 && r[len(r)-1].ev.Position != nil && len(r) > 2 }))
			if g := ch[0].ev.Source.GTID; !strings.Contains(g, ":sluice_it:") {
				t.Fatalf("gtid %q", g)
			}
			if !strings.Contains(string(ts.off), ":sluice_it:") {
				t.Fatalf("offset %s lacks the tagged GTID", ts.off)
			}
			s.Close()
			mustExec(t, db, "INSERT INTO sl_tag.t VALUES (2)")
			var logs lockedLog
			ts.cfg.Logger = logs.logger()
			s = ts.open(t)
			defer s.Close()
			ch = changes(ts.collect(t, s, 20*time.Second, func(r []rec) bool { return len(changes(r)) == 1 }))
			if ch[0].text != "-(2)" {
				t.Fatalf("after restart %s", ch[0].text)
			}
			// File/pos names one server's binlog: after a failover it would skip or repeat changes.
			if l := logs.String(); !strings.Contains(l, `start="gtid set`) {
				t.Fatalf("the restart did not resume by GTID set:\n%s", l)
			}
		})
	}
}
