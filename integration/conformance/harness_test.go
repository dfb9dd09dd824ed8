//go:build integration

package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"sync"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
)

// A Case is one of Debezium's test tables with the values and schemas Debezium asserts for
// its row. The harness creates the table, inserts the row before the snapshot and again while
// streaming, and checks both records.
type Case struct {
	Name string
	// Cite is where Debezium asserts the expectations: repository path and test (debezium/
	// debezium at aad55199 unless it says otherwise), or the connector docs' section.
	Cite string
	// On limits the case to some servers ("mysql", "mariadb", "pg15", "pg17"); nil: every
	// server of its family.
	On []string
	// Setup runs once before DDL (extensions, types); may be empty.
	Setup []string
	// Extension, when set, is a PostgreSQL extension the case needs: without it on the server
	// the case is not run (a failure under SLUICE_TEST_REQUIRE=1).
	Extension string
	// DDL creates the table; its name is the third word. Insert adds the row; it must not
	// name a key value, so it can run twice (AUTO_INCREMENT/SERIAL key).
	DDL, Insert string
	// StreamInsert, when set, is the streamed insert in place of Insert (a key given by
	// value must differ).
	StreamInsert string
	// Alter runs after the snapshot, before the streamed insert (a schema change the stream
	// must follow); may be empty. Insert must still fit the altered table.
	Alter []string
	// Checks are the asserted fields of the after image.
	Checks []Check

	// A change case (Want set) runs Changes while streaming, after the snapshot has begun,
	// and compares every record of its table, in order, with Want, encoded under Mode
	// (Debezium properties as Check.Mode, plus tombstones.on.delete=false). Insert, when
	// set, runs once before the snapshot.
	Changes []string
	Mode    string
	Want    []Want
}

// A Check is one column of the after image under one set of handling modes.
type Check struct {
	// Mode is a comma-separated list of Debezium properties (decimal.handling.mode=double,…);
	// "" is the defaults.
	Mode string
	Col  string
	// Type and Name are the Connect schema's type and name ("" name: none). Params, when not
	// nil, must each appear in the schema's parameters.
	Type, Name string
	Params     map[string]string
	// Value is the JSON value as the JsonConverter writes it; "" is not compared (generated
	// values).
	Value string
	// Only limits the check to some servers (as Case.On).
	Only []string
	// Phase limits the check to "snapshot" or "stream" (Debezium asserts different values
	// for some types, e.g. MySQL JSON text); "" both.
	Phase string
	// Required says the column is NOT NULL: its schema is not optional (checked always).
	Required bool
	// Default, when set, is the schema default as JSON ("null": none).
	Default string
	// JSONText compares a string holding JSON (or a map) by its parsed content, ignoring key
	// order: Debezium builds hstore JSON and maps from a Java HashMap, whose order is not
	// PostgreSQL's.
	JSONText bool
}

func (c Check) on(server string) bool { return onServer(c.Only, server) }

func onServer(list []string, server string) bool {
	if len(list) == 0 {
		return true
	}
	for _, s := range list {
		if s == server {
			return true
		}
	}
	return false
}

// table returns the case's table name.
func (c *Case) table() string { return strings.Trim(strings.Fields(c.DDL)[2], "`\"") }

// parseMode reads Debezium's property names into envelope options.
func parseMode(mode string) (envelope.Options, error) {
	var o envelope.Options
	if mode == "" {
		return o, nil
	}
	for _, kv := range strings.Split(mode, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		var err error
		switch k {
		case "decimal.handling.mode":
			o.Decimal, err = envelope.ParseDecimalMode(v)
		case "time.precision.mode":
			o.Time, err = envelope.ParseTimeMode(v)
		case "binary.handling.mode":
			o.Binary, err = envelope.ParseBinaryMode(v)
		case "bigint.unsigned.handling.mode":
			o.BigintUnsigned, err = envelope.ParseBigintUnsignedMode(v)
		case "enable.time.adjuster":
			o.NoTimeAdjuster = v == "false"
		case "interval.handling.mode":
			o.Interval, err = envelope.ParseIntervalMode(v)
		case "hstore.handling.mode":
			o.HStore, err = envelope.ParseHStoreMode(v)
		default:
			err = fmt.Errorf("unknown property %q", k)
		}
		if err != nil {
			return o, err
		}
	}
	return o, nil
}

