// Package verifycmd is the verify subcommand (sluice verify): it compares the tables of a
// PostgreSQL or MySQL/MariaDB database with the ClickHouse tables that sluice's ClickHouse
// sink fills, prints a table of the differences and exits 1 when there is one. A main wires it
// in with Command.
package verifycmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sluicecdc/sluice/internal/cli"
	"github.com/sluicecdc/sluice/internal/properties"
	"github.com/sluicecdc/sluice/internal/tlsconf"
	chsink "github.com/sluicecdc/sluice/sink/clickhouse"
	"github.com/sluicecdc/sluice/verify"
	"github.com/sluicecdc/sluice/verify/clickhouse"
	"github.com/sluicecdc/sluice/verify/mysql"
	"github.com/sluicecdc/sluice/verify/postgres"
)

// ErrDifferent is returned when a table differs (exit status 1).
var ErrDifferent = errors.New("the sink differs from the source")

// Command is `sluice verify`.
func Command() cli.Command {
	return cli.Command{Name: "verify", Summary: "compare source tables with their ClickHouse copies (read-only)",
		Run: func(ctx context.Context, prog string, args []string) error { return Run(ctx, prog, args, os.Stdout) }}
}

// Config is what `sluice verify` compares and how.
type Config struct {
	DSN    string // source: postgres://…, key=value (PostgreSQL), mysql://…, mariadb://…, user@tcp(host)/ (MySQL)
	Source string // postgres | mysql; empty: from the DSN
	// Regexes (anchored, case-insensitive) of schema.table (PostgreSQL) or db.table (MySQL),
	// and of the schema/database alone.
	TableInclude, TableExclude, SchemaInclude []string
	TopicPrefix                               string // for a {topic} in --clickhouse-table-name
	ClickHouse                                chsink.Config
	Verify                                    verify.Config
	// Password of the source (--password, database.password; --password-file), else
	// SLUICE_PG_PASSWORD / SLUICE_MYSQL_PASSWORD, else the DSN's.
	Password     string
	PasswordFile string
	// TLS of the source connection (--tls-*, as the capture commands); unset: the DSN's.
	TLS tlsconf.Config
}

// RegisterFlags registers the command's flags, the sink's connection flags and the
// comparison's, and returns their Debezium property names.
func (c *Config) RegisterFlags(fs *flag.FlagSet) properties.Names {
	fs.StringVar(&c.DSN, "dsn", "", "source database: postgres://USER@HOST:PORT/DB (or key=value) or mysql://USER@HOST:PORT; required")
	fs.StringVar(&c.Source, "source", "", "postgres|mysql (default: from --dsn)")
	properties.ListVar(fs, &c.TableInclude, "table-include", "comma-separated regexes of schema.table (db.table) to compare (table.include.list); default all")
	properties.ListVar(fs, &c.TableExclude, "table-exclude", "comma-separated regexes of schema.table (db.table) not to compare (table.exclude.list)")
	properties.ListVar(fs, &c.SchemaInclude, "schema-include", "comma-separated regexes of schemas (MySQL: databases) to compare (schema.include.list, database.include.list)")
	fs.StringVar(&c.TopicPrefix, "topic-prefix", "", "topic.prefix, when --clickhouse-table-name uses {topic}")
	fs.Var(properties.Secret(func(v string) error { c.Password = v; return nil }), "password",
		"source database password (database.password); best from the --config file or SLUICE_PASSWORD: on the command line others may read it")
	fs.StringVar(&c.PasswordFile, "password-file", "", "read the source database password from this file (first line)")
	c.TLS.RegisterFlags(fs, "tls", "source database", "the DSN's sslmode (PostgreSQL) or tls= (MySQL), else plain text")
	c.ClickHouse.RegisterConnFlags(fs)
	c.Verify.RegisterFlags(fs)
	return properties.Names{
		"table.include.list":    "table-include",
		"table.exclude.list":    "table-exclude",
		"schema.include.list":   "schema-include",
		"database.include.list": "schema-include",
		"topic.prefix":          "topic-prefix",
		"database.password":     "password",
		// the capture commands' TLS property names: PostgreSQL's, then MySQL's
		"database.sslmode":        "tls-mode",
		"database.sslrootcert":    "tls-ca-file",
		"database.sslcert":        "tls-cert-file",
		"database.sslkey":         "tls-key-file",
		"database.ssl.mode":       "tls-mode",
		"database.ssl.truststore": "tls-ca-file",
		"database.ssl.keystore":   "tls-cert-file",
	}
}

