//go:build integration

package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestTableAddedToIncludeListSnapshottedAlone: a source restarted with a table added to
// --table-include reads that table's existing rows alone (an incremental snapshot; a keyless
// one by a blocking snapshot) and streams on; the tables it captured before are not read
// again. Before, the added table's existing rows never arrived.
func TestTableAddedToIncludeListSnapshottedAlone(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE a (id int PRIMARY KEY)", "INSERT INTO a SELECT generate_series(1, 300)",
			"CREATE TABLE b (id int PRIMARY KEY)", "INSERT INTO b SELECT generate_series(1, 700)",
			"CREATE TABLE c (id int)", "INSERT INTO c SELECT generate_series(1, 50)",
			"CREATE TABLE sentinel (id int PRIMARY KEY)")
		cfg := db.config()
		cfg.SnapshotMode = SnapshotInitial
		cfg.SnapshotChunkRows = 100
		cfg.TableInclude = []string{`public\.a`, `public\.sentinel`}
		s := db.open(cfg)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		off := offsetAfterSnapshot(ctx, t, s)
		if !strings.Contains(string(off), `"captured_filters":{"table_include":["public\\.a","public\\.sentinel"]}`) {
			t.Fatalf("the offset does not record the table filters: %s", off)
		}
		s.Close()
		db.exec("INSERT INTO a VALUES (301)", "INSERT INTO b VALUES (701)", "UPDATE b SET id = 1000 WHERE id = 1", "INSERT INTO c VALUES (51)")

		cfg.Offset = off
		cfg.TableInclude = []string{`public\.a`, `public\.b`, `public\.c`, `public\.sentinel`}
		s = db.open(cfg)
		ticker(t, db)
		reads := map[string]int{}
		keys := map[string]map[int64]bool{"a": {}, "b": {}, "c": {}}
		for done := false; !done; {
			ev, err := s.Next(ctx)
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if ev.Position != nil {
				s.Ack(ctx, ev.Position)
			}
			// The keyless c is read by a blocking snapshot after the incremental one of b.
			if isSentinel(ev) && reads["c"] >= 51 && !s.Progress().Snapshot.Running.Load() {
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
		if reads["a"] != 0 {
			t.Errorf("table a, captured before, was read again: %d reads", reads["a"])
		}
		if reads["b"] == 0 || reads["c"] == 0 {
			t.Errorf("reads of the added tables: b %d, c %d", reads["b"], reads["c"])
		}
		for tab, want := range map[string]int{"b": 701, "c": 51} {
			if len(keys[tab]) != want {
				t.Errorf("table %s: %d keys in the events, want %d", tab, len(keys[tab]), want)
			}
		}
		if !keys["b"][1000] || keys["b"][1] {
			t.Error("table b: the update of key 1 to 1000 is not the last state")
		}
		t.Logf("reads after the restart: %v", reads)
	})
}

// TestFilteredPublicationNewTableSnapshotted: in the filtered publication mode, a captured
// table created while sluice was stopped is added to the publication at the next start, and
// its rows written before that are read by a snapshot of it alone. Before, the start added it
// to the publication but its earlier rows never arrived.
func TestFilteredPublicationNewTableSnapshotted(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE fpn_a (id int PRIMARY KEY)", "INSERT INTO fpn_a SELECT generate_series(1, 20)",
			"CREATE TABLE sentinel (id int PRIMARY KEY)")
		cfg := db.config()
		cfg.Publication = db.name + "_fpn"
		cfg.PublicationMode = PublicationFiltered
		cfg.SnapshotMode = SnapshotInitial
		cfg.SnapshotChunkRows = 100
		cfg.TableInclude = []string{`public\.fpn_.*`, `public\.sentinel`}
		s := db.open(cfg)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		off := offsetAfterSnapshot(ctx, t, s)
		s.Close()
		// Created and written while sluice is down: not in the publication, so never published.
		db.exec("CREATE TABLE fpn_b (id int PRIMARY KEY)", "INSERT INTO fpn_b SELECT generate_series(1, 300)",
			"CREATE TABLE fpn_c (id int)", "INSERT INTO fpn_c SELECT generate_series(1, 30)")

		cfg.Offset = off
		s = db.open(cfg)
		ticker(t, db)
		keys := map[string]map[int64]bool{"fpn_a": {}, "fpn_b": {}, "fpn_c": {}}
		reads := map[string]int{}
		for done := false; !done; {
			ev, err := s.Next(ctx)
			if err != nil {
				t.Fatalf("Next: %v (reads so far %v)", err, reads)
			}
			if ev.Position != nil {
				s.Ack(ctx, ev.Position)
			}
			if isSentinel(ev) && reads["fpn_c"] >= 30 && !s.Progress().Snapshot.Running.Load() {
				done = true
			}
			if ev.Kind != capture.Change || ev.Table == nil || keys[ev.Table.ID.Table] == nil {
				continue
			}
			if ev.Op == capture.OpRead {
				reads[ev.Table.ID.Table]++
			}
			if ev.After != nil {
				keys[ev.Table.ID.Table][ev.After[0].Int] = true
			}
		}
		if reads["fpn_a"] != 0 {
			t.Errorf("fpn_a, captured before, was read again: %d reads", reads["fpn_a"])
		}
		if len(keys["fpn_b"]) != 300 || len(keys["fpn_c"]) != 30 {
			t.Errorf("rows of the tables added to the publication: fpn_b %d of 300, fpn_c %d of 30", len(keys["fpn_b"]), len(keys["fpn_c"]))
		}
	})
}

// offsetAfterSnapshot reads s up to the end of its snapshot, acknowledging every position, and
// returns the last one's stored offset.
func offsetAfterSnapshot(ctx context.Context, t *testing.T, s *Source) []byte {
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
