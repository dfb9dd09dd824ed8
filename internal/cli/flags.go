package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/offsets"
	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/internal/properties"
	"github.com/sluicecdc/sluice/schema"
	"github.com/sluicecdc/sluice/sink/kafka"
	"github.com/sluicecdc/sluice/sink/stdout"
)

// Flags are the flags every capture subcommand shares. Capture subcommands call
// AddFlags on their own FlagSet, add their flags (and, optionally, property aliases with
// alias), then parse with parse.
type Flags struct {
	fs *flag.FlagSet

	ConfigFile string
	Name       string

	TopicPrefix      string
	Sink             string
	KafkaBrokers     string
	KafkaCompression string
	TopicPartitions  int
	TopicReplication int
	KafkaMaxBuffer   int64
	KafkaLinger      time.Duration
	MemoryLimit      string

	OffsetsFile          string
	OffsetsTopic         string
	OffsetsFlushInterval time.Duration

	SchemasEnable          bool
	DecimalHandling        string
	TimePrecision          string
	BinaryHandling         string
	BigintUnsignedHandling string
	TombstonesOnDelete     bool
	TransactionMetadata    bool
	SkippedOperations      string
	HeartbeatInterval      time.Duration
	DebeziumVersion        string

	LogLevel  string
	LogFormat string
	HTTPAddr  string

	// properties: Debezium property name (after stripping debezium.source.) -> flag name.
	props map[string]propAlias
	// unknown lists config-file keys no flag claimed; logged as warnings once the logger exists.
	unknown []string
	logger  *slog.Logger
	options schema.Options
}

type propAlias struct {
	flag    string
	convert func(string) (string, error) // nil: value as is
}

// flagHooks run at the end of AddFlags (see RegisterFlagHook).
var flagHooks []func(fs *flag.FlagSet, c *Flags)

// RegisterFlagHook makes AddFlags call h at its end, so that another package (e.g. a sink's)
// adds its own flags to every capture subcommand of the binaries that import it.
func RegisterFlagHook(h func(fs *flag.FlagSet, c *Flags)) {
	flagHooks = append(flagHooks, h)
}

// The sinks satisfy the pipeline's contract.
var (
	_ pipeline.Sink = (*kafka.Sink)(nil)
	_ pipeline.Sink = (*stdout.Sink)(nil)
)

// SinkFactory opens a sink that reports durable records to d.
type SinkFactory func(ctx context.Context, c *Flags, d pipeline.Durable) (pipeline.Sink, error)

// sinkFactories maps --sink names to their factories; other packages add theirs with
// RegisterSink.
var sinkFactories = map[string]SinkFactory{
	"stdout": openStdoutSink,
	"kafka":  openKafkaSink,
}

// sinkBuffers maps --sink names to the bytes the sink holds between flushes or acknowledgements
// (for --memory-limit auto); a sink without one counts 0.
var sinkBuffers = map[string]func(c *Flags) int64{
	"kafka": func(c *Flags) int64 {
		if c.KafkaMaxBuffer == 0 {
			return kafka.DefaultMaxBufferedBytes
		}
		return c.KafkaMaxBuffer
	},
}

// RegisterSink adds the --sink name, opened by open; buffer, if not nil, reports the bytes the
// sink holds between flushes (see --memory-limit). Call it from init.
func RegisterSink(name string, open SinkFactory, buffer func(c *Flags) int64) {
	sinkFactories[name] = open
	if buffer != nil {
		sinkBuffers[name] = buffer
	}
}

