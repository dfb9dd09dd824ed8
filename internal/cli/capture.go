package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/internal/leader"
	"github.com/sluicecdc/sluice/internal/offsets"
	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/internal/properties"
	"github.com/sluicecdc/sluice/signal"
	"github.com/sluicecdc/sluice/signal/kafkasignal"
	"github.com/sluicecdc/sluice/sink/kafka"
)

// Capture is what the capture subcommands share: their common flags (each component's
// RegisterFlags, plus --sink, --dsn, --password-file, --memory-limit and --http-addr), the
// sinks their main wired in, and the run loop from offsets through the pipeline.
type Capture struct {
	*Set

	Envelope envelope.Config
	Kafka    kafka.Config // the Kafka sink's settings; its brokers also serve --offsets-topic
	EOS      kafka.EOS    // --exactly-once: the Kafka sink writes in transactions
	// OnTxnSink, if set, sees each --exactly-once sink right after it opened (the MySQL
	// command hands it to its Kafka schema history, whose records then commit with the data).
	OnTxnSink func(*kafka.TxnSink)
	Pipeline  pipeline.Config
	Offsets   offsets.Config
	HA        leader.Config // --ha: one process of the connector leads, the others stand by
	// Transforms are applied to every record between the encoder and the sink.
	Transforms Transforms
	// Signals are the signal channels (signal.enabled.channels, signal.kafka.*); Run reads
	// the Kafka one for each source it opens (signal.Receiver).
	Signals kafkasignal.Config

	Sink string
	// ReplaceNull is JsonConverter's replace.null.with.default: auto (true, except for the
	// ClickHouse sink), true or false; validate sets Envelope.KeepNulls from it.
	ReplaceNull  string
	DSN          string
	PasswordFile string
	password     string // --password (database.password); a secret, never shown
	havePassword bool
	MemoryLimit  string
	HTTPAddr     string
	HTTP         HTTPSecurity

	// RetryTimeout bounds how long Run keeps reopening the source after retryable failures in
	// a row (errors.retry.timeout; default 10m; negative: for ever).
	RetryTimeout time.Duration
	// MaxRetries bounds how many reopens in a row Run tries (errors.max.retries; default -1:
	// only RetryTimeout bounds them; 0: none).
	MaxRetries int
	// RetryWait is the longest wait between two reopens; the first waits 1 s, then the wait
	// doubles up to this (retriable.restart.connector.wait.ms; default 10s).
	RetryWait time.Duration
	// ReadyTimeout is how long work may wait for the sink before /readyz says not ready
	// (--ready-timeout, default 5s).
	ReadyTimeout time.Duration
	// ProgressInterval is how often a running snapshot's progress is logged when standard
	// error is not a terminal (--progress-interval, default 10s; 0: never).
	ProgressInterval time.Duration

	sinks   map[string]Sink
	store   offsets.Store // Run's, for SaveOffset
	signals *kafkasignal.Consumer
	health  *health        // what /healthz, /readyz and /metrics show, across the reconnects of Run
	source  *capture.Stats // the source's figures, one per process (SourceStats)
	serving bool           // Serve ran

	elector *leader.Elector // --ha, once Lead returned
	leadCtx context.Context // ends when the leadership is lost
}

// CaptureUsage is a capture command's help text.
type CaptureUsage struct {
	Synopsis string // what follows the program name on the usage line
	About    string // the paragraph under it
	DSN      string // the usage of --dsn
}

// NewCapture returns the shared flags of the capture command prog with the --sink choices
// kinds (in a main's order; the first is the default).
func NewCapture(prog string, u CaptureUsage, kinds ...SinkKind) *Capture {
	s := NewSet(prog, func(w io.Writer) { fmt.Fprintf(w, "Usage: %s %s\n\n%s\n\n", prog, u.Synopsis, u.About) })
	return addCapture(s, u.DSN, kinds)
}

