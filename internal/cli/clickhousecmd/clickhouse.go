// Package clickhousecmd is the clickhouse subcommand (Kafka topics → ClickHouse tables, wired
// as source/kafka → internal/pipeline → sink/clickhouse) and the capture commands' --sink
// clickhouse with its flags. Importing it registers both with internal/cli.
package clickhousecmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/sluicecdc/sluice/internal/cli"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/pipeline"
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

// chFlags are the ClickHouse connection and batching flags, shared by `sluice clickhouse` and
// by the capture commands' --sink clickhouse (there prefixed with clickhouse- where the name
// alone would be ambiguous).
type chFlags struct {
	Addr, Database, User, Password, TableName string
	Compression                               string
	BatchRows, BatchBytes                     int
	FlushInterval                             time.Duration
	KeepDropped, Legacy                       bool
}

func (f *chFlags) add(fs *flag.FlagSet, batchPrefix string) {
	fs.StringVar(&f.Addr, "clickhouse-addr", "127.0.0.1:9000", "ClickHouse native-protocol address(es), host:port,…")
	fs.StringVar(&f.Database, "clickhouse-database", "default", "ClickHouse database for the tables (created if missing)")
	fs.StringVar(&f.User, "clickhouse-user", "default", "ClickHouse user")
	fs.StringVar(&f.Password, "clickhouse-password", "", "ClickHouse password")
	fs.StringVar(&f.TableName, "clickhouse-table-name", "{table}", "table name template: {db}, {schema}, {table}, {topic} are replaced")
	fs.IntVar(&f.BatchRows, batchPrefix+"batch-rows", 20000, "insert when this many rows are pending")
	fs.IntVar(&f.BatchBytes, batchPrefix+"batch-bytes", 64<<20, "insert when the pending rows' JSON (row images and keys, without schemas) reaches this many bytes")
	fs.DurationVar(&f.FlushInterval, batchPrefix+"flush-interval", time.Second, "insert pending rows at least this often")
	fs.BoolVar(&f.KeepDropped, "clickhouse-keep-dropped-columns", false, "keep columns dropped in the source instead of ALTER TABLE … DROP COLUMN")
	fs.BoolVar(&f.Legacy, "clickhouse-legacy", false, "use the pre-23.2 table layout even on a newer server")
	fs.StringVar(&f.Compression, "clickhouse-compression", "lz4", "native block compression: lz4|none (none is faster on loopback)")
}

func (f *chFlags) config() clickhouse.Config {
	var addrs []string
	for _, a := range strings.Split(f.Addr, ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	return clickhouse.Config{Addr: addrs, Database: f.Database, Username: f.User, Password: f.Password,
		TableName: f.TableName, BatchRows: f.BatchRows, BatchBytes: f.BatchBytes, FlushInterval: f.FlushInterval,
		KeepDroppedColumns: f.KeepDropped, Legacy: f.Legacy, Compression: f.Compression}
}

// captureCH holds the --sink clickhouse flags of the capture commands.
var captureCH = map[*cli.Flags]*chFlags{}

func init() {
	cli.Register("clickhouse", "apply Debezium topics from Kafka to ClickHouse tables", runClickHouse)
	cli.RegisterFlagHook(func(fs *flag.FlagSet, c *cli.Flags) {
		f := new(chFlags)
		f.add(fs, "clickhouse-")
		captureCH[c] = f
	})
	cli.RegisterSink("clickhouse", func(ctx context.Context, c *cli.Flags, d pipeline.Durable) (pipeline.Sink, error) {
		f := captureCH[c]
		if f == nil {
			return nil, errors.New("clickhouse sink flags not registered")
		}
		cfg := f.config()
		cfg.Logger = c.Logger()
		return clickhouse.New(ctx, cfg, d)
	}, func(c *cli.Flags) int64 {
		if f := captureCH[c]; f != nil {
			return int64(f.BatchBytes)
		}
		return 0
	})
}

func runClickHouse(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sluice clickhouse", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: sluice clickhouse --kafka-brokers HOST:PORT --topics REGEX --group NAME --clickhouse-addr HOST:PORT [flags]\n\n"+
			"Consumes Debezium change topics (JSON, with or without schemas) and applies them to ClickHouse\n"+
			"ReplacingMergeTree tables. Every flag can be set with SLUICE_<FLAG>.\n\n")
		fs.PrintDefaults()
	}
	var (
		ch                              chFlags
		brokers, topics, group, initial string
		logLevel, logFormat             string
		refresh                         time.Duration
	)
	fs.StringVar(&brokers, "kafka-brokers", "", "Kafka bootstrap brokers, host:port,…; required")
	fs.StringVar(&topics, "topics", "", "regular expression of the topics to consume (whole name), e.g. 'dbserver1\\.inventory\\..*'; required")
	fs.StringVar(&group, "group", "sluice-clickhouse", "Kafka consumer group; processes with the same group share the partitions")
	fs.StringVar(&initial, "initial-offset", "oldest", "where a new group starts: oldest|newest")
	fs.DurationVar(&refresh, "topic-refresh", 30*time.Second, "how often new topics matching --topics are looked for")
	fs.StringVar(&logLevel, "log-level", "info", "debug|info|warn|error")
	fs.StringVar(&logFormat, "log-format", "", "text|json (default: text on a terminal, else json)")
	ch.add(fs, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return cli.ErrUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected argument %q\n", fs.Arg(0))
		return cli.ErrUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] {
			return
		}
		if v, ok := os.LookupEnv(cli.EnvName(f.Name)); ok {
			if err := fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", cli.EnvName(f.Name), v, err))
			}
		}
	})
	if _, err := cli.ParseLevel(logLevel); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	lc := &cli.Flags{LogLevel: logLevel, LogFormat: logFormat}
	log := lc.Logger()
	kcfg := kafkasrc.Config{Client: ikafka.ClientConfig{Brokers: ikafka.ParseBrokers(brokers)}, Topics: topics, Group: group,
		Initial: initial, TopicRefresh: refresh, Logger: log}
	scfg := ch.config()
	scfg.Logger = log
	if err := errors.Join(kcfg.Validate(), scfg.Validate()); err != nil {
		return err
	}
	return runKafkaToClickHouse(ctx, kcfg, scfg, log)
}

// runKafkaToClickHouse runs source (Kafka topics) → pipeline → sink (ClickHouse) until ctx
// ends or a stage fails. The pipeline flushes the sink and marks and commits the offsets of
// what it made durable; closing the source then leaves the group with a last commit.
func runKafkaToClickHouse(ctx context.Context, kcfg kafkasrc.Config, scfg clickhouse.Config, log *slog.Logger) error {
	src, err := kafkasrc.Open(ctx, kcfg)
	if err != nil {
		return err
	}
	var sink *clickhouse.Sink
	runErr := pipeline.Run(ctx, pipeline.Config{
		Records: src,
		NewSink: func(d pipeline.Durable) (pipeline.Sink, error) {
			var err error
			sink, err = clickhouse.New(ctx, scfg, d)
			return sink, err
		},
		Logger: log,
	})
	closeErr := src.Close()
	if sink != nil {
		st := sink.Stats()
		log.Info("clickhouse sink stopped", "rows", st.Rows, "batches", st.Batches, "parked", st.Parked, "retries", st.Retries,
			"insert_time", st.InsertTime.Round(time.Millisecond).String())
	}
	return errors.Join(runErr, closeErr)
}
