package mysql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql/history"
	"github.com/sluicecdc/sluice/capture/mysql/replication"
	"github.com/sluicecdc/sluice/internal/properties"
	"github.com/sluicecdc/sluice/internal/tlsconf"
	"github.com/sluicecdc/sluice/schema"
)

// SnapshotMode is Debezium's snapshot.mode.
type SnapshotMode string

const (
	SnapshotInitial     SnapshotMode = "initial"      // snapshot when no offset exists, then stream
	SnapshotInitialOnly SnapshotMode = "initial_only" // snapshot, then stop
	SnapshotNoData      SnapshotMode = "no_data"      // schema only, stream from the current position
	SnapshotWhenNeeded  SnapshotMode = "when_needed"  // like initial, and again when the offset's binlog is gone
	SnapshotAlways      SnapshotMode = "always"       // snapshot at every start
	SnapshotRecovery    SnapshotMode = "recovery"     // rebuild the schema history from the server, keep the offset
)

// ParseSnapshotMode checks s.
// Debezium's names are taken in any case, as Debezium parses them; schema_only and
// schema_only_recovery are their older names of no_data and recovery.
func ParseSnapshotMode(s string) (SnapshotMode, error) {
	switch m := SnapshotMode(strings.ToLower(s)); m {
	case "":
		return SnapshotInitial, nil
	case SnapshotInitial, SnapshotInitialOnly, SnapshotNoData, SnapshotWhenNeeded, SnapshotAlways, SnapshotRecovery:
		return m, nil
	case "schema_only":
		return SnapshotNoData, nil
	case "schema_only_recovery":
		return SnapshotRecovery, nil
	case "never":
		// Debezium MySQL's never reads the binlog from its oldest file, which holds every row
		// only if nothing was ever purged; sluice does not guess that (the PostgreSQL connector's
		// never is no_data, which here would silently leave the existing rows out).
		return "", fmt.Errorf("snapshot mode %q (read the whole binlog from its oldest file, no snapshot) is not supported: "+
			"use initial to read the existing rows, or no_data to stream only the changes from now on", s)
	}
	return "", fmt.Errorf("snapshot mode %q: want initial, initial_only, no_data (or schema_only), when_needed, always or recovery (or schema_only_recovery)", s)
}

// SnapshotLocking is Debezium's snapshot.locking.mode: which lock a snapshot takes so that its
// data, its binlog position and its table definitions agree.
type SnapshotLocking string

const (
	// LockMinimal (the default) blocks writes only while the snapshot's transactions open and
	// the binlog position is read (FLUSH TABLES WITH READ LOCK, usually milliseconds). DDL is
	// held off while the table definitions are read by a backup lock that does not block
	// writes (MySQL 8+ LOCK INSTANCE FOR BACKUP with BACKUP_ADMIN, MariaDB BACKUP STAGE
	// BLOCK_DDL); without that grant the definitions are read unlocked and the binlog since the
	// position is checked for DDL (one more try, the definitions then read under the global
	// read lock). Where the server does not permit the global read lock (no RELOAD; managed
	// servers such as RDS, Aurora, Cloud SQL) LOCK TABLES ... READ on the captured tables takes
	// its place (snapshot_tablelock.go). See docs/mysql.md, Snapshot locking.
	LockMinimal SnapshotLocking = "minimal"
	// LockExtended holds the global read lock (or the table locks) for the whole snapshot: no
	// writes until it ends.
	LockExtended SnapshotLocking = "extended"
	// LockMinimalPercona is LockMinimal with the backup lock required (Percona Server's LOCK
	// TABLES FOR BACKUP, or the server's own backup lock): the snapshot fails when the user
	// lacks the grant instead of reading the definitions unlocked.
	LockMinimalPercona SnapshotLocking = "minimal_percona"
	// LockNone takes no lock: correct only if no DDL runs during the snapshot. One reader.
	LockNone SnapshotLocking = "none"
)

