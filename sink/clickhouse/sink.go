package clickhouse

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/cespare/xxhash/v2"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/internal/properties"
	"github.com/sluicecdc/sluice/internal/tlsconf"
)

// Config configures a Sink. Zero values mean the defaults written beside each field.
type Config struct {
	Addr     []string // native-protocol host:port list; defaults to 127.0.0.1:9000
	Database string   // target database, created if missing; defaults to "default"
	Username string   // defaults to "default"
	Password string
	// PasswordFile, when set, holds the password (its first line) instead of Password.
	PasswordFile string
	// TLS of the connections: off unless set (ClickHouse serves TLS on its own port, 9440 by
	// default, so there is nothing to prefer); set without a mode, or with only a CA file, it
	// is verify-full. require (unverified) logs a warning once; prefer is refused.
	TLS tlsconf.Config
	// Compression of the native blocks: "auto" (default: none when every address is a
	// loopback one, lz4 otherwise, as clickhouse-client decides), "lz4" or "none". On loopback
	// lz4 only costs CPU (~10% of the stage's on the bench); over a network it saves bandwidth.
	Compression string

	// TableName maps a change to its table name: {db}, {schema}, {table} and {topic} are
	// replaced. Defaults to "{table}".
	TableName string

	BatchRows int // flush when this many rows are pending; defaults to 20000
	// BatchBytes: flush when the pending rows' JSON (row images and keys, not the records'
	// schemas, which the batch does not hold) reaches this size; defaults to 8 MiB. It bounds
	// the sink's memory: the pending batch and the one being inserted hold about this much
	// each (the default --memory-limit is 32 MiB + twice it).
	BatchBytes    int
	FlushInterval time.Duration // flush pending rows at least this often; defaults to 1s

	// KeepDroppedColumns keeps a column that disappeared from the source schema instead of
	// dropping it with ALTER TABLE … DROP COLUMN.
	KeepDroppedColumns bool
	// Legacy forces the pre-23.2 table layout even on a newer server.
	Legacy bool
	// LogValues adds each record's payload (the rows' values, which may be personal data) to
	// the debug log line of each record; off, that line has topic, op and version only.
	LogValues bool

	MaxBackoff time.Duration // longest wait between retries of a failed call; defaults to 30s
	// ConnectTimeout bounds how long New retries an unreachable server before it fails with
	// an *UnavailableError naming the address; defaults to 1m; negative: until ctx ends.
	ConnectTimeout time.Duration
	// RetryTimeout bounds how long a failing call to ClickHouse (an INSERT, a DDL statement, a
	// lookup) is retried in a row before the sink fails with an *UnavailableError: its records
	// are not reported durable, so their offsets are not committed. Defaults to 10m (Kafka
	// Connect's errors.retry.timeout, as the capture commands' --errors-retry-timeout);
	// negative: until ctx ends.
	RetryTimeout time.Duration
	// Link, when set, tells whether ClickHouse answers: DisconnectedUnixMilli is set at the
	// first failed call of a streak and cleared at the next success, DisconnectErr holds the
	// last error (/readyz and the sluice_clickhouse_connected gauge read it). While no call is
	// made, a ping every few seconds keeps it current. Not a flag.
	Link             *capture.StreamStats
	ProgressInterval time.Duration // how often progress is logged; defaults to 10s
	Logger           *slog.Logger  // defaults to discard
}

