//go:build integration

package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestPublicationMissingIncludedTable: an existing publication (modes all_tables and disabled
// use it as it is) that lacks a table the include lists name stops Open with the ALTER
// PUBLICATION that fixes it, and `sluice check` fails the same way. Before, the table was
// neither snapshotted nor streamed, and nothing said so.
func TestPublicationMissingIncludedTable(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE pm_a (id int PRIMARY KEY)", "CREATE TABLE pm_b (id int PRIMARY KEY)",
			"CREATE TABLE pm_parted (id int PRIMARY KEY) PARTITION BY RANGE (id)",
			"CREATE TABLE pm_parted_1 PARTITION OF pm_parted FOR VALUES FROM (0) TO (100)",
			"CREATE PUBLICATION pm_pub FOR TABLE pm_a, pm_parted WITH (publish_via_partition_root = true)")
		for _, mode := range []PublicationMode{PublicationAllTables, PublicationDisabled} {
			t.Run(string(mode), func(t *testing.T) {
				cfg := db.config()
				cfg.Publication = "pm_pub"
				cfg.PublicationMode = mode
				cfg.TableInclude = []string{`public\.pm_.*`}
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				defer cancel()
				s, err := Open(ctx, cfg)
				if err == nil {
					s.Close()
					t.Fatal("Open succeeded with public.pm_b outside the publication")
				}
				if !strings.Contains(err.Error(), `ALTER PUBLICATION "pm_pub" ADD TABLE "public"."pm_b";`) || strings.Contains(err.Error(), "pm_a") ||
					strings.Contains(err.Error(), "pm_parted") {
					t.Fatalf("error does not name exactly the missing table and its fix: %v", err)
				}
				var failed bool
				for _, c := range Check(ctx, cfg) {
					if c.Name == "publication" {
						failed = c.Status == capture.CheckFail && strings.Contains(c.Fix, `ADD TABLE "public"."pm_b"`)
					}
				}
				if !failed {
					t.Errorf("check did not fail the publication: %+v", Check(ctx, cfg))
				}
			})
		}
		// The publication's own tables only, or no include list: it runs.
		cfg := db.config()
		cfg.Publication = "pm_pub"
		cfg.TableInclude = []string{`public\.pm_a`, `public\.pm_parted`}
		db.open(cfg).Close()
		cfg.TableInclude = nil
		db.open(cfg).Close()
	})
}
