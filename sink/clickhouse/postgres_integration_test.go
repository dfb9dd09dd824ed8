//go:build integration

package clickhouse

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5"

	"github.com/sluicecdc/sluice/capture/postgres"
	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/internal/testkit"
	"github.com/sluicecdc/sluice/sink/kafka"
	kafkasrc "github.com/sluicecdc/sluice/source/kafka"
)

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("SLUICE_TEST_VERBOSE") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// pgDB creates a fresh PostgreSQL database for a test and returns its DSN and a connection.
func pgDB(t *testing.T, name string) (string, *pgx.Conn) {
	t.Helper()
	return pgDBOn(t, testkit.Server(t, "SLUICE_TEST_PG_DSN"), name)
}

// pgDBOn is pgDB on the server at dsn.
func pgDBOn(t *testing.T, dsn, name string) (string, *pgx.Conn) {
	t.Helper()
	ctx := context.Background()
	adm, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close(ctx)
	drop := func(adm *pgx.Conn) {
		if err := testkit.DropPGDatabase(ctx, adm, name); err != nil {
			t.Error(err)
		}
	}
	drop(adm)
	if _, err := adm.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	// The names are unique per process (uniqueName): the database and its slots go when the
	// test ends, or a slot would hold the server's WAL for good.
	t.Cleanup(func() {
		if adm, err := pgx.Connect(ctx, dsn); err == nil {
			drop(adm)
			adm.Close(ctx)
		}
	})
	u, _ := url.Parse(dsn)
	u.Path = "/" + name
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return u.String(), conn
}

// tryQuery is query without failing the test (a column may not be there yet).
func tryQuery(conn driver.Conn, q string) []string {
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		return []string{err.Error()}
	}
	defer rows.Close()
	var out []string
	n := len(rows.Columns())
	for rows.Next() {
		vals := make([]string, n)
		ptrs := make([]any, n)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return []string{err.Error()}
		}
		out = append(out, strings.Join(vals, "\t"))
	}
	return out
}

func pgExec(t *testing.T, conn *pgx.Conn, qs ...string) {
	t.Helper()
	for _, q := range qs {
		if _, err := conn.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// pgRows renders a PostgreSQL query's rows like query does for ClickHouse (text columns,
// tab-joined, NULL as "NULL").
func pgRows(t *testing.T, conn *pgx.Conn, q string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				parts[i] = "NULL"
			} else {
				parts[i] = v.(string)
			}
		}
		out = append(out, strings.Join(parts, "\t"))
	}
	return out
}

const pgOrdersDDL = `CREATE TABLE public.orders (id int PRIMARY KEY, name text NOT NULL, amount numeric(10,2) NOT NULL,
	created timestamp NOT NULL, note text, tags text[])`

// pgChanges runs the scripted workload: updates, deletes, a primary-key change, a column added
// mid-stream, an unchanged TOAST value, and a few more rows after the ALTER.
func pgChanges(t *testing.T, conn *pgx.Conn) {
	pgExec(t, conn,
		"UPDATE orders SET name = 'bobby', amount = amount + 1 WHERE id = 2",
		"DELETE FROM orders WHERE id = 3",
		"UPDATE orders SET id = 40 WHERE id = 4",
		"INSERT INTO orders VALUES (6, 'finn', 6.60, '2024-01-06 06:00:00.000006', NULL, '{}')",
		"ALTER TABLE orders ADD COLUMN qty int",
		"INSERT INTO orders VALUES (7, 'gus', 7.70, '2024-01-07 07:00:00', 'seven', '{x}', 70)",
		"UPDATE orders SET qty = 10, name = 'anne2' WHERE id = 1",
		"UPDATE orders SET name = 'emil2' WHERE id = 5", // note is TOASTed and unchanged
		"UPDATE orders SET id = 50 WHERE id = 5",        // a new key whose note is unchanged TOAST
		"BEGIN; UPDATE orders SET qty = 2 WHERE id = 2; DELETE FROM orders WHERE id = 6; INSERT INTO orders VALUES (8, 'hal', 8.80, '2024-01-08 08:00:00', NULL, NULL, 80); COMMIT",
	)
}

