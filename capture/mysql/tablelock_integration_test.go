//go:build integration

package mysql

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql/history"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// managedUser creates a user as a managed server (RDS, Aurora, Cloud SQL) gives one: no
// RELOAD, no BACKUP_ADMIN, no SUPER; SELECT and LOCK TABLES on db and the replication
// grants. It returns the user's DSN; the user is dropped when the test ends.
func managedUser(t *testing.T, srv server, db string, lockTables bool) string {
	t.Helper()
	root := openDB(t, srv.dsn)
	user := fmt.Sprintf("mlk_u%d_%d", os.Getpid(), grantUsers.Add(1))
	acct := "'" + user + "'@'%'"
	t.Cleanup(func() { _, _ = root.Exec("DROP USER IF EXISTS " + acct) })
	repl := "REPLICATION SLAVE, REPLICATION CLIENT"
	if srv.name == "mariadb" {
		repl = "REPLICATION SLAVE, BINLOG MONITOR"
	}
	privs := "SELECT"
	if lockTables {
		privs += ", LOCK TABLES"
	}
	mustExec(t, root, "DROP USER IF EXISTS "+acct, "CREATE USER "+acct,
		"GRANT "+privs+" ON "+db+".* TO "+acct, "GRANT "+repl+" ON *.* TO "+acct)
	dcfg, err := gomysql.ParseDSN(srv.dsn)
	if err != nil {
		t.Fatal(err)
	}
	dcfg.User, dcfg.Passwd = user, ""
	return dcfg.FormatDSN()
}

// TestSnapshotTableLocks: a user that may not take the global read lock nor a backup lock
// (a managed server) but has LOCK TABLES snapshots with table locks on the captured tables,
// while writers commit to them all through the snapshot's start (and one to a table not
// captured, which is never locked): `sluice check` and the run
// both accept it (a warning, not a failure), the log says the global read lock was not
// permitted and which lock was taken instead, writes wait only while the snapshot opens
// (minimal) or for the whole snapshot (extended), and the snapshot meets the stream exactly:
// every row comes once (a snapshot read or a create, never both, never neither), by key and by
// count, and every row's last state is the table's. Before, the preflight refused the user
// ("GRANT RELOAD").
func TestSnapshotTableLocks(t *testing.T) {
	const hold = 2 * time.Second
	for _, srv := range servers(t) {
		for _, mode := range []SnapshotLocking{LockMinimal, LockExtended} {
			t.Run(srv.name+"/"+string(mode), func(t *testing.T) {
				root := openDB(t, srv.dsn)
				name := fmt.Sprintf("sl_tlock_%s_%d", mode, os.Getpid())
				freshDB(t, root, name)
				tables := []string{name + ".t", name + ".u"}
				for _, tbl := range tables {
					mustExec(t, root, "CREATE TABLE "+tbl+" (id INT PRIMARY KEY, n INT)",
						"INSERT INTO "+tbl+" VALUES "+strings.Join(zeroRows(100), ","))
				}
				ts := newTestSource(t, server{srv.name, managedUser(t, srv, name, true)}, name)
				ts.cfg.SnapshotLocking = mode
				ts.cfg.SnapshotWorkers = 2
				ts.cfg.Stats = &capture.Stats{}
				ts.cfg.schemaReadHook = func() { time.Sleep(hold) }
				var logs testkit.SyncBuffer
				ts.cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))

				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				warned := false
				for _, c := range Check(ctx, ts.cfg) {
					if c.Name == "grants" && c.Status == capture.CheckFail {
						t.Errorf("check refuses the managed user: %s -> %s", c.Detail, c.Fix)
					}
					if c.Name == "grants" && c.Status == capture.CheckWarn && strings.Contains(c.Detail, "LOCK TABLES") {
						warned = true
					}
				}
				if !warned {
					t.Errorf("check does not say the snapshot will use table locks")
				}

				// A table of another database: not captured, so not locked, even in extended.
				other := name + "_x"
				freshDB(t, root, other)
				mustExec(t, root, "CREATE TABLE "+other+".o (id INT PRIMARY KEY, n INT)", "INSERT INTO "+other+".o VALUES "+strings.Join(zeroRows(100), ","))
				ow := startWriter(t, root, other+".o", 1000)
				var ws []*writer
				for _, tbl := range tables {
					ws = append(ws, startWriter(t, root, tbl, 1000))
				}
				time.Sleep(100 * time.Millisecond)
				s := ts.open(t)
				defer s.Close()
				recs := ts.collect(t, s, 90*time.Second, untilSnapshotDone)
				time.Sleep(300 * time.Millisecond)
				var maxWait time.Duration
				for _, w := range ws {
					w.finish(t)
					maxWait = max(maxWait, time.Duration(w.maxWait.Load()))
				}
				ow.finish(t)
				if d := time.Duration(ow.maxWait.Load()); d >= hold*3/4 {
					t.Errorf("a writer of a table not captured was blocked %s: only the captured tables may be locked", d)
				}
				blocked := time.Duration(ts.cfg.Stats.Snapshot.WritesBlockedNanos.Load())
				t.Logf("writers blocked at most %s; the source reports writes blocked %s", maxWait, blocked)
				if blocked == 0 {
					t.Errorf("no lock reported: writes blocked 0")
				}
				switch mode {
				case LockExtended:
					if maxWait < hold*3/4 || blocked < hold {
						t.Errorf("extended: writers blocked %s, reported %s; want at least %s (the table locks hold for the whole snapshot)", maxWait, blocked, hold)
					}
				default:
					if maxWait >= hold*3/4 || blocked >= hold*3/4 {
						t.Errorf("minimal: writers blocked %s, reported %s; want under %s (the table locks are released before the definitions are read)", maxWait, blocked, hold*3/4)
					}
				}
				if l := logs.String(); !strings.Contains(l, "global read lock not permitted") || !strings.Contains(l, "LOCK TABLES") {
					t.Errorf("the log does not say which lock the snapshot took:\n%s", l)
				}

				// The stream up to a sentinel row written after the writers stopped.
				mustExec(t, root, "INSERT INTO "+tables[1]+" VALUES (-1, 0)")
				sentinel := func(r []rec) bool {
					if len(r) == 0 {
						return false
					}
					l := r[len(r)-1]
					return l.kind == capture.Change && l.op == capture.OpCreate && l.tbl == "u" && l.ev.After[0].Int == -1
				}
				recs = append(recs, ts.collect(t, s, 60*time.Second, sentinel)...)
				type key struct {
					tbl string
					id  int64
				}
				seen := map[key]capture.Op{}
				got := map[key]int64{}
				for _, r := range changes(recs) {
					k := key{r.tbl, r.ev.After[0].Int}
					if r.op == capture.OpRead || r.op == capture.OpCreate {
						if prev, ok := seen[k]; ok {
							t.Errorf("row %v came twice: %c then %c", k, prev, r.op)
						}
						seen[k] = r.op
					}
					got[k] = r.ev.After[1].Int
				}
				want := 0
				for _, tbl := range tables {
					rows, err := root.QueryContext(ctx, "SELECT id, n FROM "+tbl)
					if err != nil {
						t.Fatal(err)
					}
					for rows.Next() {
						var id, n int64
						if err := rows.Scan(&id, &n); err != nil {
							t.Fatal(err)
						}
						want++
						k := key{tbl[strings.IndexByte(tbl, '.')+1:], id}
						if g, ok := got[k]; !ok || g != n {
							t.Errorf("row %v: last state n=%d (seen %v), table has %d", k, g, ok, n)
						}
					}
					rows.Close()
				}
				if len(got) != want || len(seen) != want {
					t.Errorf("%d rows captured (%d created or read), the tables have %d", len(got), len(seen), want)
				}
			})
		}
	}
}

