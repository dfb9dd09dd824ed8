package kafka

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/envelope"
)

// message is a producer record with what a sink keeps beside it. Messages live in slabs (see
// slab); the record's Context is its message, so the promise finds it with a type assertion:
// no closure, no map, no allocation. message's context methods are context.Background's: the
// producer never cancels a record for it (nor a record of an open transaction).
type message struct {
	rec  kgo.Record
	sl   *slab
	size int64 // what the record counts against MaxBufferedBytes
	// The at-least-once Sink's own (the TxnSink keeps its tokens per transaction): the token
	// for Durable, when it was sent (Sink.clock) and the in-flight list's links, under Sink.mu.
	token      uint64
	sent       time.Duration
	prev, next *message
}

func (*message) Deadline() (time.Time, bool) { return time.Time{}, false }
func (*message) Done() <-chan struct{}       { return nil }
func (*message) Err() error                  { return nil }
func (*message) Value(any) any               { return nil }

// slab holds the messages of consecutive records and their keys, values and header values,
// until the client has called every one's promise: then the whole slab is reused. A record
// and its bytes per Send, allocated or from a free list per message, were the largest share
// of either sink's CPU per record besides the client's, in allocation and in the collector's
// work (BenchmarkSendCPU); a buffer per message, reused, held each record's bytes in the
// largest size class an earlier record had needed (~1.5× the payload in flight).
type slab struct {
	msgs []message // the first n handed out
	n    int
	buf  []byte // slabBytes; the first off handed out
	off  int
	// pending is what keeps the slab from reuse, counted so that a record costs one atomic
	// operation, its release: each release subtracts one, and retiring the slab as the current
	// one adds n. Before that it is at most 0 and never reaches 0 by a release; after it, the
	// records not released yet. Whoever brings it to 0 frees the slab.
	pending atomic.Int32
	next    *slab // slabs' free list
}

const (
	slabBytes = 256 << 10
	// slabOwn is the largest payload a slab takes: larger bytes get an allocation of their
	// own, so that one big record does not use up most of a slab.
	slabOwn = slabBytes / 8
	// A slab has as many messages as records of the last slab's average payload fill its
	// bytes, within these bounds (8 KiB and 128 bytes a record), so that neither its messages
	// (~200 bytes each) nor its bytes are mostly left unused: 256 messages for any record
	// size cost ~1.2 KiB per 100-byte record in flight, 4× a message and its bytes.
	slabMinMsgs = 32
	slabMaxMsgs = 2048
)

// slabs hands out messages in slabs, for both sinks. One caller at a time takes (message,
// under the sink's lock); releases come from the client's promise goroutine, lock-free but for
// the release that frees a slab. A slab is reused only once every promise of its records ran,
// so records the client never finishes (a failed sink's) only keep their slab from reuse.
type slabs struct {
	// Owned by the taker.
	cur  *slab
	msgs int // messages of a new slab
	made int // slabs allocated (tests: reuse)

	mu      sync.Mutex
	free    *slab
	nFree   int
	maxFree int // the free slabs' bytes stay under the sink's MaxBufferedBytes
}

func newSlabs(maxBuffered int64) *slabs {
	return &slabs{msgs: 256, maxFree: max(1, int(maxBuffered/slabBytes))}
}

// message returns a message whose record is zero but for its Context, and n bytes for the
// record's key, value and header values (its payload: the caller copies them in), a region of
// the message's slab or, over slabOwn, an allocation of their own.
func (a *slabs) message(n int) (*message, []byte) {
	own := n > slabOwn
	sl := a.cur
	if sl == nil || sl.n == len(sl.msgs) || (!own && len(sl.buf)-sl.off < n) {
		if sl != nil {
			a.retire(sl)
		}
		sl = a.take()
		a.cur = sl
	}
	m := &sl.msgs[sl.n]
	sl.n++
	m.rec = kgo.Record{Context: m}
	m.sl = sl
	var b []byte
	switch {
	case n == 0:
	case own:
		b = make([]byte, n)
	default:
		b = sl.buf[sl.off : sl.off+n : sl.off+n]
		sl.off += n
	}
	return m, b
}

// take returns a free slab, or a new one. A free slab with less than half or more than twice
// the messages a new one gets was made for records of another size: it is left to the
// collector (one per take, so a change of record size replaces the free slabs gradually).
func (a *slabs) take() *slab {
	a.mu.Lock()
	sl := a.free
	if sl != nil {
		a.free, sl.next = sl.next, nil
		a.nFree--
	}
	a.mu.Unlock()
	if sl == nil || 2*len(sl.msgs) < a.msgs || len(sl.msgs) > 2*a.msgs {
		sl = &slab{msgs: make([]message, a.msgs), buf: make([]byte, slabBytes)}
		a.made++
	}
	sl.n, sl.off = 0, 0
	return sl
}

// retire ends sl as the current slab: from now on its last release frees it. Its records'
// average payload sizes the next new slab.
func (a *slabs) retire(sl *slab) {
	a.msgs = min(max(slabBytes/max(sl.off/sl.n, 1), slabMinMsgs), slabMaxMsgs)
	if sl.pending.Add(int32(sl.n)) == 0 {
		a.put(sl) // every record handed out was released already
	}
}

// release gives m back: the client is done with its record (its promise ran). Nothing may
// read m after: its slab may be reused at once.
func (a *slabs) release(m *message) {
	if sl := m.sl; sl.pending.Add(-1) == 0 {
		a.put(sl)
	}
}

// put keeps sl for reuse, while the free slabs' bytes stay under the bound.
func (a *slabs) put(sl *slab) {
	clear(sl.msgs[:sl.n]) // drop the references to topics and headers while it waits
	a.mu.Lock()
	if a.nFree < a.maxFree {
		sl.next = a.free
		a.free = sl
		a.nFree++
	}
	a.mu.Unlock()
}

// fill copies rec's key, value and header values into buf, which holds at least their length
// (message's n: the payload recordSize counts), and points r's at the copies.
func fill(r *kgo.Record, rec *envelope.Record, buf []byte) {
	if rec.Key != nil {
		r.Key = buf[:len(rec.Key):len(rec.Key)]
		copy(r.Key, rec.Key)
		buf = buf[len(rec.Key):]
	}
	if rec.Value != nil {
		r.Value = buf[:len(rec.Value):len(rec.Value)]
		copy(r.Value, rec.Value)
		buf = buf[len(rec.Value):]
	}
	if len(rec.Headers) > 0 {
		r.Headers = make([]kgo.RecordHeader, len(rec.Headers))
		for i, h := range rec.Headers {
			r.Headers[i].Key = h.Key
			if h.Value != nil {
				r.Headers[i].Value = buf[:len(h.Value):len(h.Value)]
				copy(r.Headers[i].Value, h.Value)
				buf = buf[len(h.Value):]
			}
		}
	}
}
