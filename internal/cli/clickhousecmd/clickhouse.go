// Package clickhousecmd is the clickhouse subcommand (Kafka topics → ClickHouse tables, wired
// as source/kafka → internal/pipeline → sink/clickhouse) and the capture commands' --sink
// clickhouse with its flags. A main wires them in with Command and
// Sink.
package clickhousecmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/cli"
	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/internal/properties"
	"github.com/sluicecdc/sluice/sink/clickhouse"
	kafkasrc "github.com/sluicecdc/sluice/source/kafka"
)

// The ClickHouse pipeline's stages satisfy the pipeline's contracts.
var (
	_ pipeline.Sink         = (*clickhouse.Sink)(nil)
	_ pipeline.InputDrainer = (*clickhouse.Sink)(nil)
	_ pipeline.RecordSource = (*kafkasrc.Source)(nil)
	_ pipeline.Marker       = (*kafkasrc.Source)(nil)
)

// Sink is --sink clickhouse for the capture commands, its batching flags prefixed with
// clickhouse- beside theirs.
var Sink = cli.SinkKind{Name: "clickhouse", New: func(c *cli.Capture) cli.Sink {
	s := &sink{c: c}
	c.Names(s.cfg.RegisterFlags(c.FlagSet(), "clickhouse-"))
	return s
}}

type sink struct {
	c       *cli.Capture
	cfg     clickhouse.Config
	metrics metrics
}

func (s *sink) Open(ctx context.Context, d pipeline.Durable) (pipeline.Sink, error) {
	cfg := s.cfg
	cfg.Logger = s.c.Logger()
	cfg.Link = s.c.SinkLink()
	s.metrics.setLink(cfg.Link)
	sk, err := clickhouse.New(ctx, cfg, d)
	if err != nil {
		return nil, err
	}
	s.metrics.set(sk)
	if err := s.c.SinkMetrics(&s.metrics); err != nil {
		sk.Close()
		return nil, err
	}
	return sk, nil
}
func (s *sink) Buffered() int64 { return int64(s.cfg.BatchBytes) }
func (s *sink) Validate() error { return s.cfg.Validate() }

// Command is `sluice clickhouse`.
func Command() cli.Command {
	return cli.Command{Name: "clickhouse", Summary: "apply Debezium topics from Kafka to ClickHouse tables", Run: run, Check: check}
}

func run(ctx context.Context, prog string, args []string) error {
	if len(args) > 0 && args[0] == "replay-parked" {
		return replayParked(ctx, prog+" replay-parked", args[1:])
	}
	o, err := parseOptions(prog, args)
	if err != nil {
		return err
	}
	o.setLimit()
	ep := cli.NewEndpoint("kafka", o.kafka.Group, "clickhouse")
	ep.SetReadyTimeout(o.readyTimeout)
	if o.httpAddr != "" {
		stop, err := ep.Serve(ctx, o.httpAddr, o.httpSec, o.kafka.Logger)
		if err != nil {
			return err
		}
		defer stop()
	}
	return runKafkaToClickHouse(ctx, o.kafka, o.sink, o.kafka.Logger, ep)
}

// runKafkaToClickHouse runs source (Kafka topics) → pipeline → sink (ClickHouse) until ctx
// ends or a stage fails. The pipeline flushes the sink and marks and commits the offsets of
// what it made durable; closing the source then leaves the group with a last commit. ep (may
// be nil) gets the pipeline's and the sink's counters for /healthz and /metrics.
func runKafkaToClickHouse(ctx context.Context, kcfg kafkasrc.Config, scfg clickhouse.Config, log *slog.Logger, ep *cli.Endpoint) error {
	if ep == nil {
		ep = cli.NewEndpoint("kafka", kcfg.Group, "clickhouse")
	}
	kcfg.Link = ep.Link()     // a broker outage shows on /readyz and Connected
	scfg.Link = ep.SinkLink() // and a ClickHouse one
	m := metrics{link: scfg.Link}
	if err := ep.Register(&m); err != nil {
		return err
	}
	// ClickHouse first: while it is unreachable (retried within --clickhouse-connect-timeout,
	// then an error naming the address) the process does not join the group and take
	// partitions it cannot deliver. The pipeline's Durable is known only once it runs.
	var durable pipeline.Durable
	sink, err := clickhouse.New(ctx, scfg, func(token uint64) { durable(token) })
	if err != nil {
		return err
	}
	m.set(sink)
	// Each record's origin reaches the sink before the record: a replay (by a restarted
	// upstream, or of a partition read again) must collapse with its first copy in keyless
	// tables.
	kcfg.OnOrigin = sink.SetOrigin
	src, err := kafkasrc.Open(ctx, kcfg)
	if err != nil {
		sink.Close()
		return err
	}
	ep.Up()
	runErr := pipeline.Run(ctx, pipeline.Config{
		Records: src,
		NewSink: func(d pipeline.Durable) (pipeline.Sink, error) {
			durable = d // before the first Send: nothing is durable before it
			return sink, nil
		},
		Logger: log,
		Stats:  ep.Stats(),
	})
	ep.Stopped()
	sink.Close() // Run closed it, unless it returned before opening it
	closeErr := src.Close()
	{
		st := sink.Stats()
		log.Info("clickhouse sink stopped", "rows", st.Rows, "batches", st.Batches, "parked", st.Parked, "retries", st.Retries,
			"insert_time", st.InsertTime.Round(time.Millisecond).String(), "insert_wait", st.InsertWait.Round(time.Millisecond).String(),
			"kafka_wait", src.Starved().Round(time.Millisecond).String())
	}
	return errors.Join(runErr, closeErr)
}