func addCapture(s *Set, dsnUsage string, kinds []SinkKind) *Capture {
	c := &Capture{Set: s, sinks: map[string]Sink{}, source: new(capture.Stats)}
	fs := s.FlagSet()
	s.Register(GroupOutput, c.Envelope.RegisterFlags)
	s.Register(GroupKafka, c.Kafka.RegisterFlags)
	s.Register(GroupKafka, c.EOS.RegisterFlags)
	s.Register(GroupOperations, c.Pipeline.RegisterFlags)
	s.Register(GroupOperations, c.Offsets.RegisterFlags)
	s.Register(GroupOperations, c.HA.RegisterFlags)
	s.Register(GroupCapture, c.Signals.RegisterFlags)
	c.Transforms.register(s)
	registerColumnOptions(s, &c.Envelope.Columns)
	names := make([]string, 0, len(kinds))
	for _, k := range kinds {
		names = append(names, k.Name)
	}
	slices.Sort(names)
	def := ""
	if len(kinds) > 0 {
		def = kinds[0].Name
	}
	fs.StringVar(&c.Sink, "sink", def, "where records go: "+strings.Join(names, "|"))
	fs.Var(properties.Func("auto", func(v string) error {
		switch v = strings.ToLower(strings.TrimSpace(v)); v {
		case "auto", "true", "false":
			c.ReplaceNull = v
			return nil
		}
		return errors.New("want auto, true or false")
	}), "replace-null-with-default", "write a SQL NULL of a column with a default as that default, as Kafka Connect's JsonConverter does (replace.null.with.default): "+
		"auto|true|false; auto: true, except for --sink clickhouse, whose tables copy the rows (a NULL stays NULL)")
	s.Names(properties.Names{"value.converter.replace.null.with.default": "replace-null-with-default",
		"key.converter.replace.null.with.default":         "replace-null-with-default",
		"debezium.format.value.replace.null.with.default": "replace-null-with-default",
		"debezium.format.key.replace.null.with.default":   "replace-null-with-default"})
	s.SetGroup(GroupOutput, "replace-null-with-default")
	fs.StringVar(&c.DSN, "dsn", "", dsnUsage)
	fs.StringVar(&c.PasswordFile, "password-file", "", "read the database password from this file (first line)")
	fs.Var(properties.Secret(func(v string) error { c.password, c.havePassword = v, true; return nil }), "password",
		"database password (database.password); best from the --config file (or ${file:…}/${env:…} there) or SLUICE_PASSWORD: "+
			"on the command line other users of the host may read it (a warning says so)")
	s.SetGroup(GroupConnection, "dsn", "password-file", "password")
	s.SetGroup(GroupOutput, "sink")
	s.SetGroup(GroupOperations, "memory-limit", "http-addr", "errors-retry-timeout", "errors-max-retries", "retriable-restart-wait",
		"ready-timeout", "progress-interval")
	s.Required("topic-prefix")
	fs.StringVar(&c.MemoryLimit, "memory-limit", "auto", "soft memory limit of the Go runtime, e.g. 64MiB; auto: GOMEMLIMIT if set, else 32 MiB + twice the sink's buffer; off: none")
	fs.StringVar(&c.HTTPAddr, "http-addr", "", "serve /healthz, /readyz and /metrics on this address, e.g. 127.0.0.1:8080 (a port alone, :8080, is on 127.0.0.1; 0.0.0.0:8080 for every interface)")
	c.HTTP.RegisterFlags(fs)
	fs.DurationVar(&c.ReadyTimeout, "ready-timeout", defaultReadyTimeout, "/readyz answers 503 when records wait for the sink and nothing was delivered for this long")
	fs.DurationVar(&c.ProgressInterval, "progress-interval", 10*time.Second, "log a running snapshot's progress this often when standard error is not a terminal (a terminal gets a live display); 0: never")
	fs.DurationVar(&c.RetryTimeout, "errors-retry-timeout", 10*time.Minute, "keep reopening the source after retryable failures (database or Kafka unreachable) for this long in a row, then exit; negative: for ever (errors.retry.timeout, ms)")
	fs.IntVar(&c.MaxRetries, "errors-max-retries", -1, "reopen the source at most this many times in a row after retryable failures; -1: no limit but --errors-retry-timeout; 0: exit at the first (errors.max.retries)")
	fs.DurationVar(&c.RetryWait, "retriable-restart-wait", 10*time.Second, "the longest wait between two reopens; the first waits 1s, then it doubles (retriable.restart.connector.wait.ms)")
	s.Names(map[string]string{"debezium.sink.type": "sink", "retriable.restart.connector.wait.ms": "retriable-restart-wait",
		"errors.max.retries": "errors-max-retries", "database.password": "password",
		"key.converter.schemas.enable": "schemas-enable", "debezium.format.key.schemas.enable": "schemas-enable"})
	// Debezium before 2.0 named the topic prefix database.server.name.
	s.Fallback("database.server.name", "topic-prefix")
	// A producer property sluice does not map is refused, not ignored: whoever tuned it must
	// learn that it would do nothing (exact names, mapped or known unused, match first).
	s.Accept("debezium.sink.kafka.producer.*", func(string) (string, error) {
		return "", errors.New("sluice's Kafka producer has no such setting (docs/kafka.md, Producer settings, lists the ones it maps to flags); remove the line")
	})
	// Debezium Server's offset stores: sluice has the file and the Kafka topic (and memory).
	s.Accept("offset.storage", func(v string) (string, error) {
		switch strings.TrimSpace(v) {
		case "org.apache.kafka.connect.storage.FileOffsetBackingStore", "org.apache.kafka.connect.storage.KafkaOffsetBackingStore",
			"org.apache.kafka.connect.storage.MemoryOffsetBackingStore":
			return "", nil
		}
		return "", errors.New("sluice stores offsets in a file (offset.storage.file.filename), a Kafka topic (offset.storage.topic) or memory")
	})
	s.AliasFunc("errors.retry.timeout", "errors-retry-timeout", millis)
	for _, k := range kinds {
		c.sinks[k.Name] = k.New(c)
	}
	s.Check(func() error { return c.validate(names) })
	return c
}