// password is the source's password, by kind ("" leaves the DSN's).
func (c *Config) password(env string) (string, error) {
	if c.PasswordFile != "" {
		pw, err := properties.ReadSecretFile(c.PasswordFile)
		if err != nil {
			return "", fmt.Errorf("--password-file: %w", err)
		}
		return pw, nil
	}
	if c.Password != "" {
		return c.Password, nil
	}
	return os.Getenv(env), nil
}

// kind is the source kind of the DSN.
func (c *Config) kind() (string, error) {
	switch c.Source {
	case "postgres", "mysql":
		return c.Source, nil
	case "":
	default:
		return "", fmt.Errorf("--source %q: want postgres or mysql", c.Source)
	}
	d := c.DSN
	switch {
	case strings.HasPrefix(d, "postgres://"), strings.HasPrefix(d, "postgresql://"):
		return "postgres", nil
	case strings.HasPrefix(d, "mysql://"), strings.HasPrefix(d, "mariadb://"), strings.Contains(d, "@tcp("), strings.Contains(d, "@unix("):
		return "mysql", nil
	case strings.Contains(d, "="):
		return "postgres", nil // key=value
	}
	return "", fmt.Errorf("--dsn %q: cannot tell the source kind; give --source postgres|mysql", redact(d))
}

// Validate reports every bad setting.
func (c *Config) Validate() error {
	var errs []error
	if c.DSN == "" {
		errs = append(errs, errors.New("--dsn is required, e.g. --dsn postgres://sluice@127.0.0.1:5432/app or --dsn mysql://sluice@127.0.0.1:3306"))
	} else if _, err := c.kind(); err != nil {
		errs = append(errs, err)
	}
	for _, l := range [][]string{c.TableInclude, c.TableExclude, c.SchemaInclude} {
		if _, err := compile(l); err != nil {
			errs = append(errs, err)
		}
	}
	if err := c.Verify.Validate(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, c.TLS.Validate("tls")...)
	if strings.Contains(c.ClickHouse.TableName, "{topic}") && c.TopicPrefix == "" {
		errs = append(errs, errors.New("--clickhouse-table-name uses {topic}: give --topic-prefix"))
	}
	if err := c.ClickHouse.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func compile(l []string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, s := range l {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		re, err := regexp.Compile("(?i)^(?:" + s + ")$")
		if err != nil {
			return nil, fmt.Errorf("regex %q: %w", s, err)
		}
		out = append(out, re)
	}
	return out, nil
}

func matchAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

func redact(dsn string) string {
	if i := strings.LastIndexByte(dsn, '@'); i > 0 {
		if j := strings.Index(dsn, "://"); j >= 0 {
			if k := strings.IndexByte(dsn[j+3:i], ':'); k >= 0 {
				return dsn[:j+3+k+1] + "***" + dsn[i:]
			}
		}
	}
	return dsn
}

// source is what the command needs of a source side beyond verify.Side.
type source interface {
	verify.Side
	Tables(ctx context.Context) ([][2]string, error)
	Describe(ctx context.Context, schema, name string) (verify.SourceTable, error)
}

// Run is `sluice verify` with its report written to stdout. It returns ErrDifferent (wrapped)
// when a table differs or is missing in the sink, a usage or configuration error (cli.IsUsage)
// for a bad command line.
func Run(ctx context.Context, prog string, args []string, stdout io.Writer) error {
	cfg, log, err := parse(prog, args)
	if err != nil {
		return err
	}
	return run(ctx, cfg, log, stdout)
}

// parse reads the command line, environment and --config file; a bad setting is a usage or
// configuration error (cli.IsUsage, exit status 2).
func parse(prog string, args []string) (Config, *slog.Logger, error) {
	s := cli.NewSet(prog, func(w io.Writer) {
		fmt.Fprintf(w, "Usage: %s --dsn SOURCE-DSN --clickhouse-addr HOST:PORT --clickhouse-database DB [flags]\n\n"+
			"Compares each source table with the ClickHouse table sluice's ClickHouse sink fills, by primary-key\n"+
			"ranges with checksums computed in SQL on both sides (rows are not moved), narrowing differing ranges\n"+
			"down to keys. Read-only; may run beside a running pipeline (differing ranges are re-read until they\n"+
			"agree or --recheck-timeout passes). Exits 1 when a table differs. See docs/verify.md.\n\n", prog)
	})
	var cfg Config
	s.Names(cfg.RegisterFlags(s.FlagSet()))
	s.SetGroup(cli.GroupConnection, "dsn", "source", "password", "password-file")
	s.SetGroup(cli.GroupCapture, "table-include", "table-exclude", "schema-include", "topic-prefix")
	s.SetGroup(cli.GroupOperations, "leaf-rows", "max-keys", "recheck-interval", "recheck-timeout")
	s.Required("dsn", "clickhouse-addr", "clickhouse-database")
	s.Examples(prog + " --dsn postgres://repl@127.0.0.1:5432/app --clickhouse-addr 127.0.0.1:9000 --clickhouse-database app --table-include 'public\\.orders'")
	if err := s.Parse(args); err != nil {
		return cfg, nil, err // usage and configuration errors exit 2
	}
	if err := cfg.Validate(); err != nil {
		return cfg, nil, cli.Config(err)
	}
	log := s.Logger()
	cfg.Verify.Logger = log
	cfg.ClickHouse.Logger = log
	return cfg, log, nil
}

func run(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer) error {
	kind, _ := cfg.kind()
	var (
		src source
		db  string // {db} of the table-name template (PostgreSQL: the database)
	)
	switch kind {
	case "postgres":
		pw, err := cfg.password("SLUICE_PG_PASSWORD")
		if err != nil {
			return err
		}
		p, err := postgres.Open(ctx, cfg.DSN, pw, cfg.TLS)
		if err != nil {
			return err
		}
		defer p.Close(context.WithoutCancel(ctx))
		src, db = p, p.Database()
	default:
		pw, err := cfg.password("SLUICE_MYSQL_PASSWORD")
		if err != nil {
			return err
		}
		m, err := mysql.Open(ctx, cfg.DSN, pw, cfg.TLS)
		if err != nil {
			return err
		}
		defer m.Close()
		src = m
	}
	sink, err := clickhouse.Open(ctx, cfg.ClickHouse)
	if err != nil {
		return err
	}
	defer sink.Close()
	log.Info("verify: connected", "source", kind, "clickhouse_version", sink.Version, "clickhouse_database", sink.Database)
	inc, _ := compile(cfg.TableInclude)
	exc, _ := compile(cfg.TableExclude)
	schemas, _ := compile(cfg.SchemaInclude)
	tables, err := src.Tables(ctx)
	if err != nil {
		return err
	}
	var results []*verify.Result
	for _, t := range tables {
		full := t[0] + "." + t[1]
		if (len(schemas) > 0 && !matchAny(schemas, t[0])) || (len(inc) > 0 && !matchAny(inc, full)) || matchAny(exc, full) {
			continue
		}
		st, err := src.Describe(ctx, t[0], t[1])
		if err != nil {
			return err
		}
		tdb, tschema := db, t[0]
		if kind == "mysql" {
			tdb, tschema = t[0], ""
		}
		name := cfg.ClickHouse.TableNameOf(tdb, tschema, t[1], cfg.TopicPrefix+"."+t[0]+"."+t[1])
		data, cols, err := sink.DataTable(ctx, name)
		if err != nil {
			return err
		}
		plan := verify.NewPlan(st, sink.Database, data, cols)
		for _, c := range slices.Concat(plan.Sink.Key, plan.Sink.Columns) {
			if why := sink.Unreadable(c.Type); why != "" {
				plan.Exclude(c.Name, why)
			}
		}
		for _, e := range plan.Excluded {
			log.Warn("verify: column not compared", "table", full, "column", e.Column, "reason", e.Reason)
		}
		r, err := verify.Compare(ctx, cfg.Verify, src, sink, plan)
		if err != nil {
			return fmt.Errorf("verify %s: %w", full, err)
		}
		r.SinkTable = sink.Database + "." + name // what the user queries (the view over data)
		if r.Parked, err = sink.Parked(ctx, name); err != nil {
			return err
		}
		log.Info("verify: table compared", "table", full, "sink_table", r.SinkTable, "source_rows", r.SourceRows, "sink_rows", r.SinkRows,
			"missing", r.Missing, "differing", r.Differing, "extra", r.Extra, "rechecks", r.Rechecks, "elapsed", r.Elapsed.Round(time.Millisecond).String())
		results = append(results, r)
	}
	if len(results) == 0 {
		return errors.New("no table matched: check --dsn, --schema-include and --table-include")
	}
	if err := verify.WriteReport(stdout, results); err != nil {
		return err
	}
	bad := 0
	for _, r := range results {
		if r.Skip == "" && !r.Clean() {
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("%w: %d of %d tables", ErrDifferent, bad, len(results))
	}
	return nil
}
