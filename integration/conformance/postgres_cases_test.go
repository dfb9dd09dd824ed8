//go:build integration

package conformance

import (
	"encoding/hex"
	"fmt"
	"time"
)

// Debezium's PostgreSQL test tables: debezium-connector-postgres/src/test/resources/
// postgres_create_tables.ddl, rows INSERT_*_STMT of AbstractRecordsProducerTest, expectations
// of its schemaAndValues* methods (asserted by RecordsSnapshotProducerIT and
// RecordsStreamProducerIT).
const arpt = "debezium-connector-postgres/src/test/java/io/debezium/connector/postgresql/AbstractRecordsProducerTest.java"

// Connect schema names.
const (
	nDecimal     = "org.apache.kafka.connect.data.Decimal"
	nVarDecimal  = "io.debezium.data.VariableScaleDecimal"
	nJSON        = "io.debezium.data.Json"
	nXML         = "io.debezium.data.Xml"
	nUUID        = "io.debezium.data.Uuid"
	nPoint       = "io.debezium.data.geometry.Point"
	nDate        = "io.debezium.time.Date"
	nTime        = "io.debezium.time.Time"
	nMicroTime   = "io.debezium.time.MicroTime"
	nTimestamp   = "io.debezium.time.Timestamp"
	nMicroTs     = "io.debezium.time.MicroTimestamp"
	nZonedTs     = "io.debezium.time.ZonedTimestamp"
	nZonedTime   = "io.debezium.time.ZonedTime"
	nMicroDur    = "io.debezium.time.MicroDuration"
	nInterval    = "io.debezium.time.Interval"
	nYear        = "io.debezium.time.Year"
	nEnum        = "io.debezium.data.Enum"
	nEnumSet     = "io.debezium.data.EnumSet"
	nBits        = "io.debezium.data.Bits"
	nGeometry    = "io.debezium.data.geometry.Geometry"
	nConnectDate = "org.apache.kafka.connect.data.Date"
	nConnectTime = "org.apache.kafka.connect.data.Time"
	nConnectTs   = "org.apache.kafka.connect.data.Timestamp"
)

func prec(p, s string) map[string]string {
	return map[string]string{"scale": s, "connect.decimal.precision": p}
}

func varDecimal(scale int, unscaled int64) string {
	return fmt.Sprintf(`{"scale":%d,"value":%s}`, scale, decimal(unscaled))
}

func micros(t time.Time) string { return fmt.Sprint(t.UnixMicro()) }
func millis(t time.Time) string { return fmt.Sprint(t.UnixMilli()) }
func utc(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
	return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
}

