package capture

import (
	"bytes"
	"testing"
)

func TestAlloc(t *testing.T) {
	for _, a := range []*Alloc{nil, {}} {
		if b := a.Bytes(0); b == nil || len(b) != 0 {
			t.Fatalf("Bytes(0) = %#v, want empty and not nil (an empty string is not NULL)", b)
		}
		x, y := a.Copy([]byte("abc")), a.Copy([]byte("de"))
		if string(x) != "abc" || string(y) != "de" || cap(x) != 3 || cap(y) != 2 {
			t.Fatalf("Copy: %q (cap %d), %q (cap %d)", x, cap(x), y, cap(y))
		}
		if z := append(x, 'Z'); string(z) != "abcZ" || string(y) != "de" { // must not run into y
			t.Fatalf("appending to one copy changed the next: %q", y)
		}
		big := bytes.Repeat([]byte{7}, allocByteChunk)
		if c := a.Copy(big); !bytes.Equal(c, big) {
			t.Fatal("large copy differs")
		}
		r1, r2 := a.Row(3), a.Row(2)
		if len(r1) != 3 || cap(r1) != 3 || len(r2) != 2 {
			t.Fatalf("Row: len %d cap %d, len %d", len(r1), cap(r1), len(r2))
		}
		r1[2] = IntValue(5)
		if r2[0].Kind != Null {
			t.Fatal("rows overlap")
		}
		if len(a.Row(allocValChunk)) != allocValChunk {
			t.Fatal("large row")
		}
	}
}
