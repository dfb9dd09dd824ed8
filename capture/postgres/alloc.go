package postgres

import (
	"github.com/sluicecdc/sluice/capture"
)

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

// takeSnapBatch returns an empty batch for rows of cols columns: a released one of pool when
// there is one (its Values still hold the old rows': row zeroes them).
func takeSnapBatch(pool *capture.ReadPool[*snapBatch], cols int) *snapBatch {
	if b, ok := pool.Take(); ok {
		if n := snapBatchRows * cols; cap(b.vals) >= n {
			b.rows, b.vals, b.used, b.buf, b.after = b.rows[:0], b.vals[:n], 0, b.buf[:0], nil
			return b
		}
	}
	return &snapBatch{rows: make([]capture.Row, 0, snapBatchRows), vals: make([]capture.Value, snapBatchRows*cols)}
}

// Values implements capture.ReadBatch.
func (b *snapBatch) Values() []capture.Value { return b.vals }

// LastRow implements capture.ReadBatch.
func (b *snapBatch) LastRow() capture.Row {
	if len(b.rows) == 0 {
		return nil
	}
	return b.rows[len(b.rows)-1]
}

// row returns the batch's next row of n zero Values. The batch holds snapBatchRows rows.
func (b *snapBatch) row(n int) capture.Row {
	r := b.vals[b.used : b.used+n : b.used+n]
	b.used += n
	clear(r) // a reused batch's Values hold an old row's
	return r
}

// snapBatchBytes is the least chunk of a batch's bytes; a batch's chunk grows to what its rows
// need, and a reused batch starts again at its last chunk.
const snapBatchBytes = 16 << 10

// Copy returns a copy of v in the batch's own bytes, valid as long as the batch's rows.
func (b *snapBatch) Copy(v []byte) []byte {
	if len(v) == 0 {
		return []byte{} // an empty string is not NULL
	}
	if cap(b.buf)-len(b.buf) < len(v) {
		if len(v) > snapBatchBytes {
			return append([]byte(nil), v...)
		}
		b.buf = make([]byte, 0, max(2*cap(b.buf), snapBatchBytes))
	}
	start := len(b.buf)
	b.buf = append(b.buf, v...)
	return b.buf[start:len(b.buf):len(b.buf)]
}

// ReadsDone implements pipeline.ReadReleaser: every read handed out up to and including last
// is encoded, so the snapshot batches it covers may be reused.
func (s *Source) ReadsDone(last *capture.Event) {
	s.snapMem.Done(last.After)
}
