//go:build integration

package conformance

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql"
	"github.com/sluicecdc/sluice/capture/mysql/history"
	"github.com/sluicecdc/sluice/capture/postgres"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// servers returns the DSNs of the servers under test by name, skipping missing ones.
func servers(t *testing.T, names []string, envs ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for i, d := range testkit.Servers(t, envs...) {
		if d != "" {
			out[names[i]] = d
		}
	}
	return out
}

// source is what the runner needs of a capture source.
type source interface {
	Next(ctx context.Context) (capture.Event, error)
	Close() error
}

// runCases creates every case's table, inserts its row, starts the source and checks the
// snapshot read, then inserts the row again and checks the streamed insert.
func runCases(t *testing.T, ctx context.Context, server string, cases []*Case, exec func(string) error, open func() (source, func(capture.Position) error, error)) {
	var mine []*Case
	byTable := map[string]*Case{}
	for _, c := range cases {
		if !onServer(c.On, server) || len(c.Want) > 0 {
			continue
		}
		ok := true
		for _, q := range append(append([]string{}, c.Setup...), c.DDL, c.Insert) {
			if err := exec(q); err != nil {
				t.Errorf("%s: %s: %v", c.Name, q, err)
				record(c, server, "setup", []string{err.Error()})
				ok = false
				break
			}
		}
		if ok {
			mine = append(mine, c)
			byTable[strings.ToLower(c.table())] = c
		}
	}
	src, ack, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	seen := map[string]map[capture.Op]bool{}
	want, phase := len(mine), "snapshot"
	for n := 0; n < want; {
		ev, err := src.Next(ctx)
		if err != nil {
			t.Fatalf("Next after %d changes (%s): %v", n, phase, err)
		}
		if ev.Position != nil && ack != nil {
			if err := ack(ev.Position); err != nil {
				t.Fatal(err)
			}
		}
		if ev.Kind != capture.Change || ev.Table == nil {
			continue
		}
		c := byTable[strings.ToLower(ev.Table.ID.Table)]
		if c == nil {
			continue
		}
		if seen[c.Name] == nil {
			seen[c.Name] = map[capture.Op]bool{}
		}
		if seen[c.Name][ev.Op] {
			continue
		}
		seen[c.Name][ev.Op] = true
		n++
		p := map[capture.Op]string{capture.OpRead: "snapshot", capture.OpCreate: "stream"}[ev.Op]
		if p == "" {
			t.Errorf("%s: unexpected %c event", c.Name, ev.Op)
			continue
		}
		fails := checkEvent(c, server, p, &ev)
		record(c, server, p, fails)
		for _, f := range fails {
			t.Errorf("%s (%s, %s): %s", c.Name, server, p, f)
		}
		if n == want && phase == "snapshot" {
			phase = "stream"
			want += len(mine)
			for _, c := range mine {
				for _, q := range c.Alter {
					if err := exec(q); err != nil {
						t.Fatalf("%s: %s: %v", c.Name, q, err)
					}
				}
				ins := c.Insert
				if c.StreamInsert != "" {
					ins = c.StreamInsert
				}
				if err := exec(ins); err != nil {
					t.Fatalf("%s: %v", c.Name, err)
				}
			}
		}
	}
}

