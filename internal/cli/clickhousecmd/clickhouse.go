// Package clickhousecmd is the clickhouse subcommand (Kafka topics → ClickHouse tables, wired
// as source/kafka → internal/pipeline → sink/clickhouse) and the capture commands' --sink
// clickhouse with its flags. A main wires them in with Command and
// Sink.
package clickhousecmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

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
	c   *cli.Capture
	cfg clickhouse.Config
}

func (s *sink) Open(ctx context.Context, d pipeline.Durable) (pipeline.Sink, error) {
	cfg := s.cfg
	cfg.Logger = s.c.Logger()
	return clickhouse.New(ctx, cfg, d)
}
func (s *sink) Buffered() int64 { return int64(s.cfg.BatchBytes) }
func (s *sink) Validate() error { return s.cfg.Validate() }

// Command is `sluice clickhouse`.
func Command() cli.Command {
	return cli.Command{Name: "clickhouse", Summary: "apply Debezium topics from Kafka to ClickHouse tables", Run: run}
}

func run(ctx context.Context, prog string, args []string) error {
	if len(args) > 0 && args[0] == "replay-parked" {
		return replayParked(ctx, prog+" replay-parked", args[1:])
	}
	kcfg, scfg, err := parse(prog, args)
	if err != nil {
		return err
	}
	return runKafkaToClickHouse(ctx, kcfg, scfg, kcfg.Logger)
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

// parse reads the command line, environment and --config file into the Kafka source's and
// the sink's Config.
func parse(prog string, args []string) (kafkasrc.Config, clickhouse.Config, error) {
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
	fs.StringVar(&cc.Initial, "initial-offset", "oldest", "where a new group starts: oldest|newest")
	fs.DurationVar(&cc.TopicRefresh, "topic-refresh", 30*time.Second, "how often new topics matching --topics are looked for")
	s.Names(properties.Names{
		"bootstrap.servers": "kafka-brokers",
		"debezium.sink.kafka.producer.bootstrap.servers": "kafka-brokers",
		"topics.regex": "topics", // a Kafka Connect sink connector's
		"group.id":     "group",
	})
	s.Names(cc.Client.RegisterSecurityFlags(fs))
	s.Names(scfg.RegisterFlags(fs, ""))
	if err := s.Parse(args); err != nil {
		return cc, scfg, err
	}
	log := s.Logger()
	cc.Logger, scfg.Logger = log, log
	return cc, scfg, errors.Join(cc.Validate(), scfg.Validate())
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
	s.Names(scfg.RegisterFlags(fs, ""))
	if err := s.Parse(args); err != nil {
		return err
	}
	if err := scfg.Validate(); err != nil {
		return err
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
