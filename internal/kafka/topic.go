package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// createTopicsKey is the CreateTopics API; version 4 lets the broker pick the replication
// factor (-1, KIP-464, Kafka 2.4).
const (
	createTopicsKey             = 19
	createTopicsDefaultsVersion = 4
	fallbackReplication         = 1
)

// CreateTopic creates topic with detail unless it exists, in one attempt. created reports
// whether this call created it; an existing topic is left as it is (its partitions and
// configs unchecked). A ReplicationFactor of -1 asks for the broker's
// default.replication.factor; when the controller predates that (KIP-464, Kafka 2.4) it
// becomes 1 in detail, so the caller can log what it got.
func CreateTopic(admin sarama.ClusterAdmin, topic string, detail *sarama.TopicDetail) (created bool, err error) {
	if detail.ReplicationFactor == -1 {
		ok, err := brokerDefaultReplication(admin)
		if err != nil {
			return false, fmt.Errorf("create topic %s: %w", topic, err)
		}
		if !ok {
			detail.ReplicationFactor = fallbackReplication
		}
	}
	err = admin.CreateTopic(topic, detail, false)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, sarama.ErrTopicAlreadyExists): // also inside a *sarama.TopicError
		return false, nil
	}
	return false, fmt.Errorf("create topic %s (%d partitions, replication %d): %w", topic, detail.NumPartitions, detail.ReplicationFactor, err)
}

// brokerDefaultReplication reports whether the controller accepts a replication factor of -1.
func brokerDefaultReplication(admin sarama.ClusterAdmin) (bool, error) {
	b, err := admin.Controller()
	if err != nil {
		return false, fmt.Errorf("find the controller: %w", err)
	}
	resp, err := b.ApiVersions(&sarama.ApiVersionsRequest{})
	if err != nil {
		return false, fmt.Errorf("API versions of the controller: %w", err)
	}
	for _, k := range resp.ApiKeys {
		if k.ApiKey == createTopicsKey {
			return k.MaxVersion >= createTopicsDefaultsVersion, nil
		}
	}
	return false, nil
}

// EnsureTopic is CreateTopic retried as Retry does while the brokers are unreachable or the
// controller moves; log (nil: discard) gets the retry warnings.
func (c *ClientConfig) EnsureTopic(ctx context.Context, log *slog.Logger, admin sarama.ClusterAdmin, topic string, detail *sarama.TopicDetail) (created bool, err error) {
	err = c.Retry(ctx, log, "create topic "+topic, func() error {
		created, err = CreateTopic(admin, topic, detail)
		return err
	})
	return created, err
}

