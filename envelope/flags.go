package envelope

import (
	"flag"
	"fmt"
	"strconv"

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
	fs.Var(properties.Func("numeric", func(s string) (err error) {
		c.Options.Interval, err = ParseIntervalMode(s)
		return err
	}), "interval-handling", "PostgreSQL interval.handling.mode: numeric (MicroDuration µs) | string (ISO 8601, P1Y2M3DT4H5M6.78S)")
	fs.Var(properties.Func("json", func(s string) (err error) {
		c.Options.HStore, err = ParseHStoreMode(s)
		return err
	}), "hstore-handling", "PostgreSQL hstore.handling.mode: json (a Json string) | map (a Connect map of strings)")
	fs.Var((*enabledFlag)(&c.Options.NoTimeAdjuster), "enable-time-adjuster",
		"MySQL/MariaDB: read the years 0-99 of DATE, DATETIME and TIMESTAMP values as two-digit years, 0-69 as 2000-2069 and 70-99 as 1970-1999 (enable.time.adjuster) (default true)")
	fs.BoolVar(&c.TombstonesOnDelete, "tombstones-on-delete", true, "emit a tombstone after each delete (tombstones.on.delete)")
	fs.Var((*enabledFlag)(&c.NoSchemaChanges), "include-schema-changes",
		"MySQL/MariaDB: publish each DDL of a captured table on the <topic-prefix> topic (include.schema.changes); false: the schema history only (default true)")
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
		"enable.time.adjuster":                 "enable-time-adjuster",
		"interval.handling.mode":               "interval-handling",
		"hstore.handling.mode":                 "hstore-handling",
		"tombstones.on.delete":                 "tombstones-on-delete",
		"provide.transaction.metadata":         "transaction-metadata",
		"include.schema.changes":               "include-schema-changes",
	}
}

// enabledFlag is a boolean flag that is on by default and stored inverted, so that the zero
// Options keep Debezium's default (a "No…" field false means the feature is on).
type enabledFlag bool

func (f *enabledFlag) String() string {
	if f == nil || !*f {
		return "true"
	}
	return "false"
}

func (f *enabledFlag) Set(s string) error {
	on, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("want true or false, not %q", s)
	}
	*f = enabledFlag(!on)
	return nil
}

func (f *enabledFlag) IsBoolFlag() bool { return true }