func (c *Config) setDefaults() {
	if len(c.Addr) == 0 {
		c.Addr = []string{"127.0.0.1:9000"}
	}
	if c.Database == "" {
		c.Database = "default"
	}
	if c.Username == "" {
		c.Username = "default"
	}
	if c.TableName == "" {
		c.TableName = "{table}"
	}
	if c.Compression == "" {
		c.Compression = "auto"
	}
	if c.BatchRows <= 0 {
		c.BatchRows = 20000
	}
	if c.BatchBytes <= 0 {
		c.BatchBytes = 8 << 20
	}
	if c.FlushInterval <= 0 {
		c.FlushInterval = time.Second
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = time.Minute
	}
	if c.RetryTimeout == 0 {
		c.RetryTimeout = 10 * time.Minute
	}
	if c.Link == nil {
		c.Link = new(capture.StreamStats)
	}
	if c.ProgressInterval <= 0 {
		c.ProgressInterval = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Validate reports every bad field.
func (c *Config) Validate() error {
	var errs []error
	if c.Password != "" && c.PasswordFile != "" {
		errs = append(errs, errors.New("give --clickhouse-password-file or a password (SLUICE_CLICKHOUSE_PASSWORD), not both"))
	}
	for _, a := range c.Addr {
		if !strings.Contains(a, ":") {
			errs = append(errs, fmt.Errorf("clickhouse address %q: want host:port", a))
		}
	}
	if strings.ContainsAny(c.Database, "`") {
		errs = append(errs, fmt.Errorf("clickhouse database %q: must not contain a backquote", c.Database))
	}
	switch c.Compression {
	case "", "auto", "lz4", "none":
	default:
		errs = append(errs, fmt.Errorf("clickhouse compression %q: want auto, lz4 or none", c.Compression))
	}
	for _, err := range c.TLS.Validate("clickhouse-tls") {
		errs = append(errs, fmt.Errorf("clickhouse: %w", err))
	}
	if c.TLS.Mode == tlsconf.Prefer {
		errs = append(errs, errors.New("clickhouse: --clickhouse-tls-mode prefer: ClickHouse serves TLS on its own port (tcp_port_secure, 9440): point --clickhouse-addr at it and use verify-full (or require), or disable"))
	}
	if c.TableName != "" && !strings.Contains(c.TableName, "{") {
		errs = append(errs, fmt.Errorf("table name template %q: must contain {table} (or {topic}), else every table maps to one", c.TableName))
	}
	return errors.Join(errs...)
}

// Stats are the sink's counters (monotonic since start).
type Stats struct {
	Rows          uint64        // rows inserted and acknowledged
	Batches       uint64        // insert batches acknowledged
	Records       uint64        // records made durable (including skipped ones)
	Parked        uint64        // records parked in _sluice_parked
	Replayed      uint64        // parked records applied by ReplayParked
	Retries       uint64        // failed insert attempts retried
	SchemaChanges uint64        // ALTER/CREATE TABLE statements applied
	ToastMissing  uint64        // unchanged-TOAST values with no earlier value to carry
	LastSourceMs  int64         // source ts_ms of the newest acknowledged change
	InsertTime    time.Duration // wall time spent in INSERTs (including retries)
	// InsertWait is the wall time Send and the flushes waited for the previous insert to
	// finish: with a backlog, the time ClickHouse, not the parsing, held the stage up.
	InsertWait time.Duration
}

// Sink writes change records to ClickHouse. It implements pipeline.Sink. Send, Flush and Close
// may be called from several goroutines; they serialise on one lock. Send blocks while a full
// batch is inserted (the backpressure); a failing insert is retried with backoff until it
// succeeds or ctx ends, never skipped.
type Sink struct {
	cfg     Config
	log     *slog.Logger
	conn    driver.Conn
	durable func(token uint64)
	modern  bool
	version string
	db      string // quoted database

	// origin is the upstream session of the records Send gets now (SetOrigin).
	origin atomic.Uint64
	rowAt  uint64 // change.rowAt of the change being appended
	read   bool   // the change being appended is a snapshot read of a keyless table (readRowID)

	mu        sync.Mutex
	cache     schemaCache
	tables    map[string]*table
	order     []*table // tables with pending rows, in first-seen order
	tokens    []uint64
	parked    []parkedRecord
	rows      int
	bytes     int
	firstAt   time.Time
	lastSend  time.Time // newest Send: the input is drained when none came for a while
	lastStart time.Time // newest insert started
	// lastFull: the newest insert was started by a full batch (a burst is being consumed);
	// caughtUp: the source has read all its input since the newest Send.
	lastFull, caughtUp bool
	sticky             error
	closed             bool
	stopTick           chan struct{}
	inflight           *flushJob
	spares             []*binding      // bindings holding a spare batch (recycle), oldest first
	life               context.Context // ends at Close: bounds background flushes
	lifeEnd            context.CancelFunc
	failed             context.Context // done once a background flush failed for good (Failed)
	setFailed          context.CancelFunc
	closeOnce          sync.Once
	wg                 sync.WaitGroup
	lastOK             atomic.Int64 // unix ns of the newest call ClickHouse answered (retryFor, ping)
	// toastLookup replaces readToast in tests that have no connection (chDB).
	toastLookup func(ctx context.Context, table, q string) (map[int]string, error)

	stats struct {
		rows, batches, records, parked, retries, schema, toast, replayed atomic.Uint64
		lastMs, insertNs, waitNs                                         atomic.Int64
	}
}

type parkedRecord struct {
	table, topic, reason string
	token, version       uint64
	key, value           string
}

// Options are the clickhouse-go connection options of cfg (defaults applied), for the sink and
// for tools that read what it wrote (sluice verify), with --clickhouse-password-file read. The session database is "default": the
// sink names Database in every statement, since it may not exist yet.
func (cfg Config) Options() (*ch.Options, error) {
	cfg.setDefaults()
	if cfg.PasswordFile != "" {
		pw, err := properties.ReadSecretFile(cfg.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("clickhouse: --clickhouse-password-file: %w", err)
		}
		cfg.Password = pw
	}
	tc, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	var comp *ch.Compression
	if cfg.compress() {
		comp = &ch.Compression{Method: ch.CompressionLZ4}
	}
	return &ch.Options{
		Addr:         cfg.Addr,
		Auth:         ch.Auth{Database: "default", Username: cfg.Username, Password: cfg.Password},
		TLS:          tc,
		DialTimeout:  10 * time.Second,
		Compression:  comp,
		MaxOpenConns: 2,
	}, nil
}

// compress reports whether the native blocks are lz4-compressed: "lz4", or "auto" unless every
// address is a loopback one ("localhost" or a loopback IP; names are not resolved), which is
// how clickhouse-client chooses. On loopback there is no bandwidth to save, only CPU to spend.
func (cfg Config) compress() bool {
	switch cfg.Compression {
	case "lz4":
		return true
	case "none":
		return false
	}
	for _, a := range cfg.Addr {
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			return true
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return true
		}
	}
	return false
}

// tlsMode is the TLS mode in force: disable when nothing is set, verify-full when settings
// are given without a mode.
func (cfg Config) tlsMode() tlsconf.Mode {
	switch {
	case !cfg.TLS.Set():
		return tlsconf.Disable
	case cfg.TLS.Mode == tlsconf.Default:
		return tlsconf.VerifyFull
	}
	return cfg.TLS.Effective()
}

// tlsConfig builds the connections' TLS (nil: plain). The server name stays empty unless
// --clickhouse-tls-server-name sets it: the client dials each address with this config and
// crypto/tls then checks each server against the host it dialled.
func (cfg Config) tlsConfig() (*tls.Config, error) {
	t := cfg.TLS
	t.Mode = cfg.tlsMode()
	if t.Mode == tlsconf.Disable {
		return nil, nil
	}
	tc, err := t.Client("", "clickhouse-tls")
	if err != nil {
		return nil, fmt.Errorf("clickhouse: %w", err)
	}
	return tc, nil
}

// New connects, detects the server version and prepares the database. durable is called with
// each record's token once the record is in ClickHouse (or parked); nil means no reports.
func New(ctx context.Context, cfg Config, durable func(token uint64)) (*Sink, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts, err := cfg.Options()
	if err != nil {
		return nil, err
	}
	conn, err := ch.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("clickhouse open %v: %w", cfg.Addr, err)
	}
	if durable == nil {
		durable = func(uint64) {}
	}
	s := &Sink{cfg: cfg, log: cfg.Logger.With("sink", "clickhouse"), conn: conn, durable: durable,
		tables: map[string]*table{}, db: quoteIdent(cfg.Database), stopTick: make(chan struct{})}
	s.life, s.lifeEnd = context.WithCancel(context.Background())
	s.failed, s.setFailed = context.WithCancel(context.Background())
	if err := s.retryFor(ctx, "connect", cfg.ConnectTimeout, connectFlag, func(ctx context.Context) error {
		return conn.QueryRow(ctx, "SELECT version()").Scan(&s.version)
	}); err != nil {
		s.lifeEnd()
		conn.Close()
		return nil, err
	}
	if cfg.tlsMode() == tlsconf.Require {
		tlsconf.WarnUnverified(s.log, "clickhouse", "clickhouse-tls", tlsconf.Require, true)
	}
	s.modern = !cfg.Legacy && versionAtLeast(s.version, 23, 2)
	s.cache = schemaCache{modern: s.modern, m: map[string]*envSchema{}}
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS " + s.db,
		"CREATE TABLE IF NOT EXISTS " + s.db + ".`_sluice_parked` (ts DateTime, table String, topic String, token UInt64, version UInt64, reason String, key String, value String) ENGINE = MergeTree ORDER BY (table, ts)",
	} {
		if err := s.retryFor(ctx, "prepare database", cfg.ConnectTimeout, connectFlag, func(ctx context.Context) error { return conn.Exec(ctx, q) }); err != nil {
			s.lifeEnd()
			conn.Close()
			return nil, err
		}
	}
	s.log.Info("clickhouse connected", "addr", strings.Join(cfg.Addr, ","), "server_version", s.version,
		"layout", map[bool]string{true: "ReplacingMergeTree(_version, _is_deleted), DateTime64", false: "ReplacingMergeTree(_version) + _is_deleted, Int64 µs timestamps"}[s.modern],
		"database", cfg.Database)
	s.wg.Add(1)
	go s.ticker()
	return s, nil
}

// versionAtLeast compares "major.minor[.…]" with major.minor.
func versionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return ma > major || (ma == major && mi >= minor)
}

// Modern reports whether the sink uses the ≥ 23.2 layout.
func (s *Sink) Modern() bool { return s.modern }

// ServerVersion is the server's version() string.
func (s *Sink) ServerVersion() string { return s.version }

// Err returns the error that stopped the sink, if any (a background insert that failed: the
// sink is closing, or a failure no retry cures, which Failed announces).
func (s *Sink) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sticky
}

// Failed is closed once a background insert failed for good (pipeline.FailureNotifier); Flush
// then returns the error.
func (s *Sink) Failed() <-chan struct{} {
	if s.failed == nil {
		return nil
	}
	return s.failed.Done()
}

// Stats returns the counters.
func (s *Sink) Stats() Stats {
	return Stats{Rows: s.stats.rows.Load(), Batches: s.stats.batches.Load(), Records: s.stats.records.Load(),
		Parked: s.stats.parked.Load(), Replayed: s.stats.replayed.Load(), Retries: s.stats.retries.Load(), SchemaChanges: s.stats.schema.Load(),
		ToastMissing: s.stats.toast.Load(), LastSourceMs: s.stats.lastMs.Load(), InsertTime: time.Duration(s.stats.insertNs.Load()),
		InsertWait: time.Duration(s.stats.waitNs.Load())}
}

// Send applies one record to the pending batch. It keeps no reference to rec's bytes beyond
// the call (values are converted on the spot). token is reported to durable once the record's
// rows are acknowledged by ClickHouse.
func (s *Sink) Send(ctx context.Context, rec *envelope.Record, token uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.sticky != nil {
		return s.sticky
	}
	if err := s.apply(ctx, rec, token); err != nil {
		return err
	}
	s.tokens = append(s.tokens, token)
	s.lastSend = time.Now()
	s.caughtUp = false
	if s.rows >= s.cfg.BatchRows || s.bytes >= s.cfg.BatchBytes {
		s.lastFull = true
		return s.flushAsync(ctx)
	}
	return nil
}

// SetOrigin tells the sink which upstream session wrote the records Send gets from now on
// (`sluice clickhouse`: the Kafka producer's id and epoch, source/kafka Position.Producer; 0:
// unknown). A session that starts re-sends what followed its last stored offset: a keyless
// table's row of a new session at the version its identical-row count stands at is a replay,
// so the count starts over (see table.rowID) and the row collapses with its first copy. Call it
// from the goroutine that calls Send, before the Send of the record.
func (s *Sink) SetOrigin(session uint64) { s.origin.Store(session) }

