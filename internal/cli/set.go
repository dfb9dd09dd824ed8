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
	"time"

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
	// unknown lists config-file keys no flag claimed; logged as one warning once the logger
	// exists.
	unknown []string
	// unused lists config-file keys sluice accepts and does not need, with the reason, for a
	// warning.
	unused []string
	help   help
	// argvSecrets lists secret flags given on the command line; logged as warnings once the
	// logger exists (other users of the host may read a process's arguments).
	argvSecrets []string
	checks      []func() error
	logger      *slog.Logger
	prefixes    []prefixClaim // key families claimed by Prefix (transforms.go)
}

type propAlias struct {
	flag    string
	convert func(string) (string, error) // nil: value as is
	// check, for a property that sets no flag (flag ""), validates its value; an error
	// stops the command, a warning (non-empty, err nil) is logged.
	check func(string) (warning string, err error)
	// fallback: the property sets flag only when no other property of the file does (an old
	// name the current one replaces).
	fallback bool
}

// NewSet returns the Set of the command prog; usage, if not nil, is printed above the flags
// by -h.
func NewSet(prog string, usage func(w io.Writer)) *Set {
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	s := newSet(fs)
	s.help.prog, s.help.head = prog, usage
	return s
}

func newSet(fs *flag.FlagSet) *Set {
	s := &Set{fs: fs, props: map[string]propAlias{}}
	s.help.out = os.Stdout
	s.help.group = map[string]string{}
	s.help.required = map[string]bool{}
	// Parse errors are returned and reported in one line by the caller; -h prints the help
	// (printHelp) to standard output.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&s.ConfigFile, "config", "", "properties file: Debezium Server application.properties or connector properties "+
		"(debezium.source.* names accepted), or a Kafka Connect connector JSON; ${env:NAME}, ${file:PATH:KEY} and ${NAME} "+
		"placeholders are resolved; flags and SLUICE_* env vars override it")
	fs.StringVar(&s.LogLevel, "log-level", "info", "debug|info|warn|error")
	fs.StringVar(&s.LogFormat, "log-format", "", "text|json (default: text on a terminal, else json)")
	s.SetGroup(GroupOperations, "config", "log-level", "log-format")
	s.Names(properties.Names{"quarkus.log.level": "log-level"})
	s.AliasFunc("quarkus.log.console.json", "log-format", func(v string) (string, error) {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			return "json", nil
		case "false":
			return "text", nil
		}
		return "", errors.New("want true or false")
	})
	for prop, why := range unusedProperties {
		s.Accept(prop, func(string) (string, error) { return why, nil })
	}
	// Registered first: a component that implements one of these registers it after, and wins.
	for prop, u := range unimplementedProperties {
		s.Accept(prop, unimplementedCheck(prop, u))
	}
	// Their definitions: the list (predicates=…) is what is refused.
	s.Accept("predicates.*", nil)
	s.Accept("debezium.predicates.*", nil)
	s.Accept("slot.drop.on.stop", func(v string) (string, error) {
		if strings.EqualFold(strings.TrimSpace(v), "true") {
			return "sluice keeps the replication slot when it stops (dropping it would lose the changes made while it is down): drop it yourself when the connector is retired", nil
		}
		return "", nil
	})
	// sluice writes JSON (with or without schemas, --schemas-enable) and nothing else.
	for _, p := range []string{"key.converter", "value.converter", "debezium.format.key", "debezium.format.value"} {
		s.Accept(p, func(v string) (string, error) {
			switch strings.TrimSpace(v) {
			case "json", "org.apache.kafka.connect.json.JsonConverter":
				return "", nil
			}
			return "", fmt.Errorf("%q: sluice writes JSON only (org.apache.kafka.connect.json.JsonConverter, debezium.format.*=json)", v)
		})
	}
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

// Fallback makes the property prop set flag name only when no other property of the file
// sets it: an older Debezium name that the current one replaces (database.server.name before
// topic.prefix), so a file that keeps both runs as Debezium runs it.
func (s *Set) Fallback(prop, name string) { s.props[prop] = propAlias{flag: name, fallback: true} }

// Accept makes the property prop known without a flag of its own: check (nil: any value) sees
// its value after the file is read; its error stops the command (reported with the others),
// a non-empty warning is logged. A prop ending in ".*" stands for every name under it.
func (s *Set) Accept(prop string, check func(v string) (warning string, err error)) {
	if check == nil {
		check = func(string) (string, error) { return "", nil }
	}
	s.props[prop] = propAlias{check: check}
}

