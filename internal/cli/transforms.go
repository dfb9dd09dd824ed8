package cli

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/transform"
)

// Transforms holds the capture commands' transforms (docs/transforms.md): --transforms (the
// transforms property) lists them in order; their types and options come from the properties
// file's transforms.<name>.<option> (or debezium.transforms.<name>.<option>) and from
// --transform <name>.<option>=<value>, which overrides the file. A transform named unwrap,
// outbox, reroute, route or filter needs no type: the name says it.
type Transforms struct {
	List string
	file map[string]map[string]string // from the properties file
	flag map[string]map[string]string // from --transform
	err  []string
}

// register adds --transforms and --transform to s and claims the transforms.* properties.
func (t *Transforms) register(s *Set) {
	fs := s.FlagSet()
	fs.StringVar(&t.List, "transforms", "", "transforms to apply to every record, in order, by name: unwrap, outbox, …; each is configured by transforms.<name>.* properties or --transform (docs/transforms.md)")
	fs.Func("transform", "a transform option, <name>.<option>=<value> (the property transforms.<name>.<option>), e.g. unwrap.add.fields=op,table; repeatable", func(v string) error {
		name, opt, val, err := splitTransformOption(v)
		if err != nil {
			return err
		}
		t.flag = addOption(t.flag, name, opt, val)
		return nil
	})
	s.SetGroup(GroupOutput, "transforms", "transform")
	s.Names(map[string]string{"transforms": "transforms", "debezium.transforms": "transforms"})
	for _, p := range transform.Prefixes {
		s.Prefix(p+".", func(key, val string) bool {
			rest := strings.TrimPrefix(key, p+".")
			name, opt, ok := strings.Cut(rest, ".")
			if !ok || name == "" || opt == "" {
				t.err = append(t.err, fmt.Sprintf("%s: want %s.<name>.<option>", key, p))
				return true
			}
			t.file = addOption(t.file, name, opt, val)
			return true
		})
	}
	s.Check(func() error {
		specs, err := t.Specs() // the specs it could read, and what was wrong with the rest
		_, berr := transform.Build(specs, transform.Env{})
		return errors.Join(err, berr)
	})
}

func splitTransformOption(v string) (name, opt, val string, err error) {
	k, val, ok := strings.Cut(v, "=")
	name, opt, ok2 := strings.Cut(strings.TrimPrefix(k, "transforms."), ".")
	if !ok || !ok2 || name == "" || opt == "" {
		return "", "", "", fmt.Errorf("want <name>.<option>=<value>, e.g. unwrap.add.fields=op")
	}
	return name, opt, val, nil
}

func addOption(m map[string]map[string]string, name, opt, val string) map[string]map[string]string {
	if m == nil {
		m = map[string]map[string]string{}
	}
	if m[name] == nil {
		m[name] = map[string]string{}
	}
	m[name][opt] = val
	return m
}

// Specs returns the configured transforms in order.
func (t *Transforms) Specs() ([]transform.Spec, error) {
	if len(t.err) > 0 {
		sort.Strings(t.err)
		return nil, fmt.Errorf("%s", strings.Join(t.err, "; "))
	}
	opts := map[string]map[string]string{}
	for _, src := range []map[string]map[string]string{t.file, t.flag} {
		for name, o := range src {
			for k, v := range o {
				opts = addOption(opts, name, k, v)
			}
		}
	}
	return transform.Specs(t.List, opts)
}

// Build makes the configured transforms for records written under env.
func (t *Transforms) Build(env transform.Env) ([]transform.Built, error) {
	specs, err := t.Specs()
	if err != nil {
		return nil, err
	}
	return transform.Build(specs, env)
}

// Prefix makes every properties-file key that starts with prefix (after debezium.source. is
// stripped) and that no flag claims go to f: for families of keys such as
// transforms.<name>.<option>. f returns false for a key it does not know (logged as an unused
// property, as other unknown keys).
func (s *Set) Prefix(prefix string, f func(key, value string) bool) {
	s.prefixes = append(s.prefixes, prefixClaim{prefix, f})
}

type prefixClaim struct {
	prefix string
	f      func(key, value string) bool
}

// claim hands key to the Prefix that owns it, if any.
func (s *Set) claim(key, value string) bool {
	for _, p := range s.prefixes {
		if strings.HasPrefix(key, p.prefix) && p.f(key, value) {
			return true
		}
	}
	return false
}

// withTransforms returns enc followed by the configured transforms (enc itself when none).
func (c *Capture) withTransforms(enc pipeline.Encoder) (pipeline.Encoder, error) {
	built, err := c.Transforms.Build(transform.Env{SchemasEnable: c.Envelope.SchemasEnable, Logger: c.Logger()})
	if err != nil || len(built) == 0 {
		return enc, err
	}
	return transform.NewChain(enc, built), nil
}

// envelopeSinks are the --sink kinds that read Debezium change envelopes.
var envelopeSinks = map[string]bool{"clickhouse": true}

// checkSink refuses transforms that replace the change envelope before a sink that reads it.
func (t *Transforms) checkSink(sink string) error {
	if !envelopeSinks[sink] {
		return nil
	}
	built, err := t.Build(transform.Env{})
	if err != nil {
		return nil // reported by register's check
	}
	var errs []error
	for _, b := range built {
		if !transform.KeepsEnvelope(b.Type) {
			errs = append(errs, fmt.Errorf("transforms.%s (%s) replaces the change envelope, which --sink %s reads: drop it from --transforms, or publish with --sink kafka and transform there", b.Name, b.Type, sink))
		}
	}
	return errors.Join(errs...)
}
