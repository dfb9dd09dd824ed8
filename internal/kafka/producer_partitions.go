package kafka

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ProducerPartitionsWait bounds AwaitProducerPartitions. The wait it covers is the client's
// metadata goroutine finishing a function it is already in: microseconds, a few milliseconds
// on a loaded host.
const ProducerPartitionsWait = 10 * time.Second

// AwaitProducerPartitions waits until cl's producer holds the partitions of each of topics,
// topics it produced to and whose records were all acknowledged (after Flush, ProduceSync).
// Call it before EndTransaction(TryCommit) when a transaction wrote to a topic for the first
// time in cl's life; later transactions need no wait.
//
// Why (franz-go v1.22.3, docs/kafka.md "A franz-go race at a topic's first transaction"): the
// records produced to a topic before the client knows its partitions are sent, acknowledged and
// their promises run before the client stores the topic's partitions, which happens last, as its
// metadata goroutine returns from loading them. EndTransaction reads only the stored partitions:
// one that is not there yet is left out of the transaction's bookkeeping. It then keeps the
// old sequence number under the epoch a KIP-890 EndTxn bumps (the next transaction's first
// write to it is refused with OUT_OF_ORDER_SEQUENCE_NUMBER); and when no written partition is
// there, EndTransaction(TryCommit) aborts the transaction and returns nil.
//
// A topic counts as held once PartitionLeader reports a leader or a leader epoch for its
// partition 0; before, it reports -1, -1 and no error or the error of an earlier failed load.
// The error after timeout (or ctx's) names the topic; the caller aborts its transaction.
func AwaitProducerPartitions(ctx context.Context, cl *kgo.Client, topics []string, timeout time.Duration) error {
	var deadline time.Time
	pause := 50 * time.Microsecond
	for _, topic := range topics {
		for {
			leader, epoch, _ := cl.PartitionLeader(topic, 0)
			if leader >= 0 || epoch >= 0 {
				break
			}
			if deadline.IsZero() {
				deadline = time.Now().Add(timeout)
			} else if time.Now().After(deadline) {
				return fmt.Errorf("the Kafka client does not hold the partitions of topic %s %s after its records were acknowledged (see docs/kafka.md, \"A franz-go race at a topic's first transaction\")", topic, timeout)
			}
			t := time.NewTimer(pause)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("waiting for the Kafka client to hold the partitions of topic %s: %w", topic, ctx.Err())
			case <-t.C:
			}
			pause = min(2*pause, 10*time.Millisecond)
		}
	}
	return nil
}
