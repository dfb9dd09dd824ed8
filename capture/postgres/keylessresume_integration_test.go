//go:build integration

package postgres

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestKeylessResumeChangedWhileDown: the initial snapshot stops in a table without a primary
// key (REPLICA IDENTITY FULL); while sluice is down rows are inserted, updated (once and
// twice, rows the stopped run read and rows it did not), deleted, an identical row is added,
// rows are inserted in a subtransaction; in a second table every row is rewritten by ALTER
// TABLE … TYPE in the transaction that also inserts; rows are added to both partitions of a
// partitioned table published as its root. The resumed snapshot reads the tables again and the stream restarts at the
// snapshot's consistent point. Replayed as the ClickHouse sink stores them (reads counted per
// image and attempt, each streamed change once), the records must give the table's rows
// exactly. Before, every version written while down came twice, as a read and as the
// streamed change (k: 202 rows too many, r: 20, pr: 21; matching by the versions streamed
// alone left k's 10 rows of the subtransaction). Matching by transaction alone, or keeping
// only the tuples the snapshot's transaction list saw, loses rows of r instead (the ALTER
// wrote them all again under its xid).
func TestKeylessResumeChangedWhileDown(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		// fillfactor 10: about 3 rows a page, so k spans two chunks of 256 pages.
		cols := "kind text, n int, pad text, ts timestamptz, num numeric, f float8, j jsonb, b bool, arr int[], raw bytea, u uuid, d date"
		vals := func(kind string) string {
			return "'" + kind + "', g, repeat('x', 200), '2026-01-02 03:04:05.123456+00'::timestamptz + g * interval '1 second', g / 7.0, g / 3.0, " +
				"jsonb_build_object('g', g), g % 2 = 0, ARRAY[g, g + 1], decode(lpad(to_hex(g), 8, '0'), 'hex'), " +
				"md5(g::text)::uuid, '2026-01-01'::date + g"
		}
		db.exec("CREATE TABLE k ("+cols+") WITH (fillfactor = 10)", "ALTER TABLE k REPLICA IDENTITY FULL",
			"INSERT INTO k SELECT "+vals("a")+" FROM generate_series(1, 1000) g",
			"INSERT INTO k SELECT "+vals("twin")+" FROM generate_series(0, 0) g, generate_series(1, 3)",
			"CREATE TABLE r (kind text, n int)", "ALTER TABLE r REPLICA IDENTITY FULL",
			"INSERT INTO r SELECT 'a', g FROM generate_series(1, 300) g",
			// Partitioned, published as its root: read from the root, streamed as the root.
			"CREATE TABLE pr (kind text, n int) PARTITION BY RANGE (n)",
			"CREATE TABLE pr1 PARTITION OF pr FOR VALUES FROM (0) TO (1000)", "CREATE TABLE pr2 PARTITION OF pr FOR VALUES FROM (1000) TO (5000)",
			"INSERT INTO pr SELECT 'a', g FROM generate_series(1, 1500) g",
			"CREATE PUBLICATION sluice FOR ALL TABLES WITH (publish_via_partition_root = true)")
		cfg := db.config()
		cfg.SnapshotMode = SnapshotInitial
		cfg.SnapshotWorkers = 1

		// The sink: reads of a table get one id per image and k-th copy of it within an
		// attempt (a later attempt's reads collapse with an earlier one's), changes are rows
		// of their own.
		type attempt map[string]map[string]int // table -> image -> reads
		var attempts []attempt
		var changes []capture.Event
		apply := func(cur attempt) func(capture.Event) {
			return func(ev capture.Event) {
				if ev.Kind != capture.Change || ev.Table == nil {
					return
				}
				tab := ev.Table.ID.Table
				if ev.Op == capture.OpRead {
					if cur[tab] == nil {
						cur[tab] = map[string]int{}
					}
					cur[tab][imageText(ev.After)]++
					return
				}
				ev.Before, ev.After = slices.Clone(ev.Before), slices.Clone(ev.After)
				changes = append(changes, ev)
			}
		}

		// Run 1: dies after 300 rows of k.
		a1 := attempt{}
		attempts = append(attempts, a1)
		s1, err := Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		stored := deliverChanges(t, rctx, s1, 300, apply(a1))
		s1.Close()
		if p, _ := ParseOffset(stored); p == nil || p.SnapTable != "k" {
			t.Fatalf("stored offset %s: want the progress in table k", stored)
		} else if p.SnapXids == "" {
			t.Errorf("stored offset %s: no snapshot_xids", stored)
		}

		// While down.
		db.exec("INSERT INTO k SELECT "+vals("new")+" FROM generate_series(2001, 2100) g",
			"UPDATE k SET kind = 'u1' WHERE n BETWEEN 1 AND 40 OR n BETWEEN 901 AND 940",
			"UPDATE k SET kind = 'u2a', num = num + 1 WHERE n BETWEEN 41 AND 50 OR n BETWEEN 941 AND 950",
			"UPDATE k SET kind = 'u2b' WHERE n BETWEEN 41 AND 50 OR n BETWEEN 941 AND 950",
			"UPDATE k SET kind = 'u1' WHERE n BETWEEN 2001 AND 2010",
			"DELETE FROM k WHERE n BETWEEN 51 AND 60 OR n BETWEEN 951 AND 960 OR n BETWEEN 2011 AND 2020",
			"INSERT INTO k SELECT "+vals("twin")+" FROM generate_series(0, 0) g",
			"INSERT INTO k SELECT "+vals("a")+" FROM generate_series(500, 500) g", // an identical copy of a row read later
			// In a subtransaction: xmin is the subtransaction's, the stream names the top level.
			"BEGIN", "SAVEPOINT s", "INSERT INTO k SELECT "+vals("sub")+" FROM generate_series(3001, 3010) g", "RELEASE SAVEPOINT s", "COMMIT",
			"BEGIN", "INSERT INTO r SELECT 'new', g FROM generate_series(301, 320) g",
			"ALTER TABLE r ALTER COLUMN n TYPE bigint", "COMMIT",
			"INSERT INTO pr SELECT 'new', g FROM generate_series(990, 1010) g")

		// Run 2: resumes; reads k and r again.
		a2 := attempt{}
		attempts = append(attempts, a2)
		cfg.Offset = stored
		s2, err := Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		for {
			ev, err := s2.Next(rctx)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind == capture.SnapshotDone {
				break
			}
			apply(a2)(ev)
		}

		for _, tab := range []string{"k", "r", "pr"} {
			got := map[string]int{}
			for _, a := range attempts {
				for img, n := range a[tab] {
					got[img] = max(got[img], n)
				}
			}
			missing := 0
			for _, ev := range changes {
				if ev.Table.ID.Table != tab {
					continue
				}
				if ev.Before != nil {
					// A row deleted or updated while down that the first run had not read:
					// its read is missing from the log, its change is not.
					if img := imageText(ev.Before); got[img] > 0 {
						got[img]--
					} else {
						missing++
					}
				}
				if ev.After != nil {
					got[imageText(ev.After)]++
				}
			}
			want := map[string]int{}
			rows, err := db.conn.Query(ctx, "SELECT * FROM "+tab)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				v, err := rows.Values()
				if err != nil {
					t.Fatal(err)
				}
				want[fmt.Sprint(v[0])+":"+fmt.Sprint(v[1])]++
			}
			rows.Close()
			var extra, lost []string
			for _, img := range slices.Sorted(maps.Keys(got)) {
				if got[img] > want[img] {
					extra = append(extra, fmt.Sprintf("%s x%d", img, got[img]-want[img]))
				}
			}
			for _, img := range slices.Sorted(maps.Keys(want)) {
				if got[img] < want[img] {
					lost = append(lost, fmt.Sprintf("%s x%d", img, want[img]-got[img]))
				}
			}
			t.Logf("%s: reads run 1 %d, run 2 %d; changes whose before image the log lacks (not read before the change): %d",
				tab, sumInts(attempts[0][tab]), sumInts(attempts[1][tab]), missing)
			if len(extra) > 0 || len(lost) > 0 {
				t.Errorf("table %s: %d images stored too often: %s; %d lost: %s", tab, len(extra), head(extra), len(lost), head(lost))
			}
		}
	})
}