// validate checks what spans components and reports every problem at once.
func (c *Capture) validate(sinkNames []string) error {
	var errs []error
	// A NULL written as the column default is Kafka Connect's way; a ClickHouse table is a
	// copy of the rows, where it would be a wrong value (sluice verify reports it).
	c.Envelope.KeepNulls = c.ReplaceNull == "false" || c.ReplaceNull != "true" && c.Sink == "clickhouse"
	if err := c.Envelope.Validate(); err != nil {
		errs = append(errs, err)
	}
	if sk, ok := c.sinks[c.Sink]; !ok {
		errs = append(errs, fmt.Errorf("--sink %q: want one of %s", c.Sink, strings.Join(sinkNames, ", ")))
	} else if err := sk.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Transforms.checkSink(c.Sink); err != nil {
		errs = append(errs, err)
	}
	if f, w := c.Pipeline.StallFailTimeout, c.Pipeline.StallTimeout; f > 0 && f < w {
		errs = append(errs, fmt.Errorf("--stall-fail-timeout %s is shorter than --stall-timeout %s", f, w))
	}
	if err := c.Kafka.Client.ValidateSecurity(); err != nil {
		errs = append(errs, err) // also for --offsets-topic and the schema history with --sink stdout
	}
	if c.EOS.Enabled && (c.Sink != "kafka" || c.Offsets.Topic == "") {
		errs = append(errs, errors.New("--exactly-once needs --sink kafka and --offsets-topic NAME (the offset is written in each transaction)"))
	}
	if err := c.HA.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.HA.Enabled && c.Offsets.Topic == "" {
		// Every process of the connector must read the offset its predecessor stored.
		errs = append(errs, errors.New("--ha needs --offsets-topic NAME (and --kafka-brokers): every process of the connector reads the offset the leader before it stored"))
	}
	if c.Offsets.Topic != "" && len(c.Kafka.Client.Brokers) == 0 {
		errs = append(errs, errors.New("--offsets-topic needs --kafka-brokers host:port,…"))
	}
	if err := c.Offsets.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := c.Signals.Validate(c.Kafka.Client.Brokers); err != nil {
		errs = append(errs, err)
	}
	if c.ReadyTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--ready-timeout %s: want a positive duration", c.ReadyTimeout))
	}
	if c.ProgressInterval < 0 {
		errs = append(errs, fmt.Errorf("--progress-interval %s: want a positive duration, or 0 for none", c.ProgressInterval))
	}
	if c.RetryWait <= 0 {
		errs = append(errs, fmt.Errorf("--retriable-restart-wait %s: want a positive duration", c.RetryWait))
	}
	if _, _, err := memoryLimit(c.MemoryLimit, 0, func(string) (string, bool) { return "", false }); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// SourceStats is the one capture.Stats of this process: a capture command passes it to its
