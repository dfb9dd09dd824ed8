//go:build integration

package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestPartitionedRootSnapshotted: a partitioned table published through its root
// (publish_via_partition_root = true, what Debezium users set up for one topic per partitioned
// table) is snapshotted with its partitions' rows. The snapshot read the root with SELECT …
// FROM ONLY, which on a partitioned table returns no rows: every row that existed before the
// snapshot was lost (found with `sluice postgres --sink clickhouse` and `sluice verify`).
func TestPartitionedRootSnapshotted(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE pt (id int, region text, v int, PRIMARY KEY (id, region)) PARTITION BY LIST (region)",
			"CREATE TABLE pt_eu PARTITION OF pt FOR VALUES IN ('eu')",
			"CREATE TABLE pt_us PARTITION OF pt FOR VALUES IN ('us')",
			"INSERT INTO pt SELECT i, CASE WHEN i % 2 = 0 THEN 'eu' ELSE 'us' END, i FROM generate_series(1, 30) i",
			"CREATE TABLE zz_sentinel (id int PRIMARY KEY)", "INSERT INTO zz_sentinel VALUES (1)",
			"CREATE PUBLICATION "+db.name+"_pt FOR TABLE pt, zz_sentinel WITH (publish_via_partition_root = true)")
		cfg := db.config()
		cfg.Publication = db.name + "_pt"
		cfg.PublicationMode = PublicationDisabled
		cfg.SnapshotMode = SnapshotInitial
		cfg.SnapshotChunkRows = 7
		s := db.open(cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		reads := map[int64]bool{}
		for {
			ev, err := s.Next(ctx)
			if err != nil {
				t.Fatalf("Next after %d rows of pt: %v", len(reads), err)
			}
			if ev.Position != nil {
				if err := s.Ack(ctx, ev.Position); err != nil {
					t.Fatal(err)
				}
			}
			if ev.Kind != capture.Change {
				continue
			}
			if ev.Table.ID.Table == "zz_sentinel" {
				break
			}
			if ev.Table.ID.Table != "pt" {
				t.Fatalf("a row of %s: the root publishes its partitions' rows as its own", ev.Table.ID)
			}
			reads[rowInt(ev.After, 0)] = true
		}
		if len(reads) != 30 {
			t.Fatalf("snapshot read %d of the 30 rows of the partitioned table pt", len(reads))
		}
	})
}

// TestPartitionedKeylessRootResumed: a snapshot resumed after a crash reads a keyless table
// not reached yet in ctid page ranges. For a keyless partitioned root those ranges apply to
// each partition, and the page count is the largest partition's: the root has no pages of its
// own, and reading it ONLY with its own size read none of its rows.
func TestPartitionedKeylessRootResumed(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		ctx := context.Background()
		db.exec("CREATE TABLE a (id int PRIMARY KEY)", "INSERT INTO a SELECT generate_series(1, 2000)",
			"CREATE TABLE kp (n int, region text, pad text) PARTITION BY LIST (region)",
			"CREATE TABLE kp_eu PARTITION OF kp FOR VALUES IN ('eu') WITH (fillfactor = 10)",
			"CREATE TABLE kp_us PARTITION OF kp FOR VALUES IN ('us') WITH (fillfactor = 10)",
			"ALTER TABLE kp REPLICA IDENTITY FULL", "ALTER TABLE kp_eu REPLICA IDENTITY FULL", "ALTER TABLE kp_us REPLICA IDENTITY FULL",
			"INSERT INTO kp SELECT g, CASE WHEN g % 3 = 0 THEN 'eu' ELSE 'us' END, repeat('x', 200) FROM generate_series(1, 1500) g",
			"CREATE TABLE zz_sentinel (id int PRIMARY KEY)",
			"CREATE PUBLICATION "+db.name+"_kp FOR TABLE a, kp, zz_sentinel WITH (publish_via_partition_root = true)")
		cfg := db.config()
		cfg.Publication = db.name + "_kp"
		cfg.PublicationMode = PublicationDisabled
		cfg.SnapshotMode = SnapshotInitial
		cfg.SnapshotChunkRows = 300
		kp := map[int64]bool{}
		apply := func(ev capture.Event) {
			if ev.Kind == capture.Change && ev.Table != nil && ev.Table.ID.Table == "kp" && ev.After != nil {
				kp[ev.After[0].Int] = true
			}
		}
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		s1, err := Open(rctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		stored := deliverChanges(t, rctx, s1, 700, apply) // part of a: kp not reached
		s1.Close()
		if len(kp) != 0 {
			t.Fatalf("kp read before the crash: %d rows", len(kp))
		}
		cfg.Offset = stored
		s2, err := Open(rctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer s2.Close()
		for done := false; ; {
			ev, err := s2.Next(rctx)
			if err != nil {
				t.Fatalf("Next (%d rows of kp): %v", len(kp), err)
			}
			if ev.Position != nil {
				s2.Ack(rctx, ev.Position)
			}
			apply(ev)
			if ev.Kind == capture.SnapshotDone && !done {
				done = true
				db.exec("INSERT INTO zz_sentinel VALUES (1)")
			}
			if ev.Kind == capture.Change && ev.Table != nil && ev.Table.ID.Table == "zz_sentinel" && ev.Op != capture.OpRead {
				break
			}
		}
		if len(kp) != 1500 {
			t.Fatalf("resumed snapshot read %d of the 1500 rows of the keyless partitioned table kp", len(kp))
		}
	})
}
