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
	}), "topic-replication", "replication factor of topics sluice creates (-1: broker default)")
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
	return properties.Names{
		"debezium.sink.kafka.producer.bootstrap.servers": "kafka-brokers",
		"bootstrap.servers":                             "kafka-brokers",
		"debezium.sink.kafka.producer.compression.type": "kafka-compression",
		"compression.type":                              "kafka-compression",
		"topic.creation.default.partitions":             "topic-partitions",
		"topic.creation.default.replication.factor":     "topic-replication",
		"debezium.sink.kafka.producer.linger.ms":        "kafka-linger",
		"linger.ms":                                     "kafka-linger",
	}
}

// Buffered is the most the sink holds between acknowledgements (for a memory budget).
func (c *Config) Buffered() int64 { return c.withDefaults().MaxBufferedBytes }
