// Package postgrescmd is the postgres subcommand (sluice postgres, sluice-postgres): PostgreSQL
// capture through a pgoutput slot. A main wires it in with Command.
package postgrescmd

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluicecdc/sluice/capture/postgres"
	"github.com/sluicecdc/sluice/internal/cli"
	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/internal/properties"
)

// Command is `sluice postgres` with the --sink choices sinks.
func Command(sinks ...cli.SinkKind) cli.Command {
	return cli.Command{
		Name:    "postgres",
		Summary: "capture PostgreSQL changes through a pgoutput logical replication slot",
		Run: func(ctx context.Context, prog string, args []string) error {
			return run(ctx, prog, args, sinks)
		},
		Check: func(ctx context.Context, prog string, args []string) error {
			return check(ctx, prog, args, sinks)
		},
	}
}

// check is `sluice postgres check`: the preflight of the source, the sink and the offsets
// store with the command's flags, creating nothing (no slot, no publication, no topic).
func check(ctx context.Context, prog string, args []string, sinks []cli.SinkKind) error {
	c, cfg, err := parse(prog, args, sinks)
	if err != nil {
		return err
	}
	offset, checks := c.CheckStore(ctx)
	cfg.Offset = offset
	checks = append(postgres.Check(ctx, cfg), checks...)
	checks = append(checks, c.CheckSink(ctx))
	if !cli.PrintChecks(cli.Stdout, checks) {
		return cli.ErrChecksFailed
	}
	return nil
}

var usage = cli.CaptureUsage{
	Synopsis: "--dsn postgres://USER@HOST:PORT/DBNAME --topic-prefix NAME [flags]",
	About: "Streams row changes from a PostgreSQL database (pgoutput logical replication) as Debezium\n" +
		"PostgreSQL-connector records, after an initial snapshot. Every flag can be set with SLUICE_<FLAG>;\n" +
		"the password can come from the DSN, --password-file or SLUICE_PG_PASSWORD (never only argv).",
	DSN: "PostgreSQL URL or key=value string (user needs REPLICATION and SELECT); required unless --host etc. are given",
}

// connFlags override parts of --dsn (Debezium's database.* properties).
type connFlags struct {
	Host, Port, User, DBName string
}

func run(ctx context.Context, prog string, args []string, sinks []cli.SinkKind) error {
	c, cfg, err := parse(prog, args, sinks)
	if err != nil {
		return err
	}
	ownSlot := false // this process created the slot and no offset has been stored since
	err = c.Run(ctx, "postgres", func(ctx context.Context, offset []byte) (pipeline.Source, error) {
		oc := cfg
		oc.Offset = offset
		// --ha: this process leads (Run opens only then), so whoever holds the slot is the
		// previous leader; end it rather than wait for wal_sender_timeout.
		oc.TakeOverSlot = c.HA.Enabled
		if offset != nil {
			ownSlot = false
		} else if ownSlot {
			// A reopen before the first offset was saved (the snapshot failed part way): the
			// slot is the one this process created, none of it reached the sink, so starting
			// over loses nothing.
			oc.DropExistingSlot = true
		}
		oc.SaveOffset = func(ctx context.Context, off []byte) error {
			// The slot is this process's from here on: if the save fails, a reopen without
			// an offset may drop it (above).
			ownSlot = true
			return c.SaveOffset(ctx, off)
		}
		src, err := postgres.Open(ctx, oc)
		if err == nil && src.CreatedSlot() && offset == nil {
			ownSlot = true
		}
		if err != nil {
			return nil, err
		}
		return src, nil
	}, nil)
	if errors.Is(err, postgres.ErrSnapshotOnly) {
		return nil
	}
	return err
}

// parse reads the command line, environment and --config file into the common flags and the
// source's Config.
func parse(prog string, args []string, sinks []cli.SinkKind) (*cli.Capture, postgres.Config, error) {
	c := cli.NewCapture(prog, usage, sinks...)
	fs := c.FlagSet()
	var cfg postgres.Config
	c.Register(cli.GroupCapture, cfg.RegisterFlags)
	var f connFlags
	cli.ChunkRowsNames(c)
	fs.StringVar(&f.Host, "host", "", "database host (overrides the DSN's; database.hostname)")
	fs.StringVar(&f.Port, "port", "", "database port (database.port)")
	fs.StringVar(&f.User, "user", "", "database user (database.user)")
	fs.StringVar(&f.DBName, "dbname", "", "database name (database.dbname)")
	c.SetGroup(cli.GroupConnection, "host", "port", "user", "dbname")
	c.Required("dsn")
	c.Names(properties.Names{"database.hostname": "host", "database.port": "port", "database.user": "user", "database.dbname": "dbname"})
	c.Accept("connector.class", cli.ConnectorClass("postgres", "io.debezium.connector.postgresql.PostgresConnector"))
	c.Accept("plugin.name", func(v string) (string, error) {
		if strings.TrimSpace(v) != "pgoutput" {
			return "", errors.New("sluice reads the pgoutput plugin only (built into PostgreSQL ≥ 10): set plugin.name=pgoutput")
		}
		return "", nil
	})
	c.Examples(
		prog+" --dsn postgres://repl@127.0.0.1:5432/app --password-file /run/secrets/pg --topic-prefix app --sink stdout",
		prog+" --config application.properties   # a Debezium Server configuration, run as is",
		"SLUICE_PASSWORD=… "+prog+" --host db --dbname app --user repl --topic-prefix app --kafka-brokers k1:9092 --offsets-file /var/lib/sluice/offsets",
	)
	if err := c.Parse(args); err != nil {
		return nil, cfg, err
	}
	pw, havePW, err := c.Password("SLUICE_PG_PASSWORD")
	if err != nil {
		return nil, cfg, err
	}
	if cfg.DSN, err = f.dsn(c.DSN, pw, havePW); err != nil {
		return nil, cfg, cli.Config(err)
	}
	cfg.SkippedOperations = c.Pipeline.SkippedOps
	cfg.HeartbeatInterval = c.Pipeline.HeartbeatInterval
	cfg.Logger = c.Logger()
	cfg.Stats = c.SourceStats() // one per process: /metrics and the progress display read it across reopens
	if !c.Signals.Source() {
		cfg.SignalDataCollection = "" // signal.enabled.channels without source: the table's rows are no signals
	}
	return c, cfg, cli.Config(cfg.Validate())
}

// dsn builds the connection string from --dsn (d), the --host/--port/--user/--dbname
// overrides and the password, if havePW.
func (f *connFlags) dsn(d, pw string, havePW bool) (string, error) {
	if d == "" {
		if f.Host == "" {
			return "", errors.New("--dsn (or --host/--port/--user/--dbname; database.hostname etc.) is required, e.g. --dsn postgres://repl@127.0.0.1:5432/app")
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
		// A malformed key=value string is a configuration error (exit 2) now, not a failed
		// start; pgconn's error shows the string with its password masked.
		if _, err := pgconn.ParseConfig(d); err != nil {
			return "", fmt.Errorf("--dsn: %w (want postgres://user@host:port/dbname or host=… port=… user=… dbname=…)", err)
		}
		return d, nil
	}
	u, err := properties.ParseURL(d)
	if err != nil {
		return "", fmt.Errorf("--dsn: %w", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return "", fmt.Errorf("--dsn: scheme %q is not PostgreSQL's: want postgres://user@host:port/dbname (or host=… dbname=…)", u.Scheme)
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
