package offsets

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicecdc/sluice/sink/kafka"
)

// KafkaConfig configures a Kafka offsets store.
type KafkaConfig struct {
	Brokers     []string
	Topic       string // required, e.g. "sluice-offsets"
	Name        string // connector name (key namespace); required
	TopicPrefix string // topic.prefix; required
	// Partitions is used when the store creates the topic (default 1). Replication likewise
	// (default 1; -1 = broker default).
	Partitions  int32
	Replication int16
	// Version defaults to 3.6.0.
	Version sarama.KafkaVersion
	Logger  *slog.Logger
}

// Kafka stores the offset in a compacted Kafka topic, as Kafka Connect's KafkaOffsetBackingStore
// does: key ["<name>",{"server":"<prefix>"}], value the offset JSON, partition chosen by murmur2
// of the key. Load reads the key's partition from the start to its end and keeps the last value;
// Save produces synchronously (idempotent, acks=all).
type Kafka struct {
	cfg      KafkaConfig
	key      []byte
	client   sarama.Client
	producer sarama.SyncProducer
}

// NewKafka connects and creates the topic (cleanup.policy=compact) if it does not exist.
func NewKafka(ctx context.Context, cfg KafkaConfig) (*Kafka, error) {
	if len(cfg.Brokers) == 0 || cfg.Topic == "" || cfg.Name == "" || cfg.TopicPrefix == "" {
		return nil, errors.New("kafka offsets store: brokers, topic, name and topic prefix are required")
	}
	if cfg.Partitions == 0 {
		cfg.Partitions = 1
	}
	if cfg.Replication == 0 {
		cfg.Replication = 1
	}
	if cfg.Version == (sarama.KafkaVersion{}) {
		cfg.Version = sarama.V3_6_0_0
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	sc := sarama.NewConfig()
	sc.ClientID = "sluice-offsets"
	sc.Version = cfg.Version
	sc.Net.MaxOpenRequests = 1
	sc.Producer.Idempotent = true
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Producer.Return.Successes = true
	sc.Producer.Retry.Max = 10
	sc.Producer.Retry.Backoff = 250 * time.Millisecond
	sc.Producer.Partitioner = sarama.NewMurmur2Partitioner
	sc.Metadata.AllowAutoTopicCreation = false
	sc.Consumer.Return.Errors = true
	client, err := sarama.NewClient(cfg.Brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("kafka offsets store: connect to %s: %w", strings.Join(cfg.Brokers, ","), err)
	}
	k := &Kafka{cfg: cfg, key: Key(cfg.Name, cfg.TopicPrefix), client: client}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("kafka offsets store: %w", err)
	}
	compact := "compact"
	err = admin.CreateTopic(cfg.Topic, &sarama.TopicDetail{NumPartitions: cfg.Partitions, ReplicationFactor: cfg.Replication,
		ConfigEntries: map[string]*string{"cleanup.policy": &compact}}, false)
	switch {
	case err == nil:
		cfg.Logger.Info("created offsets topic", "topic", cfg.Topic)
	case errors.Is(err, sarama.ErrTopicAlreadyExists):
	default:
		client.Close()
		return nil, fmt.Errorf("kafka offsets store: create topic %s: %w", cfg.Topic, err)
	}
	// admin shares client; closing admin would close it, so it is simply dropped.
	if err := client.RefreshMetadata(cfg.Topic); err != nil {
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
	parts, err := k.client.Partitions(k.cfg.Topic)
	if err != nil {
		return nil, fmt.Errorf("kafka offsets store: partitions of %s: %w", k.cfg.Topic, err)
	}
	p := kafka.Partition(k.key, int32(len(parts)))
	oldest, err := k.client.GetOffset(k.cfg.Topic, p, sarama.OffsetOldest)
	if err != nil {
		return nil, fmt.Errorf("kafka offsets store: oldest offset of %s/%d: %w", k.cfg.Topic, p, err)
	}
	newest, err := k.client.GetOffset(k.cfg.Topic, p, sarama.OffsetNewest)
	if err != nil {
		return nil, fmt.Errorf("kafka offsets store: newest offset of %s/%d: %w", k.cfg.Topic, p, err)
	}
	if newest <= oldest {
		return nil, nil
	}
	consumer, err := sarama.NewConsumerFromClient(k.client)
	if err != nil {
		return nil, fmt.Errorf("kafka offsets store: consumer: %w", err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(k.cfg.Topic, p, oldest)
	if err != nil {
		return nil, fmt.Errorf("kafka offsets store: read %s/%d: %w", k.cfg.Topic, p, err)
	}
	defer pc.Close()
	var value []byte
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case cerr := <-pc.Errors():
			return nil, fmt.Errorf("kafka offsets store: read %s/%d: %w", k.cfg.Topic, p, cerr)
		case m := <-pc.Messages():
			if jsonEqual(m.Key, k.key) {
				if m.Value == nil {
					value = nil
				} else {
					value = append([]byte(nil), m.Value...)
				}
			}
			if m.Offset >= newest-1 {
				if value != nil {
					if err := validValue(value); err != nil {
						return nil, fmt.Errorf("kafka offsets store: %s/%d: %w", k.cfg.Topic, p, err)
					}
				}
				return value, nil
			}
		}
	}
}

// Save produces value under the key and waits for acks=all.
func (k *Kafka) Save(_ context.Context, value []byte) error {
	if err := validValue(value); err != nil {
		return err
	}
	_, _, err := k.producer.SendMessage(&sarama.ProducerMessage{
		Topic: k.cfg.Topic,
		Key:   sarama.ByteEncoder(k.key),
		Value: sarama.ByteEncoder(append([]byte(nil), value...)),
	})
	if err != nil {
		return fmt.Errorf("kafka offsets store: write %s: %w", k.cfg.Topic, err)
	}
	return nil
}

// Close closes the producer and the connection.
func (k *Kafka) Close() error {
	err := k.producer.Close()
	return errors.Join(err, k.client.Close())
}
