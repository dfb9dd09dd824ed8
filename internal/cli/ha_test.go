package cli

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/internal/leader"
)

// TestHASettings: --ha needs --offsets-topic (every process reads its predecessor's offset);
// the properties set the flags.
func TestHASettings(t *testing.T) {
	fs, c := newTestFlags(t)
	if err := fs.Parse([]string{"--topic-prefix", "p", "--ha", "--ha-session-timeout", "10ms", "--offsets-file", "x"}); err != nil {
		t.Fatal(err)
	}
	err := c.resolve(func(string) (string, bool) { return "", false })
	for _, want := range []string{"--ha needs --offsets-topic", "--ha-session-timeout 10ms"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %q", err, want)
		}
	}

	props := writeFile(t, "ha.properties", "topic.prefix=p\nsluice.ha.enabled=true\nsluice.ha.session.timeout.ms=7000\nsluice.ha.topic=coord\n"+
		"offset.storage.topic=offs\ndebezium.sink.kafka.producer.bootstrap.servers=k:9092\n")
	fs, c = newTestFlags(t)
	if err := fs.Parse([]string{"--config", props}); err != nil {
		t.Fatal(err)
	}
	if err := c.resolve(func(string) (string, bool) { return "", false }); err != nil {
		t.Fatal(err)
	}
	if !c.HA.Enabled || c.HA.SessionTimeout != 7*time.Second || c.HA.Topic != "coord" {
		t.Fatalf("HA = %+v", c.HA)
	}
}

type countSink struct{ send, done, flush, close int }

func (s *countSink) Send(context.Context, *envelope.Record, uint64) error { s.send++; return nil }
func (s *countSink) EventDone(context.Context, capture.Position) error    { s.done++; return nil }
func (s *countSink) Flush(context.Context) error                          { s.flush++; return nil }
func (s *countSink) Close() error                                         { s.close++; return nil }

// TestLeadSinkAfterLoss: once the leadership is lost, the exactly-once sink is not asked to
// send, commit or flush (a commit, abort or producer re-init of a resumed old leader could
// fence its successor on a lenient broker); it is still closed.
func TestLeadSinkAfterLoss(t *testing.T) {
	ctx := context.Background()
	var lost error
	in := new(countSink)
	s := leadSink{in, func() error { return lost }}
	s.Send(ctx, &envelope.Record{}, 1)
	s.EventDone(ctx, nil)
	s.Flush(ctx)
	lost = &leader.LostError{Group: "g", Reason: "lease"}
	for name, call := range map[string]func() error{
		"Send":      func() error { return s.Send(ctx, &envelope.Record{}, 2) },
		"EventDone": func() error { return s.EventDone(ctx, nil) },
		"Flush":     func() error { return s.Flush(ctx) },
	} {
		if err := call(); !errors.Is(err, lost) {
			t.Errorf("%s after the loss: %v", name, err)
		}
	}
	s.Close()
	if *in != (countSink{1, 1, 1, 1}) {
		t.Fatalf("inner calls %+v, want one of each before the loss and the Close", *in)
	}
}
