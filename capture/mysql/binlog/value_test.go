package binlog

import (
	"math"
	"math/big"
	"reflect"
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/testkit"
)

func ts(y, mo, d, h, mi, s int, us int64) int64 {
	return (capture.DaysFromCivil(int64(y), mo, d)*86400+int64(h*3600+mi*60+s))*1e6 + us
}

func str(s string) capture.Value { return capture.Value{Kind: capture.String, Bytes: []byte(s)} }

func TestRowValues(t *testing.T) {
	signed := testkit.OptionalMeta(nil, metaSignedness, testkit.MSBBitmap(false))
	unsigned := testkit.OptionalMeta(nil, metaSignedness, testkit.MSBBitmap(true))
	utf8 := testkit.OptionalMeta(nil, metaDefaultCharset, testkit.LenEnc(nil, 255))
	bin := testkit.OptionalMeta(nil, metaDefaultCharset, testkit.LenEnc(nil, 63))
	bigU, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	bigN := new(big.Int).Neg(bigU)
	cases := []struct {
		name string
		sql  string // the column and value that produce the case
		typ  ColumnType
		meta []byte
		opt  []byte
		hint *ColumnHint
		cell testkit.Cell
		want capture.Value
	}{
		{"tinyint", "c TINYINT; INSERT -128", TypeTiny, nil, signed, nil, testkit.Int(-128, 1), capture.IntValue(-128)},
		{"tinyint unsigned", "c TINYINT UNSIGNED; INSERT 255", TypeTiny, nil, unsigned, nil, testkit.Int(255, 1), capture.IntValue(255)},
		{"smallint", "c SMALLINT; INSERT -32768", TypeShort, nil, signed, nil, testkit.Int(-32768, 2), capture.IntValue(-32768)},
		{"smallint unsigned", "c SMALLINT UNSIGNED; INSERT 65535", TypeShort, nil, unsigned, nil, testkit.Int(65535, 2), capture.IntValue(65535)},
		{"mediumint", "c MEDIUMINT; INSERT -8388608", TypeInt24, nil, signed, nil, testkit.Int(-8388608, 3), capture.IntValue(-8388608)},
		{"mediumint unsigned", "c MEDIUMINT UNSIGNED; INSERT 16777215", TypeInt24, nil, unsigned, nil, testkit.Int(16777215, 3), capture.IntValue(16777215)},
		{"int", "c INT; INSERT -2147483648", TypeLong, nil, signed, nil, testkit.Int(-2147483648, 4), capture.IntValue(-2147483648)},
		{"int unsigned", "c INT UNSIGNED; INSERT 4294967295", TypeLong, nil, unsigned, nil, testkit.Int(4294967295, 4), capture.IntValue(4294967295)},
		{"int unsigned by hint", "c INT UNSIGNED (binlog_row_metadata=MINIMAL off); INSERT 4294967295", TypeLong, nil, nil, &ColumnHint{Unsigned: true}, testkit.Int(4294967295, 4), capture.IntValue(4294967295)},
		{"bigint", "c BIGINT; INSERT -9223372036854775808", TypeLongLong, nil, signed, nil, testkit.Int(math.MinInt64, 8), capture.IntValue(math.MinInt64)},
		{"bigint unsigned", "c BIGINT UNSIGNED; INSERT 18446744073709551615", TypeLongLong, nil, unsigned, nil, testkit.Int(-1, 8), capture.UintValue(math.MaxUint64)},
		{"float", "c FLOAT; INSERT 1.5", TypeFloat, []byte{4}, nil, nil, testkit.Float(1.5), capture.Float32Value(1.5)},
		{"double", "c DOUBLE; INSERT -2.25e100", TypeDouble, []byte{8}, nil, nil, testkit.Double(-2.25e100), capture.Float64Value(-2.25e100)},
		{"decimal", "c DECIMAL(12,2); INSERT 1234567890.12", TypeNewDecimal, []byte{12, 2}, nil, nil, testkit.Decimal("1234567890.12", 12, 2), capture.DecimalValue(123456789012, 2)},
		{"decimal negative", "c DECIMAL(12,2); INSERT -0.05", TypeNewDecimal, []byte{12, 2}, nil, nil, testkit.Decimal("-0.05", 12, 2), capture.DecimalValue(-5, 2)},
		{"decimal zero", "c DECIMAL(5,0); INSERT 0", TypeNewDecimal, []byte{5, 0}, nil, nil, testkit.Decimal("0", 5, 0), capture.DecimalValue(0, 0)},
		{"decimal big", "c DECIMAL(40,10); INSERT 12345678901234567890.1234567890", TypeNewDecimal, []byte{40, 10}, nil, nil, testkit.Decimal("12345678901234567890.1234567890", 40, 10), capture.BigDecimalValue(bigU, 10)},
		{"decimal big negative", "c DECIMAL(40,10); INSERT -12345678901234567890.1234567890", TypeNewDecimal, []byte{40, 10}, nil, nil, testkit.Decimal("-12345678901234567890.1234567890", 40, 10), capture.BigDecimalValue(bigN, 10)},
		{"decimal 18 digits", "c DECIMAL(18,9); INSERT -999999999.999999999", TypeNewDecimal, []byte{18, 9}, nil, nil, testkit.Decimal("-999999999.999999999", 18, 9), capture.DecimalValue(-999999999999999999, 9)},
		{"year", "c YEAR; INSERT 2024", TypeYear, nil, nil, nil, testkit.Int(124, 1), capture.IntValue(2024)},
		{"year zero", "c YEAR; INSERT 0000", TypeYear, nil, nil, nil, testkit.Int(0, 1), capture.IntValue(0)},
		{"date", "c DATE; INSERT '2024-02-29'", TypeDate, nil, nil, nil, testkit.Date(2024, 2, 29), capture.DateValue(19782)},
		{"date before epoch", "c DATE; INSERT '1000-01-01'", TypeDate, nil, nil, nil, testkit.Date(1000, 1, 1), capture.DateValue(-354285)},
		{"date zero", "c DATE NOT NULL; INSERT '0000-00-00' (sql_mode='')", TypeDate, nil, nil, nil, testkit.Date(0, 0, 0), capture.Value{Kind: capture.Date, Flag: capture.Zero}},
		{"time2", "c TIME(6); INSERT '838:59:59.000000'", TypeTime2, []byte{6}, nil, nil, testkit.Time2((838*3600+59*60+59)*1e6, 6), capture.TimeValue((838*3600+59*60+59)*1e6, 6)},
		{"time2 negative fsp6", "c TIME(6); INSERT '-01:02:03.000004'", TypeTime2, []byte{6}, nil, nil, testkit.Time2(-(3723e6 + 4), 6), capture.TimeValue(-(3723e6 + 4), 6)},
		{"time2 negative fsp2", "c TIME(2); INSERT '-00:00:01.50'", TypeTime2, []byte{2}, nil, nil, testkit.Time2(-1500000, 2), capture.TimeValue(-1500000, 2)},
		{"time2 negative fsp3", "c TIME(3); INSERT '-12:00:00.001'", TypeTime2, []byte{3}, nil, nil, testkit.Time2(-(43200e6 + 1000), 3), capture.TimeValue(-(43200e6 + 1000), 3)},
		{"time2 fsp0", "c TIME; INSERT '-838:59:59'", TypeTime2, []byte{0}, nil, nil, testkit.Time2(-(838*3600+59*60+59)*1e6, 0), capture.TimeValue(-(838*3600+59*60+59)*1e6, 0)},
		{"datetime2", "c DATETIME(6); INSERT '2024-03-05 10:20:30.123456'", TypeDateTime2, []byte{6}, nil, nil, testkit.DateTime2(2024, 3, 5, 10, 20, 30, 123456, 6), capture.TimestampValue(ts(2024, 3, 5, 10, 20, 30, 123456), 6)},
		{"datetime2 fsp0", "c DATETIME; INSERT '9999-12-31 23:59:59'", TypeDateTime2, []byte{0}, nil, nil, testkit.DateTime2(9999, 12, 31, 23, 59, 59, 0, 0), capture.TimestampValue(ts(9999, 12, 31, 23, 59, 59, 0), 0)},
		{"datetime2 fsp3", "c DATETIME(3); INSERT '1969-12-31 23:59:59.999'", TypeDateTime2, []byte{3}, nil, nil, testkit.DateTime2(1969, 12, 31, 23, 59, 59, 999000, 3), capture.TimestampValue(-1000, 3)},
		{"datetime2 zero", "c DATETIME; INSERT '0000-00-00 00:00:00' (sql_mode='')", TypeDateTime2, []byte{0}, nil, nil, testkit.DateTime2(0, 0, 0, 0, 0, 0, 0, 0), capture.Value{Kind: capture.Timestamp, Flag: capture.Zero}},
		{"timestamp2", "c TIMESTAMP(3); INSERT '2023-11-14 22:13:20.5' (UTC)", TypeTimestamp2, []byte{3}, nil, nil, testkit.Timestamp2(1700000000, 500000, 3), capture.TimestampTZValue(1700000000500000, 3)},
		{"timestamp2 zero", "c TIMESTAMP; INSERT '0000-00-00 00:00:00' (sql_mode='')", TypeTimestamp2, []byte{0}, nil, nil, testkit.Timestamp2(0, 0, 0), capture.Value{Kind: capture.TimestampTZ, Flag: capture.Zero}},
		{"bit", "c BIT(10); INSERT b'1000000011'", TypeBit, []byte{2, 1}, nil, nil, testkit.Cell{0x02, 0x03}, capture.Value{Kind: capture.Bits, Bytes: []byte{0x03, 0x02}, Aux: 10}},
		{"bit64", "c BIT(64); INSERT 0x0102030405060708", TypeBit, []byte{0, 8}, nil, nil, testkit.Cell{1, 2, 3, 4, 5, 6, 7, 8}, capture.Value{Kind: capture.Bits, Bytes: []byte{8, 7, 6, 5, 4, 3, 2, 1}, Aux: 64}},
		{"enum with members", "c ENUM('a','b','c'); INSERT 'b'", TypeString, []byte{byte(TypeEnum), 1}, testkit.OptionalMeta(nil, metaEnumStrValue, testkit.StrValues([]string{"a", "b", "c"})), nil, testkit.Int(2, 1), str("b")},
		{"enum by hint", "c ENUM('x','y'); INSERT 'y'", TypeString, []byte{byte(TypeEnum), 1}, nil, &ColumnHint{Members: []string{"x", "y"}}, testkit.Int(2, 1), str("y")},
		{"enum index", "c ENUM('x','y') without metadata or hint", TypeString, []byte{byte(TypeEnum), 2}, nil, nil, testkit.Int(2, 2), capture.IntValue(2)},
		{"enum error value", "c ENUM('x'); INSERT 'zz' (sql_mode='')", TypeString, []byte{byte(TypeEnum), 1}, nil, &ColumnHint{Members: []string{"x"}}, testkit.Int(0, 1), str("")},
		{"set", "c SET('a','b','c','d'); INSERT 'a,c,d'", TypeString, []byte{byte(TypeSet), 1}, testkit.OptionalMeta(nil, metaSetStrValue, testkit.StrValues([]string{"a", "b", "c", "d"})), nil, testkit.Int(0b1101, 1), str("a,c,d")},
		{"set empty", "c SET('a','b'); INSERT ''", TypeString, []byte{byte(TypeSet), 1}, nil, &ColumnHint{Members: []string{"a", "b"}}, testkit.Int(0, 1), str("")},
		{"set bits", "c SET('a','b') without members", TypeString, []byte{byte(TypeSet), 1}, nil, nil, testkit.Int(3, 1), capture.UintValue(3)},
		{"char", "c CHAR(10); INSERT 'abc'", TypeString, []byte{byte(TypeString), 40}, utf8, nil, testkit.VarString("abc", 1), str("abc")},
		{"char long", "c CHAR(255) CHARSET utf8mb4 (1020 bytes: 2-byte length); INSERT 'é'", TypeString, []byte{byte(TypeString) ^ 0x30, 0xfc}, utf8, nil, testkit.VarString("é", 2), str("é")},
		{"binary", "c BINARY(4); INSERT x'00ff'", TypeString, []byte{byte(TypeString), 4}, bin, nil, testkit.VarString("\x00\xff", 1), capture.BytesValue([]byte{0, 0xff})},
		{"varchar", "c VARCHAR(20) CHARSET latin1; INSERT 'hi'", TypeVarchar, []byte{20, 0}, utf8, nil, testkit.VarString("hi", 1), str("hi")},
		{"varchar 2-byte length", "c VARCHAR(300); INSERT 'x'", TypeVarchar, []byte{0x2c, 0x01}, utf8, nil, testkit.VarString("x", 2), str("x")},
		{"varbinary by hint", "c VARBINARY(10); INSERT x'01'", TypeVarchar, []byte{10, 0}, nil, &ColumnHint{Collation: 63}, testkit.VarString("\x01", 1), capture.BytesValue([]byte{1})},
		{"latin1", "c VARCHAR(10) CHARSET latin1; INSERT 'é€'", TypeVarchar, []byte{10, 0}, testkit.OptionalMeta(nil, metaDefaultCharset, testkit.LenEnc(nil, 8)), nil, testkit.VarString("\xe9\x80", 1), str("é€")},
		{"latin1 by hint", "c CHAR(3) CHARSET latin1 (MariaDB, no metadata); INSERT 'ÿ'", TypeString, []byte{byte(TypeString), 3}, nil, &ColumnHint{Collation: 8}, testkit.VarString("\xff", 1), str("ÿ")},
		{"cp1251", "c VARCHAR(10) CHARSET cp1251; INSERT 'Привет'", TypeVarchar, []byte{10, 0}, testkit.OptionalMeta(nil, metaColumnCharset, testkit.LenEnc(nil, 51)), nil, testkit.VarString("\xcf\xf0\xe8\xe2\xe5\xf2", 1), str("Привет")},
		{"ucs2", "c VARCHAR(10) CHARSET ucs2; INSERT 'hé'", TypeVarchar, []byte{20, 0}, nil, &ColumnHint{Collation: 35}, testkit.VarString("\x00h\x00\xe9", 1), str("hé")},
		{"gbk text", "c TEXT CHARSET gbk; INSERT '中文'", TypeBlob, []byte{2}, nil, &ColumnHint{Collation: 28}, testkit.Blob([]byte("\xd6\xd0\xce\xc4"), 2), str("中文")},
		{"text", "c TEXT; INSERT 'hello'", TypeBlob, []byte{2}, utf8, nil, testkit.Blob([]byte("hello"), 2), str("hello")},
		{"longblob", "c LONGBLOB; INSERT x'0102'", TypeBlob, []byte{4}, bin, nil, testkit.Blob([]byte{1, 2}, 4), capture.BytesValue([]byte{1, 2})},
		{"tinytext by hint", "c TINYTEXT; INSERT 'a'", TypeBlob, []byte{1}, nil, &ColumnHint{Collation: 45}, testkit.Blob([]byte("a"), 1), str("a")},
		{"mediumblob no info", "c MEDIUMBLOB; INSERT x'ff'", TypeBlob, []byte{3}, nil, nil, testkit.Blob([]byte{0xff}, 3), capture.BytesValue([]byte{0xff})},
		{"json", `c JSON; INSERT '{"a": 2}'`, TypeJSON, []byte{4}, nil, nil, testkit.Blob(testkit.JSONBinary(testkit.JSONObject{{"a", 2}}), 4), capture.JSONValue([]byte(`{"a":2}`))},
		{"mariadb json", `c JSON (MariaDB LONGTEXT); INSERT '{"a": 2}'`, TypeBlob, []byte{4}, utf8, &ColumnHint{Logical: LogicalJSON}, testkit.Blob([]byte(`{"a": 2}`), 4), capture.JSONValue([]byte(`{"a": 2}`))},
		{"geometry", "c POINT SRID 4326; INSERT ST_SRID(POINT(1,2),4326)", TypeGeometry, []byte{4}, nil, nil,
			testkit.Blob(append([]byte{0xe6, 0x10, 0, 0}, wkbPoint(1, 2)...), 4),
			capture.Value{Kind: capture.Geometry, Flag: capture.HasSRID, Aux: 4326, Bytes: wkbPoint(1, 2)}},
		// BinlogGeometry.fromBytes: SRID 0 (none given) is Debezium's null srid.
		{"geometry no srid", "c POINT; INSERT POINT(1,2)", TypeGeometry, []byte{4}, nil, nil,
			testkit.Blob(append([]byte{0, 0, 0, 0}, wkbPoint(1, 2)...), 4),
			capture.Value{Kind: capture.Geometry, Bytes: wkbPoint(1, 2)}},
		{"vector", "c VECTOR(2); INSERT STRING_TO_VECTOR('[1.5,-2]')", TypeVector, []byte{4}, nil, nil,
			testkit.Blob(append(testkit.Float(1.5), testkit.Float(-2)...), 4),
			capture.Value{Kind: capture.Vector, Elems: []capture.Value{capture.Float32Value(1.5), capture.Float32Value(-2)}}},
		{"mariadb inet6", "c INET6; INSERT '::ffff:1.2.3.4'", TypeString, []byte{byte(TypeString), 16}, bin, &ColumnHint{Logical: LogicalINET6},
			testkit.VarString("\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x01\x02\x03\x04", 1), str("::ffff:1.2.3.4")},
		{"mariadb inet6 full", "c INET6; INSERT '2001:db8::1'", TypeString, []byte{byte(TypeString), 16}, bin, &ColumnHint{Logical: LogicalINET6},
			testkit.VarString("\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", 1), str("2001:db8::1")},
		{"mariadb uuid stripped", "c UUID (MariaDB 10.11); INSERT '123e4567-e89b-12d3-a456-426655440000' (binlog drops trailing zero bytes)", TypeString, []byte{byte(TypeString), 16}, bin, &ColumnHint{Logical: LogicalUUID},
			testkit.VarString("\x12\x3e\x45\x67\xe8\x9b\x12\xd3\xa4\x56\x42\x66\x55\x44", 1), str("123e4567-e89b-12d3-a456-426655440000")},
		{"mariadb inet4 zero tail", "c INET4; INSERT '10.0.0.0'", TypeString, []byte{byte(TypeString), 4}, bin, &ColumnHint{Logical: LogicalINET4},
			testkit.VarString("\x0a", 1), str("10.0.0.0")},
		{"mariadb inet4", "c INET4; INSERT '10.0.0.255'", TypeString, []byte{byte(TypeString), 4}, bin, &ColumnHint{Logical: LogicalINET4},
			testkit.VarString("\x0a\x00\x00\xff", 1), str("10.0.0.255")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tbl := testkit.BinlogTable{ID: 70, Schema: "db", Name: "t",
				Columns:  []testkit.BinlogColumn{{Type: byte(c.typ), Meta: c.meta, Nullable: true}},
				Optional: c.opt}
			var hints []ColumnHint
			if c.hint != nil {
				hints = []ColumnHint{*c.hint}
			}
			body := testkit.RowsBody(2, 70, 1, 1, testkit.All(1), nil, testkit.RowImage(c.cell), testkit.RowImage(nil))
			rows := rowsOf(t, tbl, hints, testkit.BinlogWriteRowsV2, body)
			if len(rows) != 2 {
				t.Fatalf("got %d rows, want 2", len(rows))
			}
			got := rows[0][1][0]
			if !reflect.DeepEqual(normalize(got), normalize(c.want)) {
				t.Errorf("got %+v (%q), want %+v (%q)", got, got.Bytes, c.want, c.want.Bytes)
			}
			if !rows[1][1][0].IsNull() {
				t.Errorf("second row: got %+v, want NULL", rows[1][1][0])
			}
		})
	}
}

// normalize makes empty and nil byte slices compare equal.
func normalize(v capture.Value) capture.Value {
	if len(v.Bytes) == 0 {
		v.Bytes = nil
	}
	return v
}

func wkbPoint(x, y float64) []byte {
	b := []byte{1, 1, 0, 0, 0}
	b = append(b, testkit.Double(x)...)
	return append(b, testkit.Double(y)...)
}
