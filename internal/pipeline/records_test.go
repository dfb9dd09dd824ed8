package pipeline

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
)

// fakeRecords emits n records with positions 1..n, a caught-up marker after every tenth, then
// io.EOF. It records Mark and Ack calls.
type fakeRecords struct {
	n, i   int
	marked bool // the last record returned was followed by a marker
	buf    []byte

	mu     sync.Mutex
	marks  []int
	acked  []int
	drains int
}

func (s *fakeRecords) Next(context.Context) (envelope.Record, capture.Position, error) {
	if s.i%10 == 0 && s.i > 0 && !s.marked {
		s.marked = true
		return envelope.Record{}, nil, nil
	}
	if s.i >= s.n {
		return envelope.Record{}, nil, io.EOF
	}
	s.i++
	s.marked = false
	s.buf = fmt.Appendf(s.buf[:0], "%d", s.i) // aliased until the next Next
	return envelope.Record{Topic: "t", Value: s.buf}, numPos(s.i), nil
}

func (s *fakeRecords) Mark(released []capture.Position) {
	s.mu.Lock()
	for _, p := range released {
		s.marks = append(s.marks, int(p.(numPos)))
	}
	s.mu.Unlock()
}

func (s *fakeRecords) Ack(_ context.Context, p capture.Position) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Ack covers only what was marked before it
	if len(s.marks) == 0 || s.marks[len(s.marks)-1] != int(p.(numPos)) {
		return fmt.Errorf("ack %d before its mark (marks end at %v)", p, s.marks[max(0, len(s.marks)-1):])
	}
	s.acked = append(s.acked, int(p.(numPos)))
	return nil
}

func (s *fakeRecords) Close() error { return nil }

type drainSink struct {
	fakeSink
	src *fakeRecords
}

func (s *drainSink) InputDrained(context.Context) error {
	s.src.mu.Lock()
	s.src.drains++
	s.src.mu.Unlock()
	return nil
}

// TestRunRecords: a RecordSource's records reach the sink as they are, every position is
// marked once and in order, Ack follows the marks, and caught-up markers reach the sink's
// InputDrained without being sent.
func TestRunRecords(t *testing.T) {
	src := &fakeRecords{n: 1000}
	sink := &drainSink{src: src}
	stats := new(Stats)
	err := Run(context.Background(), Config{Records: src, Stats: stats,
		NewSink: func(d Durable) (Sink, error) { sink.durable = d; return sink, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.recs) != 1000 || sink.recs[0] != "t:1" || sink.recs[999] != "t:1000" {
		t.Fatalf("%d records, first %q", len(sink.recs), sink.recs[0])
	}
	if len(src.marks) != 1000 || !slices.IsSorted(src.marks) || src.marks[0] != 1 {
		t.Fatalf("marks: %d, sorted %t", len(src.marks), slices.IsSorted(src.marks))
	}
	if len(src.acked) == 0 || src.acked[len(src.acked)-1] != 1000 {
		t.Fatalf("acks %v, want the last to be 1000", src.acked)
	}
	if src.drains != 100 {
		t.Fatalf("%d drains, want 100", src.drains)
	}
	if stats.Records.Load() != 1000 || stats.Released.Load() != 1000 {
		t.Fatalf("stats: records %d, released %d", stats.Records.Load(), stats.Released.Load())
	}
}

func TestConfigRecordsExclusive(t *testing.T) {
	newSink := func(Durable) (Sink, error) { return nil, nil }
	for _, c := range []Config{
		{Records: &fakeRecords{}, Source: &fakeSource{}, Encoder: &fakeEncoder{}, NewSink: newSink},
		{NewSink: newSink},
		{Records: &fakeRecords{}, HeartbeatInterval: 1, NewSink: newSink},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	if err := (&Config{Records: &fakeRecords{}, NewSink: newSink}).Validate(); err != nil {
		t.Error(err)
	}
}
