//go:build integration

package postgres

import (
	"context"
	"strings"
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

// TestPartitionedPublishedUnderExcludedName: pgoutput reports a partition's row under the name
// the publication publishes it as: the partition's own (publish_via_partition_root = false) or
// its root's (true). When the include list names the other one, every change of the table was
// dropped by the filter, silently. Now Open stops and says which ALTER PUBLICATION to run; a
// publication sluice creates for an included root publishes via the root.
func TestPartitionedPublishedUnderExcludedName(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE pt (id int, region text, PRIMARY KEY (id, region)) PARTITION BY LIST (region)",
			"CREATE TABLE pt_eu PARTITION OF pt FOR VALUES IN ('eu')",
			"CREATE TABLE pt_us PARTITION OF pt FOR VALUES IN ('us')",
			"CREATE PUBLICATION "+db.name+"_leaves FOR TABLE pt",
			"CREATE PUBLICATION "+db.name+"_root FOR TABLE pt WITH (publish_via_partition_root = true)")
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, tc := range []struct{ pub, include, want string }{
			{db.name + "_leaves", `public\.pt`, "publish_via_partition_root = true"},
			{db.name + "_root", `public\.pt_eu`, "publish_via_partition_root = false"},
		} {
			cfg := db.config()
			cfg.Publication, cfg.PublicationMode, cfg.TableInclude = tc.pub, PublicationDisabled, []string{tc.include}
			s, err := Open(ctx, cfg)
			if err == nil {
				s.Close()
				t.Errorf("publication %s, include %s: opened; its changes would be dropped by the include list", tc.pub, tc.include)
				continue
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("publication %s, include %s: error %v, want one naming %q", tc.pub, tc.include, err, tc.want)
			}
		}
		// Created by sluice for an include list naming the root: published via the root.
		cfg := db.config()
		cfg.Publication, cfg.PublicationMode, cfg.TableInclude = db.name+"_made", PublicationFiltered, []string{`public\.pt`}
		s := db.open(cfg)
		db.exec("INSERT INTO pt VALUES (1, 'eu'), (2, 'us')")
		evs := changesOnly(collect(t, s, 2))
		for _, ev := range evs {
			if ev.Table.ID.Table != "pt" {
				t.Errorf("a change of %s, want pt", ev.Table.ID)
			}
		}
	})
}