// AddFlags registers the common flags on fs.
func AddFlags(fs *flag.FlagSet) *Flags {
	c := &Flags{fs: fs, props: map[string]propAlias{}}
	fs.StringVar(&c.ConfigFile, "config", "", "Debezium-style properties file (debezium.source.* names accepted); flags and SLUICE_* env vars override it")
	fs.StringVar(&c.Name, "name", "sluice", "connector name: the namespace of the stored offsets (Debezium name)")
	fs.StringVar(&c.TopicPrefix, "topic-prefix", "", "topic prefix (Debezium topic.prefix); required")
	fs.StringVar(&c.Sink, "sink", "stdout", "where records go: "+strings.Join(sinkNames(), "|"))
	fs.StringVar(&c.KafkaBrokers, "kafka-brokers", "", "Kafka bootstrap brokers, host:port,… (with --sink kafka or --offsets-topic)")
	fs.StringVar(&c.KafkaCompression, "kafka-compression", "none", "Kafka compression: none|lz4|zstd|snappy|gzip")
	fs.IntVar(&c.TopicPartitions, "topic-partitions", 1, "partitions of topics sluice creates")
	fs.IntVar(&c.TopicReplication, "topic-replication", 1, "replication factor of topics sluice creates (-1: broker default)")
	fs.Int64Var(&c.KafkaMaxBuffer, "kafka-max-buffered-bytes", kafka.DefaultMaxBufferedBytes, "bytes of records sent to Kafka but not yet acknowledged before sends block")
	fs.DurationVar(&c.KafkaLinger, "kafka-linger", 0, "how long a Kafka batch may wait for more records (linger.ms); 0 sends as soon as the partition has no request outstanding, batching by itself under load")
	fs.StringVar(&c.OffsetsFile, "offsets-file", "", "store offsets in this file (atomic replace)")
	fs.StringVar(&c.OffsetsTopic, "offsets-topic", "", "store offsets in this compacted Kafka topic (Kafka Connect layout)")
	fs.DurationVar(&c.OffsetsFlushInterval, "offsets-flush-interval", time.Second, "how often acknowledged positions are saved (offset.flush.interval.ms)")
	fs.BoolVar(&c.SchemasEnable, "schemas-enable", true, "write the Connect schema beside each key and value (JsonConverter schemas.enable)")
	fs.StringVar(&c.DecimalHandling, "decimal-handling", "precise", "decimal.handling.mode: precise|double|string")
	fs.StringVar(&c.TimePrecision, "time-precision", "", "time.precision.mode: adaptive|adaptive_time_microseconds|connect|microseconds|isostring (default: the connector's)")
	fs.StringVar(&c.BinaryHandling, "binary-handling", "bytes", "binary.handling.mode: bytes|base64|base64-url-safe|hex")
	fs.StringVar(&c.BigintUnsignedHandling, "bigint-unsigned-handling", "long", "bigint.unsigned.handling.mode: long|precise")
	fs.BoolVar(&c.TombstonesOnDelete, "tombstones-on-delete", true, "emit a tombstone after each delete (tombstones.on.delete)")
	fs.BoolVar(&c.TransactionMetadata, "transaction-metadata", false, "emit transaction BEGIN/END records and the transaction block (provide.transaction.metadata)")
	fs.StringVar(&c.SkippedOperations, "skipped-operations", "t", "op codes not to publish, e.g. \"t\" or \"c,u\" or \"none\" (skipped.operations)")
	fs.DurationVar(&c.HeartbeatInterval, "heartbeat-interval", 0, "emit heartbeat records this often; 0 disables (heartbeat.interval.ms)")
	fs.StringVar(&c.DebeziumVersion, "debezium-version", "", "Debezium release whose record format to reproduce, written as source.version (default "+envelope.DefaultConnectorVersion+")")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug|info|warn|error")
	fs.StringVar(&c.LogFormat, "log-format", "", "text|json (default: text on a terminal, else json)")
	fs.StringVar(&c.MemoryLimit, "memory-limit", "auto", "soft memory limit of the Go runtime, e.g. 64MiB; auto: GOMEMLIMIT if set, else 32 MiB + twice the sink's buffer; off: none")
	fs.StringVar(&c.HTTPAddr, "http-addr", "", "serve /healthz and /metrics on this address, e.g. 127.0.0.1:8080")

	ms := func(v string) (string, error) {
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return "", fmt.Errorf("want milliseconds: %w", err)
		}
		return (time.Duration(n) * time.Millisecond).String(), nil
	}
	for prop, fl := range map[string]string{
		"name":               "name",
		"topic.prefix":       "topic-prefix",
		"debezium.sink.type": "sink",
		"debezium.sink.kafka.producer.bootstrap.servers": "kafka-brokers",
		"debezium.sink.kafka.producer.compression.type":  "kafka-compression",
		"bootstrap.servers":                              "kafka-brokers",
		"compression.type":                               "kafka-compression",
		"topic.creation.default.partitions":              "topic-partitions",
		"topic.creation.default.replication.factor":      "topic-replication",
		"offset.storage.file.filename":                   "offsets-file",
		"offset.storage.topic":                           "offsets-topic",
		"debezium.format.value.schemas.enable":           "schemas-enable",
		"debezium.format.schemas.enable":                 "schemas-enable",
		"value.converter.schemas.enable":                 "schemas-enable",
		"decimal.handling.mode":                          "decimal-handling",
		"time.precision.mode":                            "time-precision",
		"binary.handling.mode":                           "binary-handling",
		"bigint.unsigned.handling.mode":                  "bigint-unsigned-handling",
		"tombstones.on.delete":                           "tombstones-on-delete",
		"provide.transaction.metadata":                   "transaction-metadata",
		"skipped.operations":                             "skipped-operations",
		"quarkus.log.level":                              "log-level",
	} {
		c.props[prop] = propAlias{flag: fl}
	}
	c.props["offset.flush.interval.ms"] = propAlias{flag: "offsets-flush-interval", convert: ms}
	c.props["heartbeat.interval.ms"] = propAlias{flag: "heartbeat-interval", convert: ms}
	c.props["linger.ms"] = propAlias{flag: "kafka-linger", convert: ms}
	c.props["debezium.sink.kafka.producer.linger.ms"] = propAlias{flag: "kafka-linger", convert: ms}
	for _, h := range flagHooks {
		h(fs, c)
	}
	return c
}

