//go:build integration

package mysql

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql/history"
)

var grantUsers atomic.Int32

// grantCase is a user's grants and the filters it runs with: accepted (want == ""), it must
// snapshot and stream; refused, the preflight and `sluice check` must both name want, the
// statement that fixes it. In the statements {u} is the user's account, {r} a role of its
// own, {db} and {db2} the test's databases, {dbpat} a LIKE pattern matching both, {dbesc}
// {db} as a grant names it exactly (its _ escaped).
type grantCase struct {
	name    string
	only    string // "mysql" or "mariadb": that server only
	grants  []string
	dbInc   []string
	tblInc  []string
	locking SnapshotLocking
	offset  bool // start from a stored offset (a resumed connector), snapshot mode initial
	dbs     int  // the databases captured: 1 unless 2
	signal  bool // --signal-data-collection {db}.sig
	want    string
}

// TestGrants: the grant sets Debezium documents or accepts run (SELECT on *.*, on the captured
// databases, on exactly the captured tables, ALL PRIVILEGES ON db.*, through a default role,
// a database pattern with SHOW DATABASES, no RELOAD with nothing to lock); every set that
// would lose data or fail later is refused at the start with the GRANT that fixes it, and
// `sluice check` says the same. Before, SELECT on anything but *.* was refused, a MariaDB
// user with REPLICATION SLAVE ADMIN passed for one with REPLICATION SLAVE, RELOAD was
// required by a resumed connector, and minimal_percona without BACKUP_ADMIN failed only
// once the snapshot began.
func TestGrants(t *testing.T) {
	const globals = "GRANT RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO {u}"
	cases := []grantCase{
		{name: "global", grants: []string{"GRANT SELECT ON *.* TO {u}", globals}, dbInc: []string{"{db}"}},
		{name: "database", grants: []string{globals, "GRANT SELECT ON {db}.* TO {u}"}, dbInc: []string{"{db}"}},
		{name: "all on database", grants: []string{globals, "GRANT ALL PRIVILEGES ON {db}.* TO {u}"}, dbInc: []string{"{db}"}},
		{name: "tables", grants: []string{globals, "GRANT SELECT ON {db}.t1 TO {u}", "GRANT SELECT ON {db}.t2 TO {u}"},
			tblInc: []string{"{db}.t1", "{db}.t2"}},
		{name: "default role", grants: []string{"CREATE ROLE {r}", strings.ReplaceAll(globals, "{u}", "{r}"), "GRANT SELECT ON {db}.* TO {r}",
			"GRANT {r} TO {u}", "SET DEFAULT ROLE {r} {to} {u}"}, dbInc: []string{"{db}"}},
		{name: "database pattern", grants: []string{globals, "GRANT SHOW DATABASES ON *.* TO {u}", "GRANT SELECT ON `{dbpat}`.* TO {u}"},
			dbInc: []string{"{db}.*"}, dbs: 2},
		{name: "resumed without RELOAD", grants: []string{"GRANT SELECT ON {db}.* TO {u}", "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO {u}"},
			dbInc: []string{"{db}"}, offset: true},
		{name: "locking none without RELOAD", only: "mariadb", grants: []string{"GRANT SELECT ON {db}.* TO {u}", "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO {u}"},
			dbInc: []string{"{db}"}, locking: LockNone},

		{name: "database not granted", grants: []string{globals, "GRANT SELECT ON {db}.* TO {u}"}, dbInc: []string{"{db}", "{db2}"},
			want: "GRANT SELECT ON `{db2}`.* TO {u}"},
		{name: "table not granted", grants: []string{globals, "GRANT SELECT ON {db}.t1 TO {u}"}, tblInc: []string{"{db}.t1", "{db}.t2"},
			want: "GRANT SELECT ON `{db}`.`t2` TO {u}"},
		{name: "tables of a captured database", grants: []string{globals, "GRANT SELECT ON {db}.t1 TO {u}", "GRANT SELECT ON {db}.t2 TO {u}"},
			dbInc: []string{"{db}"}, want: "GRANT SELECT ON `{db}`.* TO {u}"},
		{name: "columns", grants: []string{globals, "GRANT SELECT (id) ON {db}.t1 TO {u}", "GRANT SELECT ON {db}.t2 TO {u}"},
			tblInc: []string{"{db}.t1", "{db}.t2"}, want: "GRANT SELECT ON `{db}`.`t1` TO {u}"},
		{name: "alternation naming another database", grants: []string{globals, "GRANT SELECT ON {db}.* TO {u}"},
			tblInc: []string{`{db}\.t1|{db2}\.t1`}, want: "GRANT SHOW DATABASES ON *.* TO {u}"},
		{name: "unescaped dot", grants: []string{globals, "GRANT SELECT ON {db}.* TO {u}"},
			tblInc: []string{"{db}.*"}, want: "GRANT SHOW DATABASES ON *.* TO {u}"}, // {db}.* matches {db2}.t1 too
		{name: "pattern without SHOW DATABASES", grants: []string{globals, "GRANT SELECT ON `{dbpat}`.* TO {u}"},
			dbInc: []string{"{db}.*"}, want: "GRANT SHOW DATABASES ON *.* TO {u}"},
		{name: "no RELOAD", grants: []string{"GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO {u}"}, dbInc: []string{"{db}"},
			want: "GRANT LOCK TABLES ON `{db}`.* TO {u} (or GRANT RELOAD ON *.* TO {u})"},
		{name: "no RELOAD extended", grants: []string{"GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO {u}"}, dbInc: []string{"{db}"},
			locking: LockExtended, want: "GRANT LOCK TABLES ON `{db}`.* TO {u}"},
		{name: "LOCK TABLES on another database", grants: []string{"GRANT SELECT, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO {u}", "GRANT LOCK TABLES ON {db}.* TO {u}"},
			dbInc: []string{"{db}", "{db2}"}, want: "GRANT LOCK TABLES ON `{db2}`.* TO {u} (or"},
		// A managed server (RDS, Aurora, Cloud SQL): table locks instead of the global read lock.
		{name: "table locks without RELOAD", only: "mysql", grants: []string{"GRANT SELECT, LOCK TABLES ON {db}.* TO {u}", "GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO {u}"},
			dbInc: []string{"{db}"}},
		{name: "table locks without RELOAD", only: "mariadb", grants: []string{"GRANT SELECT, LOCK TABLES ON {db}.* TO {u}", "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO {u}"},
			dbInc: []string{"{db}"}, locking: LockExtended},
		{name: "minimal_percona without BACKUP_ADMIN", only: "mysql", grants: []string{"GRANT SELECT ON *.* TO {u}", globals}, dbInc: []string{"{db}"},
			locking: LockMinimalPercona, want: "GRANT BACKUP_ADMIN ON *.* TO {u}"},
		{name: "no REPLICATION SLAVE", grants: []string{"GRANT SELECT, RELOAD, REPLICATION CLIENT ON *.* TO {u}"}, dbInc: []string{"{db}"},
			want: "GRANT REPLICATION SLAVE ON *.* TO {u}"},
		{name: "no REPLICATION CLIENT", only: "mysql", grants: []string{"GRANT SELECT, RELOAD, REPLICATION SLAVE ON *.* TO {u}"}, dbInc: []string{"{db}"},
			want: "GRANT REPLICATION CLIENT ON *.* TO {u}"},
		{name: "no BINLOG MONITOR", only: "mariadb", grants: []string{"GRANT SELECT, RELOAD, REPLICATION SLAVE ON *.* TO {u}"}, dbInc: []string{"{db}"},
			want: "GRANT BINLOG MONITOR ON *.* TO {u}"},
		{name: "REPLICATION SLAVE ADMIN", only: "mariadb", grants: []string{"GRANT SELECT, RELOAD, BINLOG MONITOR, REPLICATION SLAVE ADMIN ON *.* TO {u}"},
			dbInc: []string{"{db}"}, want: "GRANT REPLICATION SLAVE ON *.* TO {u}"},
		{name: "most specific database grant", grants: []string{globals, "GRANT SELECT ON `{dbpat}`.* TO {u}", "GRANT INSERT ON `{dbesc}`.* TO {u}"},
			dbInc: []string{"{db}"}, want: "GRANT SELECT ON `{db}`.* TO {u}"},
		{name: "signal table", grants: []string{globals, "GRANT SELECT ON {db}.* TO {u}", "GRANT INSERT ON {db}.sig TO {u}"},
			dbInc: []string{"{db}"}, signal: true}, // and an incremental snapshot, its watermarks written by the user
		{name: "signal table without INSERT", grants: []string{globals, "GRANT SELECT ON *.* TO {u}"},
			dbInc: []string{"{db}"}, signal: true, want: "GRANT INSERT ON `{db}`.`sig` TO {u}"},
		{name: "role not default", grants: []string{"CREATE ROLE {r}", strings.ReplaceAll(globals, "{u}", "{r}"), "GRANT SELECT ON {db}.* TO {r}", "GRANT {r} TO {u}"},
			dbInc: []string{"{db}"}, want: "SET DEFAULT ROLE"},
	}
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			root := openDB(t, srv.dsn)
			db := fmt.Sprintf("mgr_%d", os.Getpid())
			db2 := db + "_b"
			for _, d := range []string{db, db2} {
				freshDB(t, root, d)
				mustExec(t, root, "CREATE TABLE "+d+".t1 (id INT PRIMARY KEY, v INT)", "CREATE TABLE "+d+".t2 (id INT PRIMARY KEY, v INT)",
					"INSERT INTO "+d+".t1 VALUES (1, 1)", "INSERT INTO "+d+".t2 VALUES (1, 2)",
					"CREATE TABLE "+d+".sig (id VARCHAR(64) PRIMARY KEY, type VARCHAR(32) NOT NULL, data VARCHAR(2048))")
			}
			for _, c := range cases {
				if c.only != "" && c.only != srv.name {
					continue
				}
				t.Run(c.name, func(t *testing.T) { testGrantCase(t, srv, c, db, db2) })
			}
		})
	}
}

