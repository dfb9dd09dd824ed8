package history

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/IBM/sarama"

	"github.com/sluicecdc/sluice/internal/kafka"
)

// KafkaConfig configures a Kafka history store.
type KafkaConfig struct {
	// Client holds the brokers (required), client id (default "sluice-schema-history"),
	// protocol version and the retry bound: connecting, creating the topic, Load and Append
	// are retried while the brokers are unreachable for up to Client.DeliveryTimeout.
	Client kafka.ClientConfig
	Topic  string // required; created with one partition and infinite retention if missing
	// Replication is used when creating the topic (default -1: the broker's default, or 1
	// before Kafka 2.4).
	Replication int16
	Logger      *slog.Logger // retry warnings; nil discards them
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
	if len(cfg.Client.Brokers) == 0 || cfg.Topic == "" {
		return nil, errors.New("kafka schema history: brokers and topic are required")
	}
	if cfg.Replication == 0 {
		cfg.Replication = -1
	}
	sc, err := cfg.Client.Sarama("sluice-schema-history")
	if err != nil {
		return nil, fmt.Errorf("kafka schema history: %w", err)
	}
	sc.Net.MaxOpenRequests = 1
	sc.Producer.Idempotent = true
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Producer.Return.Successes = true
	sc.Producer.Partitioner = sarama.NewManualPartitioner
	sc.Metadata.AllowAutoTopicCreation = false
	client, err := cfg.Client.Connect(ctx, cfg.Logger, sc)
	if err != nil {
		return nil, fmt.Errorf("kafka schema history: %w", err)
	}
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("kafka schema history: %w", err)
	}
	retention, cleanup := "-1", "delete"
	if _, err := cfg.Client.EnsureTopic(ctx, cfg.Logger, admin, cfg.Topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: cfg.Replication,
		ConfigEntries: map[string]*string{"retention.ms": &retention, "retention.bytes": &retention, "cleanup.policy": &cleanup}}); err != nil {
		client.Close()
		return nil, fmt.Errorf("kafka schema history: %w", err)
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
	// A history that lost its first records (retention on a topic created by hand, or
	// kafka-delete-records) would replay without the CREATE TABLEs: refuse it.
	if oldest, err := k.client.GetOffset(k.cfg.Topic, 0, sarama.OffsetOldest); err != nil {
		return nil, fmt.Errorf("kafka schema history: topic %s partition 0: oldest offset: %w", k.cfg.Topic, err)
	} else if oldest > 0 {
		return nil, fmt.Errorf("kafka schema history: topic %s partition 0 starts at offset %d: its first %d records were deleted "+
			"(retention.ms/retention.bytes, or deleted records), so the history is incomplete; rebuild it into a new topic "+
			"(--schema-history kafka:NEW_TOPIC --snapshot-mode recovery) and keep the history topic with retention.ms=-1 and "+
			"retention.bytes=-1", k.cfg.Topic, oldest, oldest)
	}
	var out []Record
	err := k.cfg.Client.ReadToEnd(ctx, k.cfg.Logger, k.client, k.cfg.Topic, 0, func(m *sarama.ConsumerMessage) error {
		if m.Value == nil {
			return nil
		}
		r, err := Parse(m.Value)
		if err != nil {
			// Not skipped (Debezium's KafkaSchemaHistory logs such a record and goes on): a
			// lost DDL would decode every later row of its table with the wrong columns. A
			// broker never hands out half a record, so this is a foreign or damaged one.
			return fmt.Errorf("topic %s partition %d offset %d does not hold a schema history record (%w); "+
				"the topic must be written by this connector only: restore it, or rebuild the history into a new "+
				"topic with --schema-history kafka:NEW_TOPIC --snapshot-mode recovery", m.Topic, m.Partition, m.Offset, err)
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return nil, err
		}
		return nil, fmt.Errorf("kafka schema history: %w", err)
	}
	return out, nil
}

// Append produces one record synchronously (acks=all), sending it again while the brokers are
// unreachable (a record stored twice replays the same table definitions).
func (k *Kafka) Append(ctx context.Context, r *Record) error {
	v := r.AppendJSON(nil)
	err := k.cfg.Client.Retry(ctx, k.cfg.Logger, "append to "+k.cfg.Topic, func() error {
		_, _, err := k.producer.SendMessage(&sarama.ProducerMessage{Topic: k.cfg.Topic, Partition: 0, Value: sarama.ByteEncoder(v)})
		return err
	})
	if err != nil {
		return fmt.Errorf("kafka schema history: %w", err)
	}
	return nil
}

// AppendBatch produces rs synchronously in one go (acks=all), sending them again while the
// brokers are unreachable. A retry after a partial failure sends the whole batch again: the
// source batches only a snapshot's records, all at one position, which replay to the same
// definitions when stored twice.
func (k *Kafka) AppendBatch(ctx context.Context, rs []*Record) error {
	msgs := make([]*sarama.ProducerMessage, len(rs))
	for i, r := range rs {
		msgs[i] = &sarama.ProducerMessage{Topic: k.cfg.Topic, Partition: 0, Value: sarama.ByteEncoder(r.AppendJSON(nil))}
	}
	err := k.cfg.Client.Retry(ctx, k.cfg.Logger, "append to "+k.cfg.Topic, func() error {
		return k.producer.SendMessages(msgs)
	})
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