const (
	pgCompare = `SELECT id::text, name, amount::text, (extract(epoch from created) * 1000000)::bigint::text, coalesce(md5(note), 'NULL'),
		coalesce(array_to_string(tags, ','), '')%s FROM orders ORDER BY orders.id`
	chCompare = `SELECT toString(id), name, toString(amount), toString(created), ifNull(lower(hex(MD5(note))), 'NULL'),
		arrayStringConcat(arrayMap(x -> ifNull(x, ''), tags), ',')%s FROM %s.orders FINAL WHERE _is_deleted = 0 ORDER BY id`
)

func pgSeed(t *testing.T, conn *pgx.Conn) {
	pgExec(t, conn, pgOrdersDDL, "ALTER TABLE orders ALTER COLUMN note SET STORAGE EXTERNAL",
		"INSERT INTO orders VALUES (1, 'anne', 1.10, '2024-01-01 01:00:00', NULL, '{a,b}'), (2, 'bob', -2.20, '2024-01-02 02:00:00.5', 'hi', '{}'),"+
			" (3, 'carl', 3.30, '2024-01-03 03:00:00', NULL, NULL), (4, 'dora', 4.40, '2024-01-04 04:00:00', NULL, '{d}'),"+
			" (5, 'emil', 5.50, '2024-01-05 05:00:00', repeat('long toasted note ', 2000), '{e}')")
}

// pgKeyChangeAgain changes the TOASTed row's key once more, after the rows of its key are in
// ClickHouse: the new key's unchanged-TOAST note can only come from the old key's row there.
func pgKeyChangeAgain(t *testing.T, conn *pgx.Conn) {
	pgExec(t, conn, "UPDATE orders SET id = 60, qty = 6 WHERE id = 50")
}

