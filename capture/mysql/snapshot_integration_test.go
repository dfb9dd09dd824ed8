//go:build integration

package mysql

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

// TestSnapshotKeys: chunks continue after the last key for text (case-insensitive collation,
// quotes, backslashes, non-ASCII), binary and composite keys; a big integer key is split into
// ranges read by two readers. Every row comes out once, in key order, with the lock (readers
// of their own) and without it (the connection that read the position reads the rows).
func TestSnapshotKeys(t *testing.T) {
	for _, srv := range servers(t) {
		for _, lock := range []SnapshotLocking{LockMinimal, LockNone} {
			if lock == LockNone && srv.name == "mysql" {
				continue // refused on MySQL (TestSnapshotLocking)
			}
			t.Run(srv.name+"/"+string(lock), func(t *testing.T) {
				db := openDB(t, srv.dsn)
				freshDB(t, db, dbKeys)
				mustExec(t, db,
					"CREATE TABLE "+dbKeys+".txt (k VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci PRIMARY KEY, n INT)",
					"CREATE TABLE "+dbKeys+".bin (k VARBINARY(8) PRIMARY KEY, n INT)",
					"CREATE TABLE "+dbKeys+".comp (a VARCHAR(10), b INT, n INT, PRIMARY KEY (a, b))",
					"CREATE TABLE "+dbKeys+".big (id BIGINT PRIMARY KEY, n INT)")
				var txt []string
				for i := 0; i < 40; i++ {
					k := fmt.Sprintf("%c%02d'\\\\ä", 'a'+i%5, i)
					if i%2 == 1 {
						k = strings.ToUpper(k[:1]) + k[1:]
					}
					txt = append(txt, k)
					mustExec(t, db, fmt.Sprintf("INSERT INTO "+dbKeys+".txt VALUES ('%s', %d)", strings.ReplaceAll(k, "'", "''"), i))
					mustExec(t, db, fmt.Sprintf("INSERT INTO "+dbKeys+".bin VALUES (X'%02x00ff', %d)", 255-i, i))
					mustExec(t, db, fmt.Sprintf("INSERT INTO "+dbKeys+".comp VALUES ('g%d', %d, %d)", i%3, i, i))
				}
				for i := 0; i < 100; i++ {
					mustExec(t, db, fmt.Sprintf("INSERT INTO "+dbKeys+".big VALUES (%d, %d)", int64(i)*1000003-50000000, i))
				}
				ts := newTestSource(t, srv, dbKeys)
				ts.cfg.SnapshotWorkers = 2
				ts.cfg.SnapshotLocking = lock
				s := ts.open(t)
				defer s.Close()
				ch := changes(ts.collect(t, s, 60*time.Second, untilSnapshotDone))
				per := map[string][]rec{}
				for _, c := range ch {
					per[c.tbl] = append(per[c.tbl], c)
				}
				for tbl, want := range map[string]int{"big": 100, "bin": 40, "comp": 40, "txt": 40} {
					rows := per[dbKeys+"."+tbl]
					if len(rows) == 0 {
						rows = per[tbl]
					}
					if len(rows) != want {
						t.Fatalf("%s: %d rows, want %d (tables %v)", tbl, len(rows), want, len(per))
					}
					seen := map[int64]bool{}
					for _, r := range rows {
						n := r.ev.After[len(r.ev.After)-1].Int
						if seen[n] {
							t.Fatalf("%s: row %d twice", tbl, n)
						}
						seen[n] = true
					}
				}
				order := func(tbl string) []int64 {
					var o []int64
					rows := per[dbKeys+"."+tbl]
					if len(rows) == 0 {
						rows = per[tbl]
					}
					for _, r := range rows {
						o = append(o, r.ev.After[len(r.ev.After)-1].Int)
					}
					return o
				}
				for i, n := range order("big") {
					if n != int64(i) {
						t.Fatalf("big: key order %v", order("big"))
					}
				}
				for i, n := range order("bin") {
					if n != int64(39-i) {
						t.Fatalf("bin: key order %v", order("bin"))
					}
				}
				// txt in the collation's order: by the first letter ignoring case, then digits.
				got := order("txt")
				for i := 1; i < len(got); i++ {
					a, b := strings.ToLower(txt[got[i-1]]), strings.ToLower(txt[got[i]])
					if a >= b {
						t.Fatalf("txt: %q before %q (order %v)", txt[got[i-1]], txt[got[i]], got)
					}
				}
			})
		}
	}
}

