package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicecdc/sluice/internal/properties"
)

// Set is a subcommand's flags with sluice's precedence: a flag given on the command line, else
// its SLUICE_<FLAG> environment variable, else the --config properties file (Debezium property
// names, debezium.source. stripped, as components name them with RegisterFlags), else the
// default. Every subcommand has --config, --log-level and --log-format.
type Set struct {
	fs *flag.FlagSet

	ConfigFile string
	LogLevel   string
	LogFormat  string

	props map[string]propAlias // property name -> flag
	// unknown lists config-file keys no flag claimed; logged as warnings once the logger exists.
	unknown []string
	// argvSecrets lists secret flags given on the command line; logged as warnings once the
	// logger exists (other users of the host may read a process's arguments).
	argvSecrets []string
	checks      []func() error
	logger      *slog.Logger
}

type propAlias struct {
	flag    string
	convert func(string) (string, error) // nil: value as is
}

// NewSet returns the Set of the command prog; usage, if not nil, is printed above the flags
// by -h.
func NewSet(prog string, usage func(w io.Writer)) *Set {
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.Usage = func() {
		if usage != nil {
			usage(fs.Output())
		}
		fs.PrintDefaults()
	}
	return newSet(fs)
}

func newSet(fs *flag.FlagSet) *Set {
	s := &Set{fs: fs, props: map[string]propAlias{}}
	fs.StringVar(&s.ConfigFile, "config", "", "Debezium-style properties file (debezium.source.* names accepted); flags and SLUICE_* env vars override it")
	fs.StringVar(&s.LogLevel, "log-level", "info", "debug|info|warn|error")
	fs.StringVar(&s.LogFormat, "log-format", "", "text|json (default: text on a terminal, else json)")
	s.Names(properties.Names{"quarkus.log.level": "log-level"})
	s.Check(func() error {
		var errs []error
		if _, err := ParseLevel(s.LogLevel); err != nil {
			errs = append(errs, err)
		}
		switch s.LogFormat {
		case "", "text", "json":
		default:
			errs = append(errs, fmt.Errorf("--log-format %q: want text or json", s.LogFormat))
		}
		return errors.Join(errs...)
	})
	return s
}

// FlagSet is where the command and its components register their flags.
func (s *Set) FlagSet() *flag.FlagSet { return s.fs }

// Names makes each property of n set its flag. A property ending in ".ms" is milliseconds
// and sets a duration flag.
func (s *Set) Names(n properties.Names) {
	for prop, fl := range n {
		a := propAlias{flag: fl}
		if strings.HasSuffix(prop, ".ms") {
			a.convert = millis
		}
		s.props[prop] = a
	}
}

// Alias makes the property prop set flag name.
func (s *Set) Alias(prop, name string) { s.Names(properties.Names{prop: name}) }

// AliasFunc is Alias with a value conversion (e.g. a topic to kafka:TOPIC).
func (s *Set) AliasFunc(prop, name string, convert func(string) (string, error)) {
	s.props[prop] = propAlias{flag: name, convert: convert}
}

// Check adds a validation run after every value is applied; Parse reports the errors of all
// checks at once.
func (s *Set) Check(f func() error) { s.checks = append(s.checks, f) }

func millis(v string) (string, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return "", fmt.Errorf("want milliseconds: %w", err)
	}
	return (time.Duration(n) * time.Millisecond).String(), nil
}

// EnvName is the environment variable for a flag: SLUICE_ + upper case, '-' → '_'.
func EnvName(flagName string) string {
	return "SLUICE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Parse parses args, then fills every flag not given on the command line from its SLUICE_ env
// var, else from the properties file, else leaves the default; then reports every bad value and
// failed check at once. Positional arguments are an error.
func (s *Set) Parse(args []string) error {
	if err := s.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return ErrUsage
	}
	if s.fs.NArg() > 0 {
		fmt.Fprintf(s.fs.Output(), "unexpected argument %q\n", s.fs.Arg(0))
		return ErrUsage
	}
	return s.resolve(os.LookupEnv)
}

