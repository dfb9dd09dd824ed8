package kafka

import (
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/sluicecdc/sluice/internal/properties"
)

// RegisterFlags registers the producer settings an operator sets on fs, their defaults those
// of a zero Config, and returns their Debezium (Kafka producer) property names. A value out of
// range is kept as an error of its flag (properties.Func), so a command reports all at once.
func (c *Config) RegisterFlags(fs *flag.FlagSet) properties.Names {
	d := c.withDefaults()
	properties.ListVar(fs, &c.Client.Brokers, "kafka-brokers", "Kafka bootstrap brokers, host:port,… (with --sink kafka or --offsets-topic)")
	compression := d.Compression
	if compression == "" {
		compression = "none"
	}
	fs.Var(properties.Func(compression, func(s string) error {
		if _, err := ParseCompression(s); err != nil {
			return err
		}
		c.Compression = s
		return nil
	}), "kafka-compression", "Kafka compression: none|lz4|zstd|snappy|gzip")
	acks := d.Acks
	if acks == "" {
		acks = "all"
	}
	fs.Var(properties.Func(acks, func(s string) error {
		if _, err := ParseAcks(s); err != nil {
			return err
		}
		c.Acks = s
		return nil
	}), "kafka-acks", "Kafka acks: all (every in-sync replica, idempotent: the at-least-once guarantee), 1 (the leader only) or 0 (no answer); below all a broker failure can lose records (a warning says so)")
	fs.Var(properties.Func(strconv.Itoa(int(d.Partitions)), func(s string) error {
		n, err := strconv.ParseInt(s, 0, 32)
		if err != nil || n < 1 || n > 1<<20 {
			return fmt.Errorf("want ≥ 1")
		}
		c.Partitions = int32(n)
		return nil
	}), "topic-partitions", "partitions of topics sluice creates")
	fs.Var(properties.Func(strconv.Itoa(int(d.Replication)), func(s string) error {
		n, err := strconv.ParseInt(s, 0, 16)
		if err != nil || n < -1 || n == 0 {
			return fmt.Errorf("want ≥ 1 or -1")
		}
		c.Replication = int16(n)
		return nil
	}), "topic-replication", "replication factor of topics sluice creates (data, offsets, schema history); -1: the broker's default.replication.factor (1 on brokers before Kafka 2.4)")
	fs.Var(properties.Func(strconv.Itoa(d.MaxMessageBytes), func(s string) error {
		n, err := strconv.ParseInt(s, 0, 64)
		if err != nil || n < 1 || n >= maxRequestSize {
			return fmt.Errorf("want 1 to %d", maxRequestSize-1)
		}
		c.MaxMessageBytes = int(n)
		return nil
	}), "kafka-max-message-bytes", "largest record sent to Kafka (key, value, headers; max.request.size); a bigger one is refused before it is produced and handled by event.processing.failure.handling.mode")
	durationVar(fs, &c.Client.DeliveryTimeout, d.Client.DeliveryTimeout, "kafka-delivery-timeout",
		"how long a Kafka operation is retried while brokers are unreachable before it fails (delivery.timeout.ms): a record until acknowledged, connecting (at start too), offsets and schema history reads and writes; authentication and authorization errors fail at once")
	durationVar(fs, &c.Client.RequestTimeout, d.Client.RequestTimeout, "kafka-request-timeout",
		"how long one Kafka request may wait for its answer (request.timeout.ms): network reads and writes, metadata refreshes")
	durationVar(fs, &c.Client.RetryBackoff, d.Client.RetryBackoff, "kafka-retry-backoff",
		"first wait between two Kafka attempts (retry.backoff.ms); waits double up to ten times it")
	fs.Var(properties.Func(strconv.FormatInt(d.MaxBufferedBytes, 10), func(s string) error {
		n, err := strconv.ParseInt(s, 0, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("want ≥ 0 (0: the default)")
		}
		c.MaxBufferedBytes = n
		return nil
	}), "kafka-max-buffered-bytes", "bytes of records sent to Kafka but not yet acknowledged before sends block")
	fs.Var(properties.Func(d.Linger.String(), func(s string) error {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		if v < 0 {
			return fmt.Errorf("want ≥ 0")
		}
		c.Linger = v
		return nil
	}), "kafka-linger", "how long a Kafka batch may wait for more records (linger.ms); 0 sends as soon as the partition has no request outstanding, batching by itself under load")
	fs.Var(properties.Func(strconv.Itoa(d.BatchBytes), func(s string) error {
		n, err := strconv.ParseInt(s, 0, 64)
		if err != nil || n < 1 || n >= maxRequestSize {
			return fmt.Errorf("want 1 to %d", maxRequestSize-1)
		}
		c.BatchBytes = int(n)
		return nil
	}), "kafka-batch-bytes", "Kafka batch.size, accepted for configurations that set it: batches fill up to --kafka-max-message-bytes (with --kafka-linger, or by themselves while requests are in flight)")
	fs.StringVar(&c.Client.ClientID, "kafka-client-id", c.Client.ClientID, "Kafka client.id of the producer (default sluice)")
	names := c.Client.RegisterSecurityFlags(fs)
	names.Merge(properties.Names{
		"debezium.sink.kafka.producer.bootstrap.servers": "kafka-brokers",
		"bootstrap.servers":                                "kafka-brokers",
		"debezium.sink.kafka.producer.compression.type":    "kafka-compression",
		"compression.type":                                 "kafka-compression",
		"debezium.sink.kafka.producer.acks":                "kafka-acks",
		"acks":                                             "kafka-acks",
		"debezium.sink.kafka.producer.buffer.memory":       "kafka-max-buffered-bytes",
		"buffer.memory":                                    "kafka-max-buffered-bytes",
		"debezium.sink.kafka.producer.batch.size":          "kafka-batch-bytes",
		"batch.size":                                       "kafka-batch-bytes",
		"debezium.sink.kafka.producer.client.id":           "kafka-client-id",
		"topic.creation.default.partitions":                "topic-partitions",
		"topic.creation.default.replication.factor":        "topic-replication",
		"debezium.sink.kafka.producer.linger.ms":           "kafka-linger",
		"linger.ms":                                        "kafka-linger",
		"debezium.sink.kafka.producer.max.request.size":    "kafka-max-message-bytes",
		"max.request.size":                                 "kafka-max-message-bytes",
		"debezium.sink.kafka.producer.delivery.timeout.ms": "kafka-delivery-timeout",
		"delivery.timeout.ms":                              "kafka-delivery-timeout",
		"debezium.sink.kafka.producer.request.timeout.ms":  "kafka-request-timeout",
		"request.timeout.ms":                               "kafka-request-timeout",
		"debezium.sink.kafka.producer.retry.backoff.ms":    "kafka-retry-backoff",
		"retry.backoff.ms":                                 "kafka-retry-backoff",
	})
	return names
}

// durationVar registers a positive duration flag.
func durationVar(fs *flag.FlagSet, p *time.Duration, def time.Duration, name, usage string) {
	fs.Var(properties.Func(def.String(), func(s string) error {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		if v <= 0 {
			return fmt.Errorf("want > 0")
		}
		*p = v
		return nil
	}), name, usage)
}

// Buffered is the most the sink holds between acknowledgements (for a memory budget).
func (c *Config) Buffered() int64 { return c.withDefaults().MaxBufferedBytes }
