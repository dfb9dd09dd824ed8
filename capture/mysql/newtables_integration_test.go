//go:build integration

package mysql

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestMySQLDatabaseCreatedWhileStopped: a database created while the connector was stopped,
// matching --database-include, with a table and rows written before the restart. Logged in the
// binlog, the stream brings every row and nothing is snapshotted. Created without the binlog
// (sql_log_bin=0, as a restored dump does), the rows never come from the stream: the restart
// finds the table on the server, and once the stream has caught up reads its definition and
// snapshots it (incremental with a key, blocking without); its later changes stream, and a
// second restart does not snapshot it again. Those rows used to be lost without a word and the
// table's first change stopped the stream ("not in the schema history").
func TestMySQLDatabaseCreatedWhileStopped(t *testing.T) {
	for _, srv := range servers(t) {
		for i, tc := range []struct {
			name                     string
			logged, keyless, touched bool // touched: a logged change of the table before the restart
		}{{"logged", true, false, false}, {"unlogged", false, false, false}, {"unlogged-keyless", false, true, false},
			{"unlogged-touched", false, false, true}, {"unlogged-keyless-touched", false, true, true}} {
			t.Run(srv.name+"/"+tc.name, func(t *testing.T) {
				db, dbName := snapshotDB(t, srv, "sl_newdb"+strconv.Itoa(i), false, "a (id INT PRIMARY KEY, v INT NOT NULL)")
				newDB := dbName + "_x"
				mustExec(t, db, "DROP DATABASE IF EXISTS "+newDB)
				t.Cleanup(func() {
					if !t.Failed() {
						db.Exec("DROP DATABASE IF EXISTS " + newDB)
					}
				})
				ts := newTestSource(t, srv, dbName)
				ts.cfg.DatabaseInclude = []string{dbName + ".*"}
				ts.cfg.SignalDataCollection = dbName + ".sig"
				ts.cfg.SnapshotChunkRows = 3
				s := ts.open(t)
				ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
					return len(recs) > 0 && recs[len(recs)-1].kind == capture.SnapshotDone
				})
				s.Close()

				ctx := context.Background()
				conn, err := db.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				key := "PRIMARY KEY"
				if tc.keyless {
					key = "NOT NULL"
				}
				qs := []string{"CREATE DATABASE " + newDB, "CREATE TABLE " + newDB + ".n (id INT " + key + ", v INT NOT NULL)",
					"INSERT INTO " + newDB + ".n VALUES " + strings.Join(zeroRows(7), ",")}
				if !tc.logged {
					qs = append([]string{"SET SESSION sql_log_bin = 0"}, append(qs, "SET SESSION sql_log_bin = 1")...)
				}
				for _, q := range qs {
					if _, err := conn.ExecContext(ctx, q); err != nil {
						t.Fatalf("%s: %v", q, err)
					}
				}
				conn.Close()
				if tc.touched {
					mustExec(t, db, "INSERT INTO "+newDB+".n VALUES (50, 5)")
				}
				mustExec(t, db, "INSERT INTO "+dbName+".fence VALUES (1)")

				s = ts.open(t)
				// Each row once as it must come: streamed (logged) or read (the rest); a touched
				// table's logged insert is streamed (and may be read as well).
				want := map[int64]capture.Op{}
				for i := int64(1); i <= 7; i++ {
					want[i] = map[bool]capture.Op{true: capture.OpCreate, false: capture.OpRead}[tc.logged]
				}
				if tc.touched {
					want[50] = capture.OpCreate
				}
				got := map[int64]map[capture.Op]bool{}
				ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
					if n := len(recs); n > 0 && recs[n-1].tbl == "n" && recs[n-1].kind == capture.Change {
						r := recs[n-1]
						if got[r.ev.After[0].Int] == nil {
							got[r.ev.After[0].Int] = map[capture.Op]bool{}
						}
						got[r.ev.After[0].Int][r.op] = true
					}
					for id, op := range want {
						if !got[id][op] {
							return false
						}
					}
					return true
				})
				for id, ops := range got {
					if _, ok := want[id]; !ok || (tc.logged && ops[capture.OpRead]) {
						t.Fatalf("row %d came as %v, want %q", id, ops, want[id])
					}
				}
				// Its changes stream after it; the fence says the stream got past them.
				mustExec(t, db, "INSERT INTO "+newDB+".n VALUES (100, 1)", "INSERT INTO "+dbName+".fence VALUES (2)")
				recs := ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
					n := len(recs)
					return n > 0 && recs[n-1].tbl == "fence" && recs[n-1].ev.After[0].Int == 2
				})
				streamed := false
				for _, r := range recs {
					streamed = streamed || (r.tbl == "n" && r.op == capture.OpCreate && r.ev.After[0].Int == 100)
				}
				if !streamed {
					t.Fatalf("the insert into the new table after the snapshot did not stream")
				}
				s.Close()

				// A second restart: the table is in the history now; nothing is read again.
				mustExec(t, db, "INSERT INTO "+dbName+".fence VALUES (3)")
				s = ts.open(t)
				defer s.Close()
				recs = ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
					n := len(recs)
					return n > 0 && recs[n-1].tbl == "fence" && recs[n-1].ev.After[0].Int == 3
				})
				for _, r := range recs {
					if r.op == capture.OpRead {
						t.Fatalf("read %s%s again after the second restart", r.tbl, r.text)
					}
				}
			})
		}
	}
}

// lockedLog collects a source's log lines (its goroutines log too).
type lockedLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *lockedLog) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }
