package transform

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/sluicecdc/sluice/envelope"
)

// outbox is io.debezium.transforms.outbox.EventRouter: each row inserted into an outbox table
// becomes one event on outbox.event.<aggregatetype> (route.by.field, route.topic.regex,
// route.topic.replacement), keyed by the aggregate id (table.field.event.key), with the event id
// in the header "id" and the payload column as the value. Deletes of outbox rows and tombstones
// are dropped (an outbox table is usually emptied right after the insert); updates are dropped
// with a warning (table.op.invalid.behavior). Records that are not change envelopes pass
// unchanged.
type outbox struct {
	env          Env
	idField      string
	keyField     string
	payloadField string
	routeField   string
	route        *topicRegex
	tombOnEmpty  bool
	expand       bool
	invalidOp    string
	missingIgn   bool
	additional   []additionalField
	envelopeOut  bool // an additional field goes into the value: payload is wrapped in a struct
	cache        map[string]*outboxSchemas
}

type additionalField struct {
	field, placement, alias string
}

func newOutbox(o *options, env Env) (Transform, error) {
	t := &outbox{env: env, cache: map[string]*outboxSchemas{}}
	t.idField = o.str("table.field.event.id", "id")
	t.keyField = o.str("table.field.event.key", "aggregateid")
	o.str("table.field.event.type", "type") // read by placements only (type:header:eventType)
	t.payloadField = o.str("table.field.event.payload", "payload")
	t.routeField = o.str("route.by.field", "aggregatetype")
	if o.str("route.topic.regex", "") == "" {
		o.m = withDefault(o.m, "route.topic.regex", "(?<routedByValue>.*)")
	}
	if o.str("route.topic.replacement", "") == "" {
		o.m = withDefault(o.m, "route.topic.replacement", "outbox.event.${routedByValue}")
	}
	t.route = newTopicRegex(o, "route.topic.regex", "route.topic.replacement", true)
	t.tombOnEmpty = o.bool("route.tombstone.on.empty.payload", false)
	t.expand = o.bool("table.expand.json.payload", false)
	o.oneOf("table.json.payload.null.behavior", "ignore", "ignore")
	o.oneOf("table.json.payload.empty.array.behavior", "ignore", "ignore")
	t.invalidOp = o.oneOf("table.op.invalid.behavior", "warn", "warn", "error", "fatal")
	t.missingIgn = o.oneOf("table.field.additional.missing", "error", "error", "ignore") == "ignore"
	for _, item := range o.list("table.fields.additional.placement") {
		parts := strings.Split(item, ":")
		if len(parts) < 2 || len(parts) > 3 {
			o.bad("table.fields.additional.placement", item, "want column:placement or column:placement:alias")
			continue
		}
		f := additionalField{field: strings.TrimSpace(parts[0]), placement: strings.ToLower(strings.TrimSpace(parts[1]))}
		f.alias = f.field
		if len(parts) == 3 {
			f.alias = strings.TrimSpace(parts[2])
		}
		switch f.placement {
		case "header":
		case "envelope":
			t.envelopeOut = true
		case "partition":
			o.bad("table.fields.additional.placement", item, "placement partition is not supported: sluice partitions by the key (murmur2, as Kafka's producer)")
			continue
		default:
			o.bad("table.fields.additional.placement", item, "placement must be header or envelope")
			continue
		}
		t.additional = append(t.additional, f)
	}
	o.ignored("tracing.span.context.field", "tracing.operation.name", "tracing.with.context.field.only")
	return t, nil
}

func withDefault(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for a, b := range m {
		out[a] = b
	}
	out[k] = v
	return out
}

// outboxSchemas caches, per outbox topic, the schemas derived from its envelope schema.
type outboxSchemas struct {
	envelope []byte
	isEnv    bool
	key      []byte            // the key column's schema
	payload  []byte            // the payload column's schema
	row      []byte            // the after row's schema
	wrapped  map[string][]byte // value schema with envelope fields, by aggregate type
}

