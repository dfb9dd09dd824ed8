//go:build integration

package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql/history"
	"github.com/sluicecdc/sluice/internal/testkit"
)

type server struct {
	name string // "mariadb" or "mysql"
	dsn  string
}

// servers returns the servers configured by SLUICE_TEST_MARIADB_DSN and SLUICE_TEST_MYSQL_DSN.
func servers(t *testing.T) []server {
	t.Helper()
	var out []server
	for i, v := range testkit.Servers(t, "SLUICE_TEST_MARIADB_DSN", "SLUICE_TEST_MYSQL_DSN") {
		if v != "" {
			out = append(out, server{[]string{"mariadb", "mysql"}[i], v})
		}
	}
	return out
}

var serverIDs atomic.Uint32

func init() { serverIDs.Store(uint32(5000 + os.Getpid()%1000*10)) }

func openDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	cfg, err := gomysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MultiStatements = true
	c, err := gomysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	if err := db.Ping(); err != nil {
		t.Fatalf("server %s: %v", dsn, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// zeroRows is the VALUES list (1, 0), …, (n, 0): n rows of an (id, v) table.
func zeroRows(n int) []string {
	vals := make([]string, n)
	for i := range vals {
		vals[i] = fmt.Sprintf("(%d, 0)", i+1)
	}
	return vals
}

func mustExec(t *testing.T, db *sql.DB, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

var (
	sluiceBinOnce sync.Once
	sluiceBinPath string
	sluiceBinErr  error
)

// sluiceBin builds cmd/sluice once per test binary run (a build took 45 s on two busy cores,
// and two tests each made their own); TestMain removes it.
func sluiceBin(t *testing.T) string {
	t.Helper()
	sluiceBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sluice-bin-")
		if err != nil {
			sluiceBinErr = err
			return
		}
		sluiceBinPath = filepath.Join(dir, "sluice")
		if out, err := exec.Command("go", "build", "-o", sluiceBinPath, "../../cmd/sluice").CombinedOutput(); err != nil {
			sluiceBinErr = fmt.Errorf("build cmd/sluice: %v\n%s", err, out)
		}
	})
	if sluiceBinErr != nil {
		t.Fatal(sluiceBinErr)
	}
	return sluiceBinPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sluiceBinPath != "" {
		os.RemoveAll(filepath.Dir(sluiceBinPath))
	}
	os.Exit(code)
}

// freshDB drops and creates a database for one test, and drops it when the test ends (the
// names are unique per process, uniqueDB: a failed run's would stay forever).
func freshDB(t *testing.T, db *sql.DB, name string) {
	t.Helper()
	mustExec(t, db, "DROP DATABASE IF EXISTS "+name, "CREATE DATABASE "+name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name)
	})
}

type testSource struct {
	cfg  Config
	hist string
	off  []byte
}

func newTestSource(t *testing.T, srv server, dbName string) *testSource {
	t.Helper()
	ts := &testSource{hist: filepath.Join(t.TempDir(), "history.jsonl")}
	ts.cfg = Config{DSN: srv.dsn, ServerID: serverIDs.Add(1), Name: "dbserver1",
		DatabaseInclude: []string{dbName}, SnapshotChunkRows: 7}
	return ts
}

