//go:build integration

package conformance

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Debezium's MySQL/MariaDB test tables: debezium-connector-binlog/src/test/resources/ddl/*.sql
// and the Binlog*IT tests of debezium-connector-binlog/src/test/java/io/debezium/connector/binlog
// that assert on them (run by both the mysql and the mariadb connector).
const binlogIT = "debezium-connector-binlog/src/test/java/io/debezium/connector/binlog/"

var mysqlCases = []*Case{
	{
		Name: "binlog numeric_column_test", Cite: binlogIT + "BinlogNumericColumnIT shouldSetPrecisionSchemaParameter, testPreciseDecimalHandlingMode, " +
			"testDoubleDecimalHandlingMode, testStringDecimalHandlingMode (ddl/numeric_column_test.sql)",
		DDL: "CREATE TABLE dbz_751_numeric_column_test (id INT AUTO_INCREMENT NOT NULL, rating1 NUMERIC, rating2 NUMERIC(8, 4), rating3 NUMERIC(7), " +
			"rating4 NUMERIC(6, 0), PRIMARY KEY (id)) DEFAULT CHARSET=utf8",
		Insert: "INSERT INTO dbz_751_numeric_column_test VALUES (default, 123, 123.4567, 234.5, 345.6)",
		Checks: numericChecks(),
	},
	{
		Name: "binlog decimal_column_test", Cite: binlogIT + "BinlogDecimalColumnIT shouldSetPrecisionSchemaParameter, testPreciseDecimalHandlingMode, " +
			"testDoubleDecimalHandlingMode, testStringDecimalHandlingMode (ddl/decimal_column_test.sql)",
		DDL: "CREATE TABLE dbz_751_decimal_column_test (id INT AUTO_INCREMENT NOT NULL, rating1 DECIMAL, rating2 DECIMAL(8, 4), rating3 DECIMAL(7), " +
			"rating4 DECIMAL(6, 0), PRIMARY KEY (id)) DEFAULT CHARSET=utf8",
		Insert: "INSERT INTO dbz_751_decimal_column_test VALUES (default, 123, 123.4567, 234.5, 345.6)",
		Checks: numericChecks(),
	},
	{
		Name: "binlog binary_mode_test", Cite: binlogIT + "BinlogBinaryModeIT shouldReceiveRawBinary*, shouldReceiveHexBinary*, shouldReceiveBase64Binary*, " +
			"shouldReceiveBase64UrlSafeBinary* (ddl/binary_mode_test.sql)",
		DDL: "CREATE TABLE dbz_1814_binary_mode_test (id INT AUTO_INCREMENT NOT NULL, blob_col BLOB NOT NULL, tinyblob_col TINYBLOB NOT NULL, " +
			"mediumblob_col MEDIUMBLOB NOT NULL, longblob_col LONGBLOB NOT NULL, binary_col BINARY(3) NOT NULL, varbinary_col varbinary(20) NOT NULL, " +
			"PRIMARY KEY (id)) DEFAULT CHARSET=utf8",
		Insert: "INSERT INTO dbz_1814_binary_mode_test (id, blob_col, tinyblob_col, mediumblob_col, longblob_col, binary_col, varbinary_col) " +
			"VALUES (default, X'010203', X'010203', X'010203', X'010203', X'010203', X'010203')",
		Checks: binaryChecks("blob_col", "tinyblob_col", "mediumblob_col", "longblob_col", "binary_col", "varbinary_col"),
	},
	{
		Name: "binlog binary_column_test", Cite: binlogIT + "BinlogFixedLengthBinaryColumnIT (ddl/binary_column_test.sql; bytes, hex, base64, base64-url-safe)",
		DDL:    "CREATE TABLE dbz_254_binary_column_test (id INT AUTO_INCREMENT NOT NULL, file_uuid BINARY(16), PRIMARY KEY (id)) DEFAULT CHARSET=utf8",
		Insert: "INSERT INTO dbz_254_binary_column_test VALUES (default, unhex(replace('651aed08-390f-4893-b2f1-36923e7b7400','-','')))",
		Checks: []Check{
			{Col: "file_uuid", Type: "bytes", Value: `"ZRrtCDkPSJOy8TaSPnt0AA=="`},
			{Mode: "binary.handling.mode=hex", Col: "file_uuid", Type: "string", Value: `"651aed08390f4893b2f136923e7b7400"`},
			{Mode: "binary.handling.mode=base64", Col: "file_uuid", Type: "string", Value: `"ZRrtCDkPSJOy8TaSPnt0AA=="`},
			{Mode: "binary.handling.mode=base64-url-safe", Col: "file_uuid", Type: "string", Value: `"ZRrtCDkPSJOy8TaSPnt0AA=="`},
		},
	},
	{
		Name: "binlog float_test", Cite: binlogIT + "BinlogFloatIT shouldHandleFloatAsFloatAndDouble (ddl/float_test.sql)",
		DDL: "CREATE TABLE `DBZ3865` (`id` INT NOT NULL AUTO_INCREMENT, `f1` FLOAT DEFAULT 5.6, `f2` FLOAT(10, 2) DEFAULT NULL, `f3` FLOAT(35, 5) DEFAULT NULL, " +
			"`f4_23` FLOAT(23) DEFAULT NULL, `f4_24` FLOAT(24) DEFAULT NULL, `f4_25` FLOAT(25) DEFAULT NULL, `weight` FLOAT UNSIGNED DEFAULT '0', PRIMARY KEY (`ID`)) " +
			"ENGINE=InnoDB AUTO_INCREMENT=1 DEFAULT CHARSET=utf8mb4",
		Insert: "INSERT INTO DBZ3865(f1, f2, f3, f4_23, f4_24, f4_25, weight) VALUE (5.6, 5.61, 30.123456, 64.1, 64.1, 64.1, 64.1234)",
		Checks: []Check{
			{Col: "f1", Type: "float", Value: "5.6"},
			// (double) of the float 5.61 and 30.12346: FLOAT(M,D) is a double in Connect, its value a float's.
			{Col: "f2", Type: "double", Value: javaDouble(float64(float32(5.61)))},
			{Col: "f3", Type: "double", Value: javaDouble(float64(float32(30.12346)))},
			{Col: "f4_23", Type: "float", Value: "64.1"},
			{Col: "f4_24", Type: "float", Value: "64.1"},
			{Col: "f4_25", Type: "double", Value: "64.1"},
			{Col: "weight", Type: "float", Value: "64.1234"},
		},
	},
	{
		Name: "binlog real_test", Cite: binlogIT + "BinlogFloatIT (ddl/real_test.sql: REAL is DOUBLE)",
		DDL:    "CREATE TABLE `REAL_TEST` (`id` INT NOT NULL AUTO_INCREMENT, `r1` real default 1.25, PRIMARY KEY (`ID`)) ENGINE=InnoDB AUTO_INCREMENT=1 DEFAULT CHARSET=utf8mb4",
		Insert: "INSERT INTO REAL_TEST(r1) VALUE (2.36)",
		Checks: []Check{{Col: "r1", Type: "double", Value: "2.36"}},
	},
	{
		Name: "binlog dbz_228_tinyint_unsigned", Cite: binlogIT + "BinlogUnsignedIntegerIT assertTinyintUnsigned (ddl/unsigned_integer_test.sql)",
		DDL: "CREATE TABLE dbz_228_tinyint_unsigned (id int auto_increment NOT NULL, c1 TINYINT(3) UNSIGNED ZEROFILL NOT NULL, c2 TINYINT(3) UNSIGNED NOT NULL, " +
			"c3 TINYINT(3) NOT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB DEFAULT CHARSET=utf8",
		Insert: "INSERT INTO dbz_228_tinyint_unsigned VALUES (default, 255, 255, 127)",
		Checks: []Check{{Col: "c1", Required: true, Type: "int16", Value: "255"}, {Col: "c2", Required: true, Type: "int16", Value: "255"}, {Col: "c3", Required: true, Type: "int8", Value: "127"}},
	},
	{
		Name: "binlog dbz_228_smallint_unsigned", Cite: binlogIT + "BinlogUnsignedIntegerIT assertSmallUnsigned (ddl/unsigned_integer_test.sql)",
		DDL: "CREATE TABLE dbz_228_smallint_unsigned (id int auto_increment NOT NULL, c1 SMALLINT UNSIGNED ZEROFILL NOT NULL, c2 SMALLINT UNSIGNED NOT NULL, " +
			"c3 SMALLINT NOT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB DEFAULT CHARSET=utf8",
		Insert: "INSERT INTO dbz_228_smallint_unsigned VALUES (default, 65535, 65535, 32767)",
		Checks: []Check{{Col: "c1", Required: true, Type: "int32", Value: "65535"}, {Col: "c2", Required: true, Type: "int32", Value: "65535"}, {Col: "c3", Required: true, Type: "int16", Value: "32767"}},
	},
	{
		Name: "binlog dbz_228_mediumint_unsigned", Cite: binlogIT + "BinlogUnsignedIntegerIT assertMediumUnsigned (ddl/unsigned_integer_test.sql)",
		DDL: "CREATE TABLE dbz_228_mediumint_unsigned (id int auto_increment NOT NULL, c1 MEDIUMINT UNSIGNED ZEROFILL NOT NULL, c2 MEDIUMINT UNSIGNED NOT NULL, " +
			"c3 MEDIUMINT NOT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB DEFAULT CHARSET=utf8",
		Insert: "INSERT INTO dbz_228_mediumint_unsigned VALUES (default, 10777215, 10777215, -6388607)",
		Checks: []Check{{Col: "c1", Required: true, Type: "int32", Value: "10777215"}, {Col: "c2", Required: true, Type: "int32", Value: "10777215"}, {Col: "c3", Required: true, Type: "int32", Value: "-6388607"}},
	},
	{
		Name: "binlog dbz_228_int_unsigned", Cite: binlogIT + "BinlogUnsignedIntegerIT assertIntUnsigned (ddl/unsigned_integer_test.sql)",
		DDL: "CREATE TABLE dbz_228_int_unsigned (id int auto_increment NOT NULL, c1 int(11) UNSIGNED ZEROFILL NOT NULL, c2 int(11) UNSIGNED NOT NULL, " +
			"c3 int(11) NOT NULL, c4 int(5) UNSIGNED ZEROFILL NOT NULL, c5 int(5) UNSIGNED NOT NULL , c6 int(5) NOT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB DEFAULT CHARSET=utf8",
		Insert: "INSERT INTO dbz_228_int_unsigned VALUES (default, 3294967295, 3294967295, -1147483647, 3294967295, 3294967295, -1147483647)",
		Checks: []Check{{Col: "c1", Required: true, Type: "int64", Value: "3294967295"}, {Col: "c2", Required: true, Type: "int64", Value: "3294967295"}, {Col: "c3", Required: true, Type: "int32", Value: "-1147483647"},
			{Col: "c4", Required: true, Type: "int64", Value: "3294967295"}, {Col: "c5", Required: true, Type: "int64", Value: "3294967295"}, {Col: "c6", Required: true, Type: "int32", Value: "-1147483647"}},
	},
	{
		Name: "binlog dbz_228_bigint_unsigned", Cite: binlogIT + "BinlogUnsignedIntegerIT assertBigintUnsignedPrecise, assertBigintUnsignedLong " +
			"(ddl/unsigned_integer_test.sql; bigint.unsigned.handling.mode precise and long)",
		DDL: "CREATE TABLE dbz_228_bigint_unsigned (id int auto_increment NOT NULL, c1 BIGINT UNSIGNED ZEROFILL NOT NULL, c2 BIGINT UNSIGNED NOT NULL, " +
			"c3 BIGINT NOT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB DEFAULT CHARSET=utf8",
		Insert: "INSERT INTO dbz_228_bigint_unsigned VALUES (default, 14446744073709551615, 14446744073709551615, -1223372036854775807)",
		Checks: []Check{
			{Col: "c1", Required: true, Type: "int64", Value: "-4000000000000000001"},
			{Col: "c2", Required: true, Type: "int64", Value: "-4000000000000000001"},
			{Col: "c3", Required: true, Type: "int64", Value: "-1223372036854775807"},
			{Mode: "bigint.unsigned.handling.mode=precise", Col: "c1", Required: true, Type: "bytes", Name: nDecimal, Params: prec("20", "0"), Value: decimalOf("14446744073709551615")},
			{Mode: "bigint.unsigned.handling.mode=precise", Col: "c2", Required: true, Type: "bytes", Name: nDecimal, Params: prec("20", "0"), Value: decimalOf("14446744073709551615")},
			{Mode: "bigint.unsigned.handling.mode=precise", Col: "c3", Required: true, Type: "int64", Value: "-1223372036854775807"},
		},
	},
	{
		Name: "binlog dbz_85_fractest", Cite: binlogIT + "BinlogRegressionIT shouldConsumeAllEventsFromDatabaseUsingStreaming/UsingSnapshot, " +
			"shouldConsumeAllEventsFromDatabaseUsingStreamingAndConnectTimesTypes (ddl/regression_test.sql; MySQL rounds fractions, MariaDB truncates)",
		DDL:    "CREATE TABLE dbz_85_fractest (id INT AUTO_INCREMENT PRIMARY KEY, c1 DATE, c2 TIME(2), c3 DATETIME(2), c4 TIMESTAMP(2) NULL)",
		Insert: "INSERT INTO dbz_85_fractest (c1, c2, c3, c4) VALUES ('2014-09-08', '17:51:04.777', '2014-09-08 17:51:04.777', '2014-09-08 17:51:04.777')",
		Checks: []Check{
			{Col: "c1", Type: "int32", Name: nDate, Value: fmt.Sprint(utc(2014, 9, 8, 0, 0, 0, 0).Unix() / 86400)},
			{Col: "c2", Type: "int64", Name: nMicroTime, Value: "64264780000", Only: []string{"mysql"}},
			{Col: "c2", Type: "int64", Name: nMicroTime, Value: "64264770000", Only: []string{"mariadb"}},
			{Col: "c3", Type: "int64", Name: nTimestamp, Value: millis(utc(2014, 9, 8, 17, 51, 4, 780000000)), Only: []string{"mysql"}},
			{Col: "c3", Type: "int64", Name: nTimestamp, Value: millis(utc(2014, 9, 8, 17, 51, 4, 770000000)), Only: []string{"mariadb"}},
			{Col: "c4", Type: "string", Name: nZonedTs, Value: `"2014-09-08T17:51:04.78Z"`, Only: []string{"mysql"}},
			{Col: "c4", Type: "string", Name: nZonedTs, Value: `"2014-09-08T17:51:04.77Z"`, Only: []string{"mariadb"}},
			{Mode: "time.precision.mode=connect", Col: "c1", Type: "int32", Name: nConnectDate, Value: fmt.Sprint(utc(2014, 9, 8, 0, 0, 0, 0).Unix() / 86400)},
			{Mode: "time.precision.mode=connect", Col: "c2", Type: "int32", Name: nConnectTime, Value: "64264780", Only: []string{"mysql"}},
			{Mode: "time.precision.mode=connect", Col: "c2", Type: "int32", Name: nConnectTime, Value: "64264770", Only: []string{"mariadb"}},
			{Mode: "time.precision.mode=connect", Col: "c3", Type: "int64", Name: nConnectTs, Value: millis(utc(2014, 9, 8, 17, 51, 4, 780000000)), Only: []string{"mysql"}},
			{Mode: "time.precision.mode=connect", Col: "c3", Type: "int64", Name: nConnectTs, Value: millis(utc(2014, 9, 8, 17, 51, 4, 770000000)), Only: []string{"mariadb"}},
			{Mode: "time.precision.mode=connect", Col: "c4", Type: "string", Name: nZonedTs, Value: `"2014-09-08T17:51:04.78Z"`, Only: []string{"mysql"}},
			// time.precision.mode=adaptive: TIME(2) is io.debezium.time.Time (milliseconds); the connector docs' type table.
			{Mode: "time.precision.mode=adaptive", Col: "c2", Type: "int32", Name: nTime, Value: "64264780", Only: []string{"mysql"}},
		},
	},
	{
		Name: "binlog dbz_342_timetest", Cite: binlogIT + "BinlogRegressionIT shouldConsumeAllEventsFromDatabaseUsingStreaming/UsingSnapshot (ddl/regression_test.sql, DBZ-342, DBZ-7594)",
		DDL: "CREATE TABLE dbz_342_timetest (id INT AUTO_INCREMENT PRIMARY KEY, c1 TIME(2), c2 TIME(0), c3 TIME(3), c4 TIME(3), c5 TIME(6), c6 TIME(6), c7 TIME(6), " +
			"c8 TIME(6), c9 TIME(6), c10 TIME(6), c11 TIME(6))",
		Insert: "INSERT INTO dbz_342_timetest (c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11) VALUES ('517:51:04.777', '-13:14:50', '-733:00:00.0011', '-1:59:59.0011', " +
			"'-838:59:58.999999', '-00:20:38.000000', '-01:01:01.000001', '-01:01:01.000000', '-01:01:00.000000', '-01:00:00.000000', '-00:00:00.000000')",
		Checks: []Check{
			{Col: "c1", Type: "int64", Name: nMicroTime, Value: "1864264780000", Only: []string{"mysql"}},
			{Col: "c1", Type: "int64", Name: nMicroTime, Value: "1864264770000", Only: []string{"mariadb"}},
			{Col: "c2", Type: "int64", Name: nMicroTime, Value: "-47690000000"},
			{Col: "c3", Type: "int64", Name: nMicroTime, Value: "-2638800001000"},
			{Col: "c4", Type: "int64", Name: nMicroTime, Value: "-7199001000"},
			{Col: "c5", Type: "int64", Name: nMicroTime, Value: "-3020398999999"},
			{Col: "c6", Type: "int64", Name: nMicroTime, Value: "-1238000000"},
			{Col: "c7", Type: "int64", Name: nMicroTime, Value: "-3661000001"},
			{Col: "c8", Type: "int64", Name: nMicroTime, Value: "-3661000000"},
			{Col: "c9", Type: "int64", Name: nMicroTime, Value: "-3660000000"},
			{Col: "c10", Type: "int64", Name: nMicroTime, Value: "-3600000000"},
			{Col: "c11", Type: "int64", Name: nMicroTime, Value: "0"},
		},
	},
	{
		Name: "binlog dbz_100_enumsettest", Cite: binlogIT + "BinlogRegressionIT shouldConsumeAllEventsFromDatabaseUsingStreaming/UsingSnapshot (ddl/regression_test.sql, DBZ-100)",
		DDL:    "CREATE TABLE dbz_100_enumsettest (id INT AUTO_INCREMENT PRIMARY KEY, c1 enUM('a','b','c'), c2 Set('a','b','c'))",
		Insert: "INSERT INTO dbz_100_enumsettest (c1, c2) VALUES ('b', 'b,a')",
		Checks: []Check{
			{Col: "c1", Type: "string", Name: nEnum, Params: map[string]string{"allowed": "a,b,c"}, Value: `"b"`},
			{Col: "c2", Type: "string", Name: nEnumSet, Params: map[string]string{"allowed": "a,b,c"}, Value: `"a,b"`},
		},
	},
	{
		Name: "binlog dbz_123_bitvaluetest", Cite: binlogIT + "BinlogRegressionIT shouldConsumeAllEventsFromDatabaseUsingStreaming/UsingSnapshot (ddl/regression_test.sql, DBZ-123)",
		DDL:    "CREATE TABLE dbz_123_bitvaluetest (id INT AUTO_INCREMENT PRIMARY KEY, c1 BIT, c2 BIT(2), c3 BIT(8) NOT NULL, c4 BIT(64))",
		Insert: "INSERT INTO dbz_123_bitvaluetest (c1, c2, c3, c4) VALUES (1,2,64,23989979)",
		Checks: []Check{
			{Col: "c1", Type: "boolean", Value: "true"},
			{Col: "c2", Type: "bytes", Name: nBits, Params: map[string]string{"length": "2"}, Value: b64(2)},
			{Col: "c3", Required: true, Type: "bytes", Name: nBits, Params: map[string]string{"length": "8"}, Value: b64(64)},
			{Col: "c4", Type: "bytes", Name: nBits, Params: map[string]string{"length": "64"}, Value: b64(219, 14, 110, 1, 0, 0, 0, 0)},
		},
	},
	{
		Name: "binlog dbz84_integer_types_table", Cite: binlogIT + "BinlogRegressionIT (ddl/regression_test.sql, DBZ-84; schemas from the connector docs' type table)",
		DDL: "CREATE TABLE dbz84_integer_types_table (id INT AUTO_INCREMENT PRIMARY KEY, colTinyIntA tinyint NOT NULL DEFAULT 100, colTinyIntB tinyint(1) NOT NULL DEFAULT 101, " +
			"colTinyIntC tinyint(2) UNSIGNED NOT NULL DEFAULT 102, colTinyIntD tinyint(3) UNSIGNED NOT NULL DEFAULT 103, colSmallIntA smallint NOT NULL DEFAULT 200, " +
			"colMediumIntA mediumint NOT NULL DEFAULT 300, colIntA int NOT NULL DEFAULT 400, colBigIntA bigint NOT NULL DEFAULT 500)",
		Insert: "INSERT INTO dbz84_integer_types_table (colTinyIntA, colTinyIntB, colTinyIntC, colTinyIntD) VALUES (127, -128, 128, 255)",
		Checks: []Check{
			{Col: "colTinyIntA", Required: true, Type: "int8", Value: "127"}, {Col: "colTinyIntB", Required: true, Type: "int8", Value: "-128"},
			{Col: "colTinyIntC", Required: true, Type: "int16", Value: "128"}, {Col: "colTinyIntD", Required: true, Type: "int16", Value: "255"},
			{Col: "colSmallIntA", Required: true, Type: "int16", Value: "200"}, {Col: "colMediumIntA", Required: true, Type: "int32", Value: "300"},
			{Col: "colIntA", Required: true, Type: "int32", Value: "400"}, {Col: "colBigIntA", Required: true, Type: "int64", Value: "500"},
		},
	},
	{
		Name: "binlog dbz_102_charsettest", Cite: binlogIT + "BinlogRegressionIT (ddl/regression_test.sql, DBZ-102)",
		DDL:    "CREATE TABLE dbz_102_charsettest (id INT(11) NOT NULL AUTO_INCREMENT, text VARCHAR(255) DEFAULT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB AUTO_INCREMENT=2001 DEFAULT CHARSET=utf8",
		Insert: `INSERT INTO dbz_102_charsettest VALUES (default, "产品")`,
		Checks: []Check{{Col: "text", Type: "string", Value: `"产品"`}},
	},
	{
		Name: "binlog dbz_126_jsontable", Cite: binlogIT + "BinlogJsonIT shouldConsumeAllEventsFromDatabaseUsingStreaming (expectedBinlogStr), " +
			"shouldConsumeAllEventsFromDatabaseUsingSnapshot (expectedJdbcStr) (ddl/json_test.sql)",
		On:     []string{"mysql"},
		DDL:    "CREATE TABLE dbz_126_jsontable (id INT AUTO_INCREMENT NOT NULL, json JSON, expectedJdbcStr VARCHAR(256), expectedBinlogStr VARCHAR(256), PRIMARY KEY(id)) DEFAULT CHARSET=utf8",
		Insert: `INSERT INTO dbz_126_jsontable VALUES (default,'{"k1": "v1", "k2": {"k21": "v21", "k22": "v22"}, "k3": ["a", "b", 1]}', '', '')`,
		Checks: []Check{
			{Col: "json", Type: "string", Name: nJSON, Phase: "stream", Value: str(`{"k1":"v1","k2":{"k21":"v21","k22":"v22"},"k3":["a","b",1]}`)},
			{Col: "json", Type: "string", Name: nJSON, Phase: "snapshot", Value: str(`{"k1": "v1", "k2": {"k21": "v21", "k22": "v22"}, "k3": ["a", "b", 1]}`)},
		},
	},
	{
		Name: "binlog enum_column_test", Cite: binlogIT + "BinlogEnumColumnIT shouldAlterEnumColumnCharacterSet (ddl/enum_column_test.sql, DBZ-1203; the ALTER between snapshot and stream)",
		DDL: "CREATE TABLE `test_stations_10` (`id` int(10) unsigned NOT NULL AUTO_INCREMENT, `name` varchar(500) COLLATE utf8_unicode_ci NOT NULL, " +
			"`type` enum('station', 'post_office') COLLATE utf8_unicode_ci NOT NULL DEFAULT 'station', `created` datetime DEFAULT CURRENT_TIMESTAMP, " +
			"`modified` datetime DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, PRIMARY KEY (`id`))",
		Insert: "INSERT INTO test_stations_10 (`name`, `type`) values ( 'ha Tinh 7', 'station' )",
		Alter: []string{"ALTER TABLE `test_stations_10` MODIFY COLUMN `type` ENUM('station', 'post_office', 'plane', 'ahihi_dongok', 'now', 'test', 'a,b', 'c,\\'d', 'g,''h') " +
			"CHARACTER SET 'utf8' COLLATE 'utf8_unicode_ci' NOT NULL DEFAULT 'station'"},
		Checks: []Check{
			{Col: "type", Required: true, Type: "string", Name: nEnum, Phase: "snapshot", Params: map[string]string{"allowed": "station,post_office"}, Value: `"station"`},
			{Col: "type", Required: true, Type: "string", Name: nEnum, Phase: "stream", Params: map[string]string{"allowed": `station,post_office,plane,ahihi_dongok,now,test,a\,b,c\,'d,g\,'h`}, Value: `"station"`},
		},
	},
	{
		Name: "binlog year_test", Cite: binlogIT + "BinlogYearIT assertChangeRecordByConnector (enable.time.adjuster=true), assertChangeRecordByDatabase " +
			"(false) (ddl/year_test.sql, DBZ-1143)",
		DDL: "CREATE TABLE dbz_1143_year_test (id INT AUTO_INCREMENT NOT NULL, y18 YEAR, y0018 YEAR, y2018 YEAR, d18 DATE, d0018 DATE, d2018 DATE, dt18 DATETIME, " +
			"dt0018 DATETIME, dt2018 DATETIME, y78 YEAR, y0078 YEAR, y1978 YEAR, d78 DATE, d0078 DATE, d1978 DATE, dt78 DATETIME, dt0078 DATETIME, dt1978 DATETIME, " +
			"PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4",
		Insert: "INSERT INTO dbz_1143_year_test VALUES (default, '18', '0018', '2018', '18-04-01', '0018-04-01', '2018-04-01', '18-04-01 12:34:56', " +
			"'0018-04-01 12:34:56', '2018-04-01 12:34:56', '78', '0078', '1978', '78-04-01', '0078-04-01', '1978-04-01', '78-04-01 12:34:56', " +
			"'0078-04-01 12:34:56', '1978-04-01 12:34:56')",
		Checks: []Check{
			{Col: "y18", Type: "int32", Name: nYear, Value: "2018"}, {Col: "y0018", Type: "int32", Name: nYear, Value: "2018"},
			{Col: "d18", Type: "int32", Name: nDate, Value: "17622"}, {Col: "d0018", Type: "int32", Name: nDate, Value: "17622"},
			{Col: "dt18", Type: "int64", Name: nTimestamp, Value: "1522586096000"}, {Col: "dt0018", Type: "int64", Name: nTimestamp, Value: "1522586096000"},
			{Col: "y78", Type: "int32", Name: nYear, Value: "1978"}, {Col: "d0078", Type: "int32", Name: nDate, Value: "3012"},
			{Col: "dt0078", Type: "int64", Name: nTimestamp, Value: "260282096000"},
			{Mode: "enable.time.adjuster=false", Col: "d0018", Type: "int32", Name: nDate, Value: "-712863"},
			{Mode: "enable.time.adjuster=false", Col: "d0078", Type: "int32", Name: nDate, Value: "-690948"},
			{Mode: "enable.time.adjuster=false", Col: "d18", Type: "int32", Name: nDate, Value: "17622"},
		},
	},
	{
		Name: "binlog dbz_222_point", Cite: binlogIT + "BinlogGeometryIT assertPoint (ddl/geometry_test_8.sql, DBZ-222; MySQL 8+ stores SRID 4326 points latitude first)",
		DDL:    "CREATE TABLE dbz_222_point (id INT AUTO_INCREMENT NOT NULL, point POINT DEFAULT NULL, p4326 POINT DEFAULT NULL, PRIMARY KEY (id)) DEFAULT CHARSET=utf8",
		Insert: "INSERT INTO dbz_222_point VALUES (default, ST_GeomFromText('POINT(1 1)'), ST_GeomFromText('POINT(8.25554554 3.22124447)', 4326))",
		Checks: []Check{
			{Col: "point", Type: "struct", Name: "io.debezium.data.geometry.Point", Value: pointJSON(1, 1, "null")},
			{Col: "p4326", Type: "struct", Name: "io.debezium.data.geometry.Point", Value: pointJSON(3.22124447, 8.25554554, "4326"), Only: []string{"mysql"}},
			{Col: "p4326", Type: "struct", Name: "io.debezium.data.geometry.Point", Value: pointJSON(8.25554554, 3.22124447, "4326"), Only: []string{"mariadb"}},
		},
	},
	{
		Name: "binlog dbz_507_geometry", Cite: binlogIT + "BinlogGeometryIT assertGeomRecord (ddl/geometry_test_8.sql, DBZ-507)",
		DDL:    "CREATE TABLE dbz_507_geometry (id INT AUTO_INCREMENT NOT NULL, geom GEOMETRY, linestring LINESTRING, polygon POLYGON, collection GEOMETRYCOLLECTION, PRIMARY KEY (id))",
		Insert: "INSERT INTO dbz_507_geometry VALUES (default, ST_GeomFromText('POINT(1 1)', 4326), ST_GeomFromText('LINESTRING(0 0, 1 1)', 3187), ST_GeomFromText('POLYGON((0 0, 1 1, 1 0, 0 0))'), ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 1), LINESTRING(0 0, 1 1))', 4326))",
		Checks: []Check{
			{Col: "geom", Type: "struct", Name: nGeometry, Value: geomJSON("0101000000000000000000F03F000000000000F03F", "4326")},
			{Col: "linestring", Type: "struct", Name: nGeometry, Value: geomJSON("01020000000200000000000000000000000000000000000000000000000000F03F000000000000F03F", "3187")},
			{Col: "polygon", Type: "struct", Name: nGeometry, Value: geomJSON("0103000000010000000400000000000000000000000000000000000000000000000000F03F000000000000F03F000000000000F03F000000000000000000000000000000000000000000000000", "null")},
			{Col: "collection", Type: "struct", Name: nGeometry, Value: geomJSON("0107000000020000000101000000000000000000F03F000000000000F03F01020000000200000000000000000000000000000000000000000000000000F03F000000000000F03F", "4326")},
		},
	},
	{
		Name: "binlog vector_test", Cite: binlogIT + "BinlogVectorIT shouldConsumeAllEventsFromDatabaseUsingSnapshot/UsingStreaming (ddl/vector_test.sql, DBZ-8157)",
		On:     []string{"mysql"},
		DDL:    "CREATE TABLE dbz_8157 (id INT AUTO_INCREMENT NOT NULL, f_vector_null VECTOR DEFAULT NULL, f_vector_default VECTOR DEFAULT NULL, f_vector_cons VECTOR(128) DEFAULT NULL, PRIMARY KEY (id)) DEFAULT CHARSET=utf8",
		Insert: "INSERT INTO dbz_8157 VALUES (default, string_to_vector('[1.1,2.2]'),string_to_vector('[11.5,22.6]'),string_to_vector('[31,32]'))",
		Checks: []Check{
			{Col: "f_vector_null", Type: "array", Name: "io.debezium.data.FloatVector", Value: "[1.1,2.2]"},
			{Col: "f_vector_default", Type: "array", Name: "io.debezium.data.FloatVector", Value: "[11.5,22.6]"},
			{Col: "f_vector_cons", Type: "array", Name: "io.debezium.data.FloatVector", Value: "[31.0,32.0]"},
		},
	},
	{
		Name: "mariadb uuid_column_test", Cite: "debezium-connector-mariadb/src/test/java/io/debezium/connector/mariadb/UuidColumnIT shouldHandleUuidSnapshot " +
			"(debezium-connector-mariadb/src/test/resources/ddl/uuid_column_test.sql, DBZ-9027)",
		On:           []string{"mariadb"},
		DDL:          "CREATE TABLE `test_uuid` (`id` uuid NOT NULL, `expected` char(36), PRIMARY KEY (`id`))",
		Insert:       "INSERT INTO test_uuid (`id`, `expected`) values ( '01020304-0506-0708-090a-0b0c0d0e0f10', '01020304-0506-0708-090a-0b0c0d0e0f10')",
		StreamInsert: "INSERT INTO test_uuid (`id`, `expected`) values ( 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'ffffffff-ffff-ffff-ffff-ffffffffffff')",
		Checks: []Check{
			{Col: "id", Required: true, Type: "string", Name: nUUID, Phase: "snapshot", Value: `"01020304-0506-0708-090a-0b0c0d0e0f10"`},
			{Col: "id", Required: true, Type: "string", Name: nUUID, Phase: "stream", Value: `"ffffffff-ffff-ffff-ffff-ffffffffffff"`},
		},
	},
	{
		Name: "binlog default_value UNSIGNED_TINYINT_TABLE", Cite: binlogIT + "BinlogDefaultValueIT unsignedTinyIntTest (ddl/default_value.sql)",
		DDL: "CREATE TABLE UNSIGNED_TINYINT_TABLE (A TINYINT UNSIGNED NULL DEFAULT 0, B TINYINT UNSIGNED NULL DEFAULT '10', C TINYINT UNSIGNED NULL, " +
			"D TINYINT UNSIGNED NOT NULL, E TINYINT UNSIGNED NOT NULL DEFAULT 0, F TINYINT UNSIGNED NOT NULL DEFAULT '0', G TINYINT UNSIGNED NULL DEFAULT '100')",
		Insert: "INSERT INTO UNSIGNED_TINYINT_TABLE VALUES (DEFAULT, DEFAULT, 0, 1, DEFAULT, DEFAULT, NULL)",
		Checks: []Check{
			{Col: "A", Type: "int16", Default: "0", Value: "0"}, {Col: "B", Type: "int16", Default: "10", Value: "10"},
			{Col: "C", Type: "int16", Default: "null", Value: "0"}, {Col: "D", Type: "int16", Required: true, Value: "1"},
			{Col: "E", Type: "int16", Required: true, Default: "0", Value: "0"}, {Col: "F", Type: "int16", Required: true, Default: "0", Value: "0"},
			// assertEmptyFieldValue: a NULL in a column with a default is written as the default
			// by the JsonConverter (Debezium's record holds null; the converter writes the default).
			{Col: "G", Type: "int16", Default: "100", Value: "100"},
		},
	},
	{
		Name: "binlog default_value STRING_TABLE", Cite: binlogIT + "BinlogDefaultValueIT stringTest (ddl/default_value.sql)",
		DDL: "CREATE TABLE STRING_TABLE (A CHAR(1) NULL DEFAULT 'A', B CHAR(1) NULL DEFAULT 'b', C VARCHAR(10) NULL DEFAULT 'CC', D NCHAR(10) NULL DEFAULT '10', " +
			"E NVARCHAR(10) NULL DEFAULT '0', F CHAR(1) DEFAULT NULL, G VARCHAR(10) DEFAULT NULL, H NCHAR(10) DEFAULT NULL, I VARCHAR(10) NULL DEFAULT '100')",
		Insert: "INSERT INTO STRING_TABLE VALUES (DEFAULT ,DEFAULT ,DEFAULT ,DEFAULT ,DEFAULT ,DEFAULT ,DEFAULT ,DEFAULT, NULL)",
		Checks: []Check{
			{Col: "A", Type: "string", Default: `"A"`, Value: `"A"`}, {Col: "B", Type: "string", Default: `"b"`, Value: `"b"`},
			{Col: "C", Type: "string", Default: `"CC"`, Value: `"CC"`}, {Col: "D", Type: "string", Default: `"10"`, Value: `"10"`},
			{Col: "E", Type: "string", Default: `"0"`, Value: `"0"`}, {Col: "F", Type: "string", Default: "null", Value: "null"},
			{Col: "G", Type: "string", Default: "null", Value: "null"}, {Col: "H", Type: "string", Default: "null", Value: "null"},
			{Col: "I", Type: "string", Default: `"100"`, Value: `"100"`},
		},
	},
	{
		Name: "binlog default_value BIT_TABLE", Cite: binlogIT + "BinlogDefaultValueIT unsignedBitTest (ddl/default_value.sql)",
		DDL: "CREATE TABLE BIT_TABLE (A BIT(1) NULL DEFAULT NULL, B BIT(1) DEFAULT 0, C BIT(1) DEFAULT 1, D BIT(1) DEFAULT b'0', E BIT(1) DEFAULT b'1', " +
			"F BIT(1) DEFAULT TRUE, G BIT(1) DEFAULT FALSE, H BIT(10) DEFAULT b'101000010', I BIT(10) DEFAULT NULL, J BIT(25) DEFAULT b'10110000100001111', " +
			"K BIT(25) DEFAULT b'10110000100001111')",
		Insert: "INSERT INTO BIT_TABLE VALUES (false ,DEFAULT ,DEFAULT ,DEFAULT ,DEFAULT ,DEFAULT ,DEFAULT, DEFAULT ,NULL ,DEFAULT, NULL)",
		Checks: []Check{
			{Col: "A", Type: "boolean", Default: "null", Value: "false"}, {Col: "B", Type: "boolean", Default: "false", Value: "false"},
			{Col: "C", Type: "boolean", Default: "true", Value: "true"}, {Col: "D", Type: "boolean", Default: "false", Value: "false"},
			{Col: "E", Type: "boolean", Default: "true", Value: "true"}, {Col: "F", Type: "boolean", Default: "true", Value: "true"},
			{Col: "G", Type: "boolean", Default: "false", Value: "false"},
			{Col: "H", Type: "bytes", Name: nBits, Default: b64(66, 1), Value: b64(66, 1)},
			{Col: "I", Type: "bytes", Name: nBits, Default: "null", Value: "null"},
			{Col: "J", Type: "bytes", Name: nBits, Default: b64(15, 97, 1, 0), Value: b64(15, 97, 1, 0)},
		},
	},
	{
		Name: "binlog default_value BOOLEAN_TABLE", Cite: binlogIT + "BinlogDefaultValueIT booleanTest (ddl/default_value.sql)",
		DDL: "CREATE TABLE BOOLEAN_TABLE (A BOOL NULL DEFAULT 0, B BOOLEAN NOT NULL DEFAULT '1', C BOOLEAN NOT NULL DEFAULT '1', D BOOLEAN NOT NULL DEFAULT TRUE, " +
			"E BOOLEAN DEFAULT NULL, F BOOLEAN DEFAULT TRUE)",
		Insert: "INSERT INTO BOOLEAN_TABLE VALUES (TRUE ,TRUE ,TRUE ,DEFAULT ,TRUE, NULL)",
		Checks: []Check{
			{Col: "A", Type: "int8", Default: "0", Value: "1"}, {Col: "B", Type: "int8", Required: true, Default: "1", Value: "1"},
			{Col: "C", Type: "int8", Required: true, Default: "1", Value: "1"}, {Col: "D", Type: "int8", Required: true, Default: "1", Value: "1"},
			{Col: "E", Type: "int8", Default: "null", Value: "1"},
		},
	},
	{
		Name: "binlog default_value NUMBER_TABLE", Cite: binlogIT + "BinlogDefaultValueIT numberTest (ddl/default_value.sql)",
		DDL: "CREATE TABLE NUMBER_TABLE (A TINYINT NULL DEFAULT 10, B SMALLINT NOT NULL DEFAULT '5', C INTEGER NOT NULL DEFAULT 0, D BIGINT NOT NULL DEFAULT 20, " +
			"E INT NULL DEFAULT NULL, F INT NULL DEFAULT 30, G TINYINT(1) NOT NULL DEFAULT TRUE, H INT(1) NOT NULL DEFAULT TRUE)",
		Insert: "INSERT INTO NUMBER_TABLE VALUES (DEFAULT ,DEFAULT ,DEFAULT ,DEFAULT ,DEFAULT, NULL, DEFAULT, DEFAULT)",
		Checks: []Check{
			{Col: "A", Type: "int8", Default: "10", Value: "10"}, {Col: "B", Type: "int16", Required: true, Default: "5", Value: "5"},
			{Col: "C", Type: "int32", Required: true, Default: "0", Value: "0"}, {Col: "D", Type: "int64", Required: true, Default: "20", Value: "20"},
			{Col: "E", Type: "int32", Default: "null", Value: "null"}, {Col: "F", Type: "int32", Default: "30", Value: "30"},
			{Col: "G", Type: "int8", Required: true, Default: "1", Value: "1"}, {Col: "H", Type: "int32", Required: true, Default: "1", Value: "1"},
		},
	},
	{
		Name: "binlog default_value FLOAT_DOUBLE_TABLE, REAL_TABLE", Cite: binlogIT + "BinlogDefaultValueIT floatAndDoubleTest, realTest (ddl/default_value.sql)",
		DDL:    "CREATE TABLE FlOAT_DOUBLE_TABLE (F FLOAT NULL DEFAULT 0, G DOUBLE NOT NULL DEFAULT 1.0, H DOUBLE NULL DEFAULT 3.0, RA REAL NOT NULL DEFAULT 1, RB REAL NULL DEFAULT NULL)",
		Insert: "INSERT INTO FlOAT_DOUBLE_TABLE VALUES (DEFAULT, DEFAULT, NULL, DEFAULT, DEFAULT)",
		Checks: []Check{
			{Col: "F", Type: "float", Default: "0.0", Value: "0.0"}, {Col: "G", Type: "double", Required: true, Default: "1.0", Value: "1.0"},
			{Col: "H", Type: "double", Default: "3.0", Value: "3.0"},
			{Col: "RA", Type: "double", Required: true, Default: "1.0", Value: "1.0"}, {Col: "RB", Type: "double", Default: "null", Value: "null"},
		},
	},
	{
		Name: "binlog default_value NUMERIC_DECIMAL_TABLE", Cite: binlogIT + "BinlogDefaultValueIT numericAndDecimalToDecimalTest, numericAndDecimalToDoubleTest (ddl/default_value.sql)",
		DDL: "CREATE TABLE NUMERIC_DECIMAL_TABLE (A NUMERIC(3, 2) NOT NULL DEFAULT 1.23, B DECIMAL(4, 3) NOT NULL DEFAULT 2.321, C NUMERIC(7, 5) NULL DEFAULT '12.678', " +
			"D NUMERIC(7, 5) NULL DEFAULT '15.28')",
		Insert: "INSERT INTO NUMERIC_DECIMAL_TABLE VALUES (1.33 ,2.111 , 3.444, NULL)",
		Checks: []Check{
			{Col: "A", Type: "bytes", Name: nDecimal, Required: true, Default: decimal(123), Value: decimal(133)},
			{Col: "B", Type: "bytes", Name: nDecimal, Required: true, Default: decimal(2321), Value: decimal(2111)},
			{Col: "C", Type: "bytes", Name: nDecimal, Default: decimal(1267800), Value: decimal(344400)},
			{Mode: "decimal.handling.mode=double", Col: "A", Type: "double", Required: true, Default: "1.23", Value: "1.33"},
			{Mode: "decimal.handling.mode=double", Col: "B", Type: "double", Required: true, Default: "2.321", Value: "2.111"},
			{Mode: "decimal.handling.mode=double", Col: "C", Type: "double", Default: "12.678", Value: "3.444"},
		},
	},
	{
		Name: "binlog default_value DATE_TIME_TABLE", Cite: binlogIT + "BinlogDefaultValueIT dateAndTimeTest (ddl/default_value.sql)",
		DDL: "CREATE TABLE DATE_TIME_TABLE (A DATE NOT NULL DEFAULT '1976-08-23', B TIMESTAMP NULL DEFAULT '1970-01-01 00:00:01', C DATETIME DEFAULT '2018-01-03 00:00:10', " +
			"D DATETIME(1) DEFAULT '2018-01-03 00:00:10.7', E DATETIME(6) DEFAULT '2018-01-03 00:00:10.123456', F YEAR NOT NULL DEFAULT 1, G TIME DEFAULT '00:00:00', " +
			"H TIME(1) DEFAULT '23:00:00.7', I TIME(6) DEFAULT '23:00:00.123456', L TIME(1) DEFAULT '-23:45:56.7', M TIME(6) DEFAULT '123:00:00.123456')",
		Insert: "INSERT INTO DATE_TIME_TABLE VALUES (DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT, DEFAULT)",
		Checks: []Check{
			{Col: "A", Type: "int32", Name: nDate, Required: true, Default: "2426", Value: "2426"},
			{Col: "B", Type: "string", Name: nZonedTs, Default: `"1970-01-01T00:00:01Z"`, Value: `"1970-01-01T00:00:01Z"`},
			{Col: "C", Type: "int64", Name: nTimestamp, Default: "1514937610000", Value: "1514937610000"},
			{Col: "D", Type: "int64", Name: nTimestamp, Default: "1514937610700", Value: "1514937610700"},
			{Col: "E", Type: "int64", Name: nMicroTs, Default: "1514937610123456", Value: "1514937610123456"},
			{Col: "F", Type: "int32", Name: nYear, Required: true, Default: "2001", Value: "2001"},
			{Col: "G", Type: "int64", Name: nMicroTime, Default: "0", Value: "0"},
			{Col: "H", Type: "int64", Name: nMicroTime, Default: "82800700000", Value: "82800700000"},
			{Col: "I", Type: "int64", Name: nMicroTime, Default: "82800123456", Value: "82800123456"},
			{Col: "L", Type: "int64", Name: nMicroTime, Default: "-85556700000", Value: "-85556700000"},
			{Col: "M", Type: "int64", Name: nMicroTime, Default: "442800123456", Value: "442800123456"},
		},
	},
	{
		Name: "binlog decimal_test", Cite: binlogIT + "BinlogDecimalIT testPreciseDecimalHandlingMode, testDoubleDecimalHandlingMode, testStringDecimalHandlingMode (ddl/decimal_test.sql, DBZ-730)",
		DDL: "CREATE TABLE `DBZ730` (id INT NOT NULL PRIMARY KEY AUTO_INCREMENT, A NUMERIC(3, 2) NOT NULL DEFAULT 1.23, B DECIMAL(4, 3) NOT NULL DEFAULT 2.321, " +
			"C NUMERIC(7, 5) NULL DEFAULT '12.678', D NUMERIC(7, 5) NULL DEFAULT '15.28', E DECIMAL(65, 18) NULL DEFAULT '0.000000000000000000') " +
			"ENGINE=InnoDB AUTO_INCREMENT=15851 DEFAULT CHARSET=utf8",
		Insert: "INSERT INTO `DBZ730`(A, B, C, D) VALUES (1.33, -2.111 , 3.444, NULL)",
		Checks: []Check{
			{Col: "A", Type: "bytes", Name: nDecimal, Required: true, Params: prec("3", "2"), Value: decimal(133)},
			{Col: "B", Type: "bytes", Name: nDecimal, Required: true, Params: prec("4", "3"), Value: decimal(-2111)},
			{Col: "C", Type: "bytes", Name: nDecimal, Params: prec("7", "5"), Value: decimal(344400)},
			{Col: "D", Type: "bytes", Name: nDecimal, Default: decimal(1528000)},
			{Col: "E", Type: "bytes", Name: nDecimal, Params: prec("65", "18"), Value: decimal(0)},
			{Mode: "decimal.handling.mode=double", Col: "A", Type: "double", Required: true, Value: "1.33"},
			{Mode: "decimal.handling.mode=double", Col: "B", Type: "double", Required: true, Value: "-2.111"},
			{Mode: "decimal.handling.mode=double", Col: "C", Type: "double", Value: "3.444"},
			{Mode: "decimal.handling.mode=double", Col: "D", Type: "double", Default: "15.28"},
			{Mode: "decimal.handling.mode=double", Col: "E", Type: "double", Value: "0.0"},
			{Mode: "decimal.handling.mode=string", Col: "A", Type: "string", Required: true, Value: `"1.33"`},
			{Mode: "decimal.handling.mode=string", Col: "B", Type: "string", Required: true, Value: `"-2.111"`},
			{Mode: "decimal.handling.mode=string", Col: "C", Type: "string", Value: `"3.44400"`},
			{Mode: "decimal.handling.mode=string", Col: "D", Type: "string", Default: `"15.28000"`},
			{Mode: "decimal.handling.mode=string", Col: "E", Type: "string", Value: `"0.000000000000000000"`},
		},
	},
	{
		Name: "binlog datetime_key_test", Cite: binlogIT + "BinlogDateTimeInKeyIT (ddl/datetime_key_test.sql, DBZ-1194: zero dates in key columns are the epoch)",
		Setup: []string{"SET SESSION sql_mode = ''"},
		DDL: "CREATE TABLE dbz_1194_datetime_key_test (id INT AUTO_INCREMENT NOT NULL, dtval DATETIME NOT NULL, dval DATE NOT NULL, tval TIME NOT NULL, " +
			"PRIMARY KEY (id, dtval, dval, tval)) DEFAULT CHARSET=utf8",
		Insert: "INSERT INTO dbz_1194_datetime_key_test VALUES (default, '0000-00-00 00:00:00', '0000-00-00', '00:00:00')",
		Checks: []Check{
			{Col: "dtval", Type: "int64", Name: nTimestamp, Required: true, Value: "0"},
			{Col: "dval", Type: "int32", Name: nDate, Required: true, Value: "0"},
			{Col: "tval", Type: "int64", Name: nMicroTime, Required: true, Value: "0"},
		},
	},
	{
		Name: "binlog nationalized_character_test", Cite: binlogIT + "BinlogJdbcSinkDataTypeConverterIT testNationalizedCharacterDataTypeMappings (ddl/nationalized_character_test.sql; values and types, not the jdbc-sink parameters)",
		DDL: "CREATE TABLE `NC_TEST` (`id` INT NOT NULL AUTO_INCREMENT, `nc1` nchar default null, `nc2` nchar(5) default null, `nc3` nvarchar(25) default null, " +
			"PRIMARY KEY (`ID`)) ENGINE=InnoDB AUTO_INCREMENT=1 DEFAULT CHARSET=utf8mb4",
		Insert: "INSERT INTO NC_TEST(nc1,nc2,nc3) VALUES ('a', '123', 'hello')",
		Checks: []Check{
			{Col: "nc1", Type: "string", Value: `"a"`}, {Col: "nc2", Type: "string", Value: `"123"`}, {Col: "nc3", Type: "string", Value: `"hello"`},
		},
	},
}

