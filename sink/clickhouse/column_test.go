package clickhouse

import (
	"reflect"
	"testing"
)

// A String column keeps each row's value through copies, replacements and truncation, and
// hands NULLs to the driver as nil.
func TestStrBuf(t *testing.T) {
	b := &strBuf{nullable: true}
	for _, raw := range []string{`"a\"b"`, `null`, `{"x":1}`, `""`} {
		if err := b.appendRaw([]byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	b.appendCopy(0)
	if err := b.appendRaw([]byte(`"gone"`)); err != nil {
		t.Fatal(err)
	}
	b.truncate(5) // the row after the copy goes; the copy stays
	if !b.setString(1, "toast") {
		t.Fatal("setString refused")
	}
	if err := b.appendRaw([]byte(`"\u00e9"`)); err != nil {
		t.Fatal(err)
	}
	var got []any
	for _, p := range b.data(0, b.len()).([]*string) {
		if p == nil {
			got = append(got, nil)
			continue
		}
		got = append(got, *p)
	}
	want := []any{`a"b`, "toast", `{"x":1}`, "", `a"b`, "é"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rows %q, want %q", got, want)
	}
	b.truncate(0)
	if b.len() != 0 || len(b.bytes) != 0 {
		t.Fatalf("after truncate(0): %d rows, %d bytes", b.len(), len(b.bytes))
	}
	plain := &strBuf{}
	if err := plain.appendRaw(nil); err != nil {
		t.Fatal(err)
	}
	if d := plain.data(0, 1).([]string); len(d) != 1 || d[0] != "" {
		t.Fatalf("NULL in a non-Nullable column: %q, want the empty string", d)
	}
}