func (t *outbox) schemas(topic string, s []byte) (*outboxSchemas, error) {
	if e := t.cache[topic]; e != nil && bytes.Equal(e.envelope, s) {
		return e, nil
	}
	e := &outboxSchemas{envelope: bytes.Clone(s), wrapped: map[string][]byte{}}
	e.isEnv = strings.HasSuffix(schemaNameOf(s), ".Envelope")
	if e.isEnv {
		after, err := schemaFieldOf(s, "after")
		if err != nil || after == nil {
			return nil, errors.New("envelope schema without an after field")
		}
		e.row = after
		if f, _ := schemaFieldOf(after, t.keyField); f != nil {
			e.key, _ = asField(f, "")
		} else {
			e.key = []byte(`{"type":"string","optional":false}`)
		}
		f, _ := schemaFieldOf(after, t.payloadField)
		if f == nil {
			return nil, fmt.Errorf("unable to find payload field %s in event", t.payloadField)
		}
		if e.payload, err = asField(f, ""); err != nil {
			return nil, err
		}
	}
	if len(t.cache) > 4096 {
		clear(t.cache)
	}
	t.cache[topic] = e
	return e, nil
}

func (t *outbox) Apply(dst []envelope.Record, r envelope.Record, a *Arena) ([]envelope.Record, error) {
	if r.Value == nil {
		return dst, nil // tombstones of outbox rows are dropped
	}
	var (
		sp  split
		sch *outboxSchemas
		err error
	)
	if t.env.SchemasEnable {
		var ok bool
		if e := t.cache[r.Topic]; e != nil {
			sp, ok = splitKnown(r.Value, e.envelope)
			sch = e
		}
		if !ok {
			if sp, err = splitRecord(r.Value, true); err != nil {
				return dst, err
			}
			if sch, err = t.schemas(r.Topic, sp.schema); err != nil {
				return dst, err
			}
		}
		if !sch.isEnv {
			return append(dst, r), nil
		}
	} else {
		sp.payload = r.Value
	}
	c, err := parseChange(sp.payload, needAll, nil)
	if err != nil {
		return dst, fmt.Errorf("read the change envelope: %w", err)
	}
	if !c.ok {
		return append(dst, r), nil
	}
	op, _ := unquote(c.op)
	switch op {
	case "d", "t":
		return dst, nil
	case "u":
		switch t.invalidOp {
		case "fatal":
			return dst, fmt.Errorf("unexpected update of an outbox row (key %s): table.op.invalid.behavior=fatal; outbox rows are inserted and deleted, never updated", r.Key)
		case "error":
			t.env.Logger.Error("unexpected update of an outbox row ignored", "topic", r.Topic, "key", string(r.Key))
		default:
			t.env.Logger.Warn("unexpected update of an outbox row ignored", "topic", r.Topic, "key", string(r.Key))
		}
		return dst, nil
	case "c", "r":
	default:
		return append(dst, r), nil
	}
	row := c.after
	var id, key, payload, routeBy []byte
	err = eachMember(row, func(k, v []byte) bool {
		switch string(k) {
		case t.idField:
			id = v
		case t.keyField:
			key = v
		case t.payloadField:
			payload = v
		case t.routeField:
			routeBy = v
		}
		return true
	})
	if err != nil {
		return dst, fmt.Errorf("read the outbox row: %w", err)
	}
	if id == nil {
		return dst, fmt.Errorf("unable to find event-id field %s in event", t.idField)
	}
	if payload == nil {
		return dst, fmt.Errorf("unable to find payload field %s in event", t.payloadField)
	}
	if key == nil {
		return dst, fmt.Errorf("unable to find event-key field %s in event (table.field.event.key)", t.keyField)
	}
	aggType, ok := unquote(routeBy)
	if !ok {
		return dst, fmt.Errorf("route.by.field: field %q is %s, not a string", t.routeField, orAbsent(routeBy))
	}
	topic := aggType
	if nt := t.route.apply(aggType); nt != "" {
		topic = nt
	}

	// Headers: the record's own, then id, then the header placements, as Debezium adds them.
	hstart := len(a.hdrs)
	a.hdrs = append(a.hdrs, r.Headers...)
	a.hdrs = append(a.hdrs, envelope.Header{Key: "id", Value: headerText(id)})
	var extra []member // envelope placements
	for _, f := range t.additional {
		v, err := get(row, f.field)
		if err != nil {
			return dst, err
		}
		if v == nil {
			if t.missingIgn {
				continue
			}
			return dst, fmt.Errorf("table.fields.additional.placement: unable to find field %s in event", f.field)
		}
		if f.placement == "header" {
			a.hdrs = append(a.hdrs, envelope.Header{Key: f.alias, Value: headerText(v)})
		} else {
			extra = append(extra, member{[]byte(f.alias), v})
		}
	}
	r.Headers = a.hdrs[hstart:len(a.hdrs):len(a.hdrs)]
	r.Topic = topic

	// Key: the aggregate id with its column's schema.
	kstart := len(a.buf)
	if sch != nil {
		a.buf = appendWithSchema(a.buf, sch.key, key)
	} else {
		a.buf = append(a.buf, key...)
	}
	r.Key = a.since(kstart)

	// Value.
	empty := isNull(payload)
	if s, ok := unquote(payload); ok && strings.TrimSpace(s) == "" {
		empty = true
	}
	if empty && t.tombOnEmpty {
		r.Value = nil
		return append(dst, r), nil
	}
	payloadSchema := []byte(nil)
	if sch != nil {
		payloadSchema = sch.payload
	}
	if t.expand {
		if s, ok := unquote(payload); ok {
			if ps, pv, err := expandJSON(t.payloadField, s); err != nil {
				t.env.Logger.Warn("outbox: JSON expansion failed; the payload is kept as a string", "topic", topic, "err", err)
			} else {
				payload, payloadSchema = pv, ps
			}
		}
	}
	vstart := len(a.buf)
	switch {
	case !t.envelopeOut:
		if sch != nil {
			a.buf = appendWithSchema(a.buf, payloadSchema, payload)
		} else {
			a.buf = append(a.buf, payload...)
		}
	default:
		var vs []byte
		if sch != nil {
			if vs, err = t.wrappedSchema(sch, aggType, payloadSchema); err != nil {
				return dst, err
			}
			a.buf = append(a.buf, `{"schema":`...)
			a.buf = append(a.buf, vs...)
			a.buf = append(a.buf, `,"payload":`...)
		}
		a.buf = append(a.buf, `{"payload":`...)
		a.buf = append(a.buf, payload...)
		for _, m := range extra {
			a.buf = append(a.buf, ',')
			a.buf = appendKey(a.buf, string(m.key))
			a.buf = append(a.buf, m.val...)
		}
		a.buf = append(a.buf, '}')
		if sch != nil {
			a.buf = append(a.buf, '}')
		}
	}
	r.Value = a.since(vstart)
	return append(dst, r), nil
}

