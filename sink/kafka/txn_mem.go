package kafka

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"
)

// txnSlab holds the producer records of consecutive TxnSink.Sends and their keys and values,
// until the client has called every record's promise: then the whole slab is reused. Copying a
// record into a slab costs no allocation; a record and two clones each were a third of the
// exactly-once sink's CPU per record over the at-least-once Sink (BenchmarkSendCPU), in
// allocation and in the collector's work.
//
// Each record's Context is its slab, so the promise finds the slab with a type assertion (no
// closure, no map); its context methods are context.Background's, as the producer must never
// cancel a record of an open transaction for it.
type txnSlab struct {
	context.Context
	recs []kgo.Record // txnSlabRecs records; the first n handed out
	n    int
	buf  []byte // key, value and header bytes; the first off handed out
	off  int
	// refs counts the records handed out whose promise has not run, plus one while the slab
	// is the sink's current one; the slab is free when it drops to zero.
	refs atomic.Int32
	next *txnSlab // txnSlabs' free list
}

const (
	txnSlabRecs  = 256
	txnSlabBytes = 256 << 10
	// txnSlabOwn is the largest key+value+headers a slab takes: larger bytes get their own
	// allocation, so that one big record does not waste most of a slab.
	txnSlabOwn = txnSlabBytes / 8
)

// txnSlabs hands out records in slabs: one goroutine takes (the sender, under TxnSink.mu);
// the client's promise goroutine gives back. A slab is reused only once every promise of its
// records ran, so records the client never finishes (a failed sink's) only keep their slab
// from reuse.
type txnSlabs struct {
	cur *txnSlab
	// buffered is the payload (key, value, headers) of the records handed out whose promise
	// has not run: what the client counts against its MaxBufferedBytes.
	buffered atomic.Int64

	mu      sync.Mutex
	free    *txnSlab
	nFree   int
	maxFree int // bounds the free slabs' memory at about the sink's MaxBufferedBytes
}

func newTxnSlabs(maxBuffered int64) *txnSlabs {
	return &txnSlabs{maxFree: max(1, int(maxBuffered/txnSlabBytes))}
}

// record returns a zeroed record for n bytes of key, value and headers (their payload, which
// the caller must fill: done counts it back from the record), and where to copy them: a region of the record's slab, or of an allocation of their own when n is large.
func (t *txnSlabs) record(n int) (*kgo.Record, []byte) {
	own := n > txnSlabOwn
	sl := t.cur
	if sl == nil || sl.n == len(sl.recs) || (!own && len(sl.buf)-sl.off < n) {
		if sl != nil {
			t.release(sl) // the current slab's own reference
		}
		sl = t.take()
		t.cur = sl
	}
	r := &sl.recs[sl.n]
	sl.n++
	*r = kgo.Record{Context: sl}
	sl.refs.Add(1)
	t.buffered.Add(int64(n))
	var b []byte
	switch {
	case n == 0:
	case own:
		b = make([]byte, n)
	default:
		b = sl.buf[sl.off : sl.off+n : sl.off+n]
		sl.off += n
	}
	return r, b
}

// take returns a free slab, or a new one, holding the current slab's reference.
func (t *txnSlabs) take() *txnSlab {
	t.mu.Lock()
	sl := t.free
	if sl != nil {
		t.free, sl.next = sl.next, nil
		t.nFree--
	}
	t.mu.Unlock()
	if sl == nil {
		sl = &txnSlab{Context: context.Background(), recs: make([]kgo.Record, txnSlabRecs), buf: make([]byte, txnSlabBytes)}
	}
	sl.n, sl.off = 0, 0
	sl.refs.Store(1)
	return sl
}

// done is called by a record's promise: the client is done with it.
func (t *txnSlabs) done(r *kgo.Record) {
	if sl, ok := r.Context.(*txnSlab); ok {
		n := len(r.Key) + len(r.Value)
		for _, h := range r.Headers {
			n += len(h.Key) + len(h.Value)
		}
		t.buffered.Add(-int64(n))
		t.release(sl)
	}
}

func (t *txnSlabs) release(sl *txnSlab) {
	if sl.refs.Add(-1) != 0 {
		return
	}
	clear(sl.recs[:sl.n]) // drop the references to topics and headers while it waits
	t.mu.Lock()
	if t.nFree < t.maxFree {
		sl.next = t.free
		t.free = sl
		t.nFree++
	}
	t.mu.Unlock()
}