// alias lets a config-file property set flag name (for subcommand flags such as
// database.hostname). prop is the name without the debezium.source. prefix.
func (c *Flags) Alias(prop, name string) {
	c.props[prop] = propAlias{flag: name}
}

// aliasFunc is alias with a value conversion (e.g. milliseconds to a duration).
func (c *Flags) AliasFunc(prop, name string, convert func(string) (string, error)) {
	c.props[prop] = propAlias{flag: name, convert: convert}
}

func sinkNames() []string {
	n := make([]string, 0, len(sinkFactories))
	for k := range sinkFactories {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// EnvName is the environment variable for a flag: SLUICE_ + upper case, '-' → '_'.
func EnvName(flagName string) string {
	return "SLUICE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parse parses args, then fills every flag not given on the command line from its SLUICE_ env
// var, else from the properties file, else leaves the default; then validates the common
// flags. Positional arguments are an error.
func (c *Flags) Parse(args []string) error {
	if err := c.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return ErrUsage
	}
	if c.fs.NArg() > 0 {
		fmt.Fprintf(c.fs.Output(), "unexpected argument %q\n", c.fs.Arg(0))
		return ErrUsage
	}
	if err := c.resolve(os.LookupEnv); err != nil {
		return err
	}
	c.applyMemoryLimit()
	return nil
}

func (c *Flags) resolve(lookup func(string) (string, bool)) error {
	set := map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	if !set["config"] {
		if v, ok := lookup(EnvName("config")); ok {
			c.ConfigFile = v
			set["config"] = true
		}
	}
	fromFile := map[string]string{} // flag -> value
	fileKey := map[string]string{}  // flag -> property name, for errors
	if c.ConfigFile != "" {
		props, err := properties.Read(c.ConfigFile)
		if err != nil {
			return err
		}
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			name := strings.TrimPrefix(k, "debezium.source.")
			a, ok := c.props[name]
			if !ok {
				a, ok = c.props[k]
			}
			if !ok {
				c.unknown = append(c.unknown, k)
				continue
			}
			v := props[k]
			if a.convert != nil {
				cv, err := a.convert(v)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %s=%q: %w", c.ConfigFile, k, v, err))
					continue
				}
				v = cv
			}
			fromFile[a.flag], fileKey[a.flag] = v, k
		}
	}
	c.fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || f.Name == "config" {
			return
		}
		if v, ok := lookup(EnvName(f.Name)); ok {
			if err := c.fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", EnvName(f.Name), v, err))
			}
			return
		}
		if v, ok := fromFile[f.Name]; ok {
			if err := c.fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s=%q: %w", c.ConfigFile, fileKey[f.Name], v, err))
			}
		}
	})
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return c.validate()
}

