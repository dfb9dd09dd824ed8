//go:build integration

package mysql

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestStatementRowsStop: a session that writes with binlog_format STATEMENT puts its row
// changes in the binlog as statements, which carry no rows. Such a change of a captured table
// stops the stream with an error that says how to recover, instead of being passed over
// without a trace; statements on temporary and uncaptured tables go by.
func TestStatementRowsStop(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			db := openDB(t, srv.dsn)
			freshDB(t, db, dbStmtrows)
			freshDB(t, db, dbStmtrowsOther)
			mustExec(t, db, "CREATE TABLE "+dbStmtrows+".t (id INT PRIMARY KEY, v VARCHAR(10))",
				"CREATE TABLE "+dbStmtrowsOther+".u (id INT PRIMARY KEY)")
			ts := newTestSource(t, srv, dbStmtrows)
			s := ts.open(t)
			defer s.Close()
			ts.collect(t, s, 30*time.Second, untilSnapshotDone)

			ctx := context.Background()
			conn, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			for _, stmt := range []string{
				"INSERT INTO " + dbStmtrows + ".t VALUES (1, 'row')",
				"SET SESSION binlog_format = 'STATEMENT'",
				"INSERT INTO " + dbStmtrowsOther + ".u VALUES (1)",
				"CREATE TEMPORARY TABLE " + dbStmtrows + ".tmp (id INT)",
				"INSERT INTO " + dbStmtrows + ".tmp VALUES (1)",
				"DROP TEMPORARY TABLE " + dbStmtrows + ".tmp",
				"INSERT INTO " + dbStmtrows + ".t VALUES (2, 'statement')",
				"SET SESSION binlog_format = 'ROW'",
			} {
				if _, err := conn.ExecContext(ctx, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			ch := changes(ts.collect(t, s, 20*time.Second, func(r []rec) bool { return len(changes(r)) == 1 }))
			if ch[0].text != `-(1,"row")` {
				t.Fatalf("first change %s", ch[0].text)
			}
			cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			defer cancel()
			for {
				ev, err := s.Next(cctx)
				if err == nil {
					if ev.Table != nil && ev.Table.ID.Table == "t" {
						t.Fatalf("unexpected change %v", ev)
					}
					continue
				}
				if !errors.Is(err, ErrStatementRows) {
					t.Fatalf("want ErrStatementRows, got %v", err)
				}
				for _, want := range []string{dbStmtrows + ".t", "INSERT INTO", "binlog_format='ROW'", "--snapshot-mode always"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not say %q", err, want)
					}
				}
				if strings.Contains(err.Error(), "statement')") {
					t.Errorf("error %q carries row values", err)
				}
				return
			}
		})
	}
}