// waitEqual polls until ClickHouse (after OPTIMIZE FINAL) equals the PostgreSQL table.
func waitEqual(t *testing.T, pg *pgx.Conn, qty bool, chq func(qty bool) []string) {
	t.Helper()
	var want, got []string
	for i := 0; i < 300; i++ {
		q := strings.Replace(pgCompare, "%s", "", 1)
		if qty {
			q = strings.Replace(pgCompare, "%s", ", coalesce(qty::text, 'NULL')", 1)
		}
		want = pgRows(t, pg, q)
		got = chq(qty)
		if strings.Join(got, "\n") == strings.Join(want, "\n") {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("ClickHouse differs from PostgreSQL:\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
}

// TestPostgresToClickHouseInProcess: PostgreSQL → pipeline → ClickHouse sink, no Kafka.
func TestPostgresToClickHouseInProcess(t *testing.T) {
	addr := chAddr(t)
	cconn := chConn(t, addr)
	db := freshDB(t, cconn)
	dsn, pg := pgDB(t, dbChInproc)
	pgSeed(t, pg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src, err := postgres.Open(ctx, postgres.Config{DSN: dsn, Slot: dbChInproc, Publication: dbChInproc})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := envelope.NewEncoder(envelope.Config{TopicPrefix: "pgch", SchemasEnable: true, TombstonesOnDelete: true})
	if err != nil {
		t.Fatal(err)
	}
	var sink *Sink
	done := make(chan error, 1)
	go func() {
		done <- pipeline.Run(ctx, pipeline.Config{Source: src, Encoder: enc, FlushInterval: 100 * time.Millisecond,
			NewSink: func(d pipeline.Durable) (pipeline.Sink, error) {
				s, err := New(ctx, Config{Addr: []string{addr}, Database: db, FlushInterval: 100 * time.Millisecond, Logger: testLogger(t)}, d)
				sink = s
				return s, err
			}})
	}()
	chq := func(qty bool) []string {
		if n := query(t, cconn, "SELECT toString(count()) FROM system.tables WHERE database = '"+db+"' AND name = 'orders'"); n[0] == "0" {
			return nil
		}
		_ = cconn.Exec(context.Background(), "OPTIMIZE TABLE "+db+".orders FINAL")
		q := strings.Replace(chCompare, "%s", "", 1)
		if qty {
			q = strings.Replace(chCompare, "%s", ", ifNull(toString(qty), 'NULL')", 1)
		}
		return tryQuery(cconn, strings.Replace(q, "%s", db, 1))
	}
	waitEqual(t, pg, false, chq) // the snapshot
	pgChanges(t, pg)
	waitEqual(t, pg, true, chq)
	pgKeyChangeAgain(t, pg)
	waitEqual(t, pg, true, chq)
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if st := sink.Stats(); st.Parked != 0 || st.ToastMissing != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestPostgresKafkaClickHouse: PostgreSQL → Kafka (kfake) → sluice clickhouse consumer.
func TestPostgresKafkaClickHouse(t *testing.T) {
	addr := chAddr(t)
	cconn := chConn(t, addr)
	db := freshDB(t, cconn)
	brokers := kafkaBrokers(t)
	dsn, pg := pgDB(t, dbChKafka)
	pgSeed(t, pg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src, err := postgres.Open(ctx, postgres.Config{DSN: dsn, Slot: dbChKafka, Publication: dbChKafka})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := envelope.NewEncoder(envelope.Config{TopicPrefix: "pgk", SchemasEnable: true, TombstonesOnDelete: true})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 2)
	go func() {
		done <- pipeline.Run(ctx, pipeline.Config{Source: src, Encoder: enc, FlushInterval: 100 * time.Millisecond,
			NewSink: func(d pipeline.Durable) (pipeline.Sink, error) {
				return kafka.New(kafka.Config{Client: ikafka.ClientConfig{Brokers: brokers}, Partitions: 2, Replication: 1}, d)
			}})
	}()
	sink, wait := runKafka(ctx, t, kafkasrc.Config{Client: ikafka.ClientConfig{Brokers: brokers}, Topics: `pgk\.public\..*`, Group: "g-" + db, TopicRefresh: 500 * time.Millisecond},
		Config{Addr: []string{addr}, Database: db, FlushInterval: 100 * time.Millisecond})
	go func() { done <- wait() }()
	chq := func(qty bool) []string {
		if n := query(t, cconn, "SELECT toString(count()) FROM system.tables WHERE database = '"+db+"' AND name = 'orders'"); n[0] == "0" {
			return nil
		}
		_ = cconn.Exec(context.Background(), "OPTIMIZE TABLE "+db+".orders FINAL")
		q := strings.Replace(chCompare, "%s", "", 1)
		if qty {
			q = strings.Replace(chCompare, "%s", ", ifNull(toString(qty), 'NULL')", 1)
		}
		return tryQuery(cconn, strings.Replace(q, "%s", db, 1))
	}
	waitEqual(t, pg, false, chq)
	pgChanges(t, pg)
	waitEqual(t, pg, true, chq)
	pgKeyChangeAgain(t, pg)
	waitEqual(t, pg, true, chq)
	cancel()
	for i := 0; i < 2; i++ {
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	}
	if st := sink.Stats(); st.Parked != 0 || st.ToastMissing != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestPostgresTxBeforeSnapshotToClickHouse: a transaction that wrote before the slot's
// consistent point and commits after it is not in the snapshot and is streamed with an LSN
// below the snapshot rows' version; its change must still win in ClickHouse.
//
// The slot's snapshot builder waits for the transactions running when it starts (T1), then
// for those running at its next step (T2); a transaction that takes its xid after that step
// (T3) is decoded in full and not waited for, so the consistent point passes while T3 is open.
func TestPostgresTxBeforeSnapshotToClickHouse(t *testing.T) {
	addr := chAddr(t)
	cconn := chConn(t, addr)
	db := freshDB(t, cconn)
	dsn, pg := pgDB(t, dbChPresnap)
	pgExec(t, pg, "CREATE TABLE acct (id int PRIMARY KEY, v int NOT NULL)", "INSERT INTO acct VALUES (1, 0), (2, 0)",
		"CREATE TABLE other (x int)")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tx := func() *pgx.Conn {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close(context.Background()) })
		return c
	}
	xid := func(c *pgx.Conn) string {
		var x string
		if err := c.QueryRow(ctx, "SELECT (txid_current() % 4294967296)::text").Scan(&x); err != nil {
			t.Fatal(err)
		}
		return x
	}
	// waitSlotOn waits until the walsender creating the slot waits for transaction x.
	waitSlotOn := func(x string) {
		t.Helper()
		for i := 0; i < 300; i++ {
			var n int
			if err := pg.QueryRow(ctx, "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted AND transactionid::text = $1", x).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n > 0 {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("the slot creation never waited for transaction %s", x)
	}
	t1, t2, t3 := tx(), tx(), tx()
	pgExec(t, t1, "BEGIN", "INSERT INTO other VALUES (1)")
	x1 := xid(t1)
	type opened struct {
		src *postgres.Source
		err error
	}
	openc := make(chan opened, 1)
	go func() {
		src, err := postgres.Open(ctx, postgres.Config{DSN: dsn, Slot: dbChPresnap, Publication: dbChPresnap})
		openc <- opened{src, err}
	}()
	waitSlotOn(x1)
	pgExec(t, t2, "BEGIN", "UPDATE acct SET v = 1 WHERE id = 1")
	x2 := xid(t2)
	pgExec(t, t1, "COMMIT")
	waitSlotOn(x2)
	pgExec(t, t3, "BEGIN", "UPDATE acct SET v = 3 WHERE id = 2") // written before the consistent point
	pgExec(t, t2, "COMMIT")
	o := <-openc
	if o.err != nil {
		t.Fatal(o.err)
	}
	pgExec(t, t3, "COMMIT") // after the consistent point: streamed, not in the snapshot
	enc, err := envelope.NewEncoder(envelope.Config{TopicPrefix: "pgpre", SchemasEnable: true, TombstonesOnDelete: true})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- pipeline.Run(ctx, pipeline.Config{Source: o.src, Encoder: enc, FlushInterval: 100 * time.Millisecond,
			NewSink: func(d pipeline.Durable) (pipeline.Sink, error) {
				return New(ctx, Config{Addr: []string{addr}, Database: db, FlushInterval: 100 * time.Millisecond, Logger: testLogger(t)}, d)
			}})
	}()
	defer func() {
		cancel()
		<-done
		o.src.Close()
	}()
	want := strings.Join(pgRows(t, pg, "SELECT id::text || ' ' || v::text FROM acct ORDER BY id"), "|")
	var got string
	for i := 0; i < 150; i++ {
		if n := query(t, cconn, "SELECT toString(count()) FROM system.tables WHERE database = '"+db+"' AND name = 'acct'"); n[0] == "1" {
			_ = cconn.Exec(context.Background(), "OPTIMIZE TABLE "+db+".acct FINAL")
			got = strings.Join(query(t, cconn, "SELECT concat(toString(id), ' ', toString(v)) FROM "+db+".acct FINAL WHERE _is_deleted = 0 ORDER BY id"), "|")
			if got == want {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("ClickHouse has %q, PostgreSQL %q", got, want)
}

// The source databases (and PostgreSQL slots) of these tests, unique per process: two runs on
// the same servers (CI and a developer) must not drop or take over each other's.
var (
	dbChMaria    = uniqueName("chmaria")
	dbChFailover = uniqueName("chfailover")
	dbChGroup    = uniqueName("sl_ch_group")
	dbChInproc   = uniqueName("sl_ch_inproc")
	dbChKafka    = uniqueName("sl_ch_kafka")
	dbChPresnap  = uniqueName("sl_ch_presnap")
)

func uniqueName(base string) string { return base + "_" + strconv.Itoa(os.Getpid()) }
