//go:build integration

package postgres

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// slotConfirmed returns the slot's confirmed_flush_lsn as text ("" when the slot is missing).
func (db *testDB) slotConfirmed() string {
	db.t.Helper()
	var c string
	db.conn.QueryRow(context.Background(), "SELECT coalesce(confirmed_flush_lsn::text, '-') FROM pg_replication_slots WHERE slot_name = $1", db.name).Scan(&c)
	return c
}

// untilCommit reads events up to and including the next Commit, acking each, and returns
// the Commit's position as a stored offset would hold it.
func untilCommit(t *testing.T, s *Source) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if ev.Position != nil {
			s.Ack(ctx, ev.Position)
		}
		if ev.Kind == capture.Commit {
			return ev.Position.AppendOffset(nil)
		}
	}
}

// TestExistingSlotWithoutOffset: a slot that exists when no offset is stored is neither
// dropped nor reused unless the user says which: before, Open warned "dropping the existing
// slot" and re-created it, losing what the slot held for its real owner.
func TestExistingSlotWithoutOffset(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		db.exec("CREATE TABLE e (id int PRIMARY KEY)", "CREATE PUBLICATION sluice FOR ALL TABLES",
			"INSERT INTO e VALUES (1)")
		if _, err := db.conn.Exec(ctx, "SELECT pg_create_logical_replication_slot($1, 'pgoutput')", db.name); err != nil {
			t.Fatal(err)
		}
		db.exec("INSERT INTO e VALUES (2)") // held by the slot for its owner
		before := db.slotConfirmed()
		cfg := db.config()
		cfg.SnapshotMode = SnapshotInitial
		for _, mode := range []SnapshotMode{SnapshotInitial, SnapshotInitialOnly} {
			cfg.SnapshotMode = mode
			s, err := Open(ctx, cfg)
			if err == nil {
				s.Close()
				t.Fatalf("mode %s: Open succeeded on an existing slot without an offset (slot %s → %s)", mode, before, db.slotConfirmed())
			}
			if !errors.Is(err, ErrSlotExists) || capture.Retryable(err) {
				t.Errorf("mode %s: error %v, want ErrSlotExists, not retryable", mode, err)
			}
			for _, want := range []string{"--snapshot-mode when_needed", "--drop-existing-slot", "--offsets-file"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("mode %s: error %q does not name %s", mode, err, want)
				}
			}
			if got := db.slotConfirmed(); got != before {
				t.Fatalf("mode %s: the slot changed: confirmed %s → %s", mode, before, got)
			}
		}

		// no_data streams from the slot as it is: row 2 arrives.
		cfg.SnapshotMode = SnapshotNoData
		s := db.open(cfg)
		if evs := collect(t, s, 1); evs[len(evs)-1].After[0].Int != 2 {
			t.Errorf("no_data: first change is id %d, want 2", evs[len(evs)-1].After[0].Int)
		}
		s.Close()

		// The explicit ways out: re-snapshot, or drop the slot and start over.
		for _, way := range []func(*Config){
			func(c *Config) { c.SnapshotMode = SnapshotWhenNeeded },
			func(c *Config) { c.SnapshotMode = SnapshotInitial; c.DropExistingSlot = true },
		} {
			c := db.config()
			way(&c)
			s := db.open(c)
			if evs := collect(t, s, 2); evs[0].Op != capture.OpRead {
				t.Errorf("%+v: first event op %c, want a snapshot read", c.SnapshotMode, evs[0].Op)
			}
			s.Close()
		}
	})
}

// TestSlotAheadOfOffset: a slot confirmed past the stored offset means changes were consumed
// elsewhere. Before, Open only warned "changes … are missing" and streamed on.
func TestSlotAheadOfOffset(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		db.exec("CREATE TABLE a (id int PRIMARY KEY)", "CREATE PUBLICATION sluice FOR ALL TABLES")
		s := db.open(db.config())
		db.exec("INSERT INTO a VALUES (1)")
		offset := untilCommit(t, s) // what the offsets store saved
		db.exec("INSERT INTO a VALUES (2)")
		untilCommit(t, s) // consumed and confirmed, but never saved
		p, _ := ParseOffset(offset)
		for i := 0; parseLSN(t, db.slotConfirmed()) <= p.CommitLSN; i++ {
			if i == 200 {
				t.Fatalf("slot at %s never passed the offset %d", db.slotConfirmed(), p.CommitLSN)
			}
			time.Sleep(50 * time.Millisecond)
		}
		s.Close()

		cfg := db.config()
		cfg.Offset = offset
		for _, mode := range []SnapshotMode{SnapshotInitial, SnapshotNoData} {
			cfg.SnapshotMode = mode
			s, err := Open(ctx, cfg)
			if err == nil {
				s.Close()
				t.Fatalf("mode %s: Open succeeded with the slot ahead of the stored offset", mode)
			}
			if !errors.Is(err, ErrSlotAhead) || capture.Retryable(err) {
				t.Errorf("mode %s: error %v, want ErrSlotAhead, not retryable", mode, err)
			}
			for _, want := range []string{"--snapshot-mode when_needed", "--drop-existing-slot"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("mode %s: error %q does not name %s", mode, err, want)
				}
			}
		}
		// Re-snapshot (when_needed) brings both rows back.
		cfg.SnapshotMode = SnapshotWhenNeeded
		s = db.open(cfg)
		evs := collect(t, s, 2)
		if evs[0].Op != capture.OpRead || evs[1].After[0].Int != 2 {
			t.Errorf("when_needed: %c %d, want a snapshot with both rows", evs[0].Op, evs[1].After[0].Int)
		}
	})
}

