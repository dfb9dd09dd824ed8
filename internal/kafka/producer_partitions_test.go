package kafka

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestAwaitProducerPartitions(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "written", "unwritten"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := t.Context()
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "written", Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := AwaitProducerPartitions(ctx, cl, []string{"written"}, time.Second); err != nil {
		t.Fatalf("a topic the client wrote to: %v", err)
	}
	// A topic the client never wrote to is never held: the wait ends at its bound, naming it.
	start := time.Now()
	err = AwaitProducerPartitions(ctx, cl, []string{"written", "unwritten"}, 100*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "topic unwritten") {
		t.Fatalf("a topic the client never wrote to: %v, want an error naming it", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the wait took %s, bound 100ms", d)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := AwaitProducerPartitions(cctx, cl, []string{"unwritten"}, time.Minute); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("canceled: %v", err)
	}
}
