package pipeline

import (
	"context"
	"io"
	"syscall"
	"testing"
	"time"

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
	cpu0 := processCPU()
	src := &countingSource{n: b.N}
	err := Run(context.Background(), Config{Source: src, Encoder: &fakeEncoder{},
		NewSink: func(d Durable) (Sink, error) { return &nullSink{d: d}, nil }})
	if err != nil {
		b.Fatal(err)
	}
	reportCPU(b, cpu0)
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
	cpu0 := processCPU()
	src := &countingRecords{n: b.N}
	err := Run(context.Background(), Config{Records: src,
		NewSink: func(d Durable) (Sink, error) { return &nullSink{d: d}, nil }})
	if err != nil {
		b.Fatal(err)
	}
	reportCPU(b, cpu0)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// readSource emits n snapshot reads (one record each) then io.EOF.
type readSource struct{ i, n int }

func (s *readSource) Next(context.Context) (capture.Event, error) {
	if s.i >= s.n {
		return capture.Event{}, io.EOF
	}
	s.i++
	return capture.Event{Kind: capture.Change, Op: capture.OpRead, Position: numPos(s.i), Source: capture.Source{Pos: 1, Row: int32(s.i)}}, nil
}
func (s *readSource) Ack(context.Context, capture.Position) error { return nil }
func (s *readSource) Close() error                                { return nil }

// constEncoder writes one fixed record per event: the encoder's cost is not the pipeline's.
type constEncoder struct{}

var constValue = []byte(`{"before":null,"after":{"id":1}}`)

func (constEncoder) Encode(dst []envelope.Record, _ *capture.Event) ([]envelope.Record, error) {
	return append(dst, envelope.Record{Topic: "t", Value: constValue}), nil
}
func (constEncoder) Heartbeat(dst []envelope.Record, _ time.Time) []envelope.Record { return dst }

// BenchmarkPipelineSnapshot: the pipeline's own cost per snapshot read handed to two encode
// workers (batching, the in-order sender, acker), with a trivial encoder and a sink that is
// durable at once.
func BenchmarkPipelineSnapshot(b *testing.B) {
	b.ReportAllocs()
	cpu0 := processCPU()
	src := &readSource{n: b.N}
	err := Run(context.Background(), Config{Source: src, Encoder: constEncoder{}, EncodeWorkers: 2,
		NewEncoder: func() (Encoder, error) { return constEncoder{}, nil },
		NewSink:    func(d Durable) (Sink, error) { return &nullSink{d: d}, nil }})
	if err != nil {
		b.Fatal(err)
	}
	reportCPU(b, cpu0)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// processCPU returns the CPU time the whole process has used: the pipeline's stages run on
// several goroutines, and the machine is shared, so cpu-ns/op is steadier than ns/op.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the process CPU per op since cpu0.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// burstSource is countingSource with Ready: bursts of 50 ready events, as a MySQL rows event's
// rows.
type burstSource struct{ countingSource }

func (s *burstSource) Ready() bool { return s.i%50 != 0 }

// BenchmarkPipelineSender: BenchmarkPipeline with a source that has bursts of ready events,
// with serial sends and with the stream sender.
func BenchmarkPipelineSender(b *testing.B) {
	for _, serial := range []bool{true, false} {
		b.Run(map[bool]string{true: "serial", false: "sender"}[serial], func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := processCPU()
			src := &burstSource{countingSource{n: b.N}}
			err := Run(context.Background(), Config{Source: src, Encoder: &fakeEncoder{}, serialSend: serial,
				NewSink: func(d Durable) (Sink, error) { return &nullSink{d: d}, nil }})
			if err != nil {
				b.Fatal(err)
			}
			reportCPU(b, cpu0)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
