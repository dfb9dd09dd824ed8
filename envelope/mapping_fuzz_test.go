package envelope

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzAppendJSONString checks that every string encodes to valid JSON that decodes back to the
// input (with invalid UTF-8 replaced by U+FFFD).
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "Anne", "a\"b\\c", "\x00\x1f\x7f", "é€😀", "\xff\xfe", strings.Repeat("abcdefgh", 4) + "\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := AppendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q → %s: %v", s, b, err)
		}
		if want := strings.ToValidUTF8(s, "\uFFFD"); back != want && utf8.ValidString(s) {
			t.Fatalf("%q → %s → %q", s, b, back)
		}
	})
}

// FuzzAppendJavaDouble checks that the Java rendering parses back to the same double.
func FuzzAppendJavaDouble(f *testing.F) {
	for _, v := range []float64{0, 1, 0.1, 1e7, 1e-3, 1e-4, 123456.789, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return
		}
		b := string(AppendJavaDouble(nil, v))
		if !strings.Contains(b, ".") {
			t.Fatalf("%v → %s has no fraction point", v, b)
		}
		back, err := strconv.ParseFloat(b, 64)
		if err != nil || back != v {
			t.Fatalf("%v → %s → %v (%v)", v, b, back, err)
		}
		a := math.Abs(v)
		if sci := strings.Contains(b, "E"); v != 0 && sci != (a < 1e-3 || a >= 1e7) {
			t.Fatalf("%v → %s: wrong notation", v, b)
		}
	})
}

// FuzzAppendJSONStringRef checks AppendJSONString byte for byte against refJSONString, the
// byte-at-a-time form of its rules, appending to a prefix of pre bytes in a buffer with room
// bytes to spare, so the word-at-a-time writes meet every alignment and every capacity edge.
func FuzzAppendJSONStringRef(f *testing.F) {
	for _, s := range []string{"", "Anne", `{"qty": 3, "sku": "SKU-123456", "note": "c4ca4238a0b923820dcc509a6f75849b"}`,
		"a\"b\\c", "\x00\x1f\x7f", "é€😀", "\xff\xfe", "abcdefg\xe2\x82", "\"\"\"\"\"\"\"\"\"", strings.Repeat("\x01", 17)} {
		f.Add(s, uint8(0), uint8(0))
		f.Add(s, uint8(3), uint8(1))
	}
	f.Fuzz(func(t *testing.T, s string, pre, room uint8) {
		want := strings.Repeat("p", int(pre)) + refJSONString(s)
		dst := make([]byte, int(pre), int(pre)+int(room))
		for i := range dst {
			dst[i] = 'p'
		}
		if got := AppendJSONString(dst, s); string(got) != want {
			t.Fatalf("%q (pre %d, room %d): got %s, want %s", s, pre, room, got, want)
		}
		if got := AppendJSONString(dst, []byte(s)); string(got) != want {
			t.Fatalf("[]byte %q (pre %d, room %d): got %s, want %s", s, pre, room, got, want)
		}
	})
}