func testGrantCase(t *testing.T, srv server, c grantCase, db, db2 string) {
	root := openDB(t, srv.dsn)
	n := grantUsers.Add(1)
	user := fmt.Sprintf("mgr_u%d_%d", os.Getpid(), n)
	role := fmt.Sprintf("mgr_r%d_%d", os.Getpid(), n)
	acct := "'" + user + "'@'%'"
	to := "TO"
	if srv.name == "mariadb" {
		to = "FOR"
	}
	r := strings.NewReplacer("{u}", acct, "{r}", role, "{db2}", db2, "{dbpat}", strings.ReplaceAll(db, "_", `\_`)+"%", "{dbesc}", strings.ReplaceAll(db, "_", `\_`), "{db}", db, "{to}", to)
	t.Cleanup(func() {
		_, _ = root.Exec("DROP USER IF EXISTS " + acct)
		_, _ = root.Exec("DROP ROLE IF EXISTS " + role)
	})
	mustExec(t, root, "DROP USER IF EXISTS "+acct, "CREATE USER "+acct)
	for _, g := range c.grants {
		mustExec(t, root, r.Replace(g))
	}
	dcfg, err := gomysql.ParseDSN(srv.dsn)
	if err != nil {
		t.Fatal(err)
	}
	dcfg.User, dcfg.Passwd = user, ""
	ts := newTestSource(t, server{srv.name, dcfg.FormatDSN()}, db)
	ts.cfg.DatabaseInclude, ts.cfg.TableInclude = nil, nil
	for _, d := range c.dbInc {
		ts.cfg.DatabaseInclude = append(ts.cfg.DatabaseInclude, r.Replace(d))
	}
	for _, tb := range c.tblInc {
		ts.cfg.TableInclude = append(ts.cfg.TableInclude, r.Replace(tb))
	}
	if c.signal {
		ts.cfg.SignalDataCollection = db + ".sig"
	}
	if c.locking != "" {
		ts.cfg.SnapshotLocking = c.locking
	}
	if c.offset {
		// A stored offset and its history, as a first run as root left them.
		rs := newTestSource(t, srv, db)
		rs.cfg.DatabaseInclude, rs.cfg.TableInclude = ts.cfg.DatabaseInclude, ts.cfg.TableInclude
		rs.hist = ts.hist
		s := rs.open(t)
		rs.collect(t, s, 30*time.Second, func(recs []rec) bool { return len(recs) > 0 && recs[len(recs)-1].kind == capture.SnapshotDone })
		s.Close()
		ts.off = rs.off
	}
	want := r.Replace(c.want)

	// sluice check first: its verdict must be the run's.
	cfg := ts.cfg
	cfg.Offset = ts.off
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var fails []string
	for _, ch := range Check(ctx, cfg) {
		if ch.Name == "grants" && ch.Status == capture.CheckFail {
			fails = append(fails, ch.Detail+" -> "+ch.Fix)
		}
	}
	switch {
	case want == "" && len(fails) > 0:
		t.Errorf("check refuses: %v", fails)
	case want != "" && !strings.Contains(strings.Join(fails, "\n"), want):
		t.Errorf("check: %v, want a FAIL naming %q", fails, want)
	}

	if want != "" {
		cfg := ts.cfg
		cfg.Offset = ts.off
		cfg.History = history.NewFile(ts.hist, nil)
		s, err := New(ctx, cfg)
		if err == nil {
			s.Close()
			t.Fatalf("started; want a refusal naming %q", want)
		}
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("refused without %q: %v", want, err)
		}
		t.Log(err)
		return
	}
	// Accepted: the run snapshots every captured table and streams a change.
	s := ts.open(t)
	defer s.Close()
	var snap []string
	if !c.offset {
		recs := ts.collect(t, s, 60*time.Second, func(recs []rec) bool { return len(recs) > 0 && recs[len(recs)-1].kind == capture.SnapshotDone })
		for _, x := range changes(recs) {
			snap = append(snap, x.tbl+x.text)
		}
		want := "t1-(1,1) t2-(1,2)"
		if c.dbs == 2 {
			want += " " + want
		}
		if got := strings.Join(snap, " "); got != want {
			t.Fatalf("snapshot rows %q", got)
		}
	}
	t.Cleanup(func() { _, _ = root.Exec("DELETE FROM " + db + ".t2 WHERE id = 2") })
	mustExec(t, root, "INSERT INTO "+db+".t2 VALUES (2, 3)")
	recs := ts.collect(t, s, 60*time.Second, func(recs []rec) bool { return len(changes(recs)) > 0 })
	if ch := changes(recs); ch[0].tbl != "t2" || ch[0].text != "-(2,3)" {
		t.Fatalf("streamed %s %s", ch[0].tbl, ch[0].text)
	}
	if c.signal {
		mustExec(t, root, "INSERT INTO "+db+".sig VALUES ('mgr-snap', 'execute-snapshot', '{\"data-collections\": [\""+db+".t1\"], \"type\": \"incremental\"}')")
		t.Cleanup(func() { _, _ = root.Exec("DELETE FROM " + db + ".sig") })
		recs := ts.collect(t, s, 60*time.Second, func(recs []rec) bool {
			return len(recs) > 0 && recs[len(recs)-1].tbl == "t1" && recs[len(recs)-1].op == capture.OpRead
		})
		if last := recs[len(recs)-1]; last.text != "-(1,1)" {
			t.Fatalf("incremental snapshot read %s", last.text)
		}
		var marks int
		if err := root.QueryRow("SELECT count(*) FROM " + db + ".sig WHERE id LIKE 'sluice:%'").Scan(&marks); err != nil || marks == 0 {
			t.Fatalf("no watermark rows written (%d): %v", marks, err)
		}
	}
}

