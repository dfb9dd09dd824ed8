// Package mysqlcmd is the mysql subcommand (sluice mysql, sluice-mysql): MySQL/MariaDB binlog
// capture as a replica. A main wires it in with Command.
package mysqlcmd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql"
	"github.com/sluicecdc/sluice/capture/mysql/history"
	"github.com/sluicecdc/sluice/internal/cli"
	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/internal/properties"
	"github.com/sluicecdc/sluice/sink/kafka"
)

// Command is `sluice mysql` with the --sink choices sinks.
func Command(sinks ...cli.SinkKind) cli.Command {
	return cli.Command{
		Name:    "mysql",
		Summary: "capture MySQL/MariaDB changes from the binlog as a replica",
		Run: func(ctx context.Context, prog string, args []string) error {
			return run(ctx, prog, args, sinks)
		},
		Check: func(ctx context.Context, prog string, args []string) error {
			return check(ctx, prog, args, sinks)
		},
	}
}

// check is `sluice mysql check`: the preflight of the source, the schema history, the sink
// and the offsets store with the command's flags, creating nothing (no snapshot, no replica
// registration, no topic, no file).
func check(ctx context.Context, prog string, args []string, sinks []cli.SinkKind) error {
	c, cfg, historySpec, err := parse(prog, args, sinks)
	if err != nil {
		return err
	}
	offset, checks := c.CheckStore(ctx)
	cfg.Offset = offset
	checks = append(mysql.Check(ctx, cfg), checks...)
	checks = append(checks, checkHistory(c, historySpec, offset != nil))
	checks = append(checks, c.CheckSink(ctx))
	if !cli.PrintChecks(cli.Stdout, checks) {
		return cli.ErrChecksFailed
	}
	return nil
}

// checkHistory checks the schema history store: a stored offset needs the history that
// decodes it.
func checkHistory(c *cli.Capture, spec string, haveOffset bool) capture.Check {
	kind, arg, _ := strings.Cut(spec, ":")
	ch := capture.Check{Name: "schema history", Status: capture.CheckOK}
	switch kind {
	case "memory":
		ch.Status, ch.Detail = capture.CheckWarn, "memory: a restart takes a new snapshot"
		ch.Fix = "--offsets-file or --offsets-topic (the history follows them), or --schema-history file:PATH"
	case "file":
		fi, err := os.Stat(arg)
		switch {
		case err == nil && !fi.IsDir():
			ch.Detail = "file " + arg + " exists"
		case err != nil && os.IsNotExist(err) && !haveOffset:
			ch.Detail = "file " + arg + " will be created"
			if _, derr := os.Stat(filepath.Dir(arg)); derr != nil {
				ch.Status, ch.Detail, ch.Fix = capture.CheckFail, "directory of "+arg+": "+derr.Error(), "create it or change --schema-history"
			}
		case err != nil && os.IsNotExist(err):
			ch.Status, ch.Detail = capture.CheckFail, "an offset is stored but the history file "+arg+" is missing"
			ch.Fix = "restore the history file, or --snapshot-mode recovery to rebuild it from the server"
		default:
			ch.Status, ch.Detail, ch.Fix = capture.CheckFail, fmt.Sprint(err), "fix --schema-history"
		}
	case "kafka":
		return c.CheckTopic("schema history", arg)
	}
	return ch
}

