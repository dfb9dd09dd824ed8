//go:build integration

package mysql

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture/mysql/history"
)

// TestNoTableMatchedWarns: an include list that matches no table (most often a misspelt one)
// is logged at warn level with the flags to check. Before, the source ran and captured nothing,
// and only an info line (tables=0) hinted at it.
func TestNoTableMatchedWarns(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			var l lockedLog
			ts := newTestSource(t, srv, "sluice_no_such_database_x")
			ts.cfg.Logger = l.logger()
			s := ts.open(t)
			s.Close()
			if !strings.Contains(l.String(), "level=WARN") || !strings.Contains(l.String(), "no table matches the include/exclude lists") {
				t.Errorf("no warning that nothing is captured:\n%s", l.String())
			}
		})
	}
}

// TestUnloggedDatabaseRefused: a captured database the server leaves out of its binlog
// (binlog_ignore_db, or binlog_do_db without it) stops the start with the fix. Before, the
// snapshot read it and no change of it ever followed.
func TestUnloggedDatabaseRefused(t *testing.T) {
	for _, c := range []struct{ option, captured, want string }{
		{"--binlog-ignore-db=quiet", "quiet", "binlog_ignore_db"},
		{"--binlog-do-db=loud", "quiet", "binlog_do_db"},
	} {
		t.Run(c.option, func(t *testing.T) {
			ps := newPrivateServerWith(t, "mariadb", c.option)
			db := ps.db()
			mustExec(t, db, "CREATE DATABASE quiet", "CREATE TABLE quiet.t (id INT PRIMARY KEY)", "CREATE DATABASE loud", "CREATE TABLE loud.t (id INT PRIMARY KEY)")
			ts := newTestSource(t, server{"mariadb", ps.dsn}, c.captured)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cfg := ts.cfg
			cfg.History = history.NewFile(ts.hist, nil)
			s, err := New(ctx, cfg)
			if err == nil {
				s.Close()
				t.Fatal("started although the captured database is not in the binlog")
			}
			if !strings.Contains(err.Error(), "captured database quiet") || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "--database-exclude") {
				t.Fatalf("error does not name the database, the option and the fix: %v", err)
			}
			// The logged database alone runs.
			if c.option == "--binlog-do-db=loud" {
				cfg.DatabaseInclude = []string{"loud"}
				s, err := New(ctx, cfg)
				if err != nil {
					t.Fatalf("loud is in the binlog: %v", err)
				}
				s.Close()
			}
		})
	}
}