// metrics are the sink's counters on /metrics, summed over the sinks a command opened (a
// capture command opens a new one each time it reopens the source), so they never go down.
// It is a prometheus.Collector.
type metrics struct {
	mu   sync.Mutex
	base clickhouse.Stats // of the sinks before cur
	cur  *clickhouse.Sink
	link *capture.StreamStats // the sinks' Config.Link
}

func (m *metrics) set(s *clickhouse.Sink) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cur != nil {
		m.base = addStats(m.base, m.cur.Stats())
	}
	m.cur = s
}

func (m *metrics) setLink(l *capture.StreamStats) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.link = l
}

func addStats(a, b clickhouse.Stats) clickhouse.Stats {
	a.Rows += b.Rows
	a.Batches += b.Batches
	a.Parked += b.Parked
	a.Replayed += b.Replayed
	a.Retries += b.Retries
	a.SchemaChanges += b.SchemaChanges
	a.ToastMissing += b.ToastMissing
	return a
}

func (m *metrics) stats() clickhouse.Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.base
	if m.cur != nil {
		st = addStats(st, m.cur.Stats())
	}
	return st
}

var chSeries = []struct {
	desc *prometheus.Desc
	v    func(clickhouse.Stats) uint64
}{
	{prometheus.NewDesc("sluice_clickhouse_rows_total", "Rows inserted into ClickHouse and acknowledged by it.", nil, nil),
		func(s clickhouse.Stats) uint64 { return s.Rows }},
	{prometheus.NewDesc("sluice_clickhouse_batches_total", "INSERT batches acknowledged by ClickHouse.", nil, nil),
		func(s clickhouse.Stats) uint64 { return s.Batches }},
	{prometheus.NewDesc("sluice_clickhouse_parked_records_total", "Records parked in <database>._sluice_parked (counted as delivered: fix the cause, then run sluice clickhouse replay-parked).", nil, nil),
		func(s clickhouse.Stats) uint64 { return s.Parked }},
	{prometheus.NewDesc("sluice_clickhouse_replayed_records_total", "Parked records applied again by a replay of _sluice_parked.", nil, nil),
		func(s clickhouse.Stats) uint64 { return s.Replayed }},
	{prometheus.NewDesc("sluice_clickhouse_insert_retries_total", "Failed INSERT attempts that were retried.", nil, nil),
		func(s clickhouse.Stats) uint64 { return s.Retries }},
	{prometheus.NewDesc("sluice_clickhouse_schema_changes_total", "CREATE TABLE and ALTER TABLE statements applied.", nil, nil),
		func(s clickhouse.Stats) uint64 { return s.SchemaChanges }},
	{prometheus.NewDesc("sluice_clickhouse_toast_missing_total", "Unchanged-TOAST values with no earlier value to carry (stored NULL/empty).", nil, nil),
		func(s clickhouse.Stats) uint64 { return s.ToastMissing }},
}

