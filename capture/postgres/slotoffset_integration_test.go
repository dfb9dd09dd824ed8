//go:build integration

package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestNewSlotKilledBeforeFirstSaveResumes: a source that created its slot and was killed
// before the pipeline stored any offset restarts without flags and delivers every row (the
// snapshot resumes through the slot from the offset Open saved right after creating it).
// Before, no offset was stored, and the restart refused the slot (ErrSlotExists) unless
// --drop-existing-slot dropped it.
func TestNewSlotKilledBeforeFirstSaveResumes(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE a (id int PRIMARY KEY)", "INSERT INTO a SELECT generate_series(1, 500)",
			"CREATE TABLE b (id int PRIMARY KEY)", "INSERT INTO b SELECT generate_series(1, 300)",
			"CREATE TABLE sentinel (id int PRIMARY KEY)")
		cfg := db.config()
		cfg.SnapshotMode = SnapshotInitial
		cfg.SnapshotChunkRows = 64
		var saved []byte
		cfg.SaveOffset = func(_ context.Context, off []byte) error {
			saved = slices.Clone(off)
			return nil
		}
		s := db.open(cfg)
		if !s.CreatedSlot() {
			t.Fatal("Open did not create the slot")
		}
		s.Close() // killed: no event read, nothing saved by a pipeline
		if saved == nil || !strings.Contains(string(saved), `"snapshot_slot":"`+cfg.Slot+`"`) {
			t.Errorf("no initial offset with the slot was saved: %s", saved)
		}
		// Written while the process is down: the stream from the slot's consistent point has them.
		db.exec("INSERT INTO a VALUES (501), (502)", "UPDATE b SET id = 1000 WHERE id = 1", "DELETE FROM a WHERE id = 2")

		cfg.Offset, cfg.SaveOffset = saved, nil
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s2, err := Open(ctx, cfg)
		if err != nil {
			t.Fatalf("restart without flags after a kill right after slot creation: %v", err)
		}
		defer s2.Close()
		ticker(t, db)
		state := map[string]map[int64]bool{"a": {}, "b": {}}
		done := false
		for !done || !s2.Progress().Snapshot.Completed.Load() {
			ev, err := s2.Next(ctx)
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if ev.Position != nil {
				s2.Ack(ctx, ev.Position)
			}
			if isSentinel(ev) && s2.Progress().Snapshot.Completed.Load() {
				done = true
			}
			if ev.Kind != capture.Change || ev.Table == nil || state[ev.Table.ID.Table] == nil {
				continue
			}
			m := state[ev.Table.ID.Table]
			switch ev.Op {
			case capture.OpDelete:
				delete(m, ev.Before[0].Int)
			case capture.OpUpdate:
				if ev.Before != nil {
					delete(m, ev.Before[0].Int)
				}
				m[ev.After[0].Int] = true
			default:
				m[ev.After[0].Int] = true
			}
		}
		for _, tc := range []struct {
			table string
			n     int
		}{{"a", 501}, {"b", 300}} {
			var want []int64
			rows, err := db.conn.Query(ctx, "SELECT id FROM "+tc.table+" ORDER BY id")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id int64
				rows.Scan(&id)
				want = append(want, id)
			}
			rows.Close()
			var got []int64
			for id := range state[tc.table] {
				got = append(got, id)
			}
			slices.Sort(got)
			if len(want) != tc.n || !slices.Equal(got, want) {
				t.Errorf("table %s: %d keys from the events, %d in the table (want %d)", tc.table, len(got), len(want), tc.n)
			}
		}
	})
}

// TestNewSlotKilledBetweenCreationAndSave: a crash after the slot was created and before
// the offset with its consistent point was stored still finds an offset naming the slot
// (stored just before its creation): the restart resumes the snapshot from the slot's own
// position, without flags. Before, no offset was stored and the restart refused the slot.
func TestNewSlotKilledBetweenCreationAndSave(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE a (id int PRIMARY KEY)", "INSERT INTO a SELECT generate_series(1, 400)",
			"CREATE TABLE sentinel (id int PRIMARY KEY)")
		cfg := db.config()
		cfg.SnapshotMode = SnapshotInitial
		cfg.SnapshotChunkRows = 64
		var saved [][]byte
		cfg.SaveOffset = func(_ context.Context, off []byte) error {
			saved = append(saved, slices.Clone(off))
			if len(saved) == 2 {
				return errors.New("killed") // the save after the creation never happens
			}
			return nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if s, err := Open(ctx, cfg); err == nil {
			s.Close()
			t.Fatal("Open succeeded though the save after the slot's creation failed")
		}
		var slots int
		db.adm.QueryRow(ctx, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", cfg.Slot).Scan(&slots)
		if slots != 1 || len(saved) != 2 {
			t.Fatalf("%d slots, %d saves: want the slot created and two saves", slots, len(saved))
		}
		db.exec("INSERT INTO a VALUES (401)", "DELETE FROM a WHERE id = 1")
		cfg.Offset, cfg.SaveOffset = saved[0], nil
		s, err := Open(ctx, cfg)
		if err != nil {
			t.Fatalf("restart from the offset stored before the slot's creation: %v", err)
		}
		defer s.Close()
		ticker(t, db)
		keys := map[int64]bool{}
		for done := false; !done; {
			ev, err := s.Next(ctx)
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			if ev.Position != nil {
				s.Ack(ctx, ev.Position)
			}
			done = isSentinel(ev) && s.Progress().Snapshot.Completed.Load()
			if ev.Kind != capture.Change || ev.Table == nil || ev.Table.ID.Table != "a" {
				continue
			}
			if ev.Op == capture.OpDelete {
				delete(keys, ev.Before[0].Int)
			} else {
				keys[ev.After[0].Int] = true
			}
		}
		if len(keys) != 400 || keys[1] || !keys[401] {
			t.Errorf("%d keys of a in the events (key 1 %v, key 401 %v), want 400 without 1", len(keys), keys[1], keys[401])
		}
	})
}
