package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/tlsconf"
)

// SnapshotMode is Debezium's snapshot.mode for PostgreSQL.
type SnapshotMode string

const (
	// SnapshotInitial snapshots when there is no stored offset, then streams (default).
	SnapshotInitial SnapshotMode = "initial"
	// SnapshotInitialOnly snapshots when there is no stored offset and stops.
	SnapshotInitialOnly SnapshotMode = "initial_only"
	// SnapshotNoData never snapshots; streams from the slot.
	SnapshotNoData SnapshotMode = "no_data"
	// SnapshotWhenNeeded snapshots when there is no offset or the offset's LSN is no longer
	// available in the slot.
	SnapshotWhenNeeded SnapshotMode = "when_needed"
	// SnapshotAlways snapshots at every start, then streams.
	SnapshotAlways SnapshotMode = "always"
)

// PublicationMode is Debezium's publication.autocreate.mode.
type PublicationMode string

const (
	PublicationAllTables PublicationMode = "all_tables" // default
	PublicationFiltered  PublicationMode = "filtered"
	PublicationDisabled  PublicationMode = "disabled"
)

// Config configures a Source. Zero values mean the defaults written beside each field.
type Config struct {
	// DSN is a libpq URL or key=value string; the user needs REPLICATION and SELECT on the
	// captured tables. Required.
	DSN string
	// TLS, when set, is the TLS of every connection (replication, metadata, snapshot readers),
	// replacing the DSN's sslmode, sslrootcert, sslcert and sslkey (giving both is an error).
	// Unset, a DSN with sslmode keeps libpq's rules; with neither (nor PGSSLMODE), the server's
	// certificate is verified (verify-full, the system's CAs) when it offers TLS, and plain
	// text is used, with a warning once, only when it refuses TLS. An unverified or plain-text
	// channel under prefer logs a warning once.
	TLS tlsconf.Config
	// Slot is the replication slot name (default "sluice").
	Slot string
	// Publication is the publication name (default "sluice").
	Publication string
	// PublicationMode decides how a missing publication is created (default all_tables).
	PublicationMode PublicationMode
	// SnapshotMode (default initial).
	SnapshotMode SnapshotMode
	// DropExistingSlot allows dropping a slot the stored offset cannot resume from (there is
	// no stored offset, or the slot is confirmed past it): the connector then starts over as
	// on its first run, without the stored offset, and the snapshot mode decides whether a
	// snapshot runs. Off (the default), such a slot is an error (ErrSlotExists, ErrSlotAhead)
	// unless the snapshot mode re-snapshots (always, when_needed).
	DropExistingSlot bool
	// TakeOverSlot ends the backend that holds the slot (pg_terminate_backend of its
	// active_pid) instead of waiting for it to let go: set by --ha once this process leads
	// its connector, when the holder can only be the previous leader (paused, or cut off and
	// not yet timed out by wal_sender_timeout). Not a flag.
	TakeOverSlot bool
	// SnapshotWorkers is how many connections read the snapshot in parallel (default 2).
	SnapshotWorkers int
	// SnapshotMaxBufferedBytes bounds the bytes of rows the snapshot's readers hold ahead of
	// the pipeline, over all readers (default DefaultSnapshotMaxBufferedBytes; a row larger
	// than it is read alone).
	SnapshotMaxBufferedBytes int64
	// SnapshotChunkRows is the number of rows per primary-key chunk (default 10000).
	SnapshotChunkRows int
	// ReadOnly reads incremental snapshots (and the rest of an interrupted initial snapshot)
	// without writing to the database (read.only): the chunk windows come from each read's
	// own snapshot (pg_current_snapshot(): which transactions it sees) and the WAL position
	// it was taken at, instead of watermark messages; no slot heartbeat messages are
	// written (SlotHeartbeatInterval is ignored). For replicas and users without write
	// rights. The publication must exist (PublicationMode disabled).
	ReadOnly bool
	// SignalDataCollection is the signal table, schema.table (signal.data.collection; ""
	// none): rows inserted into it are signals (docs/signals.md). It must be in the
	// publication; it is captured only if the include lists say so.
	SignalDataCollection string
	// SchemaInclude, TableInclude, TableExclude and ColumnExclude are anchored regular
	// expressions with Debezium semantics: schemas match "schema", tables "schema.table",
	// columns "schema.table.column".
	SchemaInclude []string
	TableInclude  []string
	TableExclude  []string
	ColumnExclude []string
	// SkippedOperations lists ops not emitted (skipped.operations, capture.ParseSkippedOps;
	// default "t": truncates skipped). Use "none" to emit everything.
	SkippedOperations string
	// Offset is the stored offset JSON (spec §8.2) to resume from; nil starts fresh.
	Offset []byte
	// SaveOffset, when set, stores an offset durably (the pipeline's offsets store). Open
	// calls it just before it creates the slot of a snapshot (an offset naming the slot, no
	// position) and right after, before reading a row (with the slot's consistent point);
	// the snapshot has not started in either. Its error fails Open (retryable). A restart after a crash before the
	// pipeline's first save then resumes the snapshot through that slot (chunk.go) instead
	// of finding a slot without an offset (ErrSlotExists, --drop-existing-slot). nil: not
	// saved.
	SaveOffset func(ctx context.Context, offset []byte) error
	// StatusInterval is how often a standby status update is sent (default 10s, Debezium's
	// status.update.interval.ms).
	StatusInterval time.Duration
	// ReadTimeout is how long the replication stream may stay silent (not even a keepalive)
	// before the connection is presumed dead and a retryable error ends it (default 60s).
	// After half of it sluice asks the server for a keepalive. It also bounds each connect
	// when the DSN sets no connect_timeout.
	ReadTimeout time.Duration
	// QueryTimeout bounds every query on the side connections: catalog lookups while
	// streaming, the heartbeat action query, the preflight, the snapshot's setup queries
	// (default 10m, Debezium's database.query.timeout.ms; negative: no limit). The snapshot's
	// table reads, which may rightly take hours, are bounded by it per read instead: no byte
	// for this long fails them. A timeout is retryable (*QueryTimeoutError). Slot creation and
	// dropping are not bounded: they wait for the transactions running on the server.
	QueryTimeout time.Duration
	// SnapshotLockTimeout bounds each wait of a snapshot read for its table's lock (ACCESS
	// SHARE, taken before the read; default DefaultSnapshotLockTimeout, Debezium's
	// snapshot.lock.timeout.ms), applied as lock_timeout to the snapshot's transactions. The
	// wait must be bounded: an ALTER TABLE queued behind a long transaction waits for ACCESS
	// EXCLUSIVE, and every later lock of the table queues behind it. A timeout is retryable
	// (*SnapshotLockTimeoutError): reopened, the source resumes the snapshot.
	SnapshotLockTimeout time.Duration
	// HeartbeatInterval emits a Keepalive event this often when the stream is idle (0 = off).
	HeartbeatInterval time.Duration
	// HeartbeatActionQuery runs on each heartbeat (e.g. an INSERT into a heartbeat table).
	HeartbeatActionQuery string
	// ProtoVersion forces pgoutput proto_version (0 = 2 with streaming on PG ≥ 14, else 1).
	ProtoVersion int
	// LSNFlushMode says which positions are confirmed to the slot (Debezium's lsn.flush.mode;
	// default connector_and_driver: also the server's WAL end while idle).
	LSNFlushMode LSNFlushMode
	// SlotHeartbeatInterval is how often a non-transactional logical decoding message
	// (prefix HeartbeatPrefix) is written on a side connection, so that the slot of an idle
	// source moves (default 30s; negative: never). Its records are not published.
	SlotHeartbeatInterval time.Duration
	// SlotCheckInterval is how often the slot's retained WAL and wal_status are read into
	// Stats (default 10s).
	SlotCheckInterval time.Duration
	// RetainedWALWarn logs a warning while the slot retains more WAL than this many bytes
	// (default 2 GiB; negative: never).
	RetainedWALWarn int64
	// SpoolDir holds streamed in-progress transactions until their commit (default os.TempDir()).
	SpoolDir string
	// Logger receives operator logs; nil discards.
	Logger *slog.Logger
	// Stats receives the snapshot progress and log lag for /metrics and the progress display;
	// a command keeps one across reopens. nil: the source keeps its own.
	Stats *capture.Stats

	noResumeMessages bool // tests: as if the server had no logical decoding messages in pgoutput (before 14)
}

