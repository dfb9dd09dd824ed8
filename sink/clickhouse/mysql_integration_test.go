//go:build integration

package clickhouse

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/sluicecdc/sluice/internal/testkit"
)

// privateMySQL starts a MySQL 9 server of its own (the tree scripts/mysql9.sh unpacks), on a
// free port and a temporary data directory, for what the shared server must never see (RESET
// BINARY LOGS AND GTIDS is server-wide). Cleanup kills it, only it, and removes the directory.
// About 20 s, most of it initialising the data directory. A missing tree skips the test (fails
// under SLUICE_TEST_REQUIRE=1).
func privateMySQL(t *testing.T) string {
	t.Helper()
	infra := os.Getenv("SLUICE_INFRA_DIR")
	if infra == "" {
		infra = "/tmp/sluice-infra"
		if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
			infra = filepath.Join(d, "sluice-infra")
		}
	}
	root := filepath.Join(infra, "mysql9-root")
	libs := filepath.Join(root, "usr/lib/x86_64-linux-gnu")
	_, err := os.Stat(filepath.Join(root, "usr/sbin/mysqld"))
	testkit.Require(t, "the MySQL 9 tree of scripts/mysql9.sh", err)
	u, err := user.Lookup("mysql")
	testkit.Require(t, "a mysql system user for a private MySQL", err)
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	dir := testkit.PrivateDir(t, "sluice-ch-mysql-", "run/error.log")
	data, run := filepath.Join(dir, "data"), filepath.Join(dir, "run")
	for _, d := range []string{dir, run} {
		os.MkdirAll(d, 0o755)
		os.Chown(d, uid, gid)
	}
	mysqld := func(args ...string) *exec.Cmd {
		base := []string{"--library-path", libs, filepath.Join(root, "usr/sbin/mysqld"), "--no-defaults",
			"--basedir=" + root + "/usr", "--lc-messages-dir=" + root + "/usr/share/mysql",
			"--character-sets-dir=" + root + "/usr/share/mysql/charsets", "--plugin-dir=" + root + "/usr/lib/mysql/plugin",
			"--datadir=" + data, "--user=mysql", "--secure-file-priv=" + run}
		return exec.Command(filepath.Join(libs, "ld-linux-x86-64.so.2"), append(base, args...)...)
	}
	if out, err := mysqld("--initialize-insecure", "--log-error="+filepath.Join(run, "init.log")).CombinedOutput(); err != nil {
		t.Fatalf("initialise a private MySQL: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := mysqld(fmt.Sprintf("--port=%d", port), "--bind-address=127.0.0.1", "--socket="+filepath.Join(run, "sock"),
		"--pid-file="+filepath.Join(run, "pid"), "--log-error="+filepath.Join(run, "error.log"), "--server-id=1",
		"--log-bin=binlog", "--binlog-format=ROW", "--binlog-row-image=FULL", "--innodb-buffer-pool-size=32M",
		"--max-connections=50", "--mysqlx=OFF", "--gtid-mode=ON", "--enforce-gtid-consistency=ON")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill() // the server this test started, by its pid
		// then PrivateDir's cleanup removes dir
		<-exited
	})
	dsn := fmt.Sprintf("root@tcp(127.0.0.1:%d)/", port)
	for deadline := time.Now().Add(60 * time.Second); ; {
		db, err := sql.Open("mysql", dsn)
		if err == nil {
			err = db.Ping()
			db.Close()
		}
		if err == nil {
			return dsn
		}
		select {
		case <-exited:
			b, _ := os.ReadFile(filepath.Join(run, "error.log"))
			t.Fatalf("private MySQL exited at start:\n%s", b)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("private MySQL did not answer within 60 s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestMySQLResetBinaryLogsToClickHouse: `sluice mysql --sink clickhouse` (the binary) from a
// private MySQL 9 whose binlog is reset while sluice is stopped (RESET BINARY LOGS AND GTIDS,
// then gtid_purged set to the old GTID set so that sluice can resume). The changes after the
// reset have smaller binlog coordinates than those before (binlog.000001 against
// binlog.000003) and must still win in ClickHouse 18.16: the table equals the source.
func TestMySQLResetBinaryLogsToClickHouse(t *testing.T) {
	addr := chAddr(t)
	cconn := chConn(t, addr)
	db := freshDB(t, cconn)
	dsn := privateMySQL(t)
	my, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer my.Close()
	my.SetMaxOpenConns(1)
	run := func(qs ...string) {
		t.Helper()
		for _, q := range qs {
			if _, err := my.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	var vals []string
	for id := 1; id <= 20; id++ {
		vals = append(vals, fmt.Sprintf("(%d,0)", id))
	}
	// Two rotations put the changes before the reset into binlog.000003.
	run("FLUSH BINARY LOGS", "FLUSH BINARY LOGS", "CREATE DATABASE chreset",
		"CREATE TABLE chreset.t (id INT PRIMARY KEY, v INT NOT NULL)",
		"INSERT INTO chreset.t VALUES "+strings.Join(vals, ","))
	bin := sluiceBin(t) // built once per test binary
	dir := t.TempDir()
	logf, _ := os.Create(filepath.Join(dir, "sluice.log"))
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "sluice.log"))
			t.Logf("sluice log:\n%s", b)
		}
	}()
	host := strings.TrimSuffix(strings.TrimPrefix(dsn, "root@tcp("), ")/")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := l.Addr().String()
	l.Close()
	start := func() func() {
		cmd := exec.Command(bin, "mysql", "--dsn", "mysql://root@"+host, "--server-id", "4245", "--topic-prefix", "mreset",
			"--database-include", "chreset", "--offsets-file", filepath.Join(dir, "offsets"), "--sink", "clickhouse",
			"--clickhouse-addr", addr, "--clickhouse-database", db, "--clickhouse-flush-interval", "100ms", "--log-format", "text",
			"--http-addr", httpAddr)
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		stopped := false
		stop := func() {
			if !stopped {
				stopped = true
				_ = cmd.Process.Signal(syscall.SIGTERM)
				_ = cmd.Wait()
			}
		}
		t.Cleanup(stop)
		return stop
	}
	source := func() string {
		var s sql.NullString
		if err := my.QueryRow("SELECT GROUP_CONCAT(CONCAT(id, ' ', v) ORDER BY id SEPARATOR '|') FROM chreset.t").Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s.String
	}
	var got string
	wait := func(what string) {
		t.Helper()
		want := source()
		for i := 0; i < 200; i++ {
			_ = cconn.Exec(context.Background(), "OPTIMIZE TABLE "+db+".t FINAL")
			got = strings.Join(tryQuery(cconn, "SELECT concat(toString(id), ' ', toString(v)) FROM "+db+".t FINAL WHERE _is_deleted = 0 ORDER BY id"), "|")
			if got == want {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: ClickHouse has\n%s\nwant\n%s", what, got, want)
	}
	binlogFile := func() string {
		rows, err := my.Query("SHOW BINARY LOG STATUS")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		v := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range v {
			ptrs[i] = &v[i]
		}
		if !rows.Next() {
			t.Fatal("SHOW BINARY LOG STATUS: no row")
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		return string(v[0]) + ":" + string(v[1])
	}
	stop := start()
	wait("after the snapshot")
	run("UPDATE chreset.t SET v = 1", "UPDATE chreset.t SET v = 5 WHERE id > 15")
	wait("before the reset")
	before := binlogFile()
	stop()
	var executed string
	if err := my.QueryRow("SELECT @@GLOBAL.gtid_executed").Scan(&executed); err != nil {
		t.Fatal(err)
	}
	// What a replica of this server needs too: the old transactions stay "executed", so GTIDs
	// are not reused and sluice's stored GTID set is still a subset of the server's.
	run("RESET BINARY LOGS AND GTIDS", "SET GLOBAL gtid_purged = '"+executed+"'")
	start()
	run("UPDATE chreset.t SET v = 2 WHERE id <= 10",
		"BEGIN", "UPDATE chreset.t SET v = 3 WHERE id = 1", "UPDATE chreset.t SET v = 4 WHERE id = 1", "COMMIT",
		"DELETE FROM chreset.t WHERE id = 20", "INSERT INTO chreset.t VALUES (21, 2)")
	wait("after the reset")
	t.Logf("binlog end before the reset %s, after %s", before, binlogFile())
	// --sink clickhouse adds the sink's counters to the capture command's /metrics
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"\nsluice_clickhouse_parked_records_total 0\n", "\nsluice_clickhouse_rows_total "} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	if got := tryQuery(cconn, "SELECT toString(count()) FROM "+db+"._sluice_parked"); len(got) == 1 && got[0] != "0" {
		t.Fatalf("parked records: %v", got)
	}
}
