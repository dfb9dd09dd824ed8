//go:build integration

package postgres

import (
	"context"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// server is one PostgreSQL under test.
type server struct {
	name string
	dsn  string
}

func servers(t *testing.T) []server {
	t.Helper()
	var out []server
	for i, d := range testkit.Servers(t, "SLUICE_TEST_PG_DSN", "SLUICE_TEST_PG17_DSN") {
		if d != "" {
			out = append(out, server{[]string{"pg15", "pg17"}[i], d})
		}
	}
	return out
}

// eachServer runs f against every configured server in a fresh database.
func eachServer(t *testing.T, f func(t *testing.T, db *testDB)) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			f(t, newTestDB(t, srv))
		})
	}
}

type testDB struct {
	t    *testing.T
	name string
	dsn  string
	conn *pgx.Conn
	adm  *pgx.Conn
}

func newTestDB(t *testing.T, srv server) *testDB {
	t.Helper()
	ctx := context.Background()
	adm, err := pgx.Connect(ctx, srv.dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", srv.name, err)
	}
	// Unique per process: other runs of these tests may share the servers.
	name := "sl_" + strings.ToLower(strings.NewReplacer("/", "_", "-", "_").Replace(t.Name()))
	if len(name) > 50 {
		name = name[:50]
	}
	name += "_" + strconv.Itoa(os.Getpid())
	dropDB(t, ctx, adm, name)
	if _, err := adm.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(srv.dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	db := &testDB{t: t, name: name, dsn: u.String(), adm: adm}
	db.conn, err = pgx.Connect(ctx, db.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.conn.Close(ctx)
		dropDB(t, ctx, adm, name)
		adm.Close(ctx)
	})
	return db
}

func dropDB(t *testing.T, ctx context.Context, adm *pgx.Conn, name string) {
	if err := testkit.DropPGDatabase(ctx, adm, name); err != nil {
		t.Error(err)
	}
}

// slotReleased waits until no walsender holds the test's slot: Close returns before the
// server's backend exits, and a preflight in that moment finds the slot in use (retryable, so
// the CLI's retries cover it; a test calling Open directly must wait).
func (db *testDB) slotReleased() {
	db.t.Helper()
	for i := 0; i < 100; i++ {
		var active bool
		err := db.adm.QueryRow(context.Background(), "SELECT active FROM pg_replication_slots WHERE slot_name = $1", db.name).Scan(&active)
		if err != nil || !active {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	db.t.Fatalf("slot %s still in use 10 s after Close", db.name)
}

func (db *testDB) exec(sqls ...string) {
	db.t.Helper()
	for _, q := range sqls {
		if _, err := db.conn.Exec(context.Background(), q); err != nil {
			db.t.Fatalf("%s: %v", q, err)
		}
	}
}

func (db *testDB) config() Config {
	return Config{DSN: db.dsn, Slot: db.name, Publication: "sluice", StatusInterval: 100 * time.Millisecond, SnapshotMode: SnapshotNoData}
}

func (db *testDB) open(cfg Config) *Source {
	db.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, cfg)
	if err != nil {
		db.t.Fatalf("Open: %v", err)
	}
	db.t.Cleanup(func() { s.Close() })
	return s
}

// collect reads events until n change events (op c/u/d/r/t/m) were seen, acking each.
func collect(t *testing.T, s *Source, n int) []capture.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out []capture.Event
	changes := 0
	for changes < n {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("Next after %d changes: %v", changes, err)
		}
		if ev.Position != nil {
			if err := s.Ack(ctx, ev.Position); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, ev)
		if ev.Kind == capture.Change {
			changes++
		}
	}
	return out
}

// changesOnly filters Change events.
func changesOnly(evs []capture.Event) []capture.Event {
	var out []capture.Event
	for _, e := range evs {
		if e.Kind == capture.Change {
			out = append(out, e)
		}
	}
	return out
}

func rowInt(r capture.Row, i int) int64 { return r[i].Int }

// snapshotOffset reads s (acking) to the end of its snapshot and returns the offset stored then.
func snapshotOffset(t *testing.T, ctx context.Context, s *Source) []byte {
	t.Helper()
	var last capture.Position
	for {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Position != nil {
			s.Ack(ctx, ev.Position)
			last = ev.Position
		}
		if ev.Kind == capture.SnapshotDone {
			return last.(*Position).AppendOffset(nil)
		}
	}
}

// followAdded reads s (acking) until no snapshot runs, lastTable has had lastReads reads and
// a sentinel row came; it returns the reads per table and the keys each table ends with, of
// tables only.
func followAdded(t *testing.T, ctx context.Context, s *Source, lastTable string, lastReads int, tables ...string) (map[string]int, map[string]map[int64]bool) {
	t.Helper()
	reads := map[string]int{}
	keys := map[string]map[int64]bool{}
	for _, tab := range tables {
		keys[tab] = map[int64]bool{}
	}
	for done := false; !done; {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("Next: %v (reads so far %v)", err, reads)
		}
		if ev.Position != nil {
			s.Ack(ctx, ev.Position)
		}
		if isSentinel(ev) && reads[lastTable] >= lastReads && !s.Progress().Snapshot.Running.Load() {
			done = true
		}
		if ev.Kind != capture.Change || ev.Table == nil || keys[ev.Table.ID.Table] == nil {
			continue
		}
		tab := ev.Table.ID.Table
		if ev.Op == capture.OpRead {
			reads[tab]++
		}
		if ev.Before != nil && ev.Op != capture.OpRead {
			delete(keys[tab], ev.Before[0].Int)
		}
		if ev.After != nil {
			keys[tab][ev.After[0].Int] = true
		}
	}
	return reads, keys
}

// deliverChanges passes s's events to apply until n changes came, as a pipeline that then
// dies would, and returns the offset of the last event (not acked: the caller stores it).
func deliverChanges(t *testing.T, ctx context.Context, s *Source, n int, apply func(capture.Event)) []byte {
	t.Helper()
	var stored []byte
	for changes := 0; changes < n; {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		apply(ev)
		if ev.Kind == capture.Change {
			changes++
		}
		stored = ev.Position.(*Position).AppendOffset(nil)
	}
	return stored
}
