//go:build integration

package postgres

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestTakeOverSlot: with TakeOverSlot (--ha, once the process leads) an Open finds the slot
// held by another walsender (a paused or cut-off previous leader) and terminates it instead of
// waiting out wal_sender_timeout. A replication role may terminate its own role's walsender;
// another role gets an error naming the grant. Without TakeOverSlot the slot in use is a
// retryable error, as before.
func TestTakeOverSlot(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		roleA, roleB := db.name+"_a", db.name+"_b"
		for _, r := range []string{roleA, roleB} {
			if _, err := db.adm.Exec(ctx, "CREATE ROLE "+r+" LOGIN REPLICATION PASSWORD 'ha'"); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				db.conn.Exec(ctx, "DROP OWNED BY "+r)
				db.adm.Exec(ctx, "DROP ROLE IF EXISTS "+r)
			})
		}
		db.exec("CREATE TABLE tk (id int PRIMARY KEY)", "CREATE PUBLICATION sluice FOR ALL TABLES",
			"GRANT SELECT ON tk TO "+roleA+", "+roleB)
		as := func(role string) Config {
			u, err := url.Parse(db.dsn)
			if err != nil {
				t.Fatal(err)
			}
			u.User = url.UserPassword(role, "ha")
			cfg := db.config()
			cfg.DSN = u.String()
			return cfg
		}

		// The old leader streams.
		old := db.open(as(roleA))
		db.exec("INSERT INTO tk VALUES (1)")
		collect(t, old, 1)
		var pid int32
		if err := db.conn.QueryRow(ctx, "SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1 AND active", db.name).Scan(&pid); err != nil {
			t.Fatalf("slot not active: %v", err)
		}

		// Without TakeOverSlot: in use, retryable (the caller waits).
		if s, err := Open(ctx, as(roleA)); err == nil {
			s.Close()
			t.Fatal("Open succeeded on a slot in use")
		} else if !capture.Retryable(err) || !strings.Contains(err.Error(), "in use") {
			t.Fatalf("without TakeOverSlot: %v, want a retryable slot-in-use error", err)
		}

		// Another role may not end role A's walsender: the error says what to grant.
		cfg := as(roleB)
		cfg.TakeOverSlot = true
		if s, err := Open(ctx, cfg); err == nil {
			s.Close()
			t.Fatal("another role took over the slot without pg_signal_backend")
		} else if !strings.Contains(err.Error(), `GRANT pg_signal_backend TO "`+roleB+`"`) || !strings.Contains(err.Error(), roleA) {
			t.Fatalf("other role: %v, want the grant and the holder's role named", err)
		}

		// The same role takes over at once.
		cfg = as(roleA)
		cfg.TakeOverSlot = true
		start := time.Now()
		s := db.open(cfg)
		took := time.Since(start)
		db.exec("INSERT INTO tk VALUES (2)")
		// Row 1 may come again: the old reader's acknowledgement may not have reached the slot.
		evs := changesOnly(collect(t, s, 1))
		if evs[len(evs)-1].After[0].Int == 1 {
			evs = changesOnly(collect(t, s, 1))
		}
		if got := evs[len(evs)-1].After[0].Int; got != 2 {
			t.Fatalf("the new reader streamed row %d, want 2", got)
		}
		var now int32
		if err := db.conn.QueryRow(ctx, "SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1", db.name).Scan(&now); err != nil || now == pid {
			t.Fatalf("active_pid %d → %d (%v), want another backend", pid, now, err)
		}
		t.Logf("took over the slot from pid %d in %s", pid, took.Round(time.Millisecond))

		// The old reader's stream is gone: Next fails (retryable: a lost connection).
		nctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		for {
			_, err := old.Next(nctx)
			if err != nil {
				if errors.Is(err, context.DeadlineExceeded) {
					t.Fatal("the old reader still streams")
				}
				break
			}
		}
	})
}
