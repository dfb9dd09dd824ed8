// Package mysqlcmd is the mysql subcommand (sluice mysql, sluice-mysql): MySQL/MariaDB binlog
// capture as a replica. Importing it registers the command with internal/cli.
package mysqlcmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sluicecdc/sluice/capture/mysql"
	"github.com/sluicecdc/sluice/capture/mysql/replication"
	"github.com/sluicecdc/sluice/internal/cli"
	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/schema/history"
)

func init() {
	cli.Register("mysql", "capture MySQL/MariaDB changes from the binlog as a replica", runMySQL)
}

// myFlags are the flags of `sluice mysql` beyond the common ones.
type myFlags struct {
	DSN, PasswordFile                string
	ServerID                         uint
	DatabaseInclude, DatabaseExclude string
	TableInclude, TableExclude       string
	ColumnExclude                    string
	SnapshotMode, SnapshotLocking    string
	SnapshotChunkRows                int
	SnapshotWorkers                  int
	SchemaHistory                    string
	IncludeQuery, SchemaRepair       bool
	TLSMode                          string
	BinlogHeartbeat                  time.Duration
}

func runMySQL(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sluice mysql", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: sluice mysql --dsn mysql://USER@HOST:PORT --server-id N --topic-prefix NAME [flags]\n\n"+
			"Streams row changes from the MySQL or MariaDB binlog (as a replica with its own server id) as\n"+
			"Debezium MySQL/MariaDB-connector records, after an initial snapshot. Every flag can be set with\n"+
			"SLUICE_<FLAG>; the password can come from the DSN, --password-file or SLUICE_MYSQL_PASSWORD.\n\n")
		fs.PrintDefaults()
	}
	c := cli.AddFlags(fs)
	var f myFlags
	fs.StringVar(&f.DSN, "dsn", "", "mysql://user[:password]@host:port (user needs SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT); required")
	fs.StringVar(&f.PasswordFile, "password-file", "", "read the password from this file (first line)")
	fs.UintVar(&f.ServerID, "server-id", 0, "this replica's server id: required, unique among the server's replicas (database.server.id)")
	fs.StringVar(&f.DatabaseInclude, "database-include", "", "comma-separated regexes of databases to capture (database.include.list)")
	fs.StringVar(&f.DatabaseExclude, "database-exclude", "", "comma-separated regexes of databases not to capture (database.exclude.list)")
	fs.StringVar(&f.TableInclude, "table-include", "", "comma-separated regexes of db.table to capture (table.include.list)")
	fs.StringVar(&f.TableExclude, "table-exclude", "", "comma-separated regexes of db.table not to capture (table.exclude.list)")
	fs.StringVar(&f.ColumnExclude, "column-exclude", "", "comma-separated regexes of db.table.column to leave out (column.exclude.list)")
	fs.StringVar(&f.SnapshotMode, "snapshot-mode", "initial", "initial|initial_only|no_data|when_needed|always|recovery (snapshot.mode)")
	fs.StringVar(&f.SnapshotLocking, "snapshot-locking", "minimal", "minimal|none (snapshot.locking.mode)")
	fs.IntVar(&f.SnapshotChunkRows, "snapshot-chunk-rows", 10000, "rows per primary-key chunk of the snapshot (snapshot.fetch.size)")
	fs.IntVar(&f.SnapshotWorkers, "snapshot-workers", 2, "connections reading tables in parallel, all in one consistent snapshot (snapshot.max.threads; 1 with --snapshot-locking none)")
	fs.StringVar(&f.SchemaHistory, "schema-history", "", "file:PATH or kafka:TOPIC (schema.history.internal.*); default file:<offsets-file>.history")
	fs.BoolVar(&f.IncludeQuery, "include-query", false, "fill source.query (needs binlog_rows_query_log_events=ON, MariaDB binlog_annotate_row_events=ON; include.query)")
	fs.BoolVar(&f.SchemaRepair, "schema-repair", false, "when a binlog table map does not match the schema history, rebuild that table from the server if the server's definition matches")
	fs.StringVar(&f.TLSMode, "tls-mode", "preferred", "replication connection TLS: disable|preferred|required|verify-ca|verify-full")
	fs.DurationVar(&f.BinlogHeartbeat, "binlog-heartbeat", 15*time.Second, "ask the server for a heartbeat after this much binlog idle time")
	for prop, name := range map[string]string{
		"database.server.id": "server-id", "database.include.list": "database-include", "database.exclude.list": "database-exclude",
		"table.include.list": "table-include", "table.exclude.list": "table-exclude", "column.exclude.list": "column-exclude",
		"snapshot.mode": "snapshot-mode", "snapshot.locking.mode": "snapshot-locking", "snapshot.fetch.size": "snapshot-chunk-rows", "snapshot.max.threads": "snapshot-workers",
		"include.query": "include-query", "schema.history.internal.file.filename": "schema-history",
	} {
		c.Alias(prop, name)
	}
	c.AliasFunc("schema.history.internal.kafka.topic", "schema-history", func(v string) (string, error) { return "kafka:" + v, nil })
	if err := c.Parse(args); err != nil {
		return err
	}
	log := c.Logger()
	if f.ServerID == 0 || f.ServerID > 1<<32-1 {
		return errors.New("--server-id is required: a number unique among the server's replicas (SLUICE_SERVER_ID; database.server.id)")
	}
	if f.DSN == "" {
		return errors.New("--dsn is required, e.g. --dsn mysql://sluice@127.0.0.1:3306 (SLUICE_DSN)")
	}
	pw := os.Getenv("SLUICE_MYSQL_PASSWORD")
	if f.PasswordFile != "" {
		b, err := os.ReadFile(f.PasswordFile)
		if err != nil {
			return fmt.Errorf("--password-file: %w", err)
		}
		pw = strings.TrimRight(strings.SplitN(string(b), "\n", 2)[0], "\r")
	}
	tls, err := replication.ParseTLSMode(f.TLSMode)
	if err != nil {
		return fmt.Errorf("--tls-mode: %w", err)
	}
	mode, err := mysql.ParseSnapshotMode(f.SnapshotMode)
	if err != nil {
		return err
	}
	locking, err := mysql.ParseSnapshotLocking(f.SnapshotLocking)
	if err != nil {
		return err
	}
	hist, err := openHistory(ctx, c, f.SchemaHistory)
	if err != nil {
		return err
	}
	defer hist.Close()
	store, err := c.OpenOffsets(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	cfg := mysql.Config{
		DSN: f.DSN, Password: pw, ServerID: uint32(f.ServerID), Name: c.TopicPrefix,
		DatabaseInclude: cli.SplitList(f.DatabaseInclude), DatabaseExclude: cli.SplitList(f.DatabaseExclude),
		TableInclude: cli.SplitList(f.TableInclude), TableExclude: cli.SplitList(f.TableExclude), ColumnExclude: cli.SplitList(f.ColumnExclude),
		SnapshotMode: mode, SnapshotLocking: locking, SnapshotChunkRows: f.SnapshotChunkRows, SnapshotWorkers: f.SnapshotWorkers,
		IncludeQuery: f.IncludeQuery, SchemaRepair: f.SchemaRepair, History: hist, TLS: tls,
		HeartbeatPeriod: f.BinlogHeartbeat, Logger: log,
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	open := func(ctx context.Context, offset []byte) (pipeline.Source, error) {
		cfg.Offset = offset
		return mysql.New(ctx, cfg)
	}
	return c.RunReconnecting(ctx, "mysql", store, open, func(err error) {
		if cfg.SnapshotMode == mysql.SnapshotWhenNeeded && errors.Is(err, mysql.ErrPurged) {
			log.Warn("the stored binlog position is gone; taking a new snapshot (snapshot mode when_needed)", "err", err)
		}
	})
}

// openHistory opens the schema history store named by spec (file:PATH or kafka:TOPIC).
func openHistory(ctx context.Context, c *cli.Flags, spec string) (history.Store, error) {
	if spec == "" {
		if c.OffsetsFile == "" {
			c.Logger().Warn("no --schema-history and no --offsets-file: the schema history is kept in memory only")
			return new(history.Memory), nil
		}
		spec = "file:" + c.OffsetsFile + ".history"
	}
	kind, arg, ok := strings.Cut(spec, ":")
	if !ok || arg == "" {
		// a bare path (schema.history.internal.file.filename)
		kind, arg = "file", spec
	}
	switch kind {
	case "file":
		return history.NewFile(arg), nil
	case "kafka":
		kc := c.KafkaClient()
		if len(kc.Brokers) == 0 {
			return nil, errors.New("--schema-history kafka:TOPIC needs --kafka-brokers")
		}
		return history.NewKafka(ctx, history.KafkaConfig{Client: kc, Topic: arg, Replication: int16(c.TopicReplication)})
	}
	return nil, fmt.Errorf("--schema-history %q: want file:PATH or kafka:TOPIC", spec)
}
