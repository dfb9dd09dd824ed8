// Package postgrescmd is the postgres subcommand (sluice postgres, sluice-postgres): PostgreSQL
// capture through a pgoutput slot. Importing it registers the command with internal/cli.
package postgrescmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sluicecdc/sluice/capture/postgres"
	"github.com/sluicecdc/sluice/internal/cli"
	"github.com/sluicecdc/sluice/internal/pipeline"
)

func init() {
	cli.Register("postgres", "capture PostgreSQL changes through a pgoutput logical replication slot", runPostgres)
}

// pgFlags are the flags of `sluice postgres` beyond the common ones.
type pgFlags struct {
	DSN, PasswordFile                  string
	Host, Port, User, DBName           string
	Slot, Publication, PublicationMode string
	SnapshotMode                       string
	SnapshotWorkers, SnapshotChunkRows int
	SchemaInclude, TableInclude        string
	TableExclude, ColumnExclude        string
	HeartbeatActionQuery               string
	StatusInterval                     time.Duration
	SpoolDir                           string
	ProtoVersion                       int
}

func runPostgres(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("sluice postgres", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: sluice postgres --dsn postgres://USER@HOST:PORT/DBNAME --topic-prefix NAME [flags]\n\n"+
			"Streams row changes from a PostgreSQL database (pgoutput logical replication) as Debezium\n"+
			"PostgreSQL-connector records, after an initial snapshot. Every flag can be set with SLUICE_<FLAG>;\n"+
			"the password can come from the DSN, --password-file or SLUICE_PG_PASSWORD (never only argv).\n\n")
		fs.PrintDefaults()
	}
	c := cli.AddFlags(fs)
	var f pgFlags
	fs.StringVar(&f.DSN, "dsn", "", "PostgreSQL URL or key=value string (user needs REPLICATION and SELECT); required unless --host etc. are given")
	fs.StringVar(&f.PasswordFile, "password-file", "", "read the password from this file (first line)")
	fs.StringVar(&f.Host, "host", "", "database host (overrides the DSN's; database.hostname)")
	fs.StringVar(&f.Port, "port", "", "database port (database.port)")
	fs.StringVar(&f.User, "user", "", "database user (database.user)")
	fs.StringVar(&f.DBName, "dbname", "", "database name (database.dbname)")
	fs.StringVar(&f.Slot, "slot", "sluice", "replication slot (created with pgoutput if missing; slot.name)")
	fs.StringVar(&f.Publication, "publication", "sluice", "publication (publication.name)")
	fs.StringVar(&f.PublicationMode, "publication-mode", "all_tables", "how a missing publication is created: all_tables|filtered|disabled (publication.autocreate.mode)")
	fs.StringVar(&f.SnapshotMode, "snapshot-mode", "initial", "initial|initial_only|no_data|when_needed|always (snapshot.mode)")
	fs.IntVar(&f.SnapshotWorkers, "snapshot-workers", 2, "connections reading the snapshot in parallel, each importing the same snapshot (snapshot.max.threads)")
	fs.IntVar(&f.SnapshotChunkRows, "snapshot-chunk-rows", 10000, "rows per primary-key chunk of the snapshot (snapshot.fetch.size)")
	fs.StringVar(&f.SchemaInclude, "schema-include", "", "comma-separated regexes of schemas to capture (schema.include.list)")
	fs.StringVar(&f.TableInclude, "table-include", "", "comma-separated regexes of schema.table to capture (table.include.list)")
	fs.StringVar(&f.TableExclude, "table-exclude", "", "comma-separated regexes of schema.table not to capture (table.exclude.list)")
	fs.StringVar(&f.ColumnExclude, "column-exclude", "", "comma-separated regexes of schema.table.column to leave out (column.exclude.list)")
	fs.StringVar(&f.HeartbeatActionQuery, "heartbeat-action-query", "", "SQL run on every heartbeat, e.g. an upsert into a heartbeat table (heartbeat.action.query)")
	fs.DurationVar(&f.StatusInterval, "status-interval", time.Second, "how often the slot is confirmed up to acknowledged data (status.update.interval.ms)")
	fs.StringVar(&f.SpoolDir, "spool-dir", "", "directory for large in-progress transactions streamed by the server (default: the system temp dir)")
	fs.IntVar(&f.ProtoVersion, "proto-version", 0, "pgoutput protocol version: 1, or 2 with streaming (default: 2 on PostgreSQL ≥ 14)")
	for prop, name := range map[string]string{
		"database.hostname": "host", "database.port": "port", "database.user": "user", "database.dbname": "dbname",
		"slot.name": "slot", "publication.name": "publication", "publication.autocreate.mode": "publication-mode",
		"snapshot.mode": "snapshot-mode", "snapshot.max.threads": "snapshot-workers", "snapshot.fetch.size": "snapshot-chunk-rows",
		"schema.include.list": "schema-include", "table.include.list": "table-include", "table.exclude.list": "table-exclude",
		"column.exclude.list": "column-exclude", "heartbeat.action.query": "heartbeat-action-query",
	} {
		c.Alias(prop, name)
	}
	c.AliasFunc("status.update.interval.ms", "status-interval", func(v string) (string, error) {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		return (time.Duration(n) * time.Millisecond).String(), err
	})
	if err := c.Parse(args); err != nil {
		return err
	}
	log := c.Logger()
	dsn, err := f.dsn()
	if err != nil {
		return err
	}
	store, err := c.OpenOffsets(ctx)
	if err != nil {
		return err
	}
	defer store.Close()
	cfg := postgres.Config{
		DSN: dsn, Slot: f.Slot, Publication: f.Publication, PublicationMode: postgres.PublicationMode(f.PublicationMode),
		SnapshotMode: postgres.SnapshotMode(f.SnapshotMode), SnapshotWorkers: f.SnapshotWorkers, SnapshotChunkRows: f.SnapshotChunkRows,
		SchemaInclude: cli.SplitList(f.SchemaInclude), TableInclude: cli.SplitList(f.TableInclude),
		TableExclude: cli.SplitList(f.TableExclude), ColumnExclude: cli.SplitList(f.ColumnExclude),
		SkippedOperations: c.SkippedOperations, StatusInterval: f.StatusInterval,
		HeartbeatInterval: c.HeartbeatInterval, HeartbeatActionQuery: f.HeartbeatActionQuery,
		ProtoVersion: f.ProtoVersion, SpoolDir: f.SpoolDir, Logger: log,
	}
	if cfg.SkippedOperations == "" {
		cfg.SkippedOperations = "none"
	}
	if strings.ContainsAny(cfg.SkippedOperations, "rm") {
		// The source only filters c/u/d/t; the pipeline drops the rest.
		cfg.SkippedOperations = "none"
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	open := func(ctx context.Context, offset []byte) (pipeline.Source, error) {
		cfg.Offset = offset
		return postgres.Open(ctx, cfg)
	}
	err = c.RunReconnecting(ctx, "postgres", store, open, nil)
	if errors.Is(err, postgres.ErrSnapshotOnly) {
		return nil
	}
	return err
}