// TestSnapshotNoLockGrant: a user with neither RELOAD nor LOCK TABLES is refused at the start
// and by `sluice check`, with the GRANT LOCK TABLES on the captured database that a managed
// server allows (and RELOAD as the other way).
func TestSnapshotNoLockGrant(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			root := openDB(t, srv.dsn)
			name := fmt.Sprintf("sl_nolock_%d", os.Getpid())
			freshDB(t, root, name)
			mustExec(t, root, "CREATE TABLE "+name+".t (id INT PRIMARY KEY)")
			ts := newTestSource(t, server{srv.name, managedUser(t, srv, name, false)}, name)
			want := "GRANT LOCK TABLES ON `" + name + "`.* TO"
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var fails []string
			for _, c := range Check(ctx, ts.cfg) {
				if c.Status == capture.CheckFail {
					fails = append(fails, c.Detail+" -> "+c.Fix)
				}
			}
			if f := strings.Join(fails, "\n"); !strings.Contains(f, want) || !strings.Contains(f, "GRANT RELOAD ON *.*") {
				t.Errorf("check: %v; want a FAIL naming %q and RELOAD", fails, want)
			}
			cfg := ts.cfg
			cfg.History = history.NewFile(ts.hist, nil)
			_, err := New(ctx, cfg)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("New: %v; want a refusal naming %q", err, want)
			}
		})
	}
}

