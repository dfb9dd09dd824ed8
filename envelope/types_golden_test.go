package envelope

import (
	"encoding/binary"
	"math"
	"math/big"
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

// typeCase is one row of spec §4: a table (id INT/int4 PRIMARY KEY, c <type>) and inserts of the
// given values of c, encoded with schemas enabled so the golden shows the field schema (type,
// semantic name, parameters, default) and the rendered payloads.
type typeCase struct {
	name string
	c    schema.Column
	opts Options
	vals []capture.Value
}

func tcol(typ string, length, scale int, nullable bool) schema.Column {
	return schema.Column{Name: "c", Type: typ, Length: length, Scale: scale, Nullable: nullable}
}

func withDefault(c schema.Column, d string) schema.Column {
	c.Default, c.HasDefault = d, true
	return c
}

func withEnum(c schema.Column, members ...string) schema.Column { c.Enum = members; return c }
func unsigned(c schema.Column) schema.Column                    { c.Unsigned = true; return c }
func array(c schema.Column) schema.Column                       { c.Array = true; return c }

func str(s string) capture.Value { return capture.StringValue([]byte(s)) }

func wkbPoint(x, y float64) []byte {
	b := make([]byte, 21)
	b[0] = 1
	binary.LittleEndian.PutUint32(b[1:], 1)
	binary.LittleEndian.PutUint64(b[5:], math.Float64bits(x))
	binary.LittleEndian.PutUint64(b[13:], math.Float64bits(y))
	return b
}

func arr(vs ...capture.Value) capture.Value { return capture.Value{Kind: capture.Array, Elems: vs} }

var null = capture.Value{}

const ts2024 = 1705314600000000 // 2024-01-15 10:30:00 UTC in µs

func runTypeCases(t *testing.T, dir string, d schema.Dialect, cases []typeCase) {
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := schema.Column{Name: "id", Type: "int", Length: -1, Scale: -1}
			tab := &schema.Table{Dialect: d, Columns: []schema.Column{id, tc.c}, PrimaryKey: []int{0}, Version: 1}
			src := capture.Source{Connector: "mysql", TsMicros: ts2024, DB: "db", Table: "t", ServerID: 1,
				File: "binlog.000001", Pos: 4}
			tab.ID = schema.TableID{DB: "db", Table: "t"}
			if d == schema.Postgres {
				id.Type = "int4"
				tab.ID = schema.TableID{DB: "db", Schema: "public", Table: "t"}
				src = capture.Source{Connector: "postgresql", TsMicros: ts2024, DB: "db", Schema: "public", Table: "t",
					TxID: 1, HasTxID: true, LSN: 100, HasLSN: true}
			}
			var evs []*capture.Event
			for i, v := range tc.vals {
				evs = append(evs, &capture.Event{Kind: capture.Change, Op: capture.OpCreate, Table: tab,
					After: capture.Row{capture.IntValue(int64(i + 1)), v}, Source: src})
			}
			cfg := Config{TopicPrefix: "srv", SchemasEnable: true, TombstonesOnDelete: true, Options: tc.opts,
				Now: clock(1705314600500000000)}
			checkGolden(t, dir+"/"+tc.name, formatRecords(encodeAll(t, cfg, evs...)))
		})
	}
}

