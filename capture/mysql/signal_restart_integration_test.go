//go:build integration

package mysql

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestMySQLSignalRowRestartBeforeEffect stops the source right after it handed out the row of
// an execute-snapshot signal, before any later position (the first to carry the snapshot's
// progress): a crash after that row's offset was stored. The restart must still run the
// snapshot. The signal row's own position used to say "done", so the restart skipped the row
// and the snapshot was lost without a word.
func TestMySQLSignalRowRestartBeforeEffect(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			const rows = 40
			db, dbName := snapshotDB(t, srv, "sl_sigrestart", false, "t (id INT PRIMARY KEY, v INT NOT NULL)")
			var vals []string
			for i := 1; i <= rows; i++ {
				vals = append(vals, fmt.Sprintf("(%d, 0)", i))
			}
			mustExec(t, db, "INSERT INTO "+dbName+".t VALUES "+strings.Join(vals, ","))

			ts := newTestSource(t, srv, dbName)
			ts.cfg.SnapshotMode = SnapshotNoData
			ts.cfg.SnapshotChunkRows = 100
			ts.cfg.SignalDataCollection = dbName + ".sig"
			s := ts.open(t)
			ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
				return len(recs) > 0 && recs[len(recs)-1].kind == capture.SnapshotDone
			})
			mustExec(t, db, `INSERT INTO `+dbName+`.sig VALUES ('snap-1', 'execute-snapshot', '{"data-collections": ["`+dbName+`.t"]}')`)
			ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
				return len(recs) > 0 && recs[len(recs)-1].tbl == "sig"
			})
			s.Close() // the offset is the signal row's position

			s = ts.open(t)
			defer s.Close()
			recs := ts.collect(t, s, 20*time.Second, readsAtLeast(rows))
			var reads int
			for _, r := range recs {
				if r.op == capture.OpRead && r.tbl == "t" {
					reads++
				}
			}
			if reads != rows {
				t.Fatalf("%d reads of t after the restart, want %d", reads, rows)
			}
		})
	}
}
