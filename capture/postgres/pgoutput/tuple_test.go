package pgoutput

import (
	"errors"
	"testing"

	"github.com/sluicecdc/sluice/internal/testkit"
)

func TestTupleReader(t *testing.T) {
	tu := Tuple(testkit.PgoutputTuple(testkit.PgoutputText("1234"), testkit.PgoutputValue{Kind: 'n'}, testkit.PgoutputValue{Kind: 'u'},
		testkit.PgoutputValue{Kind: 'b', Data: []byte{1, 2}}, testkit.PgoutputText("")))
	want := []struct {
		kind byte
		data string
	}{{TupleText, "1234"}, {TupleNull, ""}, {TupleUnchanged, ""}, {TupleBinary, "\x01\x02"}, {TupleText, ""}}
	tr := tu.Reader()
	if tr.Len() != len(want) {
		t.Fatalf("Len = %d", tr.Len())
	}
	i := 0
	for ; tr.Next(); i++ {
		kind, data := tr.Column()
		if kind != want[i].kind || string(data) != want[i].data {
			t.Errorf("column %d: %c %q, want %c %q", i, kind, data, want[i].kind, want[i].data)
		}
	}
	if i != len(want) || tr.Err() != nil {
		t.Fatalf("read %d columns: %v", i, tr.Err())
	}
	for n := range len(tu) {
		tr := tu[:n].Reader()
		for tr.Next() {
		}
		if !errors.Is(tr.Err(), ErrTruncated) {
			t.Errorf("cut at %d: %v", n, tr.Err())
		}
	}
	tr = Tuple{0, 2, 'n', 'x'}.Reader()
	for tr.Next() {
	}
	if !errors.Is(tr.Err(), ErrMalformed) {
		t.Errorf("kind x: %v", tr.Err())
	}
}
