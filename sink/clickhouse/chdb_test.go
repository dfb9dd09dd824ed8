//go:build chdb && integration

package clickhouse

// The modern (≥ 23.2) DDL and value path checked against ClickHouse 26.7 run in-process by chDB:
//
//	CHDB_LIB_PATH=/path/to/libchdb.so go test -tags "integration chdb" -run Chdb ./sink/clickhouse/
//
// (libchdb.so comes with the npm package @chdb/lib-linux-x64-gnu, a dependency of chdb.) The
// records go through the sink's own parsing, column buffers and CREATE/ALTER statements; the
// batch is rendered as INSERT … VALUES because chDB has no native-protocol listener.

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chdb-io/chdb-go/chdb"
	"github.com/shopspring/decimal"

	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/internal/testkit"
)

func literal(v reflect.Value, col column) string {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return "NULL"
		}
		return literal(v.Elem(), col)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 && v.Type() != reflect.TypeOf([]uint8{}) {
			break
		}
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = literal(v.Index(i), col)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case reflect.String:
		return quoteString(v.String())
	}
	switch x := v.Interface().(type) {
	case decimal.Decimal:
		return "'" + x.String() + "'"
	case time.Time:
		if strings.HasPrefix(col.codec.base, "Date32") || col.codec.base == "Date" {
			return "'" + x.UTC().Format("2006-01-02") + "'"
		}
		return "'" + x.UTC().Format("2006-01-02 15:04:05.999999999") + "'"
	}
	return fmt.Sprint(v.Interface())
}

// insertSQL renders a batch as INSERT … VALUES.
func insertSQL(db, table string, b *tableBatch, settings string) string {
	var names []string
	for _, c := range b.bind.cols {
		names = append(names, quoteIdent(c.name))
	}
	names = append(names, "`_version`", "`_is_deleted`")
	if b.bind.rowID {
		names = append(names, "`_row_id`")
	}
	datas := make([]reflect.Value, len(b.bufs))
	for i, cb := range b.bufs {
		datas[i] = reflect.ValueOf(cb.data(0, cb.len()))
	}
	var rows []string
	for r := 0; r < b.rows(); r++ {
		vals := make([]string, 0, len(names))
		for i, d := range datas {
			vals = append(vals, literal(d.Index(r), b.bind.cols[i]))
		}
		vals = append(vals, fmt.Sprint(b.versions[r]), fmt.Sprint(b.deleted[r]))
		if b.bind.rowID {
			vals = append(vals, fmt.Sprint(b.rowIDs[r]))
		}
		rows = append(rows, "("+strings.Join(vals, ", ")+")")
	}
	return "INSERT INTO " + db + "." + quoteIdent(table) + " (" + strings.Join(names, ", ") + ") " + settings + " VALUES " + strings.Join(rows, ", ")
}

var chdbSess struct {
	once sync.Once
	s    *chdb.Session
	err  error
}

// chdbQuery returns a query function on the process's one chDB session (chDB keeps one
// embedded server per process; the session lives until the test binary exits).
func chdbQuery(t *testing.T) func(sql string) string {
	t.Helper()
	testkit.Env(t, "CHDB_LIB_PATH") // the path of libchdb.so, which chdb-go loads
	chdbSess.once.Do(func() { chdbSess.s, chdbSess.err = chdb.NewSession() })
	if chdbSess.err != nil {
		t.Fatal(chdbSess.err)
	}
	return func(sql string) string {
		t.Helper()
		r, err := chdbSess.s.Query(sql, "TabSeparated")
		if err != nil {
			t.Fatalf("%.300s: %v", sql, err)
		}
		if e := r.Error(); e != nil {
			t.Fatalf("%.300s: %v", sql, e)
		}
		return r.String()
	}
}

