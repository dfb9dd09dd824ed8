//go:build integration

package mysql

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// proxiedSource is a test source whose connections all go through a fault proxy, with a 1 s
// query timeout.
func proxiedSource(t *testing.T, srv server, dbName string) (*testSource, *testkit.Proxy) {
	t.Helper()
	dc, err := gomysql.ParseDSN(srv.dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := testkit.StartProxy(t, dc.Addr)
	dc.Addr = p.Addr()
	ts := newTestSource(t, srv, dbName)
	ts.cfg.DSN = dc.FormatDSN()
	ts.cfg.QueryTimeout = time.Second
	return ts, p
}

// untilError calls Next (keeping each position in ts.off, as the pipeline stores offsets) until
// it fails, and returns the error and the changes before it. Next must fail within limit:
// before the side connections were bounded it waited for ever.
func (ts *testSource) untilError(t *testing.T, s *Source, limit time.Duration) (error, []rec) {
	t.Helper()
	type result struct {
		err  error
		recs []rec
	}
	done := make(chan result, 1)
	go func() {
		var r result
		for {
			ev, err := s.Next(context.Background())
			if err != nil {
				r.err = err
				done <- r
				return
			}
			if ev.Position != nil {
				ts.off = ev.Position.AppendOffset(nil)
			}
			if ev.Kind == capture.Change {
				r.recs = append(r.recs, rec{kind: ev.Kind, tbl: ev.Table.ID.Table, text: rowText(ev.After)})
			}
		}
	}()
	select {
	case r := <-done:
		return r.err, r.recs
	case <-time.After(limit):
		t.Fatalf("Next hung for %v on a stalled side connection", limit)
		return nil, nil
	}
}

// TestSideQueryStall: a stalled link on the query connections (a table definition read from
// the server while streaming) or on a snapshot reader ends Next with a retryable
// error after --query-timeout while the binlog stream is healthy, and the reopened source
// delivers every change. Before, Next waited for ever.
func TestSideQueryStall(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name+"/ddl", func(t *testing.T) {
			db := openDB(t, srv.dsn)
			name := fmt.Sprintf("sidequery_%d", os.Getpid())
			freshDB(t, db, name)
			t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS " + name) })
			mustExec(t, db, "CREATE TABLE "+name+".x1 (id int PRIMARY KEY, v varchar(10))", "INSERT INTO "+name+".x1 VALUES (1,'a'),(2,'b')")
			ts, p := proxiedSource(t, srv, name)
			ts.cfg.SchemaRepair = true
			s := ts.open(t)
			ts.collect(t, s, 30*time.Second, untilSnapshotDone)
			mustExec(t, db, "INSERT INTO "+name+".x1 VALUES (3,'c')")
			ts.collect(t, s, 30*time.Second, func(r []rec) bool { return len(changes(r)) == 1 })

			repl := s.st.conn.LocalAddr().String()
			p.StallWhere(func(a net.Addr) bool { return a.String() != repl })
			// A table the binlog never saw created (sql_log_bin=0): with --schema-repair its
			// first table map makes the source read its definition from the server, on a query
			// connection.
			mustExec(t, db, "SET sql_log_bin = 0; CREATE TABLE "+name+".x2 (id int PRIMARY KEY, v varchar(10)); SET sql_log_bin = 1",
				"INSERT INTO "+name+".x2 VALUES (1,'a'),(2,'b'),(3,'c')", "INSERT INTO "+name+".x2 VALUES (4,'d')")
			start := time.Now()
			err, _ := ts.untilError(t, s, 10*time.Second)
			var qt *QueryTimeoutError
			if !errors.As(err, &qt) || !capture.Retryable(err) {
				t.Fatalf("Next: %v, want a retryable *QueryTimeoutError", err)
			}
			t.Logf("after %v: %v", time.Since(start).Round(time.Millisecond), err)
			s.Close()
			p.Restore()

			s = ts.open(t)
			defer s.Close()
			// The restart also finds x2 missing from the schema history and snapshots it
			// (newtables.go): its reads (op r) are left out here, the streamed inserts kept.
			inserts := func(recs []rec) []string {
				var rows []string
				for _, r := range changes(recs) {
					if r.op == capture.OpCreate {
						rows = append(rows, r.tbl+r.text)
					}
				}
				return rows
			}
			rows := inserts(ts.collect(t, s, 30*time.Second, func(r []rec) bool { return len(inserts(r)) == 4 }))
			if want := `x2-(1,"a") x2-(2,"b") x2-(3,"c") x2-(4,"d")`; strings.Join(rows, " ") != want {
				t.Fatalf("after the reopen: %s, want %s", strings.Join(rows, " "), want)
			}
		})
		t.Run(srv.name+"/lock", func(t *testing.T) {
			db := openDB(t, srv.dsn)
			name := fmt.Sprintf("sidelock_%d", os.Getpid())
			freshDB(t, db, name)
			t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS " + name) })
			mustExec(t, db, "CREATE TABLE "+name+".x (id int PRIMARY KEY)", "INSERT INTO "+name+".x VALUES (1)")
			ts, p := proxiedSource(t, srv, name)
			s := ts.open(t)
			// The snapshot starts at the first Next: its lock, position and schema reads go
			// over the query pool, all of whose connections are held.
			p.StallWhere(func(net.Addr) bool { return true })
			start := time.Now()
			err, _ := ts.untilError(t, s, 10*time.Second)
			if !capture.Retryable(err) {
				t.Fatalf("Next: %v, want a retryable error", err)
			}
			t.Logf("after %v: %v", time.Since(start).Round(time.Millisecond), err)
			s.Close()
			p.Restore()
			s = ts.open(t)
			defer s.Close()
			if got := changes(ts.collect(t, s, 30*time.Second, untilSnapshotDone)); len(got) != 1 {
				t.Fatalf("snapshot after the reopen: %d rows, want 1", len(got))
			}
		})
		t.Run(srv.name+"/snapshot", func(t *testing.T) {
			const rows = 20000
			db := openDB(t, srv.dsn)
			name := fmt.Sprintf("sidesnap_%d", os.Getpid())
			freshDB(t, db, name)
			t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS " + name) })
			// 20 MB: the reader streams the table in one query, and the socket's buffers held all
			// of 2 MB, so the stall came after the read.
			mustExec(t, db, "CREATE TABLE "+name+".big (id int PRIMARY KEY, v varchar(1000))",
				"CREATE TABLE "+name+".sig (id VARCHAR(64) PRIMARY KEY, type VARCHAR(32) NOT NULL, data VARCHAR(2048))")
			for i := 0; i < rows; i += 1000 {
				var vals []string
				for j := i + 1; j <= i+1000; j++ {
					vals = append(vals, fmt.Sprintf("(%d, REPEAT('v', 1000))", j))
				}
				mustExec(t, db, "INSERT INTO "+name+".big VALUES "+strings.Join(vals, ","))
			}
			ts, p := proxiedSource(t, srv, name)
			ts.cfg.SnapshotWorkers = 1
			ts.cfg.SnapshotChunkRows = 1000
			ts.cfg.SignalDataCollection = name + ".sig" // the reopen resumes the snapshot
			s := ts.open(t)
			seen := map[string]bool{}
			for _, r := range changes(ts.collect(t, s, 30*time.Second, func(r []rec) bool { return len(changes(r)) == 10 })) {
				seen[r.text] = true
			}
			reader := s.snap.readers[0].(*protoReader).c.LocalAddr().String()
			p.StallWhere(func(a net.Addr) bool { return a.String() == reader })
			start := time.Now()
			err, recs := ts.untilError(t, s, 10*time.Second)
			if !capture.Retryable(err) || !strings.Contains(err.Error(), "query timeout") {
				t.Fatalf("Next: %v, want a retryable query timeout", err)
			}
			t.Logf("after %v and %d more rows: %v", time.Since(start).Round(time.Millisecond), len(recs), err)
			s.Close()
			p.Restore()
			for _, r := range recs {
				seen["-"+r.text] = true // (untilError keeps the after image only)
			}

			s = ts.open(t) // the stored offset is of an unfinished snapshot: it resumes
			defer s.Close()
			for _, r := range changes(ts.collect(t, s, time.Minute, untilSnapshotDone)) {
				if r.tbl == "big" {
					seen[r.text] = true
				}
			}
			if len(seen) != rows {
				t.Fatalf("snapshot after the reopen: %d distinct rows, want %d", len(seen), rows)
			}
		})
	}
}
