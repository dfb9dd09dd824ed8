package kafkasignal

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/signal"
)

type got struct {
	sig    *signal.Signal
	offset int64
}

// receiver records what the channel hands over.
type receiver struct {
	mu     sync.Mutex
	next   int64
	stored bool
	got    []got
}

func (r *receiver) ReceiveSignal(sig *signal.Signal, offset int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, got{sig, offset})
}

func (r *receiver) SignalOffset() (int64, bool) { return r.next, r.stored }

func (r *receiver) wait(t *testing.T, n int) []got {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		r.mu.Lock()
		g := append([]got(nil), r.got...)
		r.mu.Unlock()
		if len(g) >= n {
			return g
		}
	}
	t.Fatalf("fewer than %d messages handed over", n)
	return nil
}

// TestConsumerReadsFromStoredOffset: the channel reads from the source's stored offset, hands
// over every message in order (other connectors' and malformed ones as nil), and without a
// stored offset starts at the topic's end, which it hands over first.
func TestConsumerReadsFromStoredOffset(t *testing.T) {
	kf, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "sig"))
	if err != nil {
		t.Fatal(err)
	}
	defer kf.Close()
	ctx := context.Background()
	prod, err := kgo.NewClient(kgo.SeedBrokers(kf.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	send := func(key, value string) {
		if err := prod.ProduceSync(ctx, &kgo.Record{Topic: "sig", Key: []byte(key), Value: []byte(value)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	send("app", `{"type": "log", "data": {"message": "zero"}}`)
	send("other", `{"type": "log", "data": {"message": "not ours"}}`)
	send("app", `{"type": "nonsense"}`)
	send("app", `{"id": "x", "type": "log", "data": {"message": "three"}}`)
	c, err := New(Config{Channels: []string{"kafka"}, Topic: "sig"}, kafka.ClientConfig{Brokers: kf.ListenAddrs()}, "app", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()

	r := &receiver{next: 1, stored: true}
	if err := c.Attach(ctx, r); err != nil {
		t.Fatal(err)
	}
	g := r.wait(t, 3)
	if g[0].offset != 1 || g[0].sig != nil || g[1].offset != 2 || g[1].sig != nil || g[2].offset != 3 || g[2].sig == nil || g[2].sig.ID != "x" {
		t.Fatalf("handed over %+v, want offsets 1 (nil), 2 (nil), 3 (signal x)", g)
	}

	fresh := &receiver{}
	if err := c.Attach(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	send("app", `{"id": "y", "type": "log", "data": {"message": "four"}}`)
	g = fresh.wait(t, 2)
	if g[0].sig != nil || g[0].offset != 3 || g[1].sig == nil || g[1].sig.ID != "y" || g[1].offset != 4 {
		t.Fatalf("a fresh source got %+v, want the end (3, nil) first, then signal y at 4", g)
	}
	if len(r.got) != 3 {
		t.Errorf("the source attached before got %d messages after the next Attach", len(r.got))
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Config
		want string
	}{
		{"default", Config{}, ""},
		{"kafka without topic", Config{Channels: []string{"source", "kafka"}}, "needs --signal-kafka-topic"},
		{"topic without channel", Config{Topic: "s"}, "not enabled"},
		{"unknown channel", Config{Channels: []string{"jmx"}}, `channel "jmx"`},
		{"kafka ok", Config{Channels: []string{"kafka"}, Topic: "s"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Validate([]string{"k:9092"})
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate = %v, want %q", err, tc.want)
			}
		})
	}
}