// source's Config at every open, and /metrics, /readyz and the progress display read it.
func (c *Capture) SourceStats() *capture.Stats {
	if c.source == nil {
		c.source = new(capture.Stats)
	}
	return c.source
}

func (c *Capture) newHealth() *health {
	h := newHealth(time.Now())
	h.source = c.SourceStats()
	if c.ReadyTimeout > 0 {
		h.readyTimeout = c.ReadyTimeout
	}
	return h
}

// Parse parses the command line with Set.Parse and then sets the runtime's memory limit.
func (c *Capture) Parse(args []string) error {
	if err := c.Set.Parse(args); err != nil {
		return err
	}
	c.applyMemoryLimit()
	return nil
}

// Password is the database password from --password-file (its first line), else --password
// (SLUICE_PASSWORD, database.password), else the environment variable env; ok is false when
// none is given.
func (c *Capture) Password(env string) (pw string, ok bool, err error) {
	if c.PasswordFile != "" {
		pw, err := properties.ReadSecretFile(c.PasswordFile)
		if err != nil {
			return "", false, Config(fmt.Errorf("--password-file: %w", err))
		}
		return pw, true, nil
	}
	if c.havePassword {
		return c.password, true, nil
	}
	pw, ok = os.LookupEnv(env)
	return pw, ok, nil
}

// OpenOffsets opens the offsets store chosen by --offsets-file or --offsets-topic; with
// neither, offsets live in memory only and a restart begins from the source's default start
// (a warning says so). The caller closes it.
func (c *Capture) OpenOffsets(ctx context.Context) (offsets.Store, error) {
	switch {
	case c.Offsets.File != "":
		return offsets.NewFile(c.Offsets.File, c.Offsets.Name, c.Envelope.TopicPrefix), nil
	case c.Offsets.Topic != "":
		rf := c.Offsets.Replication // --offsets-topic-replication, else --topic-replication, else Connect's default
		if rf == 0 {
			rf = c.Kafka.Replication
		}
		return offsets.NewKafka(ctx, offsets.KafkaConfig{
			Client: c.Kafka.Client, Topic: c.Offsets.Topic, Name: c.Offsets.Name, TopicPrefix: c.Envelope.TopicPrefix,
			Replication: rf, ConnectReplication: true, Logger: c.Logger(),
		})
	}
	c.Logger().Warn("no --offsets-file or --offsets-topic: positions are kept in memory only and a restart starts over")
	return new(offsets.Memory), nil
}

// attachSignals reads the Kafka signal channel, when enabled, for src (signal.Receiver).
func (c *Capture) attachSignals(ctx context.Context, src pipeline.Source) error {
	if !c.Signals.Kafka() {
		return nil
	}
	r, ok := src.(signal.Receiver)
	if !ok {
		return Config(errors.New("the kafka signal channel (signal.enabled.channels=kafka): this source does not take signals yet"))
	}
	if c.signals == nil {
		var err error
		if c.signals, err = kafkasignal.New(c.Signals, c.Kafka.Client, c.Envelope.TopicPrefix, c.Logger()); err != nil {
			return Config(err)
		}
	}
	return c.signals.Attach(ctx, r)
}

func (c *Capture) stopSignals() {
	if c.signals != nil {
		c.signals.Stop()
	}
}

// SaveOffset stores value in the offsets store of Run, from the source's open function: a
// source saves an offset of its own before the pipeline runs (the PostgreSQL source, right
// after it created its slot). It fails outside Run.
func (c *Capture) SaveOffset(ctx context.Context, value []byte) error {
	if c.store == nil {
		return errors.New("no offsets store open")
	}
	return c.store.Save(ctx, value)
}

