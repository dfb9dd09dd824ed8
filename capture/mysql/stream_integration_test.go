//go:build integration

package mysql

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

func untilSnapshotDone(r []rec) bool { return len(r) > 0 && r[len(r)-1].kind == capture.SnapshotDone }

var intWidth = regexp.MustCompile(`int\(\d+\)`)

// colNamesOf lists name:type of the event's table (integer display widths, which only
// MariaDB reports, left out).
func colNamesOf(r rec) string {
	var n []string
	for _, c := range r.ev.Table.Columns {
		n = append(n, c.Name+":"+intWidth.ReplaceAllString(c.TypeExpr, "int"))
	}
	return strings.Join(n, ",")
}

// TestAlterBetweenRows: each row is decoded with the definition in force when it was written.
func TestAlterBetweenRows(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			db := openDB(t, srv.dsn)
			freshDB(t, db, dbAlter)
			mustExec(t, db, "CREATE TABLE "+dbAlter+".t (id INT PRIMARY KEY, a INT)")
			ts := newTestSource(t, srv, dbAlter)
			s := ts.open(t)
			defer s.Close()
			ts.collect(t, s, 30*time.Second, untilSnapshotDone)
			mustExec(t, db,
				"INSERT INTO "+dbAlter+".t VALUES (1, 10)",
				"ALTER TABLE "+dbAlter+".t ADD COLUMN b VARCHAR(5) NOT NULL DEFAULT 'z' AFTER id",
				"INSERT INTO "+dbAlter+".t VALUES (2, 'q', 20)",
				"ALTER TABLE "+dbAlter+".t DROP COLUMN a, CHANGE b bb VARCHAR(5) NOT NULL",
				"INSERT INTO "+dbAlter+".t VALUES (3, 'w')",
				"UPDATE "+dbAlter+".t SET bb='v' WHERE id=1")
			recs := ts.collect(t, s, 30*time.Second, func(r []rec) bool { return len(changes(r)) == 4 })
			ch := changes(recs)
			want := []struct{ cols, row string }{
				{"id:int,a:int", `-(1,10)`},
				{"id:int,b:varchar(5),a:int", `-(2,"q",20)`},
				{"id:int,bb:varchar(5)", `-(3,"w")`},
				{"id:int,bb:varchar(5)", `(1,"z")(1,"v")`},
			}
			for i, w := range want {
				if got := colNamesOf(ch[i]); got != w.cols || ch[i].text != w.row {
					t.Errorf("change %d: %s %s, want %s %s", i, got, ch[i].text, w.cols, w.row)
				}
			}
			var ddl []string
			for _, r := range recs {
				if r.kind == capture.SchemaChange {
					ddl = append(ddl, r.ev.DDL)
				}
			}
			if len(ddl) != 2 {
				t.Fatalf("schema changes %q", ddl)
			}
		})
	}
}

// TestSchemaMismatch: a DDL the binlog never saw (sql_log_bin=0) makes the next TABLE_MAP
// disagree with the history: the source stops naming the table and position; with
// SchemaRepair it rebuilds the table from the server and goes on.
func TestSchemaMismatch(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			db := openDB(t, srv.dsn)
			freshDB(t, db, dbMis)
			mustExec(t, db, "CREATE TABLE "+dbMis+".t (id INT PRIMARY KEY, a INT)")
			ts := newTestSource(t, srv, dbMis)
			s := ts.open(t)
			ts.collect(t, s, 30*time.Second, untilSnapshotDone)
			conn, err := db.Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(context.Background(), "SET SESSION sql_log_bin=0"); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(context.Background(), "ALTER TABLE "+dbMis+".t ADD COLUMN c INT"); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(context.Background(), "SET SESSION sql_log_bin=1"); err != nil {
				t.Fatal(err)
			}
			conn.Close()
			mustExec(t, db, "INSERT INTO "+dbMis+".t VALUES (1, 2, 3)")
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var gotErr error
			for gotErr == nil {
				ev, err := s.Next(ctx)
				if err != nil {
					gotErr = err
					break
				}
				if ev.Kind == capture.Change {
					t.Fatalf("row decoded with the wrong schema: %s", rowText(ev.After))
				}
				if ev.Position != nil {
					ts.off = ev.Position.AppendOffset(nil)
				}
			}
			s.Close()
			if !errors.Is(gotErr, ErrSchemaMismatch) || !strings.Contains(gotErr.Error(), dbMis+".t") || !strings.Contains(gotErr.Error(), "--schema-repair") {
				t.Fatalf("error %v", gotErr)
			}
			t.Logf("error: %v", gotErr)
			ts.cfg.SchemaRepair = true
			s = ts.open(t)
			defer s.Close()
			ch := changes(ts.collect(t, s, 20*time.Second, func(r []rec) bool { return len(changes(r)) == 1 }))
			if ch[0].text != "-(1,2,3)" || colNamesOf(ch[0]) != "id:int,a:int,c:int" {
				t.Fatalf("repaired row %s %s", colNamesOf(ch[0]), ch[0].text)
			}
		})
	}
}