// TestGoldenMySQLTypes covers every row of spec §4.1–4.3 for MySQL/MariaDB.
func TestGoldenMySQLTypes(t *testing.T) {
	precise := Options{BigintUnsigned: BigintPrecise}
	dbl := Options{Decimal: DecimalDouble}
	strm := Options{Decimal: DecimalString}
	adaptive := Options{Time: TimeAdaptive}
	connect := Options{Time: TimeConnect}
	micro := Options{Time: TimeMicroseconds}
	iso := Options{Time: TimeISOString}
	maxU := capture.UintValue(math.MaxUint64)
	cases := []typeCase{
		{"boolean", tcol("boolean", -1, -1, true), Options{}, []capture.Value{capture.BoolValue(true), null}},
		{"tinyint1", tcol("tinyint", 1, -1, false), Options{}, []capture.Value{capture.IntValue(1)}},
		{"bit1", withDefault(tcol("bit", 1, -1, true), "b'1'"), Options{}, []capture.Value{{Kind: capture.Bits, Bytes: []byte{0}, Aux: 1}, null}},
		{"bit10", tcol("bit", 10, -1, false), Options{}, []capture.Value{{Kind: capture.Bits, Bytes: []byte{0x05, 0x02}, Aux: 10}}},
		{"tinyint", withDefault(tcol("tinyint", -1, -1, true), "-5"), Options{}, []capture.Value{capture.IntValue(-128), null}},
		{"tinyint_unsigned", unsigned(tcol("tinyint", -1, -1, false)), Options{}, []capture.Value{capture.IntValue(255)}},
		{"smallint", tcol("smallint", -1, -1, false), Options{}, []capture.Value{capture.IntValue(-32768)}},
		{"smallint_unsigned", unsigned(tcol("smallint", -1, -1, false)), Options{}, []capture.Value{capture.IntValue(65535)}},
		{"mediumint", tcol("mediumint", -1, -1, false), Options{}, []capture.Value{capture.IntValue(-8388608)}},
		{"mediumint_unsigned", unsigned(tcol("mediumint", -1, -1, false)), Options{}, []capture.Value{capture.IntValue(16777215)}},
		{"int", withDefault(tcol("int", -1, -1, false), "42"), Options{}, []capture.Value{capture.IntValue(math.MinInt32)}},
		{"int_unsigned", unsigned(tcol("int", -1, -1, false)), Options{}, []capture.Value{capture.IntValue(math.MaxUint32)}},
		{"bigint", tcol("bigint", -1, -1, false), Options{}, []capture.Value{capture.IntValue(math.MinInt64)}},
		{"bigint_unsigned_long", unsigned(tcol("bigint", -1, -1, false)), Options{}, []capture.Value{maxU, capture.UintValue(7)}},
		{"bigint_unsigned_precise", unsigned(tcol("bigint", -1, -1, false)), precise, []capture.Value{maxU, capture.UintValue(7)}},
		{"float", withDefault(tcol("float", -1, -1, true), "1.5"), Options{}, []capture.Value{capture.Float32Value(3.14), null}},
		{"float_p30_double", tcol("float", 30, -1, false), Options{}, []capture.Value{capture.Float64Value(3.14)}},
		{"double", tcol("double", -1, -1, false), Options{}, []capture.Value{capture.Float64Value(1e10), capture.Float64Value(0.1), capture.Float64Value(-1.5e-7)}},
		{"decimal_precise", withDefault(tcol("decimal", 10, 2, true), "12.5"), Options{}, []capture.Value{capture.DecimalValue(12345, 2), capture.DecimalValue(-5, 1), null}},
		{"decimal_double", tcol("decimal", 10, 2, false), dbl, []capture.Value{capture.DecimalValue(12345, 2)}},
		{"decimal_string", tcol("decimal", 10, 2, false), strm, []capture.Value{capture.DecimalValue(12345, 2), capture.DecimalValue(-5, 1)}},
		{"decimal_string_small", tcol("decimal", 20, 10, false), strm, []capture.Value{capture.DecimalValue(1, 10), capture.DecimalValue(0, 10), capture.DecimalValue(12345, 10)}},
		{"decimal_65_30", tcol("decimal", 65, 30, false), Options{}, []capture.Value{capture.BigDecimalValue(new(big.Int).Exp(big.NewInt(10), big.NewInt(40), nil), 30)}},
		{"char", tcol("char", 3, -1, false), Options{}, []capture.Value{str("abc")}},
		{"varchar", withDefault(tcol("varchar", 255, -1, true), "n/a"), Options{}, []capture.Value{str("tab\there \"quoted\" ünï €"), null}},
		{"text", tcol("text", -1, -1, false), Options{}, []capture.Value{str("line1\nline2\u0001")}},
		{"binary_bytes", tcol("varbinary", 16, -1, false), Options{}, []capture.Value{capture.BytesValue([]byte{0, 1, 0xfe, 0xff})}},
		{"binary_base64", tcol("blob", -1, -1, false), Options{Binary: BinaryBase64}, []capture.Value{capture.BytesValue([]byte{0, 1, 0xfe, 0xff})}},
		{"binary_base64_url_safe", tcol("blob", -1, -1, false), Options{Binary: BinaryBase64URLSafe}, []capture.Value{capture.BytesValue([]byte{0, 1, 0xfe, 0xff})}},
		{"binary_padded", tcol("binary", 6, -1, false), Options{}, []capture.Value{capture.BytesValue([]byte{0, 1, 0xfe, 0xff})}},
		{"binary_hex", tcol("binary", 4, -1, false), Options{Binary: BinaryHex}, []capture.Value{capture.BytesValue([]byte{0, 1, 0xfe, 0xff})}},
		{"json", tcol("json", -1, -1, true), Options{}, []capture.Value{capture.JSONValue([]byte(`{"a":2,"b":[1,2]}`)), null}},
		{"enum", withDefault(withEnum(tcol("enum", -1, -1, false), "new", "paid", "shipped"), "new"), Options{}, []capture.Value{str("paid")}},
		{"set", withEnum(tcol("set", -1, -1, true), "a", "b", "c"), Options{}, []capture.Value{str("a,c"), null}},
		// MySqlAntlrDdlParserTest.shouldParseEnumOptionsWithCommaQuoteAndBackslash (debezium/dbz#2102):
		// allowed escapes ',' and '\' (EnumeratedValues.toCommaSeparatedString); values stay as stored.
		{"enum_escaped", withEnum(tcol("enum", -1, -1, false), "plain", "a,b", "it's", `back\slash`, `back\,comma`, `ends\`, ""),
			Options{}, []capture.Value{str("a,b"), str(`ends\`), str("")}},
		{"set_escaped", withEnum(tcol("set", -1, -1, true), "plain", "it's", `back\slash`, "x,y"), Options{}, []capture.Value{str(`it's,back\slash`)}},
		{"year", tcol("year", -1, -1, false), Options{}, []capture.Value{capture.IntValue(2024)}},
		{"date", withDefault(tcol("date", -1, -1, false), "2024-01-15"), Options{}, []capture.Value{capture.DateValue(19737), capture.DateValue(-1)}},
		{"date_connect", tcol("date", -1, -1, false), connect, []capture.Value{capture.DateValue(19737)}},
		// BinlogYearIT.assertChangeRecordByConnector: 0018-04-01 → 17622 (2018-04-01), 0078-04-01 and
		// 1978-04-01 → 3012; 0100-01-01 and 0000-00-00 are left alone.
		{"date_two_digit_year", tcol("date", -1, -1, true), Options{}, []capture.Value{capture.DateValue(-712863), capture.DateValue(-690948),
			capture.DateValue(3012), capture.DateValue(capture.DaysFromCivil(100, 1, 1)), {Kind: capture.Date, Flag: capture.Zero}}},
		// A DEFAULT goes through the same converter (BinlogDefaultValueConverter): 0078-04-01 → 3012.
		{"date_two_digit_year_default", withDefault(tcol("date", -1, -1, true), "0078-04-01"), Options{}, []capture.Value{null}},
		// BinlogYearIT.assertChangeRecordByDatabase (enable.time.adjuster=false): -712863, -690948.
		{"date_two_digit_year_no_adjuster", tcol("date", -1, -1, false), Options{NoTimeAdjuster: true}, []capture.Value{capture.DateValue(-712863), capture.DateValue(-690948)}},
		{"date_two_digit_year_isostring", tcol("date", -1, -1, false), iso, []capture.Value{capture.DateValue(-690948)}},
		{"date_isostring", tcol("date", -1, -1, false), iso, []capture.Value{capture.DateValue(19737)}},
		{"date_zero_nullable", withDefault(tcol("date", -1, -1, true), "0000-00-00"), Options{}, []capture.Value{{Kind: capture.Date, Flag: capture.Zero}}},
		{"date_zero_required", tcol("date", -1, -1, false), Options{}, []capture.Value{{Kind: capture.Date, Flag: capture.Zero}}},
		{"time", tcol("time", -1, 0, false), Options{}, []capture.Value{capture.TimeValue(37800000000, 0), capture.TimeValue(-3600000000, 0)}},
		{"time3_adaptive", tcol("time", -1, 3, false), adaptive, []capture.Value{capture.TimeValue(37800123000, 3)}},
		{"time6_adaptive", tcol("time", -1, 6, false), adaptive, []capture.Value{capture.TimeValue(37800123456, 6)}},
		{"time_connect", tcol("time", -1, 6, false), connect, []capture.Value{capture.TimeValue(37800123456, 6)}},
		{"time_isostring", tcol("time", -1, 3, false), iso, []capture.Value{capture.TimeValue(37800123000, 3)}},
		{"datetime", withDefault(tcol("datetime", -1, 0, false), "CURRENT_TIMESTAMP"), Options{}, []capture.Value{capture.TimestampValue(ts2024, 0)}},
		{"datetime3", tcol("datetime", -1, 3, false), Options{}, []capture.Value{capture.TimestampValue(ts2024+123000, 3)}},
		{"datetime6", withDefault(tcol("datetime", -1, 6, true), "2024-01-15 10:30:00.000001"), Options{}, []capture.Value{capture.TimestampValue(ts2024+123456, 6), null}},
		{"datetime_connect", tcol("datetime", -1, 6, false), connect, []capture.Value{capture.TimestampValue(ts2024+123456, 6)}},
		// BinlogYearIT: '0018-04-01 12:34:56' → 1522586096000, '0078-04-01 12:34:56' → 260282096000.
		{"datetime_two_digit_year", tcol("datetime", -1, 0, false), Options{}, []capture.Value{
			capture.TimestampValue((-712863*86400+45296)*1e6, 0), capture.TimestampValue((-690948*86400+45296)*1e6, 0)}},
		{"datetime_two_digit_year_no_adjuster", tcol("datetime", -1, 0, false), Options{NoTimeAdjuster: true}, []capture.Value{
			capture.TimestampValue((-690948*86400+45296)*1e6, 0)}},
		{"datetime6_two_digit_year_isostring", tcol("datetime", -1, 6, false), iso, []capture.Value{capture.TimestampValue((-690948*86400+45296)*1e6+5, 6)}},
		{"timestamp_two_digit_year", tcol("timestamp", -1, 0, false), Options{}, []capture.Value{capture.TimestampTZValue((-690948*86400+45296)*1e6, 0)}},
		{"datetime_microseconds", tcol("datetime", -1, 0, false), micro, []capture.Value{capture.TimestampValue(ts2024, 0)}},
		{"datetime_isostring", tcol("datetime", -1, 6, false), iso, []capture.Value{capture.TimestampValue(ts2024+123456, 6)}},
		{"datetime_zero_nullable", tcol("datetime", -1, 0, true), Options{}, []capture.Value{{Kind: capture.Timestamp, Flag: capture.Zero}}},
		{"timestamp", withDefault(tcol("timestamp", -1, 0, false), "CURRENT_TIMESTAMP"), Options{}, []capture.Value{capture.TimestampTZValue(ts2024, 0)}},
		{"timestamp3", tcol("timestamp", -1, 3, true), Options{}, []capture.Value{capture.TimestampTZValue(ts2024+120000, 3), null}},
		{"point", tcol("point", -1, -1, true), Options{}, []capture.Value{{Kind: capture.Geometry, Bytes: wkbPoint(1, 2.5)}, null}},
		{"geometry", tcol("linestring", -1, -1, false), Options{}, []capture.Value{{Kind: capture.Geometry, Bytes: []byte{1, 2, 0, 0, 0, 0, 0, 0, 0}, Aux: 4326, Flag: capture.HasSRID}}},
		{"vector", tcol("vector", 3, -1, false), Options{}, []capture.Value{{Kind: capture.Vector, Elems: []capture.Value{capture.Float32Value(1), capture.Float32Value(0.5), capture.Float32Value(-2.25)}}}},
	}
	runTypeCases(t, "mysql", schema.MySQL, cases)
}

// TestGoldenPostgresTypes covers every row of spec §4.2–4.4 for PostgreSQL.
func TestGoldenPostgresTypes(t *testing.T) {
	dbl := Options{Decimal: DecimalDouble}
	strm := Options{Decimal: DecimalString}
	connect := Options{Time: TimeConnect}
	amicro := Options{Time: TimeAdaptiveMicroseconds}
	iso := Options{Time: TimeISOString}
	nan := capture.Value{Kind: capture.Decimal, Flag: capture.NaN}
	cases := []typeCase{
		{"bool", withDefault(tcol("bool", -1, -1, true), "true"), Options{}, []capture.Value{capture.BoolValue(false), null}},
		{"bit1", tcol("bit", 1, -1, false), Options{}, []capture.Value{{Kind: capture.Bits, Bytes: []byte{1}, Aux: 1}}},
		{"bit8", tcol("bit", 8, -1, false), Options{}, []capture.Value{{Kind: capture.Bits, Bytes: []byte{0xa5}, Aux: 8}}},
		{"varbit", tcol("varbit", -1, -1, false), Options{}, []capture.Value{{Kind: capture.Bits, Bytes: []byte{0x05, 0x01}, Aux: 11}}},
		// AbstractRecordsProducerTest.schemaAndValuesForBinTypes: the bytes end at the highest bit
		// set, '00'::bit(2) in a BIT VARYING(2) is no bytes; B'000…01' in a BIT(24) is one byte.
		{"bits_minimal", tcol("bit", 24, -1, true), Options{}, []capture.Value{{Kind: capture.Bits, Bytes: []byte{0x01, 0, 0}, Aux: 24},
			{Kind: capture.Bits, Bytes: []byte{0x01, 0x02, 0x03}, Aux: 24}, {Kind: capture.Bits, Bytes: []byte{0}, Aux: 24}}},
		// PostgresDefaultValueConverter hands the default's bit string to the same converter.
		{"bits_default", withDefault(tcol("bit", 12, -1, true), `B'000000000001'::"bit"`), Options{}, []capture.Value{null}},
		{"varbit2_zero", tcol("varbit", 2, -1, true), Options{}, []capture.Value{{Kind: capture.Bits, Bytes: []byte{0}, Aux: 2}}},
		{"int2", withDefault(tcol("int2", -1, -1, true), "'-7'::smallint"), Options{}, []capture.Value{capture.IntValue(-32768), null}},
		{"int4_serial", withDefault(tcol("int4", -1, -1, false), "nextval('t_c_seq'::regclass)"), Options{}, []capture.Value{capture.IntValue(7)}},
		{"int8", tcol("int8", -1, -1, false), Options{}, []capture.Value{capture.IntValue(math.MaxInt64)}},
		{"oid", tcol("oid", -1, -1, false), Options{}, []capture.Value{capture.IntValue(16384)}},
		{"float4", withDefault(tcol("float4", -1, -1, true), "1.5"), Options{}, []capture.Value{capture.Float32Value(0.1), null}},
		{"float8", tcol("float8", -1, -1, false), Options{}, []capture.Value{capture.Float64Value(12345678.9), capture.Float64Value(math.NaN()), capture.Float64Value(math.Inf(-1))}},
		{"numeric_precise", withDefault(tcol("numeric", 12, 2, true), "0"), Options{}, []capture.Value{capture.DecimalValue(1999, 2), null}},
		{"numeric_double", tcol("numeric", 12, 2, false), dbl, []capture.Value{capture.DecimalValue(1999, 2), nan}},
		{"numeric_string", tcol("numeric", 12, 2, false), strm, []capture.Value{capture.DecimalValue(1999, 2), capture.DecimalValue(5, 0), nan}},
		{"numeric_variable", tcol("numeric", -1, -1, true), Options{}, []capture.Value{capture.DecimalValue(5, 1), capture.DecimalValue(-123456789, 4), null}},
		{"numeric_variable_string", tcol("numeric", -1, -1, false), strm, []capture.Value{capture.DecimalValue(5, 1)}},
		{"money", tcol("money", -1, -1, false), Options{}, []capture.Value{capture.DecimalValue(1234, 2)}},
		{"varchar", withDefault(tcol("varchar", 20, -1, true), "'n/a'::character varying"), Options{}, []capture.Value{str("héllo"), null}},
		{"bpchar", tcol("bpchar", 3, -1, false), Options{}, []capture.Value{str("ab ")}},
		{"text", withDefault(tcol("text", -1, -1, false), "''::text"), Options{}, []capture.Value{str("x")}},
		{"citext", tcol("citext", -1, -1, false), Options{}, []capture.Value{str("MiXeD")}},
		{"timestamptz", withDefault(tcol("timestamptz", -1, -1, false), "now()"), Options{}, []capture.Value{capture.TimestampTZValue(ts2024, 6)}},
		{"timestamptz3", tcol("timestamptz", -1, 3, true), Options{}, []capture.Value{capture.TimestampTZValue(ts2024+120000, 3), null}},
		{"timestamptz_infinity", tcol("timestamptz", -1, -1, false), Options{}, []capture.Value{{Kind: capture.TimestampTZ, Flag: capture.PosInfinity}, {Kind: capture.TimestampTZ, Flag: capture.NegInfinity}}},
		{"timestamptz_year_21016", tcol("timestamptz", -1, -1, false), Options{}, []capture.Value{capture.TimestampTZValue(capture.DaysFromCivil(21016, 11, 4)*86400_000_000+24690000000, 6)}},
		{"timetz", tcol("timetz", -1, -1, false), Options{}, []capture.Value{{Kind: capture.TimeTZ, Int: 45000500000, Aux: 7200}}},
		{"timestamp", withDefault(tcol("timestamp", -1, -1, false), "'2024-01-15 10:30:00'::timestamp without time zone"), Options{}, []capture.Value{capture.TimestampValue(ts2024+123456, 6)}},
		{"timestamp3", tcol("timestamp", -1, 3, false), Options{}, []capture.Value{capture.TimestampValue(ts2024+123000, 3)}},
		{"timestamp_connect", tcol("timestamp", -1, -1, false), connect, []capture.Value{capture.TimestampValue(ts2024+123456, 6)}},
		{"timestamp_isostring", tcol("timestamp", -1, -1, false), iso, []capture.Value{capture.TimestampValue(ts2024+123456, 6)}},
		{"timestamp_infinity", tcol("timestamp", -1, -1, false), Options{}, []capture.Value{{Kind: capture.Timestamp, Flag: capture.PosInfinity}, {Kind: capture.Timestamp, Flag: capture.NegInfinity}}},
		{"time", withDefault(tcol("time", -1, -1, false), "'10:30:00'::time without time zone"), Options{}, []capture.Value{capture.TimeValue(37800123456, 6)}},
		{"time3", tcol("time", -1, 3, false), Options{}, []capture.Value{capture.TimeValue(37800123000, 3)}},
		{"time3_adaptive_time_microseconds", tcol("time", -1, 3, false), amicro, []capture.Value{capture.TimeValue(37800123000, 3)}},
		{"date", withDefault(tcol("date", -1, -1, false), "'2024-01-15'::date"), Options{}, []capture.Value{capture.DateValue(19737)}},
		{"interval", tcol("interval", -1, -1, false), Options{}, []capture.Value{{Kind: capture.Interval, Aux: 14, Int: 3*86400_000_000 + 14706780000}}},
		// interval.handling.mode=string (RecordsStreamProducerIT shouldReceiveChangesForIntervalAsString): the
		// source's text keeps days and the clock part apart.
		{"interval_string", withDefault(tcol("interval", -1, -1, false), "'1 day 02:00:00'::interval"), Options{Interval: IntervalString}, []capture.Value{
			{Kind: capture.Interval, Aux: 14, Int: 3*86400_000_000 + 14706780000, Bytes: []byte("1 year 2 mons 3 days 04:05:06.78")},
			{Kind: capture.Interval, Int: 86400_000_000 - 25*3600_000_000, Bytes: []byte("1 day -25:00:00")},
			{Kind: capture.Interval, Aux: -14, Int: -14706780000, Bytes: []byte("-1 years -2 mons -04:05:06.78")},
			{Kind: capture.Interval, Bytes: []byte("00:00:00")},
			{Kind: capture.Interval, Aux: 1, Int: 2*86400_000_000 + 1}}},
		{"bytea", tcol("bytea", -1, -1, true), Options{}, []capture.Value{capture.BytesValue([]byte("\x00\xffabc")), null}},
		{"bytea_hex", tcol("bytea", -1, -1, false), Options{Binary: BinaryHex}, []capture.Value{capture.BytesValue([]byte("\x00\xffabc"))}},
		{"json", withDefault(tcol("json", -1, -1, true), "'{}'::json"), Options{}, []capture.Value{capture.JSONValue([]byte(`{"a":1}`)), null}},
		{"jsonb", tcol("jsonb", -1, -1, false), Options{}, []capture.Value{capture.JSONValue([]byte(`{"a": 1, "b": "x\"y"}`))}},
		{"xml", tcol("xml", -1, -1, false), Options{}, []capture.Value{str("<a>b</a>")}},
		{"uuid", withDefault(tcol("uuid", -1, -1, false), "gen_random_uuid()"), Options{}, []capture.Value{str(accountID)}},
		{"hstore", tcol("hstore", -1, -1, false), Options{}, []capture.Value{capture.JSONValue([]byte(`{"a":"1"}`))}},
		// hstore.handling.mode=map (AbstractRecordsProducerTest schemaAndValueFieldForMapEncodedHStoreType*): a map
		// of optional strings; unchanged TOAST is UnchangedToastedPlaceholder's one-entry map.
		{"hstore_map", tcol("hstore", -1, -1, true), Options{HStore: HStoreMap}, []capture.Value{capture.JSONValue([]byte(`{"key1":"val1","key2":null}`)), null, {Kind: capture.Unavailable}}},
		{"hstore_map_array", array(tcol("hstore", -1, -1, true)), Options{HStore: HStoreMap}, []capture.Value{arr(capture.JSONValue([]byte(`{"key4":"val4","key5":null}`)), capture.JSONValue([]byte(`{"key6":"val6"}`)))}},
		{"enum", withEnum(tcol("mood", -1, -1, false), "sad", "ok", "happy"), Options{}, []capture.Value{str("ok")}},
		{"inet", tcol("inet", -1, -1, false), Options{}, []capture.Value{str("192.168.0.1/24")}},
		{"cidr", tcol("cidr", -1, -1, false), Options{}, []capture.Value{str("10.0.0.0/8")}},
		{"macaddr", tcol("macaddr", -1, -1, false), Options{}, []capture.Value{str("08:00:2b:01:02:03")}},
		{"int4range", tcol("int4range", -1, -1, false), Options{}, []capture.Value{str("[1,10)")}},
		{"ltree", tcol("ltree", -1, -1, false), Options{}, []capture.Value{str("a.b.c")}},
		{"isbn", tcol("isbn", -1, -1, false), Options{}, []capture.Value{str("0-393-04002-X")}},
		{"tsvector", tcol("tsvector", -1, -1, false), Options{}, []capture.Value{str("'a':1 'b':2")}},
		{"point", tcol("point", -1, -1, false), Options{}, []capture.Value{{Kind: capture.Geometry, Bytes: wkbPoint(-1.5, 3)}}},
		{"geometry", tcol("geometry", -1, -1, false), Options{}, []capture.Value{{Kind: capture.Geometry, Bytes: wkbPoint(1, 2), Aux: 4326, Flag: capture.HasSRID}}},
		{"geography", tcol("geography", -1, -1, true), Options{}, []capture.Value{{Kind: capture.Geometry, Bytes: wkbPoint(1, 2), Aux: 4326, Flag: capture.HasSRID}, null}},
		{"vector", tcol("vector", 3, -1, false), Options{}, []capture.Value{{Kind: capture.Vector, Elems: []capture.Value{capture.Float64Value(1), capture.Float64Value(0.5)}}}},
		{"halfvec", tcol("halfvec", 2, -1, false), Options{}, []capture.Value{{Kind: capture.Vector, Elems: []capture.Value{capture.Float32Value(1), capture.Float32Value(0.5)}}}},
		{"int4_array", array(tcol("int4", -1, -1, true)), Options{}, []capture.Value{arr(capture.IntValue(1), null, capture.IntValue(3)), null}},
		{"text_array", array(tcol("text", -1, -1, true)), Options{}, []capture.Value{arr(str("a"), str("b"))}},
		{"uuid_array", array(tcol("uuid", -1, -1, false)), Options{}, []capture.Value{arr(str(accountID))}},
		{"numeric_array", array(tcol("numeric", 5, 2, false)), Options{}, []capture.Value{arr(capture.DecimalValue(150, 2))}},
		{"timestamptz_array", array(tcol("timestamptz", -1, -1, false)), Options{}, []capture.Value{arr(capture.TimestampTZValue(ts2024, 6))}},
		{"time_array", array(tcol("time", -1, 3, true)), Options{}, []capture.Value{arr(capture.TimeValue(37800123000, 3))}},
		{"timestamp_array_microseconds", array(tcol("timestamp", -1, -1, true)), Options{Time: TimeMicroseconds}, []capture.Value{arr(capture.TimestampValue(ts2024+123456, 6))}},
		{"enum_array", array(withEnum(tcol("mood", -1, -1, true), "sad", "ok")), Options{}, []capture.Value{arr(str("ok"), str("sad"))}},
		{"toast_text", tcol("text", -1, -1, true), Options{}, []capture.Value{{Kind: capture.Unavailable}}},
		{"toast_bytea", tcol("bytea", -1, -1, true), Options{}, []capture.Value{{Kind: capture.Unavailable}}},
		{"toast_text_array", array(tcol("text", -1, -1, true)), Options{}, []capture.Value{{Kind: capture.Unavailable}}},
		{"toast_int8_array", array(tcol("int8", -1, -1, true)), Options{}, []capture.Value{{Kind: capture.Unavailable}}},
		{"toast_uuid_array", array(tcol("uuid", -1, -1, true)), Options{}, []capture.Value{{Kind: capture.Unavailable}}},
	}
	runTypeCases(t, "postgres", schema.Postgres, cases)
}
