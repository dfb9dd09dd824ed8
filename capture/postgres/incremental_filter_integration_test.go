//go:build integration

package postgres

import (
	"testing"

	"github.com/sluicecdc/sluice/capture"
)

// TestIncrementalSnapshotBadFilter: an execute-snapshot whose additional-conditions filter the
// server refuses is a bad signal, refused with an error in the log; the stream goes on and the
// next, correct signal is read. It used to stop the source at the first chunk, and every
// restart again (the filter was stored with the snapshot's progress).
func TestIncrementalSnapshotBadFilter(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		const n = 30
		s := db.open(incrDB(t, db, n, 100))
		db.exec(`INSERT INTO debezium_signal VALUES ('bad-1', 'execute-snapshot', '{"data-collections": ["public.t"],
  "additional-conditions": [{"data-collection": "public.t", "filter": "id >< 3"}]}')`,
			`INSERT INTO debezium_signal VALUES ('bad-2', 'execute-snapshot', '{"data-collections": ["public.t"],
  "additional-conditions": [{"data-collection": "public.t", "filter": "no_such_column = 1"}]}')`,
			`INSERT INTO debezium_signal VALUES ('good-1', 'execute-snapshot', '{"data-collections": ["public.t"],
  "additional-conditions": [{"data-collection": "public.t", "filter": "id > 10"}]}')`)
		ids, _ := incrReads(t, s, func(ev capture.Event, reads int) bool { return reads >= n-10 })
		for _, id := range ids {
			if id <= 10 {
				t.Fatalf("read id %d outside the good signal's filter", id)
			}
		}
	})
}

// TestBlockingSnapshotBadFilter: as TestIncrementalSnapshotBadFilter, for a blocking snapshot.
// It used to stop the source when the tables were read.
func TestBlockingSnapshotBadFilter(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		const n = 30
		s := db.open(incrDB(t, db, n, 100))
		db.exec(`INSERT INTO debezium_signal VALUES ('bad-1', 'execute-snapshot', '{"data-collections": ["public.t"], "type": "blocking",
  "additional-conditions": [{"data-collection": "public.t", "filter": "id >< 3"}]}')`,
			`INSERT INTO debezium_signal VALUES ('good-1', 'execute-snapshot', '{"data-collections": ["public.t"], "type": "blocking",
  "additional-conditions": [{"data-collection": "public.t", "filter": "id > 10"}]}')`)
		ids, _ := incrReads(t, s, func(ev capture.Event, reads int) bool { return reads >= n-10 })
		for _, id := range ids {
			if id <= 10 {
				t.Fatalf("read id %d outside the good signal's filter", id)
			}
		}
	})
}

// TestIncrementalSnapshotFilterFailsOnRows: a filter the server accepts but that fails on some
// rows' values (here a division by zero at id 5) ends that table's snapshot with an error in
// the log; the stream and the next signal go on. It used to stop the source at that chunk,
// and every restart again (the filter is stored with the progress).
func TestIncrementalSnapshotFilterFailsOnRows(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		const n = 30
		s := db.open(incrDB(t, db, n, 100))
		ticker(t, db) // events to check the snapshot's end at
		db.exec(`INSERT INTO debezium_signal VALUES ('bad-1', 'execute-snapshot', '{"data-collections": ["public.t"],
  "additional-conditions": [{"data-collection": "public.t", "filter": "1 / (id - 5) <> 0"}]}')`)
		started := false // positions carry the snapshot's tables while it runs
		incrReads(t, s, func(ev capture.Event, reads int) bool {
			p, _ := ev.Position.(*Position)
			if p == nil {
				return false
			}
			started = started || len(p.IncrTables) > 0
			return started && len(p.IncrTables) == 0
		})
		db.exec(`INSERT INTO debezium_signal VALUES ('good-1', 'execute-snapshot', '{"data-collections": ["public.t"],
  "additional-conditions": [{"data-collection": "public.t", "filter": "id > 10"}]}')`)
		ids, _ := incrReads(t, s, func(ev capture.Event, reads int) bool { return reads >= n-10 })
		for _, id := range ids {
			if id <= 10 {
				t.Fatalf("read id %d outside the good signal's filter", id)
			}
		}
	})
}
