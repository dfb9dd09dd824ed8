package capture

// Alloc carves rows and value bytes out of large chunks, so a row costs no allocation of its
// own; a chunk is freed by the GC once no row points into it any more. Snapshot readers use it:
// their rows outlive the read buffer but not by much. It belongs to one goroutine. A nil *Alloc
// allocates each row and value on its own.
type Alloc struct {
	vals []Value
	buf  []byte
}

const (
	allocValChunk  = 448      // Values per chunk: 32,256 bytes, the largest small-object size class
	allocByteChunk = 32 << 10 // bytes per chunk (small objects: no page-level allocation and scavenging)
)

// Row returns n zero Values.
func (a *Alloc) Row(n int) Row {
	if a == nil || n > allocValChunk/16 {
		return make(Row, n)
	}
	if len(a.vals) < n {
		a.vals = make([]Value, allocValChunk)
	}
	r := a.vals[:n:n]
	a.vals = a.vals[n:]
	return r
}

// Bytes returns n bytes of the value's own, never nil (an empty string is not NULL). Their
// capacity is their length, so the caller may rewrite them in place but not append.
func (a *Alloc) Bytes(n int) []byte {
	if n == 0 {
		return []byte{}
	}
	if a == nil || n > allocByteChunk/16 {
		return make([]byte, n)
	}
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, allocByteChunk)
	}
	start := len(a.buf)
	a.buf = a.buf[:start+n]
	return a.buf[start : start+n : start+n]
}

// Copy returns a copy of b from Bytes.
func (a *Alloc) Copy(b []byte) []byte {
	c := a.Bytes(len(b))
	copy(c, b)
	return c
}
