//go:build integration

package postgres

import (
	"slices"
	"testing"
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