func (ts *testSource) open(t *testing.T) *Source {
	t.Helper()
	cfg := ts.cfg
	cfg.History = history.NewFile(ts.hist, nil)
	cfg.Offset = ts.off
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rec is an event in a comparable form.
type rec struct {
	kind capture.EventKind
	op   capture.Op
	tbl  string
	ver  uint64
	text string // rows as text
	ev   capture.Event
}

func valText(v capture.Value) string {
	switch v.Kind {
	case capture.Null:
		return "NULL"
	case capture.Int:
		return fmt.Sprint(v.Int)
	case capture.Uint:
		return fmt.Sprint(v.Uint())
	case capture.String, capture.JSON:
		return fmt.Sprintf("%q", v.Bytes)
	case capture.EscapedJSON:
		text, _ := v.JSONText(nil)
		return fmt.Sprintf("%q", text)
	case capture.Bytes:
		return fmt.Sprintf("0x%x", v.Bytes)
	case capture.Decimal:
		return fmt.Sprintf("%s e-%d", v.BigUnscaled(), v.Aux)
	case capture.Float32, capture.Float64:
		return fmt.Sprint(v.Float())
	default:
		return fmt.Sprintf("%d:%d/%d/%d", v.Kind, v.Int, v.Aux, v.Flag)
	}
}

func rowText(r capture.Row) string {
	if r == nil {
		return "-"
	}
	p := make([]string, len(r))
	for i, v := range r {
		p[i] = valText(v)
	}
	return "(" + strings.Join(p, ",") + ")"
}

// next reads events until f says stop (or the timeout), cloning what it keeps, and saves the
// position of each into ts.off as the pipeline would after delivery.
func (ts *testSource) collect(t *testing.T, s *Source, timeout time.Duration, stop func(recs []rec) bool) []rec {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []rec
	for !stop(out) {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("Next after %d events: %v", len(out), err)
		}
		r := rec{kind: ev.Kind, op: ev.Op}
		if ev.Table != nil {
			r.tbl = ev.Table.ID.Table
			r.ver = ev.Table.Version
		}
		if ev.Kind == capture.Change {
			r.text = rowText(ev.Before) + rowText(ev.After)
		}
		ev.Before, ev.After = ev.Before.Clone(), ev.After.Clone()
		r.ev = ev
		out = append(out, r)
		if ev.Position != nil {
			ts.off = ev.Position.AppendOffset(nil)
		}
	}
	return out
}

func changes(recs []rec) []rec {
	var out []rec
	for _, r := range recs {
		if r.kind == capture.Change {
			out = append(out, r)
		}
	}
	return out
}

// eachServerReadOnly runs f against every server, as a user that may write to the source and
// as a read-only one.
func eachServerReadOnly(t *testing.T, f func(t *testing.T, srv server, readOnly bool)) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) { f(t, srv, false) })
		t.Run(srv.name+"/read-only", func(t *testing.T) { f(t, srv, true) })
	}
}

// snapshotDB makes a fresh database base_<pid> (base_ro_<pid> when readOnly) with tables
// (each "name (columns)"), a fence table and a signal table sig, and returns it and its name.
// The process id keeps concurrent runs (other worktrees) off each other's databases; a
// passing test drops it.
func snapshotDB(t *testing.T, srv server, base string, readOnly bool, tables ...string) (*sql.DB, string) {
	t.Helper()
	dbName := base
	if readOnly {
		dbName += "_ro"
	}
	dbName += "_" + strconv.Itoa(os.Getpid())
	db := openDB(t, srv.dsn)
	freshDB(t, db, dbName)
	t.Cleanup(func() {
		if !t.Failed() {
			db.Exec("DROP DATABASE IF EXISTS " + dbName)
		}
	})
	tables = append(tables, "fence (id INT PRIMARY KEY)",
		"sig (id VARCHAR(64) PRIMARY KEY, type VARCHAR(32) NOT NULL, data VARCHAR(2048))")
	for _, tbl := range tables {
		mustExec(t, db, "CREATE TABLE "+dbName+"."+tbl)
	}
	return db, dbName
}

// stateDiffs lists, sorted, how got (table/key → row, from the events) differs from want
// (from the table, readTable).
func stateDiffs(want, got map[string]string) []string {
	var diffs []string
	for k, w := range want {
		if g, ok := got[k]; !ok {
			diffs = append(diffs, "missing "+k+" "+w)
		} else if g != w {
			diffs = append(diffs, "differs "+k+": got "+g+" want "+w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, "extra "+k+" "+g)
		}
	}
	sort.Strings(diffs)
	return diffs
}

// readTable adds rs's rows (first column the key) to m as table/key → row text, as the events
// show them.
func readTable(t *testing.T, rs *sql.Rows, tbl string, m map[string]string) {
	t.Helper()
	defer rs.Close()
	cols, _ := rs.Columns()
	for rs.Next() {
		raw := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(cols))
		for i, v := range raw {
			switch {
			case !v.Valid:
				parts[i] = "NULL"
			case i == 0 && tbl == "z", i == 2:
				parts[i] = fmt.Sprintf("%q", v.String)
			default:
				parts[i] = v.String
			}
		}
		m[tbl+"/"+parts[0]] = "(" + strings.Join(parts, ",") + ")"
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
}
