package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicecdc/sluice/internal/properties"
)

// UsageError is a command line the flag parser rejects (an unknown flag, a missing value, an
// argument that is not a flag). The process prints it in one line with a pointer to --help
// and exits 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// usageError rewrites the flag package's messages in the --flag style the help uses.
func usageError(err error) *UsageError {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
		msg = "unknown flag --" + strings.TrimPrefix(name, "-")
	} else if name, ok := strings.CutPrefix(msg, "flag needs an argument: -"); ok {
		msg = "flag --" + strings.TrimPrefix(name, "-") + " needs a value"
	} else if strings.HasPrefix(msg, "invalid value ") || strings.HasPrefix(msg, "invalid boolean value ") {
		msg = strings.Replace(msg, " for flag -", " for flag --", 1)
	}
	return &UsageError{Msg: msg}
}

// ConfigError is a configuration that cannot run: a bad or missing setting, from a flag, an
// environment variable or the --config file. The process prints it and exits 2, as for a
// usage error: running it again unchanged cannot succeed.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Config marks err (if not nil) as a configuration error (exit status 2).
func Config(err error) error {
	if err == nil {
		return nil
	}
	var ce *ConfigError
	if errors.As(err, &ce) {
		return err
	}
	return &ConfigError{Err: err}
}

// Help groups, in the order the help shows them.
const (
	GroupConnection = "Connection"
	GroupCapture    = "Capture"
	GroupSnapshot   = "Snapshot"
	GroupOutput     = "Output"
	GroupKafka      = "Kafka"
	GroupClickHouse = "ClickHouse"
	GroupOperations = "Operations"
)

var groupOrder = []string{GroupConnection, GroupCapture, GroupSnapshot, GroupOutput, GroupKafka, GroupClickHouse, GroupOperations}

// help is what -h prints besides the flags.
type help struct {
	out      io.Writer
	prog     string
	head     func(w io.Writer)
	group    map[string]string // flag -> group; unset: by its name (groupOf)
	required map[string]bool
	examples []string
}

// SetGroup puts the flags names in the help group g (one of the Group* constants).
func (s *Set) SetGroup(g string, names ...string) {
	for _, n := range names {
		s.help.group[n] = g
	}
}

// Register calls a component's RegisterFlags-style function on the flag set, puts the flags
// it adds in group g (flags named snapshot-* go to Snapshot whatever g is) and applies the
// property names it returns.
func (s *Set) Register(g string, register func(fs *flag.FlagSet) properties.Names) {
	before := map[string]bool{}
	s.fs.VisitAll(func(f *flag.Flag) { before[f.Name] = true })
	names := register(s.fs)
	s.fs.VisitAll(func(f *flag.Flag) {
		if !before[f.Name] {
			if _, ok := s.help.group[f.Name]; !ok {
				s.help.group[f.Name] = g
			}
		}
	})
	s.Names(names)
}

// Required marks flags as required in the help (the command checks them).
func (s *Set) Required(names ...string) {
	for _, n := range names {
		s.help.required[n] = true
	}
}

// Examples sets the example command lines printed at the end of the help.
func (s *Set) Examples(lines ...string) { s.help.examples = lines }

// SetHelpOutput sets where -h prints the help (default standard output).
func (s *Set) SetHelpOutput(w io.Writer) { s.help.out = w }

// groupOf is the help group of a flag: as set, else by its name, else Operations.
func (s *Set) groupOf(name string) string {
	if g, ok := s.placedGroup(name); ok {
		return g
	}
	return GroupOperations
}

// placedGroup is the help group a flag was given (SetGroup, Register) or its name implies;
// false for a flag nobody placed (AuditHelp reports those).
func (s *Set) placedGroup(name string) (string, bool) {
	switch {
	case strings.HasPrefix(name, "snapshot-"):
		return GroupSnapshot, true
	case strings.HasPrefix(name, "tls-"), strings.HasPrefix(name, "ssl-"):
		return GroupConnection, true
	}
	if g, ok := s.help.group[name]; ok {
		return g, true
	}
	switch {
	case strings.HasPrefix(name, "kafka-"), strings.HasPrefix(name, "topic-"):
		return GroupKafka, true
	case strings.HasPrefix(name, "clickhouse-"):
		return GroupClickHouse, true
	case strings.HasPrefix(name, "http-"): // the /metrics endpoint's address and security
		return GroupOperations, true
	}
	return "", false
}

// helpAudit, while AuditHelp runs, receives the flags of each help printed that no group
// holds; the help itself is then discarded. auditMu lets one AuditHelp run at a time.
var (
	auditMu   sync.Mutex
	helpAudit atomic.Pointer[func(ungrouped []string)]
)

