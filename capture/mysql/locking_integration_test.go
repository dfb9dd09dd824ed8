//go:build integration

package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql/history"
)

// writer commits one INSERT and one UPDATE after another until stopped and keeps the longest
// time one statement took: how long the snapshot blocked it.
type writer struct {
	db      *sql.DB
	table   string
	next    atomic.Int64 // next id to insert
	maxWait atomic.Int64 // ns
	stop    chan struct{}
	done    chan error
}

func startWriter(t *testing.T, db *sql.DB, table string, first int64) *writer {
	t.Helper()
	w := &writer{db: db, table: table, stop: make(chan struct{}), done: make(chan error, 1)}
	w.next.Store(first)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				w.done <- nil
				return
			default:
			}
			id := w.next.Load()
			for _, q := range []string{
				fmt.Sprintf("INSERT INTO %s (id, n) VALUES (%d, 0)", table, id),
				fmt.Sprintf("UPDATE %s SET n = n + 1 WHERE id = %d", table, 1+i%100),
			} {
				t0 := time.Now()
				if _, err := db.Exec(q); err != nil {
					w.done <- fmt.Errorf("%s: %w", q, err)
					return
				}
				if d := int64(time.Since(t0)); d > w.maxWait.Load() {
					w.maxWait.Store(d)
				}
			}
			w.next.Add(1)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return w
}

func (w *writer) finish(t *testing.T) {
	t.Helper()
	close(w.stop)
	if err := <-w.done; err != nil {
		t.Fatal(err)
	}
}