func (s *Set) resolve(lookup func(string) (string, bool)) error {
	set := map[string]bool{}
	s.fs.Visit(func(f *flag.Flag) {
		set[f.Name] = true
		if secret(f) || f.Name == "dsn" && dsnHasPassword(f.Value.String()) {
			s.argvSecrets = append(s.argvSecrets, f.Name)
		}
	})
	var errs []error
	if !set["config"] {
		if v, ok := lookup(EnvName("config")); ok {
			s.ConfigFile = v
			set["config"] = true
		}
	}
	fromFile := map[string]string{} // flag -> value
	fileKey := map[string]string{}  // flag -> property name, for errors
	if s.ConfigFile != "" {
		props, err := properties.Read(s.ConfigFile)
		if err != nil {
			return err
		}
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			name := strings.TrimPrefix(k, "debezium.source.")
			a, ok := s.props[name]
			if !ok {
				a, ok = s.props[k]
			}
			if !ok {
				s.unknown = append(s.unknown, k)
				continue
			}
			v := props[k]
			if a.convert != nil {
				cv, err := a.convert(v)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %s=%q: %w", s.ConfigFile, k, v, err))
					continue
				}
				v = cv
			}
			// Several properties may set one flag (a Kafka setting under the sink's, the
			// history's and the bare prefix); sluice has one value, so they must agree.
			if prev, ok := fromFile[a.flag]; ok && prev != v {
				f := s.fs.Lookup(a.flag)
				errs = append(errs, fmt.Errorf("%s: %s=%q and %s=%q both set --%s: sluice uses one value for both; make them equal or drop one",
					s.ConfigFile, fileKey[a.flag], shown(f, prev), k, shown(f, v), a.flag))
				continue
			}
			fromFile[a.flag], fileKey[a.flag] = v, k
		}
	}
	where := map[string]string{} // flag -> where a deferred bad value came from
	s.fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || f.Name == "config" {
			return
		}
		if v, ok := lookup(EnvName(f.Name)); ok {
			where[f.Name] = fmt.Sprintf("%s=%q: ", EnvName(f.Name), shown(f, v))
			if err := s.fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", EnvName(f.Name), v, err))
			}
			return
		}
		if v, ok := fromFile[f.Name]; ok {
			where[f.Name] = fmt.Sprintf("%s: %s=%q: ", s.ConfigFile, fileKey[f.Name], shown(f, v))
			if err := s.fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s=%q: %w", s.ConfigFile, fileKey[f.Name], v, err))
			}
		}
	})
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	// Bad values of properties.Func flags kept their error for here, to be reported with
	// the checks.
	s.fs.VisitAll(func(f *flag.Flag) {
		if d, ok := f.Value.(interface{ Err() error }); ok && d.Err() != nil {
			errs = append(errs, fmt.Errorf("%s--%s %s: %w", where[f.Name], f.Name, f.Value, d.Err()))
		}
	})
	for _, c := range s.checks {
		if err := c(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// secret reports whether f holds a secret (properties.Secret), whose value is never shown.
func secret(f *flag.Flag) bool {
	v, ok := f.Value.(interface{ Secret() bool })
	return ok && v.Secret()
}

// dsnHasPassword reports whether a connection string carries a password (URL user info or a
// password= key, or user:password@ of a go-sql-driver DSN).
func dsnHasPassword(dsn string) bool {
	if at := strings.LastIndexByte(dsn, '@'); at > 0 && !strings.Contains(dsn, "://") && strings.Contains(dsn[:at], ":") {
		return true
	}
	return properties.RedactURL(dsn) != dsn || strings.Contains(dsn, "password=")
}

// shown is v as an error may quote it: secrets are redacted.
func shown(f *flag.Flag, v string) string {
	if secret(f) {
		return "<redacted>"
	}
	return v
}

// ParseLevel parses --log-level.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug", "trace":
		return slog.LevelDebug, nil
	case "", "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error", "fatal":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
}

// saramaLogger installs sarama's logger once per process (see Logger).
var saramaLogger sync.Once

// Logger returns the process logger chosen by --log-level and --log-format (built once; also
// installed as slog's default and, by the first Set of the process, as sarama's logger at
// debug level).
func (s *Set) Logger() *slog.Logger {
	if s.logger != nil {
		return s.logger
	}
	lvl, _ := ParseLevel(s.LogLevel)
	opts := &slog.HandlerOptions{Level: lvl}
	format := s.LogFormat
	if format == "" {
		format = "json"
		if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			format = "text"
		}
	}
	var h slog.Handler
	if format == "text" {
		h = slog.NewTextHandler(logOutput(), opts)
	} else {
		h = slog.NewJSONHandler(logOutput(), opts)
	}
	s.logger = slog.New(h)
	slog.SetDefault(s.logger)
	// sarama.Logger is a plain global that sarama's goroutines read without a lock: set it once
	// per process (a process parses once; a test that runs several commands in one process
	// would otherwise race with the goroutines of the previous run).
	saramaLogger.Do(func() { sarama.Logger = slog.NewLogLogger(h, slog.LevelDebug) })
	for _, name := range s.argvSecrets {
		msg := "secret given on the command line, where other users of the host may read it: use a file or the environment instead"
		if name == "dsn" {
			msg = "--dsn on the command line carries a password, which other users of the host may read: use --password-file or the environment instead"
		}
		s.logger.Warn(msg, "flag", "--"+name, "env", EnvName(name))
	}
	for _, k := range s.unknown {
		s.logger.Warn("config file property not used by sluice", "file", s.ConfigFile, "property", k)
	}
	return s.logger
}