// dsn builds the connection string from --dsn, the --host/--port/--user/--dbname overrides
// and the password from --password-file or SLUICE_PG_PASSWORD.
func (f *pgFlags) dsn() (string, error) {
	pw, havePW := os.LookupEnv("SLUICE_PG_PASSWORD")
	if f.PasswordFile != "" {
		b, err := os.ReadFile(f.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("--password-file: %w", err)
		}
		pw, havePW = strings.TrimRight(strings.SplitN(string(b), "\n", 2)[0], "\r"), true
	}
	d := f.DSN
	if d == "" {
		if f.Host == "" {
			return "", errors.New("--dsn (or --host/--port/--user/--dbname) is required, e.g. --dsn postgres://repl@127.0.0.1:5432/app")
		}
		d = "postgres://"
	}
	if !strings.Contains(d, "://") {
		// key=value form: later keys win.
		for k, v := range map[string]string{"host": f.Host, "port": f.Port, "user": f.User, "dbname": f.DBName} {
			if v != "" {
				d += " " + k + "=" + quoteKV(v)
			}
		}
		if havePW {
			d += " password=" + quoteKV(pw)
		}
		return d, nil
	}
	u, err := url.Parse(d)
	if err != nil {
		return "", fmt.Errorf("--dsn: %w", err)
	}
	if f.Host != "" || f.Port != "" {
		host, port := u.Hostname(), u.Port()
		if f.Host != "" {
			host = f.Host
		}
		if f.Port != "" {
			port = f.Port
		}
		u.Host = host
		if port != "" {
			u.Host += ":" + port
		}
	}
	if f.DBName != "" {
		u.Path = "/" + f.DBName
	}
	user := u.User.Username()
	if f.User != "" {
		user = f.User
	}
	if havePW {
		u.User = url.UserPassword(user, pw)
	} else if p, ok := u.User.Password(); ok {
		u.User = url.UserPassword(user, p)
	} else if user != "" {
		u.User = url.User(user)
	}
	return u.String(), nil
}

func quoteKV(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}
