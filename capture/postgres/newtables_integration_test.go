//go:build integration

package postgres

import (
	"context"
	"strings"
	"testing"
	"time"
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
		off := snapshotOffset(t, ctx, s)
		if !strings.Contains(string(off), `"captured_filters":{"table_include":["public\\.a","public\\.sentinel"]}`) {
			t.Fatalf("the offset does not record the table filters: %s", off)
		}
		s.Close()
		db.exec("INSERT INTO a VALUES (301)", "INSERT INTO b VALUES (701)", "UPDATE b SET id = 1000 WHERE id = 1", "INSERT INTO c VALUES (51)")

		cfg.Offset = off
		cfg.TableInclude = []string{`public\.a`, `public\.b`, `public\.c`, `public\.sentinel`}
		s = db.open(cfg)
		ticker(t, db)
		// The keyless c is read by a blocking snapshot after the incremental one of b.
		reads, keys := followAdded(t, ctx, s, "c", 51, "a", "b", "c")
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
		off := snapshotOffset(t, ctx, s)
		s.Close()
		// Created and written while sluice is down: not in the publication, so never published.
		db.exec("CREATE TABLE fpn_b (id int PRIMARY KEY)", "INSERT INTO fpn_b SELECT generate_series(1, 300)",
			"CREATE TABLE fpn_c (id int)", "INSERT INTO fpn_c SELECT generate_series(1, 30)")

		cfg.Offset = off
		s = db.open(cfg)
		ticker(t, db)
		reads, keys := followAdded(t, ctx, s, "fpn_c", 30, "fpn_a", "fpn_b", "fpn_c")
		if reads["fpn_a"] != 0 {
			t.Errorf("fpn_a, captured before, was read again: %d reads", reads["fpn_a"])
		}
		if len(keys["fpn_b"]) != 300 || len(keys["fpn_c"]) != 30 {
			t.Errorf("rows of the tables added to the publication: fpn_b %d of 300, fpn_c %d of 30", len(keys["fpn_b"]), len(keys["fpn_c"]))
		}
	})
}
