package capture

import (
	"sync"
	"unsafe"
)

// ReadBatch is a batch of snapshot rows whose Values share one backing array.
type ReadBatch interface {
	// Values is the backing array of the batch's rows.
	Values() []Value
	// LastRow is the batch's last row, nil when it has none.
	LastRow() Row
}

// ReadPool hands a snapshot's readers the memory of batches whose rows the pipeline has
// encoded (pipeline.ReadReleaser), so that a snapshot allocates row memory only for the
// batches in flight: the rows' Values were most of the bytes a snapshot allocated, all of them
// scanned by the garbage collector. Batches are registered (HandOut) in the order their rows
// are handed out; the pipeline reports in that order, so a report of a row in batch k means
// every batch before k is done too. Rows of no registered batch (projected copies, other
// snapshots' reads) release nothing. The zero value is ready to use; Done runs on the
// pipeline's goroutine, the rest on the snapshot's, hence the lock.
type ReadPool[B ReadBatch] struct {
	mu   sync.Mutex
	out  []B    // registered, in hand-out order, not yet reported done
	free chan B // done, for the readers to take
}

// readPoolFree bounds the batches kept for reuse, readPoolOut those registered: a consumer
// that never reports (a test calling Next) must not make the pool keep much. The pipeline has
// a few batches in flight (2 per encode worker of 256 reads, plus one).
const (
	readPoolFree = 64
	readPoolOut  = 64
)

// HandOut registers b, whose rows are about to be handed out.
func (p *ReadPool[B]) HandOut(b B) {
	if len(b.LastRow()) == 0 || b.Values() == nil {
		return
	}
	p.mu.Lock()
	if len(p.out) == readPoolOut {
		p.out = append(p.out[:0], p.out[1:]...) // the oldest is forgotten, never reused
	}
	p.out = append(p.out, b)
	p.mu.Unlock()
}

// Done releases the registered batches up to the one holding row (that one too when row is its
// last row). A row in no registered batch releases nothing.
func (p *ReadPool[B]) Done(row Row) {
	if len(row) == 0 {
		return
	}
	at := uintptr(unsafe.Pointer(&row[0]))
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, b := range p.out {
		vals := b.Values()
		lo := uintptr(unsafe.Pointer(unsafe.SliceData(vals)))
		if at < lo || at >= lo+uintptr(len(vals))*unsafe.Sizeof(Value{}) {
			continue
		}
		n := i // b's predecessors are done
		if last := b.LastRow(); &last[0] == &row[0] {
			n++ // and b
		}
		if p.free == nil {
			p.free = make(chan B, readPoolFree)
		}
		for _, d := range p.out[:n] {
			select {
			case p.free <- d:
			default:
			}
		}
		p.out = append(p.out[:0], p.out[n:]...)
		return
	}
}

// Take returns a released batch, if there is one: its Values still hold the old rows'.
func (p *ReadPool[B]) Take() (B, bool) {
	p.mu.Lock()
	free := p.free
	p.mu.Unlock()
	if free != nil {
		select {
		case b := <-free:
			return b, true
		default:
		}
	}
	var zero B
	return zero, false
}

// Reset forgets every registered batch (a snapshot ended or was abandoned): their rows may
// still be in use.
func (p *ReadPool[B]) Reset() {
	p.mu.Lock()
	p.out, p.free = nil, nil
	p.mu.Unlock()
}