// TestSnapshotEmptyProbe: tables the engine estimates empty are checked several per statement
// and not read when empty; those with rows (the estimate lags behind inserts) are read in full,
// in table order, with one reader and with two sharing the checks.
func TestSnapshotEmptyProbe(t *testing.T) {
	defer func(n int) { emptyProbeTables = n }(emptyProbeTables)
	emptyProbeTables = 3
	rows := map[string]int{"t1": 0, "t2": 1, "t3": 0, "t4": 0, "t5": 3, "t6": 0, "t7": 2, "t8": 0}
	for _, srv := range servers(t) {
		for _, workers := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/%d", srv.name, workers), func(t *testing.T) {
				db := openDB(t, srv.dsn)
				freshDB(t, db, dbProbe)
				t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS " + dbProbe) })
				for tbl, n := range rows {
					mustExec(t, db, "CREATE TABLE "+dbProbe+"."+tbl+" (id INT PRIMARY KEY, n INT)")
					for i := range n {
						mustExec(t, db, fmt.Sprintf("INSERT INTO "+dbProbe+".%s VALUES (%d, %d)", tbl, i, i))
					}
				}
				ts := newTestSource(t, srv, dbProbe)
				ts.cfg.SnapshotWorkers = workers
				ts.cfg.estimateHook = func(m map[schema.TableID]int64) {
					for id := range m {
						m[id] = 0 // every table "estimated empty": the ones with rows must still be read
					}
				}
				s := ts.open(t)
				defer s.Close()
				var got []string
				for _, c := range changes(ts.collect(t, s, 60*time.Second, untilSnapshotDone)) {
					got = append(got, strings.TrimPrefix(c.tbl, dbProbe+".")+":"+fmt.Sprint(c.ev.After[0].Int))
				}
				want := "t2:0 t5:0 t5:1 t5:2 t7:0 t7:1"
				if strings.Join(got, " ") != want {
					t.Fatalf("rows %q, want %q", strings.Join(got, " "), want)
				}
			})
		}
	}
}

// TestSnapshotRowReuse: the readers reuse the memory of rows the consumer has reported done
// (ReadsDone, as the pipeline does after encoding), and only of those: a consumer that holds
// 1,500 events before it looks at them (the pipeline's encode batches in flight) and reports
// each afterwards finds every held row intact while the readers go on reusing reported ones.
func TestSnapshotRowReuse(t *testing.T) {
	// 16 ranges of 6,250 rows: more than a range's channel holds (8 batches of 512), so the
	// readers wait for the consumer and take the batches it has reported (with 20,000 rows the
	// streamed ranges fit their channels and could all be read before the first report).
	const rows, held = 100000, 1500
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			db := openDB(t, srv.dsn)
			name := fmt.Sprintf("sl_reuse_%d", serverIDs.Add(1))
			freshDB(t, db, name)
			t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS " + name) })
			mustExec(t, db, "CREATE TABLE "+name+".d(i INT PRIMARY KEY)", "INSERT INTO "+name+".d VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)",
				"CREATE TABLE "+name+".t(id BIGINT PRIMARY KEY, s VARCHAR(64), j JSON)",
				"INSERT INTO "+name+".t SELECT n, IF(n % 11 = 0, NULL, REPEAT('x', n % 37)), JSON_OBJECT('id', n) FROM "+
					"(SELECT 1 + a.i + 10*b.i + 100*c.i + 1000*e.i + 10000*f.i AS n FROM "+name+".d a, "+name+".d b, "+name+".d c, "+name+".d e, "+name+".d f) x "+
					fmt.Sprintf("WHERE n <= %d", rows),
				"ANALYZE TABLE "+name+".t")
			ts := newTestSource(t, srv, name)
			ts.cfg.TableInclude = []string{name + `\.t`}
			ts.cfg.SnapshotMode = SnapshotInitialOnly
			ts.cfg.SnapshotWorkers = 4
			ts.cfg.SnapshotChunkRows = 700
			s := ts.open(t)
			defer s.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			check := func(ev *capture.Event) {
				t.Helper()
				r := ev.After
				id := r[0].Int
				want := "NULL"
				if id%11 != 0 {
					want = fmt.Sprintf("%q", strings.Repeat("x", int(id%37)))
				}
				if got := valText(r[1]); got != want {
					t.Fatalf("row %d: s = %s, want %s (its memory was reused before it was reported)", id, got, want)
				}
				if got, want := string(r[2].Bytes), fmt.Sprintf(`{"id": %d}`, id); got != want {
					t.Fatalf("row %d: j = %s, want %s", id, got, want)
				}
			}
			var queue []capture.Event
			seen := map[uintptr]bool{} // the rows' Values' addresses
			reused, n := 0, 0
			for {
				ev, err := s.Next(ctx)
				if err != nil {
					t.Fatalf("Next after %d rows: %v", n, err)
				}
				if ev.Kind == capture.SnapshotDone {
					break
				}
				if ev.Kind != capture.Change {
					continue
				}
				n++
				if a := uintptr(unsafe.Pointer(&ev.After[0])); seen[a] {
					reused++
				} else {
					seen[a] = true
				}
				queue = append(queue, ev)
				if len(queue) > held {
					check(&queue[0])
					s.ReadsDone(&queue[0])
					queue = queue[1:]
				}
			}
			for i := range queue {
				check(&queue[i])
			}
			if n != rows {
				t.Fatalf("%d rows, want %d", n, rows)
			}
			if reused == 0 {
				t.Fatalf("no row's memory was reused (%d rows, %d held)", n, held)
			}
			t.Logf("%d rows, %d in reused memory", n, reused)
		})
	}
}