func TestChdbModernLayout(t *testing.T) {
	q := chdbQuery(t)
	t.Logf("chDB ClickHouse %s", strings.TrimSpace(q("SELECT version()")))
	q("CREATE DATABASE IF NOT EXISTS cdc")
	s := &Sink{modern: true, cache: schemaCache{modern: true, m: map[string]*envSchema{}}, tables: map[string]*table{}}
	v1 := ordersTable(append(append([]tfield{}, ordersV1...), tfield{name: "day", typ: "int32", semantic: nameDate}))
	v2 := ordersTable(append(append([]tfield{}, v1.fields...), tfield{name: "qty", typ: "int32", optional: true}))
	orderRowD := func(id int, name string, cents int64, note any, extra ...any) row {
		return append(orderRow(id, name, cents, note, "day", -3), extra...) // 1969-12-29: Date32 only
	}
	apply := func(recs []envelope.Record, first bool) {
		t.Helper()
		tb := &table{name: "orders"}
		var b *binding
		for i := range recs {
			c, ok, err := parseChange(&s.cache, recs[i].Key, recs[i].Value)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				continue
			}
			if b == nil {
				if c.schema.err != nil {
					t.Fatal(c.schema.err)
				}
				b = newBinding(c.schema.cols, c.schema.keys)
				tb.batch = newBatch(b)
				if first {
					q(createTableSQL("cdc", "orders", c.schema.cols, c.schema.keys, true))
					q("SYSTEM STOP MERGES cdc.orders") // so that count() shows what the inserts stored
				} else {
					last := c.schema.cols[len(c.schema.cols)-1]
					q("ALTER TABLE cdc.`orders` ADD COLUMN " + quoteIdent(last.name) + " " + last.chType() + " AFTER " + quoteIdent(c.schema.cols[len(c.schema.cols)-2].name))
				}
			}
			if err := s.appendChange(nil, tb, b, &c); err != nil {
				t.Fatal(err)
			}
		}
		// inserted twice with the sink's dedup token, as a retry would: the server drops the second
		tok := "SETTINGS insert_deduplication_token = " + quoteString(tb.batch.token("orders"))
		// (optimize_on_insert collapses a block's own versions; merges are stopped)
		q(insertSQL("cdc", "orders", tb.batch, tok))
		before := q("SELECT count() FROM cdc.orders")
		q(insertSQL("cdc", "orders", tb.batch, tok))
		if after := q("SELECT count() FROM cdc.orders"); after != before {
			t.Fatalf("retried insert stored rows again: %s → %s", before, after)
		}
	}
	apply([]envelope.Record{
		v1.record("r", nil, orderRowD(1, "anne", 12345, nil), 100, true),
		v1.record("c", nil, orderRowD(2, "bob", -199, "hi"), 110, true),
		v1.record("c", nil, orderRowD(3, "carl", 0, nil), 120, true),
		v1.record("u", nil, orderRowD(2, "bobby", -199, "hi"), 150, true),
		v1.record("d", row{"id", 3, "customer", "", "amount", "AA==", "created_at", 0, "note", nil, "tags", nil, "day", 0}, nil, 160, true),
		v1.tombstone(row{"id", 3}),
	}, true)
	apply([]envelope.Record{
		v2.record("c", nil, orderRowD(6, "finn", 100, nil, "qty", 3), 190, true),
		v2.record("u", nil, orderRowD(1, "anne", 12345, nil, "qty", 9), 200, true),
		// the same batch again, as a retried insert would send it: collapses by (key, _version)
		v2.record("u", nil, orderRowD(1, "anne", 12345, nil, "qty", 9), 200, true),
	}, false)
	cols := q("SELECT name, type FROM system.columns WHERE database = 'cdc' AND table = 'orders' ORDER BY position FORMAT TabSeparated")
	wantCols := "id\tInt32\ncustomer\tString\namount\tDecimal(10, 2)\ncreated_at\tDateTime64(6, \\'UTC\\')\nnote\tNullable(String)\ntags\tArray(Nullable(String))\nday\tDate32\nqty\tNullable(Int32)\n_version\tUInt64\n_is_deleted\tUInt8\n"
	if cols != wantCols {
		t.Fatalf("columns:\n%s\nwant:\n%s", cols, wantCols)
	}
	engine := q("SELECT engine_full FROM system.tables WHERE database = 'cdc' AND name = 'orders'")
	if !strings.Contains(engine, "ReplacingMergeTree(_version, _is_deleted)") {
		t.Fatalf("engine %s", engine)
	}
	// FINAL hides deleted rows on ≥ 23.2 without a WHERE. (26.x prints decimals without
	// trailing zeros: 1.00 → 1.)
	got := q("SELECT id, customer, amount, created_at, ifNull(note, 'NULL'), tags, day, ifNull(toString(qty), 'NULL'), _version FROM cdc.orders FINAL ORDER BY id")
	want := "1\tanne\t123.45\t2024-01-15 10:30:00.000001\tNULL\t['a','1']\t1969-12-29\t9\t200\n" +
		"2\tbobby\t-1.99\t2024-01-15 10:30:00.000002\thi\t['a','2']\t1969-12-29\tNULL\t150\n" +
		"6\tfinn\t1\t2024-01-15 10:30:00.000006\tNULL\t['a','6']\t1969-12-29\t3\t190\n"
	if got != want {
		t.Fatalf("FINAL:\n%s\nwant:\n%s", got, want)
	}
}
