package pipeline

import (
	"context"
	"io"
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
)

// BenchmarkAcker: token, durable and release per record, one event per record, in order.
func BenchmarkAcker(b *testing.B) {
	a := newAcker()
	b.ReportAllocs()
	for b.Loop() {
		a.durable(a.token())
		a.event(numPos(1))
		a.release()
	}
}

// nullSink reports every record durable at once.
type nullSink struct{ d Durable }

func (s *nullSink) Send(_ context.Context, _ *envelope.Record, tok uint64) error {
	s.d(tok)
	return nil
}
func (s *nullSink) Flush(context.Context) error { return nil }
func (s *nullSink) Close() error                { return nil }

// countingSource emits n one-record events then io.EOF.
type countingSource struct{ i, n int }

func (s *countingSource) Next(context.Context) (capture.Event, error) {
	if s.i >= s.n {
		return capture.Event{}, io.EOF
	}
	s.i++
	return capture.Event{Kind: capture.Change, Op: capture.OpCreate, Position: numPos(s.i), Source: capture.Source{Pos: 1, Row: int32(s.i)}}, nil
}
func (s *countingSource) Ack(context.Context, capture.Position) error { return nil }
func (s *countingSource) Close() error                                { return nil }

// BenchmarkPipeline: the pipeline's own cost per event (handoff between goroutines, acker),
// with a trivial encoder and a sink that is durable at once.
func BenchmarkPipeline(b *testing.B) {
	b.ReportAllocs()
	src := &countingSource{n: b.N}
	err := Run(context.Background(), Config{Source: src, Encoder: &fakeEncoder{},
		NewSink: func(d Durable) (Sink, error) { return &nullSink{d: d}, nil }})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