// TestSnapshotStatementTimeLimit: a server-wide limit on SELECTs (MySQL max_execution_time,
// MariaDB max_statement_time) does not cut the snapshot's reads short. A reader reads a table
// with one query, held open while the consumer is slow; before the readers lifted the limit
// for their sessions the server killed it midway (MySQL error 3024, MariaDB 1969).
func TestSnapshotStatementTimeLimit(t *testing.T) {
	for _, flavor := range []string{"mariadb", "mysql"} {
		t.Run(flavor, func(t *testing.T) {
			t.Parallel()
			ps := newPrivateServer(t, flavor)
			db := ps.db()
			limit := "SET GLOBAL max_execution_time = 100" // ms
			if flavor == "mariadb" {
				limit = "SET GLOBAL max_statement_time = 0.1" // s
			}
			const rows = 20000 // 20 MB: more than the socket's buffers, so the query stays open
			mustExec(t, db, "CREATE DATABASE "+dbLimit, "CREATE TABLE "+dbLimit+".d (i INT PRIMARY KEY)",
				"INSERT INTO "+dbLimit+".d VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)",
				"CREATE TABLE "+dbLimit+".t (id INT PRIMARY KEY, pad VARCHAR(1000))",
				"INSERT INTO "+dbLimit+".t SELECT 1 + a.i + 10*b.i + 100*c.i + 1000*e.i + 10000*f.i, REPEAT('x', 1000) FROM "+
					dbLimit+".d a, "+dbLimit+".d b, "+dbLimit+".d c, "+dbLimit+".d e, "+dbLimit+".d f "+
					fmt.Sprintf("WHERE 1 + a.i + 10*b.i + 100*c.i + 1000*e.i + 10000*f.i <= %d", rows),
				limit)
			ts := newTestSource(t, server{flavor, ps.dsn}, dbLimit)
			ts.cfg.TableInclude = []string{dbLimit + `\.t`}
			ts.cfg.SnapshotMode = SnapshotInitialOnly
			ts.cfg.SnapshotWorkers = 1
			s := ts.open(t)
			defer s.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			n := 0
			for {
				ev, err := s.Next(ctx)
				if err != nil {
					t.Fatalf("Next after %d rows: %v", n, err)
				}
				if ev.Kind == capture.SnapshotDone {
					break
				}
				if ev.Kind != capture.Change {
					continue
				}
				if n++; n == 1 {
					time.Sleep(500 * time.Millisecond) // a slow sink: the read outlives the limit
				}
			}
			if n != rows {
				t.Fatalf("%d rows, want %d", n, rows)
			}
		})
	}
}
