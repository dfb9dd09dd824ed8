//go:build integration

package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestSnapshotResumesAfterCrash: the initial snapshot stops part way (the process dies after
// some rows were delivered and their offset stored), rows change meanwhile and while the rest
// is read. Before, the restart dropped the slot and read every table again from the start
// (a 30-hour snapshot that dies at hour 29 starts over). Now it resumes after the stored key,
// in watermark windows of the stream, and every key's last event is its current row; a
// keyless table not reached before the crash is read whole in ctid page ranges.
func TestSnapshotResumesAfterCrash(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		const rows = 6000
		db.exec("CREATE TABLE a (id int PRIMARY KEY, v int)", "CREATE TABLE b (id int PRIMARY KEY, v text)", "CREATE TABLE fin (id int PRIMARY KEY)",
			// Keyless, after b: read again from its start in ctid page ranges.
			"CREATE TABLE k (n int, pad text) WITH (fillfactor = 10)", "ALTER TABLE k REPLICA IDENTITY FULL",
			"INSERT INTO k SELECT g, repeat('x', 200) FROM generate_series(1, 3000) g",
			fmt.Sprintf("INSERT INTO a SELECT g, 0 FROM generate_series(1, %d) g", rows),
			fmt.Sprintf("INSERT INTO b SELECT g, 'b0' FROM generate_series(1, %d) g", rows),
			"ANALYZE a", "ANALYZE b", "CREATE PUBLICATION sluice FOR ALL TABLES")
		cfg := db.config()
		cfg.SnapshotMode = SnapshotInitial
		cfg.SnapshotChunkRows = 700
		cfg.SnapshotWorkers = 2
		state := map[string]map[int64]string{"a": {}, "b": {}, "fin": {}, "k": {}}
		reads := 0
		apply := func(ev capture.Event) {
			if ev.Kind != capture.Change || ev.Table == nil {
				return
			}
			m := state[ev.Table.ID.Table]
			switch ev.Op {
			case capture.OpRead, capture.OpCreate, capture.OpUpdate:
				if ev.Op == capture.OpRead {
					reads++
				}
				if ev.Op == capture.OpUpdate && ev.Before != nil {
					delete(m, ev.Before[0].Int)
				}
				m[ev.After[0].Int] = valueText(ev.After)
			case capture.OpDelete:
				delete(m, ev.Before[0].Int)
			}
		}
		// Run 1: deliver a bit more than one table, then die.
		s1, err := Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		stored := deliverChanges(t, rctx, s1, rows+rows/3, apply)
		s1.Close()
		t.Logf("stored offset after run 1: %s", stored)
		if p, _ := ParseOffset(stored); p == nil || p.SnapTable != "b" || p.SnapAfter == nil {
			t.Fatalf("stored offset %s: want the progress in table b", stored)
		}
		// Rows change while nothing runs, and while the rest is read.
		write := func(i int) {
			k := 1 + rand.IntN(rows+200)
			if i%4 != 0 && i%8 != 1 {
				k = 1500 + rand.IntN(rows-1300) // mostly the part of b read after the restart
			}
			var q string
			switch i % 4 {
			case 0:
				q = fmt.Sprintf("UPDATE a SET v = %d WHERE id = %d", i, k)
			case 1:
				q = fmt.Sprintf("UPDATE b SET v = 'b%d' WHERE id = %d", i, k)
			case 2:
				q = fmt.Sprintf("DELETE FROM b WHERE id = %d", k)
			case 3:
				q = fmt.Sprintf("INSERT INTO b VALUES (%d, 'n%d') ON CONFLICT (id) DO UPDATE SET v = 'c%d'", k, i, i)
			}
			if _, err := db.conn.Exec(ctx, q); err != nil {
				t.Error(err)
			}
		}
		for i := 0; i < 300; i++ {
			write(i)
		}
		cfg.Offset = stored
		s2, err := Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // a connection of its own: db.conn is not safe for concurrent use
			defer wg.Done()
			for i := 300; i < 2300; i++ {
				write(i)
			}
		}()
		done := false
		for {
			ev, err := s2.Next(rctx)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Position != nil {
				s2.Ack(rctx, ev.Position)
			}
			if ev.Kind == capture.SnapshotDone {
				done = true
				wg.Wait()
				db.exec("INSERT INTO fin VALUES (1)")
			}
			apply(ev)
			if done && len(state["fin"]) == 1 {
				break
			}
		}
		if len(state["k"]) != 3000 {
			t.Errorf("keyless table k: %d of 3000 rows read", len(state["k"]))
		}
		for _, tab := range []string{"a", "b"} {
			want := map[int64]string{}
			rows, err := db.conn.Query(ctx, "SELECT id, v::text FROM "+tab)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id int64
				var v string
				if err := rows.Scan(&id, &v); err != nil {
					t.Fatal(err)
				}
				want[id] = v
			}
			rows.Close()
			got := state[tab]
			bad := 0
			for k, v := range want {
				if got[k] != v {
					if bad++; bad < 10 {
						t.Errorf("%s key %d: got %q, want %q", tab, k, got[k], v)
					}
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					if bad++; bad < 10 {
						t.Errorf("%s key %d: deleted at the source, still %q", tab, k, got[k])
					}
				}
			}
			if bad > 0 {
				t.Errorf("%s: %d keys wrong of %d", tab, bad, len(want))
			}
		}
		// Run 1 read a and part of b; run 2 the rest of b, re-reading at most a batch.
		if reads > 2*rows+3000+2*snapBatchRows {
			t.Errorf("%d snapshot rows emitted for %d rows: the resumed snapshot read again what was delivered", reads, 2*rows+3000)
		}
		t.Logf("%d snapshot rows emitted for %d rows", reads, 2*rows+3000)
	})
}

