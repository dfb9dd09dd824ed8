//go:build integration

package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// proxied is db's config with every connection through a fault proxy, a 1 s query timeout and a
// read timeout the test never reaches (so only the side connection's bound can end Next).
func proxied(t *testing.T, db *testDB) (Config, *testkit.Proxy) {
	t.Helper()
	u, _ := url.Parse(db.dsn)
	p := testkit.StartProxy(t, u.Host)
	u.Host = p.Addr()
	cfg := db.config()
	cfg.DSN = u.String()
	cfg.QueryTimeout = time.Second
	cfg.ReadTimeout = time.Minute
	return cfg, p
}

// stallConn holds the bytes of the proxied connection c (the others go on).
func stallConn(t *testing.T, p *testkit.Proxy, c *pgx.Conn) {
	t.Helper()
	addr := c.PgConn().Conn().LocalAddr().String()
	if n := p.StallWhere(func(a net.Addr) bool { return a.String() == addr }); n != 1 {
		t.Fatalf("stalled %d connections, want 1", n)
	}
}

// untilError calls Next (acking, and keeping the offset of each position as the pipeline
// would) until it fails, and returns the error and the changes before it. Next must fail
// within limit: before the side connections were bounded it waited for ever.
func untilError(t *testing.T, s *Source, limit time.Duration) (err error, offset []byte, evs []capture.Event) {
	t.Helper()
	type result struct {
		err    error
		offset []byte
		evs    []capture.Event
	}
	done := make(chan result, 1)
	go func() {
		var r result
		for {
			ev, err := s.Next(context.Background())
			if err != nil {
				r.err = err
				done <- r
				return
			}
			if ev.Position != nil {
				s.Ack(context.Background(), ev.Position)
				r.offset = ev.Position.AppendOffset(nil)
			}
			if ev.Kind == capture.Change {
				ev.After = ev.After.Clone()
				r.evs = append(r.evs, ev)
			}
		}
	}()
	select {
	case r := <-done:
		return r.err, r.offset, r.evs
	case <-time.After(limit):
		t.Fatalf("Next hung for %v on a stalled side connection", limit)
		return nil, nil, nil
	}
}

// reopen opens the source again as the capture command does after a retryable error: the
// walsender of the closed source may hold the slot for a moment (a retryable "in use").
func reopen(t *testing.T, db *testDB, cfg Config) *Source {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		s, err := Open(ctx, cfg)
		cancel()
		if err == nil {
			t.Cleanup(func() { s.Close() })
			return s
		}
		if !capture.Retryable(err) || time.Now().After(deadline) {
			t.Fatalf("Open: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func wantQueryTimeout(t *testing.T, err error, took time.Duration) {
	t.Helper()
	var qt *QueryTimeoutError
	if !errors.As(err, &qt) || !capture.Retryable(err) {
		t.Fatalf("Next: %v, want a retryable *QueryTimeoutError", err)
	}
	t.Logf("after %v: %v", took.Round(time.Millisecond), err)
}

// TestSideQueryStall: a stalled link on the catalog connection (a relation lookup while
// streaming, the heartbeat action query) or on a snapshot reader ends Next with a retryable
// *QueryTimeoutError after --query-timeout, while the replication stream itself is healthy;
// the reopened source delivers every change. Before, Next waited for ever.
func TestSideQueryStall(t *testing.T) {
	t.Run("relation", func(t *testing.T) {
		eachServer(t, func(t *testing.T, db *testDB) {
			db.exec("CREATE TABLE a (id int PRIMARY KEY)", "CREATE PUBLICATION sluice FOR ALL TABLES")
			cfg, p := proxied(t, db)
			s := db.open(cfg)
			db.exec("INSERT INTO a VALUES (1)")
			cfg.Offset = untilCommit(t, s)
			stallConn(t, p, s.cat.conn)
			// A table the source has not seen: its first change needs a catalog lookup.
			db.exec("CREATE TABLE b (id int PRIMARY KEY, v text)", "INSERT INTO b VALUES (1, 'x')")
			start := time.Now()
			err, off, evs := untilError(t, s, 10*time.Second)
			wantQueryTimeout(t, err, time.Since(start))
			if len(evs) != 0 {
				t.Fatalf("%d changes before the error", len(evs))
			}
			if off != nil {
				cfg.Offset = off
			}
			s.Close()
			p.Restore()
			s = reopen(t, db, cfg)
			ev := collect(t, s, 1)
			if c := changesOnly(ev); c[0].Table.ID.Table != "b" || string(c[0].After[1].Bytes) != "x" {
				t.Fatalf("after the reopen: %s %v, want b (1, x)", c[0].Table.ID, c[0].After)
			}
		})
	})
	t.Run("heartbeat", func(t *testing.T) {
		eachServer(t, func(t *testing.T, db *testDB) {
			db.exec("CREATE TABLE a (id int PRIMARY KEY)", "CREATE TABLE hb (ts timestamptz)", "CREATE PUBLICATION sluice FOR TABLE a")
			cfg, p := proxied(t, db)
			cfg.HeartbeatInterval = 200 * time.Millisecond
			cfg.HeartbeatActionQuery = "INSERT INTO hb VALUES (now())"
			s := db.open(cfg)
			db.exec("INSERT INTO a VALUES (1)")
			cfg.Offset = untilCommit(t, s)
			stallConn(t, p, s.cat.conn)
			db.exec("INSERT INTO a VALUES (2)")
			start := time.Now()
			err, off, evs := untilError(t, s, 10*time.Second)
			wantQueryTimeout(t, err, time.Since(start))
			if off != nil {
				cfg.Offset = off
			}
			s.Close()
			p.Restore()
			// Row 2 either came before the error (and its position was stored) or comes now.
			if len(evs) == 0 {
				s = reopen(t, db, cfg)
				evs = changesOnly(collect(t, s, 1))
			}
			if evs[0].After[0].Int != 2 {
				t.Fatalf("first change id %d, want 2", evs[0].After[0].Int)
			}
		})
	})
	t.Run("snapshot", func(t *testing.T) {
		eachServer(t, func(t *testing.T, db *testDB) {
			const rows = 20000
			db.exec("CREATE TABLE big (id int PRIMARY KEY, v text)", "CREATE PUBLICATION sluice FOR ALL TABLES",
				fmt.Sprintf("INSERT INTO big SELECT g, repeat('v', 100) FROM generate_series(1, %d) g", rows))
			cfg, p := proxied(t, db)
			cfg.SnapshotMode = SnapshotInitial
			cfg.SnapshotWorkers = 1
			cfg.SnapshotChunkRows = 1000
			s := db.open(cfg)
			ctx := context.Background()
			for range 10 {
				if _, err := s.Next(ctx); err != nil {
					t.Fatal(err)
				}
			}
			stallConn(t, p, s.snap.conns[0])
			start := time.Now()
			err, _, evs := untilError(t, s, 10*time.Second)
			wantQueryTimeout(t, err, time.Since(start))
			if n := len(evs) + 10; n >= rows {
				t.Fatalf("%d rows before the error: the stall came too late", n)
			}
			s.Close()
			p.Restore()
			// Nothing was stored: the snapshot starts over on the slot it created (the
			// capture command passes DropExistingSlot for a slot of its own).
			cfg.DropExistingSlot = true
			s = reopen(t, db, cfg)
			seen := map[int64]bool{}
			for _, ev := range changesOnly(collect(t, s, rows)) {
				seen[ev.After[0].Int] = true
			}
			if len(seen) != rows {
				t.Fatalf("snapshot after the reopen: %d distinct rows, want %d", len(seen), rows)
			}
		})
	})
}
