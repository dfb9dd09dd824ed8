package binlog

import (
	"strings"
	"testing"

	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/internal/testkit"
)

func TestAppendJSON(t *testing.T) {
	type obj = testkit.JSONObject
	decimalOpaque := func(s string, p, sc int) testkit.JSONOpaque {
		return testkit.JSONOpaque{Type: byte(TypeNewDecimal), Data: append([]byte{byte(p), byte(sc)}, testkit.Decimal(s, p, sc)...)}
	}
	packed := func(v int64) []byte { return testkit.Int(v, 8) }
	dtPacked := func(y, mo, d, h, mi, s int, us int64) int64 {
		ymd := int64(y*13+mo)<<5 | int64(d)
		return (ymd<<17|int64(h<<12|mi<<6|s))<<24 | us
	}
	long := strings.Repeat("x", 70000)
	cases := []struct {
		name string
		sql  string // JSON literal as inserted
		v    any
		want string
	}{
		{"object", `'{"a": 2}'`, obj{{"a", 2}}, `{"a":2}`},
		{"key order", `'{"bb": 1, "a": 2, "c": 3}' (server sorts by length, then bytes)`, obj{{"bb", 1}, {"a", 2}, {"c", 3}}, `{"a":2,"c":3,"bb":1}`},
		{"array", `'[1, 2]'`, []any{1, 2}, `[1,2]`},
		{"nested", `'{"k": [true, false, null, {"x": "y"}]}'`, obj{{"k", []any{true, false, nil, obj{{"x", "y"}}}}}, `{"k":[true,false,null,{"x":"y"}]}`},
		{"empty", `'{}'`, obj{}, `{}`},
		{"empty array", `'[]'`, []any{}, `[]`},
		{"literal null", `'null'`, nil, `null`},
		{"top string", `'"abc"'`, "abc", `"abc"`},
		{"escapes", `'"q\" b\\ \n\t\r\b\f \u0001 é"'`, "q\" b\\ \n\t\r\b\f \x01 é", `"q\" b\\ \n\t\r\b\f \u0001 é"`},
		{"int16", `'-5'`, -5, `-5`},
		{"int32", `'100000'`, 100000, `100000`},
		{"int64", `'-9223372036854775808'`, int64(-9223372036854775808), `-9223372036854775808`},
		{"uint64", `'18446744073709551615'`, uint64(18446744073709551615), `18446744073709551615`},
		{"inline int32 in large", `'[70000]' in a large array`, []any{70000, long}, `[70000,"` + long + `"]`},
		{"double", `'1.5'`, 1.5, `1.5`},
		{"double integral", `'3.0'`, 3.0, `3.0`},
		{"double zero", `'0.0'`, 0.0, `0.0`},
		{"double small", `'0.001'`, 0.001, `0.001`},
		{"double big", `'1e7'`, 1e7, `10000000`},
		{"double tiny", `'1e-4' (exact binary expansion, as BigDecimal prints it)`, 1e-4, `0.000100000000000000004792173602385929598312941379845142364501953125`},
		{"double negative", `'-123.456'`, -123.456, `-123.456`},
		{"decimal", `CAST(1.50 AS DECIMAL(5,2)) inside JSON_OBJECT`, decimalOpaque("1.50", 5, 2), `1.50`},
		{"decimal negative", `CAST(-0.01 AS DECIMAL(4,2))`, decimalOpaque("-0.01", 4, 2), `-0.01`},
		{"date", `JSON_ARRAY(DATE '2024-01-02')`, testkit.JSONOpaque{Type: byte(TypeDate), Data: packed(dtPacked(2024, 1, 2, 0, 0, 0, 0))}, `"2024-01-02"`},
		{"datetime", `JSON_ARRAY(TIMESTAMP '2024-01-02 03:04:05.120000')`, testkit.JSONOpaque{Type: byte(TypeDateTime), Data: packed(dtPacked(2024, 1, 2, 3, 4, 5, 120000))}, `"2024-01-02 03:04:05.12"`},
		{"time", `JSON_ARRAY(TIME '12:34:56')`, testkit.JSONOpaque{Type: byte(TypeTime), Data: packed(int64(12<<12|34<<6|56) << 24)}, `"12:34:56"`},
		{"time negative", `JSON_ARRAY(TIME '-01:00:00.5')`, testkit.JSONOpaque{Type: byte(TypeTime), Data: packed(-(int64(1<<12)<<24 | 500000))}, `"-01:00:00.5"`},
		{"opaque blob", `JSON_ARRAY(x'0102')`, []any{testkit.JSONOpaque{Type: byte(TypeBlob), Data: []byte{1, 2}}}, `["AQI="]`},
		{"escaped key", `'{"k\"\\": "v"}'`, obj{{"k\"\\", "v"}}, `{"k\"\\":"v"}`},
		{"bench payload", `JSON_OBJECT('sku','SKU-123457','qty',7,'note','6b86b273ff34fce19d6b804eff5a3f57')`,
			obj{{"qty", 7}, {"sku", "SKU-123457"}, {"note", "6b86b273ff34fce19d6b804eff5a3f57"}}, `{"qty":7,"sku":"SKU-123457","note":"6b86b273ff34fce19d6b804eff5a3f57"}`},
		{"non-ascii", `'["é€😀", "\u007f"]'`, []any{"é€😀", "\x7f"}, "[\"é€😀\",\"\x7f\"]"},
		// The server stores only valid utf8mb4; a byte that is not UTF-8 is copied into the text,
		// and the envelope's JSON string (so the escaped form too) holds U+FFFD for it.
		{"invalid utf8", `(not producible by SQL)`, []any{"a\xffb\xe2\x82", "\xc3"}, "[\"a\xffb\xe2\x82\",\"\xc3\"]"},
	}
	for _, c := range cases {
		for _, large := range []bool{false, true} {
			name := c.name
			enc := testkit.JSONBinary
			if large {
				name += "/large"
				enc = testkit.JSONBinaryLarge
			}
			t.Run(name, func(t *testing.T) {
				want := c.want
				got, err := AppendJSON(nil, enc(c.v))
				if err != nil {
					t.Fatal(err)
				}
				if string(got) != want {
					if len(got) > 200 {
						got = got[:200]
					}
					t.Errorf("got %s\nwant %s", got, want)
				}
				esc, err := AppendJSONEscaped([]byte("keep"), enc(c.v))
				if err != nil {
					t.Fatal(err)
				}
				if wantEsc := "keep" + envelopeEscaped(want); string(esc) != wantEsc {
					if len(esc) > 200 {
						esc = esc[:200]
					}
					t.Errorf("escaped: got %s\nwant %s", esc, wantEsc)
				}
			})
		}
	}
}

