//go:build integration

package mysql

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/schema"
)

// TestSnapshotStaleStatistics: the row estimates come from InnoDB's persistent statistics,
// which can count a table with rows as empty (STATS_AUTO_RECALC=0, or the ~10 s before the
// background recalculation). Such a table must still be read in full; a table the statistics
// say has rows gets information_schema's fresh estimate.
func TestSnapshotStaleStatistics(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			db := openDB(t, srv.dsn)
			freshDB(t, db, dbStalestats)
			t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS " + dbStalestats) })
			mustExec(t, db,
				"CREATE TABLE "+dbStalestats+".stale (id INT PRIMARY KEY, n INT) STATS_PERSISTENT=1 STATS_AUTO_RECALC=0",
				"CREATE TABLE "+dbStalestats+".empty (id INT PRIMARY KEY, n INT)",
				"CREATE TABLE "+dbStalestats+".counted (id INT PRIMARY KEY, n INT) STATS_PERSISTENT=1 STATS_AUTO_RECALC=0",
				"CREATE TABLE "+dbStalestats+".other (id INT PRIMARY KEY, n INT) ENGINE=MyISAM")
			for i := range 5 {
				mustExec(t, db, fmt.Sprintf("INSERT INTO "+dbStalestats+".stale VALUES (%d, %d)", i, i))
			}
			for i := range 40 {
				mustExec(t, db, fmt.Sprintf("INSERT INTO "+dbStalestats+".counted VALUES (%d, %d)", i, i))
			}
			mustExec(t, db, "ANALYZE TABLE "+dbStalestats+".counted", "INSERT INTO "+dbStalestats+".other VALUES (1, 1), (2, 2)")
			// The scenario: the statistics say stale is empty.
			var n int64
			if err := db.QueryRow("SELECT n_rows FROM mysql.innodb_table_stats WHERE database_name = '" + dbStalestats + "' AND table_name = 'stale'").Scan(&n); err != nil || n != 0 {
				t.Fatalf("innodb_table_stats n_rows of stale = %d, %v; want 0 (the test needs stale statistics)", n, err)
			}
			ts := newTestSource(t, srv, dbStalestats)
			ts.cfg.SnapshotWorkers = 2
			var mu sync.Mutex
			est := map[string]int64{}
			ts.cfg.estimateHook = func(m map[schema.TableID]int64) {
				mu.Lock()
				defer mu.Unlock()
				for id, n := range m {
					est[id.Table] = n
				}
			}
			s := ts.open(t)
			defer s.Close()
			count := map[string]int{}
			for _, c := range changes(ts.collect(t, s, 60*time.Second, untilSnapshotDone)) {
				count[strings.TrimPrefix(c.tbl, dbStalestats+".")]++
			}
			mu.Lock()
			defer mu.Unlock()
			if est["stale"] != 0 || est["counted"] < 20 || est["other"] != 2 {
				t.Errorf("estimates %v: want stale 0 (the statistics), counted ~40 (information_schema, asked because the statistics count rows), other 2 (no statistics: information_schema)", est)
			}
			if count["stale"] != 5 || count["counted"] != 40 || count["other"] != 2 || count["empty"] != 0 {
				t.Fatalf("rows read %v, want stale 5, counted 40, other 2, empty 0", count)
			}
		})
	}
}
