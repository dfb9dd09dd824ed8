//go:build integration

package postgres

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// unfinishedSnapshot runs a first snapshot of table a (rows 1..n) until some rows were
// delivered, and returns the config, the offset stored then (that of the last row) and the
// rows of a delivered (id to v).
func unfinishedSnapshot(t *testing.T, db *testDB, n int) (Config, *Position, map[int64]int64) {
	t.Helper()
	db.exec("CREATE TABLE a (id int PRIMARY KEY, v int NOT NULL)", "CREATE TABLE sentinel (id int PRIMARY KEY)",
		"INSERT INTO a SELECT g, g FROM generate_series(1, "+strconv.Itoa(n)+") g")
	cfg := db.config()
	cfg.SnapshotMode = SnapshotInitial
	cfg.SnapshotChunkRows = 200
	cfg.SnapshotWorkers = 1
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	state := map[int64]int64{}
	stored := deliverChanges(t, ctx, s, n/3, func(ev capture.Event) { applyA(state, ev) })
	s.Close()
	p, err := ParseOffset(stored)
	if err != nil || p == nil || !p.Snapshot || p.SnapshotCompleted {
		t.Fatalf("stored offset %s (%v): want an unfinished snapshot", stored, err)
	}
	// While sluice is down: a published row deleted, another updated.
	if _, ok := state[1]; !ok {
		t.Fatal("run 1 did not deliver row 1")
	}
	db.exec("DELETE FROM a WHERE id = 1", "UPDATE a SET v = -2 WHERE id = 2")
	return cfg, p, state
}

// applyA applies a change of table a to state (id to v).
func applyA(state map[int64]int64, ev capture.Event) {
	if ev.Kind != capture.Change || ev.Table == nil || ev.Table.ID.Table != "a" {
		return
	}
	if ev.Op == capture.OpDelete {
		delete(state, ev.Before[0].Int)
	} else {
		state[ev.After[0].Int] = ev.After[1].Int
	}
}

// TestSnapshotResumeOldOffset: the offset of an unfinished snapshot written by an older sluice
// (no snapshot_table, no snapshot_slot: only the snapshot's consistent point). Before, the
// restart warned "the unfinished snapshot starts over", dropped the slot and took a new
// snapshot at a later LSN: row 1, published by the first attempt and deleted since, stayed in
// the sink. Now it resumes from the first table in watermark windows, streaming from the
// stored LSN, and every key ends as the table has it.
func TestSnapshotResumeOldOffset(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		const n = 3000
		cfg, p, state := unfinishedSnapshot(t, db, n)
		p.SnapSchema, p.SnapTable, p.SnapAfter, p.SnapSlot, p.Filters = "", "", nil, "", nil
		cfg.Offset = p.AppendOffset(nil)
		t.Logf("old-format offset: %s", cfg.Offset)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		s, err := Open(ctx, cfg)
		if err != nil {
			t.Fatalf("restart from an older sluice's offset: %v", err)
		}
		defer s.Close()
		if s.CreatedSlot() {
			t.Error("the restart took a new snapshot on a new slot instead of resuming through the slot")
		}
		ticker(t, db)
		for done := false; !done; {
			ev, err := s.Next(ctx)
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if ev.Position != nil {
				s.Ack(ctx, ev.Position)
			}
			done = isSentinel(ev) && s.Progress().Snapshot.Completed.Load()
			applyA(state, ev)
		}
		// The sink holds run 1's rows and then run 2's: row 1 must have had its delete.
		if _, ok := state[1]; ok {
			t.Error("row 1, deleted while sluice was down, is still in the sink")
		}
		if state[2] != -2 || len(state) != n-1 {
			t.Errorf("%d rows, row 2 v %d: want %d rows, row 2 v -2", len(state), state[2], n-1)
		}
	})
}

// TestSnapshotResumeNeedsMessages: a server without logical decoding messages in pgoutput
// (PostgreSQL before 14, simulated) cannot window the rest of an unfinished snapshot. Before,
// the restart warned and took the snapshot again at a later LSN, so row 1 (published, then
// deleted) stayed in the sink; now the start fails naming what to do, and the slot is kept.
func TestSnapshotResumeNeedsMessages(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		cfg, p, _ := unfinishedSnapshot(t, db, 1500)
		cfg.Offset = p.AppendOffset(nil)
		cfg.noResumeMessages = true
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s, err := Open(ctx, cfg)
		if err == nil {
			s.Close()
			t.Fatal("the unfinished snapshot was taken again at a later LSN")
		}
		if capture.Retryable(err) || !strings.Contains(err.Error(), "PostgreSQL 14") || !strings.Contains(err.Error(), "--snapshot-mode always") ||
			!strings.Contains(err.Error(), "--drop-existing-slot") {
			t.Fatalf("Open: %v; want a permanent error naming the server version and the flags", err)
		}
		t.Logf("Open fails as it should: %v", err)
		var slots int
		db.adm.QueryRow(ctx, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", cfg.Slot).Scan(&slots)
		if slots != 1 {
			t.Errorf("%d slots named %s after the refused start, want the slot kept", slots, cfg.Slot)
		}
		// The way out the error names: a new snapshot on purpose.
		cfg.SnapshotMode = SnapshotAlways
		s, err = Open(ctx, cfg)
		if err != nil {
			t.Fatalf("Open with --snapshot-mode always: %v", err)
		}
		s.Close()
	})
}

// TestSnapshotSlotGoneUnfinished: the slot of an unfinished snapshot was dropped while sluice
// was down. Before, the restart (snapshot mode initial) silently created a new slot and took
// the snapshot again at a later LSN: row 1, published and then deleted, stayed in the sink.
// Now the start fails naming --snapshot-mode when_needed, which then takes the new snapshot.
func TestSnapshotSlotGoneUnfinished(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		cfg, p, _ := unfinishedSnapshot(t, db, 1500)
		cfg.Offset = p.AppendOffset(nil)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := db.adm.Exec(ctx, "SELECT pg_drop_replication_slot($1)", cfg.Slot); err != nil {
			t.Fatal(err)
		}
		s, err := Open(ctx, cfg)
		if err == nil {
			s.Close()
			t.Fatal("the unfinished snapshot was taken again on a new slot at a later LSN")
		}
		if capture.Retryable(err) || !strings.Contains(err.Error(), "no longer exists") || !strings.Contains(err.Error(), "--snapshot-mode when_needed") {
			t.Fatalf("Open: %v; want a permanent error naming the lost slot and the flag", err)
		}
		t.Logf("Open fails as it should: %v", err)
		cfg.SnapshotMode = SnapshotWhenNeeded
		s, err = Open(ctx, cfg)
		if err != nil {
			t.Fatalf("Open with --snapshot-mode when_needed: %v", err)
		}
		s.Close()
	})
}