// TestSnapshotLocking: for each --snapshot-locking mode, a writer that commits all through the
// snapshot is blocked no longer than the mode promises (minimal, minimal_percona: only while
// the position is read, not while the definitions are read (held open here for 2 s) nor while
// the rows are read; extended: all of it; none: never), and the snapshot meets the stream
// exactly: every inserted row comes once (a snapshot read or a create, never both, never
// neither) and every row's last state is the table's.
func TestSnapshotLocking(t *testing.T) {
	const hold = 2 * time.Second
	for _, srv := range servers(t) {
		for _, mode := range []SnapshotLocking{LockMinimal, LockMinimalPercona, LockExtended, LockNone} {
			t.Run(srv.name+"/"+string(mode), func(t *testing.T) {
				db := openDB(t, srv.dsn)
				name := "sl_lock_" + string(mode)
				freshDB(t, db, name)
				tbl := name + ".t"
				mustExec(t, db, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY, n INT)")
				for i := 1; i <= 100; i++ {
					mustExec(t, db, fmt.Sprintf("INSERT INTO %s VALUES (%d, 0)", tbl, i))
				}
				if mode == LockNone && srv.name == "mysql" {
					// No snapshot-consistent position on MySQL without a lock: refused, not
					// lossy, and refused at the start (and by `sluice check`), before anything
					// is read; before, only once the snapshot began.
					ts := newTestSource(t, srv, name)
					ts.cfg.SnapshotLocking = mode
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					defer cancel()
					const want = "--snapshot-locking none (snapshot.locking.mode) cannot meet the stream"
					refused := false
					for _, c := range Check(ctx, ts.cfg) {
						refused = refused || c.Status == capture.CheckFail && strings.Contains(c.Detail, want)
					}
					if !refused {
						t.Errorf("check does not refuse none on MySQL")
					}
					cfg := ts.cfg
					cfg.History = history.NewFile(ts.hist, nil)
					s, err := New(ctx, cfg)
					if err == nil {
						s.Close()
						t.Fatalf("none on MySQL started; want the preflight's refusal")
					}
					if !errors.Is(err, ErrPreflight) || !strings.Contains(err.Error(), want) {
						t.Fatalf("none on MySQL: %v; want the preflight's refusal naming --snapshot-locking", err)
					}
					return
				}
				ts := newTestSource(t, srv, name)
				ts.cfg.SnapshotLocking = mode
				ts.cfg.SnapshotWorkers = 2
				ts.cfg.Stats = &capture.Stats{}
				ts.cfg.schemaReadHook = func() { time.Sleep(hold) }
				w := startWriter(t, db, tbl, 1000)
				time.Sleep(100 * time.Millisecond)
				s := ts.open(t)
				defer s.Close()
				recs := ts.collect(t, s, 60*time.Second, untilSnapshotDone)
				time.Sleep(300 * time.Millisecond)
				w.finish(t)
				maxWait := time.Duration(w.maxWait.Load())
				blocked := time.Duration(ts.cfg.Stats.Snapshot.WritesBlockedNanos.Load())
				t.Logf("writer blocked at most %s; the source reports writes blocked %s", maxWait, blocked)
				switch mode {
				case LockExtended:
					if maxWait < hold*3/4 || blocked < hold {
						t.Errorf("extended: writer blocked %s, reported %s; want at least %s (the lock holds for the whole snapshot)", maxWait, blocked, hold)
					}
				case LockNone:
					if maxWait >= hold*3/4 || blocked != 0 {
						t.Errorf("none: writer blocked %s, reported %s; want no lock", maxWait, blocked)
					}
				default:
					// Milliseconds on a quiet server; the bound is loose for a loaded one (a
					// statement, or FLUSH TABLES waiting for another session's query, may
					// take a while) but still below the 2 s the definitions take to read.
					if maxWait >= hold*3/4 || blocked >= hold*3/4 {
						t.Errorf("%s: writer blocked %s, reported %s; want under %s (the definitions are read after the global read lock is released)", mode, maxWait, blocked, hold*3/4)
					}
				}
				if ss := &ts.cfg.Stats.Snapshot; !ss.Completed.Load() || ss.Running.Load() || ss.TotalTables.Load() != 1 || ss.RemainingTables.Load() != 0 ||
					ss.Table(name+".t").Rows.Load() == 0 || !ss.Table(name+".t").Done.Load() {
					t.Errorf("stats: completed %v running %v tables %d remaining %d rows %d", ss.Completed.Load(), ss.Running.Load(),
						ss.TotalTables.Load(), ss.RemainingTables.Load(), ss.Table(name+".t").Rows.Load())
				}

				// The stream up to a sentinel row written after the writer stopped.
				mustExec(t, db, "INSERT INTO "+tbl+" VALUES (-1, 0)")
				sentinel := func(r []rec) bool {
					if len(r) == 0 {
						return false
					}
					l := r[len(r)-1]
					return l.kind == capture.Change && l.op == capture.OpCreate && l.ev.After[0].Int == -1
				}
				recs = append(recs, ts.collect(t, s, 60*time.Second, sentinel)...)
				seen := map[int64]capture.Op{}
				got := map[int64]int64{}
				for _, r := range changes(recs) {
					id := r.ev.After[0].Int
					if r.op == capture.OpRead || r.op == capture.OpCreate {
						if prev, ok := seen[id]; ok && mode != LockNone {
							// none on MySQL reads the position before the snapshot opens: a
							// commit in between may come twice, never not at all.
							t.Errorf("row %d came twice: %c then %c", id, prev, r.op)
						}
						seen[id] = r.op
					}
					got[id] = r.ev.After[1].Int
				}
				rows, err := db.QueryContext(context.Background(), "SELECT id, n FROM "+tbl)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				want := 0
				for rows.Next() {
					var id, n int64
					if err := rows.Scan(&id, &n); err != nil {
						t.Fatal(err)
					}
					want++
					if g, ok := got[id]; !ok || g != n {
						t.Errorf("row %d: last state n=%d (seen %v), table has %d", id, g, ok, n)
					}
				}
				if len(got) != want {
					t.Errorf("%d rows captured, the table has %d", len(got), want)
				}
			})
		}
	}
}