// ParseSnapshotLocking checks s.
func ParseSnapshotLocking(s string) (SnapshotLocking, error) {
	switch m := SnapshotLocking(s); m {
	case "":
		return LockMinimal, nil
	case LockMinimal, LockExtended, LockMinimalPercona, LockNone:
		return m, nil
	}
	return "", fmt.Errorf("snapshot locking mode %q: want minimal, extended, minimal_percona or none", s)
}

// Config configures a Source. Zero values mean the defaults written beside each field.
type Config struct {
	// DSN is mysql://user:password@host:port[/?params] or a go-sql-driver DSN
	// (user:password@tcp(host:port)/). Required.
	DSN string
	// Password overrides the DSN's password when set (from a file or the environment).
	Password string
	// ServerID is the replica server id: required, non-zero, unique among the server's replicas.
	ServerID uint32
	// Name is topic.prefix: the logical server name in history records. Required.
	Name string

	// DatabaseInclude/DatabaseExclude match database names; TableInclude/TableExclude match
	// "db.table"; ColumnExclude matches "db.table.column". Anchored, case-insensitive regular
	// expressions (Debezium semantics). Empty include lists include everything (except the
	// system databases).
	DatabaseInclude []string
	DatabaseExclude []string
	TableInclude    []string
	TableExclude    []string
	ColumnExclude   []string

	SnapshotMode    SnapshotMode    // default initial
	SnapshotLocking SnapshotLocking // default minimal
	// SnapshotChunkRows is the number of rows per primary-key chunk of a resumed, incremental or
	// blocking snapshot (default 10000); the initial snapshot splits tables of twice as many rows.
	SnapshotChunkRows int
	// SnapshotWorkers is how many connections read tables in parallel (default 2). Each opens
	// its consistent snapshot under the global read lock, so with SnapshotLocking none there
	// is one reader.
	SnapshotWorkers int
	// SnapshotMaxBufferedBytes bounds the bytes of rows the snapshot's readers hold ahead of
	// the pipeline, over all readers (default DefaultSnapshotMaxBufferedBytes; a row larger
	// than it is read alone).
	SnapshotMaxBufferedBytes int64
	// SignalDataCollection is the signal table, db.table (signal.data.collection; "" = none):
	// columns id, type, data, in the table include list. A resumed snapshot writes its
	// watermarks into it (docs/snapshots.md).
	SignalDataCollection string
	// NoTableSignals: rows inserted into the signal table are not signals
	// (signal.enabled.channels without source, set by the command); it still takes the
	// watermarks. Not a flag.
	NoTableSignals bool
	// ReadOnly makes the windows of resumed and incremental snapshots from the server's GTID
	// set (read before and after each chunk) instead of rows written into the signal table:
	// nothing is written to the source (read.only; needs GTIDs: MySQL gtid_mode=ON, or
	// MariaDB).
	ReadOnly bool
	// IncludeQuery fills source.query from ROWS_QUERY / ANNOTATE_ROWS events.
	IncludeQuery bool
	// LogStatements logs the text of binlog statements the connector skips; off, their kind
	// and table only: a statement may carry row values or a password.
	LogStatements bool
	// SchemaRepair rebuilds a table's definition from the server when a TABLE_MAP does not
	// match the history and the server's current definition does.
	SchemaRepair bool
	// SkipPurgedBinlog accepts a gap when the offset's binlog was purged from the server: the
	// schemas are read again and the stream starts at the server's current position, so the
	// changes in between are lost (a warning says which positions). Without it (and without
	// SnapshotWhenNeeded, which takes a new snapshot instead) a purged position is ErrPurged.
	SkipPurgedBinlog bool
	// History stores the schema history. Required.
	History history.Store
	// Offset is the stored offset JSON to resume from; nil starts fresh.
	Offset []byte
	// SaveOffset, when set, stores an offset durably (the pipeline's offsets store). The
	// initial snapshot calls it once its binlog position is read and its schema history
	// written, before Next hands out its first row: the offset of the snapshot running at
	// that position with no row read. Its error fails Next (retryable). A kill before the
	// pipeline's first save then resumes the snapshot from that position (snapshot_resume.go)
	// instead of finding no offset and taking a new snapshot at a later position, which left
	// in the sinks the rows the first attempt published and that were deleted in between.
	// nil: not saved.
	SaveOffset func(ctx context.Context, offset []byte) error
	// TLS of every connection (query pool, replication stream, snapshot readers): default
	// prefer (encrypted when the server offers it, unverified, with a warning once),
	// verify-full when a CA file is given. The DSN may name the mode instead (tls=, ssl-mode=).
	TLS tlsconf.Config
	// ServerPublicKeyFile is the server's RSA public key (PEM) for full authentication
	// (caching_sha2_password, sha256_password) without TLS.
	ServerPublicKeyFile string
	// AllowPublicKeyRetrieval lets full authentication send the password over a channel whose
	// server is not verified (see replication.Config.AllowPublicKeyRetrieval). Off, it needs
	// TLS verify-ca/verify-full or ServerPublicKeyFile, and otherwise fails the start.
	AllowPublicKeyRetrieval bool
	// QueryTimeout bounds the queries on the side connections: the schema reads after a DDL
	// or a table map the history does not know while streaming, the preflight, the snapshot's
	// setup (default 10m, Debezium's database.query.timeout.ms; negative: no limit). On the
	// query connections it bounds each read (no byte for this long), so a snapshot's table
	// read, which may rightly take hours, fails only when it stops moving. A timeout is
	// retryable.
	QueryTimeout time.Duration
	// SnapshotLockTimeout bounds each wait for a snapshot lock (the global read lock or the table
	// locks, the backup lock), as the session's lock_wait_timeout (default 10s, Debezium's
	// snapshot.lock.timeout.ms). The wait must be bounded: a DDL statement that arrives after
	// the backup lock was taken holds its global intention lock while it waits for the backup
	// lock, so FLUSH TABLES WITH READ LOCK then waits for the DDL, which waits for sluice, and
	// every writer of the server queues behind the pending global read lock. On the timeout
	// both locks are released (the DDL runs) and the snapshot is begun again: a retryable error.
	SnapshotLockTimeout time.Duration
	// BinlogCheckInterval is how often the server's binlogs are listed (SHOW BINARY LOGS) to
	// set Stats.Stream.BinlogBytesBehind and to warn when the stored position's binlog is
	// about to be purged (default 30s).
	BinlogCheckInterval time.Duration
	// HeartbeatPeriod asks the server for heartbeats when idle (default 15s).
	HeartbeatPeriod time.Duration
	// Now returns the processing time for history records (default time.Now).
	Now func() time.Time
	// Logger receives operator logs; nil discards.
	Logger *slog.Logger
	// Stats receives the snapshot progress and log lag for /metrics and the progress display;
	// a command keeps one across reopens. nil: the source keeps its own.
	Stats *capture.Stats

	schemaReadHook  func()                         // tests: runs before the snapshot reads the table definitions
	estimateHook    func(map[schema.TableID]int64) // tests: edits the snapshot's row estimates
	noBackupLock    bool                           // tests: as if the user lacked the backup lock's grant
	afterBackupLock func()                         // tests: runs once the backup lock is held, before the global read lock
	tableLockHook   func()                         // tests: runs under table locks once the snapshot is open, before the position is read
	noGlobalLock    bool                           // tests: as if the server refused FLUSH TABLES WITH READ LOCK to everyone (a managed server)
}

