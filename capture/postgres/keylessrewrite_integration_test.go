//go:build integration

package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sluicecdc/sluice/capture"
)

// keylessRewriteTables makes a (keyed, where the initial snapshot is cut) and k (keyless):
// 800 rows of about 1 kB at fillfactor 10, one a page, so k spans four chunks of 256 pages;
// rows 1..400 deleted before the slot exists, so the live rows sit in pages 400..799 and a
// rewrite moves them to pages 0..399, into the page ranges a resumed read takes first.
func keylessRewriteTables(db *testDB) {
	db.exec("CREATE TABLE a (id int PRIMARY KEY, v text)", "INSERT INTO a SELECT g, 'a' FROM generate_series(1, 3000) g",
		"CREATE TABLE k (kind text, n int, pad text) WITH (fillfactor = 10, autovacuum_enabled = false)",
		"ALTER TABLE k REPLICA IDENTITY FULL", "CREATE INDEX k_n ON k (n)",
		"INSERT INTO k SELECT 'a', g, repeat('x', 1000) FROM generate_series(1, 800) g",
		"DELETE FROM k WHERE n <= 400",
		"CREATE PUBLICATION sluice FOR ALL TABLES")
}

// passReads counts a run's snapshot reads of k by image, per read of the table from its
// start (a read marked first in the table begins one), as the ClickHouse sink does for a
// table without a key (its identical-row count starts over there).
type passReads struct{ passes []map[string]int }

func (p *passReads) see(ev capture.Event) {
	if ev.Kind != capture.Change || ev.Table == nil || ev.Table.ID.Table != "k" || ev.Op != capture.OpRead {
		return
	}
	if ev.Source.Snapshot == capture.SnapshotFirstInTable || len(p.passes) == 0 {
		p.passes = append(p.passes, map[string]int{})
	}
	p.passes[len(p.passes)-1][imageText(ev.After)]++
}

// checkK reports rows 401..800 of k that the reads of all runs (each image counted at its
// largest count in one pass) left out or stored more than once.
func checkK(t *testing.T, runs ...*passReads) {
	t.Helper()
	got := map[string]int{}
	for _, r := range runs {
		for _, p := range r.passes {
			for img, n := range p {
				got[img] = max(got[img], n)
			}
		}
	}
	var lost, extra []string
	for n := 401; n <= 800; n++ {
		img := fmt.Sprintf("a:%d", n)
		switch c := got[img]; {
		case c == 0:
			lost = append(lost, img)
		case c > 1:
			extra = append(extra, fmt.Sprintf("%s x%d", img, c-1))
		}
		delete(got, img)
	}
	if len(lost) > 0 || len(extra) > 0 || len(got) > 0 {
		t.Errorf("k: %d rows lost: %s; %d stored too often: %s; unexpected: %v", len(lost), head(lost), len(extra), head(extra), slices.Sorted(maps.Keys(got)))
	}
}

// cutInA runs the initial snapshot until it dies in table a and returns its offset.
func cutInA(t *testing.T, ctx context.Context, cfg Config, see func(capture.Event)) []byte {
	t.Helper()
	s1, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	stored := deliverChanges(t, ctx, s1, 500, see)
	s1.Close()
	if p, _ := ParseOffset(stored); p == nil || p.SnapTable != "a" {
		t.Fatalf("stored offset %s: want the progress in table a", stored)
	}
	return stored
}

// untilDone opens the source at cfg.Offset and passes its events to see until the snapshot
// is done; a retryable error reopens it at the last event's offset, as the capture command
// does (with the offsets a new slot's snapshot saves). It returns the retryable errors met.
func untilDone(t *testing.T, ctx context.Context, cfg Config, see func(capture.Event)) []error {
	t.Helper()
	var retried []error
	// As the capture command: the offset a new slot's snapshot saves before its first row.
	cfg.SaveOffset = func(_ context.Context, b []byte) error { cfg.Offset = slices.Clone(b); return nil }
	for {
		s, err := Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for {
			ev, err := s.Next(ctx)
			if err != nil {
				s.Close()
				if !capture.Retryable(err) || len(retried) > 2 {
					t.Fatal(err)
				}
				retried = append(retried, err)
				break
			}
			if ev.Kind == capture.SnapshotDone {
				s.Close()
				return retried
			}
			see(ev)
			cfg.Offset = ev.Position.(*Position).AppendOffset(nil)
		}
	}
}

