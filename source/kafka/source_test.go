package kafka

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/internal/testkit"
)

var (
	_ pipeline.RecordSource = (*Source)(nil)
	_ pipeline.Marker       = (*Source)(nil)
)

// slowSink keeps the values it got and reports them durable in reverse order every 50 ms, as a
// batching sink does, so that rebalances meet records in flight.
type slowSink struct {
	durable pipeline.Durable
	got     *delivered
	mu      sync.Mutex
	pending []uint64
	stop    chan struct{}
	wg      sync.WaitGroup
}

// delivered counts the records a sink got, by value.
type delivered struct {
	mu sync.Mutex
	n  map[string]int
}

func (d *delivered) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.n)
}

func newSlowSink(got *delivered) func(pipeline.Durable) (pipeline.Sink, error) {
	return func(d pipeline.Durable) (pipeline.Sink, error) {
		s := &slowSink{durable: d, got: got, stop: make(chan struct{})}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			t := time.NewTicker(50 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-s.stop:
					return
				case <-t.C:
					s.Flush(context.Background())
				}
			}
		}()
		return s, nil
	}
}

func (s *slowSink) Send(_ context.Context, rec *envelope.Record, tok uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got.mu.Lock()
	s.got.n[string(rec.Value)]++
	s.got.mu.Unlock()
	s.pending = append(s.pending, tok)
	return nil
}

func (s *slowSink) Flush(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.pending) - 1; i >= 0; i-- {
		s.durable(s.pending[i])
	}
	s.pending = s.pending[:0]
	return nil
}

func (s *slowSink) Close() error { close(s.stop); s.wg.Wait(); return nil }

func produceN(t *testing.T, brokers []string, topic string, from, to int) {
	t.Helper()
	var msgs []*kgo.Record
	for i := from; i < to; i++ {
		v := []byte(strconv.Itoa(i))
		msgs = append(msgs, &kgo.Record{Topic: topic, Key: v, Value: v})
	}
	testkit.KafkaProduce(t, testkit.KafkaClient(t, brokers), msgs...)
}

// committedEnd reports whether the group's committed offsets reached every partition's end.
func committedEnd(t *testing.T, brokers []string, group, topic string) bool {
	t.Helper()
	adm := testkit.KafkaAdmin(t, brokers)
	res, err := testkit.KafkaGroupOffsets(adm, group, topic)
	if err != nil {
		return false
	}
	for p, hwm := range testkit.KafkaEndOffsets(t, adm, topic) {
		if o, ok := res[p]; hwm > 0 && (!ok || o != hwm) {
			return false
		}
	}
	return true
}

// TestSourceRebalanceNoGaps: two pipelines share a group while records keep arriving; the
// second joins and later leaves, moving partitions both ways. Every record reaches a sink at
// least once, and the group's committed offsets end at every partition's end.
func TestSourceRebalanceNoGaps(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(4, "db.t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	gotA, gotB := &delivered{n: map[string]int{}}, &delivered{n: map[string]int{}}
	start := func(ctx context.Context, got *delivered) chan error {
		src, err := Open(ctx, Config{Client: ikafka.ClientConfig{Brokers: brokers}, Topics: `db\..*`, Group: "g", TopicRefresh: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			err := pipeline.Run(ctx, pipeline.Config{Records: src, FlushInterval: 20 * time.Millisecond, NewSink: newSlowSink(got)})
			done <- errors.Join(err, src.Close())
		}()
		return done
	}
	produceN(t, brokers, "db.t", 0, 2000)
	ctxA, cancelA := context.WithCancel(context.Background())
	defer cancelA()
	doneA := start(ctxA, gotA)
	produceN(t, brokers, "db.t", 2000, 4000)
	ctxB, cancelB := context.WithCancel(context.Background())
	defer cancelB()
	doneB := start(ctxB, gotB)
	n := 4000
	for deadline := time.Now().Add(30 * time.Second); gotB.count() < 500; n += 100 {
		if time.Now().After(deadline) {
			t.Fatal("the second consumer got no partition")
		}
		produceN(t, brokers, "db.t", n, n+100)
		time.Sleep(20 * time.Millisecond)
	}
	produceN(t, brokers, "db.t", n, n+2000)
	n += 2000
	cancelB() // while B's sink still holds records not yet durable
	if err := <-doneB; err != nil {
		t.Fatal(err)
	}
	produceN(t, brokers, "db.t", n, n+2000)
	n += 2000
	for deadline := time.Now().Add(60 * time.Second); !committedEnd(t, brokers, "g", "db.t"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("committed offsets did not reach the end")
		}
	}
	cancelA()
	if err := <-doneA; err != nil {
		t.Fatal(err)
	}
	var missing []int
	for i := range n {
		if gotA.n[strconv.Itoa(i)]+gotB.n[strconv.Itoa(i)] == 0 {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%d records never delivered, first %d", len(missing), missing[0])
	}
	t.Logf("records delivered by A: %d, by B: %d", gotA.count(), gotB.count())
}
