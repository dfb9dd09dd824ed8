//go:build integration

package mysql

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestCreateTableSelectStreamed: CREATE TABLE … SELECT while streaming gives the new table and
// its rows, also across a restart in the middle of its rows. MySQL 8.0.21+ logs it inside the
// transaction that fills the table (BEGIN, CREATE TABLE … START TRANSACTION, rows, COMMIT);
// before, the statement was taken for statement-based work inside a transaction and skipped,
// and the table's first table map stopped the source (the table is not in the schema history).
func TestCreateTableSelectStreamed(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			db := openDB(t, srv.dsn)
			name := fmt.Sprintf("ctas_%d", os.Getpid())
			freshDB(t, db, name)
			t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS " + name) })
			mustExec(t, db, "CREATE TABLE "+name+".x1 (id int PRIMARY KEY, v varchar(10))", "INSERT INTO "+name+".x1 VALUES (1,'a'),(2,'b'),(3,'c')")
			ts := newTestSource(t, srv, name)
			s := ts.open(t)
			ts.collect(t, s, 30*time.Second, untilSnapshotDone)
			mustExec(t, db, "CREATE TABLE "+name+".x2 (PRIMARY KEY (id)) SELECT * FROM "+name+".x1")
			x2 := func(recs []rec) (rows []string, ddl bool) {
				for _, r := range recs {
					if r.kind == capture.SchemaChange && strings.Contains(r.ev.DDL, "x2") {
						ddl = true
					}
					if r.kind == capture.Change && r.tbl == "x2" {
						rows = append(rows, r.text)
					}
				}
				return rows, ddl
			}
			first := ts.collect(t, s, 30*time.Second, func(r []rec) bool { rows, _ := x2(r); return len(rows) == 1 })
			rows, ddl := x2(first)
			if !ddl {
				t.Fatal("no schema change for x2 before its rows")
			}
			s.Close() // a restart after the first row: the offset is inside the transaction

			s = ts.open(t)
			defer s.Close()
			rest := ts.collect(t, s, 30*time.Second, func(r []rec) bool { more, _ := x2(r); return len(rows)+len(more) >= 3 })
			more, _ := x2(rest)
			rows = append(rows, more...)
			sort.Strings(rows)
			if got, want := strings.Join(rows, " "), `-(1,"a") -(2,"b") -(3,"c")`; got != want {
				t.Fatalf("x2 rows %s, want %s", got, want)
			}
			if c := changes(rest); len(c) > 0 && c[0].ev.Table.ID.Table == "x2" && len(c[0].ev.Table.Columns) != 2 {
				t.Fatalf("x2 after the restart: %v", c[0].ev.Table.Columns)
			}
		})
	}
}

// TestSavepointInTransaction: a transaction with a SAVEPOINT comes out whole: Begin, its
// rows, one Commit, and a restart at the Commit loses nothing. MariaDB writes no BEGIN query
// (the GTID event opens the group), so the SAVEPOINT query was taken for a statement of its
// own: it ended the transaction there (a Commit, the GTID added to the offset) and the rows
// after it came out of any transaction; a restart at that Commit skipped them.
func TestSavepointInTransaction(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			db := openDB(t, srv.dsn)
			name := fmt.Sprintf("savepoint_%d", os.Getpid())
			freshDB(t, db, name)
			t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS " + name) })
			mustExec(t, db, "CREATE TABLE "+name+".x (id int PRIMARY KEY)")
			ts := newTestSource(t, srv, name)
			s := ts.open(t)
			ts.collect(t, s, 30*time.Second, untilSnapshotDone)
			mustExec(t, db, "BEGIN; INSERT INTO "+name+".x VALUES (1); SAVEPOINT a; INSERT INTO "+name+".x VALUES (2); COMMIT",
				"INSERT INTO "+name+".x VALUES (3)")
			var kinds []string
			seen := map[string]bool{}
			note := func(recs []rec) {
				for _, r := range recs {
					switch r.kind {
					case capture.Begin, capture.Commit, capture.Change:
						kinds = append(kinds, fmt.Sprint(r.kind)+r.text)
					}
					if r.kind == capture.Change {
						seen[r.text] = true
					}
				}
			}
			note(ts.collect(t, s, 30*time.Second, func(r []rec) bool { return len(r) > 0 && r[len(r)-1].kind == capture.Commit }))
			s.Close() // a restart at the first Commit
			s = ts.open(t)
			defer s.Close()
			note(ts.collect(t, s, 30*time.Second, func(r []rec) bool { return len(r) > 0 && r[len(r)-1].text == "-(3)" }))
			if !seen["-(1)"] || !seen["-(2)"] || !seen["-(3)"] {
				t.Fatalf("rows seen %v, want 1, 2 and 3; events %v", seen, kinds)
			}
			if k := kinds[:4]; k[0] != fmt.Sprint(capture.Begin) || k[3] != fmt.Sprint(capture.Commit) {
				t.Fatalf("the first transaction came out as %v, want Begin, 2 rows, Commit", kinds)
			}
		})
	}
}