// valueText is the text of a row's second column as the test tables hold it.
func valueText(r capture.Row) string {
	if len(r) < 2 {
		return ""
	}
	v := r[1]
	switch v.Kind {
	case capture.Int:
		return fmt.Sprint(v.Int)
	case capture.String:
		return string(v.Bytes)
	}
	return fmt.Sprintf("kind %d", v.Kind)
}

// TestResumedChunkKeepsItsProgress: a resumed snapshot dies part way through emitting a chunk.
// Before, every row of a chunk carried the progress before the chunk, so the next run read
// the whole chunk again (here 3,000 rows; at the default 10,000-row chunks and a fast
// snapshot, most of what a kill cost beside the save interval). Now every 512 rows the
// position says so: the next run re-reads at most 512 rows of it.
func TestResumedChunkKeepsItsProgress(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		const rows = 20000
		db.exec("CREATE TABLE a (id int PRIMARY KEY, v int)", fmt.Sprintf("INSERT INTO a SELECT g, 0 FROM generate_series(1, %d) g", rows),
			"ANALYZE a", "CREATE PUBLICATION sluice FOR ALL TABLES")
		cfg := db.config()
		cfg.SnapshotMode = SnapshotInitial
		cfg.SnapshotChunkRows = 5000
		cfg.SnapshotWorkers = 1
		seen := map[int64]int{} // key → the run that read it
		// run reads n snapshot rows (all when n is 0) from the offset stored and returns the
		// offset of the last event and how many of its rows an earlier run had read.
		run := func(run, n int, stored []byte) ([]byte, int) {
			cfg.Offset = stored
			s, err := Open(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			again, reads := 0, 0
			for n == 0 || reads < n {
				ev, err := s.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if ev.Position != nil {
					stored = ev.Position.(*Position).AppendOffset(nil)
				}
				if ev.Kind == capture.SnapshotDone {
					break
				}
				if ev.Kind == capture.Change && ev.Op == capture.OpRead {
					reads++
					if r, ok := seen[ev.After[0].Int]; ok && r < run {
						again++
					}
					seen[ev.After[0].Int] = run
				}
			}
			return stored, again
		}
		stored, _ := run(1, 1200, nil)   // the consistent snapshot: 1,200 rows
		stored, _ = run(2, 3000, stored) // resumed: 3,000 rows into its first chunk
		t.Logf("stored offset after run 2: %s", stored)
		_, again := run(3, 0, stored)
		if len(seen) != rows {
			t.Fatalf("%d of %d keys read", len(seen), rows)
		}
		t.Logf("run 3 read %d rows run 2 had read", again)
		if again > markRows {
			t.Errorf("run 3 read %d rows run 2 had read, want at most %d: the chunk's progress was not in the offset", again, markRows)
		}
	})
}