var chConnected = prometheus.NewDesc("sluice_clickhouse_connected",
	"1 while ClickHouse answers the sink's calls; 0 before the first answer and while calls fail and are retried (the error is on /readyz and in the log).", nil, nil)

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, s := range chSeries {
		ch <- s.desc
	}
	ch <- chConnected
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	st := m.stats()
	for _, s := range chSeries {
		ch <- prometheus.MustNewConstMetric(s.desc, prometheus.CounterValue, float64(s.v(st)))
	}
	m.mu.Lock()
	up := m.cur != nil && (m.link == nil || m.link.DisconnectedUnixMilli.Load() == 0)
	m.mu.Unlock()
	v := 0.0
	if up {
		v = 1
	}
	ch <- prometheus.MustNewConstMetric(chConnected, prometheus.GaugeValue, v)
}

// options are the settings of `sluice clickhouse`.
type options struct {
	kafka        kafkasrc.Config
	sink         clickhouse.Config
	httpAddr     string // --http-addr: serve /healthz, /readyz and /metrics there
	httpSec      cli.HTTPSecurity
	readyTimeout time.Duration // --ready-timeout
	setLimit     func()        // applies --memory-limit
}

// parse reads the command line, environment and --config file into the Kafka source's and
// the sink's Config.
func parse(prog string, args []string) (kafkasrc.Config, clickhouse.Config, error) {
	o, err := parseOptions(prog, args)
	return o.kafka, o.sink, err
}

// parseOptions is parse with the command's own settings.
func parseOptions(prog string, args []string) (options, error) {
	s := cli.NewSet(prog, func(w io.Writer) {
		fmt.Fprintf(w, "Usage: %s --kafka-brokers HOST:PORT --topics REGEX --group NAME --clickhouse-addr HOST:PORT [flags]\n\n"+
			"Consumes Debezium change topics (JSON, with or without schemas) and applies them to ClickHouse\n"+
			"ReplacingMergeTree tables. Every flag can be set with SLUICE_<FLAG> or in the --config file.\n\n", prog)
	})
	fs := s.FlagSet()
	var (
		cc   kafkasrc.Config
		scfg clickhouse.Config
	)
	properties.ListVar(fs, &cc.Client.Brokers, "kafka-brokers", "Kafka bootstrap brokers, host:port,…; required")
	fs.StringVar(&cc.Topics, "topics", "", "regular expression of the topics to consume (whole name), e.g. 'dbserver1\\.inventory\\..*'; required")
	fs.StringVar(&cc.Group, "group", "sluice-clickhouse", "Kafka consumer group; processes with the same group share the partitions")
	fs.StringVar(&cc.InstanceID, "group-instance-id", "", "static group membership (Kafka's group.instance.id), unique per process: restarted within the 10 s session timeout, the process takes its partitions back without a rebalance; stopped, its partitions wait for it until the session timeout")
	fs.StringVar(&cc.Initial, "initial-offset", "oldest", "where a new group starts: oldest|newest (also earliest|latest, Kafka's auto.offset.reset)")
	fs.DurationVar(&cc.TopicRefresh, "topic-refresh", 30*time.Second, "how often new topics matching --topics are looked for")
	var memLimit string
	fs.StringVar(&memLimit, "memory-limit", "auto", "soft memory limit of the Go runtime, e.g. 64MiB; auto: GOMEMLIMIT if set, else 32 MiB + twice --batch-bytes; off: none")
	var httpAddr string
	fs.StringVar(&httpAddr, "http-addr", "", "serve /healthz, /readyz and /metrics on this address, e.g. 127.0.0.1:8080 (a port alone, :8080, is on 127.0.0.1; 0.0.0.0:8080 for every interface)")
	var httpSec cli.HTTPSecurity
	httpSec.RegisterFlags(fs)
	var readyTimeout time.Duration
	fs.DurationVar(&readyTimeout, "ready-timeout", 5*time.Second, "/readyz answers 503 when records wait for ClickHouse and nothing was delivered for this long")
	fs.DurationVar(&scfg.RetryTimeout, "errors-retry-timeout", 10*time.Minute, "retry a failing call to ClickHouse (an INSERT, DDL) for this long in a row, then exit 1; the records not inserted are not committed and are read again at the next start; negative: for ever (errors.retry.timeout, ms)")
	s.Names(properties.Names{
		"bootstrap.servers": "kafka-brokers",
		"debezium.sink.kafka.producer.bootstrap.servers": "kafka-brokers",
		"topics.regex":      "topics", // a Kafka Connect sink connector's
		"group.id":          "group",
		"group.instance.id": "group-instance-id",
		"auto.offset.reset": "initial-offset",
	})
	s.Names(cc.Client.RegisterSecurityFlags(fs))
	s.Register(cli.GroupClickHouse, func(fs *flag.FlagSet) properties.Names { return scfg.RegisterFlags(fs, "") })
	s.SetGroup(cli.GroupKafka, "kafka-brokers", "topics", "group", "group-instance-id", "initial-offset", "topic-refresh")
	s.AliasFunc("errors.retry.timeout", "errors-retry-timeout", cli.Millis)
	s.SetGroup(cli.GroupOperations, "memory-limit", "ready-timeout", "errors-retry-timeout") // (--http-*: by name)
	s.Required("kafka-brokers", "topics", "clickhouse-addr")
	s.Examples(prog + " --kafka-brokers 127.0.0.1:9092 --topics 'app\\..*' --clickhouse-addr 127.0.0.1:9000 --clickhouse-database app")
	if err := s.Parse(args); err != nil {
		return options{kafka: cc, sink: scfg}, err
	}
	log := s.Logger()
	cc.Logger, scfg.Logger = log, log
	initialErr := normalizeInitial(&cc.Initial)
	// The sink holds at most --batch-bytes of rows pending and as much again inserting; the
	// source's fetched batches and the driver's blocks fit in the base allowance.
	setLimit, err := cli.MemoryLimit(memLimit, memoryBase, int64(scfg.BatchBytes))
	if readyTimeout <= 0 {
		err = errors.Join(err, fmt.Errorf("--ready-timeout %s: want a positive duration", readyTimeout))
	}
	return options{kafka: cc, sink: scfg, httpAddr: httpAddr, httpSec: httpSec, readyTimeout: readyTimeout, setLimit: setLimit},
		cli.Config(errors.Join(initialErr, cc.Validate(), scfg.Validate(), err))
}