// TestGrantsPartialRevoke: MySQL with partial_revokes ON, a user with SELECT on *.* but not on
// one database. Its tables are invisible to the user, so capturing every database would leave
// them out of the snapshot unnoticed: the start is refused naming the database and
// --database-exclude; excluded, the rest runs. Before, SELECT on *.* passed and the snapshot
// read the other database alone.
func TestGrantsPartialRevoke(t *testing.T) {
	ps := newPrivateServerWith(t, "mysql", "--partial-revokes=ON")
	root := ps.db()
	mustExec(t, root, "CREATE DATABASE open_db", "CREATE TABLE open_db.t (id INT PRIMARY KEY)", "INSERT INTO open_db.t VALUES (1)",
		"CREATE DATABASE secret_db", "CREATE TABLE secret_db.t (id INT PRIMARY KEY)", "INSERT INTO secret_db.t VALUES (2)",
		"CREATE USER 'pr'@'%'", "GRANT SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'pr'@'%'",
		"REVOKE SELECT ON secret_db.* FROM 'pr'@'%'")
	dcfg, err := gomysql.ParseDSN(ps.dsn)
	if err != nil {
		t.Fatal(err)
	}
	dcfg.User = "pr"
	ts := newTestSource(t, server{"mysql", dcfg.FormatDSN()}, "")
	ts.cfg.DatabaseInclude = nil // every database
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := ts.cfg
	cfg.History = history.NewFile(ts.hist, nil)
	want := "GRANT SELECT ON `secret_db`.* TO 'pr'@'%', or leave it out with --database-exclude"
	if s, err := New(ctx, cfg); err == nil {
		s.Close()
		t.Fatalf("started; want a refusal naming %q", want)
	} else if !strings.Contains(err.Error(), want) {
		t.Fatalf("refused without %q: %v", want, err)
	}
	ts.cfg.DatabaseExclude = []string{"secret_db"}
	s := ts.open(t)
	defer s.Close()
	recs := ts.collect(t, s, 60*time.Second, func(recs []rec) bool { return len(recs) > 0 && recs[len(recs)-1].kind == capture.SnapshotDone })
	if ch := changes(recs); len(ch) != 1 || ch[0].text != "-(1)" {
		t.Fatalf("snapshot %v", ch)
	}
	mustExec(t, root, "INSERT INTO open_db.t VALUES (3)")
	recs = ts.collect(t, s, 60*time.Second, func(recs []rec) bool { return len(changes(recs)) > 0 })
	if ch := changes(recs); ch[0].text != "-(3)" {
		t.Fatalf("streamed %s", ch[0].text)
	}
}