// InputDrained tells the sink that its source has read everything its input had so far
// (pipeline.InputDrainer). At the end of a burst (the newest insert was a full batch) the rest
// is inserted as soon as no insert runs, instead of after the drained-input wait of due; a
// trickle keeps due's spacing.
func (s *Sink) InputDrained(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.sticky != nil || len(s.tokens) == 0 {
		return nil
	}
	s.caughtUp = true
	if s.due(time.Now()) {
		s.lastFull = false
		return s.flushAsync(ctx)
	}
	return nil
}

// Flush inserts everything pending and reports it durable.
func (s *Sink) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sticky != nil {
		return s.sticky
	}
	return s.flushLocked(ctx)
}

// Close stops the flush timer and closes the connection. Pending rows not flushed are not
// reported durable (call Flush first).
func (s *Sink) Close() error {
	// Stop the timer first: a timer flush may hold the lock while it retries.
	s.closeOnce.Do(func() { close(s.stopTick) })
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.lifeEnd() // a background flush still retrying gives up; its records stay unreported
	if s.inflight != nil {
		<-s.inflight.done
		s.inflight = nil
	}
	return s.conn.Close()
}

func (s *Sink) ticker() {
	defer s.wg.Done()
	t := time.NewTicker(max(s.cfg.FlushInterval/20, time.Millisecond))
	defer t.Stop()
	prog := time.NewTicker(s.cfg.ProgressInterval)
	defer prog.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stopTick
		cancel()
	}()
	var lastRows uint64
	lastAt := time.Now()
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	var pingFailedAt, pingLogged time.Time
	for {
		select {
		case <-s.stopTick:
			return
		case now := <-ping.C:
			// No call for a while: ask, so that /readyz and the gauge see an outage of an idle
			// sink too. Not while a flush runs: its own retries say how ClickHouse is doing.
			s.mu.Lock()
			busy := s.inflight != nil
			if busy {
				select {
				case <-s.inflight.done:
					busy = false
				default:
				}
			}
			s.mu.Unlock()
			if busy || now.Sub(time.Unix(0, s.lastOK.Load())) < pingEvery/2 {
				continue
			}
			pctx, cancel := context.WithTimeout(ctx, pingEvery)
			err := s.conn.Ping(pctx)
			cancel()
			switch {
			case ctx.Err() != nil:
			case err == nil:
				s.up()
				if !pingFailedAt.IsZero() {
					s.log.Info("clickhouse reachable again", "addr", strings.Join(s.cfg.Addr, ","), "failed_for", time.Since(pingFailedAt).Round(time.Millisecond).String())
				}
				pingFailedAt, pingLogged = time.Time{}, time.Time{}
			default:
				s.down(err, now)
				if pingFailedAt.IsZero() {
					pingFailedAt = now
				}
				if now.Sub(pingLogged) >= 30*time.Second {
					pingLogged = now
					s.log.Warn("clickhouse unreachable while idle; pinging every "+pingEvery.String(), "addr", strings.Join(s.cfg.Addr, ","),
						"failing_for", now.Sub(pingFailedAt).Round(time.Millisecond).String(), "err", err)
				}
			}
		case <-t.C:
			s.mu.Lock()
			if s.sticky == nil && len(s.tokens) > 0 && s.due(time.Now()) {
				s.lastFull = false
				if err := s.flushAsync(ctx); err != nil && ctx.Err() == nil {
					s.sticky = err
				}
			}
			s.mu.Unlock()
		case now := <-prog.C:
			st := s.Stats()
			rate := float64(st.Rows-lastRows) / now.Sub(lastAt).Seconds()
			moved := st.Rows != lastRows
			lastRows, lastAt = st.Rows, now
			attrs := []any{"rows", st.Rows, "rows_per_s", int64(rate), "batches", st.Batches,
				"parked", st.Parked, "replayed", st.Replayed, "retries", st.Retries, "schema_changes", st.SchemaChanges}
			// The lag of the newest row inserted: only while rows arrive. Idle and caught up,
			// the last row's age is not lag (it grew for ever on a quiet source).
			if st.LastSourceMs > 0 && moved {
				attrs = append(attrs, "source_lag_ms", now.UnixMilli()-st.LastSourceMs)
			}
			s.log.Info("clickhouse progress", attrs...)
		}
	}
}

// connectFlag bounds New's retries (Config.ConnectTimeout).
const connectFlag = "--clickhouse-connect-timeout"

// pingEvery is how often an idle sink pings ClickHouse (Config.Link).
const pingEvery = 5 * time.Second

// due reports whether the pending rows should be inserted now without waiting for a full
// batch: they are FlushInterval old, or no insert is running and either a burst just ended
// (the source read all its input and the newest insert was a full batch) or the input is
// drained (no record for FlushInterval/10) and the last insert started at least
// FlushInterval/2 ago. The second rule
// ends a burst (and a benchmark) without waiting out the interval, while stalls of the input
// and a trickle of records still make at most two early inserts a second.
func (s *Sink) due(now time.Time) bool {
	iv := s.cfg.FlushInterval
	if now.Sub(s.firstAt) >= iv {
		return true
	}
	if s.inflight != nil {
		select {
		case <-s.inflight.done:
		default:
			return false
		}
	}
	if s.caughtUp && s.lastFull {
		return true
	}
	return now.Sub(s.lastSend) >= iv/10 && now.Sub(s.lastStart) >= iv/2
}

// retry runs fn until it succeeds, fails in a way no retry cures, ctx ends, or it kept failing
// for RetryTimeout (--errors-retry-timeout), with exponential backoff.
func (s *Sink) retry(ctx context.Context, what string, fn func(ctx context.Context) error) error {
	return s.retryFor(ctx, what, s.cfg.RetryTimeout, "--errors-retry-timeout, errors.retry.timeout", fn)
}

