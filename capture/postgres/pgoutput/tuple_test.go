package pgoutput

import (
	"errors"
	"reflect"
	"testing"

	"github.com/sluicecdc/sluice/internal/testkit"
)

func TestTupleColumns(t *testing.T) {
	tu := Tuple(testkit.PgoutputTuple(testkit.PgoutputText("1234"), testkit.PgoutputValue{Kind: 'n'}, testkit.PgoutputValue{Kind: 'u'},
		testkit.PgoutputValue{Kind: 'b', Data: []byte{1, 2}}, testkit.PgoutputText("")))
	want := []struct {
		kind byte
		data []byte
	}{{TupleText, []byte("1234")}, {TupleNull, nil}, {TupleUnchanged, nil}, {TupleBinary, []byte{1, 2}}, {TupleText, []byte{}}}
	buf := make([]TupleColumn, 0, 8)
	got, err := tu.Columns(buf)
	if err != nil || len(got) != len(want) {
		t.Fatalf("got %v, %v", got, err)
	}
	for i, c := range got {
		if v := tu.Value(c); c.Kind != want[i].kind || !reflect.DeepEqual(v, want[i].data) || cap(v) != len(v) {
			t.Errorf("column %d: kind %c value %q (cap %d), want %c %q", i, c.Kind, v, cap(v), want[i].kind, want[i].data)
		}
	}
	if &got[0] != &buf[:1][0] {
		t.Error("Columns did not append to dst")
	}
	for n := range len(tu) {
		if _, err := tu[:n].Columns(nil); !errors.Is(err, ErrTruncated) {
			t.Errorf("cut at %d: %v", n, err)
		}
	}
	if _, err := (Tuple{0, 2, 'n', 'x'}).Columns(nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("kind x: %v", err)
	}
}

// BenchmarkTupleColumns splits the 8-column row of capture/postgres's BenchmarkDecodeTuple
// into its columns: the framing part of the row decode.
func BenchmarkTupleColumns(b *testing.B) {
	tu := Tuple(testkit.PgoutputTextTuple([]byte("1234567"), []byte("customer name number 42"), []byte("19999.99"),
		[]byte("2024-01-15 10:30:00.123456+00"), []byte("t"), []byte(`{"sku": "A-1", "qty": 3}`), []byte("42"), nil))
	b.SetBytes(int64(len(tu)))
	b.ReportAllocs()
	var cols []TupleColumn
	for b.Loop() {
		var err error
		if cols, err = tu.Columns(cols[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
