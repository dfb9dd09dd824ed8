package clickhouse

import (
	"encoding/json"
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
