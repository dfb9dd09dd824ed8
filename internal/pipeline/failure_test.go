package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/internal/offsets"
)

// valueErrEncoder is fakeEncoder, except that events whose Source.Query is "poison" fail with
// the envelope's ValueError, as a value that does not fit its Connect schema does.
type valueErrEncoder struct{ fakeEncoder }

func (e *valueErrEncoder) Encode(dst []envelope.Record, ev *capture.Event) ([]envelope.Record, error) {
	if ev.Source.Query == "poison" {
		return dst, fmt.Errorf("encode c event of public.t: %w", &envelope.ValueError{Table: "public.t", Column: "flag",
			Type: "bit varying(1)", Kind: "bool", Schema: "bytes io.debezium.data.Bits", Err: errors.New("a bool value does not fit")})
	}
	return e.fakeEncoder.Encode(dst, ev)
}

// skippableErr is a sink's refusal of one record that says it may be skipped (as sink/kafka's
// error for a record over --kafka-max-message-bytes does).
type skippableErr struct{ size int }

func (e *skippableErr) Error() string {
	return fmt.Sprintf("record of %d bytes is over the limit", e.size)
}
func (e *skippableErr) Skippable() bool { return true }

// refusingSink is fakeSink, except that Send refuses every record whose value is in refuse,
// synchronously and without making the refusal sticky.
type refusingSink struct {
	fakeSink
	refuse map[string]bool
}

func (s *refusingSink) Send(ctx context.Context, rec *envelope.Record, token uint64) error {
	if s.refuse[string(rec.Value)] {
		return &skippableErr{size: len(rec.Value)}
	}
	return s.fakeSink.Send(ctx, rec, token)
}

func TestParseFailureMode(t *testing.T) {
	for in, want := range map[string]FailureMode{"": FailureFail, "fail": FailureFail, "warn": FailureWarn, "skip": FailureSkip, "ignore": FailureSkip} {
		if got, err := ParseFailureMode(in); err != nil || got != want {
			t.Errorf("ParseFailureMode(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseFailureMode("drop"); err == nil {
		t.Error("ParseFailureMode(drop) accepted")
	}
	if err := (&Config{FailureMode: 9}).Validate(); err == nil || !strings.Contains(err.Error(), "failure mode") {
		t.Errorf("Validate of FailureMode 9: %v", err)
	}
}

// TestRunPoisonEventFailureModes: an event whose value does not fit its schema stops the
// pipeline in fail mode with an error naming table, column, type, value kind, position and the
// way out; in warn and skip mode it is logged (Warn / Debug), counted, skipped, and every later
// position is released and saved.
func TestRunPoisonEventFailureModes(t *testing.T) {
	for _, mode := range []FailureMode{FailureFail, FailureWarn, FailureSkip} {
		t.Run(mode.String(), func(t *testing.T) {
			evs := events(20)
			evs[9].Source.Query = "poison" // event 10 (2 records)
			src := &fakeSource{events: evs}
			sink := &fakeSink{}
			store := new(offsets.Memory)
			stats := new(Stats)
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			err := Run(context.Background(), Config{
				Source: src, Encoder: &valueErrEncoder{}, Offsets: store, Stats: stats, Logger: log, FailureMode: mode,
				NewSink: func(d Durable) (Sink, error) { sink.durable = d; return sink, nil },
			})
			v, _ := store.Load(context.Background())
			if mode == FailureFail {
				var ve *envelope.ValueError
				if !errors.As(err, &ve) {
					t.Fatalf("Run error %v, want a ValueError", err)
				}
				for _, want := range []string{`event at {"n":10}`, "public.t", "flag", "bit varying(1)", "bool value",
					"--event-processing-failure-handling-mode=warn"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q lacks %q", err, want)
					}
				}
				if src.lastAck() != 9 || string(v) != `{"n":9}` {
					t.Fatalf("last ack %d, stored %s; want 9 (the poison event is not released)", src.lastAck(), v)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if got := stats.ErroneousEvents.Load(); got != 1 {
				t.Fatalf("ErroneousEvents %d, want 1", got)
			}
			if src.lastAck() != 20 || string(v) != `{"n":20}` || !slices.IsSorted(src.acked) {
				t.Fatalf("acks %v, stored %s; want in order up to 20", src.acked, v)
			}
			if slices.Contains(sink.recs, "t:10.0") || !slices.Contains(sink.recs, "t:11.0") {
				t.Fatalf("records %v: want event 10 skipped, event 11 sent", sink.recs)
			}
			level := map[FailureMode]string{FailureWarn: "level=WARN", FailureSkip: "level=DEBUG"}[mode]
			line := ""
			for l := range strings.Lines(logs.String()) {
				if strings.Contains(l, "cannot be processed") {
					line = l
				}
			}
			for _, want := range []string{level, `position="{\"n\":10}"`, "table=public.t", "column=flag", `type="bit varying(1)"`, "value_kind=bool"} {
				if !strings.Contains(line, want) {
					t.Errorf("log line %q lacks %s", line, want)
				}
			}
		})
	}
}

// TestRunSkippableRecord: a record the sink refuses as skippable stops the pipeline in fail
// mode; in warn mode it is skipped, its token counts as done, and every later event (the rest of
// its own included) is still sent and released in order.
func TestRunSkippableRecord(t *testing.T) {
	for _, mode := range []FailureMode{FailureFail, FailureWarn} {
		t.Run(mode.String(), func(t *testing.T) {
			src := &fakeSource{events: events(20)}
			sink := &refusingSink{refuse: map[string]bool{"6.0": true}} // event 6's first of 2 records
			store := new(offsets.Memory)
			stats := new(Stats)
			err := Run(context.Background(), Config{
				Source: src, Encoder: &fakeEncoder{}, Offsets: store, Stats: stats, FailureMode: mode,
				NewSink: func(d Durable) (Sink, error) { sink.durable = d; return sink, nil },
			})
			v, _ := store.Load(context.Background())
			if mode == FailureFail {
				var se *skippableErr
				if !errors.As(err, &se) || !strings.Contains(err.Error(), `event at {"n":6} to t`) ||
					!strings.Contains(err.Error(), "--event-processing-failure-handling-mode=warn") {
					t.Fatalf("Run error %v, want the sink's refusal and the way out", err)
				}
				if src.lastAck() != 5 || string(v) != `{"n":5}` {
					t.Fatalf("last ack %d, stored %s; want 5", src.lastAck(), v)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if stats.ErroneousEvents.Load() != 1 {
				t.Fatalf("ErroneousEvents %d, want 1", stats.ErroneousEvents.Load())
			}
			if slices.Contains(sink.recs, "t:6.0") || !slices.Contains(sink.recs, "t:6.1") || !slices.Contains(sink.recs, "t:19.2") {
				t.Fatalf("records %v: want 6.0 refused, 6.1 and later sent", sink.recs)
			}
			if src.lastAck() != 20 || string(v) != `{"n":20}` {
				t.Fatalf("last ack %d, stored %s; want 20 (the refused record must not hold positions back)", src.lastAck(), v)
			}
		})
	}
}
