//go:build integration

package postgres

import (
	"context"
	"math"
	"math/big"
	"strings"
	"testing"

	"github.com/sluicecdc/sluice/capture"
)

func str(s string) capture.Value           { return capture.StringValue([]byte(s)) }
func jsn(s string) capture.Value           { return capture.JSONValue([]byte(s)) }
func i64(n int64) capture.Value            { return capture.IntValue(n) }
func arr(e ...capture.Value) capture.Value { return capture.Value{Kind: capture.Array, Elems: e} }

func bigDec(s string, scale int32) capture.Value {
	b, _ := new(big.Int).SetString(s, 10)
	return capture.BigDecimalValue(b, scale)
}

// typeCase is one column: its SQL type, the literal inserted, and the Value expected.
type typeCase struct {
	col, typ, lit string
	want          capture.Value
}

var typeCases = []typeCase{
	{"c_bool", "boolean", "true", capture.BoolValue(true)},
	{"c_int2", "smallint", "-32768", i64(-32768)},
	{"c_int4", "integer", "2147483647", i64(2147483647)},
	{"c_int8", "bigint", "-9223372036854775808", i64(math.MinInt64)},
	{"c_oid", "oid", "4294967295", i64(4294967295)},
	{"c_real", "real", "1.5", capture.Float32Value(1.5)},
	{"c_double", "double precision", "-2.25e-300", capture.Float64Value(-2.25e-300)},
	{"c_double_nan", "double precision", "'NaN'", capture.Float64Value(math.NaN())},
	{"c_double_inf", "double precision", "'-Infinity'", capture.Float64Value(math.Inf(-1))},
	{"c_num", "numeric(12,2)", "19.9", capture.DecimalValue(1990, 2)},
	{"c_num_neg", "numeric(5,3)", "-0.5", capture.DecimalValue(-500, 3)},
	{"c_num_var", "numeric", "0.5", capture.DecimalValue(5, 1)},
	{"c_num_big", "numeric", "123456789012345678901234567890.123", bigDec("123456789012345678901234567890123", 3)},
	{"c_num_nan", "numeric", "'NaN'", capture.Value{Kind: capture.Decimal, Flag: capture.NaN}},
	{"c_num_inf", "numeric", "'Infinity'", capture.Value{Kind: capture.Decimal, Flag: capture.PosInfinity}},
	{"c_money", "money", "-1234.56", capture.DecimalValue(-123456, 2)},
	{"c_text", "text", "E'h\\u00e9llo\\n\"q\"'", str("héllo\n\"q\"")},
	{"c_varchar", "varchar(10)", "'abc'", str("abc")},
	{"c_char", "char(5)", "'ab'", str("ab   ")},
	{"c_citext", "citext", "'MiXeD'", str("MiXeD")},
	{"c_bytea", "bytea", "'\\x00ff10'", capture.BytesValue([]byte{0, 0xff, 0x10})},
	{"c_bit1", "bit(1)", "B'1'", capture.BoolValue(true)},
	{"c_bit", "bit(12)", "B'000100000010'", capture.Value{Kind: capture.Bits, Bytes: []byte{0x02, 0x01}, Aux: 12}},
	{"c_varbit", "bit varying", "B'101'", capture.Value{Kind: capture.Bits, Bytes: []byte{0x05}, Aux: 3}},
	{"c_date", "date", "'2024-02-29'", capture.DateValue(19782)},
	{"c_date_bc", "date", "'0044-03-15 BC'", capture.DateValue(-735160)},
	{"c_date_inf", "date", "'infinity'", capture.Value{Kind: capture.Date, Flag: capture.PosInfinity}},
	{"c_time", "time", "'13:14:15.123456'", capture.TimeValue(47655123456, 6)},
	{"c_time3", "time(3)", "'23:59:59.999'", capture.TimeValue(86399999000, 3)},
	{"c_timetz", "timetz", "'10:00:00.5+05:30'", capture.Value{Kind: capture.TimeTZ, Int: 36000500000, Aux: 19800}},
	{"c_ts", "timestamp", "'2024-01-15 12:30:00.25'", capture.TimestampValue(1705321800250000, 6)},
	{"c_ts0", "timestamp(0)", "'1969-12-31 23:59:59'", capture.TimestampValue(-1000000, 0)},
	{"c_ts_inf", "timestamp", "'-infinity'", capture.Value{Kind: capture.Timestamp, Flag: capture.NegInfinity, Aux: 6}},
	{"c_tstz", "timestamptz", "'2024-01-15 12:30:00+02'", capture.TimestampTZValue(1705314600000000, 6)},
	{"c_tstz_far", "timestamptz", "'21016-11-04 06:51:30Z'", capture.TimestampTZValue(601060287090000000, 6)},
	{"c_tstz_inf", "timestamptz", "'infinity'", capture.Value{Kind: capture.TimestampTZ, Flag: capture.PosInfinity, Aux: 6}},
	{"c_interval", "interval", "'1 year 2 months 3 days 04:05:06.78'", capture.Value{Kind: capture.Interval, Aux: 14, Int: 3*86400e6 + 4*3600e6 + 5*60e6 + 6780000,
		Bytes: []byte("1 year 2 mons 3 days 04:05:06.78")}},
	{"c_interval_neg", "interval", "'-1 days +02:00:00'", capture.Value{Kind: capture.Interval, Int: -86400e6 + 7200e6, Bytes: []byte("-1 days +02:00:00")}},
	{"c_uuid", "uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", str("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")},
	{"c_json", "json", `'{"a":1,  "b":[true]}'`, jsn(`{"a":1,  "b":[true]}`)},
	{"c_jsonb", "jsonb", `'{"vip":true}'`, jsn(`{"vip": true}`)},
	{"c_xml", "xml", "'<a b=\"1\">x</a>'", str(`<a b="1">x</a>`)},
	{"c_inet", "inet", "'192.168.0.1/24'", str("192.168.0.1/24")},
	{"c_cidr", "cidr", "'10.0.0.0/8'", str("10.0.0.0/8")},
	{"c_macaddr", "macaddr", "'08:00:2b:01:02:03'", str("08:00:2b:01:02:03")},
	{"c_macaddr8", "macaddr8", "'08:00:2b:01:02:03:04:05'", str("08:00:2b:01:02:03:04:05")},
	{"c_int4range", "int4range", "'[1,10)'", str("[1,10)")},
	{"c_tstzrange", "tstzrange", "'[2024-01-01 00:00:00+00,2024-02-01 00:00:00+00)'", str(`["2024-01-01 00:00:00+00","2024-02-01 00:00:00+00")`)},
	{"c_enum", "mood", "'happy'", str("happy")},
	{"c_domain", "posint", "42", i64(42)},
	{"c_hstore", "hstore", `'a=>1, "b c"=>NULL'`, jsn(`{"a":"1","b c":null}`)},
	{"c_ltree", "ltree", "'Top.Science.Astronomy'", str("Top.Science.Astronomy")},
	{"c_tsvector", "tsvector", "'a fat cat'", str("'a' 'cat' 'fat'")},
	{"c_point", "point", "'(1.5,-2)'", capture.Value{Kind: capture.Geometry, Bytes: wkbPoint(1.5, -2)}},
	{"c_int_arr", "integer[]", "'{1,NULL,3}'", arr(i64(1), capture.Value{}, i64(3))},
	{"c_text_arr", "text[]", `'{a,"b c","d\"e",NULL,"NULL"}'`, arr(str("a"), str("b c"), str(`d"e`), capture.Value{}, str("NULL"))},
	{"c_int_arr2", "integer[][]", "'{{1,2},{3,4}}'", arr(i64(1), i64(2), i64(3), i64(4))},
	{"c_num_arr", "numeric(5,2)[]", "'{1.5,-2}'", arr(capture.DecimalValue(150, 2), capture.DecimalValue(-200, 2))},
	{"c_uuid_arr", "uuid[]", "'{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}'", arr(str("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"))},
	{"c_tstz_arr", "timestamptz[]", `'{"2024-01-15 12:30:00+02",infinity}'`, arr(capture.TimestampTZValue(1705314600000000, 6), capture.Value{Kind: capture.TimestampTZ, Flag: capture.PosInfinity, Aux: 6})},
	{"c_bytea_arr", "bytea[]", `'{"\\x0102"}'`, arr(capture.BytesValue([]byte{1, 2}))},
	{"c_enum_arr", "mood[]", "'{sad,happy}'", arr(str("sad"), str("happy"))},
	{"c_date_arr", "date[]", "'{2024-02-29}'", arr(capture.DateValue(19782))},
	{"c_bool_arr", "boolean[]", "'{t,f}'", arr(capture.BoolValue(true), capture.BoolValue(false))},
	{"c_jsonb_arr", "jsonb[]", `ARRAY['{"a": 1}'::jsonb]`, arr(jsn(`{"a": 1}`))},
	{"c_null", "text", "NULL", capture.Value{}},
}

