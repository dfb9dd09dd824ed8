package testkit

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// PGBin holds the PostgreSQL 15 programs the private servers run.
const PGBin = "/usr/lib/postgresql/15/bin"

// PGOptions shape a private PostgreSQL beyond the defaults (logical WAL, 8 slots and senders,
// fsync off, trust authentication).
type PGOptions struct {
	InitdbArgs []string // added to initdb's (--wal-segsize=1, say)
	Conf       string   // appended to postgresql.conf
	HBA        string   // put before pg_hba.conf's lines, so that it wins
	// Own lists files the server must own and read alone (a TLS key), when it runs as the
	// postgres user.
	Own []string
}

// PrivatePG is a PostgreSQL 15 of one test's own, for tests that stop, restart or
// reconfigure a server, or need WAL no other test writes: never the shared servers.
type PrivatePG struct {
	t    testing.TB
	Dir  string // Dir/data the data directory, Dir/log the server log
	Addr string // 127.0.0.1:port
}

// StartPG starts a PrivatePG in a temporary directory; it stops (-m immediate) with the test.
// Without the binaries the test skips, or fails under SLUICE_TEST_REQUIRE=1.
func StartPG(t testing.TB, opt PGOptions) *PrivatePG {
	t.Helper()
	if _, err := os.Stat(PGBin + "/initdb"); err != nil {
		Require(t, "PostgreSQL 15 binaries", err)
	}
	dir := t.TempDir()
	if os.Geteuid() == 0 {
		// initdb refuses to run as root: the server runs as the postgres user (PGCmd), which
		// owns the data dir and its key.
		u, err := user.Lookup("postgres")
		if err != nil {
			Require(t, "a postgres user", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, f := range append([]string{dir}, opt.Own...) {
			if err := os.Chown(f, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
		for d := dir; d != os.TempDir() && d != "/"; d = filepath.Dir(d) {
			os.Chmod(d, 0o755)
		}
	}
	for _, f := range opt.Own {
		os.Chmod(f, 0o600)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	pg := &PrivatePG{t: t, Dir: dir, Addr: fmt.Sprintf("127.0.0.1:%d", port)}
	data := filepath.Join(dir, "data")
	pg.Run("initdb", append([]string{"-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "-N"}, opt.InitdbArgs...)...)
	pg.AppendConf(fmt.Sprintf("listen_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\nwal_level = logical\n"+
		"max_replication_slots = 8\nmax_wal_senders = 8\nfsync = off\nshared_buffers = 16MB\n", port, dir) + opt.Conf)
	if opt.HBA != "" {
		hba := filepath.Join(data, "pg_hba.conf")
		b, err := os.ReadFile(hba)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(hba, append([]byte(opt.HBA), b...), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	pg.Ctl("start")
	t.Cleanup(func() { PGCmd("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop").Run() })
	return pg
}

// PGCmd is a PostgreSQL program, run as the postgres user when the test runs as root.
func PGCmd(name string, args ...string) *exec.Cmd {
	if os.Geteuid() != 0 {
		return exec.Command(PGBin+"/"+name, args...)
	}
	return exec.Command("runuser", append([]string{"-u", "postgres", "--", PGBin + "/" + name}, args...)...)
}

// Run runs a PostgreSQL program and fails the test, with its output, if it fails.
func (pg *PrivatePG) Run(name string, args ...string) {
	pg.t.Helper()
	if out, err := PGCmd(name, args...).CombinedOutput(); err != nil {
		pg.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// Ctl runs pg_ctl on the server, waiting up to 60 s (start, restart -m fast, stop -m
// immediate, …).
func (pg *PrivatePG) Ctl(args ...string) {
	pg.t.Helper()
	pg.Run("pg_ctl", append([]string{"-D", filepath.Join(pg.Dir, "data"), "-l", filepath.Join(pg.Dir, "log"), "-w", "-t", "60"}, args...)...)
}

// AppendConf appends settings to postgresql.conf (they apply at the next start or reload).
func (pg *PrivatePG) AppendConf(conf string) {
	pg.t.Helper()
	f, err := os.OpenFile(filepath.Join(pg.Dir, "data", "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		pg.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(conf); err != nil {
		pg.t.Fatal(err)
	}
}

// DSN is the URL of database db as postgres over plain TCP to addr (the server's own, or a
// proxy's in front of it; "" is Addr).
func (pg *PrivatePG) DSN(addr, db string) string {
	if addr == "" {
		addr = pg.Addr
	}
	return "postgres://postgres@" + addr + "/" + db + "?sslmode=disable"
}

// Connect connects to database db as postgres; the connection closes with the test.
func (pg *PrivatePG) Connect(db string) *pgx.Conn {
	pg.t.Helper()
	c, err := pgx.Connect(context.Background(), pg.DSN("", db))
	if err != nil {
		pg.t.Fatal(err)
	}
	pg.t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// DropPGDatabase drops database name on the server adm is connected to, with the replication
// slots in it or named name. A slot a test leaves behind pins the shared server's WAL and,
// over runs, takes all of max_replication_slots: every later run's slot creation fails. A slot
// still held (a killed sluice's walsender that has not noticed yet) gets 5 s, then its walsender
// is terminated: by cleanup the test is done with it.
func DropPGDatabase(ctx context.Context, adm *pgx.Conn, name string) error {
	const where = " FROM pg_replication_slots WHERE (database = $1 OR slot_name = $1)"
	for i := 0; ; i++ {
		adm.Exec(ctx, "SELECT pg_drop_replication_slot(slot_name)"+where+" AND NOT active", name)
		var left int
		if err := adm.QueryRow(ctx, "SELECT count(*)"+where, name).Scan(&left); err != nil {
			return fmt.Errorf("drop the slots of %s: %w", name, err)
		}
		if left == 0 {
			break
		}
		switch i {
		case 50:
			adm.Exec(ctx, "SELECT pg_terminate_backend(active_pid)"+where+" AND active", name)
		case 100:
			return fmt.Errorf("%d replication slots of %s still held after 10 s", left, name)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := adm.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// FreshPGDatabase makes database name on the server at dsn anew (DropPGDatabase first) and
// returns its URL and a connection to it. Both go when the test ends: the connection, then the
// database with its slots, through a connection of the cleanup's own.
func FreshPGDatabase(t testing.TB, dsn, name string) (string, *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	adm, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close(ctx)
	if err := DropPGDatabase(ctx, adm, name); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		adm, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Error(err)
			return
		}
		defer adm.Close(ctx)
		if err := DropPGDatabase(ctx, adm, name); err != nil {
			t.Error(err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return u.String(), conn
}