func TestConformanceMySQL(t *testing.T) {
	for server, dsn := range servers(t, []string{"mariadb", "mysql"}, "SLUICE_TEST_MARIADB_DSN", "SLUICE_TEST_MYSQL_DSN") {
		t.Run(server, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cfg, err := gomysql.ParseDSN(dsn)
			if err != nil {
				t.Fatal(err)
			}
			cn, err := gomysql.NewConnector(cfg)
			if err != nil {
				t.Fatal(err)
			}
			db := sql.OpenDB(cn)
			defer db.Close()
			conn, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			dbName := fmt.Sprintf("sl_conformance_%d", os.Getpid())
			for _, q := range []string{"SET SESSION time_zone = '+00:00'", "DROP DATABASE IF EXISTS " + dbName,
				"CREATE DATABASE " + dbName, "USE " + dbName} {
				if _, err := conn.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			defer conn.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+dbName)
			var version string
			conn.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version)
			setVersion(server, version)
			exec := func(q string) error { _, err := conn.ExecContext(ctx, q); return err }
			runCases(t, ctx, server, mysqlCases, exec, func() (source, func(capture.Position) error, error) {
				// A replica server ID apart from the other tests' (typesfit and poison use 7000-8999).
				src, err := mysql.New(ctx, mysql.Config{DSN: dsn, ServerID: uint32(2_100_000_000 + os.Getpid()), Name: "conformance",
					DatabaseInclude: []string{dbName}, History: history.NewFile(filepath.Join(t.TempDir(), "history.jsonl"), nil)})
				if err != nil {
					return nil, nil, err
				}
				return src, nil, nil
			})
			runChanges(t, ctx, server, mysqlChangeCases, exec, func() (source, func(capture.Position) error, error) {
				src, err := mysql.New(ctx, mysql.Config{DSN: dsn, ServerID: uint32(2_150_000_000 + os.Getpid()), Name: "conformance",
					DatabaseInclude: []string{dbName}, History: history.NewFile(filepath.Join(t.TempDir(), "history-changes.jsonl"), nil)})
				if err != nil {
					return nil, nil, err
				}
				return src, nil, nil
			})
		})
	}
}

func TestConformancePostgres(t *testing.T) {
	for server, dsn := range servers(t, []string{"pg15", "pg17"}, "SLUICE_TEST_PG_DSN", "SLUICE_TEST_PG17_DSN") {
		t.Run(server, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			adm, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer adm.Close(context.Background())
			db := fmt.Sprintf("sl_conformance_%s_%d", server, os.Getpid())
			adm.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
			if _, err := adm.Exec(ctx, "CREATE DATABASE "+db); err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(dsn)
			u.Path = "/" + db
			conn, err := pgx.Connect(ctx, u.String())
			if err != nil {
				t.Fatal(err)
			}
			slot, slot2 := db, db+"_changes"
			defer func() {
				conn.Close(context.Background())
				time.Sleep(200 * time.Millisecond)
				adm.Exec(context.Background(), "SELECT pg_drop_replication_slot($1)", slot)
				adm.Exec(context.Background(), "SELECT pg_drop_replication_slot($1)", slot2)
				adm.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
			}()
			// Debezium's tests run in UTC.
			if _, err := conn.Exec(ctx, "SET TIME ZONE 'UTC'"); err != nil {
				t.Fatal(err)
			}
			var version string
			conn.QueryRow(ctx, "SHOW server_version").Scan(&version)
			setVersion(server, version)
			exec := func(q string) error { _, err := conn.Exec(ctx, q); return err }
			var cases []*Case
			for _, c := range pgCases {
				var ok bool
				if c.Extension != "" {
					conn.QueryRow(ctx, "SELECT true FROM pg_available_extensions WHERE name = $1", c.Extension).Scan(&ok)
					if !ok && onServer(c.On, server) {
						if os.Getenv("SLUICE_TEST_REQUIRE") == "1" {
							t.Errorf("%s: the %s extension is not installed on %s (scripts/servers.sh installs it: PG_POSTGIS=1, package postgresql-15-postgis-3)", c.Name, c.Extension, server)
						} else {
							t.Logf("%s: not run, the %s extension is not installed on %s", c.Name, c.Extension, server)
						}
						continue
					}
				}
				cases = append(cases, c)
			}
			runCases(t, ctx, server, cases, exec, func() (source, func(capture.Position) error, error) {
				src, err := postgres.Open(ctx, postgres.Config{DSN: u.String(), Slot: slot, SnapshotMode: postgres.SnapshotInitial,
					StatusInterval: 100 * time.Millisecond, TableExclude: []string{`postgis\..*`}})
				if err != nil {
					return nil, nil, err
				}
				return src, func(p capture.Position) error { return src.Ack(ctx, p) }, nil
			})
			runChanges(t, ctx, server, pgChangeCases, exec, func() (source, func(capture.Position) error, error) {
				src, err := postgres.Open(ctx, postgres.Config{DSN: u.String(), Slot: slot2, SnapshotMode: postgres.SnapshotInitial,
					StatusInterval: 100 * time.Millisecond, TableExclude: []string{`postgis\..*`}})
				if err != nil {
					return nil, nil, err
				}
				return src, func(p capture.Position) error { return src.Ack(ctx, p) }, nil
			})
		})
	}
}