// TestSnapshotTableLocksNewTable: a captured table created (and written) after the snapshot
// listed and locked the captured tables, before it read its binlog position. The table was
// not locked, so its row committed after the snapshot opened and before the position: in
// neither. The snapshot finds the table unlocked and begins again; every row comes once.
func TestSnapshotTableLocksNewTable(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			root := openDB(t, srv.dsn)
			name := fmt.Sprintf("sl_tlnew_%d", os.Getpid())
			freshDB(t, root, name)
			mustExec(t, root, "CREATE TABLE "+name+".t (id INT PRIMARY KEY, n INT)", "INSERT INTO "+name+".t VALUES "+strings.Join(zeroRows(10), ","))
			ts := newTestSource(t, server{srv.name, managedUser(t, srv, name, true)}, name)
			var once sync.Once
			ts.cfg.tableLockHook = func() {
				once.Do(func() {
					mustExec(t, root, "CREATE TABLE "+name+".n (id INT PRIMARY KEY, n INT)", "INSERT INTO "+name+".n VALUES (1, 0)")
				})
			}
			s := ts.open(t)
			defer s.Close()
			recs := ts.collect(t, s, 60*time.Second, untilSnapshotDone)
			mustExec(t, root, "INSERT INTO "+name+".n VALUES (2, 0)")
			recs = append(recs, ts.collect(t, s, 60*time.Second, func(r []rec) bool {
				return len(r) > 0 && r[len(r)-1].tbl == "n" && r[len(r)-1].kind == capture.Change && r[len(r)-1].ev.After[0].Int == 2
			})...)
			seen := map[string]int{}
			for _, r := range changes(recs) {
				seen[fmt.Sprintf("%s/%d", r.tbl, r.ev.After[0].Int)]++
			}
			for i := 1; i <= 10; i++ {
				if k := fmt.Sprintf("t/%d", i); seen[k] != 1 {
					t.Errorf("%s came %d times", k, seen[k])
				}
			}
			for _, k := range []string{"n/1", "n/2"} {
				if seen[k] != 1 {
					t.Errorf("%s came %d times", k, seen[k])
				}
			}
			if len(seen) != 12 {
				t.Errorf("rows seen: %v", seen)
			}
		})
	}
}

// TestSnapshotTableLockTimeout: a transaction that wrote to a captured table and stays open
// keeps LOCK TABLES ... READ waiting, and the writers queue behind the pending lock: the
// snapshot gives up after --snapshot-lock-timeout with a retryable error that says so,
// instead of holding the captured tables' writers for the server's lock_wait_timeout (a year).
func TestSnapshotTableLockTimeout(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			root := openDB(t, srv.dsn)
			name := fmt.Sprintf("sl_tlwait_%d", os.Getpid())
			freshDB(t, root, name)
			mustExec(t, root, "CREATE TABLE "+name+".t (id INT PRIMARY KEY, n INT)", "INSERT INTO "+name+".t VALUES (1, 0)")
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			c, err := root.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.ExecContext(ctx, "BEGIN"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.ExecContext(ctx, "INSERT INTO "+name+".t VALUES (2, 0)"); err != nil {
				t.Fatal(err)
			}
			defer c.ExecContext(context.Background(), "ROLLBACK")
			ts := newTestSource(t, server{srv.name, managedUser(t, srv, name, true)}, name)
			ts.cfg.SnapshotLockTimeout = time.Second
			s := ts.open(t)
			defer s.Close()
			t0 := time.Now()
			for {
				if _, err = s.Next(ctx); err != nil {
					break
				}
			}
			if d := time.Since(t0); d > 15*time.Second {
				t.Errorf("the snapshot gave up after %s; want about --snapshot-lock-timeout 1s", d)
			}
			if !capture.Retryable(err) || !strings.Contains(err.Error(), "LOCK TABLES ... READ on 1 tables waited --snapshot-lock-timeout") {
				t.Fatalf("Next: %v (retryable %v); want the retryable table lock timeout", err, capture.Retryable(err))
			}
		})
	}
}

// TestSnapshotGlobalLockRefusedWithReload: a managed server refuses FLUSH TABLES WITH READ LOCK
// even to a user with RELOAD (simulated: noGlobalLock). With LOCK TABLES the snapshot takes
// table locks and reads every row; without, the error names GRANT LOCK TABLES and not the
// RELOAD the user already has. Before, the error said "GRANT RELOAD ON *.*" whatever the
// grants.
func TestSnapshotGlobalLockRefusedWithReload(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			root := openDB(t, srv.dsn)
			name := fmt.Sprintf("sl_tlrds_%d", os.Getpid())
			freshDB(t, root, name)
			mustExec(t, root, "CREATE TABLE "+name+".t (id INT PRIMARY KEY, n INT)", "INSERT INTO "+name+".t VALUES "+strings.Join(zeroRows(20), ","))
			for _, lockTables := range []bool{true, false} {
				dsn := managedUser(t, srv, name, lockTables)
				cfg, _ := gomysql.ParseDSN(dsn)
				mustExec(t, root, "GRANT RELOAD ON *.* TO '"+cfg.User+"'@'%'")
				ts := newTestSource(t, server{srv.name, dsn}, name)
				ts.cfg.noGlobalLock = true
				s := ts.open(t)
				if lockTables {
					recs := ts.collect(t, s, 60*time.Second, untilSnapshotDone)
					s.Close()
					if n := len(changes(recs)); n != 20 {
						t.Errorf("table locks: %d rows read, want 20", n)
					}
					continue
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				var err error
				for err == nil {
					_, err = s.Next(ctx)
				}
				cancel()
				s.Close()
				t.Log(err)
				if msg := err.Error(); !strings.Contains(msg, "GRANT LOCK TABLES ON `"+name+"`.*") || strings.Contains(msg, "GRANT RELOAD") {
					t.Errorf("without LOCK TABLES: %v; want GRANT LOCK TABLES and no GRANT RELOAD (the user has it)", err)
				}
			}
		})
	}
}
