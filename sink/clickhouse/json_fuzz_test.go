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
