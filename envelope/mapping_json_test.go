package envelope

import (
	"bytes"
	"encoding/base64"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sluicecdc/sluice/capture"
)

// refJSONString is the byte-at-a-time form of AppendJSONString's rules.
func refJSONString(s string) string {
	b := []byte{'"'}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\b':
			b = append(b, `\b`...)
		case c == '\t':
			b = append(b, `\t`...)
		case c == '\n':
			b = append(b, `\n`...)
		case c == '\f':
			b = append(b, `\f`...)
		case c == '\r':
			b = append(b, `\r`...)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexUpper[c>>4], hexUpper[c&0xf])
		case c >= 0x80:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b = append(b, "\uFFFD"...)
			} else {
				b = append(b, s[i:i+n]...)
			}
			i += n
			continue
		default:
			b = append(b, c)
		}
		i++
	}
	return string(append(b, '"'))
}

// TestAppendJSONStringRandom compares AppendJSONString with refJSONString on random strings
// mixing plain runs, escapes and (in)valid UTF-8 at every offset within a word.
func TestAppendJSONStringRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"a", "abcdefgh", "xyz", `"`, `\`, "\n", "\x00", "\x1f", "\x7f", "é", "€", "😀", "\xff", "\xe2\x82", "/", "<"}
	for n := 0; n < 20000; n++ {
		var s []byte
		for k := r.IntN(12); k > 0; k-- {
			s = append(s, pieces[r.IntN(len(pieces))]...)
		}
		want := refJSONString(string(s))
		if got := string(AppendJSONString(nil, s)); got != want {
			t.Fatalf("[]byte %q: got %s, want %s", s, got, want)
		}
		if got := string(AppendJSONString(nil, string(s))); got != want {
			t.Fatalf("string %q: got %s, want %s", s, got, want)
		}
	}
}

// BenchmarkAppendJSONString is a jsonb payload as the bench workload's orders rows carry it.
func BenchmarkAppendJSONString(b *testing.B) {
	s := []byte(`{"qty": 3, "sku": "SKU-123456", "note": "c4ca4238a0b923820dcc509a6f75849b"}`)
	dst := make([]byte, 0, 512)
	b.ReportAllocs()
	b.SetBytes(int64(len(s)))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	for b.Loop() {
		dst = AppendJSONString(dst[:0], s)
	}
	b.ReportMetric(float64((threadCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// TestAppendDecimalInt64 checks the inline Base64 of int64 decimals against encoding/base64.
func TestAppendDecimalInt64(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	vals := []int64{0, 1, -1, 127, 128, -128, -129, 255, 256, 1 << 23, -(1 << 23), 1<<23 - 1, math.MaxInt64, math.MinInt64, 12345, -12345}
	for n := 0; n < 5000; n++ {
		vals = append(vals, r.Int64()>>r.IntN(64), -(r.Int64() >> r.IntN(64)))
	}
	for _, v := range vals {
		want := `"` + base64.StdEncoding.EncodeToString(AppendTwosComplement(nil, v)) + `"`
		if got := string(AppendDecimal([]byte("x"), v, nil)); got != "x"+want {
			t.Fatalf("%d: got %s, want %s", v, got, want)
		}
	}
}

// TestEscapedJSON checks that a JSON column's value encodes to the same record bytes whether it
// comes as JSON text (capture.JSON) or already escaped (capture.EscapedJSON, the MySQL binlog
// decoder's form), with and without schemas, and through appendValue's ConvString case.
func TestEscapedJSON(t *testing.T) {
	for _, text := range []string{
		`{"vip":true,"tags":["a"]}`,
		`{"k\"\\":"line\nbreak\ttab \u0001 é€😀","n":null}`,
		`"a string"`,
		`[]`,
	} {
		q := AppendJSONString(nil, text)
		body := q[1 : len(q)-1]
		for _, schemas := range []bool{false, true} {
			enc, err := NewEncoder(Config{TopicPrefix: "dbserver1", SchemasEnable: schemas, Now: func() time.Time { return time.Unix(1e9, 0) }})
			if err != nil {
				t.Fatal(err)
			}
			var got [2][]byte
			for i, v := range []capture.Value{capture.JSONValue([]byte(text)), capture.EscapedJSONValue(body)} {
				ev := ordersInsert(ordersTable())
				ev.After[4] = v
				recs, err := enc.Encode(nil, ev)
				if err != nil {
					t.Fatal(err)
				}
				got[i] = append([]byte(nil), recs[0].Value...)
			}
			if !bytes.Equal(got[0], got[1]) {
				t.Errorf("%s, schemas %v: JSON value\n%s\nEscapedJSON value\n%s", text, schemas, got[0], got[1])
			}
			if !bytes.Contains(got[1], q) {
				t.Errorf("%s: record lacks the quoted text %s:\n%s", text, q, got[1])
			}
		}
		var e Encoder
		m := &Mapping{Schema: &Connect{Type: String}, Conv: ConvString}
		v := capture.EscapedJSONValue(body)
		if out, err := e.appendValue(nil, m, &v); err != nil || !bytes.Equal(out, q) {
			t.Errorf("appendValue(%s) = %s, %v; want %s", text, out, err, q)
		}
	}
}
