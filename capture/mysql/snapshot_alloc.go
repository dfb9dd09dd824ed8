package mysql

import "github.com/sluicecdc/sluice/capture"

// snapAlloc carves a snapshot reader's rows and value bytes out of large chunks, so a row costs
// no allocation of its own; a chunk is freed by the GC once no row points into it any more. It
// belongs to one reader goroutine. A nil *snapAlloc allocates each value on its own.
type snapAlloc struct {
	vals []capture.Value
	buf  []byte
}

const (
	snapValChunk  = 448      // Values per chunk: 32,256 bytes, the largest small-object size class
	snapByteChunk = 32 << 10 // bytes per chunk (small objects: no page-level allocation and scavenging)
)

// row returns n zero Values.
func (a *snapAlloc) row(n int) capture.Row {
	if a == nil || n > snapValChunk/16 {
		return make(capture.Row, n)
	}
	if len(a.vals) < n {
		a.vals = make([]capture.Value, snapValChunk)
	}
	r := a.vals[:n:n]
	a.vals = a.vals[n:]
	return r
}

// make returns n bytes of the value's own (never nil: an empty string is not NULL).
func (a *snapAlloc) make(n int) []byte {
	if n == 0 {
		return []byte{}
	}
	if a == nil || n > snapByteChunk/16 {
		return make([]byte, n)
	}
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, snapByteChunk)
	}
	start := len(a.buf)
	a.buf = a.buf[:start+n]
	return a.buf[start : start+n : start+n]
}

// copy returns a copy of b.
func (a *snapAlloc) copy(b []byte) []byte {
	c := a.make(len(b))
	copy(c, b)
	return c
}
