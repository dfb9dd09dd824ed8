package clickhouse

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"
)

// FuzzSkipValue: on any valid JSON value the scanner ends exactly where the value ends, and it
// never panics on anything else.
func FuzzSkipValue(f *testing.F) {
	for _, s := range []string{`{"a":"x\"}","b":[1,{"c":"\\"}],"d":null}`, `"\\\""`, `[ 1 , 2 ]`, `-1.5e3`,
		`{"payload":"{\"qty\": 1, \"sku\": \"SKU-1\"}"}`, `"abc`, `{"a":1`, `"\`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		end, err := skipValue(b, 0)
		if !json.Valid(b) {
			return
		}
		if err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		if skipSpace(b, end) != len(b) {
			t.Fatalf("%q: ends at %d", b, end)
		}
	})
}

// FuzzJSONString: jsonString decodes every JSON string as encoding/json does, and rejects what
// is not one.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{`"abc"`, `"a\"b\\c\n"`, `"é\u00e9"`, "\"\xff\"", `"\ud800"`, "\"a\x01\"", `"`, `""`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if e, err := skipString(b, 0); len(b) == 0 || b[0] != '"' || err != nil || e != len(b) {
			return // the scanner hands jsonString one whole string value
		}
		got, err := jsonString(b)
		var want string
		werr := json.Unmarshal(b, &want)
		if werr != nil {
			if err == nil {
				t.Fatalf("%q: %q, encoding/json: %v", b, got, werr)
			}
			return
		}
		if err != nil || got != want {
			t.Fatalf("%q: %q %v, encoding/json %q", b, got, err, want)
		}
	})
}

// FuzzAppendJSONText: a String column's bytes (strBuf, appendJSONText) are what convString makes
// of the same value, after other bytes in the buffer, and an error leaves the buffer as it was.
func FuzzAppendJSONText(f *testing.F) {
	for _, s := range []string{`"abc"`, `"a\"b\\c\n"`, `"{\"qty\": 1, \"sku\": \"SKU-1\"}"`, `"\u00e9x"`,
		`"\ud83d\ude00"`, `"\ud800\u0041"`, `"\ud800"`, "\"\xff\"", "\"a\x01\"", `"\q"`, `"\u12"`, `{"a":1}`, `12.5`, `""`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		if b[0] == '"' {
			if e, err := skipString(b, 0); err != nil || e != len(b) {
				return // the scanner hands a column one whole value
			}
		}
		want, werr := convString(b)
		buf := &strBuf{nullable: true}
		if err := buf.appendRaw([]byte(`"before"`)); err != nil {
			t.Fatal(err)
		}
		err := buf.appendRaw(b)
		if (err != nil) != (werr != nil) {
			t.Fatalf("%q: error %v, convString's %v", b, err, werr)
		}
		if err != nil {
			if buf.len() != 1 || string(buf.bytes) != "before" {
				t.Fatalf("%q: failed append left %d rows, bytes %q", b, buf.len(), buf.bytes)
			}
			return
		}
		got := buf.data(0, 2).([]*string)
		if *got[0] != "before" || got[1] == nil || *got[1] != want {
			t.Fatalf("%q: %q, convString %q", b, *got[1], want)
		}
	})
}

// FuzzParseChange: parseChange never panics, and a record read right after the seed record (whose
// schema the cache then holds, so the fast path compares instead of scanning) reads the same as
// with an empty cache.
func FuzzParseChange(f *testing.F) {
	raw, err := os.ReadFile("testdata/pg_orders_records.txt")
	if err != nil {
		f.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(raw), []byte("\n"))
	for i := 0; i+1 < len(lines); i += 2 {
		f.Add(lines[i], lines[i+1])
		_, p, _ := splitConnect(lines[i+1])
		f.Add([]byte(nil), p)
	}
	f.Add([]byte(`{"id":1}`), []byte(`{"before":null,"after":{"id":1},"source":{"connector":"mysql","file":"b.000002","pos":4,"row":0,"ts_us":1700000000000000,"table":"t","db":"d"},"op":"c"}`))
	f.Add([]byte(nil), []byte(`{"after":{"id":1},"source":{"connector":"mariadb","gtid":"0-1-7","table":"t"},"op":"u"}`))
	f.Fuzz(func(t *testing.T, key, value []byte) {
		warm := schemaCache{m: map[string]*envSchema{}}
		parseChange(&warm, lines[0], lines[1])
		a, okA, errA := parseChange(&warm, key, value)
		b, okB, errB := parseChange(&schemaCache{m: map[string]*envSchema{}}, key, value)
		if okA != okB || (errA == nil) != (errB == nil) {
			t.Fatalf("warm cache: %v %v, empty cache: %v %v", okA, errA, okB, errB)
		}
		if okA && (a.op != b.op || a.table != b.table || a.db != b.db || a.version != b.version ||
			a.hasPos != b.hasPos || string(a.after) != string(b.after) || string(a.before) != string(b.before) ||
			string(a.key) != string(b.key)) {
			t.Fatalf("warm cache: %+v\nempty cache: %+v", a, b)
		}
	})
}
