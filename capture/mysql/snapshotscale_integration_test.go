//go:build integration

package mysql

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/testkit"
	"github.com/sluicecdc/sluice/schema"
)

// every snapshotTxTables tables; the spares are opened under the same lock as the first
// readers, so rows written after the snapshot's position (inserted, updated, deleted while the
// readers have not started yet) are in none of them: the snapshot holds exactly the rows at
// the position, and the stream carries every change after it.
func TestSnapshotSpareTransactions(t *testing.T) {
	defer func(n int) { snapshotTxTables = n }(snapshotTxTables)
	snapshotTxTables = 2
	const tables = 8
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			db := openDB(t, srv.dsn)
			freshDB(t, db, dbSpares)
			t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS " + dbSpares) })
			for i := 1; i <= tables; i++ {
				mustExec(t, db, fmt.Sprintf("CREATE TABLE "+dbSpares+".t%d (id INT PRIMARY KEY, v INT)", i),
					fmt.Sprintf("INSERT INTO "+dbSpares+".t%d VALUES (0, 0), (1, 1), (2, 2)", i))
			}
			ts := newTestSource(t, srv, dbSpares)
			ts.cfg.SnapshotWorkers = 2
			var logs testkit.SyncBuffer
			ts.cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			ts.cfg.estimateHook = func(map[schema.TableID]int64) {
				// After the position, before any reader reads: in the stream only.
				for i := 1; i <= tables; i++ {
					mustExec(t, db, fmt.Sprintf("INSERT INTO "+dbSpares+".t%d VALUES (100, 100)", i),
						fmt.Sprintf("UPDATE "+dbSpares+".t%d SET v = 11 WHERE id = 1", i),
						fmt.Sprintf("DELETE FROM "+dbSpares+".t%d WHERE id = 0", i))
				}
			}
			s := ts.open(t)
			defer s.Close()
			n := 0
			recs := ts.collect(t, s, 60*time.Second, func(r []rec) bool {
				if len(r) > 0 && r[len(r)-1].kind == capture.Change && r[len(r)-1].op != capture.OpRead {
					n++
				}
				return n == 3*tables
			})
			var snap, stream []string
			for _, c := range changes(recs) {
				line := strings.TrimPrefix(c.tbl, dbSpares+".") + " " + string(c.op) + " " + c.text
				if c.op == capture.OpRead {
					snap = append(snap, line)
				} else {
					stream = append(stream, line)
				}
			}
			var want []string
			for i := 1; i <= tables; i++ {
				for k := range 3 {
					want = append(want, fmt.Sprintf("t%d r -(%d,%d)", i, k, k))
				}
			}
			sort.Strings(snap)
			sort.Strings(want)
			if strings.Join(snap, "\n") != strings.Join(want, "\n") {
				t.Errorf("snapshot rows:\n%s\nwant:\n%s", strings.Join(snap, "\n"), strings.Join(want, "\n"))
			}
			if len(stream) != 3*tables {
				t.Errorf("stream: %d changes, want %d:\n%s", len(stream), 3*tables, strings.Join(stream, "\n"))
			}
			if moved := strings.Count(logs.String(), "reader moved on to a spare transaction"); moved < 2 {
				t.Errorf("readers moved to a spare transaction %d times, want 2 (8 tables, 2 per transaction, 2 readers: 4 transactions)", moved)
			}
		})
	}
}