// field is one field of a Connect struct schema.
type field struct {
	Field    string            `json:"field"`
	Type     string            `json:"type"`
	Optional bool              `json:"optional"`
	Default  json.RawMessage   `json:"default"`
	Name     string            `json:"name"`
	Params   map[string]string `json:"parameters"`
	Fields   []field           `json:"fields"`
}

// decoded is a Debezium value record with its schema.
type decoded struct {
	Schema  field `json:"schema"`
	Payload struct {
		Op    string                     `json:"op"`
		After map[string]json.RawMessage `json:"after"`
	} `json:"payload"`
}

// result is the outcome of one case on one server in one phase.
type result struct {
	server, phase string
	failures      []string
}

var (
	resultsMu sync.Mutex
	results   = map[string][]result{} // case name → results
)

func record(c *Case, server, phase string, failures []string) {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	results[c.Name] = append(results[c.Name], result{server, phase, failures})
}

// checkEvent encodes ev under each mode of c's checks and compares the asserted fields.
func checkEvent(c *Case, server, phase string, ev *capture.Event) []string {
	var failures []string
	byMode := map[string][]Check{}
	var modes []string
	for _, ch := range c.Checks {
		if !ch.on(server) || (ch.Phase != "" && ch.Phase != phase) {
			continue
		}
		if _, ok := byMode[ch.Mode]; !ok {
			modes = append(modes, ch.Mode)
		}
		byMode[ch.Mode] = append(byMode[ch.Mode], ch)
	}
	sort.Strings(modes)
	for _, mode := range modes {
		o, err := parseMode(mode)
		if err != nil {
			failures = append(failures, fmt.Sprintf("[%s] %v", mode, err))
			continue
		}
		enc, err := envelope.NewEncoder(envelope.Config{TopicPrefix: "conformance", SchemasEnable: true, TombstonesOnDelete: true, Options: o})
		if err != nil {
			failures = append(failures, fmt.Sprintf("[%s] %v", mode, err))
			continue
		}
		recs, err := enc.Encode(nil, ev)
		if err != nil {
			failures = append(failures, fmt.Sprintf("[%s] encode: %v", mode, err))
			continue
		}
		var d decoded
		if err := json.Unmarshal(recs[0].Value, &d); err != nil {
			failures = append(failures, fmt.Sprintf("[%s] %v", mode, err))
			continue
		}
		var after []field
		for _, f := range d.Schema.Fields {
			if f.Field == "after" {
				after = f.Fields
			}
		}
		for _, ch := range byMode[mode] {
			failures = append(failures, compare(ch, after, d.Payload.After)...)
		}
		failures = append(failures, checkKey(mode, ev, recs[0].Key, d, after)...)
	}
	return failures
}

