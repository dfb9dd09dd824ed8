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

// countingRecords emits n one-record positions then io.EOF, and marks nothing (Mark is the
// source's cost, not the pipeline's).
type countingRecords struct{ i, n int }

func (s *countingRecords) Next(context.Context) (envelope.Record, capture.Position, error) {
	if s.i >= s.n {
		return envelope.Record{}, nil, io.EOF
	}
	s.i++
	return envelope.Record{Topic: "t"}, numPos(s.i), nil
}
func (s *countingRecords) Mark([]capture.Position)                     {}
func (s *countingRecords) Ack(context.Context, capture.Position) error { return nil }
func (s *countingRecords) Close() error                                { return nil }

// BenchmarkPipelineRecords: the pipeline's own cost per record of a RecordSource (acker,
// marking every released position), with a sink that is durable at once.
func BenchmarkPipelineRecords(b *testing.B) {
	b.ReportAllocs()
	src := &countingRecords{n: b.N}
	err := Run(context.Background(), Config{Records: src,
		NewSink: func(d Durable) (Sink, error) { return &nullSink{d: d}, nil }})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
