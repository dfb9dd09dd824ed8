//go:build integration

package mysql

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestMySQLDatabaseCreatedWhileStopped: a database created while the connector was stopped,
// matching --database-include, with a table and rows written before the restart. Every row
// must come out after the restart (from the binlog or a snapshot of the new tables).
func TestMySQLDatabaseCreatedWhileStopped(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			db, dbName := snapshotDB(t, srv, "sl_newdb", false, "a (id INT PRIMARY KEY, v INT NOT NULL)")
			newDB := dbName + "_x"
			mustExec(t, db, "DROP DATABASE IF EXISTS "+newDB)
			t.Cleanup(func() {
				if !t.Failed() {
					db.Exec("DROP DATABASE IF EXISTS " + newDB)
				}
			})
			mustExec(t, db, "INSERT INTO "+dbName+".a VALUES (1, 0)")
			ts := newTestSource(t, srv, dbName)
			ts.cfg.DatabaseInclude = []string{dbName + ".*"}
			ts.cfg.SignalDataCollection = dbName + ".sig"
			s := ts.open(t)
			ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
				return len(recs) > 0 && recs[len(recs)-1].kind == capture.SnapshotDone
			})
			s.Close()

			mustExec(t, db, "CREATE DATABASE "+newDB, "CREATE TABLE "+newDB+".n (id INT PRIMARY KEY, v INT NOT NULL)",
				"INSERT INTO "+newDB+".n VALUES "+strings.Join(zeroRows(5), ","))
			mustExec(t, db, "INSERT INTO "+dbName+".fence VALUES (1)")

			s = ts.open(t)
			defer s.Close()
			got := map[int64]bool{}
			ts.collect(t, s, 20*time.Second, func(recs []rec) bool {
				if n := len(recs); n > 0 && recs[n-1].tbl == "n" && recs[n-1].kind == capture.Change {
					got[recs[n-1].ev.After[0].Int] = true
				}
				return len(got) == 5
			})
		})
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