// unusedProperties are Debezium and Kafka Connect settings whose job sluice does without or
// does one way only: a file that has them runs, and a non-empty reason is logged.
var unusedProperties = map[string]string{
	"tasks.max":                                                          "", // one process captures one database, as one task
	"config.providers":                                                   "", // sluice resolves ${file:…} and ${env:…} itself
	"config.providers.*":                                                 "",
	"offset.storage.partitions":                                          "sluice's offsets topic has one partition",
	"debezium.sink.kafka.producer.key.serializer":                        "",
	"debezium.sink.kafka.producer.value.serializer":                      "",
	"debezium.sink.kafka.producer.enable.idempotence":                    "", // always on
	"debezium.sink.kafka.producer.max.in.flight.requests.per.connection": "", // idempotence keeps up to five in order
	"debezium.sink.kafka.producer.retries":                               "retries are bounded by time, delivery.timeout.ms (--kafka-delivery-timeout)",
	"quarkus.log.console.json.pretty-print":                              "",
	"topic.creation.enable":                                              "", // sluice creates the topics it writes
	// Tuning of Debezium's own queue and retries: sluice bounds its buffers by bytes
	// (--kafka-max-buffered-bytes, --memory-limit) and retries by --errors-retry-timeout.
	"max.batch.size":          "",
	"max.queue.size":          "",
	"max.queue.size.in.bytes": "",
	"poll.interval.ms":        "",
	"topic.cache.size":        "",
	"slot.max.retries":        "sluice retries by --errors-retry-timeout",
	"slot.retry.delay.ms":     "sluice retries by --errors-retry-timeout",
	// Connection and read tuning of Debezium's JDBC and binlog clients.
	"binlog.buffer.size":                         "",
	"connect.keep.alive":                         "",
	"connect.keep.alive.interval.ms":             "",
	"use.nongraceful.disconnect":                 "",
	"min.row.count.to.stream.results":            "", // sluice streams every snapshot read
	"database.jdbc.driver":                       "",
	"table.ignore.builtin":                       "", // system schemas are never captured
	"snapshot.tables.order.by.row.count":         "",
	"incremental.snapshot.watermarking.strategy": "sluice writes its own watermarks",
}

// Check adds a validation run after every value is applied; Parse reports the errors of all
// checks at once.
func (s *Set) Check(f func() error) { s.checks = append(s.checks, f) }