// retryFor is retry bounded by limit (negative: none), which flag sets. Every failed attempt
// is logged with its error, counted in Stats.Retries and shown on cfg.Link until a success.
func (s *Sink) retryFor(ctx context.Context, what string, limit time.Duration, flag string, fn func(ctx context.Context) error) error {
	wait := 100 * time.Millisecond
	var start time.Time
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil {
			s.up()
			if attempt > 1 {
				s.log.Info("clickhouse recovered", "op", what, "attempts", attempt, "failed_for", time.Since(start).Round(time.Millisecond).String())
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("clickhouse %s: %w (gave up: %v)", what, err, ctx.Err())
		}
		if authFailed(err) {
			return fmt.Errorf("clickhouse %s: %w (not retried: check --clickhouse-user and the password: --clickhouse-password-file or SLUICE_CLICKHOUSE_PASSWORD)", what, err)
		}
		if certificateFailed(err) {
			return fmt.Errorf("clickhouse %s: %w (not retried: set --clickhouse-tls-ca-file to the CA that signed the server's certificate, or --clickhouse-tls-server-name to a name it carries)", what, err)
		}
		var stop noRetry
		if errors.As(err, &stop) {
			return fmt.Errorf("clickhouse %s: %w", what, stop.error)
		}
		now := time.Now()
		if attempt == 1 {
			start = now
		}
		s.down(err, now)
		failing := now.Sub(start)
		if limit >= 0 && failing >= limit {
			return &UnavailableError{Op: what, Addr: strings.Join(s.cfg.Addr, ","), Waited: failing, Attempts: attempt, Flag: flag,
				Start: flag == connectFlag, Err: err}
		}
		if limit >= 0 {
			wait = min(wait, limit-failing)
		}
		s.stats.retries.Add(1)
		attrs := []any{"op", what, "addr", strings.Join(s.cfg.Addr, ","), "attempt", attempt, "wait", wait.Round(time.Millisecond).String(),
			"failing_for", failing.Round(time.Millisecond).String(), "err", err}
		if limit >= 0 {
			attrs = append(attrs, "gives_up_in", (limit - failing).Round(time.Second).String())
		}
		s.log.Warn("clickhouse call failed; retrying", attrs...)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("clickhouse %s: %w (gave up: %v)", what, err, ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, s.cfg.MaxBackoff)
	}
}

// up records a call ClickHouse answered (Config.Link).
func (s *Sink) up() {
	s.lastOK.Store(time.Now().UnixNano())
	s.cfg.Link.DisconnectedUnixMilli.Store(0)
}

// down records a failed call (Config.Link): the streak's first time stays.
func (s *Sink) down(err error, now time.Time) {
	s.cfg.Link.DisconnectErr.Store(err.Error())
	s.cfg.Link.DisconnectedUnixMilli.CompareAndSwap(0, now.UnixMilli())
}

// noRetry marks an error of a retried call that no retry cures; retry returns it at once.
type noRetry struct{ error }

// unknownTable reports UNKNOWN_TABLE (60): the table is not there (any more).
func unknownTable(err error) bool {
	var ex *ch.Exception
	return errors.As(err, &ex) && ex.Code == 60
}

// tableDropped is the error of an insert into a table that was dropped under the sink. Not
// retried: the rows the table held are gone, and recreating it (which a reopen would do)
// would leave a copy with only the changes from here on, without a word (what a sink that
// creates missing tables, as Debezium's JDBC sink with schema.evolution=basic, would do). The
// operator decides how to rebuild the copy.
func (s *Sink) tableDropped(name string, err error) error {
	return noRetry{fmt.Errorf("%w: %s.%s (%v). The rows it held are gone and the change stream will not bring them back, so the sink stops "+
		"rather than recreate it with only the changes from here on. To rebuild the copy: restart (the sink creates the table anew), "+
		"then read the source table again: an execute-snapshot signal for it, or --snapshot-mode always; with sluice clickhouse, "+
		"read its topic again from the start (a new --group with --initial-offset oldest) (docs/clickhouse.md, Dropped target tables)",
		ErrTableDropped, s.db, name, err)}
}

// noSuchColumn reports NO_SUCH_COLUMN_IN_TABLE (16).
func noSuchColumn(err error) bool {
	var ex *ch.Exception
	return errors.As(err, &ex) && ex.Code == 16
}

// columnDropped is the error of an insert into a table that lacks a column the sink created:
// an operator dropped or renamed it. Not retried (no retry brings it back) when
// system.columns confirms it; the values it held are gone, so the operator decides.
func (s *Sink) columnDropped(ctx context.Context, name string, cols []column, err error) error {
	rows, qerr := s.conn.Query(ctx, "SELECT name FROM system.columns WHERE database = "+quoteString(s.cfg.Database)+" AND table = "+quoteString(name))
	if qerr != nil {
		return err
	}
	have := map[string]bool{}
	for rows.Next() {
		var n string
		if rows.Scan(&n) == nil {
			have[n] = true
		}
	}
	rows.Close()
	if rows.Err() != nil {
		return err
	}
	var missing, add []string
	for _, c := range cols {
		if !have[c.name] {
			missing = append(missing, c.name)
			add = append(add, "ALTER TABLE "+s.db+"."+quoteIdent(name)+" ADD COLUMN "+quoteIdent(c.name)+" "+c.chType())
		}
	}
	if len(missing) == 0 {
		return err // seen again: retried
	}
	return noRetry{fmt.Errorf("%w: %s.%s has no column %s any more (%v): it was dropped or renamed outside sluice, and the values "+
		"it held are gone. The sink stops rather than write on without it. Add it back (%s; a restart of sluice adds it too), "+
		"then restart; rows stored before read its default until a new snapshot of the source table rewrites them",
		ErrColumnDropped, s.db, name, strings.Join(missing, ", "), err, strings.Join(add, "; "))}
}

