package pipeline_test

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/internal/offsets"
	"github.com/sluicecdc/sluice/internal/pipeline"
)

type lsn uint64

func (p lsn) AppendOffset(dst []byte) []byte { return fmt.Appendf(dst, `{"lsn":%d}`, uint64(p)) }

// twoEvents is a Source with two changes, then io.EOF.
type twoEvents struct{ i int }

func (s *twoEvents) Next(context.Context) (capture.Event, error) {
	if s.i == 2 {
		return capture.Event{}, io.EOF
	}
	s.i++
	return capture.Event{Kind: capture.Change, Op: capture.OpCreate, Position: lsn(100 * s.i)}, nil
}

func (s *twoEvents) Ack(_ context.Context, p capture.Position) error {
	fmt.Printf("source may forget everything up to %s\n", p.AppendOffset(nil))
	return nil
}

func (s *twoEvents) Close() error { return nil }

type oneRecord struct{}

func (oneRecord) Encode(dst []envelope.Record, ev *capture.Event) ([]envelope.Record, error) {
	return append(dst, envelope.Record{Topic: "t", Key: []byte(`{"id":1}`), Value: ev.Position.AppendOffset(nil)}), nil
}

func (oneRecord) Heartbeat(dst []envelope.Record, _ time.Time) []envelope.Record { return dst }

// printSink prints each record and reports it durable at once.
type printSink struct{ durable pipeline.Durable }

func (s printSink) Send(_ context.Context, rec *envelope.Record, token uint64) error {
	fmt.Printf("%s %s\n", rec.Topic, rec.Value)
	s.durable(token)
	return nil
}
func (printSink) Flush(context.Context) error { return nil }
func (printSink) Close() error                { return nil }

func ExampleRun() {
	store := new(offsets.Memory)
	err := pipeline.Run(context.Background(), pipeline.Config{
		Source:  &twoEvents{},
		Encoder: oneRecord{},
		NewSink: func(d pipeline.Durable) (pipeline.Sink, error) { return printSink{d}, nil },
		Offsets: store,
		// Saved (and acknowledged) every FlushInterval and at the end; here only at the end.
		FlushInterval: time.Hour,
	})
	saved, _ := store.Load(context.Background())
	fmt.Println(string(saved), err)
	// Output:
	// t {"lsn":100}
	// t {"lsn":200}
	// source may forget everything up to {"lsn":200}
	// {"lsn":200} <nil>
}