// DefaultSnapshotMaxBufferedBytes is Config.SnapshotMaxBufferedBytes's default: enough for
// eight readers to stream rows of a few hundred bytes at full rate, small beside the
// process's memory limit.
const DefaultSnapshotMaxBufferedBytes = 16 << 20

func (c *Config) setDefaults() {
	if c.Slot == "" {
		c.Slot = "sluice"
	}
	if c.Publication == "" {
		c.Publication = "sluice"
	}
	if c.PublicationMode == "" {
		c.PublicationMode = PublicationAllTables
	}
	if c.SnapshotMode == "" {
		c.SnapshotMode = SnapshotInitial
	}
	if c.SnapshotWorkers <= 0 {
		c.SnapshotWorkers = 2
	}
	if c.SnapshotMaxBufferedBytes <= 0 {
		c.SnapshotMaxBufferedBytes = DefaultSnapshotMaxBufferedBytes
	}
	if c.SnapshotChunkRows <= 0 {
		c.SnapshotChunkRows = 10000
	}
	if c.SkippedOperations == "" {
		c.SkippedOperations = "t"
	}
	if c.StatusInterval <= 0 {
		c.StatusInterval = 10 * time.Second
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = 60 * time.Second
	}
	if c.QueryTimeout == 0 {
		c.QueryTimeout = DefaultQueryTimeout
	}
	if c.SnapshotLockTimeout <= 0 {
		c.SnapshotLockTimeout = DefaultSnapshotLockTimeout
	}
	if c.LSNFlushMode == "" {
		c.LSNFlushMode = FlushConnectorAndDriver
	}
	if c.SlotHeartbeatInterval == 0 {
		c.SlotHeartbeatInterval = 30 * time.Second
	}
	if c.SlotCheckInterval <= 0 {
		c.SlotCheckInterval = 10 * time.Second
	}
	if c.RetainedWALWarn == 0 {
		c.RetainedWALWarn = 2 << 30
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Stats == nil {
		c.Stats = &capture.Stats{}
	}
}

// DefaultQueryTimeout is Config.QueryTimeout's default (Debezium's database.query.timeout.ms).
const DefaultQueryTimeout = 10 * time.Minute

// DefaultSnapshotLockTimeout is Config.SnapshotLockTimeout's default (Debezium's
// snapshot.lock.timeout.ms).
const DefaultSnapshotLockTimeout = 10 * time.Second

var identRe = regexp.MustCompile(`^[a-z_][a-z0-9_$]*$`)

// Validate reports every bad field.
func (c *Config) Validate() error {
	var errs []error
	if c.DSN == "" {
		errs = append(errs, errors.New("dsn: required (postgres://user:pass@host:port/dbname)"))
	}
	if c.Slot != "" && !identRe.MatchString(c.Slot) {
		errs = append(errs, fmt.Errorf("slot %q: use lower-case letters, digits and _", c.Slot))
	}
	if c.Publication != "" && !identRe.MatchString(c.Publication) {
		errs = append(errs, fmt.Errorf("publication %q: use lower-case letters, digits and _", c.Publication))
	}
	if c.SignalDataCollection != "" {
		if parts := strings.Split(c.SignalDataCollection, "."); len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			errs = append(errs, fmt.Errorf("signal data collection %q: want schema.table, e.g. public.debezium_signal", c.SignalDataCollection))
		}
	}
	switch c.PublicationMode {
	case "", PublicationAllTables, PublicationFiltered, PublicationDisabled:
	default:
		errs = append(errs, fmt.Errorf("publication mode %q: want all_tables, filtered or disabled", c.PublicationMode))
	}
	// Debezium's names, in any case as Debezium parses them. never (Debezium PostgreSQL's older
	// name) and schema_only (its MySQL connectors' older name, which sluice mysql takes too) mean
	// no_data: stream from the slot's start, no rows read.
	switch m := SnapshotMode(strings.ToLower(string(c.SnapshotMode))); m {
	case "", SnapshotInitial, SnapshotInitialOnly, SnapshotNoData, SnapshotWhenNeeded, SnapshotAlways:
		c.SnapshotMode = m
	case "never", "schema_only":
		c.SnapshotMode = SnapshotNoData
	case "recovery", "schema_only_recovery":
		errs = append(errs, fmt.Errorf("snapshot mode %q rebuilds a MySQL connector's schema history; PostgreSQL has none (pgoutput carries each table's columns): "+
			"want initial, initial_only, no_data, when_needed or always", c.SnapshotMode))
	default:
		errs = append(errs, fmt.Errorf("snapshot mode %q: want initial, initial_only, no_data (or never, schema_only), when_needed or always", c.SnapshotMode))
	}
	if c.SnapshotLockTimeout > 0 && c.SnapshotLockTimeout < time.Millisecond {
		errs = append(errs, fmt.Errorf("snapshot lock timeout %s: want at least 1ms (lock_timeout counts milliseconds)", c.SnapshotLockTimeout))
	}
	if c.SnapshotWorkers < 0 || c.SnapshotWorkers > 64 {
		errs = append(errs, fmt.Errorf("snapshot workers %d: want 1–64", c.SnapshotWorkers))
	}
	for _, l := range [][]string{c.SchemaInclude, c.TableInclude, c.TableExclude, c.ColumnExclude} {
		for _, p := range l {
			if _, err := regexp.Compile(p); err != nil {
				errs = append(errs, fmt.Errorf("filter regex %q: %w", p, err))
			}
		}
	}
	if len(c.TableInclude) > 0 && len(c.TableExclude) > 0 {
		errs = append(errs, errors.New("table include and exclude lists cannot both be set"))
	}
	if _, err := parseSkipped(c.SkippedOperations); err != nil {
		errs = append(errs, err)
	}
	switch c.LSNFlushMode {
	case "", FlushConnectorAndDriver, FlushConnector:
	default:
		errs = append(errs, fmt.Errorf("lsn flush mode %q: want connector_and_driver or connector", c.LSNFlushMode))
	}
	if c.ProtoVersion != 0 && c.ProtoVersion != 1 && c.ProtoVersion != 2 {
		errs = append(errs, fmt.Errorf("proto version %d: want 1 or 2", c.ProtoVersion))
	}
	errs = append(errs, c.validateTLS()...)
	return errors.Join(errs...)
}

