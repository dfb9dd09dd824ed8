package offsets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/internal/kafka"
)

// KafkaConfig configures a Kafka offsets store.
type KafkaConfig struct {
	// Client holds the brokers (required), client id (default "sluice-offsets"), version, and
	// the retry bound: connecting, creating the topic, Load and Save are retried while the
	// brokers are unreachable for up to Client.DeliveryTimeout (default 2m), then fail with a
	// retryable *kafka.UnavailableError; authentication and authorization errors fail at once.
	Client      kafka.ClientConfig
	Topic       string // required, e.g. "sluice-offsets"
	Name        string // connector name (key namespace); required
	TopicPrefix string // topic.prefix; required
	// Partitions is used when the store creates the topic (default 1). Replication likewise
	// (default -1: the broker's default.replication.factor, or 1 before Kafka 2.4).
	Partitions  int32
	Replication int16
	// ConnectReplication applies Kafka Connect's default for its offsets topic when
	// Replication is 0 and the topic does not exist: replication 3, and an error naming the
	// flag when the cluster has fewer than 3 brokers (Connect fails there too) rather than a
	// topic that a single broker's loss takes away with every saved position.
	ConnectReplication bool
	Logger             *slog.Logger
}

// connectReplication is Kafka Connect's offset.storage.replication.factor default.
const connectReplication = 3

// Kafka stores the offset in a compacted Kafka topic, as Kafka Connect's KafkaOffsetBackingStore
// does: key ["<name>",{"server":"<prefix>"}], value the offset JSON, partition chosen by murmur2
// of the key. Load reads the key's partition read_committed from the start to its last stable
// offset and keeps the last value (records of aborted transactions do not count); Save
// produces synchronously (idempotent, acks=all).
type Kafka struct {
	cfg KafkaConfig
	key []byte
	cl  *kgo.Client
}

// NewKafka connects and creates the topic (cleanup.policy=compact) if it does not exist.
func NewKafka(ctx context.Context, cfg KafkaConfig) (*Kafka, error) {
	if len(cfg.Client.Brokers) == 0 || cfg.Topic == "" || cfg.Name == "" || cfg.TopicPrefix == "" {
		return nil, errors.New("kafka offsets store: brokers, topic, name and topic prefix are required")
	}
	if cfg.Partitions == 0 {
		cfg.Partitions = 1
	}
	connectDefault := cfg.Replication == 0 && cfg.ConnectReplication
	if cfg.Replication == 0 {
		cfg.Replication = -1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	opts, err := cfg.Client.Kgo("sluice-offsets", cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("kafka offsets store: %w", err)
	}
	opts = append(opts,
		kgo.RequiredAcks(kgo.AllISRAcks()), // idempotent
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(kgo.KafkaHasher(func(b []byte) uint32 { return uint32(kafka.Murmur2(b)) }))),
		kgo.ProducerLinger(0),
		kgo.RecordDeliveryTimeout(max(cfg.Client.WithDefaults().DeliveryTimeout, time.Second)),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka offsets store: %w", err)
	}
	k := &Kafka{cfg: cfg, key: Key(cfg.Name, cfg.TopicPrefix), cl: cl}
	if err := k.open(ctx, connectDefault); err != nil {
		cl.Close()
		return nil, fmt.Errorf("kafka offsets store: %w", err)
	}
	return k, nil
}

// open waits for the brokers and creates the topic unless it exists.
func (k *Kafka) open(ctx context.Context, connectDefault bool) error {
	cfg := &k.cfg
	if err := cfg.Client.Retry(ctx, cfg.Logger, "connect to the brokers", func() error { return k.cl.Ping(ctx) }); err != nil {
		return err
	}
	if connectDefault {
		err := cfg.Client.Retry(ctx, cfg.Logger, "metadata for "+cfg.Topic, func() (err error) {
			cfg.Replication, err = k.defaultReplication(ctx) // too few brokers is not transient: not retried
			return err
		})
		if err != nil {
			return err
		}
	}
	t := kafka.Topic{Name: cfg.Topic, Partitions: cfg.Partitions, Replication: cfg.Replication,
		Configs: map[string]string{"cleanup.policy": "compact"}}
	created, err := cfg.Client.EnsureTopicKgo(ctx, cfg.Logger, k.cl, &t)
	if err != nil {
		return err
	}
	if created {
		cfg.Logger.Info("created offsets topic", "topic", cfg.Topic, "partitions", t.Partitions, "replication", t.Replication)
	}
	return nil
}

