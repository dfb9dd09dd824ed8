package envelope

import (
	"crypto/md5"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

// threadCPU returns the CPU time this OS thread has used (Linux RUSAGE_THREAD). The machine the
// benchmarks run on is shared, so wall-clock ns/op swings with load; cpu-ns/op does much less.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchEncode(b *testing.B, cfg Config, ev *capture.Event) {
	enc, err := NewEncoder(cfg)
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]Record, 0, 4)
	var n int
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	for b.Loop() {
		recs, err := enc.Encode(dst[:0], ev)
		if err != nil {
			b.Fatal(err)
		}
		n = len(recs[0].Key) + len(recs[0].Value)
	}
	if cpu := threadCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
	b.SetBytes(int64(n))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEncodeInsert is the §12.1 MySQL insert with schemas disabled.
func BenchmarkEncodeInsert(b *testing.B) {
	b.ReportAllocs()
	benchEncode(b, Config{TopicPrefix: "dbserver1", TombstonesOnDelete: true}, ordersInsert(ordersTable()))
}

// BenchmarkEncodeInsertWithSchema is the same event with schemas enabled (cached schema JSON).
func BenchmarkEncodeInsertWithSchema(b *testing.B) {
	b.ReportAllocs()
	benchEncode(b, Config{TopicPrefix: "dbserver1", SchemasEnable: true, TombstonesOnDelete: true}, ordersInsert(ordersTable()))
}

// BenchmarkEncodeUpdate is the §12.4 PostgreSQL update under REPLICA IDENTITY FULL (before and
// after), schemas disabled.
func BenchmarkEncodeUpdate(b *testing.B) {
	b.ReportAllocs()
	ev := &capture.Event{Kind: capture.Change, Op: capture.OpUpdate, Table: accountsTable(),
		Before: accountsRow(1999), After: accountsRow(2000), Source: accountsSource(768, 24023300, 24023200, 1705314660000000)}
	benchEncode(b, Config{TopicPrefix: "pgserver1", TombstonesOnDelete: true}, ev)
}

// benchEncodeRing encodes evs in turn, as a snapshot or a binlog event hands the encoder rows
// that differ in their values and position but share the table and most of the source block.
func benchEncodeRing(b *testing.B, cfg Config, evs []capture.Event) {
	b.ReportAllocs()
	enc, err := NewEncoder(cfg)
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]Record, 0, 4)
	var n, i int
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	for b.Loop() {
		recs, err := enc.Encode(dst[:0], &evs[i%len(evs)])
		if err != nil {
			b.Fatal(err)
		}
		n += len(recs[0].Key) + len(recs[0].Value)
		i++
	}
	if cpu := threadCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
	b.SetBytes(int64(n / i))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// benchSnapTable is bench/bench.sh's snap and orders table: (id bigint PRIMARY KEY, customer_id
// bigint, amount numeric(12,2) / decimal(12,2), status text / varchar(32), created_at
// timestamptz / timestamp(6) NULL, payload jsonb / json).
func benchSnapTable(d schema.Dialect) *schema.Table {
	amount := col("amount", "numeric", true)
	amount.Length, amount.Scale = 12, 2
	status := col("status", "text", true)
	id := schema.TableID{DB: "postgres", Schema: "public", Table: "snap"}
	created := col("created_at", "timestamptz", true)
	payload := col("payload", "jsonb", true)
	if d == schema.MySQL {
		amount.Type = "decimal"
		status.Type, status.Length = "varchar", 32
		id = schema.TableID{DB: "bench", Table: "snap"}
		created.Type, created.Scale = "timestamp", 6
		payload.Type = "json"
	}
	return &schema.Table{ID: id, Dialect: d, PrimaryKey: []int{0}, Version: 1,
		Columns: []schema.Column{col("id", "bigint", false), col("customer_id", "bigint", true), amount, status, created, payload}}
}

// benchSnapRows returns n rows of benchSnapTable as bench.sh loads them: g, g%10007,
// (g%100000)/100.0, 'new', now(), {"sku":"SKU-<g>","qty":g%10,"note":md5(g)} (json text as the
// server prints it; md5 and MySQL's LEFT(SHA2(…),32) are both 32 hex digits).
func benchSnapRows(d schema.Dialect, n int) []capture.Row {
	rows := make([]capture.Row, n)
	for i := range rows {
		g := int64(1_000_000 + i)
		note := fmt.Sprintf("%x", md5.Sum([]byte(strconv.FormatInt(g, 10))))
		js := fmt.Sprintf(`{"qty": %d, "sku": "SKU-%d", "note": "%s"}`, g%10, g, note)
		ts := capture.TimestampTZValue(1765000000123456+g, 6)
		rows[i] = capture.Row{capture.IntValue(g), capture.IntValue(g % 10007), capture.DecimalValue(g%100000, 2),
			capture.StringValue([]byte("new")), ts, capture.JSONValue([]byte(js))}
	}
	return rows
}