// imageText is a row as "kind:n" (its first two columns).
func imageText(r capture.Row) string {
	if len(r) < 2 {
		return "?"
	}
	return string(r[0].Bytes) + ":" + fmt.Sprint(r[1].Int)
}

func sumInts(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func head(s []string) string {
	if len(s) > 8 {
		return strings.Join(s[:8], ", ") + ", …"
	}
	return strings.Join(s, ", ")
}

// TestKeylessResumeInterruptedTwice: the initial snapshot stops in a keyed table before the
// keyless one; rows are inserted into the keyless table while sluice is down (at the top
// level and in a subtransaction); the resumed snapshot streams them and stops again before
// it reads the keyless table; more rows come while it is down. The third run streams only
// what followed the second's offset, so the versions the second run streamed are known by
// the initial snapshot's transaction list alone (snapshot_xids). Each row must be published
// once: before, the 80 rows written while down were read again too (with matching by the
// versions streamed alone: the 60 the second run had streamed).
func TestKeylessResumeInterruptedTwice(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		db.exec("CREATE TABLE a (id int PRIMARY KEY, v text)", "INSERT INTO a SELECT g, 'a' FROM generate_series(1, 3000) g",
			"CREATE TABLE k (kind text, n int) WITH (fillfactor = 10)", "ALTER TABLE k REPLICA IDENTITY FULL",
			"INSERT INTO k SELECT 'a', g FROM generate_series(1, 1000) g",
			"CREATE PUBLICATION sluice FOR ALL TABLES")
		cfg := db.config()
		cfg.SnapshotMode = SnapshotInitial
		cfg.SnapshotWorkers = 1
		cfg.SnapshotChunkRows = 200
		reads := []map[string]int{{}, {}, {}}
		var changes []capture.Event
		apply := func(run int) func(capture.Event) {
			return func(ev capture.Event) {
				if ev.Kind != capture.Change || ev.Table == nil || ev.Table.ID.Table != "k" {
					return
				}
				if ev.Op == capture.OpRead {
					reads[run][imageText(ev.After)]++
					return
				}
				ev.Before, ev.After = slices.Clone(ev.Before), slices.Clone(ev.After)
				changes = append(changes, ev)
			}
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()

		// Run 1: dies in table a.
		s1, err := Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		stored := deliverChanges(t, rctx, s1, 500, apply(0))
		s1.Close()
		if p, _ := ParseOffset(stored); p == nil || p.SnapTable != "a" {
			t.Fatalf("stored offset %s: want the progress in table a", stored)
		} else if p.SnapXids == "" {
			t.Errorf("stored offset %s: no snapshot_xids", stored)
		}
		db.exec("INSERT INTO k SELECT 'down1', g FROM generate_series(2001, 2050) g",
			"BEGIN", "SAVEPOINT s", "INSERT INTO k SELECT 'sub', g FROM generate_series(2051, 2060) g", "RELEASE SAVEPOINT s", "COMMIT")

		// Run 2: streams those 60 rows, reads on in a, dies before k.
		cfg.Offset = stored
		s2, err := Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		streamed, aReads := 0, 0
		for streamed < 60 || aReads < 300 {
			ev, err := s2.Next(rctx)
			if err != nil {
				t.Fatal(err)
			}
			apply(1)(ev)
			if ev.Kind == capture.Change && ev.Table != nil {
				switch {
				case ev.Table.ID.Table == "k" && ev.Op == capture.OpCreate:
					streamed++
				case ev.Table.ID.Table == "a" && ev.Op == capture.OpRead:
					aReads++
				}
			}
			stored = ev.Position.(*Position).AppendOffset(nil)
		}
		s2.Close()
		if p, _ := ParseOffset(stored); p == nil || p.SnapTable != "a" {
			t.Fatalf("stored offset %s: want the progress in table a", stored)
		} else if p.SnapXids == "" {
			t.Errorf("stored offset %s: no snapshot_xids", stored)
		}
		db.exec("INSERT INTO k SELECT 'down2', g FROM generate_series(3001, 3020) g")

		// Run 3: to the end.
		cfg.Offset = stored
		s3, err := Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s3.Close()
		for {
			ev, err := s3.Next(rctx)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind == capture.SnapshotDone {
				break
			}
			apply(2)(ev)
		}

		got := map[string]int{}
		for _, r := range reads {
			for img, n := range r {
				got[img] = max(got[img], n)
			}
		}
		for _, ev := range changes {
			got[imageText(ev.After)]++
		}
		var extra, lost []string
		for n := 1; n <= 3020; n++ {
			var kind string
			switch {
			case n <= 1000:
				kind = "a"
			case n > 2000 && n <= 2050:
				kind = "down1"
			case n > 2050 && n <= 2060:
				kind = "sub"
			case n > 3000:
				kind = "down2"
			default:
				continue
			}
			img := fmt.Sprintf("%s:%d", kind, n)
			switch c := got[img]; {
			case c > 1:
				extra = append(extra, fmt.Sprintf("%s x%d", img, c-1))
			case c == 0:
				lost = append(lost, img)
			}
			delete(got, img)
		}
		t.Logf("reads of k: run 1 %d, run 2 %d, run 3 %d; changes %d", sumInts(reads[0]), sumInts(reads[1]), sumInts(reads[2]), len(changes))
		if len(extra) > 0 || len(lost) > 0 || len(got) > 0 {
			t.Errorf("%d rows published too often: %s; %d lost: %s; unexpected: %v", len(extra), head(extra), len(lost), head(lost), got)
		}
	})
}