// partitions returns the topic's partition count, retried while the brokers are unreachable.
func (k *Kafka) partitions(ctx context.Context) (int32, error) {
	var n int
	err := k.cfg.Client.Retry(ctx, k.cfg.Logger, "partitions of "+k.cfg.Topic, func() error {
		md, err := kafka.TopicMetadata(ctx, k.cl, k.cfg.Topic)
		if err == nil && !md.Exists {
			err = kerr.UnknownTopicOrPartition
		}
		n = md.Partitions
		return err
	})
	return int32(n), err
}

// Load returns the last value stored under this connector's key, nil if none (or if the last
// record is a tombstone).
func (k *Kafka) Load(ctx context.Context) ([]byte, error) {
	n, err := k.partitions(ctx)
	if err != nil {
		return nil, fmt.Errorf("kafka offsets store: partitions of %s: %w", k.cfg.Topic, err)
	}
	p := kafka.Partition(k.key, n)
	var value []byte
	// read_committed up to the last stable offset: with --exactly-once the offset record is
	// part of each transaction, so an aborted one must not count and a marker ends the topic.
	err = k.cfg.Client.ReadCommittedToEnd(ctx, k.cfg.Logger, k.cfg.Topic, p, func(m *kgo.Record) error {
		if jsonEqual(m.Key, k.key) {
			if m.Value == nil {
				value = nil
			} else {
				value = append([]byte(nil), m.Value...)
			}
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return nil, err
		}
		return nil, fmt.Errorf("kafka offsets store: %w", err)
	}
	if value != nil {
		if err := validValue(value); err != nil {
			return nil, fmt.Errorf("kafka offsets store: %s/%d: %w", k.cfg.Topic, p, err)
		}
	}
	return value, nil
}

// Save produces value under the key and waits for acks=all. While the brokers are
// unreachable it sends again (a value written twice is harmless: the last one wins) for up to
// Client.DeliveryTimeout, then fails with a retryable *kafka.UnavailableError; ctx ends the
// wait.
func (k *Kafka) Save(ctx context.Context, value []byte) error {
	if err := validValue(value); err != nil {
		return err
	}
	v := append([]byte(nil), value...)
	op := "save offset to " + k.cfg.Topic
	start := time.Now()
	err := k.cfg.Client.Retry(ctx, k.cfg.Logger, op, func() error {
		return k.cl.ProduceSync(ctx, &kgo.Record{Topic: k.cfg.Topic, Key: k.key, Value: v}).FirstErr()
	})
	if errors.Is(err, kgo.ErrRecordTimeout) {
		// The client retried for DeliveryTimeout itself.
		err = &kafka.UnavailableError{Op: op, Waited: time.Since(start), Err: err}
	}
	if err != nil {
		return fmt.Errorf("kafka offsets store: write %s: %w", k.cfg.Topic, err)
	}
	return nil
}

// Close closes the client.
func (k *Kafka) Close() error {
	k.cl.Close()
	return nil
}

// defaultReplication is Connect's replication factor for a new offsets topic: 3, or an error on
// a smaller cluster. An existing topic is left as it is (-1 is then never used).
func (k *Kafka) defaultReplication(ctx context.Context) (int16, error) {
	md, err := kafka.TopicMetadata(ctx, k.cl, k.cfg.Topic)
	if err != nil {
		return 0, err
	}
	if md.Exists {
		return -1, nil
	}
	if md.Brokers < connectReplication {
		return 0, fmt.Errorf("offsets topic %s does not exist and the cluster has %d broker(s), fewer than the replication factor %d "+
			"Kafka Connect gives its offsets topic: set --offsets-topic-replication (offset.storage.replication.factor) to %d or -1 "+
			"(the broker's default.replication.factor), or create the topic yourself (cleanup.policy=compact)",
			k.cfg.Topic, md.Brokers, connectReplication, md.Brokers)
	}
	return connectReplication, nil
}
