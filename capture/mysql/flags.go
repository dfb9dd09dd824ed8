package mysql

import (
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/sluicecdc/sluice/internal/properties"
	"github.com/sluicecdc/sluice/internal/tlsconf"
)

// RegisterFlags registers the source's settings on fs, their defaults those of a zero Config
// (setDefaults), and returns their Debezium property names. The connection (DSN, password) and
// the schema history store are the command's: they come from several flags or open a store.
func (c *Config) RegisterFlags(fs *flag.FlagSet) properties.Names {
	c.setDefaults()
	fs.Var(properties.Func("0", func(s string) error {
		n, err := strconv.ParseUint(s, 0, 32)
		if err != nil {
			return fmt.Errorf("want a number 1–%d unique among the server's replicas", uint32(1<<32-1))
		}
		c.ServerID = uint32(n)
		return nil
	}), "server-id", "this replica's server id: required, unique among the server's replicas (database.server.id)")
	properties.ListVar(fs, &c.DatabaseInclude, "database-include", "comma-separated regexes of databases to capture (database.include.list)")
	properties.ListVar(fs, &c.DatabaseExclude, "database-exclude", "comma-separated regexes of databases not to capture (database.exclude.list)")
	properties.ListVar(fs, &c.TableInclude, "table-include", "comma-separated regexes of db.table to capture (table.include.list)")
	properties.ListVar(fs, &c.TableExclude, "table-exclude", "comma-separated regexes of db.table not to capture (table.exclude.list)")
	properties.ListVar(fs, &c.ColumnExclude, "column-exclude", "comma-separated regexes of db.table.column to leave out (column.exclude.list)")
	fs.Var(properties.Func(string(c.SnapshotMode), func(s string) (err error) {
		c.SnapshotMode, err = ParseSnapshotMode(s)
		return err
	}), "snapshot-mode", "initial|initial_only|no_data|when_needed|always|recovery (snapshot.mode)")
	fs.Var(properties.Func(string(c.SnapshotLocking), func(s string) (err error) {
		c.SnapshotLocking, err = ParseSnapshotLocking(s)
		return err
	}), "snapshot-locking", "minimal|extended|minimal_percona|none: how long the snapshot blocks writes and DDL (snapshot.locking.mode; see docs/mysql.md)")
	fs.IntVar(&c.SnapshotChunkRows, "snapshot-chunk-rows", c.SnapshotChunkRows, "rows per primary-key chunk of a resumed, incremental or blocking snapshot and per watermark window; the initial snapshot streams each key range in one query and splits tables of at least twice this many rows (incremental.snapshot.chunk.size, snapshot.fetch.size)")
	fs.IntVar(&c.SnapshotWorkers, "snapshot-max-threads", c.SnapshotWorkers, "connections reading the snapshot in parallel (tables, and key ranges of a big table), all in one consistent snapshot (snapshot.max.threads; 1 with --snapshot-locking none)")
	fs.IntVar(&c.SnapshotWorkers, "snapshot-workers", c.SnapshotWorkers, "the former name of --snapshot-max-threads")
	fs.Var(properties.Func(strconv.FormatInt(c.SnapshotMaxBufferedBytes, 10), func(s string) error {
		n, err := strconv.ParseInt(s, 0, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("want a byte count ≥ 0 (0: the default, %d)", DefaultSnapshotMaxBufferedBytes)
		}
		c.SnapshotMaxBufferedBytes = n
		if n == 0 {
			c.SnapshotMaxBufferedBytes = DefaultSnapshotMaxBufferedBytes // Debezium's 0 (no bound) is not kept: memory stays bounded
		}
		return nil
	}), "snapshot-max-buffered-bytes", "bytes of snapshot rows the readers may hold ahead of the sink, over all readers; a row larger than it is read alone (max.queue.size.in.bytes; 0: the default)")
	fs.StringVar(&c.SignalDataCollection, "signal-data-collection", c.SignalDataCollection, "the signal table, db.table (columns id, type, data; in the table include list): rows inserted into it start, pause, resume or stop "+
		"incremental snapshots; incremental snapshots and a snapshot resumed after a crash write their watermarks into it (signal.data.collection); "+
		"without it (or --read-only) a start after an unfinished snapshot fails rather than take it again")
	fs.BoolVar(&c.ReadOnly, "read-only", c.ReadOnly, "resumed and incremental snapshots write nothing to the source: their chunk windows come from the server's GTID set "+
		"read before and after each chunk instead of watermark rows in the signal table (read.only; needs GTIDs)")
	fs.BoolVar(&c.IncludeQuery, "include-query", c.IncludeQuery, "fill source.query (needs binlog_rows_query_log_events=ON, MariaDB binlog_annotate_row_events=ON; include.query)")
	fs.BoolVar(&c.LogStatements, "log-statements", c.LogStatements, "log the text of binlog statements the connector skips (up to 200 characters at warn, 100 at debug); "+
		"they may carry row values or passwords; off: their kind and table only")
	fs.BoolVar(&c.SkipPurgedBinlog, "skip-purged-binlog", c.SkipPurgedBinlog, "when the stored binlog position was purged from the server, "+
		"stream from the server's current position and lose the changes in between (a warning names them); without it that is an error, "+
		"unless --snapshot-mode when_needed takes a new snapshot")
	fs.BoolVar(&c.SchemaRepair, "schema-repair", c.SchemaRepair, "when a binlog table map does not match the schema history, rebuild that table from the server if the server's definition matches")
	c.TLS.RegisterFlags(fs, "tls", "MySQL", tlsconf.DefaultHelp)
	fs.StringVar(&c.ServerPublicKeyFile, "server-public-key-file", c.ServerPublicKeyFile, "the server's RSA public key (PEM) for caching_sha2_password/sha256_password full authentication without TLS")
	fs.BoolVar(&c.AllowPublicKeyRetrieval, "allow-public-key-retrieval", c.AllowPublicKeyRetrieval, "let full authentication (caching_sha2_password after a server restart, sha256_password) "+
		"send the password over an unverified channel: in clear inside TLS whose certificate is not checked, or encrypted with a key the server sends; "+
		"a man in the middle can learn it. Without it that needs --tls-mode verify-ca/verify-full or --server-public-key-file (allowPublicKeyRetrieval)")
	fs.Var(properties.Func(c.QueryTimeout.String(), func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		if d == 0 {
			d = -1 // 0 means no limit, as in Debezium's database.query.timeout.ms
		}
		c.QueryTimeout = d
		return nil
	}), "query-timeout", "how long a query on a side connection (schema reads while streaming, preflight, snapshot setup) may wait for the server, and any read of the query connections for a byte, before the source reopens (database.query.timeout.ms; 0: no limit)")
	fs.DurationVar(&c.SnapshotLockTimeout, "snapshot-lock-timeout", c.SnapshotLockTimeout, "how long the snapshot waits for its global read lock (or table locks) or backup lock before it releases both "+
		"(so a DDL or long query it waits for, and the writers queued behind the lock, can go on) and begins again (snapshot.lock.timeout.ms; at least 1s)")
	fs.DurationVar(&c.HeartbeatPeriod, "binlog-heartbeat", c.HeartbeatPeriod, "ask the server for a heartbeat after this much binlog idle time")
	return properties.Names{
		"database.server.id":               "server-id",
		"database.include.list":            "database-include",
		"database.exclude.list":            "database-exclude",
		"table.include.list":               "table-include",
		"table.exclude.list":               "table-exclude",
		"column.exclude.list":              "column-exclude",
		"snapshot.mode":                    "snapshot-mode",
		"snapshot.locking.mode":            "snapshot-locking",
		"snapshot.lock.timeout.ms":         "snapshot-lock-timeout",
		"snapshot.fetch.size":              "snapshot-chunk-rows",
		"snapshot.max.threads":             "snapshot-max-threads",
		"max.queue.size.in.bytes":          "snapshot-max-buffered-bytes",
		"include.query":                    "include-query",
		"signal.data.collection":           "signal-data-collection",
		"read.only":                        "read-only",
		"database.query.timeout.ms":        "query-timeout",
		"database.ssl.mode":                "tls-mode",
		"database.ssl.truststore":          "tls-ca-file",
		"database.ssl.keystore":            "tls-cert-file",
		"database.allowPublicKeyRetrieval": "allow-public-key-retrieval",
	}
}
