package pipeline

import (
	"math"
	"slices"
	"sync"
	"time"
)

// sampleWindow is how many samples a Summary covers: the watchdog takes at most one per tick
// (a second), so about the last five minutes.
const sampleWindow = 300

// samples keeps the last sampleWindow durations and the largest and the mean of all of them,
// for the P50/P95/P99, MaxValue and AverageValue figures of /metrics. Any goroutine may add
// and read.
type samples struct {
	mu    sync.Mutex
	buf   [sampleWindow]time.Duration
	n, i  int // samples in buf; the next slot
	max   time.Duration
	sum   time.Duration
	count uint64
}

func (s *samples) add(d time.Duration) {
	s.mu.Lock()
	s.buf[s.i] = d
	s.i = (s.i + 1) % sampleWindow
	s.n = min(s.n+1, sampleWindow)
	s.max = max(s.max, d)
	s.sum += d
	s.count++
	s.mu.Unlock()
}

// Summary describes a series of sampled durations.
type Summary struct {
	// P50, P95 and P99 are quantiles of the last samples (about five minutes' worth).
	P50, P95, P99 time.Duration
	// Max and Mean are over every sample since the process started.
	Max, Mean time.Duration
	// Count is how many samples were taken; 0: none yet (the other fields are then 0).
	Count uint64
}

func (s *samples) summary() Summary {
	s.mu.Lock()
	win := slices.Clone(s.buf[:s.n])
	out := Summary{Max: s.max, Count: s.count}
	if s.count > 0 {
		out.Mean = s.sum / time.Duration(s.count)
	}
	s.mu.Unlock()
	if len(win) == 0 {
		return out
	}
	slices.Sort(win)
	q := func(p float64) time.Duration { // nearest rank
		return win[max(0, int(math.Ceil(p*float64(len(win))))-1)]
	}
	out.P50, out.P95, out.P99 = q(0.50), q(0.95), q(0.99)
	return out
}
