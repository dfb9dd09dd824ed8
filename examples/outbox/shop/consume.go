package shop

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/IBM/sarama"
)

// Consume reads topic in the consumer group group from brokers and hands every event to
// flow.Handle, committing each message after it was handled (so a crash repeats, never
// skips, an event). It returns when ctx ends.
func Consume(ctx context.Context, brokers []string, topic, group string, flow *Flow) error {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cg, err := sarama.NewConsumerGroup(brokers, group, cfg)
	if err != nil {
		return err
	}
	defer cg.Close()
	h := handler{flow: flow}
	for ctx.Err() == nil {
		err := cg.Consume(ctx, []string{topic}, h)
		if errors.Is(err, sarama.ErrClosedConsumerGroup) {
			return err
		}
		if err != nil && ctx.Err() == nil {
			// The topic may not exist yet (sluice creates it with the first event), a broker
			// may be restarting: wait and join again; committed offsets say where to resume.
			slog.Warn("consumer group session ended; joining again in 1s", "topic", topic, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

type handler struct{ flow *Flow }

func (handler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (handler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (h handler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		headers := map[string]string{}
		for _, rh := range m.Headers {
			headers[string(rh.Key)] = string(rh.Value)
		}
		e, err := DecodeEvent(m.Key, m.Value, headers)
		if err == nil {
			err = h.flow.Handle(e)
		}
		if err != nil {
			return err // the session ends; the message is read again
		}
		s.MarkMessage(m, "")
	}
	return nil
}
