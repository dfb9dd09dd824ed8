package capture

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestReadBudget(t *testing.T) {
	ctx := context.Background()
	var st SnapshotStats
	b := &ReadBudget{Limit: 100, Stats: &st}

	// A row larger than the bound goes alone.
	if err := b.Acquire(ctx, 500, nil); err != nil {
		t.Fatal(err)
	}
	b.Release(500)

	if err := b.Acquire(ctx, 60, nil); err != nil {
		t.Fatal(err)
	}
	// 60 + 60 > 100: waits until the first 60 are released.
	got := make(chan error, 1)
	go func() { got <- b.Acquire(ctx, 60, nil) }()
	select {
	case err := <-got:
		t.Fatalf("Acquire beyond the bound returned %v, want it to wait", err)
	case <-time.After(50 * time.Millisecond):
	}
	b.Release(60)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if u := b.Used(); u != 60 {
		t.Fatalf("used %d, want 60", u)
	}

	// alone lets the reader the source waits for through, after a Wake.
	var head bool
	go func() { got <- b.Acquire(ctx, 60, func() bool { return head }) }()
	select {
	case err := <-got:
		t.Fatalf("Acquire returned %v before alone", err)
	case <-time.After(50 * time.Millisecond):
	}
	b.mu.Lock()
	head = true
	b.mu.Unlock()
	b.Wake()
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if st.BufferedBytes.Load() != 120 || st.PeakBufferedBytes.Load() != 500 {
		t.Fatalf("stats %d buffered, %d peak; want 120, 500", st.BufferedBytes.Load(), st.PeakBufferedBytes.Load())
	}

	// A cancelled wait fails with the context's error.
	cctx, cancel := context.WithCancel(ctx)
	go func() { got <- b.Acquire(cctx, 60, nil) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Acquire: %v", err)
	}
	b.Reset()
	if b.Used() != 0 || st.BufferedBytes.Load() != 0 {
		t.Fatalf("after Reset: used %d, stats %d", b.Used(), st.BufferedBytes.Load())
	}
}
