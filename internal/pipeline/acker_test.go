package pipeline

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/sluicecdc/sluice/capture"
)

type numPos int

func (p numPos) AppendOffset(dst []byte) []byte {
	return append(strconv.AppendInt(append(dst, `{"n":`...), int64(p), 10), '}')
}

func released(a *acker) (int, int) {
	p, n := a.release()
	if p == nil {
		return -1, n
	}
	return int(p.(numPos)), n
}

func TestAckerOutOfOrder(t *testing.T) {
	a := newAcker()
	// event 1: records 1, 2; event 2: no records; event 3: record 3; event 4: records 4, 5, 6.
	a.token()
	a.token()
	a.event(numPos(1))
	a.event(numPos(2))
	a.token()
	a.event(numPos(3))
	a.token()
	a.token()
	a.token()
	a.event(numPos(4))

	steps := []struct {
		durable uint64
		wantPos int // -1: nothing released
		wantN   int
	}{
		{3, -1, 0}, // record of event 3 first: event 1 still waits for 1 and 2
		{2, -1, 0},
		{6, -1, 0},
		{1, 3, 3}, // 1,2,3 durable: events 1, 2 (no records) and 3 release together
		{5, -1, 0},
		{5, -1, 0}, // repeated token ignored
		{4, 4, 1},
	}
	for i, s := range steps {
		a.durable(s.durable)
		if p, n := released(a); p != s.wantPos || n != s.wantN {
			t.Fatalf("step %d (durable %d): released pos %d ×%d, want %d ×%d", i, s.durable, p, n, s.wantPos, s.wantN)
		}
	}
	if f := a.inFlight(); f != 0 {
		t.Fatalf("inFlight %d after all durable, want 0", f)
	}
}

func TestAckerEventWithoutRecordsAfterDurable(t *testing.T) {
	a := newAcker()
	a.durable(a.token())
	a.event(numPos(7)) // every earlier record is durable already: releasable at once
	select {
	case <-a.wake:
	default:
		t.Fatal("no wake-up for an immediately releasable event")
	}
	if p, n := released(a); p != 7 || n != 1 {
		t.Fatalf("released %d ×%d, want 7 ×1", p, n)
	}
}

// TestAckerFailedTokenBlocks: a token that never becomes durable stops every later release.
func TestAckerFailedTokenBlocks(t *testing.T) {
	a := newAcker()
	for i := 1; i <= 10; i++ {
		a.token()
		a.event(numPos(i))
	}
	for tok := uint64(1); tok <= 10; tok++ {
		if tok != 4 {
			a.durable(tok)
		}
	}
	if p, n := released(a); p != 3 || n != 3 {
		t.Fatalf("released %d ×%d, want 3 ×3", p, n)
	}
	if p, n := released(a); p != -1 || n != 0 {
		t.Fatalf("released %d ×%d past the failed token", p, n)
	}
}

// TestAckerRandom: random durability order; releases must come in order and never pass a
// token that is not durable.
func TestAckerRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 100; round++ {
		a := newAcker()
		a.coalesce = round%2 == 1
		const events = 500
		lastTok := make([]uint64, events+1)
		var toks []uint64
		for e := 1; e <= events; e++ {
			for k := r.IntN(4); k > 0; k-- { // 0..3 records
				toks = append(toks, a.token())
			}
			lastTok[e] = a.next
			a.event(numPos(e))
		}
		r.Shuffle(len(toks), func(i, j int) { toks[i], toks[j] = toks[j], toks[i] })
		durable := map[uint64]bool{}
		prev, total := 0, 0
		for _, tok := range toks {
			a.durable(tok)
			durable[tok] = true
			p, n := released(a)
			if n == 0 {
				continue
			}
			if total += n; total != p {
				t.Fatalf("round %d: released %d events up to event %d", round, total, p)
			}
			if p <= prev {
				t.Fatalf("round %d: released %d after %d", round, p, prev)
			}
			for x := uint64(1); x <= lastTok[p]; x++ {
				if !durable[x] {
					t.Fatalf("round %d: released event %d before token %d was durable", round, p, x)
				}
			}
			prev = p
		}
		if prev != events && !(prev == -1 && len(toks) == 0) {
			// trailing events without records release on the last release call
			if p, _ := released(a); p != events && prev != events {
				t.Fatalf("round %d: last release %d, want %d", round, prev, events)
			}
		}
	}
}

// TestAckerCoalesceBoundsQueue: with coalesce, a sink buffer's worth of events in flight keeps
// one queue entry (and one position) per coalesceTokens records, not one per event, and still
// releases every event, in order, only once its records are durable.
func TestAckerCoalesceBoundsQueue(t *testing.T) {
	a := newAcker()
	a.coalesce = true
	const events = 30000 // ~600-byte records in a 16 MiB buffer
	for e := 1; e <= events; e++ {
		a.token()
		a.eventAt(numPos(e), int64(e))
	}
	if n, max := len(a.pending), events/coalesceTokens+1; n > max {
		t.Fatalf("%d queue entries for %d events in flight, want ≤ %d", n, events, max)
	}
	st := a.state()
	if st.pending != events || st.oldest.pos0 != numPos(1) || st.oldest.ts0 != 1 {
		t.Fatalf("state: %d pending, oldest %v (ts %d), want %d, 1 (1)", st.pending, st.oldest.pos0, st.oldest.ts0, events)
	}
	for tok := uint64(1); tok < coalesceTokens; tok++ { // the first entry holds tokens 1..coalesceTokens
		a.durable(tok)
	}
	if p, n := released(a); n != 0 {
		t.Fatalf("released %d (%d events) before the entry's last record was durable", p, n)
	}
	a.durable(coalesceTokens)
	if p, n := released(a); p != coalesceTokens || n != coalesceTokens {
		t.Fatalf("released up to %d (%d events), want %d (%d)", p, n, coalesceTokens, coalesceTokens)
	}
	for tok := uint64(coalesceTokens + 1); tok <= events; tok++ {
		a.durable(tok)
	}
	if p, n := released(a); p != events || n != events-coalesceTokens {
		t.Fatalf("released up to %d (%d events), want %d (%d)", p, n, events, events-coalesceTokens)
	}
	if st := a.state(); st.pending != 0 || a.releasedTs() != events {
		t.Fatalf("after release: %d pending, released ts %d", st.pending, a.releasedTs())
	}
}

// TestAckerCoalesceNotAfterReleasable: an event never joins an entry that is already
// releasable, so a durable event is not held back by a later one.
func TestAckerCoalesceNotAfterReleasable(t *testing.T) {
	a := newAcker()
	a.coalesce = true
	a.durable(a.token())
	a.event(numPos(1)) // releasable at once
	a.token()
	a.event(numPos(2))
	if p, n := released(a); p != 1 || n != 1 {
		t.Fatalf("released %d (%d events), want 1 (1)", p, n)
	}
}

var _ capture.Position = numPos(0)
