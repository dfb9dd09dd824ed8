//go:build integration

package mysql

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/envelope"
)

// The record tests check values and schema parameters where sluice once differed from
// Debezium (issue 17), in the snapshot and in the stream, against the values Debezium's own
// integration tests assert. Each table is Debezium's test DDL; the expected values cite the
// test that asserts them (debezium/debezium at aad55199).

// recordTables are Debezium's test tables. The rows are inserted once before the snapshot and
// once more (ids + 100) while streaming.
var recordTables = []struct {
	ddl  string
	rows []string // VALUES tuples, first value the id
}{
	// debezium-connector-binlog/src/test/resources/ddl/geometry_test_8.sql (DBZ-222, DBZ-507)
	{"CREATE TABLE dbz_222_point (id INT NOT NULL, point POINT DEFAULT NULL, PRIMARY KEY (id))",
		[]string{"(%d, ST_GeomFromText('POINT(1 1)'))", "(%d, ST_GeomFromText('POINT(8.25554554 3.22124447)', 4326))", "(%d, NULL)"}},
	{"CREATE TABLE dbz_507_geometry (id INT NOT NULL, geom GEOMETRY, linestring LINESTRING, polygon POLYGON, collection GEOMETRYCOLLECTION, PRIMARY KEY (id))",
		[]string{"(%d, ST_GeomFromText('POINT(1 1)', 4326), ST_GeomFromText('LINESTRING(0 0, 1 1)', 3187), ST_GeomFromText('POLYGON((0 0, 1 1, 1 0, 0 0))'), ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 1), LINESTRING(0 0, 1 1))', 4326))",
			"(%d, ST_GeomFromText('LINESTRING(0 0, 1 1)'), NULL, NULL, NULL)"}},
	// debezium-connector-binlog/src/test/resources/ddl/year_test.sql (DBZ-1143)
	{"CREATE TABLE dbz_1143_year_test (id INT NOT NULL, y18 YEAR, y0018 YEAR, y2018 YEAR, d18 DATE, d0018 DATE, d2018 DATE, " +
		"dt18 DATETIME, dt0018 DATETIME, dt2018 DATETIME, y78 YEAR, y0078 YEAR, y1978 YEAR, d78 DATE, d0078 DATE, d1978 DATE, " +
		"dt78 DATETIME, dt0078 DATETIME, dt1978 DATETIME, PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4",
		[]string{"(%d, '18', '0018', '2018', '18-04-01', '0018-04-01', '2018-04-01', '18-04-01 12:34:56', '0018-04-01 12:34:56', " +
			"'2018-04-01 12:34:56', '78', '0078', '1978', '78-04-01', '0078-04-01', '1978-04-01', '78-04-01 12:34:56', " +
			"'0078-04-01 12:34:56', '1978-04-01 12:34:56')"}},
	// debezium-connector-mysql/src/test/java/io/debezium/connector/mysql/MySqlAntlrDdlParserTest.java,
	// shouldParseEnumOptionsWithCommaQuoteAndBackslash and shouldParseSetOptionsWithQuoteAndBackslash
	// (debezium/dbz#2102).
	{`CREATE TABLE enum_literals (id INT NOT NULL PRIMARY KEY, e ENUM('plain','a,b','it''s','back\\slash','back\\,comma','ends\\',''), ` +
		`s SET('plain','it''s','back\\slash'))`,
		[]string{`(%d, 'a,b', 'it''s,back\\slash')`, `(%d, 'back\\,comma', 'plain')`, `(%d, 'ends\\', NULL)`}},
}

// recordWant is one expected field of the after image, as JSON, by table and row index.
type recordWant struct {
	table, field string
	row          int
	want         string
}