// certificateFailed reports a server certificate that does not verify, which no retry cures.
func certificateFailed(err error) bool {
	var ve *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	return errors.As(err, &ve) || errors.As(err, &ua) || errors.As(err, &hn)
}

// authFailed reports a refused login, which no retry cures: UNKNOWN_USER (192), WRONG_PASSWORD
// (193), REQUIRED_PASSWORD (194), AUTHENTICATION_FAILED (516, newer servers).
func authFailed(err error) bool {
	var ex *ch.Exception
	if !errors.As(err, &ex) {
		return false
	}
	switch ex.Code {
	case 192, 193, 194, 516:
		return true
	}
	return false
}

// exec runs a DDL statement with retries. done, when set, tells whether the statement's effect
// is already there, so that a failed attempt whose effect is (an earlier attempt's answer was
// lost with its connection) counts as done.
func (s *Sink) exec(ctx context.Context, q string, done func(context.Context) bool) error {
	s.log.Info("clickhouse ddl", "sql", q)
	if err := s.retry(ctx, "ddl", func(ctx context.Context) error {
		err := s.conn.Exec(ctx, q)
		if err != nil && done != nil && done(ctx) {
			s.log.Info("clickhouse ddl already applied", "sql", q, "err", err)
			return nil
		}
		return err
	}); err != nil {
		return err
	}
	s.stats.schema.Add(1)
	return nil
}

// tableName applies the TableName template.
func (s *Sink) tableName(c *change, topic string) string {
	if s.cfg.TableName == "{table}" {
		return c.table
	}
	return s.cfg.TableNameOf(c.db, c.schema_, c.table, topic)
}

// TableNameOf is the ClickHouse table of a source table under the TableName template
// (topic: the Kafka topic, empty in-process).
func (cfg Config) TableNameOf(db, schema, table, topic string) string {
	n := cfg.TableName
	if n == "" {
		n = "{table}"
	}
	for _, kv := range [...][2]string{{"{db}", db}, {"{schema}", schema}, {"{table}", table}, {"{topic}", topic}} {
		if strings.Contains(n, kv[0]) {
			n = strings.ReplaceAll(n, kv[0], kv[1])
		}
	}
	return n
}

// park keeps a record that cannot be applied in _sluice_parked, with the reason.
func (s *Sink) park(rec *envelope.Record, table string, version, token uint64, reason error) {
	s.stats.parked.Add(1)
	s.log.Error("clickhouse record parked in _sluice_parked", "table", table, "topic", rec.Topic, "version", version, "err", reason)
	s.parked = append(s.parked, parkedRecord{table: table, topic: rec.Topic, reason: reason.Error(),
		token: token, version: version, key: string(rec.Key), value: string(rec.Value)})
	// A parked record holds its whole key and value until the next insert: they count against
	// BatchBytes, or a stream of unreadable records would grow the batch without bound.
	s.bytes += len(rec.Key) + len(rec.Value)
	if s.firstAt.IsZero() || len(s.tokens) == 0 {
		s.firstAt = time.Now()
	}
}

// apply parses one record and appends its rows.
func (s *Sink) apply(ctx context.Context, rec *envelope.Record, token uint64) error {
	if len(s.tokens) == 0 {
		s.firstAt = time.Now()
	}
	c, ok, err := parseChange(&s.cache, rec.Key, rec.Value)
	if s.log.Enabled(ctx, slog.LevelDebug) {
		if s.cfg.LogValues {
			s.log.Debug("clickhouse record", "topic", rec.Topic, "op", string(c.op), "version", c.version, "ok", ok, "err", err,
				"value", string(rec.Value[max(0, strings.Index(string(rec.Value), `"payload"`)):]))
		} else {
			s.log.Debug("clickhouse record", "topic", rec.Topic, "op", string(c.op), "version", c.version, "ok", ok, "err", err)
		}
	}
	if err != nil {
		s.park(rec, "", 0, token, fmt.Errorf("unreadable record: %w", err))
		return nil
	}
	if !ok {
		return nil
	}
	name := s.tableName(&c, rec.Topic)
	if c.table == "" {
		s.park(rec, "", c.version, token, errors.New("change event without source.table"))
		return nil
	}
	if c.op == 't' {
		return s.truncate(ctx, name)
	}
	switch c.op {
	case 'c':
		c.oldKey = oldKeyHeader(rec.Headers)
	case 'd':
		c.moved = hasHeader(rec.Headers, envelope.HeaderNewKey)
	}
	if c.lsn != 0 && c.op != 'r' && len(rec.Headers) > 0 {
		if n := lsnEvent(rec.Headers); n != 0 {
			c.rowAt = pgPlace(c.lsn, n)
		}
	}
	if !c.hasPos {
		s.park(rec, name, 0, token, ErrNoPosition)
		return nil
	}
	t, err := s.table(ctx, name)
	if err != nil {
		return err
	}
	b, err := s.bind(ctx, t, &c)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		s.park(rec, name, c.version, token, err)
		return nil
	}
	if err := s.appendChange(ctx, t, b, &c); err != nil {
		if errors.Is(err, errToastFlush) {
			if err := s.flushLocked(ctx); err != nil {
				return err
			}
			t.toast = true
			err = s.appendChange(ctx, t, t.batch.bind, &c)
		}
		if err != nil {
			s.park(rec, name, c.version, token, err)
			return nil
		}
	}
	s.bytes += c.rowBytes
	if c.tsMs > t.batch.tsMs {
		t.batch.tsMs = c.tsMs
	}
	return nil
}