// Validate reports every bad field.
func (c *Config) Validate() error {
	var errs []error
	if c.DSN == "" {
		errs = append(errs, errors.New("mysql: DSN is required (--dsn mysql://user:pass@host:port)"))
	} else if _, dsnTLS, err := parseDSN(c.DSN, c.Password); err != nil {
		errs = append(errs, err)
	} else if _, err := c.tlsSettings(dsnTLS); err != nil {
		errs = append(errs, err)
	}
	for _, err := range c.TLS.Validate("tls") {
		errs = append(errs, fmt.Errorf("mysql: %w", err))
	}
	if c.ServerID == 0 {
		errs = append(errs, errors.New("mysql: server id is required (--server-id N, unique among the server's replicas)"))
	}
	if c.Name == "" {
		errs = append(errs, errors.New("mysql: name (topic prefix) is required"))
	}
	if c.History == nil {
		errs = append(errs, errors.New("mysql: a schema history store is required"))
	}
	if _, err := ParseSnapshotMode(string(c.SnapshotMode)); err != nil {
		errs = append(errs, err)
	}
	if _, err := ParseSnapshotLocking(string(c.SnapshotLocking)); err != nil {
		errs = append(errs, err)
	}
	if m, _ := ParseSnapshotMode(string(c.SnapshotMode)); c.SkipPurgedBinlog && m == SnapshotWhenNeeded {
		errs = append(errs, errors.New("mysql: --skip-purged-binlog and --snapshot-mode when_needed both answer a purged binlog position: choose one"))
	}
	if c.SignalDataCollection != "" {
		if parts := strings.Split(c.SignalDataCollection, "."); len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			errs = append(errs, fmt.Errorf("mysql: signal data collection %q: want db.table, e.g. inventory.debezium_signal", c.SignalDataCollection))
		}
	}
	for _, l := range [][]string{c.DatabaseInclude, c.DatabaseExclude, c.TableInclude, c.TableExclude, c.ColumnExclude} {
		if _, err := compileAll(l); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// DefaultSnapshotMaxBufferedBytes is Config.SnapshotMaxBufferedBytes's default: enough for
// eight readers to stream rows of a few hundred bytes at full rate, small beside the
// process's memory limit.
const DefaultSnapshotMaxBufferedBytes = 16 << 20

func (c *Config) setDefaults() {
	c.SnapshotMode, _ = ParseSnapshotMode(string(c.SnapshotMode))
	c.SnapshotLocking, _ = ParseSnapshotLocking(string(c.SnapshotLocking))
	if c.SnapshotChunkRows <= 0 {
		c.SnapshotChunkRows = 10000
	}
	if c.SnapshotWorkers <= 0 {
		c.SnapshotWorkers = 2
	}
	if c.SnapshotMaxBufferedBytes <= 0 {
		c.SnapshotMaxBufferedBytes = DefaultSnapshotMaxBufferedBytes
	}
	if c.QueryTimeout == 0 {
		c.QueryTimeout = DefaultQueryTimeout
	}
	if c.SnapshotLockTimeout <= 0 {
		c.SnapshotLockTimeout = DefaultSnapshotLockTimeout
	}
	if c.HeartbeatPeriod == 0 {
		c.HeartbeatPeriod = replication.DefaultHeartbeat
	}
	if c.BinlogCheckInterval <= 0 {
		c.BinlogCheckInterval = 30 * time.Second
	}
	if c.Stats == nil {
		c.Stats = new(capture.Stats)
	}
	if c.Now == nil {
		c.Now = time.Now
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

// ParseDSN is parseDSN for tools that read the same server with the same DSN (sluice verify),
// with the TLS mode the DSN names applied to the driver's config.
func ParseDSN(dsn, password string) (*gomysql.Config, error) {
	return ParseDSNTLS(dsn, password, tlsconf.Config{})
}

// ParseDSNTLS is ParseDSN with the --tls-* settings t (a mode in both is an error); with
// neither the driver connects in plain text.
func ParseDSNTLS(dsn, password string, tc tlsconf.Config) (*gomysql.Config, error) {
	cfg, mode, err := parseDSN(dsn, password)
	if err != nil || (mode == "" && !tc.Set()) {
		return cfg, err
	}
	if errs := tc.Validate("tls"); len(errs) > 0 {
		return nil, fmt.Errorf("mysql: %w", errors.Join(errs...))
	}
	t, err := (&Config{TLS: tc}).tlsSettings(mode)
	if err != nil {
		return nil, err
	}
	host, _, _ := strings.Cut(cfg.Addr, ":")
	if cfg.TLS, err = t.Client(host, "tls"); err != nil {
		return nil, err
	}
	cfg.AllowFallbackToPlaintext = t.Effective() == tlsconf.Prefer
	return cfg, nil
}

// parseDSN accepts mysql://user:pass@host:port/?k=v or a go-sql-driver DSN and returns a
// driver config with sluice's session settings, and the TLS mode the DSN names (tls=,
// ssl-mode=), which is taken out of the driver's config (the caller applies it).
func parseDSN(dsn, password string) (_ *gomysql.Config, tlsMode string, _ error) {
	var cfg *gomysql.Config
	if strings.HasPrefix(dsn, "mysql://") || strings.HasPrefix(dsn, "mariadb://") {
		u, err := properties.ParseURL(dsn)
		if err != nil {
			return nil, "", fmt.Errorf("mysql: DSN: %w", err)
		}
		cfg = gomysql.NewConfig()
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
		cfg.Net = "tcp"
		cfg.Addr = u.Host
		if u.Port() == "" {
			cfg.Addr = u.Hostname() + ":3306"
		}
		cfg.DBName = strings.TrimPrefix(u.Path, "/")
		for k, v := range u.Query() {
			if slices.Contains(dsnTLSParams, strings.ToLower(k)) {
				tlsMode = v[0]
				continue
			}
			if cfg.Params == nil {
				cfg.Params = map[string]string{}
			}
			cfg.Params[k] = v[0]
		}
	} else {
		var err error
		cfg, err = gomysql.ParseDSN(dsn)
		if err != nil {
			return nil, "", fmt.Errorf("mysql: DSN %q: %w (want mysql://user:pass@host:port)", redact(dsn), err)
		}
		tlsMode = cfg.TLSConfig
		cfg.TLS, cfg.TLSConfig = nil, ""
	}
	if password != "" {
		cfg.Passwd = password
	}
	if cfg.User == "" {
		return nil, "", errors.New("mysql: DSN has no user")
	}
	cfg.InterpolateParams = true
	cfg.ParseTime = false
	cfg.MultiStatements = false
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	cfg.Params["time_zone"] = "'+00:00'"
	cfg.Collation = "utf8mb4_general_ci"
	cfg.AllowNativePasswords = true
	return cfg, tlsMode, nil
}

func redact(dsn string) string {
	if i := strings.LastIndexByte(dsn, '@'); i > 0 {
		if j := strings.IndexByte(dsn, ':'); j >= 0 && j < i {
			return dsn[:j+1] + "***" + dsn[i:]
		}
	}
	return dsn
}

func compileAll(l []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, s := range l {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		re, err := regexp.Compile("(?i)^(?:" + s + ")$")
		if err != nil {
			return nil, fmt.Errorf("mysql: filter %q: %w", s, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// filter decides which databases, tables and columns are captured.
type filter struct {
	dbInc, dbExc, tInc, tExc, colExc []*regexp.Regexp
}

func newFilter(c *Config) (*filter, error) {
	var f filter
	var err error
	if f.dbInc, err = compileAll(c.DatabaseInclude); err != nil {
		return nil, err
	}
	if f.dbExc, err = compileAll(c.DatabaseExclude); err != nil {
		return nil, err
	}
	if f.tInc, err = compileAll(c.TableInclude); err != nil {
		return nil, err
	}
	if f.tExc, err = compileAll(c.TableExclude); err != nil {
		return nil, err
	}
	if f.colExc, err = compileAll(c.ColumnExclude); err != nil {
		return nil, err
	}
	return &f, nil
}

func anyMatch(l []*regexp.Regexp, s string) bool {
	for _, re := range l {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

var systemDBs = map[string]bool{"mysql": true, "information_schema": true, "performance_schema": true, "sys": true}

// database reports whether db's schema is kept (its tables may be captured).
func (f *filter) database(db string) bool {
	if systemDBs[strings.ToLower(db)] {
		return false
	}
	if len(f.dbInc) > 0 && !anyMatch(f.dbInc, db) {
		return false
	}
	return !anyMatch(f.dbExc, db)
}

// table reports whether db.table is captured.
func (f *filter) table(db, table string) bool {
	if !f.database(db) {
		return false
	}
	n := db + "." + table
	if len(f.tInc) > 0 && !anyMatch(f.tInc, n) {
		return false
	}
	return !anyMatch(f.tExc, n)
}

func (f *filter) column(db, table, col string) bool {
	return !anyMatch(f.colExc, db+"."+table+"."+col)
}
