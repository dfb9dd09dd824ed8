package postgres

import (
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/sluicecdc/sluice/internal/properties"
)

// RegisterFlags registers the source's settings on fs, their defaults those of a zero Config
// (setDefaults), and returns their Debezium property names. The connection (DSN) is the
// command's: it is assembled from several flags and a password source.
func (c *Config) RegisterFlags(fs *flag.FlagSet) properties.Names {
	c.setDefaults()
	fs.StringVar(&c.Slot, "slot", c.Slot, "replication slot (created with pgoutput if missing; slot.name)")
	fs.StringVar(&c.Publication, "publication", c.Publication, "publication (publication.name)")
	fs.StringVar((*string)(&c.PublicationMode), "publication-mode", string(c.PublicationMode), "how a missing publication is created: all_tables|filtered|disabled (publication.autocreate.mode)")
	fs.StringVar((*string)(&c.SnapshotMode), "snapshot-mode", string(c.SnapshotMode), "initial|initial_only|no_data|when_needed|always (snapshot.mode)")
	fs.BoolVar(&c.DropExistingSlot, "drop-existing-slot", c.DropExistingSlot, "drop a slot the stored offset cannot resume from (none stored, or the slot is past it) and start over as on a first run; without it such a slot is an error")
	fs.DurationVar(&c.ReadTimeout, "read-timeout", c.ReadTimeout, "the replication stream may stay silent (not even a keepalive) this long before the connection is presumed dead and reopened; also the connect timeout unless the DSN sets connect_timeout")
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
	}), "query-timeout", "how long a catalog, heartbeat-action or snapshot-setup query may wait for the server, and a snapshot read for a byte, before the source reopens (database.query.timeout.ms; 0: no limit)")
	fs.DurationVar(&c.SnapshotLockTimeout, "snapshot-lock-timeout", c.SnapshotLockTimeout, "how long a snapshot read waits for its table's ACCESS SHARE lock (an ALTER TABLE queued behind a long transaction holds every later lock of the table) "+
		"before the source reopens and resumes the snapshot (lock_timeout; snapshot.lock.timeout.ms)")
	fs.IntVar(&c.SnapshotWorkers, "snapshot-max-threads", c.SnapshotWorkers, "connections reading the snapshot in parallel, each importing the same snapshot; a big table with one integer key is split among them (snapshot.max.threads)")
	// The earlier name sets the flag itself, so that the command's precedence (flag > env >
	// file) sees snapshot-max-threads as given on the command line.
	fs.Func("snapshot-workers", "the same as --snapshot-max-threads (its earlier name)", func(v string) error { return fs.Set("snapshot-max-threads", v) })
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
	fs.IntVar(&c.SnapshotChunkRows, "snapshot-chunk-rows", c.SnapshotChunkRows, "rows per primary-key chunk of the snapshot (snapshot.fetch.size)")
	fs.BoolVar(&c.ReadOnly, "read-only", c.ReadOnly, "read incremental snapshots without writing to the database: windows from each chunk read's own snapshot (pg_current_snapshot()) instead of watermark messages, no slot heartbeat messages; for replicas and users without write rights (read.only)")
	fs.StringVar(&c.SignalDataCollection, "signal-data-collection", c.SignalDataCollection, "the signal table, schema.table (columns id, type, data): rows inserted into it start, pause, resume or stop incremental snapshots (signal.data.collection)")
	properties.ListVar(fs, &c.SchemaInclude, "schema-include", "comma-separated regexes of schemas to capture (schema.include.list)")
	properties.ListVar(fs, &c.TableInclude, "table-include", "comma-separated regexes of schema.table to capture (table.include.list)")
	properties.ListVar(fs, &c.TableExclude, "table-exclude", "comma-separated regexes of schema.table not to capture (table.exclude.list)")
	properties.ListVar(fs, &c.ColumnExclude, "column-exclude", "comma-separated regexes of schema.table.column to leave out (column.exclude.list)")
	fs.StringVar(&c.HeartbeatActionQuery, "heartbeat-action-query", c.HeartbeatActionQuery, "SQL run on every heartbeat, e.g. an upsert into a heartbeat table (heartbeat.action.query)")
	fs.DurationVar(&c.StatusInterval, "status-interval", c.StatusInterval, "how often the slot is confirmed up to acknowledged data (status.update.interval.ms)")
	fs.StringVar((*string)(&c.LSNFlushMode), "lsn-flush-mode", string(c.LSNFlushMode), "which positions confirm the slot: connector_and_driver (also the server's WAL end while idle, so WAL written for other tables is freed) or connector (only transactions of captured tables) (lsn.flush.mode)")
	fs.DurationVar(&c.SlotHeartbeatInterval, "slot-heartbeat-interval", c.SlotHeartbeatInterval, "write a logical decoding message (prefix "+HeartbeatPrefix+", never published) this often, so an idle source's slot moves; negative: never")
	fs.DurationVar(&c.SlotCheckInterval, "slot-check-interval", c.SlotCheckInterval, "how often the slot's retained WAL and wal_status are read (metrics, the warning below, a lost slot stops the source)")
	fs.Int64Var(&c.RetainedWALWarn, "retained-wal-warn", c.RetainedWALWarn, "warn while the slot retains more WAL than this many bytes; negative: never")
	fs.StringVar(&c.SpoolDir, "spool-dir", c.SpoolDir, "directory for large in-progress transactions streamed by the server (default: the system temp dir)")
	c.TLS.RegisterFlags(fs, "tls", "PostgreSQL", "the sslmode of --dsn if it has one; else verify-full when the server offers TLS, plain text with a warning when it refuses")
	fs.IntVar(&c.ProtoVersion, "proto-version", c.ProtoVersion, "pgoutput protocol version: 1, or 2 with streaming (default: 2 on PostgreSQL ≥ 14)")
	return properties.Names{
		"slot.name":                   "slot",
		"publication.name":            "publication",
		"publication.autocreate.mode": "publication-mode",
		"snapshot.mode":               "snapshot-mode",
		"snapshot.max.threads":        "snapshot-max-threads",
		"max.queue.size.in.bytes":     "snapshot-max-buffered-bytes",
		"snapshot.fetch.size":         "snapshot-chunk-rows",
		"signal.data.collection":      "signal-data-collection",
		"read.only":                   "read-only",
		"schema.include.list":         "schema-include",
		"table.include.list":          "table-include",
		"table.exclude.list":          "table-exclude",
		"column.exclude.list":         "column-exclude",
		"heartbeat.action.query":      "heartbeat-action-query",
		"status.update.interval.ms":   "status-interval",
		"database.query.timeout.ms":   "query-timeout",
		"snapshot.lock.timeout.ms":    "snapshot-lock-timeout",
		"database.sslmode":            "tls-mode",
		"database.sslrootcert":        "tls-ca-file",
		"database.sslcert":            "tls-cert-file",
		"database.sslkey":             "tls-key-file",
		"lsn.flush.mode":              "lsn-flush-mode",
	}
}
