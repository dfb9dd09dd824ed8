package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Version 4 of CreateTopics lets the broker pick the replication factor (-1, KIP-464, Kafka
// 2.4); an older controller gets fallbackReplication.
const (
	createTopicsDefaultsVersion = 4
	fallbackReplication         = 1
)

// fnError carries an error of ReadCommittedToEnd's fn through Retry, which must not retry it.
type fnError struct{ err error }

func (e fnError) Error() string { return e.err.Error() }

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
		// The controller predates KIP-464 and refused -1: take 1.
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
