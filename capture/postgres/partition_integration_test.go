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
