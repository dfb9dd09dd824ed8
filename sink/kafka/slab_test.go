package kafka

import (
	"bytes"
	"sync"
	"testing"
)

// TestSlabsReuse: a slab is handed out again only once it is no longer the current one and
// every message in it was released (its promise ran), never while the client may still read
// one of its records; a reused slab starts clean.
func TestSlabsReuse(t *testing.T) {
	a := newSlabs(1 << 20)
	var ms []*message
	for range a.msgs { // 1 KiB each: the next slab gets as many messages
		m, b := a.message(1 << 10)
		copy(b, "0123456789")
		m.rec.Value = b
		ms = append(ms, m)
	}
	first := a.cur
	m, _ := a.message(1 << 10) // a full slab: the next message starts another
	if a.cur == first {
		t.Fatal("a full slab handed out one more message")
	}
	for _, m := range ms[1:] {
		a.release(m)
	}
	if a.free != nil {
		t.Fatal("a slab with a message in flight was freed")
	}
	a.release(ms[0])
	if a.free != first {
		t.Fatal("a slab whose messages were all released was not freed")
	}
	if first.msgs[0].rec.Value != nil || first.msgs[0].sl != nil {
		t.Fatal("a freed slab keeps its records' references")
	}
	a.release(m)
	if a.free != first || a.nFree != 1 {
		t.Fatal("the current slab was freed while it hands out messages")
	}
	if sl := a.take(); sl != first || sl.n != 0 || sl.off != 0 || sl.pending.Load() != 0 {
		t.Fatal("take did not reuse the free slab from its start")
	}
	if a.made != 2 {
		t.Fatalf("%d slabs made, want 2", a.made)
	}
}

// TestSlabsReleasedBeforeRetired: a slab whose messages were all released while it was still
// the current one is freed when it is retired (its count then reaches zero at the retire, not
// at a release), and only then.
func TestSlabsReleasedBeforeRetired(t *testing.T) {
	a := newSlabs(1 << 20)
	var ms []*message
	for range a.msgs { // 1 KiB each: the next slab gets as many messages
		m, _ := a.message(1 << 10)
		ms = append(ms, m)
	}
	first := a.cur
	for _, m := range ms {
		a.release(m)
	}
	if a.free != nil {
		t.Fatal("the current slab was freed")
	}
	a.message(1 << 10) // does not fit: retires the first, which is free, and reuses it
	if a.cur != first || a.made != 1 || first.n != 1 {
		t.Fatalf("the retired slab was not reused at once: %d made", a.made)
	}
}

// TestSlabsLarge: a payload over slabOwn gets an allocation of its own, not the slab's bytes;
// its message is still the slab's.
func TestSlabsLarge(t *testing.T) {
	a := newSlabs(1 << 20)
	_, small := a.message(100)
	m, big := a.message(slabOwn + 1)
	if len(big) != slabOwn+1 || a.cur.off != 100 || m.sl != a.cur {
		t.Fatalf("big record: %d bytes, slab offset %d", len(big), a.cur.off)
	}
	if &small[0] != &a.cur.buf[0] {
		t.Fatal("a small record is not in the slab")
	}
	if m, b := a.message(0); b != nil || m.rec.Context != m {
		t.Fatal("an empty record got bytes, or its Context is not its message")
	}
}

// TestSlabsConcurrent: one goroutine takes while another releases, as the sinks' sender and
// the client's promise goroutine do; a region handed out is never handed out again while its
// message is held (each message checks its bytes when it is released), and slabs are reused.
// Run it with -race: the count of pending releases is all that orders the two.
func TestSlabsConcurrent(t *testing.T) {
	a := newSlabs(16 * slabBytes)    // room for every free slab: none is dropped and made again
	held := make(chan *message, 500) // records in flight
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the promise goroutine
		defer wg.Done()
		for m := range held {
			want := bytes.Repeat([]byte{byte(m.size)}, len(m.rec.Value))
			if !bytes.Equal(m.rec.Value, want) {
				t.Errorf("message %d: its bytes were overwritten while it was held", m.size)
			}
			a.release(m)
		}
	}()
	for i := range 200_000 {
		n := 1 + i*7919%1000 // a slab's average stays ~500: its successors are as big
		if i%5000 == 0 {
			n = slabOwn + 1
		}
		m, b := a.message(n)
		for j := range b {
			b[j] = byte(i)
		}
		m.rec.Value, m.size = b, int64(i)
		held <- m
	}
	close(held)
	wg.Wait()
	// ≤ 502 records held (the channel, the one released, the one sent) span at most 3 slabs
	// (≥ 256 KiB / 1000 bytes each), and the current one; one made for the first messages'
	// estimate may be dropped.
	if a.made > 5 {
		t.Errorf("%d slabs made for at most 502 records in flight: slabs are not reused", a.made)
	}
}

// TestSlabsSized: a slab has as many messages as its bytes hold records of the last slab's
// average payload, within bounds, so that neither its messages nor its bytes are mostly idle.
func TestSlabsSized(t *testing.T) {
	a := newSlabs(1 << 30)
	next := func(payload int) { // fills the current slab with payload-sized records, starts the next
		for sl := a.cur; a.cur == sl; {
			a.message(payload)
		}
	}
	for _, c := range []struct{ payload, want int }{
		{1 << 10, 256},
		{200, slabBytes / 200},
		{10, slabMaxMsgs},
		{4 << 10, 64},
		{slabOwn, slabBytes / slabOwn * 4}, // whole slab's bytes by 8 records: 32
		{slabOwn + 1, slabMaxMsgs},         // bytes of their own, none in the slab
	} {
		next(c.payload) // the rest of the slab of the case before
		next(c.payload) // a slab of these records alone, which sizes the next
		if got := len(a.cur.msgs); got != c.want {
			t.Errorf("payload %d: a slab of %d messages, want %d", c.payload, got, c.want)
		}
	}
}

// TestSlabsOfAnotherSize: a free slab made for records of another size (less than half or
// more than twice the messages a new one gets) is dropped, not reused.
func TestSlabsOfAnotherSize(t *testing.T) {
	a := newSlabs(1 << 30)
	var ms []*message
	for a.made < 3 { // two slabs of 256 1-KiB records, and one more in the third
		m, _ := a.message(1 << 10)
		ms = append(ms, m)
	}
	for _, m := range ms {
		a.release(m)
	}
	if a.nFree != 2 {
		t.Fatalf("%d free slabs, want 2", a.nFree)
	}
	for sl := a.cur; a.cur == sl; { // 10-byte records: the next slab gets 2048 messages
		a.message(10)
	}
	if a.made != 4 || a.nFree != 1 || len(a.cur.msgs) != slabMaxMsgs {
		t.Fatalf("%d made, %d free, %d messages in the current: want a new slab of %d, one of the free ones dropped",
			a.made, a.nFree, len(a.cur.msgs), slabMaxMsgs)
	}
}