// validate checks the common flags and reports every problem at once.
func (c *Flags) validate() error {
	var errs []error
	if c.TopicPrefix == "" {
		errs = append(errs, errors.New("--topic-prefix is required (Debezium topic.prefix; SLUICE_TOPIC_PREFIX)"))
	}
	if _, ok := sinkFactories[c.Sink]; !ok {
		errs = append(errs, fmt.Errorf("--sink %q: want one of %s", c.Sink, strings.Join(sinkNames(), ", ")))
	}
	if c.Sink == "kafka" && c.KafkaBrokers == "" {
		errs = append(errs, errors.New("--sink kafka needs --kafka-brokers host:port,…"))
	}
	if c.OffsetsTopic != "" && c.KafkaBrokers == "" {
		errs = append(errs, errors.New("--offsets-topic needs --kafka-brokers host:port,…"))
	}
	if c.OffsetsFile != "" && c.OffsetsTopic != "" {
		errs = append(errs, errors.New("give --offsets-file or --offsets-topic, not both"))
	}
	if _, err := kafka.ParseCompression(c.KafkaCompression); err != nil {
		errs = append(errs, err)
	}
	if c.TopicPartitions < 1 || c.TopicPartitions > 1<<20 {
		errs = append(errs, fmt.Errorf("--topic-partitions %d: want ≥ 1", c.TopicPartitions))
	}
	if c.TopicReplication < -1 || c.TopicReplication == 0 || c.TopicReplication > 32767 {
		errs = append(errs, fmt.Errorf("--topic-replication %d: want ≥ 1 or -1", c.TopicReplication))
	}
	var err error
	if c.options.Decimal, err = schema.ParseDecimalMode(c.DecimalHandling); err != nil {
		errs = append(errs, fmt.Errorf("--decimal-handling: %w", err))
	}
	if c.options.Time, err = schema.ParseTimeMode(c.TimePrecision); err != nil {
		errs = append(errs, fmt.Errorf("--time-precision: %w", err))
	}
	if c.options.Binary, err = schema.ParseBinaryMode(c.BinaryHandling); err != nil {
		errs = append(errs, fmt.Errorf("--binary-handling: %w", err))
	}
	if c.options.BigintUnsigned, err = schema.ParseBigintUnsignedMode(c.BigintUnsignedHandling); err != nil {
		errs = append(errs, fmt.Errorf("--bigint-unsigned-handling: %w", err))
	}
	if err := (&pipeline.Config{SkippedOps: c.SkippedOperations}).Validate(); err != nil && strings.Contains(err.Error(), "skipped") {
		errs = append(errs, fmt.Errorf("--skipped-operations %q: want op letters of c,u,d,r,t,m or none", c.SkippedOperations))
	}
	if _, err := ParseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	switch c.LogFormat {
	case "", "text", "json":
	default:
		errs = append(errs, fmt.Errorf("--log-format %q: want text or json", c.LogFormat))
	}
	if c.OffsetsFlushInterval <= 0 {
		errs = append(errs, fmt.Errorf("--offsets-flush-interval %s: want > 0", c.OffsetsFlushInterval))
	}
	if c.KafkaLinger < 0 {
		errs = append(errs, fmt.Errorf("--kafka-linger %s: want ≥ 0", c.KafkaLinger))
	}
	if c.KafkaMaxBuffer < 0 {
		errs = append(errs, fmt.Errorf("--kafka-max-buffered-bytes %d: want ≥ 0 (0: the default)", c.KafkaMaxBuffer))
	}
	if _, _, err := memoryLimit(c.MemoryLimit, 0, func(string) (string, bool) { return "", false }); err != nil {
		errs = append(errs, err)
	}
	if c.HeartbeatInterval < 0 {
		errs = append(errs, fmt.Errorf("--heartbeat-interval %s: want ≥ 0", c.HeartbeatInterval))
	}
	return errors.Join(errs...)
}

// Options returns the type-mapping modes (valid after parse).
func (c *Flags) Options() schema.Options { return c.options }

func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug", "trace":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error", "fatal":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
}

// Logger returns the process logger chosen by --log-level and --log-format (built once; also
// installed as slog's default and as sarama's logger at debug level).
func (c *Flags) Logger() *slog.Logger {
	if c.logger != nil {
		return c.logger
	}
	lvl, _ := ParseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: lvl}
	format := c.LogFormat
	if format == "" {
		format = "json"
		if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			format = "text"
		}
	}
	var h slog.Handler
	if format == "text" {
		h = slog.NewTextHandler(os.Stderr, opts)
	} else {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	c.logger = slog.New(h)
	slog.SetDefault(c.logger)
	sarama.Logger = slog.NewLogLogger(h, slog.LevelDebug)
	for _, k := range c.unknown {
		c.logger.Warn("config file property not used by sluice", "file", c.ConfigFile, "property", k)
	}
	return c.logger
}

// KafkaClient returns the Kafka client settings the flags describe, shared by the Kafka sink,
// the Kafka offsets store and the schema history.
func (c *Flags) KafkaClient() ikafka.ClientConfig {
	return ikafka.ClientConfig{Brokers: ikafka.ParseBrokers(c.KafkaBrokers)}
}

