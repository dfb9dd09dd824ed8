package capture

import "testing"

// testBatch is a ReadBatch of rows carved from one Values array.
type testBatch struct {
	rows []Row
	vals []Value
}

func (b *testBatch) Values() []Value { return b.vals }

func (b *testBatch) LastRow() Row {
	if len(b.rows) == 0 {
		return nil
	}
	return b.rows[len(b.rows)-1]
}

// newTestBatch is a batch of n rows of cols columns, each value the int v, v+1, ….
func newTestBatch(cols, n int, v int64) *testBatch {
	b := &testBatch{vals: make([]Value, cols*n)}
	for i := range n {
		row := Row(b.vals[i*cols : (i+1)*cols : (i+1)*cols])
		for j := range row {
			row[j] = IntValue(v)
			v++
		}
		b.rows = append(b.rows, row)
	}
	return b
}

// TestReadPool: a batch is reused only after a report covers its last row (a report of a
// later batch's row covers every batch before it), and a row of no registered batch releases
// nothing.
func TestReadPool(t *testing.T) {
	var p ReadPool[*testBatch]
	a, b, c := newTestBatch(3, 4, 0), newTestBatch(3, 4, 100), newTestBatch(3, 2, 200)
	for _, x := range []*testBatch{a, b, c} {
		p.HandOut(x)
	}
	freed := func() int {
		if p.free == nil {
			return 0
		}
		return len(p.free)
	}
	p.Done(Row{IntValue(1)}) // not in any batch
	if n := freed(); n != 0 {
		t.Fatalf("a foreign row freed %d batches", n)
	}
	p.Done(a.rows[3][:1:1]) // a's last row: a is done, b is not
	if n := freed(); n != 1 || len(p.out) != 2 {
		t.Fatalf("after a's last row: %d free, %d out; want 1, 2", n, len(p.out))
	}
	p.Done(b.rows[1]) // within b: nothing more
	if n := freed(); n != 1 || len(p.out) != 2 {
		t.Fatalf("after a row within b: %d free, %d out; want 1, 2", n, len(p.out))
	}
	p.Done(c.rows[1]) // c's last: b and c
	if n := freed(); n != 3 || len(p.out) != 0 {
		t.Fatalf("after c's last row: %d free, %d out; want 3, 0", n, len(p.out))
	}
	for _, want := range []*testBatch{a, b, c} {
		if got, ok := p.Take(); !ok || got != want {
			t.Fatalf("Take: got %p, %v; want %p", got, ok, want)
		}
	}
	if _, ok := p.Take(); ok {
		t.Fatal("Take from an empty pool returned a batch")
	}
}

// TestReadPoolBound: without reports (a consumer that is not the pipeline) the pool keeps at
// most readPoolOut batches registered and none free; Reset forgets them.
func TestReadPoolBound(t *testing.T) {
	var p ReadPool[*testBatch]
	for i := range 3 * readPoolOut {
		p.HandOut(newTestBatch(1, 1, int64(i)))
	}
	p.HandOut(&testBatch{}) // no rows: not registered
	if len(p.out) != readPoolOut || p.free != nil {
		t.Fatalf("%d registered, free %v; want %d, nil", len(p.out), p.free, readPoolOut)
	}
	p.Reset()
	if len(p.out) != 0 {
		t.Fatalf("%d registered after reset", len(p.out))
	}
}