// Millis converts a property in milliseconds (Kafka Connect's *.ms, errors.retry.timeout) to a
// duration flag's value, for AliasFunc.
func Millis(v string) (string, error) { return millis(v) }

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
			s.printHelp(s.helpOut())
			return err
		}
		ue := usageError(err)
		// The flag package's own message for a bool: "invalid boolean value "x" for -name: parse error".
		if strings.HasPrefix(ue.Msg, "invalid boolean value") {
			ue.Msg += ": want true or false"
		}
		// A duration flag of the flag package: say what "parse error" means for it.
		var name, v string
		if _, serr := fmt.Sscanf(ue.Msg, "invalid value %q for flag --%s", &v, &name); serr == nil || name != "" {
			if f := s.fs.Lookup(strings.TrimSuffix(name, ":")); f != nil {
				if h := hint(f, v, errors.New("parse error")); h.Error() != "parse error" {
					ue.Msg = fmt.Sprintf("invalid value %q for flag --%s: %v", v, f.Name, h)
				}
			}
		}
		return ue
	}
	if s.fs.NArg() > 0 {
		return &UsageError{Msg: fmt.Sprintf("unexpected argument %q (every setting is a --flag)", s.fs.Arg(0))}
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
	fileRaw := map[string]string{}  // flag -> the value as an error may show it
	// flag -> a value a placeholder resolved to: errors must not show it (it may be a secret)
	fromPlaceholder := map[string]string{}
	var fallbacks []fileValue
	if s.ConfigFile != "" {
		props, err := properties.Read(s.ConfigFile)
		if err != nil {
			return Config(err)
		}
		keys := make([]string, 0, len(props))
		for k := range props {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			a, ok := s.property(k)
			if !ok && (s.claim(strings.TrimPrefix(k, "debezium.source."), props[k]) || s.claim(k, props[k])) {
				continue
			}
			if !ok {
				s.unknown = append(s.unknown, k)
				continue
			}
			raw := props[k]
			v, err := properties.Expand(raw, lookup, props)
			if err != nil {
				// The error names the placeholder, not what it resolved to.
				errs = append(errs, fmt.Errorf("%s: %s: %w", s.ConfigFile, k, err))
				continue
			}
			if a.flag == "" {
				warn, err := a.check(v)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %s=%s: %w", s.ConfigFile, k, quote(raw, v, nil), redact(raw, v, err)))
				} else if warn != "" {
					s.unused = append(s.unused, k+" ("+warn+")")
				}
				continue
			}
			f := s.fs.Lookup(a.flag)
			if a.convert != nil {
				cv, err := a.convert(v)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %s=%s: %w", s.ConfigFile, k, quote(raw, v, f), redact(raw, v, err)))
					continue
				}
				v = cv
			}
			if a.fallback {
				fallbacks = append(fallbacks, fileValue{flag: a.flag, key: k, v: v, shown: quote(raw, v, f)})
				continue
			}
			// Several properties may set one flag (a Kafka setting under the sink's, the
			// history's and the bare prefix); sluice has one value, so they must agree.
			if prev, ok := fromFile[a.flag]; ok && prev != v {
				errs = append(errs, fmt.Errorf("%s: %s=%s and %s=%s both set --%s: sluice uses one value for both; make them equal or drop one",
					s.ConfigFile, fileKey[a.flag], fileRaw[a.flag], k, quote(raw, v, f), a.flag))
				continue
			}
			fromFile[a.flag], fileKey[a.flag], fileRaw[a.flag] = v, k, quote(raw, v, f)
			if properties.HasPlaceholder(raw) {
				fromPlaceholder[a.flag] = v
			}
		}
	}
	for _, fv := range fallbacks {
		if _, ok := fromFile[fv.flag]; !ok {
			fromFile[fv.flag], fileKey[fv.flag], fileRaw[fv.flag] = fv.v, fv.key, fv.shown
		}
	}
	where := map[string]string{} // flag -> where a deferred bad value came from
	viaFile := map[string]bool{} // flags set from the file
	s.fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || f.Name == "config" {
			return
		}
		if v, ok := lookup(EnvName(f.Name)); ok {
			where[f.Name] = fmt.Sprintf("%s=%q: ", EnvName(f.Name), shown(f, v))
			if err := s.fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", EnvName(f.Name), shown(f, v), hint(f, v, err)))
			}
			return
		}
		if v, ok := fromFile[f.Name]; ok {
			viaFile[f.Name] = true
			where[f.Name] = fmt.Sprintf("%s: %s=%s: ", s.ConfigFile, fileKey[f.Name], fileRaw[f.Name])
			if err := s.fs.Set(f.Name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s=%s: %w", s.ConfigFile, fileKey[f.Name], fileRaw[f.Name], hideValue(fromPlaceholder[f.Name], hint(f, v, err))))
			}
		}
	})
	// Bad values of properties.Func flags kept their error for here, to be reported with
	// the other bad values (and the checks, when every value is good).
	badValues := len(errs) > 0
	s.fs.VisitAll(func(f *flag.Flag) {
		if d, ok := f.Value.(interface{ Err() error }); ok && d.Err() != nil {
			shownValue := f.Value.String() // a secret's String is redacted
			if viaFile[f.Name] {
				shownValue = fileRaw[f.Name] // may be a placeholder's secret otherwise
			}
			err := hint(f, f.Value.String(), d.Err())
			if viaFile[f.Name] {
				err = hideValue(fromPlaceholder[f.Name], err)
			}
			errs = append(errs, fmt.Errorf("%s--%s %s: %w", where[f.Name], f.Name, shownValue, err))
		}
	})
	if len(errs) > 0 && badValues {
		// The checks would only repeat what the bad values cause.
		return Config(errors.Join(errs...))
	}
	for _, c := range s.checks {
		if err := c(); err != nil {
			errs = append(errs, err)
		}
	}
	return Config(errors.Join(errs...))
}

// fileValue is a config-file value for a flag, held back (Fallback).
type fileValue struct{ flag, key, v, shown string }

