package kafka

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/capture"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
)

// produceTo writes n records to each partition of topic, key "k<partition>-<i%5>" and value
// "<partition>:<i>" (i counts from from): each partition holds five keys whose values rise.
func produceTo(t *testing.T, brokers []string, topic string, parts, from, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var rs []*kgo.Record
	for p := range parts {
		for i := from; i < from+n; i++ {
			rs = append(rs, &kgo.Record{Topic: topic, Partition: int32(p),
				Key: fmt.Appendf(nil, "k%d-%d", p, i%5), Value: fmt.Appendf(nil, "%d:%d", p, i)})
		}
	}
	if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// got is one record Next returned.
type got struct {
	part   int32
	offset int64
	value  string
	pos    *Position
}

// next calls Next until it returns a record (skipping caught-up markers) or d passes (ok false).
func next(t *testing.T, s *Source, d time.Duration) (got, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		rec, p, err := s.Next(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			return got{}, false
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Topic == "" {
			continue
		}
		pos := p.(*Position)
		return got{pos.Partition(), pos.Offset(), string(rec.Value), pos}, true
	}
}

// committed returns the group's committed offset of each partition of topic (-1: none).
func committed(t *testing.T, brokers []string, group, topic string, parts int) map[int32]int64 {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(brokers, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	ids := make([]int32, parts)
	for i := range ids {
		ids[i] = int32(i)
	}
	res, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: ids})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for _, id := range ids {
		out[id] = -1
		if b := res.GetBlock(topic, id); b != nil {
			out[id] = b.Offset
		}
	}
	return out
}

func openTest(t *testing.T, ctx context.Context, brokers []string, group string) *Source {
	t.Helper()
	s, err := Open(ctx, Config{Client: ikafka.ClientConfig{Brokers: brokers}, Topics: `db\..*`, Group: group, TopicRefresh: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestSourceStaleRebalanceSignal: franz-go tells the poll loop that a rebalance waits for it
// from a goroutine of its own (OnPartitionsCallbackBlocked), so the signal can arrive after
// that rebalance is over, or for a step that revokes nothing (a lost session's rejoin, an
// assignment). The poll loop must then only let the rebalance run, never drop what it polled:
// no revoke follows to re-read dropped records from the committed offset, and the client's
// fetch position is already past them, so they would be skipped.
func TestSourceStaleRebalanceSignal(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "db.t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	const n = 3000
	produceTo(t, brokers, "db.t", 1, 0, n)
	s := openTest(t, context.Background(), brokers, "stale")
	// Next is not called: the poll loop fills the channel and blocks handing out the next poll.
	for deadline := time.Now().Add(10 * time.Second); len(s.batches) < cap(s.batches); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the poll loop did not fill its channel")
		}
	}
	time.Sleep(100 * time.Millisecond)
	s.rebalance <- struct{}{} // a signal with no rebalance behind it
	for i := int64(0); i < n; i++ {
		g, ok := next(t, s, 10*time.Second)
		if !ok {
			t.Fatalf("offset %d never returned", i)
		}
		if g.offset != i {
			t.Fatalf("offset %d returned after %d: %d records skipped", g.offset, i-1, g.offset-i)
		}
		s.Mark([]capture.Position{g.pos})
	}
}