// TestKeylessResumeRewrittenMidRead: a resumed snapshot reads a table without a primary key
// in page (ctid) ranges, each in a transaction of its own. The table is rewritten (VACUUM
// FULL, CLUSTER, ALTER TABLE … TYPE) just as its second chunk's transaction took its
// snapshot: the rewrite drops the dead tuples of the low pages and moves the live rows down,
// into the range the first chunk read before, and streams no row. Every row must still be
// read: the chunk locks the table before its snapshot (the rewrite waits), the next chunk
// finds new files and the table is read again from page 0; after ALTER … TYPE the source
// fails retryable (its decoders are the old types') and, reopened, reads the table again.
// Before, the second chunk read the rewritten file (its snapshot was taken before the table
// was locked), and the rows moved below page 256 were never read: 256 of 400 lost, all 400
// after ALTER … TYPE (its rows are new versions, which the older snapshot does not see).
func TestKeylessResumeRewrittenMidRead(t *testing.T) {
	for _, rewrite := range []string{"VACUUM FULL k", "CLUSTER k USING k_n", "ALTER TABLE k ALTER COLUMN n TYPE bigint"} {
		t.Run(rewrite[:7], func(t *testing.T) {
			eachServer(t, func(t *testing.T, db *testDB) {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				keylessRewriteTables(db)
				cfg := db.config()
				cfg.SnapshotMode = SnapshotInitial
				cfg.SnapshotWorkers = 1
				cfg.SnapshotChunkRows = 200
				cfg.Offset = cutInA(t, ctx, cfg, func(capture.Event) {})

				rw, err := pgx.Connect(ctx, db.dsn)
				if err != nil {
					t.Fatal(err)
				}
				defer rw.Close(context.Background())
				mon, err := pgx.Connect(ctx, db.dsn)
				if err != nil {
					t.Fatal(err)
				}
				defer mon.Close(context.Background())
				var rwPID uint32
				if err := rw.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&rwPID); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				seen := map[int]bool{}
				testHookChunkSnapshot = func(c *chunk) {
					if c.t.rel.table.ID.Table != "k" || seen[c.seq] || len(seen) >= 2 {
						return
					}
					seen[c.seq] = true
					if len(seen) != 2 {
						return
					}
					// The rewrite runs on; it either ends or waits for the chunk's lock.
					go func() {
						_, err := rw.Exec(ctx, rewrite)
						done <- err
					}()
					for i := 0; i < 500; i++ {
						var waiting bool
						if err := mon.QueryRow(ctx, "SELECT wait_event_type IS NOT DISTINCT FROM 'Lock' FROM pg_stat_activity WHERE pid = $1", rwPID).Scan(&waiting); err != nil {
							t.Error(err)
							return
						}
						if waiting {
							return
						}
						select {
						case err := <-done:
							done <- err
							return
						case <-time.After(10 * time.Millisecond):
						}
					}
					t.Error("the rewrite neither ended nor waited for a lock in 5 s")
				}
				t.Cleanup(func() { testHookChunkSnapshot = nil })

				var reads passReads
				retried := untilDone(t, ctx, cfg, reads.see)
				if alter := rewrite[:5] == "ALTER"; alter != (len(retried) == 1) || alter && !errors.Is(retried[0], ErrTableColumnsChanged) {
					t.Errorf("retryable errors %v: want one ErrTableColumnsChanged for ALTER … TYPE, none else", retried)
				}
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("%s: %v", rewrite, err)
					}
				case <-ctx.Done():
					t.Fatalf("%s never ended", rewrite)
				}
				t.Logf("reads of k by pass: %v", lens(reads.passes))
				checkK(t, &reads)
			})
		})
	}
}

