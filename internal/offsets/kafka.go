package offsets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/IBM/sarama"
	"github.com/eapache/go-resiliency/breaker"
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
	cfg      KafkaConfig
	key      []byte
	client   sarama.Client
	producer sarama.SyncProducer
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
	sc, err := cfg.Client.Sarama("sluice-offsets")
	if err != nil {
		return nil, fmt.Errorf("kafka offsets store: %w", err)
	}
	sc.Net.MaxOpenRequests = 1
	sc.Producer.Idempotent = true
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Producer.Return.Successes = true
	sc.Producer.Partitioner = sarama.NewMurmur2Partitioner
	sc.Metadata.AllowAutoTopicCreation = false
	sc.Consumer.Return.Errors = true
	client, err := cfg.Client.Connect(ctx, cfg.Logger, sc)
	if err != nil {
		return nil, fmt.Errorf("kafka offsets store: %w", err)
	}
	k := &Kafka{cfg: cfg, key: Key(cfg.Name, cfg.TopicPrefix), client: client}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("kafka offsets store: %w", err)
	}
	if connectDefault {
		err = cfg.Client.Retry(ctx, cfg.Logger, "metadata for "+cfg.Topic, func() (err error) {
			cfg.Replication, err = defaultReplication(client, cfg.Topic) // too few brokers is not transient: not retried
			return err
		})
		if err != nil {
			client.Close()
			return nil, fmt.Errorf("kafka offsets store: %w", err)
		}
	}
	compact := "compact"
	detail := &sarama.TopicDetail{NumPartitions: cfg.Partitions, ReplicationFactor: cfg.Replication,
		ConfigEntries: map[string]*string{"cleanup.policy": &compact}}
	created, err := cfg.Client.EnsureTopic(ctx, cfg.Logger, admin, cfg.Topic, detail)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("kafka offsets store: %w", err)
	}
	if created {
		cfg.Logger.Info("created offsets topic", "topic", cfg.Topic, "partitions", detail.NumPartitions, "replication", detail.ReplicationFactor)
	}
	// admin shares client; closing admin would close it, so it is simply dropped.
	if err := cfg.Client.Retry(ctx, cfg.Logger, "metadata of "+cfg.Topic, func() error { return client.RefreshMetadata(cfg.Topic) }); err != nil {
		client.Close()
		return nil, fmt.Errorf("kafka offsets store: metadata of %s: %w", cfg.Topic, err)
	}
	k.producer, err = sarama.NewSyncProducerFromClient(client)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("kafka offsets store: producer: %w", err)
	}
	return k, nil
}

// Load returns the last value stored under this connector's key, nil if none (or if the last
// record is a tombstone).
func (k *Kafka) Load(ctx context.Context) ([]byte, error) {
	var parts []int32
	err := k.cfg.Client.Retry(ctx, k.cfg.Logger, "partitions of "+k.cfg.Topic, func() error {
		var err error
		parts, err = k.client.Partitions(k.cfg.Topic)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("kafka offsets store: partitions of %s: %w", k.cfg.Topic, err)
	}
	p := kafka.Partition(k.key, int32(len(parts)))
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
	err := k.cfg.Client.Retry(ctx, k.cfg.Logger, "save offset to "+k.cfg.Topic, func() error {
		if k.producer == nil {
			p, err := sarama.NewSyncProducerFromClient(k.client)
			if err != nil {
				return err
			}
			k.producer = p
		}
		_, _, err := k.producer.SendMessage(&sarama.ProducerMessage{
			Topic: k.cfg.Topic,
			Key:   sarama.ByteEncoder(k.key),
			Value: sarama.ByteEncoder(v),
		})
		if errors.Is(err, breaker.ErrBreakerOpen) {
			// After a few failed metadata refreshes sarama refuses a partition for 10 s;
			// a new producer starts without that, so a broker that is back is used at once.
			k.producer.Close()
			k.producer = nil
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("kafka offsets store: write %s: %w", k.cfg.Topic, err)
	}
	return nil
}

// Close closes the producer and the connection.
func (k *Kafka) Close() error {
	var err error
	if k.producer != nil {
		err = k.producer.Close()
	}
	return errors.Join(err, k.client.Close())
}

// defaultReplication is Connect's replication factor for a new offsets topic: 3, or an error on
// a smaller cluster. An existing topic is left as it is (-1 is then never used).
func defaultReplication(client sarama.Client, topic string) (int16, error) {
	if err := client.RefreshMetadata(); err != nil {
		return 0, fmt.Errorf("metadata: %w", err)
	}
	topics, err := client.Topics()
	if err != nil {
		return 0, fmt.Errorf("metadata: %w", err)
	}
	if slices.Contains(topics, topic) {
		return -1, nil
	}
	if n := len(client.Brokers()); n < connectReplication {
		return 0, fmt.Errorf("offsets topic %s does not exist and the cluster has %d broker(s), fewer than the replication factor %d "+
			"Kafka Connect gives its offsets topic: set --offsets-topic-replication (offset.storage.replication.factor) to %d or -1 "+
			"(the broker's default.replication.factor), or create the topic yourself (cleanup.policy=compact)",
			topic, n, connectReplication, n)
	}
	return connectReplication, nil
}
