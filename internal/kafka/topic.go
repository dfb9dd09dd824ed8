package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/IBM/sarama"
)

// CreateTopic creates topic with detail unless it exists. created reports whether this call
// created it; an existing topic is left as it is (its partitions and configs unchecked).
func CreateTopic(admin sarama.ClusterAdmin, topic string, detail *sarama.TopicDetail) (created bool, err error) {
	err = admin.CreateTopic(topic, detail, false)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, sarama.ErrTopicAlreadyExists): // also inside a *sarama.TopicError
		return false, nil
	}
	return false, fmt.Errorf("create topic %s (%d partitions, replication %d): %w", topic, detail.NumPartitions, detail.ReplicationFactor, err)
}

// ReadToEnd calls fn for every message of one partition, from the oldest offset still stored
// up to the partition's end as it was when ReadToEnd started (records produced meanwhile are
// not waited for). It is how a compacted topic is loaded: the last value of a key wins. fn may
// keep the message; an error from fn stops the read and is returned as is. ctx cancels the read.
func ReadToEnd(ctx context.Context, client sarama.Client, topic string, partition int32, fn func(m *sarama.ConsumerMessage) error) error {
	oldest, err := client.GetOffset(topic, partition, sarama.OffsetOldest)
	if err != nil {
		return fmt.Errorf("oldest offset of %s/%d: %w", topic, partition, err)
	}
	newest, err := client.GetOffset(topic, partition, sarama.OffsetNewest)
	if err != nil {
		return fmt.Errorf("newest offset of %s/%d: %w", topic, partition, err)
	}
	if newest <= oldest {
		return nil
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, partition, oldest)
	if err != nil {
		return fmt.Errorf("read %s/%d: %w", topic, partition, err)
	}
	defer pc.Close()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case cerr := <-pc.Errors():
			return fmt.Errorf("read %s/%d: %w", topic, partition, cerr)
		case m := <-pc.Messages():
			if err := fn(m); err != nil {
				return err
			}
			if m.Offset >= newest-1 {
				return nil
			}
		}
	}
}
