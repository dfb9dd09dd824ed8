//go:build integration

package mysql

import (
	"fmt"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestSnapshotTables: several tables read by two readers come out table by table, in key
// order, with Debezium's markers.
func TestSnapshotTables(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			db := openDB(t, srv.dsn)
			freshDB(t, db, dbMulti)
			for _, tb := range []string{"a", "b", "c", "d"} {
				mustExec(t, db, "CREATE TABLE "+dbMulti+"."+tb+" (id INT PRIMARY KEY, v VARCHAR(5))")
			}
			for i := 1; i <= 30; i++ {
				mustExec(t, db, fmt.Sprintf("INSERT INTO "+dbMulti+".a VALUES (%d,'a')", i), fmt.Sprintf("INSERT INTO "+dbMulti+".b VALUES (%d,'b')", 31-i))
			}
			mustExec(t, db, "INSERT INTO "+dbMulti+".d VALUES (1,'d'),(2,'d')") // c stays empty
			ts := newTestSource(t, srv, dbMulti)
			ts.cfg.SnapshotWorkers = 2
			s := ts.open(t)
			defer s.Close()
			ch := changes(ts.collect(t, s, 30*time.Second, untilSnapshotDone))
			if len(ch) != 62 {
				t.Fatalf("%d rows", len(ch))
			}
			var got []string
			for i, c := range ch {
				if i > 0 && c.tbl == ch[i-1].tbl && c.ev.After[0].Int <= ch[i-1].ev.After[0].Int {
					t.Fatalf("row %d of %s out of key order", i, c.tbl)
				}
				if c.ev.Source.Snapshot != capture.SnapshotTrue {
					got = append(got, fmt.Sprintf("%d:%s:%s", i, c.tbl, c.ev.Source.Snapshot))
				}
			}
			want := "[0:a:first 29:a:last_in_data_collection 30:b:first_in_data_collection 59:b:last_in_data_collection 60:d:first_in_data_collection 61:d:last]"
			if fmt.Sprint(got) != want {
				t.Fatalf("markers %v\nwant    %s", got, want)
			}
		})
	}
}

func TestSnapshotThenStream(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			db := openDB(t, srv.dsn)
			freshDB(t, db, dbSnap)
			mustExec(t, db, "CREATE TABLE "+dbSnap+".t (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, amount DECIMAL(10,2), created DATETIME(3))")
			for i := 1; i <= 20; i++ {
				mustExec(t, db, fmt.Sprintf("INSERT INTO "+dbSnap+".t VALUES (%d, 'n%d', %d.25, '2024-01-15 10:30:00.123')", i, i, i))
			}
			ts := newTestSource(t, srv, dbSnap)
			s := ts.open(t)
			defer s.Close()
			recs := ts.collect(t, s, 30*time.Second, func(r []rec) bool { return len(r) > 0 && r[len(r)-1].kind == capture.SnapshotDone })
			ch := changes(recs)
			if len(ch) != 20 {
				t.Fatalf("snapshot rows %d", len(ch))
			}
			if ch[0].text != `-(1,"n1",125 e-2,13:1705314600123000/3/0)` {
				t.Fatalf("row 1 %s", ch[0].text)
			}
			if ch[0].ev.Source.Snapshot != capture.SnapshotFirst || ch[19].ev.Source.Snapshot != capture.SnapshotLast || ch[5].ev.Source.Snapshot != capture.SnapshotTrue {
				t.Fatalf("markers %v %v %v", ch[0].ev.Source.Snapshot, ch[19].ev.Source.Snapshot, ch[5].ev.Source.Snapshot)
			}
			mustExec(t, db, "INSERT INTO "+dbSnap+".t VALUES (21, 'x', NULL, NULL)", "UPDATE "+dbSnap+".t SET name='y' WHERE id=21", "DELETE FROM "+dbSnap+".t WHERE id=21")
			recs = ts.collect(t, s, 30*time.Second, func(r []rec) bool { return len(changes(r)) == 3 })
			ch = changes(recs)
			want := []string{`-(21,"x",NULL,NULL)`, `(21,"x",NULL,NULL)(21,"y",NULL,NULL)`, `(21,"y",NULL,NULL)-`}
			for i := range want {
				if ch[i].text != want[i] {
					t.Fatalf("stream %d: %s want %s", i, ch[i].text, want[i])
				}
			}
			src := ch[0].ev.Source
			t.Logf("source: %+v", src)
			if src.File == "" || src.Pos == 0 || src.ServerID == 0 || src.Connector != srv.name {
				t.Fatalf("source %+v", src)
			}
		})
	}
}
