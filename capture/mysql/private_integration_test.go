//go:build integration

package mysql

import (
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sluicecdc/sluice/internal/testkit"
)

// privateServer is a MariaDB or MySQL server of one test, on its own port and data directory,
// for faults the shared servers must not see (PURGE BINARY LOGS is server-wide; a restart or a
// kill would break every other test). Binaries: those scripts/mariadb.sh and scripts/mysql9.sh
// use; a missing one skips the test (fails under SLUICE_TEST_REQUIRE=1).
type privateServer struct {
	t      *testing.T
	flavor string // "mariadb" or "mysql"
	dir    string
	port   int
	cmd    *exec.Cmd
	exited chan struct{}
	dsn    string   // root@tcp(127.0.0.1:port)/
	extra  []string // more server options (newPrivateServerWith)
}

func infraDir() string {
	if d := os.Getenv("SLUICE_INFRA_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "sluice-infra")
	}
	return "/tmp/sluice-infra"
}

// mysql9 returns how to run a program of the unpacked MySQL 9 tree (scripts/mysql9.sh).
func mysql9(prog string, args ...string) (string, []string) {
	root := filepath.Join(infraDir(), "mysql9-root")
	libs := filepath.Join(root, "usr/lib/x86_64-linux-gnu")
	return filepath.Join(libs, "ld-linux-x86-64.so.2"), append([]string{"--library-path", libs, filepath.Join(root, prog)}, args...)
}

func mysql9Args(data, run string) []string {
	root := filepath.Join(infraDir(), "mysql9-root")
	return []string{"--no-defaults", "--basedir=" + root + "/usr", "--lc-messages-dir=" + root + "/usr/share/mysql",
		"--character-sets-dir=" + root + "/usr/share/mysql/charsets", "--plugin-dir=" + root + "/usr/lib/mysql/plugin",
		"--datadir=" + data, "--user=mysql", "--secure-file-priv=" + run}
}

// newPrivateServer initialises a data directory (about 2 s for MariaDB, 5 s for MySQL 9) and
// starts the server; cleanup kills it and removes the directory.
func newPrivateServer(t *testing.T, flavor string) *privateServer {
	t.Helper()
	return newPrivateServerWith(t, flavor)
}

// newPrivateServerWith is newPrivateServer with more server options (TLS certificates, …).
func newPrivateServerWith(t *testing.T, flavor string, extra ...string) *privateServer {
	t.Helper()
	u, err := user.Lookup("mysql")
	testkit.Require(t, "a mysql system user for a private "+flavor+" server", err)
	var initCmd *exec.Cmd
	dir := testkit.PrivateDir(t, "sluice-private-"+flavor+"-", "run/error.log")
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	data, run := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	for _, d := range []string{dir, run} {
		os.MkdirAll(d, 0o755)
		os.Chown(d, uid, gid)
	}
	switch flavor {
	case "mariadb":
		_, err := exec.LookPath("mariadbd")
		testkit.Require(t, "mariadbd (scripts/mariadb.sh installs it)", err)
		os.MkdirAll(data, 0o755)
		os.Chown(data, uid, gid)
		initCmd = exec.Command("mariadb-install-db", "--no-defaults", "--datadir="+data, "--tmpdir="+run, "--user=mysql",
			"--auth-root-authentication-method=normal", "--skip-test-db")
	case "mysql":
		bin, args := mysql9("usr/sbin/mysqld")
		_, err := os.Stat(args[2])
		testkit.Require(t, "the MySQL 9 tree of scripts/mysql9.sh", err)
		initCmd = exec.Command(bin, append(append(args, mysql9Args(data, run)...), "--initialize-insecure", "--log-error="+filepath.Join(run, "init.log"))...)
	}
	if out, err := initCmd.CombinedOutput(); err != nil {
		t.Fatalf("initialise a private %s: %v\n%s", flavor, err, out)
	}
	ps := &privateServer{t: t, flavor: flavor, dir: dir, port: freePort(t), extra: extra}
	ps.dsn = fmt.Sprintf("root@tcp(127.0.0.1:%d)/", ps.port)
	t.Cleanup(ps.kill) // before PrivateDir's cleanup, which removes dir
	ps.start()
	return ps
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// start starts the server on its data directory and waits until it answers.
func (ps *privateServer) start() {
	t := ps.t
	t.Helper()
	data, run := filepath.Join(ps.dir, "data"), filepath.Join(ps.dir, "run")
	common := []string{fmt.Sprintf("--port=%d", ps.port), "--bind-address=127.0.0.1", "--socket=" + filepath.Join(run, "sock"),
		"--pid-file=" + filepath.Join(run, "pid"), "--log-error=" + filepath.Join(run, "error.log"), "--server-id=1",
		"--log-bin=binlog", "--binlog-format=ROW", "--binlog-row-image=FULL", "--innodb-buffer-pool-size=32M", "--max-connections=50"}
	switch ps.flavor {
	case "mariadb":
		ps.cmd = exec.Command("mariadbd", append([]string{"--no-defaults", "--user=mysql", "--datadir=" + data, "--tmpdir=" + run,
			"--skip-name-resolve", "--gtid-strict-mode=ON", "--binlog-checksum=CRC32",
			"--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci"}, common...)...)
	case "mysql":
		bin, args := mysql9("usr/sbin/mysqld")
		ps.cmd = exec.Command(bin, append(append(args, mysql9Args(data, run)...), append(common, "--mysqlx=OFF",
			"--gtid-mode=ON", "--enforce-gtid-consistency=ON")...)...)
	}
	ps.cmd.Args = append(ps.cmd.Args, ps.extra...)
	ps.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := ps.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ps.exited = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { c.Wait(); close(done) }(ps.cmd, ps.exited)
	deadline := time.Now().Add(60 * time.Second)
	for {
		db, err := sql.Open("mysql", ps.dsn)
		if err == nil {
			err = db.Ping()
			db.Close()
		}
		if err == nil {
			return
		}
		select {
		case <-ps.exited:
			log, _ := os.ReadFile(filepath.Join(run, "error.log"))
			t.Fatalf("private %s exited at start:\n%s", ps.flavor, log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("private %s did not answer within 60 s: %v", ps.flavor, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stop shuts the server down cleanly (SIGTERM) and waits for it.
func (ps *privateServer) stop() { ps.signal(syscall.SIGTERM) }

// kill ends the server at once (SIGKILL), like a crash.
func (ps *privateServer) kill() { ps.signal(syscall.SIGKILL) }

func (ps *privateServer) signal(sig syscall.Signal) {
	if ps.cmd == nil || ps.cmd.Process == nil {
		return
	}
	select {
	case <-ps.exited:
		return
	default:
	}
	ps.cmd.Process.Signal(sig) // only the process this test started
	select {
	case <-ps.exited:
	case <-time.After(60 * time.Second):
		ps.cmd.Process.Kill()
		<-ps.exited
	}
}

// db opens a root connection to the server.
func (ps *privateServer) db() *sql.DB {
	cfg, _ := gomysql.ParseDSN(ps.dsn)
	cfg.MultiStatements = true
	c, _ := gomysql.NewConnector(cfg)
	db := sql.OpenDB(c)
	ps.t.Cleanup(func() { db.Close() })
	return db
}
