package kafka

import (
	"encoding/binary"
	"sync"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Decompression buffers go back to the free list (decompressBufs) when Next has recycled every
// record decoded from them. franz-go can do this itself (a PoolDecompressBytes in WithPools),
// but it clears each buffer over its whole capacity before putting it back: on the bench's
// records with schemas that was 6.2 GB cleared per 1.7 M records, 5–9% of `sluice clickhouse`'s
// CPU (kgo's recordPools.release in the profile). The buffers hold only record bytes, which
// are overwritten by the next batch decompressed into them, so nothing needs the clearing.
//
// The count of a buffer is the number of records its bytes hold (their length prefixes,
// counted once when it is decompressed); Next takes one off for each record it recycles,
// found by the address of the record's key or value. A buffer is reused only once its count
// reaches zero, so a record still held is never overwritten. Records that never reach Next
// (franz-go drops those below the fetch offset, of aborted transactions, of a revoked
// partition's buffered fetches) keep their buffer's count above zero: the buffer is then left
// to the collector, like any buffer that falls out of the bounded list of tracked ones.

// tracked is one decompression buffer whose records are out.
type tracked struct {
	buf    []byte  // the whole buffer, for the free list
	lo, hi uintptr // addresses of the decompressed bytes: [lo, hi)
	left   int     // records not yet recycled
}

// maxTracked bounds the buffers tracked at once. The consumer holds about freeBufs batches
// (a fetch buffered by the client, the polls waiting for Next); more are batches whose
// records franz-go dropped, which are left to the collector.
const maxTracked = 64

var bufs struct {
	sync.Mutex
	live []*tracked // oldest first
	last *tracked   // the buffer of the newest recycled record: the next one most likely shares it
}

// track registers out, decompressed into a buffer of capacity cap(out), as holding the records
// its bytes count. Bytes that do not parse as a sequence of length-prefixed records are not
// tracked (their buffer is left to the collector).
func track(out []byte) {
	n, ok := countRecords(out)
	if !ok || n == 0 {
		return
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(out)))
	t := &tracked{buf: out[:0], lo: lo, hi: lo + uintptr(len(out)), left: n}
	bufs.Lock()
	defer bufs.Unlock()
	if len(bufs.live) == maxTracked {
		if bufs.last == bufs.live[0] {
			bufs.last = nil
		}
		bufs.live[0] = nil
		bufs.live = bufs.live[1:]
	}
	bufs.live = append(bufs.live, t)
}

// countRecords counts the records of a decompressed record batch: each is a zigzag varint
// length and that many bytes. franz-go reads the same prefixes, so it never finds more
// records in these bytes than are counted here.
func countRecords(b []byte) (int, bool) {
	n := 0
	for len(b) > 0 {
		l, w := binary.Varint(b)
		if w <= 0 || l < 0 || l > int64(len(b)-w) {
			return 0, false
		}
		b = b[w+int(l):]
		n++
	}
	return n, true
}

// recycle recycles r, first counting it off the buffer its bytes are in; the buffer returns
// to the free list with the last of its records.
func recycle(r *kgo.Record) {
	var p []byte
	switch {
	case len(r.Value) > 0:
		p = r.Value
	case len(r.Key) > 0:
		p = r.Key
	}
	r.Recycle()
	if p == nil {
		return // nothing to find its buffer by: the buffer's count stays above zero
	}
	a := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	bufs.Lock()
	t := bufs.last
	if t == nil || a < t.lo || a >= t.hi {
		t = nil
		for _, c := range bufs.live {
			if a >= c.lo && a < c.hi {
				t = c
				break
			}
		}
		bufs.last = t
	}
	var free []byte
	if t != nil {
		t.left--
		if t.left == 0 {
			for i, c := range bufs.live {
				if c == t {
					bufs.live = append(bufs.live[:i], bufs.live[i+1:]...)
					break
				}
			}
			bufs.last = nil
			free = t.buf
		}
	}
	bufs.Unlock()
	if free != nil {
		decompressPool{}.PutDecompressBytes(free)
	}
}
