package transform

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/sluicecdc/sluice/envelope"
)

// topicRegex is a Java regular expression matched against a whole topic name and its
// replacement (Matcher.matches, then replaceFirst), with results cached per topic.
type topicRegex struct {
	re    *regexp.Regexp
	tmpl  string
	cache map[string]string // topic -> new topic ("" when it does not match)
}

func newTopicRegex(o *options, regexKey, replKey string, required bool) *topicRegex {
	expr, repl := o.str(regexKey, ""), o.str(replKey, "")
	if expr == "" {
		if required {
			o.errs = append(o.errs, fmt.Errorf("transforms.%s.%s is required", o.name, regexKey))
		}
		return nil
	}
	re, err := regexp.Compile(`^(?:` + expr + `)$`)
	if err != nil {
		o.bad(regexKey, expr, fmt.Sprintf("not a regular expression sluice can read (Go RE2 syntax): %v", err))
		return nil
	}
	tmpl, err := javaReplacement(repl, re)
	if err != nil {
		o.bad(replKey, repl, err.Error())
		return nil
	}
	return &topicRegex{re: re, tmpl: tmpl, cache: map[string]string{}}
}

// javaReplacement turns a java.util.regex replacement ($1, ${name}, \$) into a Go template.
func javaReplacement(s string, re *regexp.Regexp) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 >= len(s) {
				return "", fmt.Errorf("replacement ends with a backslash")
			}
			i++
			if s[i] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(s[i])
			}
		case '$':
			if i+1 < len(s) && s[i+1] == '{' {
				end := strings.IndexByte(s[i:], '}')
				if end < 0 {
					return "", fmt.Errorf("unclosed ${ in replacement")
				}
				name := s[i+2 : i+end]
				if re.SubexpIndex(name) < 0 {
					return "", fmt.Errorf("no group named %q in the regex", name)
				}
				b.WriteString("${" + name + "}")
				i += end
				continue
			}
			// Java reads as many digits as still name a group.
			j := i + 1
			n := 0
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				m := n*10 + int(s[j]-'0')
				if j > i+1 && m > re.NumSubexp() {
					break
				}
				n = m
				j++
			}
			if j == i+1 {
				return "", fmt.Errorf("$ not followed by a group number or ${name}")
			}
			if n > re.NumSubexp() {
				return "", fmt.Errorf("no group %d in the regex", n)
			}
			b.WriteString("${" + strconv.Itoa(n) + "}")
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

// apply returns the new topic, or "" when the regex does not match.
func (t *topicRegex) apply(topic string) string {
	if v, ok := t.cache[topic]; ok {
		return v
	}
	var out string
	if m := t.re.FindStringSubmatchIndex(topic); m != nil {
		out = string(t.re.ExpandString(nil, t.tmpl, topic, m))
	}
	if len(t.cache) > 4096 {
		clear(t.cache)
	}
	t.cache[topic] = out
	return out
}

// regexRouter is Kafka Connect's org.apache.kafka.connect.transforms.RegexRouter: a topic the
// regex matches (whole) is renamed to the replacement; the record is otherwise unchanged.
type regexRouter struct{ re *topicRegex }

func newRegexRouter(o *options, _ Env) (Transform, error) {
	return &regexRouter{re: newTopicRegex(o, "regex", "replacement", true)}, nil
}

func (t *regexRouter) Apply(dst []envelope.Record, r envelope.Record, _ *Arena) ([]envelope.Record, error) {
	if nt := t.re.apply(r.Topic); nt != "" {
		r.Topic = nt
	}
	return append(dst, r), nil
}

// logicalRouter is io.debezium.transforms.ByLogicalTableRouter (and ToLogicalTopicRouter): the
// records of every topic topic.regex matches go to topic.replacement; the key gains a field
// naming the physical topic (key.enforce.uniqueness) and, with schemas, the key, envelope and
// row schemas take the new topic's names.
type logicalRouter struct {
	env        Env
	topic      *topicRegex
	keyRe      *topicRegex
	unique     bool
	keyField   string
	avroNames  bool
	keySchemas map[string]*routedSchema // by old topic
	valSchemas map[string]*routedSchema
}

type routedSchema struct{ in, out []byte }

