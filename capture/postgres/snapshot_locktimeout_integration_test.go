//go:build integration

package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sluicecdc/sluice/capture"
)

// TestSnapshotLockTimeout queues an ALTER TABLE behind an open transaction, so that every
// later lock of the table waits for that transaction too, and takes the snapshot then: first
// the initial snapshot's read (its reader's transaction), then, reopened from the saved
// offset, a resumed chunk's. Each waited up to --query-timeout (10 minutes); now each ends
// after --snapshot-lock-timeout with a retryable error that names the table, and once the
// ALTER went through the snapshot completes from the saved offset with every row.
func TestSnapshotLockTimeout(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		const n = 1000
		db.exec("CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)", "INSERT INTO t SELECT g, 0 FROM generate_series(1, 1000) g")
		cfg := db.config()
		cfg.SnapshotMode = SnapshotInitial
		cfg.SnapshotLockTimeout = 500 * time.Millisecond
		var saved []byte
		cfg.SaveOffset = func(_ context.Context, off []byte) error { saved = off; return nil }
		ctx := context.Background()

		// Queued once the slot exists (creating it waits for the ALTER's transaction), before
		// the reader locks the table.
		var release func()
		queued := make(chan struct{})
		testHookUnitRead = func(*snapTable) {
			testHookUnitRead = nil
			release = queueAlter(t, db, "ALTER TABLE t ADD COLUMN w int DEFAULT 7")
			close(queued)
		}
		t.Cleanup(func() { testHookUnitRead = nil })
		s := db.open(cfg)
		lockTimesOut(t, s, "initial")
		<-queued
		s.Close()
		db.slotReleased()
		if release == nil {
			t.FailNow()
		}
		release()
		if saved == nil {
			t.Fatal("no offset saved before the snapshot")
		}

		// The rest is read in watermark windows: a resumed chunk's lock.
		cfg.Offset = saved
		// Queued once the source is open: Open's catalog query (pg_get_expr of a column
		// default) waits behind it too, bounded by --query-timeout.
		release = nil
		queued = make(chan struct{})
		testHookChunkLock = func(*chunk) {
			testHookChunkLock = nil
			release = queueAlter(t, db, "ALTER TABLE t ADD COLUMN x int DEFAULT 8")
			close(queued)
		}
		t.Cleanup(func() { testHookChunkLock = nil })
		s = db.open(cfg)
		lockTimesOut(t, s, "resumed")
		<-queued
		s.Close()
		db.slotReleased()
		if release == nil {
			t.FailNow()
		}
		release()

		s = db.open(cfg)
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		ids := map[int64]bool{}
		for {
			ev, err := s.Next(rctx)
			if err != nil {
				t.Fatalf("Next after %d rows: %v", len(ids), err)
			}
			if ev.Kind == capture.SnapshotDone {
				break
			}
			if ev.Op == capture.OpRead {
				if len(ev.After) != 4 {
					t.Fatalf("a read of %d columns, want 4 (both ALTERs went through)", len(ev.After))
				}
				ids[ev.After[0].Int] = true
			}
		}
		if len(ids) != n {
			t.Fatalf("%d rows after the ALTERs, want %d", len(ids), n)
		}
	})
}

// queueAlter holds t in a transaction of its own connection and runs alter on another, which
// waits for ACCESS EXCLUSIVE behind it; it returns once the ALTER waits (nil after a failure,
// which it reports: it may run on a snapshot reader's goroutine). release ends the
// transaction and waits for the ALTER.
func queueAlter(t *testing.T, db *testDB, alter string) (release func()) {
	ctx := context.Background()
	holder, err := pgx.Connect(ctx, db.dsn)
	if err != nil {
		t.Error(err)
		return nil
	}
	t.Cleanup(func() { holder.Close(ctx) })
	if _, err := holder.Exec(ctx, "BEGIN; SELECT count(*) FROM t"); err != nil {
		t.Error(err)
		return nil
	}
	altc, err := pgx.Connect(ctx, db.dsn)
	if err != nil {
		t.Error(err)
		return nil
	}
	t.Cleanup(func() { altc.Close(ctx) })
	done := make(chan error, 1)
	go func() {
		_, err := altc.Exec(ctx, alter)
		done <- err
	}()
	for i := 0; ; i++ {
		var waiting bool
		if err := holder.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_locks WHERE relation = 't'::regclass AND mode = 'AccessExclusiveLock' AND NOT granted)").Scan(&waiting); err != nil {
			t.Error(err)
			return nil
		}
		if waiting {
			break
		}
		if i == 100 {
			t.Error("the ALTER does not wait")
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return func() {
		t.Helper()
		if _, err := holder.Exec(ctx, "COMMIT"); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("%s: %v", alter, err)
		}
	}
}

// lockTimesOut reads s until the snapshot lock timeout, which must come well before the
// test's own deadline.
func lockTimesOut(t *testing.T, s *Source, phase string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	start := time.Now()
	for {
		ev, err := s.Next(ctx)
		if err == nil {
			if ev.Op == capture.OpRead {
				t.Fatalf("%s: a read while the ALTER waits", phase)
			}
			continue
		}
		var le *SnapshotLockTimeoutError
		if !errors.As(err, &le) || !capture.Retryable(err) || !strings.Contains(err.Error(), `"public"."t"`) {
			t.Fatalf("%s: Next after %v: %v; want a retryable snapshot lock timeout naming the table", phase, time.Since(start), err)
		}
		t.Logf("%s: after %v: %v", phase, time.Since(start).Round(time.Millisecond), err)
		return
	}
}
