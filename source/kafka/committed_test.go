package kafka

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/internal/pipeline"
)

// TestSourceReadsCommitted: the topic holds a committed transaction, then an aborted one,
// then a committed one, as sluice --exactly-once writes after an abort. Only the committed
// records reach the sink; read_uncommitted (franz-go's and Kafka's default) delivered the
// aborted ones too, so ClickHouse got rows the source never confirmed and then got them
// again from the retry.
func TestSourceReadsCommitted(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "db.t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	p, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.TransactionalID("db-connector"), kgo.DefaultProduceTopic("db.t"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	txn := func(name string, commit bool) {
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			if err := p.ProduceSync(t.Context(), &kgo.Record{Key: fmt.Appendf(nil, "k%d", i), Value: fmt.Appendf(nil, "%s-%d", name, i)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.EndTransaction(t.Context(), kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	txn("a", true)
	txn("aborted", false)
	txn("b", true)
	gotRecs := &delivered{n: map[string]int{}}
	src := openTest(t, context.Background(), brokers, "committed")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- pipeline.Run(ctx, pipeline.Config{Records: src, FlushInterval: 20 * time.Millisecond, NewSink: newSlowSink(gotRecs)})
	}()
	for deadline := time.Now().Add(10 * time.Second); gotRecs.count() < 20; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 20 committed records delivered", gotRecs.count())
		}
	}
	time.Sleep(500 * time.Millisecond) // anything more would arrive meanwhile
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	gotRecs.mu.Lock()
	defer gotRecs.mu.Unlock()
	for v, n := range gotRecs.n {
		if len(v) >= 7 && v[:7] == "aborted" {
			t.Errorf("record %q of an aborted transaction delivered", v)
		}
		if n != 1 {
			t.Errorf("record %q delivered %d times", v, n)
		}
	}
	if len(gotRecs.n) != 20 {
		t.Errorf("%d distinct records delivered, want 20", len(gotRecs.n))
	}
}