// KafkaConfig returns the Kafka sink configuration the flags describe.
func (c *Flags) KafkaConfig() kafka.Config {
	return kafka.Config{
		Client:           c.KafkaClient(),
		Compression:      c.KafkaCompression,
		Partitions:       int32(c.TopicPartitions),
		Replication:      int16(c.TopicReplication),
		MaxBufferedBytes: c.KafkaMaxBuffer,
		Linger:           c.KafkaLinger,
		Logger:           c.Logger(),
	}
}

func openStdoutSink(_ context.Context, c *Flags, d pipeline.Durable) (pipeline.Sink, error) {
	return stdout.New(stdout.Config{Partitions: int32(c.TopicPartitions)}, d), nil
}

func openKafkaSink(_ context.Context, c *Flags, d pipeline.Durable) (pipeline.Sink, error) {
	return kafka.New(c.KafkaConfig(), d)
}

// OpenSink opens the sink chosen by --sink.
func (c *Flags) OpenSink(ctx context.Context, d pipeline.Durable) (pipeline.Sink, error) {
	f, ok := sinkFactories[c.Sink]
	if !ok {
		return nil, fmt.Errorf("unknown sink %q", c.Sink)
	}
	return f(ctx, c, d)
}

// OpenOffsets opens the offsets store chosen by --offsets-file or --offsets-topic; with
// neither, offsets live in memory only and a restart begins from the source's default start
// (a warning says so). The caller closes it.
func (c *Flags) OpenOffsets(ctx context.Context) (offsets.Store, error) {
	switch {
	case c.OffsetsFile != "":
		return offsets.NewFile(c.OffsetsFile, c.Name, c.TopicPrefix), nil
	case c.OffsetsTopic != "":
		return offsets.NewKafka(ctx, offsets.KafkaConfig{
			Client: c.KafkaClient(), Topic: c.OffsetsTopic, Name: c.Name, TopicPrefix: c.TopicPrefix,
			Replication: int16(c.TopicReplication), Logger: c.Logger(),
		})
	}
	c.Logger().Warn("no --offsets-file or --offsets-topic: positions are kept in memory only and a restart starts over")
	return new(offsets.Memory), nil
}

// RunPipeline runs src through the encoder to the chosen sink, saving positions to store,
// until ctx ends or a stage fails. Capture subcommands call it after building their source from
// the offset store.Load returned.
func (c *Flags) RunPipeline(ctx context.Context, src pipeline.Source, store offsets.Store) error {
	enc, err := newEncoder(c)
	if err != nil {
		return err
	}
	stats := new(pipeline.Stats)
	if c.HTTPAddr != "" {
		stop, err := serveHTTP(ctx, c.HTTPAddr, stats, c.Logger())
		if err != nil {
			return err
		}
		defer stop()
	}
	return pipeline.Run(ctx, pipeline.Config{
		Source:            src,
		Encoder:           enc,
		NewSink:           func(d pipeline.Durable) (pipeline.Sink, error) { return c.OpenSink(ctx, d) },
		Offsets:           store,
		FlushInterval:     c.OffsetsFlushInterval,
		HeartbeatInterval: c.HeartbeatInterval,
		SkippedOps:        c.SkippedOperations,
		Logger:            c.Logger(),
		Stats:             stats,
	})
}

// RunReconnecting runs the pipeline from the offset in store, reopening the source with open
// from the last saved offset after a retryable failure (a lost server, a broker outage), with
// backoff up to 30 s. onRetry, if set, sees each retryable error first. It returns nil when ctx
// ends, and any other error as it is.
func (c *Flags) RunReconnecting(ctx context.Context, what string, store offsets.Store,
	open func(ctx context.Context, offset []byte) (pipeline.Source, error), onRetry func(error)) error {
	log := c.Logger()
	backoff := time.Second
	for {
		offset, err := store.Load(ctx)
		if err != nil {
			return fmt.Errorf("load offsets: %w", err)
		}
		src, err := open(ctx, offset)
		if err == nil {
			backoff = time.Second
			err = c.RunPipeline(ctx, src, store)
			src.Close()
		}
		if err == nil || ctx.Err() != nil || !capture.Retryable(err) {
			return err
		}
		if onRetry != nil {
			onRetry(err)
		}
		log.Warn(what+" source failed; reconnecting from the last saved offset", "err", err, "in", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil
		}
		backoff = min(backoff*2, 30*time.Second)
	}
}

// SplitList splits a comma-separated flag value, dropping blanks around and between items.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
