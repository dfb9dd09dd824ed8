package postgres

import "github.com/sluicecdc/sluice/capture"

// Slab allocators for the streaming hot path. Rows, positions and message bytes are carved from
// large chunks, so a row costs no allocation of its own; a chunk is freed by the GC once nothing
// points into it. Each allocator belongs to one goroutine.

// rowSlab hands out Rows. Rows are zeroed (decodeTuple leaves NULL columns untouched).
type rowSlab struct {
	buf   []capture.Value // what is left of chunk
	chunk []capture.Value
}

const rowSlabSize = 4096

func (s *rowSlab) get(n int) capture.Row {
	if n > rowSlabSize/8 {
		return make(capture.Row, n)
	}
	if len(s.buf) < n {
		s.chunk = make([]capture.Value, rowSlabSize)
		s.buf = s.chunk
	}
	r := s.buf[:n:n]
	s.buf = s.buf[n:]
	return r
}

// reset hands the current chunk out again from its start: every row it gave out before must
// be dead. Earlier chunks are left to the GC.
func (s *rowSlab) reset() {
	used := len(s.chunk) - len(s.buf)
	if used == 0 {
		return
	}
	clear(s.chunk[:used])
	s.buf = s.chunk
}

// posSlab hands out Positions.
type posSlab struct{ buf []Position }

func (s *posSlab) get() *Position {
	if len(s.buf) == 0 {
		s.buf = make([]Position, 256)
	}
	p := &s.buf[0]
	s.buf = s.buf[1:]
	return p
}

// byteArena copies message bytes into shared chunks.
type byteArena struct{ buf []byte }

const arenaChunk = 1 << 20

func (a *byteArena) copy(b []byte) []byte {
	if len(b) > arenaChunk/8 {
		return append([]byte(nil), b...)
	}
	if cap(a.buf)-len(a.buf) < len(b) {
		a.buf = make([]byte, 0, arenaChunk)
	}
	start := len(a.buf)
	a.buf = append(a.buf, b...)
	return a.buf[start:len(a.buf):len(a.buf)]
}