// ReadToEnd calls fn for every message of one partition, from the oldest offset still stored
// up to the partition's end as it was when ReadToEnd started (records produced meanwhile are
// not waited for). It is how a compacted topic is loaded: the last value of a key wins. fn may
// keep the message; an error from fn stops the read and is returned as is. ctx cancels the read.
//
// A transient failure (a broker restart, a lost connection, a leader move) is retried as
// Retry does, and the read resumes after the last message fn saw, so fn sees each message
// once.
func (c *ClientConfig) ReadToEnd(ctx context.Context, log *slog.Logger, client sarama.Client, topic string, partition int32, fn func(m *sarama.ConsumerMessage) error) error {
	where := fmt.Sprintf("%s/%d", topic, partition)
	var oldest, newest int64
	err := c.Retry(ctx, log, "offsets of "+where, func() error {
		var err error
		if oldest, err = client.GetOffset(topic, partition, sarama.OffsetOldest); err != nil {
			return fmt.Errorf("oldest offset of %s: %w", where, err)
		}
		if newest, err = client.GetOffset(topic, partition, sarama.OffsetNewest); err != nil {
			return fmt.Errorf("newest offset of %s: %w", where, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	next := oldest
	err = c.Retry(ctx, log, "read "+where, func() error {
		return readRange(ctx, client, topic, partition, &next, newest, fn)
	})
	var ferr fnError
	if errors.As(err, &ferr) {
		return ferr.err
	}
	return err
}

// fnError carries an error of ReadToEnd's fn through Retry, which must not retry it.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

// readRange reads [*next, end) and advances *next past every message it hands to fn.
func readRange(ctx context.Context, client sarama.Client, topic string, partition int32, next *int64, end int64, fn func(m *sarama.ConsumerMessage) error) error {
	if *next >= end {
		return nil
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, partition, *next)
	if err != nil {
		return fmt.Errorf("read %s/%d from %d: %w", topic, partition, *next, err)
	}
	defer pc.Close()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case cerr := <-pc.Errors():
			return fmt.Errorf("read %s/%d at %d: %w", topic, partition, *next, cerr)
		case m := <-pc.Messages():
			if m.Offset < *next {
				continue
			}
			if err := fn(m); err != nil {
				return fnError{err}
			}
			*next = m.Offset + 1
			if *next >= end {
				return nil
			}
		}
	}
}

// Topic is a topic to create: Partitions (≥ 1), Replication (-1: the broker's
// default.replication.factor, or 1 on a broker before Kafka 2.4, which EnsureTopicKgo then
// writes back) and topic Configs (nil: the broker's defaults).
type Topic struct {
	Name        string
	Partitions  int32
	Replication int16
	Configs     map[string]string
}

// EnsureTopicKgo creates t with cl unless it exists, retried as Retry does while the brokers
// are unreachable or the controller moves; log (nil: discard) gets the retry warnings.
// created reports whether this call created it; an existing topic is left as it is (its
// partitions and configs unchecked).
func (c *ClientConfig) EnsureTopicKgo(ctx context.Context, log *slog.Logger, cl *kgo.Client, t *Topic) (created bool, err error) {
	err = c.Retry(ctx, log, "create topic "+t.Name, func() error {
		created, err = createTopicKgo(ctx, c.WithDefaults().RequestTimeout, cl, t)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("create topic %s (%d partitions, replication %d): %w", t.Name, t.Partitions, t.Replication, err)
	}
	return created, nil
}

func createTopicKgo(ctx context.Context, timeout time.Duration, cl *kgo.Client, t *Topic) (bool, error) {
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = int32(timeout / 2 / time.Millisecond)
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = t.Name, t.Partitions, t.Replication
	for k, v := range t.Configs {
		rc := kmsg.NewCreateTopicsRequestTopicConfig()
		rc.Name, rc.Value = k, kmsg.StringPtr(v)
		rt.Configs = append(rt.Configs, rc)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return false, err
	}
	if len(resp.Topics) != 1 {
		return false, fmt.Errorf("CreateTopics answered %d topics, want 1", len(resp.Topics))
	}
	err = kerr.ErrorForCode(resp.Topics[0].ErrorCode)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, kerr.TopicAlreadyExists):
		return false, nil
	case t.Replication == -1 && resp.Version < createTopicsDefaultsVersion:
		// The controller predates KIP-464 and refused -1: take 1, as sarama's path did.
		t.Replication = fallbackReplication
		return createTopicKgo(ctx, timeout, cl, t)
	}
	if msg := resp.Topics[0].ErrorMessage; msg != nil && *msg != "" {
		return false, fmt.Errorf("%w: %s", err, *msg)
	}
	return false, err
}

// Metadata is what a metadata request tells of one topic and the cluster.
type Metadata struct {
	Brokers    int  // brokers in the cluster
	Exists     bool // the topic exists
	Partitions int  // its partitions, when it exists
}

// TopicMetadata asks cl for the metadata of topic, once (the caller retries). A topic that
// does not exist is not an error.
func TopicMetadata(ctx context.Context, cl *kgo.Client, topic string) (Metadata, error) {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return Metadata{}, err
	}
	md := Metadata{Brokers: len(resp.Brokers)}
	if len(resp.Topics) != 1 {
		return md, fmt.Errorf("metadata of %s: %d topics in the answer, want 1", topic, len(resp.Topics))
	}
	err = kerr.ErrorForCode(resp.Topics[0].ErrorCode)
	switch {
	case errors.Is(err, kerr.UnknownTopicOrPartition):
		return md, nil
	case err != nil:
		return md, fmt.Errorf("metadata of %s: %w", topic, err)
	}
	md.Exists, md.Partitions = true, len(resp.Topics[0].Partitions)
	return md, nil
}

// Probe connects once and reads the metadata of topic (the cluster's only when topic is ""),
// within timeout: a cheap check for commands that must not wait out DeliveryTimeout (the
// run loop's ping, sluice check). A refused login or certificate comes back as the client
// reports it (Auth, TLSFailure tell them apart).
func (c *ClientConfig) Probe(ctx context.Context, clientID, topic string, timeout time.Duration) (Metadata, error) {
	opts, err := c.Kgo(clientID, nil)
	if err != nil {
		return Metadata{}, err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return Metadata{}, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if topic == "" {
		return Metadata{}, cl.Ping(ctx)
	}
	return TopicMetadata(ctx, cl, topic)
}
