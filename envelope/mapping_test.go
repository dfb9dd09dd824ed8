package envelope

import (
	"encoding/binary"
	"math"
	"math/big"
	"math/bits"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

func TestAppendJSONString(t *testing.T) {
	long := strings.Repeat("abcdefgh", 3)
	cases := []struct{ in, want string }{
		{"", `""`},
		{"Anne", `"Anne"`},
		{`say "hi"`, `"say \"hi\""`},
		{`a\b`, `"a\\b"`},
		{"a/b", `"a/b"`}, // Jackson does not escape '/'
		{"\b\t\n\f\r", `"\b\t\n\f\r"`},
		{"\x00\x01\x1f", `"\u0000\u0001\u001F"`}, // upper-case hex
		{"\x7f", "\"\x7f\""},                     // DEL as is
		{"é€😀", `"é€😀"`},                         // non-ASCII as UTF-8
		{"a\xffb", "\"a\uFFFDb\""},               // invalid UTF-8 → U+FFFD
		{"\xe2\x82", "\"\uFFFD\uFFFD\""},
		{long, `"` + long + `"`},
		{long + "\n", `"` + long + `\n"`},
		{"abcdefg\"" + long, `"abcdefg\"` + long + `"`},
		{long[:7] + "é" + long, `"` + long[:7] + "é" + long + `"`},
	}
	for _, c := range cases {
		if got := string(AppendJSONString(nil, c.in)); got != c.want {
			t.Errorf("AppendJSONString(%q) = %s, want %s", c.in, got, c.want)
		}
		if got := string(AppendJSONString(nil, []byte(c.in))); got != c.want {
			t.Errorf("AppendJSONString([]byte %q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// TestEscapeMask8: the lowest flag of escapeMask8 is the first byte to escape or check
// (control, '"', '\\', non-ASCII), whatever the bytes around it; no flag when there is none.
func TestEscapeMask8(t *testing.T) {
	special := []byte{0, 0x1f, 0x20, 0x21, '"', '#', '[', '\\', ']', 0x7f, 0x80, 0xff}
	r := rand.New(rand.NewPCG(5, 6))
	for n := 0; n < 200000; n++ {
		var w [8]byte
		for i := range w {
			if r.IntN(3) == 0 {
				w[i] = special[r.IntN(len(special))]
			} else {
				w[i] = byte(r.IntN(256))
			}
		}
		if n < 256*8 { // every byte at every position among plain ones
			w = [8]byte{'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a'}
			w[n%8] = byte(n / 8)
		}
		want := 8
		for i, b := range w {
			if b < 0x20 || b == '"' || b == '\\' || b >= 0x80 {
				want = i
				break
			}
		}
		x := binary.LittleEndian.Uint64(w[:])
		got := bits.TrailingZeros64(escapeMask8(x)) >> 3
		if got != want {
			t.Fatalf("% x: first byte to look at %d, want %d", w, got, want)
		}
	}
}

// Expected strings are Java's Double.toString / Float.toString (JDK 19+).
func TestAppendJavaDouble(t *testing.T) {
	cases := []struct {
		in   float64
		want string
	}{
		{0, "0.0"}, {math.Copysign(0, -1), "-0.0"}, {1, "1.0"}, {-2.5, "-2.5"}, {0.1, "0.1"},
		{100, "100.0"}, {123.456, "123.456"}, {0.001, "0.001"}, {0.0001, "1.0E-4"},
		{1234567, "1234567.0"}, {9999999, "9999999.0"}, {1e7, "1.0E7"}, {1e10, "1.0E10"},
		{12345678.9, "1.23456789E7"}, {1e23, "1.0E23"}, {1e-300, "1.0E-300"},
		{math.MaxFloat64, "1.7976931348623157E308"}, {math.SmallestNonzeroFloat64, "4.9E-324"},
		{math.NaN(), `"NaN"`}, {math.Inf(1), `"Infinity"`}, {math.Inf(-1), `"-Infinity"`},
	}
	for _, c := range cases {
		if got := string(AppendJavaDouble(nil, c.in)); got != c.want {
			t.Errorf("AppendJavaDouble(%v) = %s, want %s", c.in, got, c.want)
		}
	}
	fc := []struct {
		in   float32
		want string
	}{
		{1.1, "1.1"}, {3.4028235e38, "3.4028235E38"}, {1e-45, "1.4E-45"}, {0.3, "0.3"}, {16777216, "1.6777216E7"},
	}
	for _, c := range fc {
		if got := string(AppendJavaFloat(nil, c.in)); got != c.want {
			t.Errorf("AppendJavaFloat(%v) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestDecimalBytes(t *testing.T) {
	cases := []struct {
		u    int64
		want string
	}{
		{12345, `"MDk="`}, {-12345, `"z8c="`}, {0, `"AA=="`}, {1999, `"B88="`}, {2000, `"B9A="`},
		{127, `"fw=="`}, {128, `"AIA="`}, {-128, `"gA=="`}, {-129, `"/38="`}, {-1, `"/w=="`},
		{math.MaxInt64, `"f/////////8="`}, {math.MinInt64, `"gAAAAAAAAAA="`},
	}
	for _, c := range cases {
		if got := string(AppendDecimal(nil, c.u, nil)); got != c.want {
			t.Errorf("AppendDecimal(%d) = %s, want %s", c.u, got, c.want)
		}
		if got := string(AppendDecimal(nil, 0, big.NewInt(c.u))); got != c.want {
			t.Errorf("AppendDecimal(big %d) = %s, want %s", c.u, got, c.want)
		}
	}
	// 2^64 → 01 00…00 (9 bytes); -(2^64) → FF 00…00.
	p := new(big.Int).Lsh(big.NewInt(1), 64)
	if got := string(AppendDecimal(nil, 0, p)); got != `"AQAAAAAAAAAA"` {
		t.Errorf("2^64 = %s", got)
	}
	if got := string(AppendDecimal(nil, 0, new(big.Int).Neg(p))); got != `"/wAAAAAAAAAA"` {
		t.Errorf("-2^64 = %s", got)
	}
	// 2^64-1 (BIGINT UNSIGNED max) → 00 FF…FF.
	m := new(big.Int).Sub(p, big.NewInt(1))
	if got := string(AppendDecimal(nil, 0, m)); got != `"AP//////////"` {
		t.Errorf("2^64-1 = %s", got)
	}
}

func TestAppendPlainDecimal(t *testing.T) {
	cases := []struct {
		u     int64
		scale int
		want  string
	}{
		{12345, 2, "123.45"}, {-5, 2, "-0.05"}, {0, 2, "0.00"}, {7, 0, "7"}, {-12345, 2, "-123.45"}, {5, -2, "500"},
	}
	for _, c := range cases {
		if got := string(AppendPlainDecimal(nil, c.u, nil, c.scale)); got != c.want {
			t.Errorf("AppendPlainDecimal(%d, %d) = %s, want %s", c.u, c.scale, got, c.want)
		}
	}
}

func TestISOTimestamp(t *testing.T) {
	cases := []struct {
		us     int64
		digits int
		want   string
	}{
		{1705314600000000, 6, "2024-01-15T10:30:00.000000Z"},
		{1705314600000000, 0, "2024-01-15T10:30:00Z"},
		{1529501823120000, 3, "2018-06-20T13:37:03.120Z"},
		{1529501823120000, -1, "2018-06-20T13:37:03.12Z"},
		{0, 6, "1970-01-01T00:00:00.000000Z"},
		{-1, 6, "1969-12-31T23:59:59.999999Z"},
		{capture.DaysFromCivil(21016, 11, 4) * 86400_000_000, 0, "+21016-11-04T00:00:00Z"},
		{capture.DaysFromCivil(2000, 2, 29) * 86400_000_000, 0, "2000-02-29T00:00:00Z"},
	}
	for _, c := range cases {
		if got := string(AppendISOTimestamp(nil, c.us, c.digits)); got != c.want {
			t.Errorf("AppendISOTimestamp(%d, %d) = %s, want %s", c.us, c.digits, got, c.want)
		}
	}
}

func TestAppendJavaDecimalString(t *testing.T) {
	cases := []struct {
		u     int64
		scale int
		want  string
	}{
		{12345, 2, "123.45"}, {-50, 2, "-0.50"}, {0, 2, "0.00"}, {1, 6, "0.000001"}, {1, 7, "1E-7"},
		{123, 10, "1.23E-8"}, {0, 10, "0E-10"}, {-123, 10, "-1.23E-8"}, {1, -3, "1E+3"}, {15, 0, "15"},
		{math.MinInt64, 0, "-9223372036854775808"},
	}
	for _, c := range cases {
		if got := string(AppendJavaDecimalString(nil, c.u, nil, c.scale)); got != c.want {
			t.Errorf("AppendJavaDecimalString(%d, %d) = %s, want %s", c.u, c.scale, got, c.want)
		}
		if got := string(AppendJavaDecimalString(nil, 0, big.NewInt(c.u), c.scale)); got != c.want {
			t.Errorf("AppendJavaDecimalString(big %d, %d) = %s, want %s", c.u, c.scale, got, c.want)
		}
	}
}

// TestMySQLAllowed pins the ENUM/SET allowed parameter to Debezium's expected strings:
// EnumTest/EnumSetTest ("a,b","c" → a\,b,c) and EnumeratedValuesTest (back\slash → back\\slash).
func TestMySQLAllowed(t *testing.T) {
	for _, tc := range []struct {
		members []string
		want    string
	}{
		{[]string{"a", "b", "c"}, `a,b,c`},
		{[]string{"a,b", "c"}, `a\,b,c`},
		{[]string{"plain", `back\slash`}, `plain,back\\slash`},
		{[]string{`back\,comma`, `ends\`, ""}, `back\\\,comma,ends\\,`},
		{[]string{"it's"}, `it's`},
		{nil, ``},
	} {
		if got := mysqlAllowed(tc.members); got != tc.want {
			t.Errorf("%q: got %s, want %s", tc.members, got, tc.want)
		}
		m := MapColumn(schema.MySQL, &schema.Column{Name: "c", Type: "enum", Enum: tc.members, Length: -1, Scale: -1}, Options{})
		if got := m.Schema.Params[0].Value; got != tc.want {
			t.Errorf("enum %q: allowed %s, want %s", tc.members, got, tc.want)
		}
	}
	// PostgreSQL enum labels are joined as they are (PostgresValueConverter).
	m := MapColumn(schema.Postgres, &schema.Column{Name: "c", Type: "mood", Enum: []string{"a,b", `c\d`}, Length: -1, Scale: -1}, Options{})
	if got := m.Schema.Params[0].Value; got != `a,b,c\d` {
		t.Errorf("postgres enum allowed %s", got)
	}
}
