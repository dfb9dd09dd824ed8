package offsets

import (
	"errors"
	"flag"
	"fmt"
	"strconv"

	"github.com/sluicecdc/sluice/internal/properties"
)

// Config chooses a connector's store: File, Topic (a compacted Kafka topic) or, with
// neither, Memory.
type Config struct {
	// Name is the connector name, the namespace of its key (Debezium name; default "sluice").
	Name  string
	File  string // path of a File store
	Topic string // topic of a Kafka store
	// Replication is the replication factor the Kafka store creates its topic with (Connect's
	// offset.storage.replication.factor); 0: unset, see KafkaConfig.ConnectReplication.
	Replication int16
}

// DefaultName is Name's default.
const DefaultName = "sluice"

// RegisterFlags registers the store settings on fs and returns their Debezium property names.
func (c *Config) RegisterFlags(fs *flag.FlagSet) properties.Names {
	fs.StringVar(&c.Name, "name", DefaultName, "connector name: the namespace of the stored offsets (Debezium name)")
	fs.StringVar(&c.File, "offsets-file", "", "store offsets in this file (atomic replace)")
	fs.StringVar(&c.Topic, "offsets-topic", "", "store offsets in this compacted Kafka topic (Kafka Connect layout)")
	fs.Var(properties.Func("", func(v string) error {
		if v == "" { // unset: see Replication
			c.Replication = 0
			return nil
		}
		n, err := strconv.ParseInt(v, 0, 16)
		if err != nil || n < -1 || n == 0 {
			return fmt.Errorf("want ≥ 1 or -1")
		}
		c.Replication = int16(n)
		return nil
	}), "offsets-topic-replication", "replication factor of the --offsets-topic when sluice creates it; default: --topic-replication if given, else Kafka Connect's 3, refused on a cluster of fewer brokers; -1: the broker's default.replication.factor")
	return properties.Names{
		"offset.storage.replication.factor": "offsets-topic-replication",
		"name":                              "name",
		"offset.storage.file.filename":      "offsets-file",
		"offset.storage.topic":              "offsets-topic",
	}
}

// Validate reports a store chosen twice.
func (c *Config) Validate() error {
	if c.File != "" && c.Topic != "" {
		return errors.New("give --offsets-file or --offsets-topic, not both")
	}
	return nil
}
