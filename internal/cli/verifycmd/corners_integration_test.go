//go:build integration

package verifycmd

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/sluicecdc/sluice/capture/mysql"
	"github.com/sluicecdc/sluice/capture/mysql/history"
	"github.com/sluicecdc/sluice/capture/postgres"
	"github.com/sluicecdc/sluice/internal/offsets"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// parkedReasons lists the records the sink parked in database chdb, one line each.
func parkedReasons(t *testing.T, addr, chdb string) string {
	t.Helper()
	conn := chConn(t, addr)
	rows, err := conn.Query(context.Background(), "SELECT table, reason FROM "+chdb+"._sluice_parked ORDER BY ts")
	if err != nil {
		if strings.Contains(err.Error(), "doesn't exist") || strings.Contains(err.Error(), "UNKNOWN_TABLE") {
			return ""
		}
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var tb, r string
		if err := rows.Scan(&tb, &r); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s: %s\n", tb, r)
	}
	return b.String()
}

// TestCornerTypesPostgresClickHouse: PostgreSQL values at the edges of their types go
// through the real sink; none is parked and verify finds every row equal.
func TestCornerTypesPostgresClickHouse(t *testing.T) {
	addr := testkit.Server(t, "SLUICE_TEST_CLICKHOUSE_ADDR")
	dsn := testkit.Server(t, "SLUICE_TEST_PG_DSN")
	ctx := context.Background()
	name := "sl_corner_pg"
	adm, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	drop := func() {
		if err := testkit.DropPGDatabase(ctx, adm, name); err != nil {
			t.Error(err)
		}
	}
	drop()
	t.Cleanup(func() {
		if os.Getenv("CORNER_KEEP") == "" {
			drop()
		}
		adm.Close(ctx)
	})
	if _, err := adm.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(dsn)
	u.Path = "/" + name
	pg, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close(ctx)
	for _, q := range []string{
		`CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')`,
		`CREATE DOMAIN posint AS int CHECK (VALUE > 0)`,
		`CREATE TABLE c (id int PRIMARY KEY, num numeric, money_ money, iv interval, arr int[], tarr text[],
			rng int4range, mood_ mood, dom posint, b8 bit(8), vb varbit(20), ts timestamp, tstz timestamptz, d date,
			tm time, tmtz timetz, u uuid, j json, x xml, ip inet, mac macaddr, big numeric(38,10), f4 real, f8 float8)`,
	} {
		if _, err := pg.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	rows := []string{
		`(1, 12345678901234567890.123456789, 92233720368547758.07, '1 year 2 mons 3 days 04:05:06.789', '{1,NULL,3}', '{"a","b,c",NULL}',
			'[1,10)', 'happy', 7, B'10100101', B'1', '1970-01-01 00:00:00.000001', '2024-02-29 12:34:56.789012+00', '1970-01-01',
			'23:59:59.999999', '12:00:00+05:30', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"k": [1, 2]}', '<a>b</a>', '10.0.0.1/8', '08:00:2b:01:02:03',
			1234567890123456789012345678.0123456789, 1.5, 1e308)`,
		`(2, -0.000000000000000000001, -92233720368547758.08, '-1 days -00:00:00.000001', '{}', '{}',
			'empty', 'sad', 1, B'00000000', B'', '1900-01-01 00:00:00', '1900-01-01 00:00:00+00', '2106-02-07',
			'00:00:00', '00:00:00-12', '00000000-0000-0000-0000-000000000000', 'null', '<x/>', '::1', '00:00:00:00:00:00',
			-9999999999999999999999999999.9999999999, 'NaN', 'Infinity')`,
		`(3, 0, 0, '0', NULL, NULL, '(,)', NULL, NULL, NULL, NULL, '2262-04-11 23:47:16.854775', '9999-12-31 23:59:59.999999+00', '2000-02-29',
			'24:00:00', '24:00:00+00', NULL, '[]', NULL, NULL, NULL, 0, '-Infinity', -0.0)`,
		`(4, 1e-30, 0.01, '178000000 years', '{2147483647,-2147483648}', '{"é\\x"}', '[,5]', 'ok', 2147483647, B'11111111', B'01010101010101010101',
			'0001-01-01 00:00:00', '0001-01-01 00:00:00+00', '1970-01-02', '12:00:00.5', '23:59:59.999999+14', NULL, '"s"', NULL, '255.255.255.255', NULL,
			NULL, 3.4028235e38, 2.2250738585072014e-308)`,
		`(5, NULL, NULL, NULL, '{NULL}', '{""}', NULL, NULL, NULL, NULL, NULL, 'infinity', 'infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
		`(6, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '-infinity', '-infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
	}
	if _, err := pg.Exec(ctx, "INSERT INTO c VALUES "+strings.Join(rows, ",")); err != nil {
		t.Fatal(err)
	}
	conn := chConn(t, addr)
	chdb := "sluice_test_corner_pg"
	chExec(t, conn, "DROP DATABASE IF EXISTS "+chdb)
	t.Cleanup(func() {
		if os.Getenv("CORNER_KEEP") == "" {
			conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+chdb)
		}
	})
	src, err := postgres.Open(ctx, postgres.Config{DSN: u.String(), Slot: name, Publication: name, Offset: nil})
	if err != nil {
		t.Fatal(err)
	}
	closeSrc := sync.OnceValue(src.Close)
	t.Cleanup(func() { closeSrc() })
	stop := runSink(t, src, addr, chdb, new(offsets.Memory))
	defer func() { stop(); closeSrc() }()
	// the same rows streamed, as ids + 100
	if _, err := pg.Exec(ctx, "INSERT INTO c SELECT id + 100, num, money_, iv, arr, tarr, rng, mood_, dom, b8, vb, ts, tstz, d, tm, tmtz, u, j, x, ip, mac, big, f4, f8 FROM c"); err != nil {
		t.Fatal(err)
	}
	args := []string{"--dsn", u.String(), "--clickhouse-addr", addr, "--clickhouse-database", chdb, "--leaf-rows", "100"}
	time.Sleep(3 * time.Second)
	out, err := verifyOnce(t, append(args, "--recheck-timeout", "20s", "--recheck-interval", "500ms")...)
	t.Logf("verify: %v\n%s", err, out)
	if p := parkedReasons(t, addr, chdb); p != "" {
		t.Errorf("parked:\n%s", p)
	}
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if legacy18(t, addr) && !strings.Contains(out, "column money_ not compared: ClickHouse 18.16") {
		t.Errorf("a Decimal128 column is compared on 18.16:\n%s", out)
	}
}

// legacy18 reports whether the ClickHouse server at addr is 18.x.
func legacy18(t *testing.T, addr string) bool {
	var v string
	if err := chConn(t, addr).QueryRow(context.Background(), "SELECT version()").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return strings.HasPrefix(v, "18.")
}

// TestCornerTypesMySQLClickHouse: the same for MySQL.
func TestCornerTypesMySQLClickHouse(t *testing.T) {
	addr := testkit.Server(t, "SLUICE_TEST_CLICKHOUSE_ADDR")
	dsn := testkit.Server(t, "SLUICE_TEST_MYSQL_DSN")
	cfg, err := gomysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Params = map[string]string{"time_zone": "'+00:00'"}
	c, err := gomysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	my := sql.OpenDB(c)
	defer my.Close()
	my.SetMaxOpenConns(1)
	dbName := "sl_corner_my"
	run := func(qs ...string) {
		t.Helper()
		for _, q := range qs {
			if _, err := my.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	run("DROP DATABASE IF EXISTS "+dbName, "CREATE DATABASE "+dbName)
	if os.Getenv("CORNER_KEEP") == "" {
		defer my.Exec("DROP DATABASE IF EXISTS " + dbName)
	}
	run("CREATE TABLE " + dbName + `.c (id INT PRIMARY KEY, s SET('a','b','c'), e ENUM('x','y'), b1 BIT(1), b64 BIT(64), y YEAR,
		g GEOMETRY, p POINT, ub BIGINT UNSIGNED, d65 DECIMAL(65,30), d38 DECIMAL(38,0), tm TIME(6), dt DATETIME(6), d DATE, ts TIMESTAMP(6) NULL,
		vb VARBINARY(10), l1 VARCHAR(10) CHARACTER SET latin1, j JSON, f FLOAT, dbl DOUBLE, ti TINYINT UNSIGNED, mi MEDIUMINT, ii INT UNSIGNED)`)
	// Row 3's BIGINT UNSIGNED 2^63 arrives as -2^63 (Debezium's default
	// bigint.unsigned.handling.mode=long): verify reports it. Row 4's dates are outside every
	// ClickHouse date type: parked.
	run("INSERT INTO " + dbName + `.c VALUES
		(1, 'a,c', 'y', b'1', b'1111111111111111111111111111111111111111111111111111111111111111', 2155, ST_GeomFromText('POLYGON((0 0,1 0,1 1,0 0))'), POINT(1.5, -2.5),
		 9223372036854775807, 99999999999999999999999999999999999.999999999999999999999999999999, 99999999999999999999999999999999999999,
		 '-838:59:59.000000', '2262-04-11 23:47:16.854775', '2106-02-07', '2038-01-19 03:14:07.999999', x'00ff', 'caf\xe9', '{"a": [1, null]}', 3.4e38, -1.7976931348623157e308, 255, -8388608, 4294967295),
		(2, '', 'x', b'0', b'0', 1901, NULL, POINT(0, 0), 0, -0.000000000000000000000000000001, -1, '-00:00:00.000001', '1900-01-01 00:00:00', '1970-01-01', '1970-01-01 00:00:01', x'', '', 'null', -1e-38, 5e-324, 0, 8388607, 0),
		(3, NULL, NULL, NULL, NULL, 0, NULL, NULL, 9223372036854775808, 0, 0, '838:59:59.000000', '1970-01-01 00:00:00', '1970-01-01', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
		(4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '9999-12-31 23:59:59.999999', '9999-12-31', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`)
	conn := chConn(t, addr)
	chdb := "sluice_test_corner_my"
	chExec(t, conn, "DROP DATABASE IF EXISTS "+chdb)
	t.Cleanup(func() {
		if os.Getenv("CORNER_KEEP") == "" {
			conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+chdb)
		}
	})
	src, err := mysql.New(context.Background(), mysql.Config{DSN: dsn, ServerID: uint32(7900 + os.Getpid()%100), Name: "vfy",
		DatabaseInclude: []string{dbName}, History: history.NewFile(filepath.Join(t.TempDir(), "history.jsonl"), nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	stop := runSink(t, src, addr, chdb, nil)
	defer stop()
	time.Sleep(2 * time.Second)
	run("INSERT INTO " + dbName + ".c SELECT id + 100, s, e, b1, b64, y, g, p, ub, d65, d38, tm, dt, d, ts, vb, l1, j, f, dbl, ti, mi, ii FROM " + dbName + ".c")
	args := []string{"--dsn", dsn, "--schema-include", dbName, "--clickhouse-addr", addr, "--clickhouse-database", chdb, "--leaf-rows", "100"}
	time.Sleep(3 * time.Second)
	out, err := verifyOnce(t, append(args, "--recheck-timeout", "20s", "--recheck-interval", "500ms")...)
	t.Logf("verify: %v\n%s", err, out)
	parked := parkedReasons(t, addr, chdb)
	t.Logf("parked:\n%s", parked)
	if n := strings.Count(parked, "c: column d: date 9999-12-31 is outside"); n != 2 || strings.Count(parked, "\n") != 2 {
		t.Errorf("want rows 4 and 104 parked for their date, got:\n%s", parked)
	}
	mustDiffer(t, out, err, dbName+".c: missing keys: 4 104\n", dbName+".c: differing keys: 3 103\n")
	if legacy18(t, addr) && !strings.Contains(out, "column d38 not compared: ClickHouse 18.16") {
		t.Errorf("a Decimal128 column is compared on 18.16:\n%s", out)
	}
}
