package shop

import (
	"context"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Consume reads topic in the consumer group group from brokers and hands every event to
// flow.Handle, committing each event's offset after it was handled (so a crash repeats, never
// skips, an event). It returns when ctx ends.
func Consume(ctx context.Context, brokers []string, topic, group string, flow *Flow) error {
	for ctx.Err() == nil {
		if err := session(ctx, brokers, topic, group, flow); err != nil && ctx.Err() == nil {
			// A handler failed or the client could not start: join again after a second and
			// resume from the committed offsets, so the failed event is read again.
			slog.Warn("consumer group session ended; joining again in 1s", "topic", topic, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

// session is one membership of the group: it polls, handles and commits until a handler fails
// (returned) or ctx ends. The topic may not exist yet (sluice creates it with the first
// event): the client waits for it.
func session(ctx context.Context, brokers []string, topic, group string, flow *Flow) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll(),
		kgo.MetadataMinAge(500*time.Millisecond), kgo.MetadataMaxAge(time.Second))
	if err != nil {
		return err
	}
	defer cl.Close()
	defer cl.AllowRebalance() // before Close: leaving the group waits for a blocked rebalance
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var handled []*kgo.Record
		var failed error
		for it := fs.RecordIter(); !it.Done() && failed == nil; {
			m := it.Next()
			headers := map[string]string{}
			for _, h := range m.Headers {
				headers[h.Key] = string(h.Value)
			}
			e, err := DecodeEvent(m.Key, m.Value, headers)
			if err == nil {
				err = flow.Handle(e)
			}
			if err != nil {
				failed = err // not committed: the next session reads it again
				break
			}
			handled = append(handled, m)
		}
		if len(handled) > 0 {
			if err := cl.CommitRecords(ctx, handled...); err != nil && ctx.Err() == nil {
				slog.Warn("commit failed; the events may be handled again", "topic", topic, "err", err)
			}
		}
		cl.AllowRebalance()
		if failed != nil {
			return failed
		}
	}
}