// RunPipeline runs src through the encoder to the chosen sink, saving positions to store,
// until ctx ends or a stage fails. Run serves /healthz, /readyz and /metrics around it.
func (c *Capture) RunPipeline(ctx context.Context, src pipeline.Source, store offsets.Store) error {
	var enc pipeline.Encoder
	enc, err := envelope.NewEncoder(c.Envelope)
	if err != nil {
		return err
	}
	if enc, err = c.withTransforms(enc); err != nil {
		return err
	}
	if c.health == nil {
		c.health = c.newHealth()
	}
	stats := c.health.stats
	sk := c.sinks[c.Sink]
	cfg := c.Pipeline
	cfg.Source, cfg.Encoder, cfg.Offsets, cfg.Logger, cfg.Stats = src, enc, store, c.Logger(), stats
	if c.EOS.Enabled {
		// The sink stores the offset in each transaction; a save outside it could be written
		// by a fenced process after its successor's (docs/kafka.md, exactly once).
		cfg.Offsets = nil
	}
	cfg.NewEncoder = func() (pipeline.Encoder, error) { // one per encode worker
		enc, err := envelope.NewEncoder(c.Envelope)
		if err != nil {
			return nil, err
		}
		return c.withTransforms(enc)
	}
	cfg.NewSink = func(d pipeline.Durable) (pipeline.Sink, error) {
		s, err := sk.Open(ctx, d)
		if tx, ok := s.(interface {
			pipeline.Sink
			pipeline.EventBoundary
		}); ok && err == nil && c.elector != nil {
			return leadSink{tx, c.CheckLeading}, nil // --ha --exactly-once
		}
		return s, err
	}
	return pipeline.Run(ctx, cfg)
}

// Pinger is an optional ability of a --sink choice (Sink) or an offsets store: a cheap check
// that it can take writes now. Run asks before every open of the source, so that a broker
// that is down or an offsets directory that is not writable is found before the source creates
// a replication slot or starts a snapshot. A retryable error (capture.Retryable) is waited out
// like a failed source; any other ends Run.
type Pinger interface {
	Ping(ctx context.Context) error
}

// stableRun is how long a run must last for its failure to start a new streak of retries
// (when it saved no new offset either): a pipeline that worked for a minute was not failing.
const stableRun = time.Minute

// Serve starts /healthz, /readyz and /metrics on --http-addr (if set) for the source plugin
// what ("postgres", "mysql"), until the returned stop is called. Run calls it when the command
// did not: a command that has work to do before Run (opening the schema history) calls it
// first, so that the probes answer from its first second.
func (c *Capture) Serve(ctx context.Context, what string) (stop func(), err error) {
	c.serving = true
	c.health = c.newHealth()
	c.health.register(what, c.Envelope.TopicPrefix, c.Sink)
	if c.HTTPAddr == "" {
		return func() {}, nil
	}
	return serveHTTP(ctx, c.HTTPAddr, c.HTTP, c.health, c.Logger())
}