var pgCases = []*Case{
	{
		Name: "pg numeric_table", Cite: arpt + " schemasAndValuesForNumericType (INSERT_NUMERIC_TYPES_STMT)",
		DDL: "CREATE TABLE numeric_table (pk SERIAL, si SMALLINT, i INTEGER, bi BIGINT, r REAL, db DOUBLE PRECISION, r_int REAL, db_int DOUBLE PRECISION, " +
			"ss SMALLSERIAL, bs BIGSERIAL, b BOOLEAN, o OID, PRIMARY KEY(pk))",
		Insert: "INSERT INTO numeric_table (si, i, bi, r, db, r_int, db_int, ss, bs, b, o) VALUES (1, 123456, 1234567890123, 3.3, 4.44, 3, 4, 1, 123, true, 4000000000)",
		Checks: []Check{
			{Col: "si", Type: "int16", Value: "1"},
			{Col: "i", Type: "int32", Value: "123456"},
			{Col: "bi", Type: "int64", Value: "1234567890123"},
			{Col: "r", Type: "float", Value: "3.3"},
			{Col: "db", Type: "double", Value: "4.44"},
			{Col: "r_int", Type: "float", Value: "3.0"},
			{Col: "db_int", Type: "double", Value: "4.0"},
			{Col: "ss", Required: true, Default: "0", Type: "int16", Value: "1"},
			{Col: "bs", Required: true, Default: "0", Type: "int64", Value: "123"},
			{Col: "b", Type: "boolean", Value: "true"},
			{Col: "o", Type: "int64", Value: "4000000000"},
		},
	},
	{
		Name: "pg numeric_decimal_table", Cite: arpt + " schemasAndValuesForBigDecimalEncodedNumericTypes, schemasAndValuesForStringEncodedNumericTypes, " +
			"schemasAndValuesForDoubleEncodedNumericTypes (INSERT_NUMERIC_DECIMAL_TYPES_STMT_NO_NAN)",
		DDL: "CREATE TABLE numeric_decimal_table (pk SERIAL, d DECIMAL(3,2), dzs DECIMAL(4), dvs DECIMAL, d_nn DECIMAL(3,2) NOT NULL, n NUMERIC(6,4), nzs NUMERIC(4), nvs NUMERIC, " +
			"d_int DECIMAL(3,2), dzs_int DECIMAL(4), dvs_int DECIMAL, n_int NUMERIC(6,4), nzs_int NUMERIC(4), nvs_int NUMERIC, " +
			"d_nan DECIMAL(3,2), dzs_nan DECIMAL(4), dvs_nan DECIMAL, n_nan NUMERIC(6,4), nzs_nan NUMERIC(4), nvs_nan NUMERIC, PRIMARY KEY(pk))",
		Insert: "INSERT INTO numeric_decimal_table (d, dzs, dvs, d_nn, n, nzs, nvs, d_int, dzs_int, dvs_int, n_int, nzs_int, nvs_int, d_nan, dzs_nan, dvs_nan, n_nan, nzs_nan, nvs_nan) " +
			"VALUES (1.1, 10.11, 10.1111, 3.30, 22.22, 22.2, 22.2222, 1, 10, 10, 22, 22, 22, null, null, null, null, null, null)",
		Checks: []Check{
			{Col: "d", Type: "bytes", Name: nDecimal, Params: prec("3", "2"), Value: decimal(110)},
			{Col: "dzs", Type: "bytes", Name: nDecimal, Params: prec("4", "0"), Value: decimal(10)},
			{Col: "dvs", Type: "struct", Name: nVarDecimal, Value: varDecimal(4, 101111)},
			{Col: "d_nn", Required: true, Type: "bytes", Name: nDecimal, Params: prec("3", "2"), Value: decimal(330)},
			{Col: "n", Type: "bytes", Name: nDecimal, Params: prec("6", "4"), Value: decimal(222200)},
			{Col: "nzs", Type: "bytes", Name: nDecimal, Params: prec("4", "0"), Value: decimal(22)},
			{Col: "nvs", Type: "struct", Name: nVarDecimal, Value: varDecimal(4, 222222)},
			{Col: "d_int", Type: "bytes", Name: nDecimal, Params: prec("3", "2"), Value: decimal(100)},
			{Col: "dvs_int", Type: "struct", Name: nVarDecimal, Value: varDecimal(0, 10)},
			{Col: "n_int", Type: "bytes", Name: nDecimal, Params: prec("6", "4"), Value: decimal(220000)},
			{Col: "nvs_int", Type: "struct", Name: nVarDecimal, Value: varDecimal(0, 22)},
			{Mode: "decimal.handling.mode=string", Col: "d", Type: "string", Value: `"1.10"`},
			{Mode: "decimal.handling.mode=string", Col: "dzs", Type: "string", Value: `"10"`},
			{Mode: "decimal.handling.mode=string", Col: "dvs", Type: "string", Value: `"10.1111"`},
			{Mode: "decimal.handling.mode=string", Col: "n", Type: "string", Value: `"22.2200"`},
			{Mode: "decimal.handling.mode=string", Col: "nzs", Type: "string", Value: `"22"`},
			{Mode: "decimal.handling.mode=string", Col: "nvs", Type: "string", Value: `"22.2222"`},
			{Mode: "decimal.handling.mode=string", Col: "d_int", Type: "string", Value: `"1.00"`},
			{Mode: "decimal.handling.mode=string", Col: "dvs_int", Type: "string", Value: `"10"`},
			{Mode: "decimal.handling.mode=string", Col: "n_int", Type: "string", Value: `"22.0000"`},
			{Mode: "decimal.handling.mode=double", Col: "d", Type: "double", Value: "1.1"},
			{Mode: "decimal.handling.mode=double", Col: "dzs", Type: "double", Value: "10.0"},
			{Mode: "decimal.handling.mode=double", Col: "dvs", Type: "double", Value: "10.1111"},
			{Mode: "decimal.handling.mode=double", Col: "n", Type: "double", Value: "22.22"},
			{Mode: "decimal.handling.mode=double", Col: "nzs", Type: "double", Value: "22.0"},
			{Mode: "decimal.handling.mode=double", Col: "nvs", Type: "double", Value: "22.2222"},
		},
	},
	{
		Name: "pg numeric_decimal_table NaN", Cite: arpt + " schemasAndValuesForStringEncodedNumericTypes (INSERT_NUMERIC_DECIMAL_TYPES_STMT, decimal.handling.mode=string)",
		DDL:    "CREATE TABLE numeric_decimal_nan (pk SERIAL, d_nan DECIMAL(3,2), dzs_nan DECIMAL(4), dvs_nan DECIMAL, n_nan NUMERIC(6,4), nzs_nan NUMERIC(4), nvs_nan NUMERIC, PRIMARY KEY(pk))",
		Insert: "INSERT INTO numeric_decimal_nan (d_nan, dzs_nan, dvs_nan, n_nan, nzs_nan, nvs_nan) VALUES ('NaN', 'NaN', 'NaN', 'NaN', 'NaN', 'NaN')",
		Checks: []Check{
			{Mode: "decimal.handling.mode=string", Col: "d_nan", Type: "string", Value: `"NAN"`},
			{Mode: "decimal.handling.mode=string", Col: "dzs_nan", Type: "string", Value: `"NAN"`},
			{Mode: "decimal.handling.mode=string", Col: "dvs_nan", Type: "string", Value: `"NAN"`},
			{Mode: "decimal.handling.mode=string", Col: "n_nan", Type: "string", Value: `"NAN"`},
			{Mode: "decimal.handling.mode=string", Col: "nzs_nan", Type: "string", Value: `"NAN"`},
			{Mode: "decimal.handling.mode=string", Col: "nvs_nan", Type: "string", Value: `"NAN"`},
		},
	},
	{
		Name: "pg string_table", Cite: arpt + " schemasAndValuesForStringTypes (INSERT_STRING_TYPES_STMT)",
		Setup: []string{"CREATE EXTENSION IF NOT EXISTS citext"},
		DDL:   "CREATE TABLE string_table (pk SERIAL, vc VARCHAR(2), vcv CHARACTER VARYING(2), ch CHARACTER(4), c CHAR(3), t TEXT, b BYTEA, bnn BYTEA NOT NULL, ct CITEXT, PRIMARY KEY(pk))",
		Insert: "INSERT INTO string_table (vc, vcv, ch, c, t, b, bnn, ct) VALUES ('\u017E\u0161', 'bb', 'cdef', 'abc', 'some text', " +
			`E'\\000\\001\\002'::bytea, E'\\003\\004\\005'::bytea, 'Hello World')`,
		Checks: []Check{
			{Col: "vc", Type: "string", Value: str("\u017E\u0161")},
			{Col: "vcv", Type: "string", Value: `"bb"`},
			{Col: "ch", Type: "string", Value: `"cdef"`},
			{Col: "c", Type: "string", Value: `"abc"`},
			{Col: "t", Type: "string", Value: `"some text"`},
			{Col: "b", Type: "bytes", Value: b64(0, 1, 2)},
			{Col: "bnn", Required: true, Type: "bytes", Value: b64(3, 4, 5)},
			{Col: "ct", Type: "string", Value: `"Hello World"`},
		},
	},
	{
		Name: "pg bytea_binmode_table", Cite: arpt + " schemaAndValueForByteaBytes, schemaAndValueForByteaHex, schemaAndValueForByteaBase64, " +
			"schemaAndValueForByteaBase64UrlSafe (INSERT_BYTEA_BINMODE_STMT)",
		DDL:    "CREATE TABLE bytea_binmode_table (pk SERIAL, ba BYTEA, bytea_array BYTEA[], PRIMARY KEY(pk))",
		Insert: `INSERT INTO bytea_binmode_table (ba, bytea_array) VALUES (E'\\001\\002\\003'::bytea, array[E'\\000\\001\\002'::bytea, E'\\003\\004\\005'::bytea])`,
		Checks: []Check{
			{Col: "ba", Type: "bytes", Value: b64(1, 2, 3)},
			{Col: "bytea_array", Type: "array", Value: "[" + b64(0, 1, 2) + "," + b64(3, 4, 5) + "]"},
			{Mode: "binary.handling.mode=hex", Col: "ba", Type: "string", Value: `"010203"`},
			{Mode: "binary.handling.mode=hex", Col: "bytea_array", Type: "array", Value: `["000102","030405"]`},
			{Mode: "binary.handling.mode=base64", Col: "ba", Type: "string", Value: `"AQID"`},
			{Mode: "binary.handling.mode=base64", Col: "bytea_array", Type: "array", Value: `["AAEC","AwQF"]`},
			{Mode: "binary.handling.mode=base64-url-safe", Col: "ba", Type: "string", Value: `"AQID"`},
		},
	},
	{
		Name: "pg text_table", Cite: arpt + " schemasAndValuesForTextTypes (INSERT_TEXT_TYPES_STMT)",
		DDL: "CREATE TABLE text_table (pk SERIAL, j JSON, jb JSONB, x XML, u Uuid, PRIMARY KEY(pk))",
		Insert: `INSERT INTO text_table(j, jb, x, u) VALUES ('{"bar": "baz"}'::json, '{"bar": "baz"}'::jsonb, ` +
			`'<foo>bar</foo><foo>bar</foo>'::xml, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID)`,
		Checks: []Check{
			{Col: "j", Type: "string", Name: nJSON, Value: str(`{"bar": "baz"}`)},
			{Col: "jb", Type: "string", Name: nJSON, Value: str(`{"bar": "baz"}`)},
			{Col: "x", Type: "string", Name: nXML, Value: str("<foo>bar</foo><foo>bar</foo>")},
			{Col: "u", Type: "string", Name: nUUID, Value: `"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"`},
		},
	},
	{
		Name: "pg network types", Cite: arpt + " schemasAndValuesForNetworkAddressTypes, schemasAndValueForCidrAddressType, schemasAndValueForMacaddrType",
		DDL:    "CREATE TABLE network_table (pk SERIAL, i INET, c CIDR, m MACADDR, PRIMARY KEY(pk))",
		Insert: "INSERT INTO network_table (i, c, m) VALUES ('192.168.2.0/12', '192.168.100.128/25', '08:00:2b:01:02:03')",
		Checks: []Check{
			{Col: "i", Type: "string", Value: `"192.168.2.0/12"`},
			{Col: "c", Type: "string", Value: `"192.168.100.128/25"`},
			{Col: "m", Type: "string", Value: `"08:00:2b:01:02:03"`},
		},
	},
	{
		Name: "pg cash_table", Cite: arpt + " schemaAndValuesForMoneyTypes (INSERT_CASH_TYPES_STMT)",
		DDL:    "CREATE TABLE cash_table (pk SERIAL, csh MONEY, PRIMARY KEY(pk))",
		Insert: "INSERT INTO cash_table (csh) VALUES ('$1234.11')",
		Checks: []Check{
			{Col: "csh", Type: "bytes", Name: nDecimal, Params: map[string]string{"scale": "2"}, Value: decimal(123411)},
		},
	},
	{
		Name: "pg geom_table", Cite: arpt + " schemaAndValuesForGeomTypes (INSERT_GEOM_TYPES_STMT)",
		DDL:    "CREATE TABLE geom_table (pk SERIAL, p POINT, PRIMARY KEY(pk))",
		Insert: "INSERT INTO geom_table(p) VALUES ('(1,1)'::point)",
		Checks: []Check{
			{Col: "p", Type: "struct", Name: nPoint, Value: `{"x":1.0,"y":1.0,"wkb":"AQEAAAAAAAAAAADwPwAAAAAAAPA/","srid":null}`},
		},
	},
	{
		Name: "pg time_table", Cite: arpt + " schemaAndValuesForDateTimeTypes (INSERT_DATE_TIME_TYPES_STMT, time.precision.mode adaptive)",
		DDL: "CREATE TABLE time_table (pk SERIAL, ts TIMESTAMP, tsneg TIMESTAMP(6) WITHOUT TIME ZONE, ts_ms TIMESTAMP(3), ts_us TIMESTAMP(6), tz TIMESTAMPTZ, date DATE, " +
			"ti TIME, tip TIME(3), ttf TIME, ttz TIME WITH TIME ZONE, tptz TIME(3) WITH TIME ZONE, it INTERVAL, " +
			"ts_large TIMESTAMP, ts_large_us TIMESTAMP(6), ts_large_ms TIMESTAMP(3), tz_large TIMESTAMPTZ, ts_max TIMESTAMP(6), tz_max TIMESTAMPTZ, " +
			"ts_pinf TIMESTAMP(6), ts_ninf TIMESTAMP(6), tz_pinf TIMESTAMPTZ, tz_ninf TIMESTAMPTZ, tz_zero TIMESTAMP WITH TIME ZONE, PRIMARY KEY(pk))",
		Insert: "INSERT INTO time_table(ts, tsneg, ts_ms, ts_us, tz, date, ti, tip, ttf, ttz, tptz, it, ts_large, ts_large_us, ts_large_ms, tz_large, ts_max, tz_max, " +
			"ts_pinf, ts_ninf, tz_pinf, tz_ninf, tz_zero) VALUES ('2016-11-04T13:51:30.123456'::TIMESTAMP, '1936-10-25T22:10:12.608'::TIMESTAMP, " +
			"'2016-11-04T13:51:30.123456'::TIMESTAMP, '2016-11-04T13:51:30.123456'::TIMESTAMP, '2016-11-04T13:51:30.123456+02:00'::TIMESTAMPTZ, " +
			"'2016-11-04'::DATE, '13:51:30'::TIME, '13:51:30.123'::TIME, '24:00:00'::TIME, '13:51:30.123789+02:00'::TIMETZ, '13:51:30.123+02:00'::TIMETZ, " +
			"'P1Y2M3DT4H5M6.78S'::INTERVAL, '21016-11-04T13:51:30.123456'::TIMESTAMP, '21016-11-04T13:51:30.123457'::TIMESTAMP, '21016-11-04T13:51:30.124'::TIMESTAMP, " +
			"'21016-11-04T13:51:30.123456+07:00'::TIMESTAMPTZ, '294247-01-01T23:59:59.999999'::TIMESTAMP, '294247-01-01T23:59:59.999999+00:00'::TIMESTAMPTZ, " +
			"'infinity'::TIMESTAMP, '-infinity'::TIMESTAMP, 'infinity'::TIMESTAMPTZ, '-infinity'::TIMESTAMPTZ, '21016-11-04T13:51:30.000000+07:00'::TIMESTAMPTZ)",
		Checks: []Check{
			{Col: "ts", Type: "int64", Name: nMicroTs, Value: micros(utc(2016, 11, 4, 13, 51, 30, 123456000))},
			{Col: "tsneg", Type: "int64", Name: nMicroTs, Value: micros(utc(1936, 10, 25, 22, 10, 12, 608000000))},
			{Col: "ts_ms", Type: "int64", Name: nTimestamp, Value: millis(utc(2016, 11, 4, 13, 51, 30, 123000000))},
			{Col: "ts_us", Type: "int64", Name: nMicroTs, Value: micros(utc(2016, 11, 4, 13, 51, 30, 123456000))},
			{Col: "tz", Type: "string", Name: nZonedTs, Value: `"2016-11-04T11:51:30.123456Z"`},
			{Col: "date", Type: "int32", Name: nDate, Value: fmt.Sprint(utc(2016, 11, 4, 0, 0, 0, 0).Unix() / 86400)},
			{Col: "ti", Type: "int64", Name: nMicroTime, Value: fmt.Sprint((13*3600 + 51*60 + 30) * 1000000)},
			{Col: "tip", Type: "int32", Name: nTime, Value: fmt.Sprint((13*3600+51*60+30)*1000 + 123)},
			{Col: "ttf", Type: "int64", Name: nMicroTime, Value: "86400000000"},
			{Col: "ttz", Type: "string", Name: nZonedTime, Value: `"11:51:30.123789Z"`},
			{Col: "tptz", Type: "string", Name: nZonedTime, Value: `"11:51:30.123Z"`},
			// MicroDuration.durationMicros(1, 2, 3, 4, 5, 6, 780000, 30.4375 days a month)
			{Col: "it", Type: "int64", Name: nMicroDur, Value: "37091106780000"},
			{Col: "ts_large", Type: "int64", Name: nMicroTs, Value: micros(utc(21016, 11, 4, 13, 51, 30, 123456000))},
			{Col: "ts_large_us", Type: "int64", Name: nMicroTs, Value: micros(utc(21016, 11, 4, 13, 51, 30, 123457000))},
			{Col: "ts_large_ms", Type: "int64", Name: nTimestamp, Value: millis(utc(21016, 11, 4, 13, 51, 30, 124000000))},
			{Col: "tz_large", Type: "string", Name: nZonedTs, Value: `"+21016-11-04T06:51:30.123456Z"`},
			{Col: "ts_max", Type: "int64", Name: nMicroTs, Value: "9223371331199999999"},
			{Col: "tz_max", Type: "string", Name: nZonedTs, Value: `"+294247-01-01T23:59:59.999999Z"`},
			// PgStatement.DATE_POSITIVE_INFINITY / DATE_NEGATIVE_INFINITY
			{Col: "ts_pinf", Type: "int64", Name: nMicroTs, Value: "9223372036825200000"},
			{Col: "ts_ninf", Type: "int64", Name: nMicroTs, Value: "-9223372036832400000"},
			{Col: "tz_pinf", Type: "string", Name: nZonedTs, Value: `"infinity"`},
			{Col: "tz_ninf", Type: "string", Name: nZonedTs, Value: `"-infinity"`},
			{Col: "tz_zero", Type: "string", Name: nZonedTs, Value: `"+21016-11-04T06:51:30.000000Z"`},
		},
	},
	{
		Name: "pg time_table adaptive_time_microseconds", Cite: arpt + " schemaAndValuesForDateTimeTypesAdaptiveTimeMicroseconds (INSERT_DATE_TIME_TYPES_STMT)",
		DDL: "CREATE TABLE time_table_atm (pk SERIAL, ts TIMESTAMP, ts_ms TIMESTAMP(3), tz TIMESTAMPTZ, date DATE, ti TIME, ttz TIME WITH TIME ZONE, it INTERVAL, " +
			"ts_large_ms TIMESTAMP(3), PRIMARY KEY(pk))",
		Insert: "INSERT INTO time_table_atm (ts, ts_ms, tz, date, ti, ttz, it, ts_large_ms) VALUES ('2016-11-04T13:51:30.123456'::TIMESTAMP, " +
			"'2016-11-04T13:51:30.123456'::TIMESTAMP, '2016-11-04T13:51:30.123456+02:00'::TIMESTAMPTZ, '2016-11-04'::DATE, '13:51:30'::TIME, " +
			"'13:51:30.123789+02:00'::TIMETZ, 'P1Y2M3DT4H5M6.78S'::INTERVAL, '21016-11-04T13:51:30.124'::TIMESTAMP)",
		Checks: []Check{
			{Mode: "time.precision.mode=adaptive_time_microseconds", Col: "ts", Type: "int64", Name: nMicroTs, Value: micros(utc(2016, 11, 4, 13, 51, 30, 123456000))},
			{Mode: "time.precision.mode=adaptive_time_microseconds", Col: "ts_ms", Type: "int64", Name: nTimestamp, Value: millis(utc(2016, 11, 4, 13, 51, 30, 123000000))},
			{Mode: "time.precision.mode=adaptive_time_microseconds", Col: "tz", Type: "string", Name: nZonedTs, Value: `"2016-11-04T11:51:30.123456Z"`},
			{Mode: "time.precision.mode=adaptive_time_microseconds", Col: "date", Type: "int32", Name: nDate, Value: fmt.Sprint(utc(2016, 11, 4, 0, 0, 0, 0).Unix() / 86400)},
			{Mode: "time.precision.mode=adaptive_time_microseconds", Col: "ti", Type: "int64", Name: nMicroTime, Value: fmt.Sprint((13*3600 + 51*60 + 30) * 1000000)},
			{Mode: "time.precision.mode=adaptive_time_microseconds", Col: "ttz", Type: "string", Name: nZonedTime, Value: `"11:51:30.123789Z"`},
			{Mode: "time.precision.mode=adaptive_time_microseconds", Col: "it", Type: "int64", Name: nMicroDur, Value: "37091106780000"},
			{Mode: "time.precision.mode=adaptive_time_microseconds", Col: "ts_large_ms", Type: "int64", Name: nTimestamp, Value: millis(utc(21016, 11, 4, 13, 51, 30, 124000000))},
		},
	},
	{
		Name: "pg bitbin_table", Cite: arpt + " schemaAndValuesForBinTypes (INSERT_BIN_TYPES_STMT; debezium/dbz#2025 for BIT VARYING(1))",
		DDL: "CREATE TABLE bitbin_table (pk SERIAL, ba BYTEA, bol BIT(1), bol2 BIT, bs BIT(2), bs7 BIT(7), bv1 BIT VARYING(1), bv BIT VARYING(2), bv2 BIT VARYING(24), " +
			"bvl BIT VARYING(64), bvunlimited1 BIT VARYING, bvunlimited2 BIT VARYING, PRIMARY KEY(pk))",
		Insert: `INSERT INTO bitbin_table (ba, bol, bol2, bs, bs7, bv1, bv, bv2, bvl, bvunlimited1, bvunlimited2) VALUES (E'\001\002\003'::bytea, '0'::bit(1), ` +
			`'1'::bit(1), '11'::bit(2), '1'::bit(7), '1'::bit varying(1), '00'::bit(2), '000000110000001000000001'::bit(24), ` +
			`'1000000000000000000000000000000000000000000000000000000000000000'::bit(64), '101', '111011010001000110000001000000001')`,
		Checks: []Check{
			{Col: "ba", Type: "bytes", Value: b64(1, 2, 3)},
			{Col: "bol", Type: "boolean", Value: "false"},
			{Col: "bol2", Type: "boolean", Value: "true"},
			{Col: "bs", Type: "bytes", Name: nBits, Params: map[string]string{"length": "2"}, Value: b64(3)},
			{Col: "bs7", Type: "bytes", Name: nBits, Params: map[string]string{"length": "7"}, Value: b64(64)},
			{Col: "bv1", Type: "boolean", Value: "true"},
			{Col: "bv", Type: "bytes", Name: nBits, Params: map[string]string{"length": "2"}, Value: b64()},
			{Col: "bv2", Type: "bytes", Name: nBits, Params: map[string]string{"length": "24"}, Value: b64(1, 2, 3)},
			{Col: "bvl", Type: "bytes", Name: nBits, Params: map[string]string{"length": "64"}, Value: b64(0, 0, 0, 0, 0, 0, 0, 0x80)},
			{Col: "bvunlimited1", Type: "bytes", Name: nBits, Params: map[string]string{"length": "2147483647"}, Value: b64(5)},
			{Col: "bvunlimited2", Type: "bytes", Name: nBits, Params: map[string]string{"length": "2147483647"}, Value: b64(1, 2, 35, 0xda, 1)},
		},
	},
	{
		Name: "pg hstore tables", Cite: arpt + " schemaAndValueFieldForJsonEncodedHStoreType, …WithMultipleValues, …WithNullValues, …WithSpcialCharacters " +
			"(INSERT_HSTORE_TYPE_*; hstore.handling.mode=json, the default)",
		Setup: []string{"CREATE EXTENSION IF NOT EXISTS hstore"},
		DDL:   "CREATE TABLE hstore_table_mul (pk serial, hs hstore, hsarr hstore[], hsnull hstore, hsspecial hstore, PRIMARY KEY(pk))",
		Insert: `INSERT INTO hstore_table_mul (hs, hsarr, hsnull, hsspecial) VALUES ('"key1" => "val1","key2" => "val2","key3" => "val3"', ` +
			`array['"key4" => "val4","key5" => NULL'::hstore, '"key6" => "val6"'], '"key1" => "val1","key2" => NULL', '"key_#1" => "val 1","key 2" =>" ##123 78"')`,
		Checks: []Check{
			{Col: "hs", Type: "string", Name: nJSON, Value: str(`{"key1":"val1","key2":"val2","key3":"val3"}`)},
			{Col: "hsarr", Type: "array", JSONText: true, Value: `[` + str(`{"key5":null,"key4":"val4"}`) + `,` + str(`{"key6":"val6"}`) + `]`},
			{Col: "hsnull", Type: "string", Name: nJSON, Value: str(`{"key1":"val1","key2":null}`)},
			{Col: "hsspecial", Type: "string", Name: nJSON, JSONText: true, Value: str(`{"key_#1":"val 1","key 2":" ##123 78"}`)},
		},
	},
	{
		Name: "pg hstore tables map", Cite: "debezium-connector-postgres/src/test/java/io/debezium/connector/postgresql/RecordsStreamProducerIT.java " +
			"shouldReceiveHStoreTypeWithSingleValueAsMap, …WithMultipleValuesAsMap, …WithNullValuesAsMap, …WithSpecialCharactersInValuesAsMap; " +
			"RecordsSnapshotProducerIT shouldGenerateSnapshotsForHstoresMapMode (" + arpt + " schemaAndValueFieldForMapEncodedHStoreType*, hstore.handling.mode=map)",
		Setup: []string{"CREATE EXTENSION IF NOT EXISTS hstore"},
		DDL:   "CREATE TABLE hstore_table_map (pk serial, hs hstore, hsarr hstore[], hsnull hstore, hsspecial hstore, hssingle hstore, PRIMARY KEY(pk))",
		Insert: `INSERT INTO hstore_table_map (hs, hsarr, hsnull, hsspecial, hssingle) VALUES ('"key1" => "val1","key2" => "val2","key3" => "val3"', ` +
			`array['"key4" => "val4","key5" => NULL'::hstore, '"key6" => "val6"'], '"key1" => "val1","key2" => NULL', '"key_#1" => "val 1","key 2" =>" ##123 78"', ` +
			`'"key" => "val"'::hstore)`,
		Checks: []Check{
			{Mode: "hstore.handling.mode=map", Col: "hs", Type: "map", JSONText: true, Value: `{"key1":"val1","key2":"val2","key3":"val3"}`},
			{Mode: "hstore.handling.mode=map", Col: "hsarr", Type: "array", JSONText: true, Value: `[{"key4":"val4","key5":null},{"key6":"val6"}]`},
			{Mode: "hstore.handling.mode=map", Col: "hsnull", Type: "map", JSONText: true, Value: `{"key1":"val1","key2":null}`},
			{Mode: "hstore.handling.mode=map", Col: "hsspecial", Type: "map", JSONText: true, Value: `{"key_#1":"val 1","key 2":" ##123 78"}`},
			{Mode: "hstore.handling.mode=map", Col: "hssingle", Type: "map", JSONText: true, Value: `{"key":"val"}`},
			{Mode: "hstore.handling.mode=json", Col: "hssingle", Type: "string", Name: nJSON, Value: str(`{"key":"val"}`)},
		},
	},
	{
		Name: "pg interval string", Cite: "debezium-connector-postgres/src/test/java/io/debezium/connector/postgresql/RecordsStreamProducerIT.java " +
			"shouldReceiveChangesForIntervalAsString (DBZ-1498; " + arpt + " schemaAndValuesForIntervalAsString, the it column of INSERT_DATE_TIME_TYPES_STMT)",
		DDL:    "CREATE TABLE interval_string_table (pk SERIAL, it INTERVAL, PRIMARY KEY(pk))",
		Insert: "INSERT INTO interval_string_table (it) VALUES ('P1Y2M3DT4H5M6.78S'::INTERVAL)",
		Checks: []Check{
			{Mode: "interval.handling.mode=string", Col: "it", Type: "string", Name: nInterval, Value: `"P1Y2M3DT4H5M6.78S"`},
			{Mode: "interval.handling.mode=numeric", Col: "it", Type: "int64", Name: nMicroDur, Value: "37091106780000"},
		},
	},
	{
		Name: "pg postgis_table", Cite: rspit + " shouldReceiveChangesForInsertsWithPostgisTypes; RecordsSnapshotProducerIT shouldGenerateSnapshotsForPostgisTypes (" +
			arpt + " schemaAndValuesForPostgisTypes, INSERT_POSTGIS_TYPES_STMT; postgis_create_tables.ddl)",
		On: []string{"pg15"}, Extension: "postgis",
		Setup:  []string{"CREATE SCHEMA IF NOT EXISTS postgis", "CREATE EXTENSION IF NOT EXISTS postgis SCHEMA postgis"},
		DDL:    "CREATE TABLE postgis_table (pk SERIAL, p postgis.GEOMETRY(POINT,3187), ml postgis.GEOGRAPHY(MULTILINESTRING), PRIMARY KEY(pk))",
		Insert: "INSERT INTO postgis_table (p, ml) VALUES ('SRID=3187;POINT(174.9479 -36.7208)'::postgis.geometry, 'MULTILINESTRING((169.1321 -44.7032, 167.8974 -44.6414))'::postgis.geography)",
		Checks: []Check{
			// The EWKB as PostGIS writes it, SRID inside, and the SRID again.
			{Col: "p", Type: "struct", Name: nGeometry, Value: `{"wkb":` + hexB64("0101000020730C00001C7C613255DE6540787AA52C435C42C0") + `,"srid":3187}`},
			{Col: "ml", Type: "struct", Name: "io.debezium.data.geometry.Geography",
				Value: `{"wkb":` + hexB64("0105000020E610000001000000010200000002000000A779C7293A2465400B462575025A46C0C66D3480B7FC6440C3D32B65195246C0") + `,"srid":4326}`},
		},
	},
	{
		Name: "pg postgis_array_table", Cite: arpt + " schemaAndValuesForPostgisArrayTypes (INSERT_POSTGIS_ARRAY_TYPES_STMT; postgis_create_tables.ddl)",
		On: []string{"pg15"}, Extension: "postgis",
		Setup: []string{"CREATE SCHEMA IF NOT EXISTS postgis", "CREATE EXTENSION IF NOT EXISTS postgis SCHEMA postgis"},
		DDL:   "CREATE TABLE postgis_array_table (pk SERIAL, ga postgis.GEOMETRY[], gann postgis.GEOMETRY[] NOT NULL, PRIMARY KEY(pk))",
		Insert: "INSERT INTO postgis_array_table (ga, gann) VALUES (" +
			"ARRAY['GEOMETRYCOLLECTION EMPTY'::postgis.geometry, 'POLYGON((166.51 -46.64, 178.52 -46.64, 178.52 -34.45, 166.51 -34.45, 166.51 -46.64))'::postgis.geometry], " +
			"ARRAY['GEOMETRYCOLLECTION EMPTY'::postgis.geometry, 'POLYGON((166.51 -46.64, 178.52 -46.64, 178.52 -34.45, 166.51 -34.45, 166.51 -46.64))'::postgis.geometry])",
		Checks: []Check{
			{Col: "ga", Type: "array", Value: postgisArray},
			{Col: "gann", Type: "array", Required: true, Value: postgisArray},
		},
	},
	{
		Name: "pg range_table", Cite: arpt + " schemaAndValuesForRangeTypes (INSERT_RANGE_TYPES_STMT; tstzrange compared by instant there, here as PostgreSQL writes it in UTC)",
		DDL: "CREATE TABLE range_table (pk SERIAL, unbounded_exclusive_tsrange TSRANGE, bounded_inclusive_tsrange TSRANGE, unbounded_exclusive_tstzrange TSTZRANGE, " +
			"bounded_inclusive_tstzrange TSTZRANGE, unbounded_exclusive_daterange DATERANGE, bounded_exclusive_daterange DATERANGE, int4_number_range INT4RANGE, " +
			"numerange NUMRANGE, int8_number_range INT8RANGE, PRIMARY KEY(pk))",
		Insert: "INSERT INTO range_table (unbounded_exclusive_tsrange, bounded_inclusive_tsrange, unbounded_exclusive_tstzrange, bounded_inclusive_tstzrange, " +
			"unbounded_exclusive_daterange, bounded_exclusive_daterange, int4_number_range, numerange, int8_number_range) VALUES ('[2019-03-31 15:30:00, infinity)', " +
			"'[2019-03-31 15:30:00, 2019-04-30 15:30:00]', '[2017-06-05 11:29:12.549426+00,)', '[2017-06-05 11:29:12.549426+00, 2017-06-05 12:34:56.789012+00]', " +
			"'[2019-03-31, infinity)', '[2019-03-31, 2019-04-30)', '[1000,6000)', '[5.3,6.3)', '[1000000,6000000)')",
		Checks: []Check{
			{Col: "unbounded_exclusive_tsrange", Type: "string", Value: str(`["2019-03-31 15:30:00",infinity)`)},
			{Col: "bounded_inclusive_tsrange", Type: "string", Value: str(`["2019-03-31 15:30:00","2019-04-30 15:30:00"]`)},
			{Col: "unbounded_exclusive_tstzrange", Type: "string", Value: str(`["2017-06-05 11:29:12.549426+00",)`)},
			{Col: "bounded_inclusive_tstzrange", Type: "string", Value: str(`["2017-06-05 11:29:12.549426+00","2017-06-05 12:34:56.789012+00"]`)},
			{Col: "unbounded_exclusive_daterange", Type: "string", Value: `"[2019-03-31,infinity)"`},
			{Col: "bounded_exclusive_daterange", Type: "string", Value: `"[2019-03-31,2019-04-30)"`},
			{Col: "int4_number_range", Type: "string", Value: `"[1000,6000)"`},
			{Col: "numerange", Type: "string", Value: `"[5.3,6.3)"`},
			{Col: "int8_number_range", Type: "string", Value: `"[1000000,6000000)"`},
		},
	},
	{
		Name: "pg array_table", Cite: arpt + " schemasAndValuesForArrayTypes (INSERT_ARRAY_TYPES_STMT)",
		Setup: []string{"CREATE EXTENSION IF NOT EXISTS citext"},
		DDL: "CREATE TABLE array_table (pk SERIAL, int_array INT[], bigint_array BIGINT[], text_array TEXT[], char_array CHAR(10)[], varchar_array VARCHAR(10)[], " +
			"date_array DATE[], numeric_array NUMERIC(10, 2)[], varnumeric_array NUMERIC[3], citext_array CITEXT[], inet_array INET[], cidr_array CIDR[], " +
			"macaddr_array MACADDR[], tsrange_array TSRANGE[], daterange_array DATERANGE[], int4range_array INT4RANGE[], numerange_array NUMRANGE[], " +
			"int8range_array INT8RANGE[], uuid_array UUID[], json_array json[], jsonb_array jsonb[], oid_array OID[], PRIMARY KEY(pk))",
		Insert: `INSERT INTO array_table (int_array, bigint_array, text_array, char_array, varchar_array, date_array, numeric_array, varnumeric_array, citext_array, ` +
			`inet_array, cidr_array, macaddr_array, tsrange_array, daterange_array, int4range_array, numerange_array, int8range_array, uuid_array, json_array, ` +
			`jsonb_array, oid_array) VALUES ('{1,2,3}', '{1550166368505037572}', '{"one","two","three"}', '{"cone","ctwo","cthree"}', '{"vcone","vctwo","vcthree"}', ` +
			`'{2016-11-04,2016-11-05,2016-11-06}', '{1.2,3.4,5.6}', '{1.1,2.22,3.333}', '{"four","five","six"}', '{"192.168.2.0/12","192.168.1.1","192.168.0.2/1"}', ` +
			`'{"192.168.100.128/25", "192.168.0.0/25", "192.168.1.0/24"}', '{"08:00:2b:01:02:03", "08-00-2b-01-02-03", "08002b:010203"}', ` +
			`'{"[2019-03-31 15:30:00, infinity)", "[2019-03-31 15:30:00, 2019-04-30 15:30:00]"}', '{"[2019-03-31, infinity)", "[2019-03-31, 2019-04-30)"}', ` +
			`'{"[1,6)", "[1,4)"}', '{"[5.3,6.3)", "[10.0,20.0)"}', '{"[1000000,6000000)", "[5000,9000)"}', ` +
			`'{"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "f0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}', ` +
			`array['{"bar": "baz"}','{"foo": "qux"}']::json[], array['{"bar": "baz"}','{"foo": "qux"}']::jsonb[], '{3,4000000000}')`,
		Checks: []Check{
			{Col: "int_array", Type: "array", Value: "[1,2,3]"},
			{Col: "bigint_array", Type: "array", Value: "[1550166368505037572]"},
			{Col: "text_array", Type: "array", Value: `["one","two","three"]`},
			{Col: "char_array", Type: "array", Value: `["cone      ","ctwo      ","cthree    "]`},
			{Col: "varchar_array", Type: "array", Value: `["vcone","vctwo","vcthree"]`},
			{Col: "date_array", Type: "array", Value: fmt.Sprintf("[%d,%d,%d]", utc(2016, 11, 4, 0, 0, 0, 0).Unix()/86400, utc(2016, 11, 5, 0, 0, 0, 0).Unix()/86400, utc(2016, 11, 6, 0, 0, 0, 0).Unix()/86400)},
			{Col: "numeric_array", Type: "array", Value: "[" + decimal(120) + "," + decimal(340) + "," + decimal(560) + "]"},
			{Col: "varnumeric_array", Type: "array", Value: "[" + varDecimal(1, 11) + "," + varDecimal(2, 222) + "," + varDecimal(3, 3333) + "]"},
			{Col: "citext_array", Type: "array", Value: `["four","five","six"]`},
			{Col: "inet_array", Type: "array", Value: `["192.168.2.0/12","192.168.1.1","192.168.0.2/1"]`},
			{Col: "cidr_array", Type: "array", Value: `["192.168.100.128/25","192.168.0.0/25","192.168.1.0/24"]`},
			{Col: "macaddr_array", Type: "array", Value: `["08:00:2b:01:02:03","08:00:2b:01:02:03","08:00:2b:01:02:03"]`},
			{Col: "tsrange_array", Type: "array", Value: `[` + str(`["2019-03-31 15:30:00",infinity)`) + `,` + str(`["2019-03-31 15:30:00","2019-04-30 15:30:00"]`) + `]`},
			{Col: "daterange_array", Type: "array", Value: `["[2019-03-31,infinity)","[2019-03-31,2019-04-30)"]`},
			{Col: "int4range_array", Type: "array", Value: `["[1,6)","[1,4)"]`},
			{Col: "numerange_array", Type: "array", Value: `["[5.3,6.3)","[10.0,20.0)"]`},
			{Col: "int8range_array", Type: "array", Value: `["[1000000,6000000)","[5000,9000)"]`},
			{Col: "uuid_array", Type: "array", Value: `["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11","f0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"]`},
			{Col: "json_array", Type: "array", Value: `[` + str(`{"bar": "baz"}`) + `,` + str(`{"foo": "qux"}`) + `]`},
			{Col: "jsonb_array", Type: "array", Value: `[` + str(`{"bar": "baz"}`) + `,` + str(`{"foo": "qux"}`) + `]`},
			{Col: "oid_array", Type: "array", Value: "[3,4000000000]"},
		},
	},
	{
		Name: "pg default values", Cite: "debezium-connector-postgres/src/test/java/io/debezium/connector/postgresql/PostgresDefaultValueConverterIT " +
			"shouldSetTheNullValueInSnapshot, shouldSetTheNullValueInStreaming (assertDefaultValueChangeRecord; DBZ-4736, DBZ-5384)",
		DDL: "CREATE TABLE a (pk SERIAL, dint integer DEFAULT NULL::integer, dvc1 varchar(64) DEFAULT NULL::character varying, dvc2 varchar(64) DEFAULT 'NULL', " +
			"dvc3 varchar(64) DEFAULT 'MYVALUE', dvc4 varchar(64) DEFAULT 'NULL'::character varying, dvc5 varchar(64) DEFAULT 'NULL::character varying', " +
			"dvc6 varchar(64) DEFAULT NULL, dt1 timestamp DEFAULT CURRENT_TIMESTAMP, dt2 date DEFAULT CURRENT_DATE, dt3 time DEFAULT CURRENT_TIME, PRIMARY KEY(pk))",
		Insert: "INSERT INTO a (pk) VALUES (DEFAULT)",
		Checks: []Check{
			{Col: "dint", Type: "int32", Default: "null", Value: "null"},
			{Col: "dvc1", Type: "string", Default: "null", Value: "null"},
			{Col: "dvc2", Type: "string", Default: `"NULL"`, Value: `"NULL"`},
			{Col: "dvc3", Type: "string", Default: `"MYVALUE"`, Value: `"MYVALUE"`},
			{Col: "dvc4", Type: "string", Default: `"NULL"`, Value: `"NULL"`},
			{Col: "dvc5", Type: "string", Default: `"NULL::character varying"`, Value: `"NULL::character varying"`},
			{Col: "dvc6", Type: "string", Default: "null", Value: "null"},
			{Col: "dt1", Type: "int64", Name: nMicroTs, Default: "0"},
			{Col: "dt2", Type: "int32", Name: nDate, Default: "0"},
			{Col: "dt3", Type: "int64", Name: nMicroTime, Default: "0"},
		},
	},
	{
		Name: "pg default from a schema-qualified function", Cite: "debezium-connector-postgres/src/test/java/io/debezium/connector/postgresql/PostgresDefaultValueConverterIT " +
			"(DBZ-5340: uuid default s2.tst_generate_random_uuid())",
		Setup:  []string{"CREATE SCHEMA IF NOT EXISTS s2", "CREATE OR REPLACE FUNCTION s2.tst_generate_random_uuid() returns uuid as 'select gen_random_uuid()' language sql"},
		DDL:    "CREATE TABLE dbz5340 (id uuid default s2.tst_generate_random_uuid() not null, data text, PRIMARY KEY (id))",
		Insert: "INSERT INTO dbz5340 (data) values ('test')",
		Checks: []Check{
			{Col: "id", Type: "string", Name: nUUID, Required: true, Default: `"00000000-0000-0000-0000-000000000000"`},
			{Col: "data", Type: "string", Value: `"test"`},
		},
	},
	{
		Name: "pg numeric default precision", Cite: "debezium-connector-postgres/src/test/java/io/debezium/connector/postgresql/PostgresDefaultValueConverterIT " +
			"shouldTruncateDefaultValuePrecisionToMatchColumnMaxPrecision (DBZ-7562)",
		DDL:    "CREATE TABLE dbz7562 (pk SERIAL, cost numeric(12,0) not null default 0.0, PRIMARY KEY(pk))",
		Insert: "INSERT INTO dbz7562 (cost) values (2.25)",
		Checks: []Check{
			{Col: "cost", Type: "bytes", Name: nDecimal, Required: true, Params: prec("12", "0"), Default: decimal(0), Value: decimal(2)},
		},
	},
	{
		Name: "pg quoted enum default", Cite: "debezium-connector-postgres/src/test/java/io/debezium/connector/postgresql/PostgresDefaultValueConverterIT " +
			"shouldHandleQuotedEnumTypeDefaultValues",
		Setup:  []string{`CREATE TYPE "Status" AS ENUM ('DRAFT', 'SUBMITTED', 'APPROVED', 'REJECTED')`},
		DDL:    `CREATE TABLE rtang_test2 (id serial primary key, status "Status" NOT NULL DEFAULT 'DRAFT')`,
		Insert: "INSERT INTO rtang_test2 (id) VALUES (DEFAULT)",
		Checks: []Check{
			{Col: "status", Type: "string", Name: nEnum, Required: true, Default: `"DRAFT"`, Value: `"DRAFT"`},
		},
	},
	{
		Name: "pg time_table connect", Cite: "Debezium PostgreSQL connector docs, data type mappings, time.precision.mode=connect " +
			"(debezium.io/documentation/reference/stable/connectors/postgresql.html#postgresql-time-types); values of INSERT_DATE_TIME_TYPES_STMT",
		DDL: "CREATE TABLE time_table_connect (pk SERIAL, ts TIMESTAMP, ts_us TIMESTAMP(6), tz TIMESTAMPTZ, date DATE, ti TIME, tip TIME(3), ttz TIME WITH TIME ZONE, PRIMARY KEY(pk))",
		Insert: "INSERT INTO time_table_connect (ts, ts_us, tz, date, ti, tip, ttz) VALUES ('2016-11-04T13:51:30.123456'::TIMESTAMP, '2016-11-04T13:51:30.123456'::TIMESTAMP, " +
			"'2016-11-04T13:51:30.123456+02:00'::TIMESTAMPTZ, '2016-11-04'::DATE, '13:51:30'::TIME, '13:51:30.123'::TIME, '13:51:30.123789+02:00'::TIMETZ)",
		Checks: []Check{
			{Mode: "time.precision.mode=connect", Col: "ts", Type: "int64", Name: nConnectTs, Value: millis(utc(2016, 11, 4, 13, 51, 30, 123000000))},
			{Mode: "time.precision.mode=connect", Col: "ts_us", Type: "int64", Name: nConnectTs, Value: millis(utc(2016, 11, 4, 13, 51, 30, 123000000))},
			{Mode: "time.precision.mode=connect", Col: "tz", Type: "string", Name: nZonedTs, Value: `"2016-11-04T11:51:30.123456Z"`},
			{Mode: "time.precision.mode=connect", Col: "date", Type: "int32", Name: nConnectDate, Value: fmt.Sprint(utc(2016, 11, 4, 0, 0, 0, 0).Unix() / 86400)},
			{Mode: "time.precision.mode=connect", Col: "ti", Type: "int32", Name: nConnectTime, Value: fmt.Sprint((13*3600 + 51*60 + 30) * 1000)},
			{Mode: "time.precision.mode=connect", Col: "tip", Type: "int32", Name: nConnectTime, Value: fmt.Sprint((13*3600+51*60+30)*1000 + 123)},
			{Mode: "time.precision.mode=connect", Col: "ttz", Type: "string", Name: nZonedTime, Value: `"11:51:30.123789Z"`},
		},
	},
	{
		Name: "pg custom_table ltree, isbn", Cite: arpt + " schemasAndValuesForCustomTypes (INSERT_CUSTOM_TYPES_STMT; RecordsStreamProducerIT " +
			"shouldReceiveChangesForInsertsCustomTypesWithIncludeUnknownFalse, RecordsSnapshotProducerIT shouldGenerateSnapshotsForCustomDatatypesWithIncludeUnknownFalse)",
		Setup:  []string{"CREATE EXTENSION IF NOT EXISTS ltree", "CREATE EXTENSION IF NOT EXISTS isn"},
		DDL:    "CREATE TABLE custom_table (pk serial, lt ltree, i isbn NOT NULL, n TEXT, lt_array ltree[], PRIMARY KEY(pk))",
		Insert: `INSERT INTO custom_table (lt, i, n, lt_array) VALUES ('Top.Collections.Pictures.Astronomy.Galaxies', '978-0-393-04002-9', NULL, '{"Ship.Frigate","Ship.Destroyer"}')`,
		Checks: []Check{
			{Col: "i", Type: "string", Required: true, Value: `"0-393-04002-X"`},
			{Col: "lt", Type: "string", Name: "io.debezium.data.Ltree", Value: `"Top.Collections.Pictures.Astronomy.Galaxies"`},
			{Col: "n", Type: "string", Value: "null"},
			{Col: "lt_array", Type: "array", Value: `["Ship.Frigate","Ship.Destroyer"]`},
		},
	},
	{
		Name: "pg domain alias types", Cite: "debezium-connector-postgres/src/test/java/io/debezium/connector/postgresql/RecordsStreamProducerIT " +
			"shouldStreamChangesForDataTypeAlias, shouldStreamChangesForDomainAliasAlterTable (varbit2), shouldStreamValuesForDomainTypeOfDomainType (DBZ-1413)",
		Setup: []string{"CREATE DOMAIN money2 AS money DEFAULT 0.0", "CREATE DOMAIN varbit2 AS varbit(3)", "CREATE DOMAIN numeric82 as numeric(8,2)",
			"CREATE DOMAIN numericex as numeric82"},
		DDL:    "CREATE TABLE alias_table (pk SERIAL, data VARCHAR(50), salary money, salary2 money2, value varbit2 NOT NULL, num numericex, PRIMARY KEY(pk))",
		Insert: "INSERT INTO alias_table (data, salary, salary2, value, num) values ('hello', 7.25, 8.25, B'101', 123.45)",
		Checks: []Check{
			{Col: "pk", Type: "int32", Required: true, Default: "0", Value: ""},
			{Col: "data", Type: "string", Value: `"hello"`},
			{Col: "salary", Type: "bytes", Name: nDecimal, Params: map[string]string{"scale": "2"}, Value: decimal(725)},
			{Col: "salary2", Type: "bytes", Name: nDecimal, Params: map[string]string{"scale": "2"}, Default: "null", Value: decimal(825)},
			{Col: "value", Type: "bytes", Name: nBits, Required: true, Params: map[string]string{"length": "3"}, Value: b64(5)},
			{Mode: "decimal.handling.mode=double", Col: "num", Type: "double", Value: "123.45"},
		},
	},
}

// hexB64 returns the JSON of Connect bytes given in hex.
func hexB64(h string) string {
	b, err := hex.DecodeString(h)
	if err != nil {
		panic(err)
	}
	return b64(b...)
}

var postgisArray = `[{"wkb":` + hexB64("010700000000000000") + `,"srid":null},{"wkb":` +
	hexB64("01030000000100000005000000B81E85EB51D0644052B81E85EB5147C0713D0AD7A350664052B81E85EB5147C0713D0AD7A35066409A999999993941C0B81E85EB51D064409A999999993941C0B81E85EB51D0644052B81E85EB5147C0") +
	`,"srid":null}]`