// recordWants are Debezium's asserted values, with the default enable.time.adjuster=true.
var recordWants = []recordWant{
	// BinlogGeometryIT.assertPoint: expected_srid NULL for POINT(1 1), 4326 with the SRID.
	{"dbz_222_point", "point", 0, `{"x":1.0,"y":1.0,"wkb":"AQEAAAAAAAAAAADwPwAAAAAAAPA/","srid":null}`},
	{"dbz_222_point", "point.srid", 1, `4326`},
	{"dbz_222_point", "point", 2, `null`},
	// BinlogGeometryIT.assertGeomRecord: srid 4326, 3187, null (the POLYGON without SRID), 4326;
	// row 2: geom srid null. WKB hex from the same assertions.
	{"dbz_507_geometry", "geom", 0, `{"wkb":"` + b64hex("0101000000000000000000F03F000000000000F03F") + `","srid":4326}`},
	{"dbz_507_geometry", "linestring", 0, `{"wkb":"` + b64hex("01020000000200000000000000000000000000000000000000000000000000F03F000000000000F03F") + `","srid":3187}`},
	{"dbz_507_geometry", "polygon", 0, `{"wkb":"` + b64hex("0103000000010000000400000000000000000000000000000000000000000000000000F03F000000000000F03F000000000000F03F000000000000000000000000000000000000000000000000") + `","srid":null}`},
	{"dbz_507_geometry", "collection", 0, `{"wkb":"` + b64hex("0107000000020000000101000000000000000000F03F000000000000F03F01020000000200000000000000000000000000000000000000000000000000F03F000000000000F03F") + `","srid":4326}`},
	{"dbz_507_geometry", "geom", 1, `{"wkb":"` + b64hex("01020000000200000000000000000000000000000000000000000000000000F03F000000000000F03F") + `","srid":null}`},
	{"dbz_507_geometry", "linestring", 1, `null`},
	// BinlogYearIT.assertChangeRecordByConnector (time adjuster on, the default).
	{"dbz_1143_year_test", "y18", 0, `2018`}, {"dbz_1143_year_test", "y0018", 0, `2018`}, {"dbz_1143_year_test", "y2018", 0, `2018`},
	{"dbz_1143_year_test", "d18", 0, `17622`}, {"dbz_1143_year_test", "d0018", 0, `17622`}, {"dbz_1143_year_test", "d2018", 0, `17622`},
	{"dbz_1143_year_test", "dt18", 0, `1522586096000`}, {"dbz_1143_year_test", "dt0018", 0, `1522586096000`}, {"dbz_1143_year_test", "dt2018", 0, `1522586096000`},
	{"dbz_1143_year_test", "y78", 0, `1978`}, {"dbz_1143_year_test", "y0078", 0, `1978`}, {"dbz_1143_year_test", "y1978", 0, `1978`},
	{"dbz_1143_year_test", "d78", 0, `3012`}, {"dbz_1143_year_test", "d0078", 0, `3012`}, {"dbz_1143_year_test", "d1978", 0, `3012`},
	{"dbz_1143_year_test", "dt78", 0, `260282096000`}, {"dbz_1143_year_test", "dt0078", 0, `260282096000`}, {"dbz_1143_year_test", "dt1978", 0, `260282096000`},
	// ENUM/SET values are the members as stored (Debezium ≥ 3.7 after debezium/dbz#2102; the
	// snapshot always did), never their escaped form.
	{"enum_literals", "e", 0, `"a,b"`}, {"enum_literals", "s", 0, `"it's,back\\slash"`},
	{"enum_literals", "e", 1, `"back\\,comma"`}, {"enum_literals", "s", 1, `"plain"`},
	{"enum_literals", "e", 2, `"ends\\"`}, {"enum_literals", "s", 2, `null`},
}

// recordWantsNoAdjuster are BinlogYearIT.assertChangeRecordByDatabase (enable.time.adjuster=false):
// the database's own reading of two-digit years, 0018 and 0078 left as they are.
var recordWantsNoAdjuster = []recordWant{
	{"dbz_1143_year_test", "y0018", 0, `2018`}, {"dbz_1143_year_test", "y0078", 0, `1978`},
	{"dbz_1143_year_test", "d18", 0, `17622`}, {"dbz_1143_year_test", "d0018", 0, `-712863`},
	{"dbz_1143_year_test", "d78", 0, `3012`}, {"dbz_1143_year_test", "d0078", 0, `-690948`},
	{"dbz_1143_year_test", "dt18", 0, `1522586096000`}, {"dbz_1143_year_test", "dt78", 0, `260282096000`},
	// Not asserted by BinlogYearIT (its comment wrongly expects an overflow): the epoch
	// milliseconds of 0018-04-01 12:34:56 and 0078-04-01 12:34:56, proleptic Gregorian.
	{"dbz_1143_year_test", "dt0018", 0, fmt.Sprint(time.Date(18, 4, 1, 12, 34, 56, 0, time.UTC).UnixMilli())},
	{"dbz_1143_year_test", "dt0078", 0, fmt.Sprint(time.Date(78, 4, 1, 12, 34, 56, 0, time.UTC).UnixMilli())},
}

// recordAllowed are the allowed parameters of ENUM and SET: the members joined with ',',
// each ',' and '\' in a member escaped with '\' (Debezium's EnumeratedValues.toCommaSeparatedString;
// Debezium ≤ 3.6 wrote the same from SHOW CREATE TABLE's text, MySqlAntlrDdlParser.escapeOption),
// quotes unescaped (EnumTest, EnumSetTest: "a\\,b,c").
var recordAllowed = map[string]string{
	"e": `plain,a\,b,it's,back\\slash,back\\\,comma,ends\\,`,
	"s": `plain,it's,back\\slash`,
}

