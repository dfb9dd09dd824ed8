//go:build integration

package verifycmd

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/sluicecdc/sluice/capture/mysql"
	"github.com/sluicecdc/sluice/capture/mysql/history"
	"github.com/sluicecdc/sluice/capture/postgres"
	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/internal/cli"
	"github.com/sluicecdc/sluice/internal/offsets"
	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/internal/testkit"
	"github.com/sluicecdc/sluice/sink/clickhouse"
)

func chConn(t *testing.T, addr string) driver.Conn {
	t.Helper()
	conn, err := ch.Open(&ch.Options{Addr: []string{addr}, Auth: ch.Auth{Database: "default", Username: "default"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func chExec(t *testing.T, conn driver.Conn, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if err := conn.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// runSink runs src → envelope → the real ClickHouse sink into database chdb, saving positions
// in store (nil: none), until the returned stop is called.
func runSink(t *testing.T, src pipeline.Source, addr, chdb string, store offsets.Store) (stop func()) {
	t.Helper()
	enc, err := envelope.NewEncoder(envelope.Config{TopicPrefix: "vfy", SchemasEnable: true, TombstonesOnDelete: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- pipeline.Run(ctx, pipeline.Config{Source: src, Encoder: enc, FlushInterval: 100 * time.Millisecond, Offsets: store,
			NewSink: func(d pipeline.Durable) (pipeline.Sink, error) {
				return clickhouse.New(ctx, clickhouse.Config{Addr: []string{addr}, Database: chdb, FlushInterval: 100 * time.Millisecond}, d)
			}})
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("pipeline: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// verifyOnce runs sluice verify with args and returns the report and the error.
func verifyOnce(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := Run(context.Background(), "sluice verify", append(args, "--log-level", "error"), &out)
	if cli.IsUsage(err) {
		t.Fatalf("usage error: %v", err)
	}
	return out.String(), err
}

// waitClean runs verify (no recheck) until it reports no difference.
func waitClean(t *testing.T, args ...string) string {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		out, err := verifyOnce(t, append(args, "--recheck-timeout", "0")...)
		if err == nil {
			return out
		}
		if !errors.Is(err, ErrDifferent) || time.Now().After(deadline) {
			t.Fatalf("verify never clean: %v\n%s", err, out)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// tamper writes, by hand, a newer version of the row where is true with column col set to
// the expression val: what a stray INSERT or a buggy consumer would leave.
func tamper(t *testing.T, conn driver.Conn, table, where, col, val string) {
	t.Helper()
	table += clickhouse.DataSuffix // the rows behind the sink's view
	rows, err := conn.Query(context.Background(), "SELECT name FROM system.columns WHERE database = ? AND table = ?",
		strings.Split(table, ".")[0], strings.Split(table, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var names, exprs []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, "`"+n+"`")
		switch n {
		case col:
			exprs = append(exprs, val)
		case "_version":
			exprs = append(exprs, "_version + 1")
		default:
			exprs = append(exprs, "`"+n+"`")
		}
	}
	rows.Close()
	chExec(t, conn, "INSERT INTO "+table+" ("+strings.Join(names, ", ")+") SELECT "+strings.Join(exprs, ", ")+" FROM "+table+" FINAL WHERE "+where)
}

func mustDiffer(t *testing.T, out string, err error, wants ...string) {
	t.Helper()
	if !errors.Is(err, ErrDifferent) {
		t.Fatalf("verify: want ErrDifferent, got %v\n%s", err, out)
	}
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Fatalf("report lacks %q:\n%s", w, out)
		}
	}
}

// TestVerifyPostgresClickHouse: PostgreSQL → the real ClickHouse sink; verify is clean, then
// finds a row changed in ClickHouse by hand, a row added there by hand to a table with a text
// key, and a row deleted in the source while the sink was stopped, naming the keys.
func TestVerifyPostgresClickHouse(t *testing.T) {
	addr := testkit.Server(t, "SLUICE_TEST_CLICKHOUSE_ADDR")
	for _, env := range []string{"SLUICE_TEST_PG_DSN", "SLUICE_TEST_PG17_DSN"} {
		t.Run(strings.TrimPrefix(env, "SLUICE_TEST_"), func(t *testing.T) {
			testVerifyPostgres(t, addr, testkit.Server(t, env), strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(env, "SLUICE_TEST_"), "_DSN")))
		})
	}
}

func testVerifyPostgres(t *testing.T, addr, dsn, version string) {
	ctx := context.Background()
	name := "sl_verify_" + version
	var stop func()  // stops the pipeline and closes its source
	drop := func() { // also a cleanup, after the test's own connections closed
		adm, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Error(err)
			return
		}
		defer adm.Close(ctx)
		if err := testkit.DropPGDatabase(ctx, adm, name); err != nil {
			t.Error(err)
		}
	}
	drop()
	t.Cleanup(drop)
	adm, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	_, err = adm.Exec(ctx, "CREATE DATABASE "+name)
	adm.Close(ctx)
	if err != nil {
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
		`CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, amount numeric(12,2) NOT NULL,
			status text NOT NULL, created timestamptz NOT NULL, local timestamp(3), day date, paid bool, blob bytea,
			payload jsonb, score float8, big numeric, code char(4), note varchar(40))`,
		`INSERT INTO orders SELECT i, i % 97, (i * 1.25)::numeric(12,2), CASE WHEN i % 3 = 0 THEN 'new' ELSE 'shipped' END,
			'2024-01-01 00:00:00+00'::timestamptz + i * interval '1 minute 0.000123 second',
			CASE WHEN i % 5 = 0 THEN NULL ELSE '2023-06-01 12:00:00'::timestamp + i * interval '1.5 second' END,
			'2020-02-29'::date + i, i % 2 = 0, CASE WHEN i % 4 = 0 THEN NULL ELSE decode(md5(i::text), 'hex') END,
			jsonb_build_object('i', i, 'tags', jsonb_build_array('a', 'b')), i / 7.0, i * 10.50, 'c' || (i % 10),
			CASE WHEN i % 6 = 0 THEN NULL WHEN i % 6 = 1 THEN 'N' ELSE 'héllo, \\ | ' || i END
			FROM generate_series(1, 3000) i`,
		`CREATE TABLE tags (name text, n int, label varchar(20), PRIMARY KEY (name, n))`,
		`INSERT INTO tags SELECT 'tag-' || (i % 50), i, 'l' || i FROM generate_series(1, 500) i`,
		`CREATE TABLE events (msg text)`,
		`INSERT INTO events VALUES ('a'), ('b')`,
	} {
		if _, err := pg.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	conn := chConn(t, addr)
	chdb := "sluice_test_verify_" + version
	chExec(t, conn, "DROP DATABASE IF EXISTS "+chdb)
	t.Cleanup(func() { conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+chdb) })

	store := new(offsets.Memory)
	open := func() {
		off, err := store.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		src, err := postgres.Open(ctx, postgres.Config{DSN: u.String(), Slot: name, Publication: name, Offset: off})
		if err != nil {
			t.Fatal(err)
		}
		closeSrc := sync.OnceValue(src.Close)
		t.Cleanup(func() { closeSrc() }) // before drop (cleanups run last first): the slot must be inactive
		stopSink := runSink(t, src, addr, chdb, store)
		stop = func() { stopSink(); closeSrc() }
	}
	open()
	args := []string{"--dsn", u.String(), "--clickhouse-addr", addr, "--clickhouse-database", chdb, "--leaf-rows", "100"}

	out := waitClean(t, args...)
	t.Logf("clean run:\n%s", out)
	for _, w := range []string{"public.orders", "3000", "column score not compared: floating point", "public.events: not compared: no primary key", "public.tags"} {
		if !strings.Contains(out, w) {
			t.Fatalf("report lacks %q:\n%s", w, out)
		}
	}

	// A running pipeline: changes right before verify are caught up by the re-check.
	if _, err := pg.Exec(ctx, "UPDATE orders SET status = 'late', note = NULL WHERE id % 100 = 1"); err != nil {
		t.Fatal(err)
	}
	if out, err = verifyOnce(t, append(args, "--recheck-timeout", "30s", "--recheck-interval", "300ms")...); err != nil {
		t.Fatalf("verify with re-check beside a running pipeline: %v\n%s", err, out)
	}

	// A sink that is behind: the first pass differs, and verify, re-checking, sees the sink
	// catch up once the pipeline runs again (from its saved offset).
	stop()
	if _, err := pg.Exec(ctx, "UPDATE orders SET amount = amount + 1 WHERE id % 50 = 0"); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.Exec(ctx, "DELETE FROM orders WHERE id = 1500"); err != nil {
		t.Fatal(err)
	}
	out, err = verifyOnce(t, append(args, "--recheck-timeout", "0")...)
	mustDiffer(t, out, err, "public.orders: differing keys: 50 100 150 ", "public.orders: extra keys: 1500\n")
	type result struct {
		out string
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		var b bytes.Buffer
		err := Run(ctx, "sluice verify", append(args, "--recheck-timeout", "60s", "--recheck-interval", "300ms", "--log-level", "error"), &b)
		done <- result{b.String(), err}
	}()
	time.Sleep(1500 * time.Millisecond) // verify's first pass reads the lagging sink
	open()
	if r := <-done; r.err != nil {
		t.Fatalf("verify while the sink catches up: %v\n%s", r.err, r.out)
	} else if time.Since(start) < 1500*time.Millisecond {
		t.Fatalf("verify agreed in %v, before the sink ran again", time.Since(start))
	} else {
		t.Logf("agreed after the sink caught up (%v):\n%s", time.Since(start).Round(time.Millisecond), r.out)
	}

	// A row the sink cannot store (a date before 1970 on 18.16) is parked, not lost: verify
	// reports it missing once the re-check bound has passed, and says where it is.
	if _, err := pg.Exec(ctx, "INSERT INTO orders (id, customer_id, amount, status, created, day) VALUES (5000, 1, 1, 'old', now(), '1960-01-01')"); err != nil {
		t.Fatal(err)
	}
	out, err = verifyOnce(t, append(args, "--recheck-timeout", "2s", "--recheck-interval", "300ms")...)
	t.Logf("with a parked record:\n%s", out)
	mustDiffer(t, out, err, "public.orders: missing keys: 5000\n",
		"public.orders: 1 records parked for "+chdb+".orders in _sluice_parked (see the reason there; fix it, then: sluice clickhouse replay-parked --table orders)\n")

	// (a) A row changed in ClickHouse by hand, and a row there that the source never had.
	tamper(t, conn, chdb+".orders", "id = 7", "status", "'tampered'")
	tamper(t, conn, chdb+".tags", "name = 'tag-3' AND n = 3", "n", "100003")
	out, err = verifyOnce(t, append(args, "--recheck-timeout", "0")...)
	t.Logf("after tampering:\n%s", out)
	mustDiffer(t, out, err, "public.orders: differing keys: 7\n", "public.tags: extra keys: 5:tag-3,100003\n")

	// (b) A row deleted in the source while the sink was stopped.
	stop()
	if _, err := pg.Exec(ctx, "DELETE FROM orders WHERE id = 2999"); err != nil {
		t.Fatal(err)
	}
	out, err = verifyOnce(t, append(args, "--recheck-timeout", "1s", "--recheck-interval", "300ms")...)
	t.Logf("after a delete with the sink stopped:\n%s", out)
	mustDiffer(t, out, err, "public.orders: differing keys: 7\n", "public.orders: extra keys: 2999\n")

	// Every compared column is compared: each one changed by hand in its own row is found.
	var ids []int
	for id := 13; id < 3000; id += 60 {
		ids = append(ids, id)
	}
	changed := tamperEach(t, conn, chdb+".orders", "id", map[string]bool{"score": true}, ids)
	out, err = verifyOnce(t, append(args, "--recheck-timeout", "0", "--max-keys", "100")...)
	t.Logf("after changing each column of its own row (%d rows):\n%s", len(changed), out)
	mustDiffer(t, out, err, "public.orders: differing keys: 7 "+strings.Join(changed, " ")+"\n")
}

// TestVerifyMySQLClickHouse: MySQL 9.7 and MariaDB → the real ClickHouse sink; clean, then a
// row changed in ClickHouse by hand and a row deleted in the source while the sink was stopped.
func TestVerifyMySQLClickHouse(t *testing.T) {
	addr := testkit.Server(t, "SLUICE_TEST_CLICKHOUSE_ADDR")
	for i, env := range []string{"SLUICE_TEST_MYSQL_DSN", "SLUICE_TEST_MARIADB_DSN"} {
		t.Run(strings.TrimPrefix(env, "SLUICE_TEST_"), func(t *testing.T) {
			dsn := testkit.Server(t, env)
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
			dbName := fmt.Sprintf("sl_verify_my%d", i)
			run := func(qs ...string) {
				t.Helper()
				for _, q := range qs {
					if _, err := my.Exec(q); err != nil {
						t.Fatalf("%s: %v", q, err)
					}
				}
			}
			run("DROP DATABASE IF EXISTS "+dbName, "CREATE DATABASE "+dbName)
			defer my.Exec("DROP DATABASE IF EXISTS " + dbName) // before my.Close
			run("CREATE TABLE "+dbName+`.orders (id INT UNSIGNED PRIMARY KEY, customer_id BIGINT NOT NULL, amount DECIMAL(12,2) NOT NULL,
				status VARCHAR(20) NOT NULL, created DATETIME(6) NOT NULL, seen TIMESTAMP(3) NULL, day DATE, dur TIME(6), flag TINYINT(1),
				blob_ VARBINARY(32), note TEXT, score DOUBLE, y YEAR, kind ENUM('a','b','c'))`,
				"CREATE TABLE "+dbName+".tags (name VARCHAR(30), n INT, label CHAR(8), PRIMARY KEY (name, n))")
			var vals, tags []string
			for i := 1; i <= 1500; i++ {
				note := fmt.Sprintf("'note ñ %d, \\\\ |'", i)
				if i%7 == 0 {
					note = "NULL"
				}
				vals = append(vals, fmt.Sprintf("(%d, %d, %d.%02d, '%s', '2024-01-02 03:04:05.%06d' + INTERVAL %d MINUTE, '2023-05-06 07:08:09.123' + INTERVAL %d SECOND, '2020-02-29' + INTERVAL %d DAY, '%s', %d, UNHEX('%04x'), %s, %d.5, %d, '%c')",
					i, i*3, i, i%100, []string{"new", "paid", "sent"}[i%3], i, i, i, i, []string{"-01:02:03.5", "12:00:00", "838:59:59"}[i%3], i%2, i, note, i, 1990+i%50, 'a'+i%3))
				if i <= 300 {
					tags = append(tags, fmt.Sprintf("('t%d', %d, 'l%d')", i%20, i, i))
				}
			}
			run("INSERT INTO "+dbName+".orders VALUES "+strings.Join(vals, ","), "INSERT INTO "+dbName+".tags VALUES "+strings.Join(tags, ","))

			conn := chConn(t, addr)
			chdb := "sluice_test_verify_" + strings.ToLower(strings.TrimPrefix(env, "SLUICE_TEST_"))
			chExec(t, conn, "DROP DATABASE IF EXISTS "+chdb)
			t.Cleanup(func() { conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+chdb) })
			src, err := mysql.New(context.Background(), mysql.Config{DSN: dsn, ServerID: uint32(7700 + i + os.Getpid()%100*2), Name: "vfy",
				DatabaseInclude: []string{dbName}, History: history.NewFile(filepath.Join(t.TempDir(), "history.jsonl"), nil)})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			stop := runSink(t, src, addr, chdb, nil)
			args := []string{"--dsn", dsn, "--schema-include", dbName, "--clickhouse-addr", addr, "--clickhouse-database", chdb, "--leaf-rows", "100"}
			out := waitClean(t, args...)
			t.Logf("clean run:\n%s", out)
			for _, w := range []string{dbName + ".orders", "1500", "column score not compared: floating point", dbName + ".tags"} {
				if !strings.Contains(out, w) {
					t.Fatalf("report lacks %q:\n%s", w, out)
				}
			}
			tamper(t, conn, chdb+".orders", "id = 42", "amount", "amount + 1")
			out, err = verifyOnce(t, append(args, "--recheck-timeout", "0")...)
			t.Logf("after tampering:\n%s", out)
			mustDiffer(t, out, err, dbName+".orders: differing keys: 42\n")

			stop()
			run("DELETE FROM " + dbName + ".orders WHERE id = 1234")
			run("DELETE FROM " + dbName + ".tags WHERE name = 't5' AND n = 5")
			out, err = verifyOnce(t, append(args, "--recheck-timeout", "0")...)
			t.Logf("after deletes with the sink stopped:\n%s", out)
			mustDiffer(t, out, err, dbName+".orders: differing keys: 42\n", dbName+".orders: extra keys: 1234\n", dbName+".tags: extra keys: 2:t5,5\n")

			var ids []int
			for id := 3; id < 1500; id += 7 {
				ids = append(ids, id)
			}
			changed := tamperEach(t, conn, chdb+".orders", "id", map[string]bool{"score": true}, ids)
			out, err = verifyOnce(t, append(args, "--recheck-timeout", "0", "--max-keys", "100")...)
			t.Logf("after changing each column of its own row (%d rows):\n%s", len(changed), out)
			want := append(ids[:len(changed):len(changed)], 42)
			slices.Sort(want)
			mustDiffer(t, out, err, dbName+".orders: differing keys: "+strings.Trim(fmt.Sprint(want), "[]")+"\n")
		})
	}
}

// tamperEach changes, by hand, one compared column in each of the rows keys (key column key),
// column i in row keys[i], so that a column whose canonical form were vacuous on one side
// (always NULL, a constant) would show up as a key not reported. It returns the keys changed.
func tamperEach(t *testing.T, conn driver.Conn, table, key string, skip map[string]bool, keys []int) []string {
	t.Helper()
	db, name, _ := strings.Cut(table, ".")
	rows, err := conn.Query(context.Background(), "SELECT name, type FROM system.columns WHERE database = ? AND table = ?", db, name+clickhouse.DataSuffix)
	if err != nil {
		t.Fatal(err)
	}
	type col struct{ name, typ string }
	var cols []col
	for rows.Next() {
		var c col
		if err := rows.Scan(&c.name, &c.typ); err != nil {
			t.Fatal(err)
		}
		if c.name != key && !skip[c.name] && !strings.HasPrefix(c.name, "_") {
			cols = append(cols, c)
		}
	}
	rows.Close()
	if len(cols) > len(keys) {
		t.Fatalf("%d columns, %d rows to tamper", len(cols), len(keys))
	}
	var changed []string
	for i, c := range cols {
		q := "`" + c.name + "`"
		base := strings.TrimSuffix(strings.TrimPrefix(c.typ, "Nullable("), ")")
		var e string
		switch {
		case base == "String":
			e = "concat(ifNull(" + q + ", ''), 'x')"
		case base == "Date":
			e = "ifNull(" + q + ", toDate('2000-01-01')) + 1"
		case strings.HasPrefix(base, "Decimal"):
			e = "ifNull(" + q + ", 0) + 1"
		case base == "UInt8":
			e = "1 - ifNull(" + q + ", 0)"
		default:
			e = "ifNull(" + q + ", 0) + 1"
		}
		tamper(t, conn, table, fmt.Sprintf("`%s` = %d", key, keys[i]), c.name, "CAST("+e+" AS "+c.typ+")")
		changed = append(changed, fmt.Sprint(keys[i]))
	}
	return changed
}