func orAbsent(v []byte) string {
	if v == nil {
		return "absent"
	}
	return string(v)
}

// wrappedSchema is the value schema when additional fields go into the envelope: a struct
// named like the row schema with the aggregate type inserted before its last part
// (<prefix>.<schema>.<table>.<aggregatetype>.Value), with the payload field and the fields.
func (t *outbox) wrappedSchema(sch *outboxSchemas, aggType string, payloadSchema []byte) ([]byte, error) {
	if v, ok := sch.wrapped[aggType]; ok && !t.expand {
		return v, nil
	}
	name := schemaNameOf(sch.row)
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[:i+1] + aggType + "." + name[i+1:]
	} else if name != "" {
		name = aggType + "." + name
	}
	p, err := asField(payloadSchema, "payload")
	if err != nil {
		return nil, err
	}
	fields := [][]byte{p}
	for _, f := range t.additional {
		if f.placement != "envelope" {
			continue
		}
		fs, err := schemaFieldOf(sch.row, f.field)
		if err != nil {
			return nil, err
		}
		if fs == nil {
			if t.missingIgn {
				continue
			}
			return nil, fmt.Errorf("unable to find field %s in event", f.field)
		}
		if fs, err = asField(fs, f.alias); err != nil {
			return nil, err
		}
		fields = append(fields, fs)
	}
	out := []byte(`{"type":"struct","fields":[`)
	for i, f := range fields {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, f...)
	}
	out = append(out, `],"optional":false`...)
	if name != "" {
		out = append(out, `,"name":`...)
		out = envelope.AppendJSONString(out, name)
	}
	out = append(out, '}')
	sch.wrapped[aggType] = out
	return out, nil
}

// expandJSON parses a payload column's text as Debezium's table.expand.json.payload does and
// returns its inferred schema and its value. Text that is not an object or array is an error
// (Debezium: "Unable to parse payload starting with …").
func expandJSON(field, s string) (schema, value []byte, err error) {
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") && !strings.HasPrefix(s, "[") {
		if t == "" {
			return nil, nil, errors.New("empty payload")
		}
		return nil, nil, fmt.Errorf("unable to parse payload starting with '%c'", s[0])
	}
	n, err := parseJSON([]byte(s))
	if err != nil {
		return nil, nil, err
	}
	js, err := inferSchema(field, n)
	if err != nil {
		return nil, nil, err
	}
	if js == nil {
		return nil, nil, errors.New("payload has no schema (an empty array)")
	}
	return appendSchema(nil, js, ""), appendValue(nil, n, js), nil
}
