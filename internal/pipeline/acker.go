package pipeline

import (
	"sync"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// acker turns out-of-order record durability into in-order position releases.
//
// Every record sent to the sink gets the next token (1, 2, 3, …). Every event that carries a
// Position is queued with the last token assigned when it was processed: the tokens of its own
// records (0 to 3) and of every record before it are all ≤ that token. The watermark is the
// largest token w such that every token ≤ w is durable; an event is released once its last
// token ≤ w. Events therefore release strictly in source order, and never before a record of
// theirs or of an earlier event is durable. A token that never becomes durable (a failed
// record) stops every later release.
//
// One goroutine assigns tokens and queues events (the sender); any goroutine may call durable;
// one goroutine calls release (the acker loop). mu guards everything.
type acker struct {
	mu      sync.Mutex
	next    uint64              // last token assigned
	water   uint64              // every token ≤ water is durable
	done    map[uint64]struct{} // durable tokens > water+1
	pending []pendingPos        // queued events, oldest first, from head
	head    int
	events  int // events in pending[head:] (an entry may hold several: coalesce)
	// coalesce lets an event join the queue's last entry while that entry is not releasable
	// and spans fewer than coalesceTokens tokens: release returns only the last position, so
	// the ones in between need not be kept. Each queued position pins its event's memory
	// (MySQL: a slab of 64 positions of ~200 bytes) until the sink acknowledges it, and a
	// 16 MiB sink buffer holds ~28k records (8 MiB, the default, ~14k): 4–6 MB of live heap, half the peak's growth again
	// under GOGC. Off when every position must be released (a Marker source: releaseAll).
	coalesce bool
	wake     chan struct{}    // cap 1: something may be releasable
	last     capture.Position // the last released position, for the watchdog's reports
	lastTs   int64            // source time (µs) of the last released change; read by release's caller

	// A delivery probe times one record from its token to its durability (the sink's delivery
	// latency): the watchdog asks for one per tick (probeWanted), the next token takes it.
	probeWanted bool
	probeTok    uint64
	probeAt     time.Time
	delivered   func(time.Duration) // called with mu held
}

type pendingPos struct {
	last  uint64
	first uint64 // the token assigned when the entry was queued (coalesce)
	pos   capture.Position
	pos0  capture.Position // the entry's first event's position: what a stall report names
	ts    int64            // source time (µs) of the last change at or before pos; 0: unknown
	ts0   int64            // ts of the entry's first event: the oldest change it holds (watchdog's lag)
	n     int              // events the entry stands for
}

// coalesceTokens bounds how many records an entry may span when events coalesce: a position
// is released at most that many records later than it could be, and 1 in ~coalesceTokens
// positions stays alive while its records are in flight.
const coalesceTokens = 256

func newAcker() *acker {
	return &acker{done: make(map[uint64]struct{}), wake: make(chan struct{}, 1)}
}

// token assigns the next record token.
func (a *acker) token() uint64 {
	a.mu.Lock()
	a.next++
	t := a.next
	if a.probeWanted {
		a.probeWanted, a.probeTok, a.probeAt = false, t, time.Now()
	}
	a.mu.Unlock()
	return t
}

// event queues p to be released after every token assigned so far is durable.
func (a *acker) event(p capture.Position) { a.eventAt(p, 0) }

// eventAt is event with the source time (µs) of the last change at or before p, for the lag
// of what waits for the sink.
func (a *acker) eventAt(p capture.Position, ts int64) {
	a.mu.Lock()
	a.events++
	if t := len(a.pending) - 1; a.coalesce && t >= a.head && a.pending[t].last > a.water && a.next-a.pending[t].first < coalesceTokens {
		e := &a.pending[t]
		e.last, e.pos, e.n = a.next, p, e.n+1
		if ts > 0 {
			e.ts = ts
			if e.ts0 == 0 {
				e.ts0 = ts
			}
		}
		a.mu.Unlock() // not releasable before either: nothing to signal
		return
	}
	a.pending = append(a.pending, pendingPos{last: a.next, first: a.next, pos: p, pos0: p, ts: ts, ts0: ts, n: 1})
	ready := a.next <= a.water
	a.mu.Unlock()
	if ready {
		a.signal()
	}
}

// durable marks token t durable. Repeated or unknown tokens are ignored.
func (a *acker) durable(t uint64) {
	a.mu.Lock()
	if t <= a.water || t > a.next {
		a.mu.Unlock()
		return
	}
	if t != a.water+1 {
		a.done[t] = struct{}{}
		a.mu.Unlock()
		return
	}
	a.water = t
	for {
		if _, ok := a.done[a.water+1]; !ok {
			break
		}
		delete(a.done, a.water+1)
		a.water++
	}
	if a.probeTok != 0 && a.probeTok <= a.water {
		if a.delivered != nil {
			a.delivered(time.Since(a.probeAt))
		}
		a.probeTok = 0
	}
	ready := a.head < len(a.pending) && a.pending[a.head].last <= a.water
	a.mu.Unlock()
	if ready {
		a.signal()
	}
}

func (a *acker) signal() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// release pops every releasable event and returns the position of the last one (nil if none)
// and how many were released.
func (a *acker) release() (capture.Position, int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var p capture.Position
	n := 0
	for a.head < len(a.pending) && a.pending[a.head].last <= a.water {
		p = a.pending[a.head].pos
		if ts := a.pending[a.head].ts; ts > 0 {
			a.lastTs = ts
		}
		n += a.pending[a.head].n
		a.pending[a.head] = pendingPos{}
		a.head++
	}
	a.events -= n
	if n > 0 {
		a.last = p
	}
	a.compact()
	return p, n
}

// releasedTs returns the source time (µs) of the last change released so far; 0: none.
func (a *acker) releasedTs() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastTs
}

// releaseAll is release for a source that needs every released position: it appends them to
// dst in order.
func (a *acker) releaseAll(dst []capture.Position) []capture.Position {
	a.mu.Lock()
	defer a.mu.Unlock()
	for a.head < len(a.pending) && a.pending[a.head].last <= a.water {
		dst = append(dst, a.pending[a.head].pos)
		a.last = a.pending[a.head].pos
		a.events -= a.pending[a.head].n
		a.pending[a.head] = pendingPos{}
		a.head++
	}
	a.compact()
	return dst
}

// compact drops the released front of the queue once it is empty or mostly released.
func (a *acker) compact() {
	if a.head == len(a.pending) {
		a.pending, a.head = a.pending[:0], 0
	} else if a.head > 1024 && a.head > len(a.pending)/2 {
		k := copy(a.pending, a.pending[a.head:])
		clear(a.pending[k:])
		a.pending, a.head = a.pending[:k], 0
	}
}

// probe asks the acker to time the next record (unless one is being timed).
func (a *acker) probe() {
	a.mu.Lock()
	if a.probeTok == 0 {
		a.probeWanted = true
	}
	a.mu.Unlock()
}

// inFlight returns the number of assigned tokens not yet covered by the watermark.
func (a *acker) inFlight() uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.next - a.water
}

// ackState is what the watchdog reads of the acker.
type ackState struct {
	next, water uint64           // last token assigned; every token ≤ water is durable
	pending     int              // events queued and not released
	oldest      pendingPos       // the first entry of them (zero if none)
	last        capture.Position // the last released position
}

func (a *acker) state() ackState {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := ackState{next: a.next, water: a.water, pending: a.events, last: a.last}
	if s.pending > 0 {
		s.oldest = a.pending[a.head]
	}
	return s
}