func b64hex(h string) string {
	var b []byte
	for i := 0; i+1 < len(h); i += 2 {
		var x byte
		fmt.Sscanf(h[i:i+2], "%02X", &x)
		b = append(b, x)
	}
	return strings.Trim(string(envelope.AppendBase64(nil, b)), `"`) // AppendBase64 writes a JSON string
}

// TestDebeziumRecordValues runs Debezium's test tables through snapshot and stream and checks
// the values and the ENUM/SET schema parameters Debezium asserts for them.
func TestDebeziumRecordValues(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			db := openDB(t, srv.dsn)
			const dbName = "dbz_records"
			freshDB(t, db, dbName)
			// Two-digit years in literals need no special sql_mode; geometry with SRIDs does not either.
			insert := func(id0 int) {
				for _, tb := range recordTables {
					name := strings.Fields(tb.ddl)[2]
					for i, r := range tb.rows {
						mustExec(t, db, fmt.Sprintf("INSERT INTO %s.%s VALUES "+r, dbName, name, id0+i))
					}
				}
			}
			for _, tb := range recordTables {
				mustExec(t, db, "USE "+dbName, tb.ddl)
			}
			insert(0)
			total := 0
			for _, tb := range recordTables {
				total += len(tb.rows)
			}
			ts := newTestSource(t, srv, dbName)
			s := ts.open(t)
			defer s.Close()
			snap := changes(ts.collect(t, s, 30*time.Second, untilSnapshotDone))
			if len(snap) != total {
				t.Fatalf("snapshot: %d rows, want %d", len(snap), total)
			}
			insert(100)
			stream := changes(ts.collect(t, s, 30*time.Second, func(r []rec) bool { return len(changes(r)) == total }))
			for _, phase := range []struct {
				name string
				recs []rec
			}{{"snapshot", snap}, {"stream", stream}} {
				t.Run(phase.name, func(t *testing.T) {
					checkRecords(t, phase.recs, envelope.Options{}, recordWants, true)
					checkRecords(t, phase.recs, envelope.Options{NoTimeAdjuster: true}, recordWantsNoAdjuster, false)
				})
			}
		})
	}
}

// checkRecords encodes recs under o and compares the after fields of wants (and, with
// allowed, the ENUM/SET allowed parameters).
func checkRecords(t *testing.T, recs []rec, o envelope.Options, wants []recordWant, allowed bool) {
	t.Helper()
	enc, err := envelope.NewEncoder(envelope.Config{TopicPrefix: "dbserver1", SchemasEnable: true, TombstonesOnDelete: true, Options: o})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		after  map[string]json.RawMessage
		fields []struct {
			Field  string            `json:"field"`
			Params map[string]string `json:"parameters"`
		}
	}
	byTable := map[string][]row{}
	for _, r := range recs {
		ev := r.ev
		out, err := enc.Encode(nil, &ev)
		if err != nil {
			t.Fatalf("%s: encode: %v", r.tbl, err)
		}
		var v struct {
			Schema struct {
				Fields []struct {
					Field  string `json:"field"`
					Fields []struct {
						Field  string            `json:"field"`
						Params map[string]string `json:"parameters"`
					} `json:"fields"`
				} `json:"fields"`
			} `json:"schema"`
			Payload struct {
				After map[string]json.RawMessage `json:"after"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(out[0].Value, &v); err != nil {
			t.Fatalf("%s: %v: %s", r.tbl, err, out[0].Value)
		}
		byTable[r.tbl] = append(byTable[r.tbl], row{after: v.Payload.After, fields: v.Schema.Fields[1].Fields})
	}
	for _, w := range wants {
		rows := byTable[w.table]
		if w.row >= len(rows) {
			t.Errorf("%s: row %d missing (%d rows)", w.table, w.row, len(rows))
			continue
		}
		field, sub, _ := strings.Cut(w.field, ".")
		got := rows[w.row].after[field]
		if sub != "" {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(got, &m); err != nil {
				t.Errorf("%s row %d %s: %s: %v", w.table, w.row, field, got, err)
				continue
			}
			got = m[sub]
		}
		if string(got) != w.want {
			t.Errorf("%s row %d %s (%+v): got %s, want %s", w.table, w.row, w.field, o, got, w.want)
		}
	}
	if !allowed {
		return
	}
	for _, f := range byTable["enum_literals"][0].fields {
		if want, ok := recordAllowed[f.Field]; ok && f.Params["allowed"] != want {
			t.Errorf("enum_literals.%s allowed: got %s, want %s", f.Field, f.Params["allowed"], want)
		}
	}
}
