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
	fs.StringVar(&historySpec, "schema-history", "", "file:PATH or kafka:TOPIC (schema.history.internal.*); default file:<offsets-file>.history")
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
	return c, cfg, historySpec, nil
}

// openHistory opens the schema history store named by spec (file:PATH or kafka:TOPIC).
func openHistory(ctx context.Context, c *cli.Capture, spec string) (history.Store, error) {
	if spec == "" {
		if c.Offsets.File == "" {
			c.Logger().Warn("no --schema-history and no --offsets-file: the schema history is kept in memory only")
			return new(history.Memory), nil
		}
		spec = "file:" + c.Offsets.File + ".history"
	}
	kind, arg, ok := strings.Cut(spec, ":")
	if !ok || arg == "" {
		// a bare path (schema.history.internal.file.filename)
		kind, arg = "file", spec
	}
	switch kind {
	case "file":
		return history.NewFile(arg, c.Logger()), nil
	case "kafka":
		if len(c.Kafka.Client.Brokers) == 0 {
			return nil, errors.New("--schema-history kafka:TOPIC needs --kafka-brokers")
		}
		return history.NewKafka(ctx, history.KafkaConfig{Client: c.Kafka.Client, Topic: arg, Replication: c.Kafka.Replication})
	}
	return nil, fmt.Errorf("--schema-history %q: want file:PATH or kafka:TOPIC", spec)
}