// Run opens the offsets store and runs the pipeline from the offset in it, reopening the
// source with open from the last saved offset after a retryable failure (a lost server, a
// broker outage), waiting 1 s and doubling up to RetryWait. Failures in a row are retried for
// RetryTimeout and at most MaxRetries times; a run that saved a new offset or lasted
// stableRun ends the streak. Before each open it pings the offsets store and the sink
// (Pinger). onRetry, if set, sees each retryable error first. It returns nil when ctx ends,
// and any other error as it is.
func (c *Capture) Run(ctx context.Context, what string,
	open func(ctx context.Context, offset []byte) (pipeline.Source, error), onRetry func(error)) error {
	log := c.Logger()
	if !c.serving {
		stop, err := c.Serve(ctx, what)
		if err != nil {
			return err
		}
		defer stop()
	}
	// --ha: stand by until this process leads; from here on ctx also ends when it stops leading.
	parent := ctx
	ctx, release, err := c.Lead(ctx)
	if err != nil {
		return err
	}
	defer release()
	if parent.Err() != nil {
		return lostLead(parent)
	}
	pctx, stopProgress := context.WithCancel(ctx)
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		runProgress(pctx, &c.SourceStats().Snapshot, stderrTerm, c.ProgressInterval, log)
	}()
	defer func() { stopProgress(); <-progressDone }()
	store, err := c.OpenOffsets(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	pstore := store // what the pipeline saves to
	if c.elector != nil && !c.EOS.Enabled {
		w, err := leader.NewOffsetWriter(c.Kafka.Client, kafka.TxnID(c.Offsets.Name, c.Envelope.TopicPrefix),
			leader.Group(c.Offsets.Name, c.Envelope.TopicPrefix), c.Offsets.Topic, offsets.Key(c.Offsets.Name, c.Envelope.TopicPrefix), log)
		if err != nil {
			return err
		}
		defer w.Close()
		if err := w.Start(ctx, c.CheckLeading); err != nil {
			return err
		}
		pstore = fencedStore{store, w, c.CheckLeading}
	}
	c.store = pstore
	defer func() { c.store = nil }()
	backoff := min(time.Second, c.retryWait())
	var (
		attempts int       // failed attempts in a row
		since    time.Time // the first failure of the streak
	)
	offset, err := store.Load(ctx)
	if err != nil {
		return fmt.Errorf("load offsets: %w", err)
	}
	for {
		start := time.Now()
		err = c.ping(ctx, store)
		if err == nil && c.elector != nil && !c.elector.Leading() {
			// --ha: the lease ran out while this process waited (a pause, a cut link); the
			// watch that ends ctx may not have run yet. Opening would take the source from
			// the process that leads now.
			return &leader.LostError{Group: leader.Group(c.Offsets.Name, c.Envelope.TopicPrefix), Reason: "the leadership lease ran out before the source was reopened"}
		}
		if err == nil {
			var src pipeline.Source
			if src, err = open(ctx, offset); err == nil {
				if err = c.attachSignals(ctx, src); err == nil {
					c.health.up()
					err = c.RunPipeline(ctx, src, pstore)
				}
				c.stopSignals()
				src.Close()
			}
		}
		if ctx.Err() != nil {
			c.health.stopped()
			if err := lostLead(ctx); err != nil {
				return err // --ha: another process leads now
			}
			return nil // shutdown: whatever failed was cut short by it
		}
		if err == nil || !capture.Retryable(err) {
			c.health.stopped()
			return err
		}
		c.health.failed(err, time.Now())
		next, lerr := store.Load(ctx)
		if lerr != nil {
			return fmt.Errorf("load offsets: %w (after: %w)", lerr, err)
		}
		if !bytes.Equal(next, offset) || time.Since(start) >= stableRun {
			attempts, backoff = 0, min(time.Second, c.retryWait()) // the failed run made progress
		}
		offset = next
		if attempts == 0 {
			since = time.Now()
		}
		attempts++
		if c.MaxRetries >= 0 && attempts > c.MaxRetries || c.RetryTimeout >= 0 && time.Since(since) > c.RetryTimeout {
			c.health.stopped()
			return fmt.Errorf("%s: giving up after %d failed attempts in %s (--errors-retry-timeout %s, --errors-max-retries %d); the last: %w",
				what, attempts, time.Since(since).Round(time.Second), c.RetryTimeout, c.MaxRetries, err)
		}
		if onRetry != nil {
			onRetry(err)
		}
		log.Warn(what+" failed; reopening from the last saved offset", "err", err, "in", backoff, "attempt", attempts,
			"failing_for", time.Since(since).Round(time.Second))
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return lostLead(ctx)
		}
		backoff = min(backoff*2, c.retryWait())
	}
}

func (c *Capture) retryWait() time.Duration {
	if c.RetryWait <= 0 {
		return 10 * time.Second
	}
	return c.RetryWait
}

// ping asks the offsets store and the sink whether they can take writes now (Pinger).
func (c *Capture) ping(ctx context.Context, store offsets.Store) error {
	if p, ok := store.(Pinger); ok {
		if err := p.Ping(ctx); err != nil {
			return fmt.Errorf("offsets store not ready, so the source was not opened: %w", err)
		}
	}
	if p, ok := c.sinks[c.Sink].(Pinger); ok {
		if err := p.Ping(ctx); err != nil {
			return fmt.Errorf("--sink %s not ready, so the source was not opened: %w", c.Sink, err)
		}
	}
	return nil
}

// retryableError marks a failure that a later attempt may not meet (capture.Retryable).
type retryableError struct{ error }

func (e retryableError) Retryable() bool { return true }
func (e retryableError) Unwrap() error   { return e.error }

// ChunkRowsNames maps Debezium's incremental.snapshot.chunk.size to --snapshot-chunk-rows, and
// makes snapshot.fetch.size (Debezium's JDBC fetch size, which the sources also read as the
// chunk size) yield to it when a file has both. Call it after the source's RegisterFlags.
func ChunkRowsNames(c *Capture) {
	c.Names(properties.Names{"incremental.snapshot.chunk.size": "snapshot-chunk-rows"})
	c.Fallback("snapshot.fetch.size", "snapshot-chunk-rows")
}
