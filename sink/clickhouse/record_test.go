package clickhouse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

func TestEachField(t *testing.T) {
	in := []byte(` { "a" : 1, "b":"x\"y", "c":{"d":[1,{"e":"]"}]}, "f":null, "g":[ ] } `)
	var got []string
	if err := eachField(in, func(k, v []byte) error {
		got = append(got, string(k)+"="+string(v))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := `a=1|b="x\"y"|c={"d":[1,{"e":"]"}]}|f=null|g=[ ]`
	if strings.Join(got, "|") != want {
		t.Fatalf("got %s", strings.Join(got, "|"))
	}
	for _, bad := range []string{`{"a":}`, `{"a" 1}`, `{"a":1`, `{"a":"x}`, `[1]`, ``, `{"a":1,}`} {
		if err := eachField([]byte(bad), func(k, v []byte) error { return nil }); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestJSONScalars(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{{"0", 0, true}, {"-12", -12, true}, {"9223372036854775807", math.MaxInt64, true},
		{"-9223372036854775808", math.MinInt64, true}, {"9223372036854775808", 0, false}, {"1.5", 0, false}, {"", 0, false}} {
		got, err := jsonInt([]byte(c.in))
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("jsonInt(%q) = %d, %v", c.in, got, err)
		}
	}
	for in, want := range map[string]string{`"abc"`: "abc", `"a\nb\u00e9"`: "a\nbé", `""`: ""} {
		got, err := jsonString([]byte(in))
		if err != nil || got != want {
			t.Errorf("jsonString(%s) = %q, %v", in, got, err)
		}
	}
}

func withSrc(t ttable, k string, v any) ttable {
	m := map[string]any{}
	for a, b := range t.source {
		m[a] = b
	}
	m[k] = v
	t.source = m
	return t
}

func TestVersions(t *testing.T) {
	cache := &schemaCache{m: map[string]*envSchema{}}
	pg := ttable{topic: "s.public.t", db: "d", schema: "public", table: "t", keys: []string{"id"}, pg: true}
	my := ttable{topic: "s.d.t", db: "d", table: "t", keys: []string{"id"}}
	for _, c := range []struct {
		name string
		tb   ttable
		op   string
		pos  int64
		want uint64
	}{
		{"pg lsn", pg, "c", 24023128, 24023128},
		{"pg snapshot read is one below", pg, "r", 24023128, 24023127},
		// MySQL streamed changes: 1<<62 | the original commit timestamp (ts_us).
		{"mysql streamed: commit timestamp", my, "u", 1234, 1<<62 | (1705314600000000 + 1234)},
		{"mysql snapshot read keeps binlog coordinates", my, "r", 1234, 1<<32 | 1233},
		{"mysql replica after failover: smaller coordinates, later commit", withSrc(withSrc(withSrc(my, "gtid", "4e11fa47-71ca-11e1-9e33-c80aa9429562:1"), "file", "replica-bin.000001"), "ts_us", 1705314700000000), "u", 99, 1<<62 | 1705314700000000},
		{"mysql after RESET BINARY LOGS AND GTIDS", withSrc(withSrc(my, "file", "binlog.000001"), "ts_us", 1705314700000001), "u", 157, 1<<62 | 1705314700000001},
		{"mysql without ts_us (Debezium < 2.6): ts_ms", withSrc(my, "ts_us", nil), "u", 1234, 1<<62 | 1705314600000000},
		{"mariadb without gtid keeps binlog coordinates", withSrc(my, "connector", "mariadb"), "u", 1234, 1<<32 | 1234},
		// PostgreSQL: a transaction that began before the previous commit streams LSNs below
		// it; source.sequence[0] (that commit) lifts them, so versions follow commit order.
		{"pg change written before the previous commit", withSrc(pg, "sequence", `["5000","250"]`), "u", 250, 5000},
		{"pg change after the previous commit", withSrc(pg, "sequence", `["5000","6000"]`), "u", 6000, 6000},
		{"pg snapshot at the consistent point", withSrc(pg, "sequence", `[null,"5000"]`), "r", 5000, 4999},
		{"pg sequence with bare numbers", withSrc(pg, "sequence", `[5000, 250]`), "u", 250, 5000},
		// MariaDB: the GTID sequence number of the domain, which a failover continues, above
		// every binlog-coordinate version (snapshot rows, MySQL without MariaDB GTIDs).
		{"mariadb gtid", withSrc(my, "gtid", "0-2-41"), "u", 1234, 1<<63 | 41},
		{"mariadb gtid, other binlog coordinates", withSrc(withSrc(my, "gtid", "0-2-41"), "file", "replica-bin.000007"), "u", 99, 1<<63 | 41},
		{"mysql uuid gtid: commit timestamp", withSrc(my, "gtid", "3e11fa47-71ca-11e1-9e33-c80aa9429562:23"), "u", 1234, 1<<62 | (1705314600000000 + 1234)},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := c.tb.record(c.op, nil, row{"id", 1}, c.pos, false)
			ch, ok, err := parseChange(cache, rec.Key, rec.Value)
			if err != nil || !ok {
				t.Fatal(ok, err)
			}
			if ch.version != c.want || ch.table != "t" || ch.db != "d" {
				t.Fatalf("version %d table %s db %s, want %d", ch.version, ch.table, ch.db, c.want)
			}
		})
	}
	// row index is added to pos; file index from the suffix
	rec := my.record("r", nil, row{"id", 1}, 500, false)
	v := strings.Replace(string(rec.Value), `"file":"mysql-bin.000001","pos":500,"row":0`, `"file":"mysql-bin.000042","pos":500,"row":7`, 1)
	ch, _, err := parseChange(cache, rec.Key, []byte(v))
	if err != nil || ch.version != 42<<32|507-1 {
		t.Fatalf("version %d, %v", ch.version, err)
	}
	// Binlog-coordinate versions stay below 1<<62, under every streamed MySQL version, also
	// those an older sluice wrote (it used coordinates for streamed changes too).
	v = strings.Replace(string(rec.Value), `"file":"mysql-bin.000001"`, `"file":"mysql-bin.1073741824"`, 1)
	if _, _, err := parseChange(cache, rec.Key, []byte(v)); err == nil || !strings.Contains(err.Error(), "2^30") {
		t.Fatalf("file index 2^30: %v, want an error", err)
	}
	for _, bad := range []string{`"ts_us":0`, `"ts_us":-5`, `"ts_us":"x"`} {
		rec := my.record("u", nil, row{"id", 1}, 500, false)
		v := strings.Replace(string(rec.Value), `"ts_us":1705314600000500`, bad, 1)
		if _, _, err := parseChange(cache, rec.Key, []byte(v)); err == nil {
			t.Fatalf("%s: no error", bad)
		}
	}
	// tombstones and non-envelope records are skipped
	if _, ok, err := parseChange(cache, []byte(`{"id":1}`), nil); ok || err != nil {
		t.Fatal("tombstone not skipped")
	}
	if _, ok, err := parseChange(cache, []byte(`{"serverName":"s"}`), []byte(`{"ts_ms":1}`)); ok || err != nil {
		t.Fatal("heartbeat not skipped")
	}
}

func TestConnectTypes(t *testing.T) {
	for _, c := range []struct {
		field  tfield
		legacy string
		modern string
		raw    string
		want   string // fmt of the converted value (legacy codec)
	}{
		{tfield{name: "a", typ: "int8"}, "Int8", "Int8", "-5", "-5"},
		{tfield{name: "a", typ: "int16", optional: true}, "Nullable(Int16)", "Nullable(Int16)", "300", "300"},
		{tfield{name: "a", typ: "boolean"}, "UInt8", "UInt8", "true", "1"},
		{tfield{name: "a", typ: "double"}, "Float64", "Float64", `"NaN"`, "NaN"},
		{tfield{name: "a", typ: "bytes"}, "String", "String", `"AAEC"`, "\x00\x01\x02"},
		{tfield{name: "a", typ: "bytes", semantic: nameDecimal, params: map[string]string{"scale": "2", "connect.decimal.precision": "10"}}, "Decimal(10, 2)", "Decimal(10, 2)", `"z8c="`, "-123.45"},
		{tfield{name: "a", typ: "bytes", semantic: nameDecimal, params: map[string]string{"scale": "0", "connect.decimal.precision": "65"}}, "String", "String", `"MDk="`, "12345"},
		{tfield{name: "a", typ: "struct", semantic: nameVarDecimal}, "String", "String", `{"scale":1,"value":"BQ=="}`, "0.5"},
		{tfield{name: "a", typ: "int32", semantic: nameDate}, "Date", "Date32", "19737", "2024-01-15 00:00:00 +0000 UTC"},
		{tfield{name: "a", typ: "int64", semantic: nameTimestamp}, "Int64", "DateTime64(3, 'UTC')", "1705314600000", "1705314600000000"},
		{tfield{name: "a", typ: "int64", semantic: nameMicroTimestamp}, "Int64", "DateTime64(6, 'UTC')", "1705314600000001", "1705314600000001"},
		{tfield{name: "a", typ: "int64", semantic: nameNanoTimestamp}, "Int64", "DateTime64(9, 'UTC')", "1705314600000001999", "1705314600000001"},
		{tfield{name: "a", typ: "string", semantic: nameZonedTimestamp}, "Int64", "DateTime64(6, 'UTC')", `"2024-01-15T10:30:00.000001Z"`, "1705314600000001"},
		{tfield{name: "a", typ: "int32", semantic: nameTime}, "Int64", "Int64", "1000", "1000000"},
		{tfield{name: "a", typ: "string", semantic: "io.debezium.data.Json"}, "String", "String", `"{\"a\": 1}"`, `{"a": 1}`},
		{tfield{name: "a", typ: "string", semantic: "io.debezium.data.Enum", params: map[string]string{"allowed": "x,y"}}, "String", "String", `"y"`, "y"},
		{tfield{name: "a", typ: "array", items: "string", optional: true}, "Array(Nullable(String))", "Array(Nullable(String))", `["a",null]`, "[a <nil>]"},
	} {
		t.Run(c.legacy+"/"+c.field.semantic, func(t *testing.T) {
			s := connectSchema{Type: c.field.typ, Optional: c.field.optional, Name: c.field.semantic, Parameters: c.field.params, Field: c.field.name}
			if c.field.items != "" {
				s.Items = &connectSchema{Type: c.field.items, Optional: true}
			}
			lc, err := connectColumn(&s, false)
			if err != nil {
				t.Fatal(err)
			}
			mc, err := connectColumn(&s, true)
			if err != nil {
				t.Fatal(err)
			}
			if lc.chType() != c.legacy || mc.chType() != c.modern {
				t.Fatalf("types %s / %s, want %s / %s", lc.chType(), mc.chType(), c.legacy, c.modern)
			}
			b := lc.newBuf()
			if err := b.appendRaw([]byte(c.raw)); err != nil {
				t.Fatal(err)
			}
			if got := fmtFirst(b.data(0, b.len())); got != c.want {
				t.Fatalf("value %q, want %q", got, c.want)
			}
		})
	}
}

func fmtFirst(d any) string {
	switch v := d.(type) {
	case []int8:
		return itoa(int64(v[0]))
	case []*int16:
		return itoa(int64(*v[0]))
	case []int64:
		return itoa(v[0])
	case []uint8:
		return itoa(int64(v[0]))
	case []float64:
		if math.IsNaN(v[0]) {
			return "NaN"
		}
	case []string:
		return v[0]
	case []time.Time:
		return v[0].String()
	case [][]*string:
		var parts []string
		for _, p := range v[0] {
			if p == nil {
				parts = append(parts, "<nil>")
			} else {
				parts = append(parts, *p)
			}
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	if s, ok := d.(interface{ String() string }); ok {
		return s.String()
	}
	if v, ok := d.([]interface{ String() string }); ok {
		return v[0].String()
	}
	return fmtAny(d)
}

func itoa(v int64) string { return strings.TrimSpace(strings.Replace(fmtAny(v), " ", "", -1)) }

func TestDecimalBounds(t *testing.T) {
	conv := convDecimal(4, 2)
	if _, err := conv([]byte(`"JxA="`)); err == nil { // 10000 unscaled = 100.00 > Decimal(4,2)
		t.Fatal("overflow not detected")
	}
	if d, err := conv([]byte(`"Jw8="`)); err != nil || d.String() != "99.99" {
		t.Fatalf("%v %v", d, err)
	}
	if d, err := conv([]byte(`-12.5`)); err != nil || d.String() != "-12.5" {
		t.Fatalf("%v %v", d, err)
	}
	if _, err := convDate(false)([]byte(`-1`)); err == nil {
		t.Fatal("date before 1970 accepted on the 18.16 Date type")
	}
}

func TestWidens(t *testing.T) {
	for _, c := range []struct {
		from, to string
		ok       bool
	}{
		{"Int32", "Int64", true}, {"Int64", "Int32", false}, {"Float32", "Float64", true},
		{"Decimal(10, 2)", "Decimal(12, 2)", true}, {"Decimal(10, 2)", "Decimal(10, 3)", false},
		{"String", "Nullable(String)", true}, {"Nullable(String)", "String", false},
		{"String", "Int64", false}, {"Nullable(Int32)", "Nullable(Int64)", true},
	} {
		if widens(c.from, c.to) != c.ok {
			t.Errorf("widens(%s, %s) != %t", c.from, c.to, c.ok)
		}
	}
}

func TestPlaceholder(t *testing.T) {
	for _, s := range []string{`"__debezium_unavailable_value"`, `"X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ=="`, `["__debezium_unavailable_value"]`} {
		if !isPlaceholder([]byte(s)) {
			t.Errorf("%s not recognised", s)
		}
	}
	if isPlaceholder([]byte(`"x"`)) {
		t.Error("false positive")
	}
}

func fmtAny(v any) string { return strings.TrimSpace(sprint(v)) }

// TestJSONStringMatchesEncodingJSON: the hand-written unescape and string skipping agree with
// encoding/json on escapes, \u sequences, invalid UTF-8 and strings longer than the short-loop.
func TestJSONStringMatchesEncodingJSON(t *testing.T) {
	for _, raw := range []string{
		`""`, `"plain"`, `"{\"qty\": 1, \"sku\": \"SKU-1\"}"`, `"a\\b\/c\b\f\n\r\t"`, `"\u00e9\ud83d\ude00x"`,
		`"ends with backslash \\"`, `"` + strings.Repeat(`x\"`, 40) + `"`, `"` + strings.Repeat("y", 100) + `\\\"z"`,
		"\"bad \xff utf8 \\\" quoted\"", "\"ctl \x01\"", `"bad escape \q"`, `"é and \" "`,
	} {
		var want string
		werr := json.Unmarshal([]byte(raw), &want)
		got, err := jsonString([]byte(raw))
		if (err != nil) != (werr != nil) || got != want {
			t.Errorf("jsonString(%s) = %q, %v; encoding/json: %q, %v", raw, got, err, want, werr)
		}
		// the string ends where encoding/json's scanner ends it
		doc := []byte(raw + `,1]`)
		end, err := skipString(doc, 0)
		if err != nil || end != len(raw) {
			t.Errorf("skipString(%s) = %d, %v; want %d", raw, end, err, len(raw))
		}
	}
}

// TestParseRepeatedSchema: records that repeat the previous record's schema (the fast split)
// parse exactly as with a fresh cache (the scanning split), including keys with another schema
// and a value with a member after "payload".
func TestParseRepeatedSchema(t *testing.T) {
	raw, err := os.ReadFile("testdata/pg_orders_records.txt")
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(raw), []byte("\n"))
	type kv struct{ key, value []byte }
	var recs []kv
	for i := 0; i+1 < len(lines); i += 2 {
		recs = append(recs, kv{lines[i], lines[i+1]})
	}
	v := recs[0].value
	extra := append(append([]byte(nil), v[:len(v)-1]...), `,"extra":{"payload":1}}`...)
	recs = append(recs, recs...)
	recs = append(recs,
		kv{[]byte(`{"id":1}`), recs[1].value},                                // key without schema
		kv{recs[0].key, recs[2].value},                                       // back to the usual key
		kv{[]byte(`{"schema":{"type":"int64"},"payload":1}`), recs[1].value}, // another key schema
		kv{recs[0].key, extra}, kv{nil, recs[0].value})
	shared := &schemaCache{m: map[string]*envSchema{}}
	for i, r := range recs {
		got, gok, gerr := parseChange(shared, r.key, r.value)
		want, wok, werr := parseChange(&schemaCache{m: map[string]*envSchema{}}, r.key, r.value)
		if gok != wok || (gerr == nil) != (werr == nil) {
			t.Fatalf("record %d: ok %v err %v; fresh cache: ok %v err %v", i, gok, gerr, wok, werr)
		}
		if string(got.before) != string(want.before) || string(got.after) != string(want.after) || string(got.key) != string(want.key) ||
			got.op != want.op || got.version != want.version || got.table != want.table || (got.schema == nil) != (want.schema == nil) {
			t.Fatalf("record %d: %+v\nfresh cache: %+v", i, got, want)
		}
		if got.schema != nil && (fmt.Sprint(got.schema.cols) != fmt.Sprint(want.schema.cols) || fmt.Sprint(got.schema.keys) != fmt.Sprint(want.schema.keys)) {
			t.Fatalf("record %d: schema %v %v; fresh cache %v %v", i, got.schema.cols, got.schema.keys, want.schema.cols, want.schema.keys)
		}
	}
}

// TestSourceNamesReused: repeated source names are reused, and an escaped name never matches
// a previous decoded one that looks like its raw text.
func TestSourceNamesReused(t *testing.T) {
	cache := &schemaCache{m: map[string]*envSchema{}}
	for _, tc := range []struct{ raw, want string }{
		{`"orders"`, "orders"}, {`"orders"`, "orders"}, {`"a\\\"b"`, `a\"b`}, {`"a\"b"`, `a"b`}, {`null`, ""}, {`"x"`, "x"},
	} {
		got, err := sourceName([]byte(tc.raw), &cache.names[2])
		if err != nil || got != tc.want {
			t.Fatalf("sourceName(%s) = %q, %v; want %q", tc.raw, got, err, tc.want)
		}
	}
}

func TestLastCommitLSN(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint64
		err  bool
	}{
		{`"[\"24023119\",\"24023128\"]"`, 24023119, false},
		{`"[null,\"24023128\"]"`, 0, false},
		{`"[ 7 , 9 ]"`, 7, false},
		{`"24023119"`, 0, true},
		{`"[\"x\",\"1\"]"`, 0, true},
		{`"[]"`, 0, true},
		{`7`, 0, true},
	} {
		got, err := lastCommitLSN([]byte(c.in))
		if got != c.want || (err != nil) != c.err {
			t.Errorf("%s: %d, %v; want %d (error %t)", c.in, got, err, c.want, c.err)
		}
	}
}

func TestMariaSeq(t *testing.T) {
	for in, want := range map[string]uint64{
		`"0-1-123"`: 123, `"12-4294967295-9"`: 9, `"0-1-0"`: 0, `null`: 0, `"0-1"`: 0, `"0-1-2-3"`: 0, `"0--5"`: 0,
		`"3e11fa47-71ca-11e1-9e33-c80aa9429562:23"`: 0, `"0-1-99999999999999999999"`: 0, `"0-1-"`: 0,
	} {
		if got := mariaSeq([]byte(in)); got != want {
			t.Errorf("%s: %d, want %d", in, got, want)
		}
	}
}