func newLogicalRouter(defKeyField string) func(o *options, env Env) (Transform, error) {
	return func(o *options, env Env) (Transform, error) {
		t := &logicalRouter{env: env, keySchemas: map[string]*routedSchema{}, valSchemas: map[string]*routedSchema{}}
		t.topic = newTopicRegex(o, "topic.regex", "topic.replacement", true)
		if o.str("topic.replacement", "") == "" {
			o.errs = append(o.errs, fmt.Errorf("transforms.%s.topic.replacement is required", o.name))
		}
		t.unique = o.bool("key.enforce.uniqueness", true)
		t.keyField = o.str("key.field.name", defKeyField)
		if o.str("key.field.regex", "") != "" {
			if o.str("key.field.replacement", "") == "" {
				o.errs = append(o.errs, fmt.Errorf("transforms.%s.key.field.replacement must be non-empty if key.field.regex is set", o.name))
			}
			t.keyRe = newTopicRegex(o, "key.field.regex", "key.field.replacement", false)
		}
		t.avroNames = o.oneOf("schema.name.adjustment.mode", "none", "none", "avro") == "avro"
		o.ignored("logical.destination.cache.size", "logical.table.cache.size")
		return t, nil
	}
}

func (t *logicalRouter) name(s string) string {
	if !t.avroNames {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if !(c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' && i > 0) {
			b[i] = '_'
		}
	}
	return string(b)
}

func (t *logicalRouter) Apply(dst []envelope.Record, r envelope.Record, a *Arena) ([]envelope.Record, error) {
	old := r.Topic
	nt := t.topic.apply(old)
	if nt == "" {
		return append(dst, r), nil
	}
	r.Topic = nt
	if r.Key != nil {
		k, err := splitRecord(r.Key, t.env.SchemasEnable)
		if err != nil {
			return dst, fmt.Errorf("key: %w", err)
		}
		var ks []byte
		if k.schema != nil {
			if ks, err = t.keySchema(old, nt, k.schema); err != nil {
				return dst, fmt.Errorf("key schema: %w", err)
			}
		}
		p := k.payload
		if t.unique {
			id := old
			if t.keyRe != nil {
				if v := t.keyRe.apply(old); v != "" {
					id = v
				}
			}
			if len(p) < 2 || p[len(p)-1] != '}' {
				return dst, fmt.Errorf("key %s is not a JSON object", p)
			}
			start := len(a.buf)
			a.buf = append(a.buf, p[:len(p)-1]...)
			if len(p) > 2 {
				a.buf = append(a.buf, ',')
			}
			a.buf = appendKey(a.buf, t.keyField)
			a.buf = envelope.AppendJSONString(a.buf, id)
			a.buf = append(a.buf, '}')
			p = a.since(start)
		}
		start := len(a.buf)
		a.buf = appendWithSchema(a.buf, ks, p)
		r.Key = a.since(start)
	}
	if r.Value == nil || !t.env.SchemasEnable {
		return append(dst, r), nil
	}
	v, err := splitRecord(r.Value, true)
	if err != nil {
		return dst, err
	}
	vs, err := t.valueSchema(old, nt, v.schema)
	if err != nil {
		return dst, fmt.Errorf("value schema: %w", err)
	}
	if vs == nil {
		return append(dst, r), nil // not a change envelope
	}
	start := len(a.buf)
	a.buf = appendWithSchema(a.buf, vs, v.payload)
	r.Value = a.since(start)
	return append(dst, r), nil
}

func (t *logicalRouter) keySchema(old, nt string, s []byte) ([]byte, error) {
	if e := t.keySchemas[old]; e != nil && bytes.Equal(e.in, s) {
		return e.out, nil
	}
	out, err := editSchema(s, map[string][]byte{"name": quoted(t.name(nt + ".Key"))})
	if err == nil && t.unique {
		var fields [][]byte
		if fields, err = schemaFields(out); err == nil {
			fields = append(fields, []byte(`{"type":"string","optional":false,"field":`+string(quoted(t.keyField))+`}`))
			out, err = structWithFields(out, fields)
		}
	}
	if err != nil {
		return nil, err
	}
	t.keySchemas[old] = &routedSchema{bytes.Clone(s), out}
	return out, nil
}

// valueSchema returns the envelope schema renamed for nt, or nil when s is not an envelope.
func (t *logicalRouter) valueSchema(old, nt string, s []byte) ([]byte, error) {
	if e := t.valSchemas[old]; e != nil && bytes.Equal(e.in, s) {
		return e.out, nil
	}
	var out []byte
	if strings.HasSuffix(schemaNameOf(s), ".Envelope") {
		fields, err := schemaFields(s)
		if err != nil {
			return nil, err
		}
		row := quoted(t.name(nt + ".Value"))
		for i, f := range fields {
			n, _ := get(f, "field")
			if name, _ := unquote(n); name == "before" || name == "after" {
				if fields[i], err = editSchema(f, map[string][]byte{"name": row}); err != nil {
					return nil, err
				}
			}
		}
		if out, err = structWithFields(s, fields); err != nil {
			return nil, err
		}
		if out, err = editSchema(out, map[string][]byte{"name": quoted(t.name(nt + ".Envelope"))}); err != nil {
			return nil, err
		}
	}
	t.valSchemas[old] = &routedSchema{bytes.Clone(s), out}
	return out, nil
}
