package offsets

import (
	"errors"
	"flag"

	"github.com/sluicecdc/sluice/internal/properties"
)

// Config chooses a connector's store: File, Topic (a compacted Kafka topic) or, with
// neither, Memory.
type Config struct {
	// Name is the connector name, the namespace of its key (Debezium name; default "sluice").
	Name  string
	File  string // path of a File store
	Topic string // topic of a Kafka store
}

// DefaultName is Name's default.
const DefaultName = "sluice"

// RegisterFlags registers the store settings on fs and returns their Debezium property names.
func (c *Config) RegisterFlags(fs *flag.FlagSet) properties.Names {
	fs.StringVar(&c.Name, "name", DefaultName, "connector name: the namespace of the stored offsets (Debezium name)")
	fs.StringVar(&c.File, "offsets-file", "", "store offsets in this file (atomic replace)")
	fs.StringVar(&c.Topic, "offsets-topic", "", "store offsets in this compacted Kafka topic (Kafka Connect layout)")
	return properties.Names{
		"name":                         "name",
		"offset.storage.file.filename": "offsets-file",
		"offset.storage.topic":         "offsets-topic",
	}
}

// Validate reports a store chosen twice.
func (c *Config) Validate() error {
	if c.File != "" && c.Topic != "" {
		return errors.New("give --offsets-file or --offsets-topic, not both")
	}
	return nil
}
