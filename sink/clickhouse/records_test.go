package clickhouse

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sluicecdc/sluice/envelope"
)

// Builders of Debezium records (JsonConverter) for tests.

type tfield struct {
	name, typ, semantic string
	optional            bool
	params              map[string]string
	items               string // array item type
	def                 string // the default, JSON; "" for none
}

func (f tfield) schemaJSON() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, `{"type":%q`, f.typ)
	if f.items != "" {
		fmt.Fprintf(&sb, `,"items":{"type":%q,"optional":true}`, f.items)
	}
	fmt.Fprintf(&sb, `,"optional":%t`, f.optional)
	if f.semantic != "" {
		fmt.Fprintf(&sb, `,"name":%q,"version":1`, f.semantic)
	}
	if f.params != nil {
		p, _ := json.Marshal(f.params)
		fmt.Fprintf(&sb, `,"parameters":%s`, p)
	}
	if f.def != "" {
		fmt.Fprintf(&sb, `,"default":%s`, f.def)
	}
	fmt.Fprintf(&sb, `,"field":%q}`, f.name)
	return sb.String()
}

type ttable struct {
	topic, db, schema, table string
	fields                   []tfield
	keys                     []string
	pg                       bool
	// source overrides the source block's position fields: for PostgreSQL "sequence" (the
	// string, e.g. `["100","250"]`), for MySQL "file", "row", "gtid", "server_id", "ts_us" and
	// "connector".
	source map[string]any
}

func (t ttable) src(name string, def any) string {
	v, ok := t.source[name]
	if !ok {
		v = def
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func (t ttable) rowSchema(fieldName string) string {
	var fs []string
	for _, f := range t.fields {
		fs = append(fs, f.schemaJSON())
	}
	return fmt.Sprintf(`{"type":"struct","fields":[%s],"optional":true,"name":"%s.Value","field":%q}`, strings.Join(fs, ","), t.topic, fieldName)
}

func (t ttable) valueSchema() string {
	return `{"type":"struct","fields":[` + t.rowSchema("before") + `,` + t.rowSchema("after") +
		`,{"type":"struct","fields":[{"type":"string","optional":false,"field":"version"}],"optional":false,"name":"io.debezium.connector.postgresql.Source","field":"source"},{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"}],"optional":false,"name":"` + t.topic + `.Envelope","version":2}`
}

func (t ttable) keySchema() string {
	var fs []string
	for _, k := range t.keys {
		for _, f := range t.fields {
			if f.name == k {
				fs = append(fs, f.schemaJSON())
			}
		}
	}
	return `{"type":"struct","fields":[` + strings.Join(fs, ",") + `],"optional":false,"name":"` + t.topic + `.Key"}`
}

// row is an ordered row: name/value pairs (values are Go values marshalled to JSON).
type row []any

func (r row) json() string {
	if r == nil {
		return "null"
	}
	var parts []string
	for i := 0; i < len(r); i += 2 {
		v, _ := json.Marshal(r[i+1])
		if raw, ok := r[i+1].(json.RawMessage); ok {
			v = raw
		}
		parts = append(parts, fmt.Sprintf("%q:%s", r[i], v))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func (r row) get(name string) any {
	for i := 0; i < len(r); i += 2 {
		if r[i] == name {
			return r[i+1]
		}
	}
	return nil
}

// record builds one change record. pos is the LSN (pg) or binlog pos in file mysql-bin.000001.
func (t ttable) record(op string, before, after row, pos int64, schemas bool) envelope.Record {
	var src string
	if t.pg {
		src = fmt.Sprintf(`{"version":"3.2.0.Final","connector":"postgresql","name":"srv","ts_ms":1705314600000,"snapshot":"false","db":%q,"sequence":%s,"schema":%q,"table":%q,"txId":7,"lsn":%d,"xmin":null}`, t.db, t.src("sequence", nil), t.schema, t.table, pos)
	} else {
		// ts_us, the commit timestamp MySQL streamed changes are versioned by, follows pos
		// unless a test sets it (a commit timestamp can never go down with pos in one binlog).
		src = fmt.Sprintf(`{"version":"3.2.0.Final","connector":%s,"name":"srv","ts_ms":1705314600000,"snapshot":"false","db":%q,"sequence":null,"ts_us":%s,"table":%q,"server_id":%s,"gtid":%s,"file":%s,"pos":%d,"row":%s,"thread":1,"query":null}`,
			t.src("connector", "mysql"), t.db, t.src("ts_us", 1705314600000000+pos), t.table, t.src("server_id", 1), t.src("gtid", nil), t.src("file", "mysql-bin.000001"), pos, t.src("row", 0))
	}
	payload := fmt.Sprintf(`{"before":%s,"after":%s,"source":%s,"transaction":null,"op":%q,"ts_ms":1705314600512}`, before.json(), after.json(), src, op)
	keyRow := after
	if keyRow == nil {
		keyRow = before
	}
	var k row
	for _, kn := range t.keys {
		k = append(k, kn, keyRow.get(kn))
	}
	key := k.json()
	value := payload
	if schemas {
		key = `{"schema":` + t.keySchema() + `,"payload":` + key + `}`
		value = `{"schema":` + t.valueSchema() + `,"payload":` + payload + `}`
	}
	return envelope.Record{Topic: t.topic, Key: []byte(key), Value: []byte(value)}
}

func (t ttable) tombstone(keyRow row) envelope.Record {
	var k row
	for _, kn := range t.keys {
		k = append(k, kn, keyRow.get(kn))
	}
	return envelope.Record{Topic: t.topic, Key: []byte(k.json())}
}