// TestRestartAtRandomPoints stops the source after a random number of events, again and again,
// and restarts it from the position of the last event taken (as the offsets store would have
// it): the changes seen across all runs must equal one uninterrupted run's, with nothing lost
// and nothing repeated, also inside multi-event transactions and across DDL.
func TestRestartAtRandomPoints(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			db := openDB(t, srv.dsn)
			freshDB(t, db, dbRs)
			mustExec(t, db, "CREATE TABLE "+dbRs+".t (id INT PRIMARY KEY, v INT, pad VARCHAR(40))")
			ts := newTestSource(t, srv, dbRs)
			s := ts.open(t)
			ts.collect(t, s, 30*time.Second, untilSnapshotDone)
			s.Close()
			start := ts.off
			// Workload: 40 transactions of several rows events each, two DDLs between them.
			rng := rand.New(rand.NewSource(42))
			total, next := 0, 1
			for i := 0; i < 40; i++ {
				tx, err := db.Begin()
				if err != nil {
					t.Fatal(err)
				}
				n := 1 + rng.Intn(25)
				var vals []string
				for j := 0; j < n; j++ {
					vals = append(vals, fmt.Sprintf("(%d,%d,'%s')", next, i, strings.Repeat("x", rng.Intn(40))))
					next++
				}
				if _, err := tx.Exec("INSERT INTO " + dbRs + ".t (id,v,pad) VALUES " + strings.Join(vals, ",")); err != nil {
					t.Fatal(err)
				}
				total += n
				res, err := tx.Exec(fmt.Sprintf("UPDATE "+dbRs+".t SET v=v+1000 WHERE id > %d", next-1-rng.Intn(10)))
				if err != nil {
					t.Fatal(err)
				}
				k, _ := res.RowsAffected()
				total += int(k)
				if i%7 == 3 {
					res, err := tx.Exec(fmt.Sprintf("DELETE FROM "+dbRs+".t WHERE id <= %d", next/3))
					if err != nil {
						t.Fatal(err)
					}
					k, _ := res.RowsAffected()
					total += int(k)
				}
				if err := tx.Commit(); err != nil {
					t.Fatal(err)
				}
				switch i {
				case 12:
					mustExec(t, db, "ALTER TABLE "+dbRs+".t ADD COLUMN w INT NOT NULL DEFAULT 7 AFTER v")
				case 25:
					mustExec(t, db, "ALTER TABLE "+dbRs+".t DROP COLUMN w, MODIFY pad VARCHAR(60)")
				}
			}
			// Reference: one uninterrupted run.
			ts.off = start
			s = ts.open(t)
			ref := changes(ts.collect(t, s, 60*time.Second, func(r []rec) bool { return len(changes(r)) == total }))
			s.Close()
			// Interrupted runs.
			ts.off = start
			var got []rec
			cycles := 0
			for len(got) < total {
				cycles++
				s = ts.open(t)
				k := 1 + rng.Intn(total/25+1)
				taken := 0
				r := ts.collect(t, s, 60*time.Second, func(r []rec) bool {
					taken = len(r)
					return taken >= k || len(got)+len(changes(r)) >= total
				})
				got = append(got, changes(r)...)
				s.Close()
				if cycles > 500 {
					t.Fatal("too many cycles")
				}
			}
			if cycles < 20 {
				t.Fatalf("only %d restart cycles", cycles)
			}
			if len(got) != len(ref) {
				t.Fatalf("got %d changes over %d restarts, want %d", len(got), cycles, len(ref))
			}
			for i := range ref {
				a, b := ref[i], got[i]
				if a.op != b.op || a.text != b.text || a.ev.Source.Pos != b.ev.Source.Pos || a.ev.Source.Row != b.ev.Source.Row || colNamesOf(a) != colNamesOf(b) {
					t.Fatalf("change %d differs after restarts:\n ref %c %s %s pos %d row %d\n got %c %s %s pos %d row %d", i,
						a.op, colNamesOf(a), a.text, a.ev.Source.Pos, a.ev.Source.Row, b.op, colNamesOf(b), b.text, b.ev.Source.Pos, b.ev.Source.Row)
				}
			}
			t.Logf("%d changes identical over %d restart cycles", total, cycles)
		})
	}
}