// TestSnapshotDDLRace: a DDL (and a row written before and one after it) that runs while the snapshot reads
// the table definitions after releasing the global read lock. With a backup lock the DDL waits
// until the definitions are read and streams after the position; without one (a user lacking
// BACKUP_ADMIN, simulated by skipping the lock) the source finds the DDL in the binlog and
// begins again, the definitions then read under the global read lock. Either way the
// definitions match the position: the rows written after it stream with the columns they had
// when written. (no_data: a DDL while rows are read fails the snapshot, which is taken again;
// that is not what this test is about.)
func TestSnapshotDDLRace(t *testing.T) {
	for _, srv := range servers(t) {
		for _, backup := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/backup-lock=%v", srv.name, backup), func(t *testing.T) {
				db := openDB(t, srv.dsn)
				name := fmt.Sprintf("sl_ddlrace_%v", backup)
				freshDB(t, db, name)
				tbl := name + ".t"
				mustExec(t, db, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY, n INT)", "INSERT INTO "+tbl+" VALUES (1, 1)")
				ts := newTestSource(t, srv, name)
				ts.cfg.Stats = &capture.Stats{}
				ts.cfg.noBackupLock = !backup
				ts.cfg.SnapshotMode = SnapshotNoData
				var once sync.Once
				ddlDone := make(chan error, 1)
				ts.cfg.schemaReadHook = func() {
					once.Do(func() {
						go func() {
							_, err := db.Exec("INSERT INTO " + tbl + " VALUES (0, 0)")
							if err == nil {
								_, err = db.Exec("ALTER TABLE " + tbl + " ADD COLUMN extra INT DEFAULT 7")
							}
							if err == nil {
								_, err = db.Exec("INSERT INTO " + tbl + " VALUES (2, 2, 8)")
							}
							ddlDone <- err
						}()
						if backup {
							time.Sleep(500 * time.Millisecond) // the DDL waits on the backup lock meanwhile
							return
						}
						err := <-ddlDone // the DDL is in before the definitions are read
						ddlDone <- err
					})
				}
				s := ts.open(t)
				defer s.Close()
				recs := ts.collect(t, s, 60*time.Second, untilSnapshotDone)
				if err := <-ddlDone; err != nil {
					t.Fatal(err)
				}
				mustExec(t, db, "INSERT INTO "+tbl+" VALUES (3, 3, 9)")
				recs = append(recs, ts.collect(t, s, 60*time.Second, func(r []rec) bool {
					return len(r) > 0 && r[len(r)-1].kind == capture.Change && r[len(r)-1].ev.After[0].Int == 3
				})...)
				var got []string
				for _, r := range changes(recs) {
					got = append(got, fmt.Sprintf("%c%s", r.op, rowText(r.ev.After)))
				}
				want := "[c(0,0) c(2,2,8) c(3,3,9)]"
				if !backup {
					want = "[c(3,3,9)]" // begun again after the DDL and the row
				}
				if fmt.Sprint(got) != want {
					t.Fatalf("changes %v, want %s", got, want)
				}
			})
		}
	}
}

// TestSnapshotWithoutBackupAdmin: a MySQL user with RELOAD but not BACKUP_ADMIN. minimal
// falls back to the unlocked definitions read checked against the binlog (and still snapshots
// and streams); minimal_percona, which requires the backup lock, fails with the grant to add
// (the preflight refuses it before: TestGrants; here the snapshot's own check, past it).
func TestSnapshotWithoutBackupAdmin(t *testing.T) {
	for _, srv := range servers(t) {
		if srv.name != "mysql" {
			continue // MariaDB's BACKUP STAGE needs RELOAD, which the global read lock needs too
		}
		db := openDB(t, srv.dsn)
		user := dbNobackup
		mustExec(t, db, "DROP USER IF EXISTS '"+user+"'@'%'", "CREATE USER '"+user+"'@'%'",
			"GRANT SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO '"+user+"'@'%'")
		t.Cleanup(func() { _, _ = db.Exec("DROP USER IF EXISTS '" + user + "'@'%'") })
		freshDB(t, db, dbNobackup)
		mustExec(t, db, "CREATE TABLE "+dbNobackup+".t (id INT PRIMARY KEY, n INT)", "INSERT INTO "+dbNobackup+".t VALUES (1, 1)")
		cfg, err := gomysql.ParseDSN(srv.dsn)
		if err != nil {
			t.Fatal(err)
		}
		cfg.User, cfg.Passwd = user, ""
		usrv := server{srv.name, cfg.FormatDSN()}
		for _, mode := range []SnapshotLocking{LockMinimal, LockMinimalPercona} {
			t.Run(string(mode), func(t *testing.T) {
				ts := newTestSource(t, usrv, dbNobackup)
				ts.cfg.SnapshotLocking = LockMinimal
				ts.cfg.Stats = &capture.Stats{}
				s := ts.open(t)
				defer s.Close()
				s.cfg.SnapshotLocking = mode // past the preflight, which refuses minimal_percona
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				var got []string
				for {
					ev, err := s.Next(ctx)
					if mode == LockMinimalPercona {
						if err == nil || !strings.Contains(err.Error(), "BACKUP_ADMIN") {
							t.Fatalf("minimal_percona without BACKUP_ADMIN: %v, want an error naming the grant", err)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if ev.Kind == capture.Change {
						got = append(got, rowText(ev.After))
					}
					if ev.Kind == capture.SnapshotDone {
						break
					}
				}
				if fmt.Sprint(got) != "[(1,1)]" {
					t.Fatalf("snapshot rows %v", got)
				}
				if ts.cfg.Stats.Snapshot.WritesBlockedNanos.Load() == 0 {
					t.Fatal("no writes-blocked time reported")
				}
			})
		}
	}
}
