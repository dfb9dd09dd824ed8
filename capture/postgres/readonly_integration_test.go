//go:build integration

package postgres

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// readOnlyUser makes a login role that may replicate and read but not write: SELECT on the
// tables only, and no EXECUTE on pg_logical_emit_message in the test's database (so a
// watermark write fails). It returns the role's DSN.
func readOnlyUser(t *testing.T, db *testDB) string {
	t.Helper()
	ctx := context.Background()
	role := fmt.Sprintf("sl_ro_%s_%d", db.name[len(db.name)-8:], os.Getpid())
	db.adm.Exec(ctx, "DROP ROLE IF EXISTS "+role)
	if _, err := db.adm.Exec(ctx, "CREATE ROLE "+role+" LOGIN REPLICATION PASSWORD 'ro'"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// After the database is dropped (cleanups run last in, first out: this one was
		// registered after newTestDB's).
		db.adm.Exec(context.Background(), "DROP ROLE IF EXISTS "+role)
	})
	db.exec("GRANT SELECT ON ALL TABLES IN SCHEMA public TO "+role,
		`DO $$ DECLARE f regprocedure; BEGIN
  FOR f IN SELECT oid::regprocedure FROM pg_proc WHERE proname = 'pg_logical_emit_message' LOOP
    EXECUTE 'REVOKE EXECUTE ON FUNCTION ' || f || ' FROM PUBLIC';
  END LOOP; END $$`,
		"CREATE PUBLICATION sluice FOR ALL TABLES")
	u, err := url.Parse(db.dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(role, "ro")
	return u.String()
}

// TestReadOnlyIncrementalSnapshotUnderLoad is TestIncrementalSnapshotUnderLoad with a user
// that cannot write (read.only): the chunk windows come from each read's own snapshot. Every
// key's final state from the events equals the table's, and no snapshot read is older than a
// stream event emitted before it for the same key.
func TestReadOnlyIncrementalSnapshotUnderLoad(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		const n = 5000
		cfg := incrDB(t, db, n, 200)
		cfg.DSN = readOnlyUser(t, db)
		cfg.ReadOnly = true
		cfg.PublicationMode = PublicationDisabled
		s := db.open(cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var txns atomic.Int64
		workload(t, db, n, stop, &wg, &txns)
		defer func() { close(stop); wg.Wait() }()
		db.exec(`INSERT INTO debezium_signal VALUES ('ro-1', 'execute-snapshot', '{"data-collections": ["public.t"]}')`)

		state := map[int64]*keyState{}
		reads, stopped := 0, false
		for {
			ev, err := s.Next(ctx)
			if err != nil {
				t.Fatalf("Next after %d reads: %v", reads, err)
			}
			if ev.Position != nil {
				s.Ack(ctx, ev.Position)
			}
			if ev.Table != nil && ev.Table.ID.Table == "sentinel" {
				break
			}
			reads += follow(t, ev, state)
			if !stopped && s.Progress().Snapshot.Completed.Load() {
				stopped = true
				close(stop)
				wg.Wait()
				stop = make(chan struct{}) // for the deferred close
				db.exec("INSERT INTO sentinel VALUES (1)")
			}
		}
		want := finalState(t, db)
		for id, v := range want {
			st := state[id]
			if st == nil || !st.seen || st.deleted || st.v != v {
				t.Errorf("id %d: events end at %+v, table has v=%d", id, st, v)
			}
		}
		for id, st := range state {
			if _, ok := want[id]; !ok && !st.deleted {
				t.Errorf("id %d: deleted in the table, events end at %+v", id, st)
			}
		}
		t.Logf("%d read-only incremental reads of %d rows, %d concurrent transactions", reads, n, txns.Load())
		if reads == 0 || reads > n {
			t.Errorf("%d incremental reads, want 1..%d", reads, n)
		}
	})
}

// TestReadOnlyIncrementalSnapshotIdle: on a database nothing writes to, a read-only
// incremental snapshot still ends (the stream's position comes from keepalives it asks for).
func TestReadOnlyIncrementalSnapshotIdle(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		const n = 1000
		cfg := incrDB(t, db, n, 100)
		cfg.DSN = readOnlyUser(t, db)
		cfg.ReadOnly = true
		cfg.PublicationMode = PublicationDisabled
		s := db.open(cfg)
		db.exec(`INSERT INTO debezium_signal VALUES ('ro-2', 'execute-snapshot', '{"data-collections": ["public.t"]}')`)
		start := time.Now()
		ids, _ := incrReads(t, s, func(_ capture.Event, reads int) bool { return reads >= n })
		if len(ids) != n {
			t.Fatalf("%d reads, want %d", len(ids), n)
		}
		t.Logf("%d rows in %d chunks in %v", n, n/100, time.Since(start).Round(time.Millisecond))
	})
}
