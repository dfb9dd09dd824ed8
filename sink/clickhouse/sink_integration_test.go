//go:build integration

package clickhouse

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/internal/testkit"
)

func chAddr(t *testing.T) string {
	t.Helper()
	return testkit.Server(t, "SLUICE_TEST_CLICKHOUSE_ADDR")
}

func chConn(t *testing.T, addr string) driver.Conn {
	t.Helper()
	conn, err := ch.Open(&ch.Options{Addr: []string{addr}, Auth: ch.Auth{Database: "default", Username: "default"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// freshDB drops and returns a database name for one test.
func freshDB(t *testing.T, conn driver.Conn) string {
	t.Helper()
	db := "sluice_test_" + strings.ToLower(strings.NewReplacer("/", "_", "-", "_").Replace(t.Name()))
	if err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db); err != nil {
		t.Fatal(err)
	}
	return db
}

// query returns the rows of q as tab-joined strings (every column cast with toString).
func query(t *testing.T, conn driver.Conn, q string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
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
			t.Fatalf("%s: %v", q, err)
		}
		out = append(out, strings.Join(vals, "\t"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// dataTable is the table that holds the rows of table: table+DataSuffix behind the sink's view,
// or table itself (created by hand, or by an older sluice).
func dataTable(t *testing.T, conn driver.Conn, db, table string) string {
	t.Helper()
	if got := query(t, conn, "SELECT toString(count()) FROM system.tables WHERE database = '"+db+"' AND name = '"+table+DataSuffix+"'"); got[0] == "1" {
		return table + DataSuffix
	}
	return table
}

// optimize merges a table (the one holding its rows) into one part (OPTIMIZE … FINAL is skipped
// while a background merge runs, so it is repeated until one active part is left).
func optimize(t *testing.T, conn driver.Conn, db, table string) {
	t.Helper()
	table = dataTable(t, conn, db, table)
	for i := 0; i < 100; i++ {
		_ = conn.Exec(context.Background(), "OPTIMIZE TABLE "+db+"."+table+" FINAL")
		parts := query(t, conn, "SELECT toString(count()) FROM system.parts WHERE active AND database = '"+db+"' AND table = '"+table+"'")
		if parts[0] == "1" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s.%s: still more than one part after OPTIMIZE FINAL", db, table)
}

func execCH(t *testing.T, conn driver.Conn, q string) {
	t.Helper()
	if err := conn.Exec(context.Background(), q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// dec encodes a Connect Decimal (unscaled value) as Base64 two's complement.
func dec(unscaled int64) string {
	b := big.NewInt(unscaled)
	var raw []byte
	if unscaled >= 0 {
		raw = b.Bytes()
		if len(raw) == 0 || raw[0]&0x80 != 0 {
			raw = append([]byte{0}, raw...)
		}
	} else {
		n := len(new(big.Int).Not(b).Bytes()) + 1
		raw = new(big.Int).Add(b, new(big.Int).Lsh(big.NewInt(1), uint(8*n))).Bytes()
		for len(raw) < n {
			raw = append([]byte{0xff}, raw...)
		}
		for len(raw) > 1 && raw[0] == 0xff && raw[1]&0x80 != 0 {
			raw = raw[1:]
		}
	}
	return base64.StdEncoding.EncodeToString(raw)
}

type durables struct {
	mu   sync.Mutex
	toks []uint64
}

func (d *durables) add(tok uint64) { d.mu.Lock(); d.toks = append(d.toks, tok); d.mu.Unlock() }
func (d *durables) max() (uint64, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var m uint64
	for _, t := range d.toks {
		m = max(m, t)
	}
	return m, len(d.toks) > 0
}

var ordersV1 = []tfield{
	{name: "id", typ: "int32"},
	{name: "customer", typ: "string"},
	{name: "amount", typ: "bytes", semantic: "org.apache.kafka.connect.data.Decimal", params: map[string]string{"scale": "2", "connect.decimal.precision": "10"}},
	{name: "created_at", typ: "int64", semantic: "io.debezium.time.MicroTimestamp"},
	{name: "note", typ: "string", optional: true},
	{name: "tags", typ: "array", items: "string", optional: true},
}

func ordersTable(fields []tfield) ttable {
	return ttable{topic: "srv.public.orders", db: "shop", schema: "public", table: "orders", fields: fields, keys: []string{"id"}, pg: true}
}

func orderRow(id int, customer string, cents int64, note any, extra ...any) row {
	r := row{"id", id, "customer", customer, "amount", dec(cents), "created_at", int64(1705314600000000 + id), "note", note, "tags", []string{"a", fmt.Sprint(id)}}
	return append(r, extra...)
}

func TestSinkChangesAgainstServer(t *testing.T) {
	addr := chAddr(t)
	conn := chConn(t, addr)
	db := freshDB(t, conn)
	ctx := context.Background()
	var d durables
	s, err := New(ctx, Config{Addr: []string{addr}, Database: db, BatchRows: 3, FlushInterval: time.Hour, Logger: testLogger(t)}, d.add)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Modern() {
		t.Fatalf("server %s: this test expects the 18.16 layout", s.ServerVersion())
	}
	v1 := ordersTable(ordersV1)
	v2 := ordersTable(append(append([]tfield{}, ordersV1...), tfield{name: "qty", typ: "int32", optional: true}))
	long := strings.Repeat("long note ", 300)
	recs := []envelope.Record{
		v1.record("r", nil, orderRow(1, "anne", 12345, nil), 100, true),
		v1.record("c", nil, orderRow(2, "bob", -199, "hi"), 110, true),
		v1.record("c", nil, orderRow(3, "carl", 0, nil), 120, true),
		v1.record("c", nil, orderRow(4, "dora", 5, nil), 130, true),
		v1.record("c", nil, orderRow(5, "emil", 7, long), 140, true),
		v1.record("u", nil, orderRow(2, "bobby", -199, "hi"), 150, true),
		// delete under REPLICA IDENTITY DEFAULT: key + fallback values, then a tombstone
		v1.record("d", row{"id", 3, "customer", "", "amount", "AA==", "created_at", 0, "note", nil, "tags", nil}, nil, 160, true),
		v1.tombstone(row{"id", 3}),
		// primary-key change 4 → 40: delete old key, tombstone, create new key
		v1.record("d", orderRow(4, "dora", 5, nil), nil, 170, true),
		v1.tombstone(row{"id", 4}),
		v1.record("c", nil, orderRow(40, "dora", 5, nil), 170, true),
		// unchanged TOAST: the earlier value is in ClickHouse (an earlier batch)
		v1.record("u", nil, orderRow(5, "emil2", 8, Placeholder), 180, true),
		// column added mid-stream
		v2.record("c", nil, orderRow(6, "finn", 100, nil, "qty", 3), 190, true),
		v2.record("u", nil, orderRow(1, "anne", 12345, nil, "qty", 9), 200, true),
		// unchanged TOAST again, the previous version in the same batch
		v2.record("u", nil, orderRow(5, "emil3", 9, Placeholder, "qty", 1), 210, true),
		v2.record("u", nil, orderRow(2, "bobby", -199, "hi", "qty", nil), 220, true),
	}
	for i := range recs {
		if err := s.Send(ctx, &recs[i], uint64(i)); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if m, _ := d.max(); len(d.toks) != len(recs) || m != uint64(len(recs)-1) {
		t.Fatalf("durable tokens %v, want 0..%d", d.toks, len(recs)-1)
	}
	optimize(t, conn, db, "orders")
	got := query(t, conn, "SELECT toString(id), customer, toString(amount), toString(created_at), ifNull(note, 'NULL'), toString(tags), ifNull(toString(qty), 'NULL'), toString(_version), toString(_is_deleted) FROM "+db+".orders__versions FINAL ORDER BY id")
	want := []string{
		"1\tanne\t123.45\t1705314600000001\tNULL\t['a','1']\t9\t200\t0",
		"2\tbobby\t-1.99\t1705314600000002\thi\t['a','2']\tNULL\t220\t0",
		"3\t\t0.00\t0\tNULL\t[]\tNULL\t160\t1",
		"4\tdora\t0.05\t1705314600000004\tNULL\t['a','4']\tNULL\t170\t1",
		"5\temil3\t0.09\t1705314600000005\t" + long + "\t['a','5']\t1\t210\t0",
		"6\tfinn\t1.00\t1705314600000006\tNULL\t['a','6']\t3\t190\t0",
		"40\tdora\t0.05\t1705314600000040\tNULL\t['a','40']\tNULL\t170\t0",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("table after OPTIMIZE FINAL:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The TOAST value of the intermediate version (180) came from ClickHouse.
	if got := query(t, conn, "SELECT note = '"+long+"' FROM "+db+"."+dataTable(t, conn, db, "orders")+" WHERE id = 5 AND _version = 180"); len(got) != 0 {
		// merged away by OPTIMIZE FINAL; the final row above already proves the carry
		t.Logf("version 180 still present: %v", got)
	}
	types := query(t, conn, "SELECT name, type FROM system.columns WHERE database = '"+db+"' AND table = 'orders'")
	wantTypes := "id\tInt32|customer\tString|amount\tDecimal(10, 2)|created_at\tInt64|note\tNullable(String)|tags\tArray(Nullable(String))|qty\tNullable(Int32)|_version\tUInt64|_is_deleted\tUInt8"
	if strings.Join(types, "|") != wantTypes {
		t.Fatalf("columns %v\nwant %s", types, wantTypes)
	}
	if st := s.Stats(); st.Parked != 0 || st.ToastMissing != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestSinkParksIncompatibleChange(t *testing.T) {
	addr := chAddr(t)
	conn := chConn(t, addr)
	db := freshDB(t, conn)
	ctx := context.Background()
	var d durables
	s, err := New(ctx, Config{Addr: []string{addr}, Database: db}, d.add)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v1 := ordersTable(ordersV1)
	bad := append([]tfield{}, ordersV1...)
	bad[1] = tfield{name: "customer", typ: "int64"} // String → Int64 cannot be applied
	vbad := ordersTable(bad)
	recs := []envelope.Record{
		v1.record("c", nil, orderRow(1, "anne", 1, nil), 10, true),
		vbad.record("c", nil, row{"id", 2, "customer", 7, "amount", dec(1), "created_at", 1, "note", nil, "tags", nil}, 20, true),
		v1.record("c", nil, orderRow(3, "carl", 1, nil), 30, true),
	}
	for i := range recs {
		if err := s.Send(ctx, &recs[i], uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if len(d.toks) != 3 {
		t.Fatalf("durable %v", d.toks)
	}
	if got := query(t, conn, "SELECT toString(id) FROM "+db+".orders FINAL ORDER BY id"); strings.Join(got, ",") != "1,3" {
		t.Fatalf("rows %v", got)
	}
	got := query(t, conn, "SELECT table, toString(version), reason FROM "+db+"._sluice_parked")
	if len(got) != 1 || !strings.HasPrefix(got[0], "orders\t20\tincompatible schema change in table orders__versions: column customer is String in ClickHouse but Int64 in the record") {
		t.Fatalf("parked %q", got)
	}
	if s.Stats().Parked != 1 {
		t.Fatalf("parked metric %d", s.Stats().Parked)
	}
}

// TestSinkCrashReplay: the sink dies with rows pending; a new one replays from an earlier
// position (offsets committed late), and the table ends with exactly one row per version.
func TestSinkCrashReplay(t *testing.T) {
	addr := chAddr(t)
	conn := chConn(t, addr)
	db := freshDB(t, conn)
	ctx := context.Background()
	tb := ordersTable(ordersV1)
	const n = 3000
	var recs []envelope.Record
	want := map[int]row{}
	for i := 0; i < n; i++ {
		id := i%700 + 1
		var rec envelope.Record
		switch {
		case i%11 == 10:
			rec = tb.record("d", orderRow(id, "x", 0, nil), nil, int64(1000+i), true)
			delete(want, id)
		default:
			r := orderRow(id, fmt.Sprintf("c%d", i), int64(i), nil)
			rec = tb.record("u", nil, r, int64(1000+i), true)
			want[id] = r
		}
		recs = append(recs, rec)
	}
	var d1 durables
	s1, err := New(ctx, Config{Addr: []string{addr}, Database: db, BatchRows: 250, FlushInterval: time.Hour}, d1.add)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 1900; i++ {
		if err := s1.Send(ctx, &recs[i], uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	s1.Close() // crash: pending rows never flushed
	last, _ := d1.max()
	if last >= 1900-1 {
		t.Fatalf("expected unflushed rows at the crash, durable up to %d", last)
	}
	var d2 durables
	s2, err := New(ctx, Config{Addr: []string{addr}, Database: db, BatchRows: 333, FlushInterval: time.Hour}, d2.add)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	for i := int(last) - 400; i < n; i++ { // replay from before the committed position
		if err := s2.Send(ctx, &recs[i], uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	optimize(t, conn, db, "orders")
	if dup := query(t, conn, "SELECT toString(count()) FROM (SELECT id, _version, count() AS c FROM "+db+"."+dataTable(t, conn, db, "orders")+" GROUP BY id, _version HAVING c > 1)"); dup[0] != "0" {
		t.Fatalf("%s duplicate (id, _version) pairs", dup[0])
	}
	got := query(t, conn, "SELECT toString(id), customer, toString(amount) FROM "+db+".orders FINAL WHERE _is_deleted = 0 ORDER BY id")
	var exp []string
	for id := 1; id <= 700; id++ {
		if r, ok := want[id]; ok {
			c := r.get("customer").(string)
			var i int
			fmt.Sscanf(c, "c%d", &i)
			exp = append(exp, fmt.Sprintf("%d\t%s\t%d.%02d", id, c, i/100, i%100))
		}
	}
	if strings.Join(got, "\n") != strings.Join(exp, "\n") {
		t.Fatalf("got %d rows, want %d; first got %v want %v", len(got), len(exp), got[:min(3, len(got))], exp[:min(3, len(exp))])
	}
}

// TestSinkKeylessTableKeepsEveryRow: a table without a primary key gets every row, although a
// snapshot gives all its rows one source position and a multi-row statement (COPY) one LSN,
// identical rows included; and a replay of the same records (a crash before the offsets were
// committed) adds nothing.
func TestSinkKeylessTableKeepsEveryRow(t *testing.T) {
	addr := chAddr(t)
	conn := chConn(t, addr)
	db := freshDB(t, conn)
	ctx := context.Background()
	tb := ttable{topic: "srv.public.events", db: "shop", schema: "public", table: "events", pg: true,
		fields: []tfield{{name: "kind", typ: "string"}, {name: "n", typ: "int32", optional: true}}}
	keyless := func(op string, before, after row, pos int64) envelope.Record {
		r := tb.record(op, before, after, pos, true)
		r.Key = nil // Debezium sends no key for a table without a primary key
		return r
	}
	recs := []envelope.Record{
		keyless("r", nil, row{"kind", "a", "n", 1}, 700), // snapshot: one position for all rows
		keyless("r", nil, row{"kind", "a", "n", 1}, 700), // an identical row of the source table
		keyless("r", nil, row{"kind", "b", "n", 2}, 700),
		keyless("c", nil, row{"kind", "c", "n", 3}, 900), // COPY: one multi-insert WAL record
		keyless("c", nil, row{"kind", "d", "n", 4}, 900),
		keyless("c", nil, row{"kind", "e", "n", 5}, 950),
	}
	want := "a 1|a 1|b 2|c 3|d 4|e 5"
	for run := 1; run <= 2; run++ { // run 2 replays every record, as after a crash
		s, err := New(ctx, Config{Addr: []string{addr}, Database: db, BatchRows: 4, FlushInterval: time.Hour}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range recs {
			if err := s.Send(ctx, &recs[i], uint64(i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.Parked != 0 {
			t.Fatalf("run %d: %d records parked", run, st.Parked)
		}
		s.Close()
		optimize(t, conn, db, "events")
		got := query(t, conn, "SELECT concat(kind, ' ', toString(n)) FROM "+db+".events FINAL ORDER BY kind, n")
		if g := strings.Join(got, "|"); g != want {
			t.Fatalf("run %d: rows after OPTIMIZE FINAL %q, want %q", run, g, want)
		}
	}
}

// versionCases are change sequences, in stream order, whose source positions go backwards
// although each change is newer than the one before: the last change of each key must win.
func versionCases() []struct {
	name string
	recs []envelope.Record
	want string // id name, ordered by id, after OPTIMIZE FINAL
} {
	cols := []tfield{{name: "id", typ: "int32"}, {name: "name", typ: "string"}}
	pg := ttable{topic: "srv.public.acct", db: "shop", schema: "public", table: "acct", pg: true, fields: cols, keys: []string{"id"}}
	pgAt := func(seq string) ttable { return withSrc(pg, "sequence", seq) }
	my := ttable{topic: "srv.shop.acct", db: "shop", table: "acct", fields: cols, keys: []string{"id"}}
	myAt := func(gtid, file string) ttable { return withSrc(withSrc(my, "gtid", gtid), "file", file) }
	myTs := func(gtid, file string, tsUs int64) ttable {
		t := withSrc(withSrc(my, "file", file), "ts_us", tsUs)
		if gtid != "" {
			t = withSrc(t, "gtid", gtid)
		}
		return t
	}
	return []struct {
		name string
		recs []envelope.Record
		want string
	}{{
		// The slot's consistent point is 5000. A transaction that began before it (its
		// change at LSN 250) commits after it, so the snapshot does not show it and it is
		// streamed, with an LSN below the snapshot's version.
		name: "postgres transaction begun before the snapshot",
		recs: []envelope.Record{
			pgAt(`[null,"5000"]`).record("r", nil, row{"id", 1, "name", "snapshot"}, 5000, true),
			pgAt(`[null,"5000"]`).record("r", nil, row{"id", 2, "name", "snapshot"}, 5000, true),
			pgAt(`["5000","250"]`).record("u", nil, row{"id", 1, "name", "old tx"}, 250, true),
			pgAt(`["5400","5200"]`).record("u", nil, row{"id", 2, "name", "next tx"}, 5200, true),
			// two changes of one key in one transaction, both written before the
			// previous commit: equal versions, the later insert wins
			pgAt(`["5600","300"]`).record("u", nil, row{"id", 2, "name", "long tx 1"}, 300, true),
			pgAt(`["5600","310"]`).record("u", nil, row{"id", 2, "name", "long tx 2"}, 310, true),
		},
		want: "1 old tx|2 long tx 2",
	}, {
		// GTID failover to a replica whose binlog has other, smaller coordinates; then
		// RESET MASTER-like small coordinates on the new primary.
		name: "mariadb gtid failover",
		recs: []envelope.Record{
			my.record("r", nil, row{"id", 1, "name", "snapshot"}, 4000, true),
			myAt("0-1-100", "mysql-bin.000009").record("u", nil, row{"id", 1, "name", "primary"}, 90000, true),
			myAt("0-1-100", "mysql-bin.000009").record("c", nil, row{"id", 2, "name", "primary"}, 90100, true),
			// the replica re-sends 0-1-100 from its own binlog (a replay across the failover)
			myAt("0-1-100", "replica-bin.000001").record("u", nil, row{"id", 1, "name", "primary"}, 700, true),
			myAt("0-2-101", "replica-bin.000001").record("u", nil, row{"id", 1, "name", "new primary"}, 900, true),
			myAt("0-2-102", "replica-bin.000001").record("u", nil, row{"id", 2, "name", "new primary"}, 1200, true),
		},
		want: "1 new primary|2 new primary",
	}, {
		// MySQL GTID failover: the promoted replica's binlog holds the primary's transactions
		// at its own, smaller coordinates, with the original commit timestamps (ts_us).
		name: "mysql gtid failover",
		recs: []envelope.Record{
			myTs("", "binlog.000009", 1705314000000000).record("r", nil, row{"id", 1, "name", "snapshot"}, 4000, true),
			myTs("3e11fa47-71ca-11e1-9e33-c80aa9429562:100", "binlog.000009", 1705314600000000).record("u", nil, row{"id", 1, "name", "primary"}, 90000, true),
			myTs("3e11fa47-71ca-11e1-9e33-c80aa9429562:101", "binlog.000009", 1705314600000100).record("c", nil, row{"id", 2, "name", "primary"}, 90500, true),
			// the replica re-sends :100 from its own binlog (a replay across the failover)
			myTs("3e11fa47-71ca-11e1-9e33-c80aa9429562:100", "replica-bin.000001", 1705314600000000).record("u", nil, row{"id", 1, "name", "primary"}, 700, true),
			myTs("4e11fa47-71ca-11e1-9e33-c80aa9429562:1", "replica-bin.000001", 1705314605000000).record("u", nil, row{"id", 1, "name", "new primary"}, 900, true),
			myTs("4e11fa47-71ca-11e1-9e33-c80aa9429562:2", "replica-bin.000001", 1705314605000100).record("u", nil, row{"id", 2, "name", "new primary"}, 1200, true),
		},
		want: "1 new primary|2 new primary",
	}, {
		// RESET BINARY LOGS AND GTIDS: the binlog starts again at binlog.000001 (and the GTIDs
		// at 1); two changes of one key in one transaction share its commit timestamp, the
		// later one wins.
		name: "mysql reset binary logs and gtids",
		recs: []envelope.Record{
			myTs("", "binlog.000003", 1705314000000000).record("r", nil, row{"id", 1, "name", "snapshot"}, 5000, true),
			myTs("", "binlog.000003", 1705314000000000).record("r", nil, row{"id", 2, "name", "snapshot"}, 5000, true),
			myTs("3e11fa47-71ca-11e1-9e33-c80aa9429562:7", "binlog.000003", 1705314600000000).record("u", nil, row{"id", 1, "name", "before reset"}, 6000, true),
			myTs("3e11fa47-71ca-11e1-9e33-c80aa9429562:8", "binlog.000003", 1705314600000200).record("u", nil, row{"id", 2, "name", "before reset"}, 6400, true),
			myTs("3e11fa47-71ca-11e1-9e33-c80aa9429562:1", "binlog.000001", 1705314700000000).record("u", nil, row{"id", 1, "name", "after reset 1"}, 300, true),
			myTs("3e11fa47-71ca-11e1-9e33-c80aa9429562:1", "binlog.000001", 1705314700000000).record("u", nil, row{"id", 1, "name", "after reset 2"}, 400, true),
			myTs("3e11fa47-71ca-11e1-9e33-c80aa9429562:2", "binlog.000001", 1705314700000300).record("d", row{"id", 2, "name", "before reset"}, nil, 600, true),
		},
		want: "1 after reset 2",
	}, {
		// A row an older sluice wrote for a streamed change, versioned by its binlog
		// coordinates (the same value a snapshot row at those coordinates gets, + 1): far
		// into a long-lived binlog, yet below the next change's commit-timestamp version.
		name: "mysql upgrade from binlog-coordinate versions",
		recs: []envelope.Record{
			myTs("", "binlog.999999", 1705314000000000).record("r", nil, row{"id", 1, "name", "old scheme"}, 4000000000, true),
			myTs("3e11fa47-71ca-11e1-9e33-c80aa9429562:5", "binlog.000001", 1705314600000000).record("u", nil, row{"id", 1, "name", "new scheme"}, 400, true),
		},
		want: "1 new scheme",
	}}
}

// TestSinkVersionsFollowCommitOrder: _version orders a key's changes by commit order even
// where source positions go backwards (PostgreSQL transactions begun before the snapshot,
// MariaDB GTID failover).
func TestSinkVersionsFollowCommitOrder(t *testing.T) {
	addr := chAddr(t)
	conn := chConn(t, addr)
	db := freshDB(t, conn)
	ctx := context.Background()
	for i, c := range versionCases() {
		t.Run(c.name, func(t *testing.T) {
			dbi := fmt.Sprintf("%s_%d", db, i)
			execCH(t, conn, "DROP DATABASE IF EXISTS "+dbi)
			s, err := New(ctx, Config{Addr: []string{addr}, Database: dbi, BatchRows: 2, FlushInterval: time.Hour}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for i := range c.recs {
				if err := s.Send(ctx, &c.recs[i], uint64(i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			optimize(t, conn, dbi, "acct")
			got := strings.Join(query(t, conn, "SELECT concat(toString(id), ' ', name) FROM "+dbi+".acct FINAL WHERE _is_deleted = 0 ORDER BY id"), "|")
			if got != c.want {
				t.Fatalf("rows %q, want %q", got, c.want)
			}
		})
	}
}

// TestSinkReplayParked: records parked because their table did not exist (records without
// schemas) are applied by ReplayParked once the table is created; one whose table is still
// missing is parked again, once, and the replayed rows leave _sluice_parked.
func TestSinkReplayParked(t *testing.T) {
	addr := chAddr(t)
	conn := chConn(t, addr)
	db := freshDB(t, conn)
	ctx := context.Background()
	items := ttable{topic: "srv.shop.items", db: "shop", table: "items", fields: []tfield{{name: "sku", typ: "string"}, {name: "qty", typ: "int32"}}, keys: []string{"sku"}}
	ghost := items
	ghost.topic, ghost.table = "srv.shop.ghost", "ghost"
	recs := []envelope.Record{
		items.record("c", nil, row{"sku", "a", "qty", 1}, 100, false),
		items.record("c", nil, row{"sku", "b", "qty", 2}, 110, false),
		items.record("u", nil, row{"sku", "a", "qty", 3}, 120, false),
		ghost.record("c", nil, row{"sku", "g", "qty", 9}, 130, false),
	}
	s, err := New(ctx, Config{Addr: []string{addr}, Database: db, FlushInterval: time.Hour}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range recs {
		if err := s.Send(ctx, &recs[i], uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Parked != 4 {
		t.Fatalf("parked %d, want 4 (no table yet)", st.Parked)
	}
	execCH(t, conn, "CREATE TABLE "+db+".items (sku String, qty Int32, _version UInt64, _is_deleted UInt8) ENGINE = ReplacingMergeTree(_version) ORDER BY sku")
	res, err := s.ReplayParked(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if res != (ReplayResult{Read: 4, Applied: 3, ParkedAgain: 1}) {
		t.Fatalf("replay %+v", res)
	}
	if st := s.Stats(); st.Replayed != 3 || st.Parked != 5 {
		t.Fatalf("stats %+v", st)
	}
	optimize(t, conn, db, "items")
	if got := strings.Join(query(t, conn, "SELECT concat(sku, ' ', toString(qty)) FROM "+db+".items FINAL ORDER BY sku"), "|"); got != "a 3|b 2" {
		t.Fatalf("items %q", got)
	}
	// the DELETE is a mutation: wait until it is done
	var left []string
	for i := 0; i < 100; i++ {
		left = query(t, conn, "SELECT table FROM "+db+"._sluice_parked")
		if len(left) == 1 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(left) != 1 || left[0] != "ghost" {
		t.Fatalf("parked after the replay: %q, want the ghost record once", left)
	}
}

// TestSinkParkedRecordsBoundBatch: records that are all parked count against BatchBytes, so
// the sink inserts them when the bound is reached instead of holding every one (key and whole
// value) until the flush interval: 1.08 M parked bench records grew sluice to 709 MB.
func TestSinkParkedRecordsBoundBatch(t *testing.T) {
	addr := chAddr(t)
	conn := chConn(t, addr)
	db := freshDB(t, conn)
	ctx := context.Background()
	var d durables
	s, err := New(ctx, Config{Addr: []string{addr}, Database: db, BatchBytes: 64 << 10, FlushInterval: time.Hour}, d.add)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	value := []byte(`{"before":null,"after":{"id":1},"source":{"db":"d","table":"t"},"op":"c","pad":"` + strings.Repeat("x", 1000) + `"}`)
	for i := range 200 { // 200 kB of records without a position: parked (ErrNoPosition)
		rec := envelope.Record{Topic: "x.d.t", Key: []byte(`{"id":1}`), Value: value}
		if err := s.Send(ctx, &rec, uint64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if s.Stats().Parked != 200 {
		t.Fatalf("parked %d, want 200", s.Stats().Parked)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Records == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.Stats().Records; n == 0 {
		t.Fatal("no parked record inserted before the flush interval: parked records do not count against BatchBytes")
	}
}

// TestSinkTableDroppedFailsFast: a target table dropped while the sink writes to it stops the
// sink at once with ErrTableDropped (not retryable), instead of retrying the insert until the
// stall watchdog reopens the source and the table is recreated holding only later changes.
func TestSinkTableDroppedFailsFast(t *testing.T) {
	addr := chAddr(t)
	conn := chConn(t, addr)
	db := freshDB(t, conn)
	t.Cleanup(func() { _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var d durables
	s, err := New(ctx, Config{Addr: []string{addr}, Database: db}, d.add)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v1 := ordersTable(ordersV1)
	r1 := v1.record("c", nil, orderRow(1, "anne", 1, nil), 10, true)
	if err := s.Send(ctx, &r1, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	execCH(t, conn, "DROP TABLE "+db+"."+dataTable(t, conn, db, "orders"))
	r2 := v1.record("c", nil, orderRow(2, "bob", 1, nil), 20, true)
	t0 := time.Now()
	if err := s.Send(ctx, &r2, 2); err != nil {
		t.Fatal(err)
	}
	// The timer's background insert meets the dropped table; the pipeline hears of it through
	// Failed (pipeline.FailureNotifier) even when no record follows (it did not: the insert's
	// error waited for a next flush that a quiet source never asked for).
	f, ok := any(s).(interface{ Failed() <-chan struct{} })
	if !ok {
		t.Fatal("the sink has no Failed channel (pipeline.FailureNotifier)")
	}
	select {
	case <-f.Failed():
	case <-ctx.Done():
		t.Fatalf("Failed not closed after %s", time.Since(t0).Round(time.Millisecond))
	}
	err = s.Flush(ctx)
	if !errors.Is(err, ErrTableDropped) || capture.Retryable(err) || time.Since(t0) > 10*time.Second {
		t.Fatalf("after %s: %v (retryable %v); want ErrTableDropped at once, not retryable", time.Since(t0).Round(time.Millisecond), err, capture.Retryable(err))
	}
	if len(d.toks) != 1 {
		t.Fatalf("durable %v; want only the first record", d.toks)
	}
}