// checkKey compares the key with Debezium's rule: a struct named <topic>.Key holding the
// primary-key columns with the schemas and values they have in the after image
// (RelationalDatabaseSchema / TableSchemaBuilder).
func checkKey(mode string, ev *capture.Event, key []byte, d decoded, after []field) []string {
	if len(ev.Table.PrimaryKey) == 0 {
		if key != nil {
			return []string{fmt.Sprintf("[%s] a table without a primary key has key %s, want null", mode, key)}
		}
		return nil
	}
	var k decoded
	var kp struct {
		Payload map[string]json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(key, &k); err != nil {
		return []string{fmt.Sprintf("[%s] key: %v: %s", mode, err, key)}
	}
	json.Unmarshal(key, &kp)
	var out []string
	if want := strings.TrimSuffix(d.Schema.Name, ".Envelope") + ".Key"; k.Schema.Name != want || k.Schema.Type != "struct" {
		out = append(out, fmt.Sprintf("[%s] key schema %s %q, want struct %q", mode, k.Schema.Type, k.Schema.Name, want))
	}
	if len(k.Schema.Fields) == 0 {
		out = append(out, fmt.Sprintf("[%s] key has no fields: %s", mode, key))
	}
	for _, kf := range k.Schema.Fields {
		var af *field
		for i := range after {
			if after[i].Field == kf.Field {
				af = &after[i]
			}
		}
		switch {
		case af == nil:
			out = append(out, fmt.Sprintf("[%s] key field %s is not in the value", mode, kf.Field))
		case af.Type != kf.Type || af.Name != kf.Name:
			out = append(out, fmt.Sprintf("[%s] key field %s: %s/%q, in the value %s/%q", mode, kf.Field, kf.Type, kf.Name, af.Type, af.Name))
		case compact(kp.Payload[kf.Field]) != compact(d.Payload.After[kf.Field]):
			out = append(out, fmt.Sprintf("[%s] key field %s = %s, in the value %s", mode, kf.Field, kp.Payload[kf.Field], d.Payload.After[kf.Field]))
		}
	}
	return out
}

func compare(ch Check, schema []field, after map[string]json.RawMessage) []string {
	tag := ch.Col
	if ch.Mode != "" {
		tag = "[" + ch.Mode + "] " + tag
	}
	var out []string
	var f *field
	for i := range schema {
		if schema[i].Field == ch.Col {
			f = &schema[i]
		}
	}
	if f == nil {
		return []string{tag + ": no such field in the schema"}
	}
	if f.Type != ch.Type || f.Name != ch.Name {
		out = append(out, fmt.Sprintf("%s: schema %s/%q, want %s/%q", tag, f.Type, f.Name, ch.Type, ch.Name))
	}
	if f.Optional == ch.Required {
		out = append(out, fmt.Sprintf("%s: optional %v, want %v", tag, f.Optional, !ch.Required))
	}
	if ch.Default != "" {
		got := "null"
		if len(f.Default) > 0 {
			got = compact(f.Default)
		}
		if got != compact(json.RawMessage(ch.Default)) {
			out = append(out, fmt.Sprintf("%s: default %s, want %s", tag, got, ch.Default))
		}
	}
	for k, v := range ch.Params {
		if got, ok := f.Params[k]; !ok || got != v {
			out = append(out, fmt.Sprintf("%s: parameter %s = %q, want %q (all: %v)", tag, k, got, v, f.Params))
		}
	}
	if ch.Value == "" {
		return out
	}
	got, want := compact(after[ch.Col]), compact(json.RawMessage(ch.Value))
	if ch.JSONText {
		got, want = parsedText(after[ch.Col]), parsedText(json.RawMessage(ch.Value))
	}
	if got != want {
		out = append(out, fmt.Sprintf("%s: value %s, want %s", tag, got, want))
	}
	return out
}

// parsedText returns the JSON held in a JSON string (or array of strings), re-encoded with
// sorted keys.
func parsedText(b json.RawMessage) string {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return string(b)
	}
	var norm func(any) any
	norm = func(v any) any {
		switch x := v.(type) {
		case string:
			var in any
			if json.Unmarshal([]byte(x), &in) == nil {
				return in
			}
		case []any:
			for i := range x {
				x[i] = norm(x[i])
			}
		}
		return v
	}
	out, _ := json.Marshal(norm(v)) // encoding/json sorts map keys
	return string(out)
}

func compact(b json.RawMessage) string {
	if len(b) == 0 {
		return "<missing>"
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return string(b) + " (invalid JSON)"
	}
	return buf.String()
}

// decimal returns the JSON of a Connect Decimal of the unscaled value u: base64 of its
// big-endian two's complement in the fewest bytes (Java's BigInteger.toByteArray).
func decimal(u int64) string {
	var b []byte
	for {
		b = append([]byte{byte(u)}, b...)
		if u >= -128 && u <= 127 {
			break
		}
		u >>= 8
	}
	return string(envelope.AppendBase64(nil, b))
}

// decimalOf is decimal for unscaled values beyond int64, given in decimal digits.
func decimalOf(unscaled string) string {
	n, ok := new(big.Int).SetString(unscaled, 10)
	if !ok {
		panic(unscaled)
	}
	b := n.Bytes()
	if n.Sign() >= 0 && (len(b) == 0 || b[0]&0x80 != 0) {
		b = append([]byte{0}, b...) // a leading zero keeps it positive, as BigInteger.toByteArray
	}
	return string(envelope.AppendBase64(nil, b))
}

// b64 returns the JSON of Connect bytes.
func b64(b ...byte) string { return string(envelope.AppendBase64(nil, b)) }

// str returns s as a JSON string.
func str(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // as Jackson writes them
	enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}
