//go:build integration

package mysql

import (
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
			vals := zeroRows(rows)
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

// TestMySQLIncrementalSnapshotBadFilter: an execute-snapshot whose additional-conditions
// filter the server refuses is a bad signal, refused with an error in the log; the stream goes
// on and the next, correct signal is read. It used to stop the source at the first chunk.
func TestMySQLIncrementalSnapshotBadFilter(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			const rows = 30
			db, dbName := snapshotDB(t, srv, "sl_badfilter", false, "t (id INT PRIMARY KEY, v INT NOT NULL)")
			vals := zeroRows(rows)
			mustExec(t, db, "INSERT INTO "+dbName+".t VALUES "+strings.Join(vals, ","))

			ts := newTestSource(t, srv, dbName)
			ts.cfg.SnapshotMode = SnapshotNoData
			ts.cfg.SnapshotChunkRows = 100
			ts.cfg.SignalDataCollection = dbName + ".sig"
			s := ts.open(t)
			defer s.Close()
			ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
				return len(recs) > 0 && recs[len(recs)-1].kind == capture.SnapshotDone
			})
			cond := func(f string) string {
				return `'{"data-collections": ["` + dbName + `.t"], "additional-conditions": [{"data-collection": "` + dbName + `.t", "filter": "` + f + `"}]}'`
			}
			mustExec(t, db, `INSERT INTO `+dbName+`.sig VALUES ('bad-1', 'execute-snapshot', `+cond("id >< 3")+`)`,
				`INSERT INTO `+dbName+`.sig VALUES ('bad-2', 'execute-snapshot', `+cond("no_such_column = 1")+`)`,
				`INSERT INTO `+dbName+`.sig VALUES ('good-1', 'execute-snapshot', `+cond("id > 10")+`)`)
			recs := ts.collect(t, s, 20*time.Second, readsAtLeast(rows-10))
			for _, r := range recs {
				if r.op == capture.OpRead && r.ev.After[0].Int <= 10 {
					t.Fatalf("read %s outside the good signal's filter", r.text)
				}
			}
		})
	}
}

// TestMySQLTableAddedToIncludeList: a table added to the include lists while the connector was
// stopped has rows written before the stored offset, which the binlog from there never brings.
// The restart reads them in an incremental snapshot, the way PostgreSQL does. They used to be
// lost without a word: only the table's later changes were published.
func TestMySQLTableAddedToIncludeList(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			db, dbName := snapshotDB(t, srv, "sl_addedtable", false, "a (id INT PRIMARY KEY, v INT NOT NULL)", "b (id INT PRIMARY KEY, v INT NOT NULL)")
			mustExec(t, db, "INSERT INTO "+dbName+".a VALUES (1, 0)", "INSERT INTO "+dbName+".b VALUES (1, 0), (2, 0)")
			ts := newTestSource(t, srv, dbName)
			ts.cfg.TableInclude = []string{dbName + `\.a`, dbName + `\.sig`, dbName + `\.fence`}
			ts.cfg.SignalDataCollection = dbName + ".sig"
			s := ts.open(t)
			ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
				return len(recs) > 0 && recs[len(recs)-1].kind == capture.SnapshotDone
			})
			mustExec(t, db, "INSERT INTO "+dbName+".b VALUES (3, 0)", "UPDATE "+dbName+".b SET v = 1 WHERE id = 1", "INSERT INTO "+dbName+".fence VALUES (1)")
			ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
				return len(recs) > 0 && recs[len(recs)-1].tbl == "fence"
			})
			s.Close()

			ts.cfg.TableInclude = append(ts.cfg.TableInclude, dbName+`\.b`)
			s = ts.open(t)
			defer s.Close()
			got := map[int64]int64{}
			ts.collect(t, s, 20*time.Second, func(recs []rec) bool {
				if n := len(recs); n > 0 && recs[n-1].tbl == "b" && recs[n-1].op == capture.OpRead {
					got[recs[n-1].ev.After[0].Int] = recs[n-1].ev.After[1].Int
				}
				return len(got) == 3
			})
			if got[1] != 1 || got[2] != 0 || got[3] != 0 {
				t.Fatalf("reads of b %v, want 1:1 2:0 3:0", got)
			}
		})
	}
}