var usage = cli.CaptureUsage{
	Synopsis: "--dsn mysql://USER@HOST:PORT --server-id N --topic-prefix NAME [flags]",
	About: "Streams row changes from the MySQL or MariaDB binlog (as a replica with its own server id) as\n" +
		"Debezium MySQL/MariaDB-connector records, after an initial snapshot. Every flag can be set with\n" +
		"SLUICE_<FLAG>; the password can come from the DSN, --password-file or SLUICE_MYSQL_PASSWORD.",
	DSN: "mysql://user[:password]@host:port (user needs SELECT, RELOAD (or LOCK TABLES on managed servers), REPLICATION SLAVE, REPLICATION CLIENT); or --host/--port/--user",
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
	// --ha: the schema history is read once this process leads, so that it holds every DDL
	// its predecessor recorded.
	lctx, release, err := c.Lead(ctx)
	if err != nil {
		return err
	}
	defer release()
	if ctx.Err() != nil {
		return nil
	}
	ctx = lctx
	hist, err := openHistory(ctx, c, historySpec)
	if err != nil {
		return err
	}
	defer hist.Close()
	cfg.History = hist
	if c.HA.Enabled {
		cfg.History = leadHistory{hist, c.CheckLeading}
	}
	if hk, ok := hist.(*history.Kafka); ok && c.EOS.Enabled {
		// A DDL's history records commit in the transaction of its data and offset.
		c.OnTxnSink = func(s *kafka.TxnSink) { hk.SetTxn(s) }
	}
	if err := cfg.Validate(); err != nil {
		return cli.Config(err)
	}
	open := func(ctx context.Context, offset []byte) (pipeline.Source, error) {
		cfg.Offset = offset
		// The snapshot's start is stored before its first row leaves (Config.SaveOffset).
		cfg.SaveOffset = c.SaveOffset
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
	c.Register(cli.GroupCapture, cfg.RegisterFlags)
	c.SetGroup(cli.GroupConnection, "server-id", "tls-mode")
	cli.ChunkRowsNames(c)
	var f connFlags
	fs.StringVar(&f.Host, "host", "", "database host (overrides the DSN's; database.hostname)")
	fs.StringVar(&f.Port, "port", "", "database port (database.port; default 3306)")
	fs.StringVar(&f.User, "user", "", "database user (database.user)")
	c.SetGroup(cli.GroupConnection, "host", "port", "user")
	c.Names(properties.Names{"database.hostname": "host", "database.port": "port", "database.user": "user"})
	var historySpec string
	fs.StringVar(&historySpec, "schema-history", "", "file:PATH, kafka:TOPIC or memory (schema.history.internal.*); default: as durable as the offsets: "+
		"file:<offsets-file>.history, kafka:<topic-prefix>.schema-history with --offsets-topic, else memory")
	c.SetGroup(cli.GroupCapture, "schema-history")
	c.Required("dsn", "server-id")
	c.Alias("schema.history.internal.file.filename", "schema-history")
	c.AliasFunc("schema.history.internal.kafka.topic", "schema-history", func(v string) (string, error) { return "kafka:" + v, nil })
	// The schema history's Kafka cluster is the one of --kafka-brokers (Debezium lets them
	// differ; sluice has one cluster, so the file's values must agree).
	c.Alias("schema.history.internal.kafka.bootstrap.servers", "kafka-brokers")
	c.Accept("schema.history.internal", func(v string) (string, error) {
		switch strings.TrimSpace(v) {
		case "io.debezium.storage.file.history.FileSchemaHistory", "io.debezium.storage.kafka.history.KafkaSchemaHistory",
			"io.debezium.relational.history.MemorySchemaHistory":
			return "", nil
		}
		return "", errors.New("sluice keeps the schema history in a file, a Kafka topic or memory (see --schema-history)")
	})
	c.Accept("connector.class", cli.ConnectorClass("mysql", "io.debezium.connector.mysql.MySqlConnector", "io.debezium.connector.mariadb.MariaDbConnector"))
	c.Examples(
		prog+" --dsn mysql://sluice@127.0.0.1:3306 --password-file /run/secrets/mysql --server-id 5401 --topic-prefix app --sink stdout",
		prog+" --config application.properties   # a Debezium Server configuration, run as is",
		"SLUICE_PASSWORD=… "+prog+" --host db --user sluice --server-id 5401 --topic-prefix app --kafka-brokers k1:9092 --offsets-file /var/lib/sluice/offsets",
	)
	if err := c.Parse(args); err != nil {
		return nil, cfg, "", err
	}
	if cfg.ServerID == 0 {
		return nil, cfg, "", cli.Config(errors.New("--server-id is required: a number unique among the server's replicas (SLUICE_SERVER_ID; database.server.id)"))
	}
	dsn, err := f.dsn(c.DSN)
	if err != nil {
		return nil, cfg, "", cli.Config(err)
	}
	pw, _, err := c.Password("SLUICE_MYSQL_PASSWORD")
	if err != nil {
		return nil, cfg, "", err
	}
	cfg.DSN, cfg.Password, cfg.Name, cfg.Logger = dsn, pw, c.Envelope.TopicPrefix, c.Logger()
	cfg.Stats = c.SourceStats() // one per process: /metrics and the progress display read it across reopens
	// signal.enabled.channels without source: the table's rows are no signals, but the table
	// still takes the watermarks of incremental snapshots (as on Debezium's MySQL connector).
	cfg.NoTableSignals = !c.Signals.Source()
	if historySpec, err = resolveHistory(c, historySpec); err != nil {
		return nil, cfg, "", cli.Config(err)
	}
	return c, cfg, historySpec, nil
}

// connFlags override parts of --dsn (Debezium's database.* properties).
type connFlags struct {
	Host, Port, User string
}

// dsn is the connection URL from --dsn (d) and the --host/--port/--user overrides.
func (f *connFlags) dsn(d string) (string, error) {
	if d == "" {
		if f.Host == "" {
			return "", errors.New("--dsn (or --host/--port/--user; database.hostname etc.) is required, e.g. --dsn mysql://sluice@127.0.0.1:3306 (SLUICE_DSN)")
		}
		d = "mysql://"
	}
	if f.Host == "" && f.Port == "" && f.User == "" {
		return d, nil
	}
	if !strings.HasPrefix(d, "mysql://") && !strings.HasPrefix(d, "mariadb://") {
		return "", errors.New("--host, --port and --user override a mysql:// URL --dsn, not a go-sql-driver DSN: give one or the other")
	}
	u, err := properties.ParseURL(d)
	if err != nil {
		return "", fmt.Errorf("--dsn: %w", err)
	}
	host, port := u.Hostname(), u.Port()
	if f.Host != "" {
		host = f.Host
	}
	if f.Port != "" {
		port = f.Port
	}
	if port == "" {
		port = "3306"
	}
	u.Host = net.JoinHostPort(host, port)
	if f.User != "" {
		if p, ok := u.User.Password(); ok {
			u.User = url.UserPassword(f.User, p)
		} else {
			u.User = url.User(f.User)
		}
	}
	return u.String(), nil
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
	hc := history.KafkaConfig{Client: c.Kafka.Client, Topic: arg, Replication: c.Kafka.Replication, Logger: c.Logger()}
	if c.HA.Enabled && !c.EOS.Enabled {
		// Fenced writes (docs/kafka.md, High availability): this process leads, so the
		// epoch it takes here is newer than any predecessor's, which can write no more.
		hc.TransactionalID = HistoryTxnID(c.Offsets.Name, c.Envelope.TopicPrefix)
		hc.Check = c.CheckLeading
	}
	return history.NewKafka(ctx, hc)
}

// HistoryTxnID is the transactional.id of the schema history's writes under --ha without
// --exactly-once: its own, since the connector's (kafka.TxnID) is the offset writer's.
func HistoryTxnID(name, topicPrefix string) string {
	return kafka.TxnID(name, topicPrefix) + "-schema-history"
}

// leadHistory refuses to append once this process no longer leads (--ha): a paused old leader
// that resumes must not append a DDL after its successor's later ones (the history replays in
// topic order). The check and the write are two steps: a Kafka history is also fenced
// (openHistory), a file history is local to its host.
type leadHistory struct {
	history.Store
	check func() error
}

func (h leadHistory) Append(ctx context.Context, r *history.Record) error {
	if err := h.check(); err != nil {
		return fmt.Errorf("schema history not appended: %w", err)
	}
	return h.Store.Append(ctx, r)
}

func (h leadHistory) AppendBatch(ctx context.Context, rs []*history.Record) error {
	if err := h.check(); err != nil {
		return fmt.Errorf("schema history not appended: %w", err)
	}
	if b, ok := h.Store.(history.BatchAppender); ok {
		return b.AppendBatch(ctx, rs)
	}
	for _, r := range rs {
		if err := h.Store.Append(ctx, r); err != nil {
			return err
		}
	}
	return nil
}
