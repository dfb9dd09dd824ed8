package kafka

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestTxnSlabsReuse: a slab is handed out again only once every record in it was given back
// (its promise ran), never while the client may still read one of its records.
func TestTxnSlabsReuse(t *testing.T) {
	ts := newTxnSlabs(1 << 20)
	var recs []*kgo.Record
	for range txnSlabRecs {
		r, b := ts.record(10)
		copy(b, "0123456789")
		r.Value = b
		recs = append(recs, r)
	}
	first := ts.cur
	r, _ := ts.record(10) // a full slab: the next record starts another
	r.Value = make([]byte, 10)
	if ts.cur == first {
		t.Fatal("a full slab handed out one more record")
	}
	for _, r := range recs[1:] {
		ts.done(r)
	}
	if ts.free != nil {
		t.Fatal("a slab with a record in flight was freed")
	}
	if got := ts.buffered.Load(); got != 20 {
		t.Fatalf("buffered = %d, want 20 (two records in flight)", got)
	}
	ts.done(recs[0])
	if ts.free != first {
		t.Fatal("a slab whose records were all given back was not freed")
	}
	if first.recs[0].Value != nil {
		t.Fatal("a freed slab keeps its records' references")
	}
	if sl := ts.take(); sl != first || sl.refs.Load() != 1 || sl.n != 0 || sl.off != 0 {
		t.Fatalf("take did not reuse the free slab from its start")
	}
}

// TestTxnSlabsLarge: bytes over txnSlabOwn get their own allocation; the slab's bytes are
// not used up by them.
func TestTxnSlabsLarge(t *testing.T) {
	ts := newTxnSlabs(1 << 20)
	_, small := ts.record(100)
	_, big := ts.record(txnSlabOwn + 1)
	if len(big) != txnSlabOwn+1 || ts.cur.off != 100 {
		t.Fatalf("big record: %d bytes, slab offset %d", len(big), ts.cur.off)
	}
	if &small[0] != &ts.cur.buf[0] {
		t.Fatal("a small record is not in the slab")
	}
}
