package postgres

import "github.com/sluicecdc/sluice/capture"

// snapAlloc carves a snapshot reader's rows and value bytes out of large chunks, so a row costs
// no allocation of its own; a chunk is freed by the GC once no row points into it any more. It
// belongs to one reader goroutine.
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
	if n > snapValChunk/16 {
		return make(capture.Row, n)
	}
	if len(a.vals) < n {
		a.vals = make([]capture.Value, snapValChunk)
	}
	r := a.vals[:n:n]
	a.vals = a.vals[n:]
	return r
}

// copy returns a copy of b (which the caller may rewrite in place: its capacity is its length).
func (a *snapAlloc) copy(b []byte) []byte {
	if len(b) > snapByteChunk/16 {
		return append([]byte(nil), b...)
	}
	if cap(a.buf)-len(a.buf) < len(b) {
		a.buf = make([]byte, 0, snapByteChunk)
	}
	start := len(a.buf)
	a.buf = append(a.buf, b...)
	return a.buf[start:len(a.buf):len(a.buf)]
}