// truncate flushes everything pending (stream order) and empties the table.
func (s *Sink) truncate(ctx context.Context, name string) error {
	if err := s.flushLocked(ctx); err != nil {
		return err
	}
	t, err := s.table(ctx, name)
	if err != nil {
		return err
	}
	if !t.exists {
		return nil
	}
	s.log.Info("clickhouse truncate (source TRUNCATE captured)", "table", t.name)
	return s.exec(ctx, "TRUNCATE TABLE "+s.db+"."+quoteIdent(t.name), nil)
}

// flushJob is one batch boundary's worth of inserts: the table batches detached from the
// tables, the parked records and the tokens to report once all of them are in ClickHouse.
type flushJob struct {
	tables []jobTable
	tokens []uint64
	parked []parkedRecord
	done   chan struct{}
	err    error
}

type jobTable struct {
	name string // t.name, the table the rows go to
	b    *tableBatch
	t    *table
}

// detach moves everything pending into a job; the tables get empty batches of the same binding.
func (s *Sink) detach() *flushJob {
	j := &flushJob{tokens: s.tokens, parked: s.parked, done: make(chan struct{})}
	s.lastStart = time.Now()
	for _, t := range s.order {
		t.queued = false
		if t.batch == nil || t.batch.rows() == 0 {
			continue
		}
		j.tables = append(j.tables, jobTable{t.name, t.batch, t})
		t.batch = s.nextBatch(t.batch.bind)
	}
	s.order = s.order[:0]
	s.tokens, s.parked = nil, nil
	s.rows, s.bytes = 0, 0
	s.firstAt = time.Time{}
	return j
}

// run inserts the job's batches in order, then its parked records, then reports its tokens.
func (s *Sink) run(ctx context.Context, j *flushJob) error {
	for _, jt := range j.tables {
		if err := s.insert(ctx, jt.name, jt.b); err != nil {
			return err
		}
	}
	if len(j.parked) > 0 {
		if err := s.insertParked(ctx, j.parked); err != nil {
			return err
		}
	}
	for _, tok := range j.tokens {
		s.durable(tok)
	}
	s.stats.records.Add(uint64(len(j.tokens)))
	return nil
}