// envelopeEscaped is text as the envelope writes it inside a JSON string: what
// AppendJSONEscaped must write in one pass.
func envelopeEscaped(text string) string {
	q := envelope.AppendJSONString(nil, text)
	return string(q[1 : len(q)-1])
}

func TestAppendJSONMalformed(t *testing.T) {
	good := testkit.JSONBinary(testkit.JSONObject{{"a", []any{1, "x"}}})
	for i := 1; i < len(good); i++ {
		if _, err := AppendJSON([]byte("keep"), good[:i]); err == nil {
			t.Errorf("prefix of %d bytes decoded without error", i)
		}
		if out, err := AppendJSONEscaped([]byte("keep"), good[:i]); err == nil || string(out) != "keep" {
			t.Errorf("prefix of %d bytes escaped without error (%q)", i, out)
		}
	}
	// An entry pointing back at its own container must not recurse forever.
	self := []byte{jsonSmallArray, 1, 0, 7, 0, jsonSmallArray, 0, 0}
	if _, err := AppendJSON(nil, self); err == nil {
		t.Error("self-referencing array decoded")
	}
}

// TestPlainPrefix puts every byte value at every place of a 16-byte text: the word holding a
// byte that needs an escape (or a UTF-8 check) is never skipped, and clean words always are.
func TestPlainPrefix(t *testing.T) {
	for c := range 256 {
		special := c < 0x20 || c == '"' || c == '\\' || c >= 0x80
		for at := range 16 {
			s := []byte(strings.Repeat("a", 16))
			s[at] = byte(c)
			got, want := plainPrefix(s), 16
			if special {
				want = at &^ 7
			}
			if got != want {
				t.Fatalf("byte %#x at %d: plainPrefix = %d, want %d", c, at, got, want)
			}
		}
	}
}
