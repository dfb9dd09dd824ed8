package mysql

import (
	"testing"

	"github.com/sluicecdc/sluice/capture"
)

// fillBatch takes a batch of n rows of cols columns from p, each value the int v, v+1, ….
func fillBatch(p *rowPool, cols, n int, v int64) *rowBatch {
	b := p.take(cols)
	for i := range n {
		o := i * cols
		row := capture.Row(b.vals[o : o+cols : o+cols])
		for j := range row {
			row[j] = capture.IntValue(v)
			v++
		}
		b.rows = append(b.rows, row)
	}
	return b
}

// TestRowPool: a batch is reused only after a report covers its last row (a report of a
// later batch's row covers every batch before it), and a row of no registered batch releases
// nothing.
func TestRowPool(t *testing.T) {
	var p rowPool
	a, b, c := fillBatch(&p, 3, 4, 0), fillBatch(&p, 3, 4, 100), fillBatch(&p, 3, 2, 200)
	for _, x := range []*rowBatch{a, b, c} {
		p.handOut(x)
	}
	freed := func() int {
		if p.free == nil {
			return 0
		}
		return len(p.free)
	}
	p.done(capture.Row{capture.IntValue(1)}) // not in any batch
	if n := freed(); n != 0 {
		t.Fatalf("a foreign row freed %d batches", n)
	}
	p.done(a.rows[3][:1:1]) // a's last row: a is done, b is not
	if n := freed(); n != 1 || len(p.out) != 2 {
		t.Fatalf("after a's last row: %d free, %d out; want 1, 2", n, len(p.out))
	}
	p.done(b.rows[1]) // within b: nothing more
	if n := freed(); n != 1 || len(p.out) != 2 {
		t.Fatalf("after a row within b: %d free, %d out; want 1, 2", n, len(p.out))
	}
	p.done(c.rows[1]) // c's last: b and c
	if n := freed(); n != 3 || len(p.out) != 0 {
		t.Fatalf("after c's last row: %d free, %d out; want 3, 0", n, len(p.out))
	}
	r := p.take(3)
	if r != a || len(r.rows) != 0 || len(r.vals) != 3*snapBatchRows || r.last != nil {
		t.Fatalf("take: got %p (a %p), %d rows, %d values", r, a, len(r.rows), len(r.vals))
	}
	if r := p.take(snapBatchRows); r == b || r == c {
		t.Fatal("a batch too small for the columns was reused")
	}
}

// TestRowPoolBound: without reports (a consumer that is not the pipeline) the pool keeps at
// most rowPoolOut batches registered and none free.
func TestRowPoolBound(t *testing.T) {
	var p rowPool
	for i := range 3 * rowPoolOut {
		p.handOut(fillBatch(&p, 1, 1, int64(i)))
	}
	if len(p.out) != rowPoolOut || p.free != nil {
		t.Fatalf("%d registered, free %v; want %d, nil", len(p.out), p.free, rowPoolOut)
	}
	p.reset()
	if len(p.out) != 0 {
		t.Fatalf("%d registered after reset", len(p.out))
	}
}
