//go:build integration

package postgres

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sync"
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
		ld := startLoad(t, db, n)
		db.exec(`INSERT INTO debezium_signal VALUES ('ro-1', 'execute-snapshot', '{"data-collections": ["public.t"]}')`)
		incrementalUnderLoad(t, db, s, n, ld)
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

// TestReadOnlyResumedInitialSnapshot: an initial snapshot interrupted part way resumes in
// read-only mode (the rest of it read in the chunk windows of each read's own snapshot, as a
// user that cannot write watermarks) while rows change: every key ends at the table's state.
func TestReadOnlyResumedInitialSnapshot(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		const rows = 3000
		db.exec("CREATE TABLE a (id int PRIMARY KEY, v int NOT NULL)", "CREATE TABLE b (id int PRIMARY KEY, v int NOT NULL)",
			"CREATE TABLE sentinel (id int PRIMARY KEY)",
			fmt.Sprintf("INSERT INTO a SELECT g, 0 FROM generate_series(1, %d) g", rows),
			fmt.Sprintf("INSERT INTO b SELECT g, 0 FROM generate_series(1, %d) g", rows))
		cfg := db.config()
		cfg.DSN = readOnlyUser(t, db)
		cfg.ReadOnly = true
		cfg.PublicationMode = PublicationDisabled
		cfg.SnapshotMode = SnapshotInitial
		cfg.SnapshotChunkRows = 300
		state := map[string]map[int64]int64{"a": {}, "b": {}}
		apply := func(ev capture.Event) {
			if ev.Kind != capture.Change || ev.Table == nil || state[ev.Table.ID.Table] == nil {
				return
			}
			m := state[ev.Table.ID.Table]
			if ev.Op == capture.OpDelete {
				delete(m, ev.Before[0].Int)
				return
			}
			m[ev.After[0].Int] = ev.After[1].Int
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		s := db.open(cfg)
		stored := deliverChanges(t, ctx, s, rows+rows/2, apply)
		s.Close()
		if p, _ := ParseOffset(stored); p == nil || p.SnapTable != "b" {
			t.Fatalf("stored offset %s: want the progress in table b", stored)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // rows change while the rest is read
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				tab := []string{"a", "b"}[i%2]
				q := "UPDATE " + tab + " SET v = v + 1 WHERE id = $1"
				if i%40 == 0 {
					q = "DELETE FROM " + tab + " WHERE id = $1"
				}
				db.conn.Exec(context.Background(), q, 1+(i*7919)%rows)
			}
		}()
		cfg.Offset = stored
		s = db.open(cfg)
		stopped := false
		for {
			ev, err := s.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Position != nil {
				s.Ack(ctx, ev.Position)
			}
			if isSentinel(ev) {
				break
			}
			apply(ev)
			if !stopped && ev.Kind == capture.SnapshotDone {
				stopped = true
				close(stop)
				wg.Wait()
				db.exec("INSERT INTO sentinel VALUES (1)")
			}
		}
		for _, tab := range []string{"a", "b"} {
			want := map[int64]int64{}
			r, err := db.conn.Query(ctx, "SELECT id, v FROM "+tab)
			if err != nil {
				t.Fatal(err)
			}
			for r.Next() {
				var id, v int64
				r.Scan(&id, &v)
				want[id] = v
			}
			r.Close()
			if len(want) != len(state[tab]) {
				t.Errorf("table %s: %d keys in the events, %d in the table", tab, len(state[tab]), len(want))
			}
			for id, v := range want {
				if got, ok := state[tab][id]; !ok || got != v {
					t.Errorf("table %s id %d: events end at %d (present %v), table has %d", tab, id, got, ok, v)
				}
			}
		}
	})
}
