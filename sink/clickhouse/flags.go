package clickhouse

import (
	"flag"

	"github.com/sluicecdc/sluice/internal/properties"
)

// RegisterFlags registers the sink's settings on fs, their defaults those of a zero Config.
// The batching flags get batchPrefix: "clickhouse-" where they sit beside a capture command's
// own flags, "" in `sluice clickhouse`. ClickHouse has no Debezium property names, so the
// result is empty; it is returned for the same shape as every other component.
func (c *Config) RegisterFlags(fs *flag.FlagSet, batchPrefix string) properties.Names {
	c.RegisterConnFlags(fs)
	fs.IntVar(&c.BatchRows, batchPrefix+"batch-rows", c.BatchRows, "insert when this many rows are pending")
	fs.IntVar(&c.BatchBytes, batchPrefix+"batch-bytes", c.BatchBytes, "insert when the pending rows' JSON (row images and keys, without schemas) reaches this many bytes")
	fs.DurationVar(&c.FlushInterval, batchPrefix+"flush-interval", c.FlushInterval, "insert pending rows at least this often")
	fs.BoolVar(&c.KeepDroppedColumns, "clickhouse-keep-dropped-columns", c.KeepDroppedColumns, "keep columns dropped in the source instead of ALTER TABLE … DROP COLUMN")
	fs.BoolVar(&c.LogValues, "clickhouse-log-values", c.LogValues, "at --log-level debug, also log each record's row values (may be personal data; off: topic, op and version only)")
	fs.BoolVar(&c.Legacy, "clickhouse-legacy", c.Legacy, "use the pre-23.2 table layout even on a newer server")
	fs.StringVar(&c.Compression, "clickhouse-compression", c.Compression, "native block compression: auto|lz4|none (auto: none on loopback addresses, lz4 otherwise)")
	fs.DurationVar(&c.ConnectTimeout, "clickhouse-connect-timeout", c.ConnectTimeout, "retry an unreachable ClickHouse at the start for this long, then fail naming --clickhouse-addr (sluice clickhouse exits 1; a capture command reopens within --errors-retry-timeout); negative: for ever")
	return nil
}

// RegisterConnFlags registers where the tables are (address, database, credentials, the
// table-name template), without the batching flags: for tools that only
// read the tables (sluice verify).
func (c *Config) RegisterConnFlags(fs *flag.FlagSet) {
	c.setDefaults()
	properties.ListVar(fs, &c.Addr, "clickhouse-addr", "ClickHouse native-protocol address(es), host:port,…")
	fs.StringVar(&c.Database, "clickhouse-database", c.Database, "ClickHouse database of the tables (the sink creates it if missing)")
	fs.StringVar(&c.Username, "clickhouse-user", c.Username, "ClickHouse user")
	fs.Var(properties.Secret(func(s string) error { c.Password = s; return nil }), "clickhouse-password",
		"ClickHouse password; prefer --clickhouse-password-file or SLUICE_CLICKHOUSE_PASSWORD: on the command line others may read it (a warning says so)")
	fs.StringVar(&c.PasswordFile, "clickhouse-password-file", c.PasswordFile, "read the ClickHouse password from this file (first line)")
	c.TLS.RegisterFlags(fs, "clickhouse-tls", "ClickHouse", "disable; verify-full when any --clickhouse-tls-* is given. Point --clickhouse-addr at the TLS port, 9440; prefer is refused: that port speaks only TLS")
	fs.StringVar(&c.TableName, "clickhouse-table-name", c.TableName, "table name template: {db}, {schema}, {table}, {topic} are replaced")
}