// binaryChecks are BinlogBinaryModeIT's: X'010203' in every binary.handling.mode (NOT NULL columns).
func binaryChecks(cols ...string) []Check {
	var out []Check
	for _, c := range cols {
		out = append(out,
			Check{Col: c, Type: "bytes", Required: true, Value: b64(1, 2, 3)},
			Check{Mode: "binary.handling.mode=hex", Col: c, Type: "string", Required: true, Value: `"010203"`},
			Check{Mode: "binary.handling.mode=base64", Col: c, Type: "string", Required: true, Value: `"AQID"`},
			Check{Mode: "binary.handling.mode=base64-url-safe", Col: c, Type: "string", Required: true, Value: `"AQID"`})
	}
	return out
}

// pointJSON is an io.debezium.data.geometry.Point: x, y, the point's WKB, srid.
func pointJSON(x, y float64, srid string) string {
	w := make([]byte, 21)
	w[0] = 1
	binary.LittleEndian.PutUint32(w[1:], 1)
	binary.LittleEndian.PutUint64(w[5:], math.Float64bits(x))
	binary.LittleEndian.PutUint64(w[13:], math.Float64bits(y))
	return fmt.Sprintf(`{"x":%s,"y":%s,"wkb":%s,"srid":%s}`, javaDouble(x), javaDouble(y), b64(w...), srid)
}