// TestKeylessResumeRewrittenWhileDown: a resumed snapshot is cut while it reads a table
// without a primary key; the table is rewritten (VACUUM FULL) while sluice is down, moving
// rows not yet read into pages already read. The next run must read every row: a keyless
// table's offset names no page, so it reads the table again from its start (this passed
// before the rewrite check too; it guards the offset against ever resuming by page).
func TestKeylessResumeRewrittenWhileDown(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		keylessRewriteTables(db)
		cfg := db.config()
		cfg.SnapshotMode = SnapshotInitial
		cfg.SnapshotWorkers = 1
		cfg.SnapshotChunkRows = 200
		cfg.Offset = cutInA(t, ctx, cfg, func(capture.Event) {})

		// Run 2: dies after 100 rows of k (its second chunk: the first has none live).
		s2, err := Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var r2 passReads
		var stored []byte
		for n := 0; n < 100; {
			ev, err := s2.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			r2.see(ev)
			if ev.Kind == capture.Change && ev.Table != nil && ev.Table.ID.Table == "k" && ev.Op == capture.OpRead {
				n++
			}
			stored = ev.Position.(*Position).AppendOffset(nil)
		}
		s2.Close()
		if p, _ := ParseOffset(stored); p == nil || p.SnapTable != "k" {
			t.Fatalf("stored offset %s: want the progress in table k", stored)
		}
		db.exec("VACUUM FULL k")

		cfg.Offset = stored
		var r3 passReads
		if retried := untilDone(t, ctx, cfg, r3.see); len(retried) > 0 {
			t.Errorf("retryable errors: %v", retried)
		}
		t.Logf("reads of k: run 2 %v, run 3 %v", lens(r2.passes), lens(r3.passes))
		checkK(t, &r2, &r3)
	})
}

// TestResumeRewrittenMidReadKeyed: a resumed snapshot reads a keyed table in key-ordered
// chunks; the table is rewritten just as a chunk's transaction took its snapshot. VACUUM FULL
// moves rows but a keyed chunk goes by key, not by page: nothing is lost (this passed before
// too). ALTER TABLE … TYPE writes every row again under its own transaction: before, the
// chunk read the new files through its older snapshot, saw the table empty and ended it
// (the 2,500 rows left lost); now the chunk locks the table first, the next chunk finds the
// column's new type and the source fails retryable, and reopened reads the rest.
func TestResumeRewrittenMidReadKeyed(t *testing.T) {
	for _, rewrite := range []string{"VACUUM FULL a", "ALTER TABLE a ALTER COLUMN id TYPE bigint"} {
		t.Run(rewrite[:7], func(t *testing.T) {
			eachServer(t, func(t *testing.T, db *testDB) {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				keylessRewriteTables(db)
				cfg := db.config()
				cfg.SnapshotMode = SnapshotInitial
				cfg.SnapshotWorkers = 1
				cfg.SnapshotChunkRows = 200
				got := map[int64]bool{}
				see := func(ev capture.Event) {
					if ev.Kind == capture.Change && ev.Table != nil && ev.Table.ID.Table == "a" && ev.Op == capture.OpRead {
						got[ev.After[0].Int] = true
					}
				}
				cfg.Offset = cutInA(t, ctx, cfg, see)

				rw, err := pgx.Connect(ctx, db.dsn)
				if err != nil {
					t.Fatal(err)
				}
				defer rw.Close(context.Background())
				done := make(chan error, 1)
				chunks := 0
				testHookChunkSnapshot = func(c *chunk) {
					if c.t.rel.table.ID.Table != "a" {
						return
					}
					if chunks++; chunks != 2 {
						return
					}
					go func() {
						_, err := rw.Exec(ctx, rewrite)
						done <- err
					}()
					// Ends at once, or waits for the chunk's lock.
					select {
					case err := <-done:
						done <- err
					case <-time.After(time.Second):
					}
				}
				t.Cleanup(func() { testHookChunkSnapshot = nil })
				retried := untilDone(t, ctx, cfg, see)
				if err := <-done; err != nil {
					t.Fatalf("%s: %v", rewrite, err)
				}
				if alter := rewrite[:5] == "ALTER"; alter != (len(retried) == 1) || alter && !errors.Is(retried[0], ErrTableColumnsChanged) {
					t.Errorf("retryable errors %v: want one ErrTableColumnsChanged for ALTER … TYPE, none else", retried)
				}
				var lost []string
				for id := int64(1); id <= 3000; id++ {
					if !got[id] {
						lost = append(lost, fmt.Sprint(id))
					}
				}
				if len(lost) > 0 {
					t.Errorf("a: %d rows lost: %s", len(lost), head(lost))
				}
			})
		})
	}
}