// waitInflight waits for the flush running in the background, if any. Its failure (only when
// the sink is closing) becomes sticky.
func (s *Sink) waitInflight(ctx context.Context) error {
	j := s.inflight
	if j == nil {
		return nil
	}
	select {
	case <-j.done:
	default:
		t0 := time.Now()
		select {
		case <-j.done:
			s.stats.waitNs.Add(int64(time.Since(t0)))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.inflight = nil
	if j.err != nil {
		s.sticky = j.err
		return j.err
	}
	s.recycle(j)
	return nil
}

// maxSpares bounds the inserted batches kept for reuse (see recycle).
const maxSpares = 4

// recycle keeps the column buffers of a finished job's big batches for their binding's next
// batch, so that they grow to a batch's size once instead of from empty for every batch (the
// growth was 15% of the bytes allocated on the bench). At most maxSpares are kept, the newest.
func (s *Sink) recycle(j *flushJob) {
	for _, jt := range j.tables {
		b := jt.b
		if b.rows() < insertBlockRows || b.bind.spare != nil {
			continue
		}
		if len(s.spares) == maxSpares {
			s.spares[0].spare = nil
			s.spares = append(s.spares[:0], s.spares[1:]...)
		}
		b.reset()
		b.bind.spare = b
		s.spares = append(s.spares, b.bind)
	}
}

// nextBatch is newBatch, reusing the binding's spare batch when it has one.
func (s *Sink) nextBatch(bd *binding) *tableBatch {
	b := bd.spare
	if b == nil {
		return newBatch(bd)
	}
	bd.spare = nil
	for i, sb := range s.spares {
		if sb == bd {
			s.spares = append(s.spares[:i], s.spares[i+1:]...)
			break
		}
	}
	return b
}

// flushLocked inserts everything pending (after the background flush, if any) and reports it
// durable before returning: the batch boundary DDL and truncates need.
func (s *Sink) flushLocked(ctx context.Context) error {
	if err := s.waitInflight(ctx); err != nil {
		return err
	}
	if len(s.tokens) == 0 && len(s.parked) == 0 {
		return nil
	}
	j := s.detach()
	if err := s.run(ctx, j); err != nil {
		// keep the rows: put the job back in front so that a later flush retries them
		s.requeue(j)
		return err
	}
	s.recycle(j)
	return nil
}

// requeue puts a failed synchronous job back as pending, exactly as it was (the lock was held
// throughout, so nothing was added since detach), so a later flush retries the same rows.
func (s *Sink) requeue(j *flushJob) {
	for _, jt := range j.tables {
		t := jt.t // s.tables is keyed by the table's own name, which may be its view's
		t.batch = jt.b
		t.queued = true
		s.order = append(s.order, t)
		s.rows += jt.b.rows()
	}
	s.tokens, s.parked = j.tokens, j.parked
	s.firstAt = time.Now()
}

// flushAsync starts inserting everything pending in the background, so that the next batch is
// parsed while ClickHouse works on this one. At most one flush runs at a time.
func (s *Sink) flushAsync(ctx context.Context) error {
	if err := s.waitInflight(ctx); err != nil {
		return err
	}
	if len(s.tokens) == 0 && len(s.parked) == 0 {
		return nil
	}
	j := s.detach()
	s.inflight = j
	go func() {
		j.err = s.run(s.life, j)
		close(j.done)
		// A failure outside Close (one retry does not cure: a dropped table, a refused login)
		// must reach the pipeline now: with no further record, nothing would flush again and
		// find it (waitInflight makes it sticky under the lock).
		if j.err != nil && s.life.Err() == nil && s.setFailed != nil {
			s.setFailed()
		}
	}()
	return nil
}

// insertBlockRows is the most rows sent to the driver in one native block.
const insertBlockRows = 4096

func (s *Sink) insert(ctx context.Context, name string, b *tableBatch) error {
	if err := s.resolveToast(ctx, name, b); err != nil {
		return err
	}
	cols := make([]string, 0, len(b.bind.cols)+2)
	for _, c := range b.bind.cols {
		cols = append(cols, quoteIdent(c.name))
	}
	cols = append(cols, "`_version`", "`_is_deleted`")
	if b.bind.rowID {
		cols = append(cols, "`_row_id`")
	}
	q := "INSERT INTO " + s.db + "." + quoteIdent(name) + " (" + strings.Join(cols, ", ") + ")"
	ictx := ctx
	if s.modern {
		ictx = ch.Context(ctx, ch.WithSettings(ch.Settings{"insert_deduplication_token": b.token(name)}))
	}
	t0 := time.Now()
	defer func() { s.stats.insertNs.Add(int64(time.Since(t0))) }()
	n := b.rows()
	err := s.retry(ictx, "insert into "+name, func(ctx context.Context) error {
		batch, err := s.conn.PrepareBatch(ctx, q)
		if unknownTable(err) {
			return s.tableDropped(name, err)
		}
		if noSuchColumn(err) {
			return s.columnDropped(ctx, name, b.bind.cols, err)
		}
		if err != nil {
			return err
		}
		// One INSERT, sent as blocks of at most insertBlockRows rows: the driver encodes (and
		// compresses) a block at a time, so its buffers stay a few MB instead of a copy of the
		// whole batch. The server squashes the blocks into one part (min_insert_block_size_rows).
		for lo := 0; lo < n; lo += insertBlockRows {
			hi := min(lo+insertBlockRows, n)
			for i := range cols {
				var d any
				switch i - len(b.bufs) {
				case 0:
					d = b.versions[lo:hi:hi]
				case 1:
					d = b.deleted[lo:hi:hi]
				case 2:
					d = b.rowIDs[lo:hi:hi]
				default:
					d = b.bufs[i].data(lo, hi)
				}
				if err := batch.Column(i).Append(d); err != nil {
					_ = batch.Abort()
					return fmt.Errorf("column %s: %w", cols[i], err)
				}
			}
			if hi < n {
				if err := batch.Flush(); err != nil {
					_ = batch.Abort()
					return err
				}
			}
		}
		return batch.Send()
	})
	if err != nil {
		return err
	}
	s.stats.rows.Add(uint64(b.rows()))
	s.stats.batches.Add(1)
	if b.tsMs > s.stats.lastMs.Load() {
		s.stats.lastMs.Store(b.tsMs)
	}
	return nil
}

func (s *Sink) insertParked(ctx context.Context, parked []parkedRecord) error {
	now := time.Now().UTC().Truncate(time.Second)
	var ts []time.Time
	var table, topic, reason, key, value []string
	var token, version []uint64
	for _, p := range parked {
		ts = append(ts, now)
		table, topic, reason = append(table, p.table), append(topic, p.topic), append(reason, p.reason)
		key, value = append(key, p.key), append(value, p.value)
		token, version = append(token, p.token), append(version, p.version)
	}
	data := []any{ts, table, topic, token, version, reason, key, value}
	q := "INSERT INTO " + s.db + ".`_sluice_parked` (ts, table, topic, token, version, reason, key, value)"
	return s.retry(ctx, "insert parked records", func(ctx context.Context) error {
		batch, err := s.conn.PrepareBatch(ctx, q)
		if err != nil {
			return err
		}
		for i, d := range data {
			if err := batch.Column(i).Append(d); err != nil {
				_ = batch.Abort()
				return err
			}
		}
		return batch.Send()
	})
}

// token is the insert_deduplication_token of a batch. It must be equal for a retried block and
// different for any other, so it hashes what the block holds: the table, its columns, and per
// row the version, the delete flag and a hash of the row image the row was built from. Hashing
// versions alone is not enough: every row of a snapshot (and of a multi-row event) shares its
// source position, so two different batches of one snapshot would share a token and the server
// would drop the second without an error.
func (b *tableBatch) token(table string) string {
	h := xxhash.New()
	_, _ = h.WriteString(table)
	for _, c := range b.bind.cols {
		_, _ = h.WriteString("\x00" + c.name)
	}
	var buf [17]byte
	for i, v := range b.versions {
		binary.LittleEndian.PutUint64(buf[:8], v)
		buf[8] = b.deleted[i]
		binary.LittleEndian.PutUint64(buf[9:], b.sums[i])
		_, _ = h.Write(buf[:])
		if b.bind.rowID {
			binary.LittleEndian.PutUint64(buf[:8], b.rowIDs[i])
			_, _ = h.Write(buf[:8])
		}
	}
	return fmt.Sprintf("sluice-%s-%d-%d-%x", table, b.versions[0], len(b.versions), h.Sum64())
}
