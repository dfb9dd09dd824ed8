//go:build integration

package conformance

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
