// Package mysqlcmd is the mysql subcommand (sluice mysql, sluice-mysql): MySQL/MariaDB binlog
// capture as a replica. A main wires it in with Command.
package mysqlcmd

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sluicecdc/sluice/capture/mysql"
	"github.com/sluicecdc/sluice/capture/mysql/history"
	"github.com/sluicecdc/sluice/internal/cli"
	"github.com/sluicecdc/sluice/internal/pipeline"
)

// Command is `sluice mysql` with the --sink choices sinks.
func Command(sinks ...cli.SinkKind) cli.Command {
	return cli.Command{
		Name:    "mysql",
		Summary: "capture MySQL/MariaDB changes from the binlog as a replica",
		Run: func(ctx context.Context, prog string, args []string) error {
			return run(ctx, prog, args, sinks)
		},
	}
}

var usage = cli.CaptureUsage{
	Synopsis: "--dsn mysql://USER@HOST:PORT --server-id N --topic-prefix NAME [flags]",
	About: "Streams row changes from the MySQL or MariaDB binlog (as a replica with its own server id) as\n" +
		"Debezium MySQL/MariaDB-connector records, after an initial snapshot. Every flag can be set with\n" +
		"SLUICE_<FLAG>; the password can come from the DSN, --password-file or SLUICE_MYSQL_PASSWORD.",
	DSN: "mysql://user[:password]@host:port (user needs SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT); required",
}

func run(ctx context.Context, prog string, args []string, sinks []cli.SinkKind) error {
	c, cfg, historySpec, err := parse(prog, args, sinks)
	if err != nil {
		return err
	}
	log := c.Logger()
	stop, err := c.Serve(ctx, "mysql") // before the schema history, which may wait for Kafka
	if err != nil {
		return err
	}
	defer stop()
	hist, err := openHistory(ctx, c, historySpec)
	if err != nil {
		return err
	}
	defer hist.Close()
	cfg.History = hist
	if err := cfg.Validate(); err != nil {
		return err
	}
	open := func(ctx context.Context, offset []byte) (pipeline.Source, error) {
		cfg.Offset = offset
		return mysql.New(ctx, cfg)
	}
	return c.Run(ctx, "mysql", open, func(err error) {
		if cfg.SnapshotMode == mysql.SnapshotWhenNeeded && errors.Is(err, mysql.ErrPurged) {
			log.Warn("the stored binlog position is gone; taking a new snapshot (snapshot mode when_needed)", "err", err)
		}
	})
}

// parse reads the command line, environment and --config file into the common flags, the
// source's Config (all but its History) and the --schema-history spec.
func parse(prog string, args []string, sinks []cli.SinkKind) (*cli.Capture, mysql.Config, string, error) {
	c := cli.NewCapture(prog, usage, sinks...)
	fs := c.FlagSet()
	var cfg mysql.Config
	c.Names(cfg.RegisterFlags(fs))
	var historySpec string
	fs.StringVar(&historySpec, "schema-history", "", "file:PATH, kafka:TOPIC or memory (schema.history.internal.*); default: as durable as the offsets: "+
		"file:<offsets-file>.history, kafka:<topic-prefix>.schema-history with --offsets-topic, else memory")
	c.Alias("schema.history.internal.file.filename", "schema-history")
	c.AliasFunc("schema.history.internal.kafka.topic", "schema-history", func(v string) (string, error) { return "kafka:" + v, nil })
	if err := c.Parse(args); err != nil {
		return nil, cfg, "", err
	}
	if cfg.ServerID == 0 {
		return nil, cfg, "", errors.New("--server-id is required: a number unique among the server's replicas (SLUICE_SERVER_ID; database.server.id)")
	}
	if c.DSN == "" {
		return nil, cfg, "", errors.New("--dsn is required, e.g. --dsn mysql://sluice@127.0.0.1:3306 (SLUICE_DSN)")
	}
	pw, _, err := c.Password("SLUICE_MYSQL_PASSWORD")
	if err != nil {
		return nil, cfg, "", err
	}
	cfg.DSN, cfg.Password, cfg.Name, cfg.Logger = c.DSN, pw, c.Envelope.TopicPrefix, c.Logger()
	cfg.Stats = c.SourceStats() // one per process: /metrics and the progress display read it across reopens
	if historySpec, err = resolveHistory(c, historySpec); err != nil {
		return nil, cfg, "", err
	}
	return c, cfg, historySpec, nil
}

// resolveHistory returns the schema history store as file:PATH, kafka:TOPIC or memory. The
// history must be as durable as the offsets: an offset without the history that decodes it
// cannot be resumed (Debezium requires schema.history.internal.* for the same reason). So the
// default follows the offsets store, and a memory history beside durable offsets is refused.
func resolveHistory(c *cli.Capture, spec string) (string, error) {
	if spec == "" {
		switch {
		case c.Offsets.File != "":
			return "file:" + c.Offsets.File + ".history", nil
		case c.Offsets.Topic != "":
			// Debezium has no default for schema.history.internal.kafka.topic.
			return "kafka:" + c.Envelope.TopicPrefix + ".schema-history", nil
		}
		return "memory", nil
	}
	kind, arg, ok := strings.Cut(spec, ":")
	switch {
	case spec == "memory":
		if c.Offsets.File != "" || c.Offsets.Topic != "" {
			return "", errors.New("--schema-history memory with durable offsets (--offsets-file/--offsets-topic): the next start " +
				"would find an offset and no history to decode it with; drop --schema-history (the default follows the offsets " +
				"store) or give file:PATH or kafka:TOPIC")
		}
		return spec, nil
	case !ok || arg == "":
		// a bare path (schema.history.internal.file.filename)
		return "file:" + spec, nil
	case kind == "file":
		return spec, nil
	case kind == "kafka":
		if len(c.Kafka.Client.Brokers) == 0 {
			return "", errors.New("--schema-history kafka:TOPIC needs --kafka-brokers")
		}
		return spec, nil
	}
	return "", fmt.Errorf("--schema-history %q: want file:PATH, kafka:TOPIC or memory", spec)
}

// openHistory opens the schema history store named by spec (from resolveHistory).
func openHistory(ctx context.Context, c *cli.Capture, spec string) (history.Store, error) {
	kind, arg, _ := strings.Cut(spec, ":")
	switch kind {
	case "memory":
		c.Logger().Warn("offsets and schema history are kept in memory only: a restart starts over with a new snapshot")
		return new(history.Memory), nil
	case "file":
		return history.NewFile(arg, c.Logger()), nil
	}
	return history.NewKafka(ctx, history.KafkaConfig{Client: c.Kafka.Client, Topic: arg, Replication: c.Kafka.Replication, Logger: c.Logger()})
}
