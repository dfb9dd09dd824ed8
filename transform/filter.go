package transform

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"

	"github.com/sluicecdc/sluice/envelope"
)

// filter is io.debezium.transforms.Filter: a record passes when condition is true. Debezium
// evaluates Groovy or JavaScript (JSR 223); sluice evaluates expr-lang expressions, whose
// syntax covers the usual conditions unchanged (value.op == 'u' && value.after.status ==
// 'SHIPPED'). Variables: key, value (the payloads, decoded from JSON: objects are maps, numbers
// float64), keySchema, valueSchema (the Connect schemas, with schemas.enable), topic, headers
// (a map of header name to its text). topic.regex limits the filter to matching topics;
// null.handling.mode says what happens to tombstones: keep (default), drop, evaluate.
type filter struct {
	env      Env
	prog     *vm.Program
	topics   *topicRegex
	nullMode string
}

func newFilter(o *options, env Env) (Transform, error) {
	t := &filter{env: env}
	// Any language is read as expr; the condition's syntax is checked below.
	o.oneOf("language", "expr", "expr", "jsr223.groovy", "jsr223.graal.js", "jsr223.javascript")
	cond := o.str("condition", "")
	if cond == "" {
		return nil, fmt.Errorf("transforms.%s.condition is required", o.name)
	}
	t.nullMode = o.oneOf("null.handling.mode", "keep", "keep", "drop", "evaluate")
	if o.str("topic.regex", "") != "" {
		o.m = withDefault(o.m, "topic.regex.replacement", "$0")
		t.topics = newTopicRegex(o, "topic.regex", "topic.regex.replacement", false)
		delete(o.used, "topic.regex.replacement")
	}
	prog, err := expr.Compile(cond, expr.Env(filterEnv{}), expr.AsBool())
	if err != nil {
		return nil, fmt.Errorf("transforms.%s.condition %q: %v (sluice evaluates conditions with expr-lang, whose syntax is close to Groovy's for comparisons and && ||)", o.name, cond, err)
	}
	t.prog = prog
	return t, nil
}

type filterEnv struct {
	Key         any               `expr:"key"`
	Value       any               `expr:"value"`
	KeySchema   any               `expr:"keySchema"`
	ValueSchema any               `expr:"valueSchema"`
	Topic       string            `expr:"topic"`
	Headers     map[string]string `expr:"headers"`
}

func (t *filter) Apply(dst []envelope.Record, r envelope.Record, _ *Arena) ([]envelope.Record, error) {
	if t.topics != nil && t.topics.apply(r.Topic) == "" {
		return append(dst, r), nil
	}
	if r.Value == nil {
		switch t.nullMode {
		case "keep":
			return append(dst, r), nil
		case "drop":
			return dst, nil
		}
	}
	e := filterEnv{Topic: r.Topic}
	var err error
	if e.Key, e.KeySchema, err = decodeForFilter(r.Key, t.env.SchemasEnable); err != nil {
		return dst, fmt.Errorf("key: %w", err)
	}
	if e.Value, e.ValueSchema, err = decodeForFilter(r.Value, t.env.SchemasEnable); err != nil {
		return dst, fmt.Errorf("value: %w", err)
	}
	if len(r.Headers) > 0 {
		e.Headers = make(map[string]string, len(r.Headers))
		for _, h := range r.Headers {
			e.Headers[h.Key] = string(h.Value)
		}
	}
	out, err := expr.Run(t.prog, e)
	if err != nil {
		return dst, fmt.Errorf("condition: %w", err)
	}
	if keep, _ := out.(bool); keep {
		return append(dst, r), nil
	}
	return dst, nil
}

func decodeForFilter(b []byte, withSchema bool) (payload, schema any, err error) {
	if b == nil {
		return nil, nil, nil
	}
	if withSchema && bytes.HasPrefix(b, []byte(`{"schema":`)) {
		var v struct {
			Schema  any `json:"schema"`
			Payload any `json:"payload"`
		}
		err = json.Unmarshal(b, &v)
		return v.Payload, v.Schema, err
	}
	err = json.Unmarshal(b, &payload)
	return payload, nil, err
}
