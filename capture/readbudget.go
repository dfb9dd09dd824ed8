package capture

import (
	"context"
	"sync"
)

// ReadBudget bounds the bytes of snapshot rows that a source's readers hold ahead of the
// pipeline: a reader acquires a batch's bytes before it queues the batch, the source releases
// them once the batch's rows are handed out. Without it each reader ran ahead through as many
// tables or key ranges as it could (one bounded channel each, but no bound on how many), and a
// table of 4 MB rows was read whole into memory before its first row went out.
//
// Acquire never refuses when nothing is held (a row larger than the bound goes alone), nor a
// caller whose alone func reports true: the source passes "this reader reads the unit the
// source waits for and holds none of its batches", or readers of later units could fill the
// budget while the source waits for that reader, which waits for the budget. The zero value
// has no bound; Stats, when set, gets BufferedBytes and PeakBufferedBytes.
type ReadBudget struct {
	Limit int64          // bytes; ≤ 0: no bound
	Stats *SnapshotStats // optional

	mu   sync.Mutex
	used int64
	wake chan struct{} // closed (and cleared) by Release and Wake
}

// Acquire adds n bytes to the budget, waiting while they do not fit (see ReadBudget for the
// two exceptions; alone may be nil and is called with the budget's lock held). It fails only
// when ctx is done.
func (b *ReadBudget) Acquire(ctx context.Context, n int64, alone func() bool) error {
	for {
		b.mu.Lock()
		if b.Limit <= 0 || b.used == 0 || b.used+n <= b.Limit || (alone != nil && alone()) {
			b.used += n
			b.noteLocked()
			b.mu.Unlock()
			return nil
		}
		if b.wake == nil {
			b.wake = make(chan struct{})
		}
		w := b.wake
		b.mu.Unlock()
		select {
		case <-w:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Release gives back n bytes acquired before and wakes the waiting readers.
func (b *ReadBudget) Release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	b.noteLocked()
	b.wakeLocked()
	b.mu.Unlock()
}

// Wake makes the waiting readers check again: the source calls it when what their alone funcs
// read has changed (it moved on to the next unit).
func (b *ReadBudget) Wake() {
	b.mu.Lock()
	b.wakeLocked()
	b.mu.Unlock()
}

// Reset forgets every acquired byte (the snapshot ended or was abandoned, its readers stopped).
func (b *ReadBudget) Reset() {
	b.mu.Lock()
	b.used = 0
	b.noteLocked()
	b.wakeLocked()
	b.mu.Unlock()
}

// Used is the bytes acquired and not released.
func (b *ReadBudget) Used() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

func (b *ReadBudget) wakeLocked() {
	if b.wake != nil {
		close(b.wake)
		b.wake = nil
	}
}

func (b *ReadBudget) noteLocked() {
	if b.Stats == nil {
		return
	}
	b.Stats.BufferedBytes.Store(b.used)
	if b.used > b.Stats.PeakBufferedBytes.Load() {
		b.Stats.PeakBufferedBytes.Store(b.used)
	}
}
