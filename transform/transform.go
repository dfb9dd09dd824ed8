package transform

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
)

// Transform is one configured transformation, Kafka Connect's single message transform: a
// record in, zero or more records out. Apply appends what becomes of rec to dst (rec itself, a
// rewritten record, or nothing) and returns dst. New bytes are appended to a, whose records
// stay valid until the Chain's next call; rec's own bytes may be reused as they are.
type Transform interface {
	Apply(dst []envelope.Record, rec envelope.Record, a *Arena) ([]envelope.Record, error)
}

// Arena holds the bytes and headers of rewritten records of one event.
type Arena struct {
	buf  []byte
	hdrs []envelope.Header
}

// maxKeptArena is the largest arena kept between events.
const maxKeptArena = 16 << 20

func (a *Arena) reset() {
	if cap(a.buf) > maxKeptArena {
		a.buf = nil
	}
	a.buf = a.buf[:0]
	a.hdrs = a.hdrs[:0]
}

// since returns the arena bytes written since start, clipped so that later appends do not
// write into them.
func (a *Arena) since(start int) []byte { return a.buf[start:len(a.buf):len(a.buf)] }

// withHeaders returns hs followed by more, in the arena (a record's Headers may alias the
// encoder's buffer, where appending would overwrite the next record's headers).
func (a *Arena) withHeaders(hs []envelope.Header, more ...envelope.Header) []envelope.Header {
	start := len(a.hdrs)
	a.hdrs = append(a.hdrs, hs...)
	a.hdrs = append(a.hdrs, more...)
	return a.hdrs[start:len(a.hdrs):len(a.hdrs)]
}

// Error is a record a transform cannot handle: a field it needs is missing or of another type,
// a JSON payload does not parse. The same record fails on every retry, so it is not
// retryable; it is Skippable, so the pipeline's event.processing.failure.handling.mode
// decides whether it stops the connector (fail, the default) or the event is skipped.
type Error struct {
	Name  string // the transform's name in transforms=…
	Type  string // its type (class name)
	Topic string // the record's topic
	Err   error
}

func (e *Error) Error() string {
	return fmt.Sprintf("transform %s (%s) on a record of topic %s: %v", e.Name, e.Type, e.Topic, e.Err)
}
func (e *Error) Unwrap() error   { return e.Err }
func (e *Error) Retryable() bool { return false }
func (e *Error) Skippable() bool { return true }

// Encoder is what a Chain wraps: *envelope.Encoder, or the pipeline's encoder.
type Encoder interface {
	Encode(dst []envelope.Record, ev *capture.Event) ([]envelope.Record, error)
	Heartbeat(dst []envelope.Record, now time.Time) []envelope.Record
}

// Chain is an Encoder followed by transforms, applied in order to every record it produces
// (heartbeats too). It is itself an Encoder, so the pipeline runs it between the encoder and
// the sink unchanged. Records alias the encoder's and the chain's buffers until the next call;
// like the Encoder, it is not safe for concurrent use.
type Chain struct {
	enc   Encoder
	ts    []named
	arena Arena
	a, b  []envelope.Record
	// hbErr is a transform error met on a heartbeat (Heartbeat returns no error), for
	// HeartbeatErr.
	hbErr error
}

type named struct {
	Spec
	t Transform
}

// NewChain returns enc followed by the transforms of specs (see Build).
func NewChain(enc Encoder, ts []Built) *Chain {
	c := &Chain{enc: enc}
	for _, t := range ts {
		c.ts = append(c.ts, named{t.Spec, t.Transform})
	}
	return c
}

// Encode encodes ev and transforms its records; see envelope.Encoder.Encode.
func (c *Chain) Encode(dst []envelope.Record, ev *capture.Event) ([]envelope.Record, error) {
	var err error
	c.a, err = c.enc.Encode(c.a[:0], ev)
	if err != nil {
		return dst, err
	}
	c.arena.reset()
	return c.apply(dst, c.a)
}

// Heartbeat returns the encoder's heartbeat records, transformed. When a transform fails on
// them it returns none and HeartbeatErr reports the error.
func (c *Chain) Heartbeat(dst []envelope.Record, now time.Time) []envelope.Record {
	c.a = c.enc.Heartbeat(c.a[:0], now)
	c.arena.reset()
	out, err := c.apply(dst, c.a)
	if err != nil {
		c.hbErr = err
		return dst
	}
	return out
}

// HeartbeatErr returns (and forgets) the error of the last Heartbeat, if it failed. The
// pipeline stops on it: a heartbeat is not an event the failure mode could skip.
func (c *Chain) HeartbeatErr() error {
	err := c.hbErr
	c.hbErr = nil
	return err
}

func (c *Chain) apply(dst, in []envelope.Record) ([]envelope.Record, error) {
	if len(c.ts) == 0 {
		return append(dst, in...), nil
	}
	for i, t := range c.ts {
		out := c.b[:0]
		for _, r := range in {
			var err error
			if out, err = t.t.Apply(out, r, &c.arena); err != nil {
				return dst, &Error{Name: t.Name, Type: t.Type, Topic: r.Topic, Err: err}
			}
		}
		c.b = in[:0]
		in = out
		if i == len(c.ts)-1 {
			dst = append(dst, out...)
		}
	}
	c.a = in[:0]
	return dst, nil
}

// Spec is one entry of transforms=…: its name, type and options (the keys after
// transforms.<name>.).
type Spec struct {
	Name    string
	Type    string
	Options map[string]string
}