// TestSnapshotMeetsStream runs the snapshot while a writer inserts, updates and deletes: the
// snapshot rows plus the streamed changes must rebuild exactly the table's final content, with
// no change applied twice and none missing.
func TestSnapshotMeetsStream(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			db := openDB(t, srv.dsn)
			freshDB(t, db, dbMeet)
			mustExec(t, db, "CREATE TABLE "+dbMeet+".t (id INT PRIMARY KEY, v INT NOT NULL)")
			var vals []string
			for i := 1; i <= 20000; i++ {
				vals = append(vals, fmt.Sprintf("(%d,%d)", i, i))
			}
			mustExec(t, db, "INSERT INTO "+dbMeet+".t VALUES "+strings.Join(vals, ","))
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var writes int
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewSource(7))
				next := 20001
				for {
					select {
					case <-stop:
						return
					default:
					}
					var q string
					switch rng.Intn(3) {
					case 0:
						q = fmt.Sprintf("INSERT INTO "+dbMeet+".t VALUES (%d, 0)", next)
						next++
					case 1:
						q = fmt.Sprintf("UPDATE "+dbMeet+".t SET v=v+1 WHERE id=%d", 1+rng.Intn(next-1))
					default:
						q = fmt.Sprintf("DELETE FROM "+dbMeet+".t WHERE id=%d", 1+rng.Intn(next-1))
					}
					if _, err := db.Exec(q); err != nil {
						t.Error(err)
						return
					}
					writes++
				}
			}()
			time.Sleep(100 * time.Millisecond)
			ts := newTestSource(t, srv, dbMeet)
			ts.cfg.SnapshotChunkRows = 97
			s := ts.open(t)
			defer s.Close()
			state := map[string]string{}
			apply := func(recs []rec) {
				for _, r := range recs {
					if r.kind != capture.Change {
						continue
					}
					var key, val string
					switch r.op {
					case capture.OpRead, capture.OpCreate:
						key, val = valText(r.ev.After[0]), valText(r.ev.After[1])
						if _, ok := state[key]; ok {
							t.Fatalf("%c of id %s already present (duplicate)", r.op, key)
						}
						state[key] = val
					case capture.OpUpdate:
						key, val = valText(r.ev.After[0]), valText(r.ev.After[1])
						if old, ok := state[key]; !ok || old != valText(r.ev.Before[1]) {
							t.Fatalf("update of id %s from %s but state has %q %v (lost change)", key, valText(r.ev.Before[1]), old, ok)
						}
						state[key] = val
					case capture.OpDelete:
						key = valText(r.ev.Before[0])
						if _, ok := state[key]; !ok {
							t.Fatalf("delete of missing id %s (lost change)", key)
						}
						delete(state, key)
					}
				}
			}
			recs := ts.collect(t, s, 60*time.Second, untilSnapshotDone)
			apply(recs)
			snapRows := len(changes(recs))
			time.Sleep(300 * time.Millisecond)
			close(stop)
			wg.Wait()
			mustExec(t, db, "INSERT INTO "+dbMeet+".t VALUES (-1, -1)")
			recs = ts.collect(t, s, 60*time.Second, func(r []rec) bool {
				n := len(r)
				return n > 0 && r[n-1].kind == capture.Change && r[n-1].ev.After != nil && valText(r[n-1].ev.After[0]) == "-1"
			})
			apply(recs)
			rows, err := db.Query("SELECT id, v FROM " + dbMeet + ".t")
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			for rows.Next() {
				var id, v int
				rows.Scan(&id, &v)
				want[fmt.Sprint(id)] = fmt.Sprint(v)
			}
			rows.Close()
			if len(want) != len(state) {
				t.Fatalf("rebuilt %d rows, table has %d", len(state), len(want))
			}
			for k, v := range want {
				if state[k] != v {
					t.Fatalf("id %s: rebuilt %q, table %q", k, state[k], v)
				}
			}
			t.Logf("snapshot %d rows, %d concurrent writes, %d streamed changes, final %d rows match", snapRows, writes, len(changes(recs)), len(want))
		})
	}
}

var _ = os.Getenv