// BenchmarkEncodeSnapshotPG is a PostgreSQL snapshot read of bench.sh's snap table (schemas
// disabled, as the bench runs).
func BenchmarkEncodeSnapshotPG(b *testing.B) {
	t := benchSnapTable(schema.Postgres)
	rows := benchSnapRows(schema.Postgres, 256)
	evs := make([]capture.Event, len(rows))
	for i, r := range rows {
		evs[i] = capture.Event{Kind: capture.Change, Op: capture.OpRead, Table: t, After: r,
			Source: capture.Source{Connector: "postgresql", DB: "postgres", Schema: "public", Table: "snap",
				TsMicros: 1765000000123456, LSN: 24023300, HasLSN: true, Snapshot: capture.SnapshotTrue}}
	}
	benchEncodeRing(b, Config{TopicPrefix: "bench", TombstonesOnDelete: true}, evs)
}

// BenchmarkEncodeSnapshotMySQL is a MySQL snapshot read of bench.sh's snap table.
func BenchmarkEncodeSnapshotMySQL(b *testing.B) {
	t := benchSnapTable(schema.MySQL)
	rows := benchSnapRows(schema.MySQL, 256)
	evs := make([]capture.Event, len(rows))
	for i, r := range rows {
		evs[i] = capture.Event{Kind: capture.Change, Op: capture.OpRead, Table: t, After: r,
			Source: capture.Source{Connector: "mysql", DB: "bench", Table: "snap", TsMicros: 1765000000123456,
				File: "binlog.000002", Pos: 157, Snapshot: capture.SnapshotTrue}}
	}
	benchEncodeRing(b, Config{TopicPrefix: "mysnap", TombstonesOnDelete: true}, evs)
}

// BenchmarkEncodeStreamMySQL is bench.sh's MySQL → Kafka workload: inserts of the orders table,
// many rows per binlog event (pos fixed, row counting up), GTIDs on.
func BenchmarkEncodeStreamMySQL(b *testing.B) {
	t := benchSnapTable(schema.MySQL)
	t.ID.Table = "orders"
	rows := benchSnapRows(schema.MySQL, 256)
	evs := make([]capture.Event, len(rows))
	for i, r := range rows {
		evs[i] = capture.Event{Kind: capture.Change, Op: capture.OpCreate, Table: t, After: r,
			Source: capture.Source{Connector: "mysql", DB: "bench", Table: "orders", TsMicros: 1765000000000000,
				ServerID: 1, GTID: "3e11fa47-71ca-11e1-9e33-c80aa9429562:23", File: "binlog.000002", Pos: 4711,
				Row: int32(i), Thread: 9, HasThread: true}}
	}
	benchEncodeRing(b, Config{TopicPrefix: "mysql", TombstonesOnDelete: true}, evs)
}

// BenchmarkEncodeStreamMySQLEscaped is BenchmarkEncodeStreamMySQL with the payload as the binlog
// decoder delivers it: compact JSON text, already escaped (capture.EscapedJSON).
func BenchmarkEncodeStreamMySQLEscaped(b *testing.B) {
	t := benchSnapTable(schema.MySQL)
	t.ID.Table = "orders"
	rows := benchSnapRows(schema.MySQL, 256)
	evs := make([]capture.Event, len(rows))
	for i, r := range rows {
		text := strings.NewReplacer(`": `, `":`, `, "`, `,"`).Replace(string(r[5].Bytes))
		q := AppendJSONString(nil, text)
		r[5] = capture.EscapedJSONValue(q[1 : len(q)-1])
		evs[i] = capture.Event{Kind: capture.Change, Op: capture.OpCreate, Table: t, After: r,
			Source: capture.Source{Connector: "mysql", DB: "bench", Table: "orders", TsMicros: 1765000000000000,
				ServerID: 1, GTID: "3e11fa47-71ca-11e1-9e33-c80aa9429562:23", File: "binlog.000002", Pos: 4711,
				Row: int32(i), Thread: 9, HasThread: true}}
	}
	benchEncodeRing(b, Config{TopicPrefix: "mysql", TombstonesOnDelete: true}, evs)
}

// BenchmarkEncodeStreamPG is bench.sh's PostgreSQL → Kafka workload: inserts of the orders
// table, each with its own LSN.
func BenchmarkEncodeStreamPG(b *testing.B) {
	t := benchSnapTable(schema.Postgres)
	t.ID.Table = "orders"
	rows := benchSnapRows(schema.Postgres, 256)
	evs := make([]capture.Event, len(rows))
	for i, r := range rows {
		evs[i] = capture.Event{Kind: capture.Change, Op: capture.OpCreate, Table: t, After: r,
			Source: capture.Source{Connector: "postgresql", DB: "postgres", Schema: "public", Table: "orders",
				TsMicros: 1765000000000000, LSN: 24023300 + uint64(i)*200, HasLSN: true, LastCommitLSN: 24023200,
				TxID: 768, HasTxID: true}}
	}
	benchEncodeRing(b, Config{TopicPrefix: "pg", TombstonesOnDelete: true}, evs)
}