// TestSnapshotTableRewrittenBeforeRead: the initial snapshot reads its tables one after the
// other in the slot's exported snapshot; a table is rewritten by ALTER TABLE … TYPE after the
// snapshot began and before the table is read. Through the older snapshot the rewritten table
// looks empty (every row is a new version of the ALTER's transaction), and the rewrite streams
// no row. Now the read locks the table and compares its files with the snapshot's catalog: the
// source fails retryable, and reopened resumes the snapshot, which reads the table as it is
// now. Before, every row of the table was lost (a: 3,000, k: 400), silently.
func TestSnapshotTableRewrittenBeforeRead(t *testing.T) {
	for _, target := range []string{"a", "k"} {
		t.Run(target, func(t *testing.T) {
			eachServer(t, func(t *testing.T, db *testDB) {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				keylessRewriteTables(db)
				cfg := db.config()
				cfg.SnapshotMode = SnapshotInitial
				cfg.SnapshotWorkers = 1
				cfg.SnapshotChunkRows = 200
				rw, err := pgx.Connect(ctx, db.dsn)
				if err != nil {
					t.Fatal(err)
				}
				defer rw.Close(context.Background())
				rewrite := map[string]string{"a": "ALTER TABLE a ALTER COLUMN id TYPE bigint", "k": "ALTER TABLE k ALTER COLUMN n TYPE bigint"}[target]
				fired := false
				testHookUnitRead = func(st *snapTable) {
					if st.rel.table.ID.Table != target || fired {
						return
					}
					fired = true
					if _, err := rw.Exec(ctx, rewrite); err != nil {
						t.Errorf("%s: %v", rewrite, err)
					}
				}
				t.Cleanup(func() { testHookUnitRead = nil })
				ids := map[int64]bool{}
				var reads passReads
				retried := untilDone(t, ctx, cfg, func(ev capture.Event) {
					reads.see(ev)
					if ev.Kind == capture.Change && ev.Table != nil && ev.Table.ID.Table == "a" && ev.Op == capture.OpRead {
						ids[ev.After[0].Int] = true
					}
				})
				if !fired {
					t.Fatal("the rewrite never ran")
				}
				if len(retried) != 1 || !errors.Is(retried[0], ErrTableRewritten) {
					t.Errorf("retryable errors %v: want one ErrTableRewritten", retried)
				}
				var lost []string
				for id := int64(1); id <= 3000; id++ {
					if !ids[id] {
						lost = append(lost, fmt.Sprint(id))
					}
				}
				if len(lost) > 0 {
					t.Errorf("a: %d rows lost: %s", len(lost), head(lost))
				}
				checkK(t, &reads)
			})
		})
	}
}

func lens(ps []map[string]int) []int {
	var out []int
	for _, p := range ps {
		out = append(out, sumInts(p))
	}
	return out
}