// AuditHelp runs cmd with args and -h and returns the flags its help shows without a help
// group (they would land in Operations by default). A test of each main runs it for every
// command, so a new flag cannot be left out of the grouped help.
func AuditHelp(ctx context.Context, cmd Command, prog string, args ...string) (ungrouped []string, err error) {
	auditMu.Lock()
	defer auditMu.Unlock()
	printed := false
	report := func(u []string) { ungrouped, printed = append(ungrouped, u...), true }
	helpAudit.Store(&report)
	defer helpAudit.Store(nil)
	run := cmd.Run
	if len(args) > 0 && args[0] == "check" && cmd.Check != nil {
		run, args = cmd.Check, args[1:]
	}
	if err := run(ctx, prog, append(slices.Clone(args), "-h")); err != nil && !errors.Is(err, flag.ErrHelp) {
		return nil, err
	}
	if !printed {
		return nil, fmt.Errorf("%s %s -h printed no flag help", prog, strings.Join(args, " "))
	}
	slices.Sort(ungrouped)
	return ungrouped, nil
}

// helpOut is where -h prints: the help output, or nowhere while AuditHelp runs (it gets the
// flags no group holds).
func (s *Set) helpOut() io.Writer {
	report := helpAudit.Load()
	if report == nil {
		return s.help.out
	}
	var u []string
	s.fs.VisitAll(func(f *flag.Flag) {
		if _, ok := s.placedGroup(f.Name); !ok {
			u = append(u, f.Name)
		}
	})
	(*report)(u)
	return io.Discard
}

// printHelp writes the usage head, the flags by group (required ones first in each, marked),
// the examples and where else settings come from.
func (s *Set) printHelp(w io.Writer) {
	if s.help.head != nil {
		s.help.head(w)
	}
	byGroup := map[string][]*flag.Flag{}
	s.fs.VisitAll(func(f *flag.Flag) {
		g := s.groupOf(f.Name)
		byGroup[g] = append(byGroup[g], f)
	})
	if len(s.help.required) > 0 {
		var req []string
		for n := range s.help.required {
			req = append(req, "--"+n)
		}
		slices.Sort(req)
		fmt.Fprintf(w, "Required: %s (each also from SLUICE_<FLAG> or --config).\n\n", strings.Join(req, ", "))
	}
	for _, g := range groupOrder {
		flags := byGroup[g]
		if len(flags) == 0 {
			continue
		}
		slices.SortStableFunc(flags, func(a, b *flag.Flag) int {
			ra, rb := s.help.required[a.Name], s.help.required[b.Name]
			switch {
			case ra && !rb:
				return -1
			case rb && !ra:
				return 1
			}
			return strings.Compare(a.Name, b.Name)
		})
		fmt.Fprintf(w, "%s:\n", g)
		for _, f := range flags {
			typ, usage := flag.UnquoteUsage(f)
			if typ == "value" { // a Var flag: name its kind as the standard flags do
				typ = "string"
				if _, err := strconv.ParseInt(f.DefValue, 10, 64); err == nil {
					typ = "int"
				} else if _, err := time.ParseDuration(f.DefValue); err == nil {
					typ = "duration"
				}
			}
			line := "  --" + f.Name
			if typ != "" {
				line += " " + typ
			}
			if s.help.required[f.Name] {
				line += "  (required)"
			}
			fmt.Fprintf(w, "%s\n        %s", line, strings.ReplaceAll(usage, "\n", "\n        "))
			if d := f.DefValue; d != "" && d != "0" && d != "false" && d != "0s" && !secret(f) {
				fmt.Fprintf(w, " (default %s)", d)
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w)
	}
	if len(s.help.examples) > 0 {
		fmt.Fprintln(w, "Examples:")
		for _, e := range s.help.examples {
			fmt.Fprintf(w, "  %s\n", e)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Every flag can also be set with SLUICE_<FLAG> (e.g. SLUICE_TOPIC_PREFIX) or in the --config file\n"+
		"under its Debezium property name; precedence: flag > environment > file > default. Exit status:\n"+
		"0 done, 1 runtime failure, 2 usage or configuration error. See docs/configuration.md.")
}

// ConnectorClass returns the check of a config file's connector.class for the command cmd,
// which runs the Debezium connectors classes: another connector's file is refused with the
// command that runs it.
func ConnectorClass(cmd string, classes ...string) func(v string) (string, error) {
	return func(v string) (string, error) {
		v = strings.TrimSpace(v)
		if slices.Contains(classes, v) {
			return "", nil
		}
		switch v {
		case "io.debezium.connector.postgresql.PostgresConnector":
			return "", fmt.Errorf("this file configures the PostgreSQL connector: run sluice postgres (sluice-postgres), not %s", cmd)
		case "io.debezium.connector.mysql.MySqlConnector", "io.debezium.connector.mariadb.MariaDbConnector":
			return "", fmt.Errorf("this file configures the MySQL/MariaDB connector: run sluice mysql (sluice-mysql), not %s", cmd)
		}
		return "", fmt.Errorf("sluice %s runs %s", cmd, strings.Join(classes, " or "))
	}
}

// IsUsage reports whether err is a usage or configuration error (exit status 2).
func IsUsage(err error) bool {
	var (
		ue *UsageError
		ce *ConfigError
	)
	return errors.Is(err, ErrUsage) || errors.As(err, &ue) || errors.As(err, &ce)
}