// TestReadTimeout: a stalled link (packets held, nothing closed) ends the stream with a
// retryable read-timeout error. Before, Next waited for ever.
func TestReadTimeout(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE r (id int PRIMARY KEY)", "CREATE PUBLICATION sluice FOR ALL TABLES")
		u, _ := url.Parse(db.dsn)
		p := testkit.StartProxy(t, u.Host)
		u.Host = p.Addr()
		cfg := db.config()
		cfg.DSN = u.String()
		cfg.ReadTimeout = time.Second
		s := db.open(cfg)
		db.exec("INSERT INTO r VALUES (1)")
		untilCommit(t, s)

		// Idle but healthy: the requested keepalives keep the stream alive past the timeout
		// (they come out as Keepalive events at the server's WAL end; nothing else may).
		ctx, cancel := context.WithTimeout(context.Background(), 3*cfg.ReadTimeout)
		var err error
		for {
			var ev capture.Event
			if ev, err = s.Next(ctx); err != nil {
				break
			}
			if ev.Kind != capture.Keepalive {
				t.Fatalf("idle stream: a %v event", ev.Kind)
			}
		}
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("idle stream: %v, want no error until the context ends", err)
		}

		p.Stall()
		start := time.Now()
		ctx, cancel = context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		for {
			_, err = s.Next(ctx)
			if err != nil {
				break
			}
		}
		t.Logf("after %v: %v", time.Since(start).Round(time.Millisecond), err)
		if !errors.Is(err, ErrReadTimeout) || !capture.Retryable(err) {
			t.Fatalf("stalled stream: %v, want a retryable ErrReadTimeout", err)
		}
		if el := time.Since(start); el > 2*cfg.ReadTimeout {
			t.Errorf("noticed after %v, read timeout %v", el, cfg.ReadTimeout)
		}
	})
}

// TestConnectErrors: a server that cannot be reached is retryable (before, the capture
// command exited at once); a bad password is not, and says what to check.
func TestConnectErrors(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := ln.Addr().String()
		ln.Close()
		u, _ := url.Parse(db.dsn)
		u.Host = closed
		cfg := db.config()
		cfg.DSN = u.String()
		if _, err := Open(ctx, cfg); err == nil || !capture.Retryable(err) {
			t.Errorf("closed port: %v, want a retryable error", err)
		}
		u, _ = url.Parse(db.dsn)
		u.User = url.UserPassword(u.User.Username(), "wrong-password")
		cfg.DSN = u.String()
		_, err = Open(ctx, cfg)
		if err == nil || capture.Retryable(err) || !strings.Contains(err.Error(), "password") {
			t.Errorf("bad password: %v, want a fatal error naming the password", err)
		}
	})
}

// TestSideConnectionShutdownIsRetryable: the catalog lookup of a new relation runs on the side
// connection; when the server ends that connection (pg_ctl stop -m fast sends 57P01 to every
// backend) the error must be retryable like the stream's own. Before, it reached the
// pipeline unclassified and `sluice postgres` exited 1 during a fast restart (found by
// make torture, seed 20261205: "read columns of relation …: FATAL: terminating connection
// due to administrator command (SQLSTATE 57P01)").
func TestSideConnectionShutdownIsRetryable(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		db.exec("CREATE TABLE a (id int PRIMARY KEY)", "CREATE PUBLICATION sluice FOR ALL TABLES")
		s := db.open(db.config())
		db.exec("INSERT INTO a VALUES (1)")
		collect(t, s, 1)
		// End every client backend of the test database but our own: the walsender (not a
		// client backend) keeps streaming, the source's side connection is gone.
		var n int
		if err := db.conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()`, db.name).Scan(&n); err != nil || n == 0 {
			t.Fatalf("terminate the side connection: %d backends, %v", n, err)
		}
		db.exec("CREATE TABLE b (id int PRIMARY KEY)", "INSERT INTO b VALUES (1)") // a new relation to look up
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		for {
			ev, err := s.Next(rctx)
			if err != nil {
				if !capture.Retryable(err) {
					t.Fatalf("Next: %v: not retryable", err)
				}
				return
			}
			if ev.Position != nil {
				s.Ack(rctx, ev.Position)
			}
			if ev.Kind == capture.Change && ev.Table != nil && ev.Table.ID.Table == "b" {
				t.Fatalf("the change of b arrived through a terminated side connection")
			}
		}
	})
}