// normalizeInitial maps Kafka's auto.offset.reset spellings (earliest/latest, and the old
// smallest/largest) onto the source's oldest/newest. Kafka's "none" has no equivalent here.
func normalizeInitial(v *string) error {
	switch strings.ToLower(*v) {
	case "", "oldest", "earliest", "smallest":
		*v = "oldest"
	case "newest", "latest", "largest":
		*v = "newest"
	default:
		err := fmt.Errorf("--initial-offset %q: want oldest (or earliest) or newest (or latest)", *v)
		*v = "oldest" // reported above; keeps the source's own check from repeating it
		return err
	}
	return nil
}

// replayParked is `sluice clickhouse replay-parked`: re-applies the records parked in
// _sluice_parked (after their cause was fixed) with the sink's settings, then exits.
func replayParked(ctx context.Context, prog string, args []string) error {
	s := cli.NewSet(prog, func(w io.Writer) {
		fmt.Fprintf(w, "Usage: %s --clickhouse-addr HOST:PORT --clickhouse-database DB [--table NAME] [flags]\n\n"+
			"Re-applies the records parked in DB._sluice_parked (all, or those of one table) after their cause\n"+
			"was fixed; records that fail again are parked again. It may run while sluice clickhouse runs.\n\n", prog)
	})
	fs := s.FlagSet()
	var scfg clickhouse.Config
	var table string
	fs.StringVar(&table, "table", "", "replay only the records parked for this ClickHouse table")
	s.Register(cli.GroupClickHouse, func(fs *flag.FlagSet) properties.Names { return scfg.RegisterFlags(fs, "") })
	if err := s.Parse(args); err != nil {
		return err
	}
	if err := scfg.Validate(); err != nil {
		return cli.Config(err)
	}
	log := s.Logger()
	scfg.Logger = log
	sink, err := clickhouse.New(ctx, scfg, nil)
	if err != nil {
		return err
	}
	defer sink.Close()
	res, err := sink.ReplayParked(ctx, table)
	if err != nil {
		return err
	}
	log.Info("parked records replayed", "read", res.Read, "applied", res.Applied, "parked_again", res.ParkedAgain)
	if res.ParkedAgain > 0 {
		return fmt.Errorf("%d of %d parked records failed again (see their reason in _sluice_parked)", res.ParkedAgain, res.Read)
	}
	return nil
}

// memoryBase is the auto --memory-limit's allowance beside the sink's batches: the Kafka
// consumer keeps a few decompressed batches on a free list, so it needs less than a capture
// source's 32 MiB. On the bench (1.7 M records with schemas, 8 MiB --batch-bytes) a 42 MiB
// limit instead of 48 MiB took peak RSS from 65 to 59-61 MB at the same CPU per record; 40
// MiB cost 8-18% more CPU (collections).
const memoryBase = 26 << 20
