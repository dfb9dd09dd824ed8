//go:build integration

package postgres

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestReplicaIdentityIndexIsKey: a table without a primary key under REPLICA IDENTITY USING
// INDEX is keyed by the index's columns, in the snapshot and in the stream, as Debezium keys
// it (the unique key when there is no primary key). Before, the key was empty: every record
// of the table had a null Kafka key, so a compacted topic or an upserting sink could not tell
// the rows apart, and a delete deleted nothing (or everything).
func TestReplicaIdentityIndexIsKey(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec(
			`CREATE TABLE ri (n text, b int NOT NULL, a int NOT NULL, note text)`,
			`CREATE UNIQUE INDEX ri_ab ON ri (a, b)`,
			`CREATE UNIQUE INDEX ri_note ON ri (note)`, // unique, not the identity: not the key
			`ALTER TABLE ri REPLICA IDENTITY USING INDEX ri_ab`,
			`INSERT INTO ri VALUES ('one', 1, 10, 'x')`,
			`CREATE PUBLICATION sluice FOR TABLE ri`)
		cfg := db.config()
		cfg.SnapshotMode = SnapshotInitial
		s := db.open(cfg)
		want := []string{"a", "b"}
		evs := changesOnly(collect(t, s, 1))
		if k := evs[0].Table.PrimaryKeyNames(); !slices.Equal(k, want) {
			t.Fatalf("snapshot key = %v, want %v", k, want)
		}
		db.exec(`INSERT INTO ri VALUES ('two', 2, 20, 'y')`,
			`UPDATE ri SET n = 'uno' WHERE a = 10`,
			`DELETE FROM ri WHERE a = 20`)
		for _, ev := range changesOnly(collect(t, s, 3)) {
			if k := ev.Table.PrimaryKeyNames(); !slices.Equal(k, want) {
				t.Errorf("%c: key = %v, want %v", ev.Op, k, want)
			}
		}
	})
}

// TestReplicaIdentityIndexWithoutPrimaryKey: a table with a primary key under REPLICA
// IDENTITY USING INDEX of another index: its deletes (and updates of the index's columns)
// carry the index's columns, not the primary key. Before, the key's missing columns were
// written as Debezium's fallback (0): a delete of row 1 went out as a delete (and tombstone)
// of key {"id":0}, so row 1 stayed downstream and a row 0 would have been deleted. Now Open
// refuses the table, naming the fix, and a table switched to it while streaming stops at its
// first such change.
func TestReplicaIdentityIndexWithoutPrimaryKey(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec(
			`CREATE TABLE ix (id int PRIMARY KEY, code text NOT NULL, n int)`,
			`CREATE UNIQUE INDEX ix_code ON ix (code)`,
			`CREATE UNIQUE INDEX ix_both ON ix (code, id)`,
			`ALTER TABLE ix REPLICA IDENTITY USING INDEX ix_code`,
			`CREATE PUBLICATION sluice FOR TABLE ix`)
		_, err := Open(context.Background(), db.config())
		if err == nil || !strings.Contains(err.Error(), `"public"."ix"`) || !strings.Contains(err.Error(), "REPLICA IDENTITY DEFAULT") {
			t.Fatalf("Open = %v, want an error naming public.ix and the fix", err)
		}
		// An index that holds the primary key is fine.
		db.exec(`ALTER TABLE ix REPLICA IDENTITY USING INDEX ix_both`)
		s := db.open(db.config())
		db.exec(`INSERT INTO ix VALUES (1, 'a', 1)`, `DELETE FROM ix WHERE id = 1`)
		evs := changesOnly(collect(t, s, 2))
		if b := evs[1].Before; evs[1].Op != capture.OpDelete || b[0].IsNull() || b[0].Int != 1 {
			t.Fatalf("delete under USING INDEX (code, id): %c before %v", evs[1].Op, b)
		}
		// Switched while streaming: the delete that cannot be keyed stops the source.
		db.exec(`INSERT INTO ix VALUES (2, 'b', 2)`, `ALTER TABLE ix REPLICA IDENTITY USING INDEX ix_code`, `DELETE FROM ix WHERE id = 2`)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for {
			ev, err := s.Next(ctx)
			if err != nil {
				if !strings.Contains(err.Error(), `"public"."ix"`) || !strings.Contains(err.Error(), "primary key") || capture.Retryable(err) {
					t.Fatalf("Next = %v, want a permanent error naming the table and the primary key", err)
				}
				return
			}
			if ev.Kind == capture.Change && ev.Op == capture.OpDelete {
				t.Fatalf("delete emitted with before %v", ev.Before)
			}
			if ev.Position != nil {
				s.Ack(ctx, ev.Position)
			}
		}
	})
}
