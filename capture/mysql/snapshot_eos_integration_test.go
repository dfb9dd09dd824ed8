//go:build integration

package mysql

import (
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestSnapshotPositionsCoverTheirRows: an exactly-once sink commits a transaction only at a
// position that covers every record in it (capture.Rereads false), so each snapshot row's
// position either rereads it (the rows of a batch before its last carry the progress made
// before the batch) or names the row's own key as done. Before, every row carried the
// progress before its batch without saying so, and --exactly-once committed rows that the
// restart from the stored offset read again (issue 18 §1: read_committed duplicates).
func TestSnapshotPositionsCoverTheirRows(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			db := openDB(t, srv.dsn)
			name := "sluice_snapeos_" + srv.name
			freshDB(t, db, name)
			const n = 1300
			mustExec(t, db, "CREATE TABLE "+name+".t (id INT PRIMARY KEY, v INT)",
				"INSERT INTO "+name+".t VALUES "+strings.Join(zeroRows(n), ","))
			ts := newTestSource(t, srv, name)
			ts.cfg.SnapshotChunkRows = 1000 // batches of 512 rows inside a range
			s := ts.open(t)
			defer s.Close()
			recs := ts.collect(t, s, time.Minute, func(recs []rec) bool {
				return len(recs) > 0 && recs[len(recs)-1].kind == capture.SnapshotDone
			})
			var reads, exact int
			for _, r := range recs {
				if r.kind != capture.Change || r.op != capture.OpRead {
					continue
				}
				reads++
				id := r.ev.After[0].Int
				p, err := ParsePosition(r.ev.Position.AppendOffset(nil))
				if err != nil {
					t.Fatal(err)
				}
				var done int64 // the last key the position says is done (0: none)
				if len(p.SnapAfter) == 1 {
					k, err := hex.DecodeString(p.SnapAfter[0])
					if err != nil {
						t.Fatal(err)
					}
					if done, err = strconv.ParseInt(string(k), 10, 64); err != nil {
						t.Fatalf("snapshot_after %q: %v", k, err)
					}
				}
				if capture.Rereads(r.ev.Position) {
					if done >= id {
						t.Errorf("row %d: a rereading position says rows up to %d are done", id, done)
					}
					continue
				}
				exact++
				if done != id {
					t.Errorf("row %d: its position covers rows up to %d, not the row itself (%s)", id, done, p)
				}
			}
			if reads != n || exact < n/512 {
				t.Fatalf("%d reads (want %d), %d with a covering position (want at least %d)", reads, n, exact, n/512)
			}
		})
	}
}
