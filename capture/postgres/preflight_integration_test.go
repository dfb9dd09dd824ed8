//go:build integration

package postgres

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
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

// TestNoTableMatchedWarns: an include list that matches no table (most often a misspelt one)
// is logged at warn level with the flags to check. Before, the source ran and captured nothing,
// and only an info line (tables=0) hinted at it.
func TestNoTableMatchedWarns(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE nm_a (id int PRIMARY KEY)")
		var log strings.Builder
		var mu sync.Mutex
		cfg := db.config()
		cfg.TableInclude = []string{`public\.nm_typo`}
		cfg.Logger = slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
			mu.Lock()
			defer mu.Unlock()
			return log.Write(p)
		}), nil))
		db.open(cfg).Close()
		mu.Lock()
		defer mu.Unlock()
		if !strings.Contains(log.String(), "level=WARN") || !strings.Contains(log.String(), "no table matches the include/exclude lists") {
			t.Errorf("no warning that nothing is captured:\n%s", log.String())
		}
	})
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestPublicationWithoutDeletes: a publication created WITH (publish = 'insert, update') stops
// Open with the ALTER PUBLICATION that fixes it. Before, deletes were never decoded for it and
// went missing downstream without a word.
func TestPublicationWithoutDeletes(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE pd_a (id int PRIMARY KEY)", "CREATE PUBLICATION pd_pub FOR TABLE pd_a WITH (publish = 'insert, update')")
		cfg := db.config()
		cfg.Publication = "pd_pub"
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s, err := Open(ctx, cfg)
		if err == nil {
			s.Close()
			t.Fatal("Open succeeded with a publication that does not publish deletes")
		}
		if !strings.Contains(err.Error(), "does not publish delete") || !strings.Contains(err.Error(), `ALTER PUBLICATION "pd_pub" SET (publish = 'insert, update, delete, truncate');`) {
			t.Fatalf("error does not name the missing operation and its fix: %v", err)
		}
		db.exec(`ALTER PUBLICATION pd_pub SET (publish = 'insert, update, delete, truncate')`)
		db.open(cfg).Close()
	})
}

// TestCheckAgreesWithRun: `sluice check` fails a slot that exists without a stored offset,
// as the run refuses it (ErrSlotExists), and counts only the publication's tables when no
// include list is given, as the run captures. Before, it passed both ("3 tables" of which the
// run captured 1), and the run then failed.
func TestCheckAgreesWithRun(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE ca_a (id int PRIMARY KEY)", "CREATE TABLE ca_b (id int PRIMARY KEY)", "CREATE PUBLICATION ca_pub FOR TABLE ca_a",
			"SELECT pg_create_logical_replication_slot('"+db.name+"', 'pgoutput')")
		cfg := db.config()
		cfg.Publication = "ca_pub"
		cfg.SnapshotMode = SnapshotInitial
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		rows := map[string]capture.Check{}
		for _, c := range Check(ctx, cfg) {
			rows[c.Name] = c
		}
		if c := rows["slot"]; c.Status != capture.CheckFail || !strings.Contains(c.Fix, "--drop-existing-slot") {
			t.Errorf("slot: %+v, want a failure naming the ways out", c)
		}
		if c := rows["captured tables"]; c.Detail != "1 tables" {
			t.Errorf("captured tables: %+v, want the publication's 1", c)
		}
		if _, err := Open(ctx, cfg); !errors.Is(err, ErrSlotExists) {
			t.Errorf("Open = %v, want ErrSlotExists (what the check predicts)", err)
		}
		cfg.SnapshotMode = SnapshotWhenNeeded
		for _, c := range Check(ctx, cfg) {
			if c.Name == "slot" && c.Status != capture.CheckOK {
				t.Errorf("slot under when_needed: %+v", c)
			}
		}
	})
}

// TestPublicationRowFilterRefused: a publication that publishes a captured table with a row
// filter or a column list (PostgreSQL 15+) stops Open with the fix. Before, the snapshot read
// every row and column and the changes of the others never followed.
func TestPublicationRowFilterRefused(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE rf_a (id int PRIMARY KEY, v int)", "CREATE TABLE rf_b (id int PRIMARY KEY, v int)",
			"CREATE PUBLICATION rf_pub FOR TABLE rf_a WHERE (v > 0), rf_b (id)")
		cfg := db.config()
		cfg.Publication = "rf_pub"
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s, err := Open(ctx, cfg)
		if err == nil {
			s.Close()
			t.Fatal("Open succeeded with a row filter and a column list on captured tables")
		}
		for _, want := range []string{`"public"."rf_a" with a row filter`, `"public"."rf_b" with a column list`, `ALTER PUBLICATION "rf_pub" DROP TABLE "public"."rf_a"; ALTER PUBLICATION "rf_pub" ADD TABLE "public"."rf_a";`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error lacks %q: %v", want, err)
			}
		}
		db.exec("ALTER PUBLICATION rf_pub SET TABLE rf_a, rf_b")
		db.open(cfg).Close()
	})
}
