package history

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/IBM/sarama"
)

// KafkaConfig configures a Kafka history store.
type KafkaConfig struct {
	Brokers []string
	Topic   string // required; created with one partition and infinite retention if missing
	// Replication is used when creating the topic (default 1).
	Replication int16
	Version     sarama.KafkaVersion // defaults to 3.6.0
}

// Kafka stores records in partition 0 of a single-partition topic, key null, value the record
// JSON, as Debezium's KafkaSchemaHistory does.
type Kafka struct {
	cfg      KafkaConfig
	client   sarama.Client
	producer sarama.SyncProducer
}

// NewKafka connects and creates the topic if it does not exist.
func NewKafka(ctx context.Context, cfg KafkaConfig) (*Kafka, error) {
	if len(cfg.Brokers) == 0 || cfg.Topic == "" {
		return nil, errors.New("kafka schema history: brokers and topic are required")
	}
	if cfg.Replication == 0 {
		cfg.Replication = 1
	}
	if cfg.Version == (sarama.KafkaVersion{}) {
		cfg.Version = sarama.V3_6_0_0
	}
	sc := sarama.NewConfig()
	sc.ClientID = "sluice-schema-history"
	sc.Version = cfg.Version
	sc.Net.MaxOpenRequests = 1
	sc.Producer.Idempotent = true
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Producer.Return.Successes = true
	sc.Producer.Partitioner = sarama.NewManualPartitioner
	sc.Metadata.AllowAutoTopicCreation = false
	client, err := sarama.NewClient(cfg.Brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("kafka schema history: connect to %s: %w", strings.Join(cfg.Brokers, ","), err)
	}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("kafka schema history: %w", err)
	}
	retention, cleanup := "-1", "delete"
	err = admin.CreateTopic(cfg.Topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: cfg.Replication,
		ConfigEntries: map[string]*string{"retention.ms": &retention, "retention.bytes": &retention, "cleanup.policy": &cleanup}}, false)
	if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		var te *sarama.TopicError
		if !errors.As(err, &te) || te.Err != sarama.ErrTopicAlreadyExists {
			client.Close()
			return nil, fmt.Errorf("kafka schema history: create topic %s: %w", cfg.Topic, err)
		}
	}
	if err := client.RefreshMetadata(cfg.Topic); err != nil {
		client.Close()
		return nil, fmt.Errorf("kafka schema history: topic %s: %w", cfg.Topic, err)
	}
	parts, err := client.Partitions(cfg.Topic)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("kafka schema history: topic %s: %w", cfg.Topic, err)
	}
	if len(parts) != 1 {
		client.Close()
		return nil, fmt.Errorf("kafka schema history: topic %s has %d partitions; it must have exactly one so records keep their order", cfg.Topic, len(parts))
	}
	p, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("kafka schema history: %w", err)
	}
	return &Kafka{cfg: cfg, client: client, producer: p}, nil
}

// Load consumes partition 0 from the oldest offset to the high-water mark.
func (k *Kafka) Load(ctx context.Context) ([]Record, error) {
	end, err := k.client.GetOffset(k.cfg.Topic, 0, sarama.OffsetNewest)
	if err != nil {
		return nil, fmt.Errorf("kafka schema history: %w", err)
	}
	start, err := k.client.GetOffset(k.cfg.Topic, 0, sarama.OffsetOldest)
	if err != nil {
		return nil, fmt.Errorf("kafka schema history: %w", err)
	}
	if end <= start {
		return nil, nil
	}
	c, err := sarama.NewConsumerFromClient(k.client)
	if err != nil {
		return nil, fmt.Errorf("kafka schema history: %w", err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition(k.cfg.Topic, 0, start)
	if err != nil {
		return nil, fmt.Errorf("kafka schema history: %w", err)
	}
	defer pc.Close()
	var out []Record
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case m := <-pc.Messages():
			if m.Value != nil {
				r, err := Parse(m.Value)
				if err != nil {
					return nil, fmt.Errorf("kafka schema history offset %d: %w", m.Offset, err)
				}
				out = append(out, r)
			}
			if m.Offset >= end-1 {
				return out, nil
			}
		case err := <-pc.Errors():
			return nil, fmt.Errorf("kafka schema history: %w", err)
		}
	}
}

// Append produces one record synchronously (acks=all).
func (k *Kafka) Append(_ context.Context, r *Record) error {
	_, _, err := k.producer.SendMessage(&sarama.ProducerMessage{Topic: k.cfg.Topic, Partition: 0, Value: sarama.ByteEncoder(r.AppendJSON(nil))})
	if err != nil {
		return fmt.Errorf("kafka schema history: %w", err)
	}
	return nil
}

// Close closes the producer and client.
func (k *Kafka) Close() error {
	err := k.producer.Close()
	if e := k.client.Close(); err == nil && !errors.Is(e, sarama.ErrClosedClient) {
		err = e
	}
	return err
}
