//go:build integration

package mysql

import (
	"context"
	"testing"
	"time"
)

// TestIncludeQuery: with IncludeQuery, source.query carries the statement of the rows
// (MySQL binlog_rows_query_log_events, MariaDB binlog_annotate_row_events).
func TestIncludeQuery(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			db := openDB(t, srv.dsn)
			freshDB(t, db, dbQ)
			mustExec(t, db, "CREATE TABLE "+dbQ+".t (id INT PRIMARY KEY)")
			ts := newTestSource(t, srv, dbQ)
			ts.cfg.IncludeQuery = true
			s := ts.open(t)
			defer s.Close()
			ts.collect(t, s, 30*time.Second, untilSnapshotDone)
			conn, err := db.Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			v := "binlog_rows_query_log_events"
			if srv.name == "mariadb" {
				v = "binlog_annotate_row_events"
			}
			q := "INSERT INTO " + dbQ + ".t VALUES (1), (2)"
			for _, stmt := range []string{"SET SESSION " + v + "=ON", q, "SET SESSION " + v + "=OFF"} {
				if _, err := conn.ExecContext(context.Background(), stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			ch := changes(ts.collect(t, s, 20*time.Second, func(r []rec) bool { return len(changes(r)) == 2 }))
			for _, c := range ch {
				if c.ev.Source.Query != q {
					t.Fatalf("source.query %q", c.ev.Source.Query)
				}
			}
		})
	}
}
