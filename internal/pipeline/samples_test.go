package pipeline

import (
	"testing"
	"time"
)

func TestSamplesSummary(t *testing.T) {
	var s samples
	if got := s.summary(); got != (Summary{}) {
		t.Fatalf("empty: %+v", got)
	}
	for i := 1; i <= 100; i++ {
		s.add(time.Duration(i) * time.Millisecond)
	}
	got := s.summary()
	want := Summary{P50: 50 * time.Millisecond, P95: 95 * time.Millisecond, P99: 99 * time.Millisecond,
		Max: 100 * time.Millisecond, Mean: 50500 * time.Microsecond, Count: 100}
	if got != want {
		t.Errorf("1..100 ms: %+v, want %+v", got, want)
	}
	// The quantiles cover the last sampleWindow samples; Max and Mean all of them.
	for range sampleWindow {
		s.add(time.Millisecond)
	}
	got = s.summary()
	if got.P99 != time.Millisecond || got.Max != 100*time.Millisecond || got.Count != 100+sampleWindow {
		t.Errorf("after a window of 1 ms: %+v", got)
	}
}

// TestDeliveryProbe: a probe times the next token sent until it is durable, then the next
// probe may start.
func TestDeliveryProbe(t *testing.T) {
	a := newAcker()
	var got []time.Duration
	a.delivered = func(d time.Duration) { got = append(got, d) }
	a.token() // not probed
	a.probe()
	tok := a.token()
	time.Sleep(5 * time.Millisecond)
	a.durable(tok) // token 1 is not durable yet: the watermark stays
	if len(got) != 0 {
		t.Fatalf("timed before the watermark passed: %v", got)
	}
	a.durable(1)
	if len(got) != 1 || got[0] < 5*time.Millisecond {
		t.Fatalf("delivery samples %v, want one of ≥ 5ms", got)
	}
	a.durable(a.token())
	if len(got) != 1 {
		t.Errorf("timed without a probe: %v", got)
	}
}