// parseSkipped is the set of skipped operations as the source keeps it; the PostgreSQL source
// filters c, u, d and t and leaves any others to the pipeline.
func parseSkipped(s string) (map[byte]bool, error) {
	set, err := capture.ParseSkippedOps(s)
	if err != nil {
		return nil, err
	}
	m := map[byte]bool{}
	for _, op := range []capture.Op{capture.OpCreate, capture.OpUpdate, capture.OpDelete, capture.OpTruncate} {
		if set.Has(op) {
			m[byte(op)] = true
		}
	}
	return m, nil
}

// filter decides which schemas, tables and columns are captured.
type filter struct {
	schemaInc, tableInc, tableExc, colExc []*regexp.Regexp
}

func compileAll(ps []string) []*regexp.Regexp {
	var out []*regexp.Regexp
	for _, p := range ps {
		out = append(out, regexp.MustCompile("^(?:"+p+")$"))
	}
	return out
}

func newFilter(c *Config) *filter {
	return &filter{compileAll(c.SchemaInclude), compileAll(c.TableInclude), compileAll(c.TableExclude), compileAll(c.ColumnExclude)}
}

func anyMatch(rs []*regexp.Regexp, s string) bool {
	for _, r := range rs {
		if r.MatchString(s) {
			return true
		}
	}
	return false
}

// table reports whether schema.table is captured.
func (f *filter) table(schemaName, table string) bool {
	if len(f.schemaInc) > 0 && !anyMatch(f.schemaInc, schemaName) {
		return false
	}
	full := schemaName + "." + table
	if len(f.tableInc) > 0 {
		return anyMatch(f.tableInc, full)
	}
	return !anyMatch(f.tableExc, full)
}

// column reports whether schema.table.column is captured.
func (f *filter) column(schemaName, table, col string) bool {
	return len(f.colExc) == 0 || !anyMatch(f.colExc, schemaName+"."+table+"."+col)
}