// property finds the flag (or check) of a config-file property: its name with the
// debezium.source. prefix of Debezium Server stripped, else as written, else a ".*" entry
// of one of its parents.
func (s *Set) property(k string) (propAlias, bool) {
	name := strings.TrimPrefix(k, "debezium.source.")
	if a, ok := s.props[name]; ok {
		return a, true
	}
	if a, ok := s.props[k]; ok {
		return a, true
	}
	for n := name; ; {
		i := strings.LastIndexByte(n, '.')
		if i < 0 {
			return propAlias{}, false
		}
		n = n[:i]
		if a, ok := s.props[n+".*"]; ok {
			return a, true
		}
	}
}

// quote is a config-file value as an error shows it: a value with a ${…} placeholder as
// written (what it resolved to may be a secret), a secret flag's value redacted.
func quote(raw, v string, f *flag.Flag) string {
	if properties.HasPlaceholder(raw) {
		return strconv.Quote(raw)
	}
	if f != nil {
		return strconv.Quote(shown(f, v))
	}
	return strconv.Quote(v)
}

// redact hides v in err when it came from a placeholder of raw (see hideValue).
func redact(raw, v string, err error) error {
	if !properties.HasPlaceholder(raw) {
		return err
	}
	return hideValue(v, err)
}

// hideValue returns err with every occurrence of v in its text replaced: parse errors quote
// the value they could not parse, and a value from ${file:…} or ${env:…} may be a secret.
func hideValue(v string, err error) error {
	if v == "" || !strings.Contains(err.Error(), v) {
		return err
	}
	return hiddenError{msg: strings.ReplaceAll(err.Error(), v, "<value of the placeholder>"), err: err}
}

// hiddenError is an error whose text hides a value; Unwrap keeps its kind for errors.Is/As
// (whose own text, if printed, would show it: callers print Error only).
type hiddenError struct {
	msg string
	err error
}

func (e hiddenError) Error() string { return e.msg }
func (e hiddenError) Unwrap() error { return e.err }

// hint adds to a flag's error what a bare number means for a duration flag: Go durations want
// a unit, and the .ms properties are the ones that take bare milliseconds.
func hint(f *flag.Flag, v string, err error) error {
	// The flag package says only "parse error" for its own bool and number flags.
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() && err.Error() == "parse error" {
		return fmt.Errorf("%w: want true or false", err)
	}
	if _, ierr := strconv.ParseInt(f.DefValue, 0, 64); ierr == nil && err.Error() == "parse error" {
		if _, nerr := strconv.ParseInt(strings.TrimSpace(v), 0, 64); nerr != nil {
			return fmt.Errorf("%w: want a whole number", err)
		}
	}
	if _, derr := time.ParseDuration(f.DefValue); derr != nil {
		return err // not a duration flag
	}
	if _, nerr := strconv.ParseFloat(f.DefValue, 64); nerr == nil && f.DefValue != "0" {
		return err // a number flag whose default also reads as a duration ("0")
	}
	n, nerr := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if nerr != nil {
		return err
	}
	return fmt.Errorf("%w: want a duration with a unit, like %gs or %gms (only the *.ms properties of a --config file take bare milliseconds)", err, n, n)
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

// durationText writes durations as Go duration strings ("1.5s") in both formats: slog's JSON
// handler would write nanoseconds, which read as a different unit than every *_ms key.
func durationText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.String(a.Key, a.Value.Duration().String())
	}
	return a
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

// Logger returns the process logger chosen by --log-level and --log-format (built once; also
// installed as slog's default). The Kafka clients log through it (kafka.ClientConfig.Kgo).
func (s *Set) Logger() *slog.Logger {
	if s.logger != nil {
		return s.logger
	}
	lvl, _ := ParseLevel(s.LogLevel)
	opts := &slog.HandlerOptions{Level: lvl, ReplaceAttr: durationText}
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
	for _, name := range s.argvSecrets {
		msg := "secret given on the command line, where other users of the host may read it: use a file or the environment instead"
		if name == "dsn" {
			msg = "--dsn on the command line carries a password, which other users of the host may read: use --password-file or the environment instead"
		}
		s.logger.Warn(msg, "flag", "--"+name, "env", EnvName(name))
	}
	if len(s.unknown) > 0 {
		s.logger.Warn("config file properties sluice does not know, ignored: check their spelling, or see docs/configuration.md for what sluice supports",
			"file", s.ConfigFile, "properties", strings.Join(s.unknown, ", "))
	}
	if len(s.unused) > 0 {
		s.logger.Info("config file properties accepted and not needed by sluice", "file", s.ConfigFile, "properties", strings.Join(s.unused, ", "))
	}
	return s.logger
}