func typesDDL() []string {
	ddl := "CREATE TABLE types (id int PRIMARY KEY"
	for _, c := range typeCases {
		ddl += ", " + c.col + " " + c.typ
	}
	ddl += ")"
	return []string{
		"CREATE EXTENSION IF NOT EXISTS hstore", "CREATE EXTENSION IF NOT EXISTS ltree", "CREATE EXTENSION IF NOT EXISTS citext",
		"CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
		"CREATE DOMAIN posint AS integer CHECK (VALUE > 0)",
		ddl,
	}
}

func typesInsert(id int) string {
	q := "INSERT INTO types VALUES (" + itoa(id)
	for _, c := range typeCases {
		q += ", " + c.lit
	}
	return q + ")"
}

func itoa(i int) string { return big.NewInt(int64(i)).String() }

func checkTypes(t *testing.T, ev capture.Event) {
	t.Helper()
	tab := ev.Table
	for _, c := range typeCases {
		i := tab.ColumnIndex(c.col)
		if i < 0 {
			t.Errorf("column %s missing", c.col)
			continue
		}
		got := ev.After[i]
		if show(got) != show(c.want) {
			t.Errorf("%s (%s = %s): got %s, want %s", c.col, c.typ, c.lit, show(got), show(c.want))
		}
	}
	// Column descriptions used by the envelope's type mapping.
	col := func(n string) int { return tab.ColumnIndex(n) }
	cols := tab.Columns
	if c := cols[col("c_num")]; c.Type != "numeric" || c.Length != 12 || c.Scale != 2 {
		t.Errorf("c_num column = %+v", c)
	}
	if c := cols[col("c_num_var")]; c.Scale != -1 || c.Length != -1 {
		t.Errorf("c_num_var column = %+v", c)
	}
	if c := cols[col("c_enum")]; c.Type != "mood" || len(c.Enum) != 3 || c.Enum[2] != "happy" {
		t.Errorf("c_enum column = %+v", c)
	}
	if c := cols[col("c_domain")]; c.Type != "int4" {
		t.Errorf("c_domain column = %+v", c)
	}
	if c := cols[col("c_int_arr")]; !c.Array || c.Type != "int4" {
		t.Errorf("c_int_arr column = %+v", c)
	}
	if c := cols[col("c_time3")]; c.Type != "time" || c.Scale != 3 {
		t.Errorf("c_time3 column = %+v", c)
	}
	if c := cols[col("c_bit")]; c.Type != "bit" || c.Length != 12 {
		t.Errorf("c_bit column = %+v", c)
	}
	if c := cols[col("c_varchar")]; c.Type != "varchar" || c.Length != 10 {
		t.Errorf("c_varchar column = %+v", c)
	}
	if c := cols[0]; c.Nullable || tab.PrimaryKeyNames()[0] != "id" {
		t.Errorf("id column = %+v, key %v", c, tab.PrimaryKeyNames())
	}
}

