package envelope

import (
	"flag"

	"github.com/sluicecdc/sluice/internal/properties"
)

// RegisterFlags registers the encoder's settings on fs with Debezium's defaults (schemas and
// tombstones on, precise decimals, bytes as bytes) and returns their Debezium property names.
func (c *Config) RegisterFlags(fs *flag.FlagSet) properties.Names {
	fs.StringVar(&c.TopicPrefix, "topic-prefix", "", "topic prefix (Debezium topic.prefix); required")
	fs.BoolVar(&c.SchemasEnable, "schemas-enable", true, "write the Connect schema beside each key and value (JsonConverter schemas.enable)")
	fs.Var(properties.Func("precise", func(s string) (err error) {
		c.Options.Decimal, err = ParseDecimalMode(s)
		return err
	}), "decimal-handling", "decimal.handling.mode: precise|double|string")
	fs.Var(properties.Func("", func(s string) (err error) {
		c.Options.Time, err = ParseTimeMode(s)
		return err
	}), "time-precision", "time.precision.mode: adaptive|adaptive_time_microseconds|connect|microseconds|isostring (default: the connector's)")
	fs.Var(properties.Func("bytes", func(s string) (err error) {
		c.Options.Binary, err = ParseBinaryMode(s)
		return err
	}), "binary-handling", "binary.handling.mode: bytes|base64|base64-url-safe|hex")
	fs.Var(properties.Func("long", func(s string) (err error) {
		c.Options.BigintUnsigned, err = ParseBigintUnsignedMode(s)
		return err
	}), "bigint-unsigned-handling", "bigint.unsigned.handling.mode: long|precise")
	fs.BoolVar(&c.TombstonesOnDelete, "tombstones-on-delete", true, "emit a tombstone after each delete (tombstones.on.delete)")
	fs.BoolVar(&c.TransactionMetadata, "transaction-metadata", false, "emit transaction BEGIN/END records and the transaction block (provide.transaction.metadata)")
	fs.StringVar(&c.ConnectorVersion, "debezium-version", "", "Debezium release whose record format to reproduce, written as source.version (default "+DefaultConnectorVersion+")")
	return properties.Names{
		"topic.prefix":                         "topic-prefix",
		"debezium.format.value.schemas.enable": "schemas-enable",
		"debezium.format.schemas.enable":       "schemas-enable",
		"value.converter.schemas.enable":       "schemas-enable",
		"decimal.handling.mode":                "decimal-handling",
		"time.precision.mode":                  "time-precision",
		"binary.handling.mode":                 "binary-handling",
		"bigint.unsigned.handling.mode":        "bigint-unsigned-handling",
		"tombstones.on.delete":                 "tombstones-on-delete",
		"provide.transaction.metadata":         "transaction-metadata",
	}
}