// Env is what transforms may need to know about the records they see.
type Env struct {
	// SchemasEnable says keys and values carry their Connect schema (schemas.enable).
	SchemasEnable bool
	// Logger receives warnings (an unexpected outbox update); nil discards.
	Logger *slog.Logger
}

// Built is a Spec made into a Transform.
type Built struct {
	Spec
	Transform Transform
}

// kind is a transform type: its class names and constructor.
type kind struct {
	names []string // the first is the canonical class name
	alias string   // short name: the type of a transform named so whose type is not set
	make  func(o *options, env Env) (Transform, error)
}

var kinds = []kind{
	{names: []string{"io.debezium.transforms.ExtractNewRecordState"}, alias: "unwrap", make: newUnwrap},
	{names: []string{"io.debezium.transforms.outbox.EventRouter"}, alias: "outbox", make: newOutbox},
	{names: []string{"io.debezium.transforms.ByLogicalTableRouter"}, alias: "reroute", make: newLogicalRouter("__dbz__physicalTableIdentifier")},
	{names: []string{"io.debezium.transforms.ToLogicalTopicRouter"}, make: newLogicalRouter("__dbz__sourceIdentifier")},
	{names: []string{"org.apache.kafka.connect.transforms.RegexRouter"}, alias: "route", make: newRegexRouter},
	{names: []string{"io.debezium.transforms.Filter"}, alias: "filter", make: newFilter},
}

// KeepsEnvelope reports whether records of type typ (a class name, as Build sets in Spec.Type)
// are still change envelopes: true for the routers and Filter, false for unwrap and the
// outbox router. Sinks that read envelopes (ClickHouse) need it.
func KeepsEnvelope(typ string) bool {
	switch typ {
	case "io.debezium.transforms.ExtractNewRecordState", "io.debezium.transforms.outbox.EventRouter":
		return false
	}
	return true
}

// Types lists the transform types sluice knows, by class name.
func Types() []string {
	var out []string
	for _, k := range kinds {
		out = append(out, k.names[0])
	}
	return out
}

func kindOf(s Spec) (kind, error) {
	for _, k := range kinds {
		if slices.Contains(k.names, s.Type) || s.Type != "" && s.Type == k.alias {
			return k, nil
		}
	}
	if s.Type == "" {
		for _, k := range kinds {
			if k.alias != "" && s.Name == k.alias {
				return k, nil
			}
		}
		return kind{}, fmt.Errorf("transforms.%s.type is not set: want one of %s", s.Name, strings.Join(Types(), ", "))
	}
	return kind{}, fmt.Errorf("transforms.%s.type=%s: unknown transform type; sluice has %s", s.Name, s.Type, strings.Join(Types(), ", "))
}

// Build makes the transforms of specs, in order. Every unknown type, unknown option and bad
// value is reported, naming its property.
func Build(specs []Spec, env Env) ([]Built, error) {
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	var (
		out  []Built
		errs []error
	)
	for _, s := range specs {
		k, err := kindOf(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.Type = k.names[0]
		o := &options{name: s.Name, m: s.Options, used: map[string]bool{}}
		t, err := k.make(o, env)
		errs = append(errs, o.errs...)
		if err != nil {
			errs = append(errs, fmt.Errorf("transforms.%s (%s): %w", s.Name, s.Type, err))
		}
		var unknown []string
		for key := range s.Options {
			if !o.used[key] {
				unknown = append(unknown, key)
			}
		}
		sort.Strings(unknown)
		for _, key := range unknown {
			if key == "predicate" || key == "negate" {
				// Kafka Connect's, on every transform: saying the transform lacks it misleads.
				errs = append(errs, fmt.Errorf("transforms.%s.%s: sluice does not support Kafka Connect predicates: the transform would apply to every record; "+
					"remove it (and the predicates lines), or select records with io.debezium.transforms.Filter (its topic.regex)", s.Name, key))
				continue
			}
			errs = append(errs, fmt.Errorf("transforms.%s.%s: %s has no option %q (sluice does not support it)", s.Name, key, s.Type, key))
		}
		if err == nil && len(o.errs) == 0 {
			out = append(out, Built{s, t})
		}
	}
	return out, errors.Join(errs...)
}

// options reads a transform's options, remembering which were read and every bad value.
type options struct {
	name string
	m    map[string]string
	used map[string]bool
	errs []error
}

func (o *options) has(key string) bool {
	o.used[key] = true
	_, ok := o.m[key]
	return ok
}

func (o *options) str(key, def string) string {
	o.used[key] = true
	if v, ok := o.m[key]; ok {
		return strings.TrimSpace(v)
	}
	return def
}

func (o *options) bool(key string, def bool) bool {
	v := o.str(key, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		o.bad(key, v, "want true or false")
		return def
	}
	return b
}

// list reads a comma-separated list (empty items dropped).
func (o *options) list(key string) []string {
	var out []string
	for _, s := range strings.Split(o.str(key, ""), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// oneOf reads a value that must be one of want (case-insensitive, as Debezium's enums).
func (o *options) oneOf(key, def string, want ...string) string {
	v := strings.ToLower(o.str(key, def))
	if !slices.Contains(want, v) {
		o.bad(key, v, "want "+strings.Join(want, ", "))
		return def
	}
	return v
}

// ignored reads an option sluice accepts for compatibility and does not need.
func (o *options) ignored(keys ...string) {
	for _, k := range keys {
		o.used[k] = true
	}
}

func (o *options) bad(key, v, want string) {
	o.errs = append(o.errs, fmt.Errorf("transforms.%s.%s=%q: %s", o.name, key, v, want))
}
