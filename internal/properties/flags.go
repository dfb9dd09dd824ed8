package properties

import (
	"flag"
	"fmt"
	"strings"
)

// Names maps Debezium property names (without the debezium.source. prefix) to the flag each
// sets. A component's RegisterFlags returns its Names, so the component owns both spellings of
// its settings and the command line only applies them. A property whose name ends in ".ms" is
// milliseconds and sets a duration flag.
type Names map[string]string

// Merge adds the names of o to n.
func (n Names) Merge(o Names) {
	for k, v := range o {
		n[k] = v
	}
}

// Func returns a flag.Value whose Set calls set and, when set fails, keeps the error for Err
// instead of returning it. A command reports such errors after all flags, SLUICE_* variables
// and the properties file are applied, every bad value at once and each naming its flag,
// instead of stopping at the first. Func applies def at once, as flag.StringVar does, so the
// default is written only here; def must be valid.
func Func(def string, set func(string) error) flag.Value {
	if err := set(def); err != nil {
		panic(fmt.Sprintf("properties: default %q: %v", def, err))
	}
	return &deferred{text: def, set: set}
}

type deferred struct {
	text string
	set  func(string) error
	err  error
}

func (d *deferred) String() string {
	if d == nil {
		return ""
	}
	return d.text
}

func (d *deferred) Set(s string) error {
	d.text, d.err = s, d.set(s)
	return nil
}

// Err is the error of the last Set, if it failed.
func (d *deferred) Err() error { return d.err }

// ListVar defines a flag whose comma-separated value sets *p, blanks dropped; *p as it is
// is the default shown in -h.
func ListVar(fs *flag.FlagSet, p *[]string, name, usage string) {
	fs.Var((*list)(p), name, usage)
}

type list []string

func (l *list) String() string {
	if l == nil {
		return ""
	}
	return strings.Join(*l, ",")
}

func (l *list) Set(s string) error {
	*l = SplitList(s)
	return nil
}

// SplitList splits a comma-separated value, dropping blanks around and between items.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Secret returns a flag.Value for a secret (a password, a JAAS line with one): like Func,
// set's error is kept for Err, but String never shows the value, so neither -h, nor an error
// naming the flag, nor a log line can print it. Set reports Secret to tell such flags apart.
func Secret(set func(string) error) flag.Value { return &secret{set: set} }

type secret struct {
	set func(string) error
	err error
	n   int // length of the value; only whether it is set is shown
}

func (s *secret) String() string {
	if s == nil || s.n == 0 {
		return ""
	}
	return "<redacted>"
}

func (s *secret) Set(v string) error {
	s.n, s.err = len(v), s.set(v)
	return nil
}

// Err is the error of the last Set, if it failed; it must not quote the value.
func (s *secret) Err() error { return s.err }

// Secret marks the value as one never to print.
func (s *secret) Secret() bool { return true }