// geomJSON is an io.debezium.data.geometry.Geometry of the WKB in hex.
func geomJSON(wkbHex, srid string) string {
	w, err := hex.DecodeString(wkbHex)
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf(`{"wkb":%s,"srid":%s}`, b64(w...), srid)
}

// javaDouble formats f as Java's Double.toString does for these values (shortest repr, ".0"
// for integers), the way the JsonConverter writes a float64.
func javaDouble(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// numericChecks are the assertions BinlogNumericColumnIT and BinlogDecimalColumnIT share.
func numericChecks() []Check {
	return []Check{
		{Col: "rating1", Type: "bytes", Name: nDecimal, Params: prec("10", "0"), Value: decimal(123)},
		{Col: "rating2", Type: "bytes", Name: nDecimal, Params: prec("8", "4"), Value: decimal(1234567)},
		{Col: "rating3", Type: "bytes", Name: nDecimal, Params: prec("7", "0"), Value: decimal(235)},
		{Col: "rating4", Type: "bytes", Name: nDecimal, Params: prec("6", "0"), Value: decimal(346)},
		{Mode: "decimal.handling.mode=double", Col: "rating1", Type: "double", Value: "123.0"},
		{Mode: "decimal.handling.mode=double", Col: "rating2", Type: "double", Value: "123.4567"},
		{Mode: "decimal.handling.mode=double", Col: "rating3", Type: "double", Value: "235.0"},
		{Mode: "decimal.handling.mode=double", Col: "rating4", Type: "double", Value: "346.0"},
		{Mode: "decimal.handling.mode=string", Col: "rating1", Type: "string", Value: `"123"`},
		{Mode: "decimal.handling.mode=string", Col: "rating2", Type: "string", Value: `"123.4567"`},
		{Mode: "decimal.handling.mode=string", Col: "rating3", Type: "string", Value: `"235"`},
		{Mode: "decimal.handling.mode=string", Col: "rating4", Type: "string", Value: `"346"`},
	}
}