// TestTypes inserts one row of every type before the snapshot and one while streaming, and
// checks both decode to the exact same Values.
func TestTypes(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec(typesDDL()...)
		db.exec(typesInsert(1))
		cfg := db.config()
		cfg.SnapshotMode = SnapshotInitial
		s := db.open(cfg)
		db.exec(typesInsert(2))
		evs := changesOnly(collect(t, s, 2))
		if evs[0].Op != capture.OpRead || evs[0].Source.Snapshot != capture.SnapshotLast {
			t.Fatalf("first event op %c snapshot %v", evs[0].Op, evs[0].Source.Snapshot)
		}
		if evs[1].Op != capture.OpCreate {
			t.Fatalf("second event op %c", evs[1].Op)
		}
		t.Run("snapshot", func(t *testing.T) { checkTypes(t, evs[0]) })
		t.Run("stream", func(t *testing.T) { checkTypes(t, evs[1]) })
	})
}

// TestExtensionTypes covers PostGIS and pgvector columns where the server has the extension
// (scripts/postgres.sh installs PostGIS for PostgreSQL 15 with PG_POSTGIS=1).
func TestExtensionTypes(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		avail := func(name string) bool {
			var ok bool
			db.conn.QueryRow(context.Background(), "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = $1)", name).Scan(&ok)
			return ok
		}
		var cols, lits []string
		var want []capture.Value
		if avail("postgis") {
			db.exec("CREATE EXTENSION postgis")
			cols = append(cols, "g geometry", "gg geography")
			lits = append(lits, "'SRID=4326;POINT(1 2)'", "'POINT(3 4)'")
			// The EWKB as sent: the SRID flag and the SRID after the type (Debezium's PostgisGeometry).
			pt := func(x, y float64) []byte {
				w := wkbPoint(x, y)
				return append([]byte{w[0], w[1], w[2], w[3], w[4] | 0x20, 0xe6, 0x10, 0, 0}, w[5:]...)
			}
			want = append(want, capture.Value{Kind: capture.Geometry, Flag: capture.HasSRID, Aux: 4326, Bytes: pt(1, 2)},
				capture.Value{Kind: capture.Geometry, Flag: capture.HasSRID, Aux: 4326, Bytes: pt(3, 4)})
		}
		if avail("vector") {
			db.exec("CREATE EXTENSION vector")
			cols = append(cols, "v vector(3)")
			lits = append(lits, "'[1,2.5,-3]'")
			want = append(want, capture.Value{Kind: capture.Vector, Elems: []capture.Value{capture.Float64Value(1), capture.Float64Value(2.5), capture.Float64Value(-3)}})
		}
		if len(cols) == 0 {
			t.Skip("neither postgis nor pgvector is installed on this server")
		}
		db.exec("CREATE TABLE ext (id int PRIMARY KEY, " + strings.Join(cols, ", ") + ")")
		s := db.open(db.config())
		db.exec("INSERT INTO ext VALUES (1, " + strings.Join(lits, ", ") + ")")
		ev := changesOnly(collect(t, s, 1))[0]
		for i, w := range want {
			if show(ev.After[i+1]) != show(w) {
				t.Errorf("%s: got %s, want %s", cols[i], show(ev.After[i+1]), show(w))
			}
		}
	})
}
