//go:build integration

package clickhouse

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"

	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestMariaDBToClickHouseInProcess: `sluice mysql --sink clickhouse` (the binary, no Kafka)
// from MariaDB into ClickHouse 18.16; the ClickHouse table must equal the MariaDB table after
// the snapshot and after updates, deletes, a primary-key change and a column added mid-stream.
func TestMariaDBToClickHouseInProcess(t *testing.T) {
	addr := chAddr(t)
	cconn := chConn(t, addr)
	db := freshDB(t, cconn)
	dsn := testkit.Server(t, "SLUICE_TEST_MARIADB_DSN")
	my, err := sql.Open("mysql", dsn+"?multiStatements=true&time_zone=%27%2B00%3A00%27")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { my.Close() }) // after the database's drop below
	my.SetMaxOpenConns(1)
	run := func(qs ...string) {
		t.Helper()
		for _, q := range qs {
			if _, err := my.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	t.Cleanup(func() { my.Exec("DROP DATABASE IF EXISTS " + dbChMaria) })
	run("DROP DATABASE IF EXISTS "+dbChMaria, "CREATE DATABASE "+dbChMaria,
		"CREATE TABLE "+dbChMaria+".orders (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, amount DECIMAL(10,2) NOT NULL, created DATETIME(6) NOT NULL, note TEXT)",
		"INSERT INTO "+dbChMaria+".orders VALUES (1,'anne',1.10,'2024-01-01 01:00:00',NULL),(2,'bob',-2.20,'2024-01-02 02:00:00.5','hi'),(3,'carl',3.30,'2024-01-03 03:00:00',NULL),(4,'dora',4.40,'2024-01-04 04:00:00','d')")
	bin := sluiceBin(t) // built once per test binary
	host := strings.TrimSuffix(strings.TrimPrefix(dsn, "root@tcp("), ")/")
	dir := t.TempDir()
	cmd := exec.Command(bin, "mysql", "--dsn", "mysql://root@"+host, "--server-id", fmt.Sprint(4000000+os.Getpid()), "--topic-prefix", "mch",
		"--database-include", dbChMaria, "--offsets-file", filepath.Join(dir, "offsets"), "--sink", "clickhouse",
		"--clickhouse-addr", addr, "--clickhouse-database", db, "--clickhouse-flush-interval", "100ms", "--log-format", "text")
	logf, _ := os.Create(filepath.Join(dir, "sluice.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "sluice.log"))
			t.Logf("sluice log:\n%s", b)
		}
	}()
	myRows := func(qty bool) []string {
		q := "SELECT CAST(id AS CHAR), name, CAST(amount AS CHAR), CAST(CAST(UNIX_TIMESTAMP(created) * 1000000 AS DECIMAL(20,0)) AS CHAR), COALESCE(MD5(note), 'NULL')"
		if qty {
			q += ", COALESCE(CAST(qty AS CHAR), 'NULL')"
		}
		rows, err := my.Query(q + " FROM " + dbChMaria + ".orders ORDER BY orders.id")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		var out []string
		for rows.Next() {
			vals := make([]string, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			out = append(out, strings.Join(vals, "\t"))
		}
		return out
	}
	chRows := func(qty bool) []string {
		q := "SELECT toString(id), name, toString(amount), toString(created), ifNull(lower(hex(MD5(note))), 'NULL')"
		if qty {
			q += ", ifNull(toString(qty), 'NULL')"
		}
		_ = cconn.Exec(context.Background(), "OPTIMIZE TABLE "+db+".orders FINAL")
		return tryQuery(cconn, q+" FROM "+db+".orders FINAL WHERE _is_deleted = 0 ORDER BY id")
	}
	wait := func(qty bool) {
		t.Helper()
		var want, got []string
		for i := 0; i < 300; i++ {
			want, got = myRows(qty), chRows(qty)
			if strings.Join(want, "\n") == strings.Join(got, "\n") {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("ClickHouse differs from MariaDB:\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wait(false)
	run("UPDATE "+dbChMaria+".orders SET name = 'bobby', amount = amount + 1 WHERE id = 2",
		"DELETE FROM "+dbChMaria+".orders WHERE id = 3",
		"UPDATE "+dbChMaria+".orders SET id = 40 WHERE id = 4",
		"INSERT INTO "+dbChMaria+".orders VALUES (5,'emil',5.50,'2024-01-05 05:00:00.000005','e'),(6,'finn',6.60,'2024-01-06 06:00:00',NULL)",
		"ALTER TABLE "+dbChMaria+".orders ADD COLUMN qty INT",
		"INSERT INTO "+dbChMaria+".orders VALUES (7,'gus',7.70,'2024-01-07 07:00:00','seven',70)",
		"UPDATE "+dbChMaria+".orders SET qty = 10, name = 'anne2' WHERE id = 1",
		"UPDATE "+dbChMaria+".orders SET qty = qty + 1", // one rows event, several rows: versions pos+row
		"DELETE FROM "+dbChMaria+".orders WHERE id = 6")
	wait(true)
	if got := tryQuery(cconn, "SELECT toString(count()) FROM "+db+"._sluice_parked"); got[0] != "0" {
		t.Fatalf("parked records: %v", got)
	}
}

// TestMariaDBFailoverToClickHouse: `sluice mysql --sink clickhouse` reads from the MariaDB
// primary, stops, and resumes from its offsets against a GTID replica
// (scripts/mariadb-replica.sh), whose binlog holds the same transactions at its own,
// smaller coordinates. The changes read from the replica are newer and must win in ClickHouse.
func TestMariaDBFailoverToClickHouse(t *testing.T) {
	addr := chAddr(t)
	cconn := chConn(t, addr)
	db := freshDB(t, cconn)
	primary, replica := testkit.Server(t, "SLUICE_TEST_MARIADB_DSN"), testkit.Server(t, "SLUICE_TEST_MARIADB_REPLICA_DSN")
	open := func(dsn string) *sql.DB {
		d, err := sql.Open("mysql", dsn)
		if err != nil {
			t.Fatal(err)
		}
		d.SetMaxOpenConns(1)
		t.Cleanup(func() { d.Close() })
		return d
	}
	pdb, rdb := open(primary), open(replica)
	run := func(d *sql.DB, qs ...string) {
		t.Helper()
		for _, q := range qs {
			if _, err := d.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	// The replica's SQL thread stops when another test's table predates it: restart it at the
	// primary's position (what capture/mysql's failover test does too).
	var sqlRunning string
	if rows, err := rdb.Query("SHOW SLAVE STATUS"); err == nil {
		cols, _ := rows.Columns()
		if rows.Next() {
			vals := make([]sql.NullString, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			_ = rows.Scan(ptrs...)
			for i, c := range cols {
				if c == "Slave_SQL_Running" {
					sqlRunning = vals[i].String
				}
			}
		}
		rows.Close()
	}
	if sqlRunning != "Yes" {
		var pos string
		if err := pdb.QueryRow("SELECT @@gtid_binlog_pos").Scan(&pos); err != nil {
			t.Fatal(err)
		}
		run(rdb, "STOP SLAVE", "SET GLOBAL gtid_slave_pos='"+pos+"'", "START SLAVE")
	}
	var vals []string
	for id := 1; id <= 20; id++ {
		vals = append(vals, fmt.Sprintf("(%d,0)", id))
	}
	t.Cleanup(func() { pdb.Exec("DROP DATABASE IF EXISTS " + dbChFailover) })
	run(pdb, "DROP DATABASE IF EXISTS "+dbChFailover, "CREATE DATABASE "+dbChFailover,
		"CREATE TABLE "+dbChFailover+".t (id INT PRIMARY KEY, v INT NOT NULL)",
		"INSERT INTO "+dbChFailover+".t VALUES "+strings.Join(vals, ","))
	bin := sluiceBin(t) // built once per test binary
	dir := t.TempDir()
	logf, _ := os.Create(filepath.Join(dir, "sluice.log"))
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "sluice.log"))
			t.Logf("sluice log:\n%s", b)
		}
	}()
	start := func(dsn string) func() {
		host := strings.TrimSuffix(strings.TrimPrefix(dsn, "root@tcp("), ")/")
		cmd := exec.Command(bin, "mysql", "--dsn", "mysql://root@"+host, "--server-id", fmt.Sprint(5000000+os.Getpid()), "--topic-prefix", "mfo",
			"--database-include", dbChFailover, "--offsets-file", filepath.Join(dir, "offsets"), "--sink", "clickhouse",
			"--clickhouse-addr", addr, "--clickhouse-database", db, "--clickhouse-flush-interval", "100ms", "--log-format", "text")
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
	rowsOf := func(d *sql.DB) string {
		var s sql.NullString
		if err := d.QueryRow("SELECT GROUP_CONCAT(CONCAT(id, ' ', v) ORDER BY id SEPARATOR '|') FROM " + dbChFailover + ".t").Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s.String
	}
	wait := func(what string, f func() bool) {
		t.Helper()
		for i := 0; i < 300; i++ {
			if f() {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("timed out waiting for %s", what)
	}
	chRows := func() string {
		_ = cconn.Exec(context.Background(), "OPTIMIZE TABLE "+db+".t FINAL")
		return strings.Join(tryQuery(cconn, "SELECT concat(toString(id), ' ', toString(v)) FROM "+db+".t FINAL WHERE _is_deleted = 0 ORDER BY id"), "|")
	}
	var got string
	equal := func(d *sql.DB) func() bool {
		return func() bool { got = chRows(); return got == rowsOf(d) }
	}
	stop := start(primary)
	wait("the snapshot in ClickHouse", equal(pdb))
	run(pdb, "UPDATE "+dbChFailover+".t SET v = 1")
	wait("v = 1 from the primary in ClickHouse", equal(pdb))
	stop()
	// changes the primary makes while sluice is down reach ClickHouse only through the replica
	run(pdb, "UPDATE "+dbChFailover+".t SET v = 2", "UPDATE "+dbChFailover+".t SET v = 3 WHERE id <= 10")
	wait("the replica to catch up", func() bool { return rowsOf(rdb) == rowsOf(pdb) })
	var pfile, rfile, x1, x2 string
	var ppos, rpos int64
	_ = pdb.QueryRow("SHOW MASTER STATUS").Scan(&pfile, &ppos, &x1, &x2)
	_ = rdb.QueryRow("SHOW MASTER STATUS").Scan(&rfile, &rpos, &x1, &x2)
	t.Logf("binlog ends: primary %s:%d, replica %s:%d", pfile, ppos, rfile, rpos)
	start(replica)
	for i := 0; i < 300 && !equal(rdb)(); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if want := rowsOf(rdb); got != want {
		t.Fatalf("after the failover ClickHouse has\n%s\nwant\n%s", got, want)
	}
}
