//go:build integration

package mysql

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

func tableName(ev capture.Event) string {
	if ev.Table == nil {
		return ""
	}
	return ev.Table.ID.Table
}

// TestSnapshotLockWaitBounded: a DDL statement that arrives after the snapshot took its backup
// lock holds its global intention lock while it waits for the backup lock, so the snapshot's
// FLUSH TABLES WITH READ LOCK waits for the DDL, which waits for the snapshot: a deadlock the
// server cannot see (the backup lock's session is idle), with every writer of the server
// queued behind the pending global read lock. Before --snapshot-lock-timeout it lasted
// --query-timeout (10 minutes). Now the wait ends after the lock timeout with a retryable
// error, the locks are released, the DDL runs, and the snapshot begun again completes.
func TestSnapshotLockWaitBounded(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			db := openDB(t, srv.dsn)
			name := fmt.Sprintf("sl_lockwait_%d", os.Getpid())
			freshDB(t, db, name)
			t.Cleanup(func() { _, _ = db.Exec("DROP DATABASE IF EXISTS " + name) })
			mustExec(t, db, "CREATE TABLE "+name+".t (id INT PRIMARY KEY, n INT)", "INSERT INTO "+name+".t VALUES (1, 1), (2, 2)")
			ts := newTestSource(t, srv, name)
			ts.cfg.Stats = &capture.Stats{}
			ts.cfg.SnapshotLockTimeout = time.Second
			ddl := "CREATE TABLE " + name + ".ddl (id INT PRIMARY KEY)"
			ddlDone := make(chan error, 1)
			var once sync.Once
			ts.cfg.afterBackupLock = func() {
				once.Do(func() {
					go func() { _, err := db.Exec(ddl); ddlDone <- err }()
					// Wait until the DDL waits for the backup lock (holding its global lock).
					deadline := time.Now().Add(10 * time.Second)
					for time.Now().Before(deadline) {
						var n int
						_ = db.QueryRow("SELECT COUNT(*) FROM information_schema.processlist WHERE info = ? AND state LIKE 'Waiting for%'", ddl).Scan(&n)
						if n > 0 {
							return
						}
						time.Sleep(20 * time.Millisecond)
					}
					t.Errorf("the DDL never waited for the backup lock")
				})
			}
			s := ts.open(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			t0 := time.Now()
			first, err := s.Next(ctx)
			waited := time.Since(t0)
			var recs []rec
			if srv.name == "mariadb" {
				// MariaDB's global read lock does not wait for a DDL queued on BACKUP STAGE
				// BLOCK_DDL: no cycle, the snapshot goes on.
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				recs = append([]rec{{kind: first.Kind, tbl: tableName(first), ev: first}}, ts.collect(t, s, 30*time.Second, untilSnapshotDone)...)
				s.Close()
			} else {
				s.Close()
				if err == nil || !capture.Retryable(err) || !strings.Contains(err.Error(), "snapshot-lock-timeout") {
					t.Fatalf("Next after %s: %v; want a retryable error naming --snapshot-lock-timeout", waited.Round(time.Millisecond), err)
				}
				t.Logf("lock wait ended after %s: %v", waited.Round(time.Millisecond), err)
			}
			select {
			case err := <-ddlDone:
				if err != nil {
					t.Fatalf("the DDL: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the DDL still waits after the snapshot released its locks")
			}
			if recs == nil {
				s = ts.open(t)
				defer s.Close()
				recs = ts.collect(t, s, 30*time.Second, untilSnapshotDone)
			}
			var got []string
			for _, r := range recs {
				if r.kind == capture.Change && r.tbl == "t" {
					got = append(got, rowText(r.ev.After))
				}
			}
			if fmt.Sprint(got) != "[(1,1) (2,2)]" {
				t.Fatalf("snapshot rows %v, want [(1,1) (2,2)]", got)
			}
		})
	}
}
