//go:build integration

package postgres

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sluicecdc/sluice/capture"
)

// privateServer starts a PostgreSQL 15 of its own (scripts/postgres.sh on a free port and a
// temporary directory) with extra settings, for tests that need server settings the shared
// servers do not have. It needs the shared test servers' environment (it runs only where
// SLUICE_TEST_PG_DSN is set) and root (the script runs the server as user postgres).
func privateServer(t *testing.T, settings map[string]string) server {
	t.Helper()
	if len(servers(t)) == 0 {
		t.Skip("no PostgreSQL test server configured")
	}
	if os.Geteuid() != 0 {
		if os.Getenv("SLUICE_TEST_REQUIRE") == "1" {
			t.Fatal("a private PostgreSQL needs root (scripts/postgres.sh runs it as user postgres)")
		}
		t.Skip("a private PostgreSQL needs root")
	}
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "..", "scripts", "postgres.sh")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	dir, err := os.MkdirTemp("", "sluice-pgtest-")
	if err != nil {
		t.Fatal(err)
	}
	sh := func(cmd string) {
		t.Helper()
		c := exec.Command("bash", script, cmd)
		c.Env = append(os.Environ(), "PG_VERSION=15", "PG_PORT="+port, "PG_DIR="+dir)
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("postgres.sh %s: %v\n%s", cmd, err, out)
		}
	}
	t.Cleanup(func() {
		sh("stop")
		os.RemoveAll(dir)
	})
	sh("start")
	dsn := "postgres://postgres:postgres@127.0.0.1:" + port + "/postgres?sslmode=disable"
	if len(settings) > 0 {
		ctx := context.Background()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range settings {
			if _, err := c.Exec(ctx, "ALTER SYSTEM SET "+k+" = '"+v+"'"); err != nil {
				t.Fatal(err)
			}
		}
		c.Close(ctx)
		sh("stop")
		sh("start")
	}
	return server{name: "pg15-private", dsn: dsn}
}

// TestSnapshotManyTablesSmallLockTable: a snapshot of more tables than the server's lock table
// can hold at once (each table read keeps its AccessShareLock, and its index's, until the
// reading transaction ends). Before, every reader kept one transaction for the whole snapshot
// and the snapshot failed with "out of shared memory" (SQLSTATE 53200) at ~7,000 tables on
// default settings, and again at every restart; here the lock table is shrunk
// (max_locks_per_transaction 10) so a few hundred tables show it. Now the readers commit and
// re-import the exported snapshot before they would hold more than their share of the table.
func TestSnapshotManyTablesSmallLockTable(t *testing.T) {
	srv := privateServer(t, map[string]string{"max_locks_per_transaction": "10", "max_connections": "20", "fsync": "off", "synchronous_commit": "off"})
	db := newTestDB(t, srv)
	ctx := context.Background()
	const tables = 1000
	var limit int
	if err := db.conn.QueryRow(ctx, "SELECT current_setting('max_locks_per_transaction')::int").Scan(&limit); err != nil || limit != 10 {
		t.Fatalf("max_locks_per_transaction = %d (%v), want 10", limit, err)
	}
	// A few tables per transaction: creating them takes locks too.
	for i := 0; i < tables; i += 20 {
		var b strings.Builder
		b.WriteString("BEGIN;")
		for j := i; j < i+20 && j < tables; j++ {
			fmt.Fprintf(&b, "CREATE TABLE t%d (id int PRIMARY KEY); INSERT INTO t%d VALUES (%d);", j, j, j)
		}
		b.WriteString("COMMIT;")
		db.exec(b.String())
	}
	db.exec("CREATE PUBLICATION sluice FOR ALL TABLES")
	cfg := db.config()
	cfg.SnapshotMode = SnapshotInitial
	start := time.Now()
	s := db.open(cfg)
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	seen := map[string]bool{}
	for {
		ev, err := s.Next(rctx)
		if err != nil {
			t.Fatalf("Next after %d rows: %v", len(seen), err)
		}
		if ev.Kind == capture.SnapshotDone {
			break
		}
		if ev.Kind == capture.Change {
			seen[ev.Table.ID.Table] = true
		}
	}
	t.Logf("snapshot of %d tables in %v", tables, time.Since(start))
	if len(seen) != tables {
		t.Fatalf("snapshot read rows of %d tables, want %d", len(seen), tables)
	}
	st := s.Progress()
	if !st.Snapshot.Completed.Load() || st.Snapshot.TotalTables.Load() != tables || st.Snapshot.RemainingTables.Load() != 0 {
		t.Fatalf("stats: completed %v, tables %d, remaining %d", st.Snapshot.Completed.Load(), st.Snapshot.TotalTables.Load(), st.Snapshot.RemainingTables.Load())
	}
}
