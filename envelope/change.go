package envelope

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

// tableEnc is everything the encoder precomputes for one table version.
type tableEnc struct {
	t          *schema.Table
	topic      string
	collection string // data_collection name: db.table or schema.table
	maps       []Mapping
	cols       []int    // captured (not omitted) columns in order
	row        []colEnc // per captured column, in order
	key        []int    // key columns
	keyRow     []colEnc
	keyPrefix  []byte     // {"schema":<key schema>,"payload":
	conn       int        // connector the value prefix was built for
	valPrefix  []byte     // {"schema":<envelope schema>,"payload":
	rules      []*colRule // per column, Config.Columns' rule (nil: none); columns.go
	keyCols    []int      // message.key.columns' key for this table (nil: the primary key)
}

// table returns the cached encoding of t, built on first use. Only the newest version of each
// table ID stays cached.
func (e *Encoder) table(t *schema.Table, conn int) *tableEnc {
	if te := e.lastTable; te != nil && te.t == t && (te.conn == conn || !e.cfg.SchemasEnable) {
		return te // runs of events of one table skip the map
	}
	te := e.tables[t]
	if te == nil {
		if old := e.byID[t.ID]; old != nil && old != t {
			delete(e.tables, old)
		}
		e.byID[t.ID] = t
		te = e.buildTable(t)
		e.tables[t] = te
		te.conn = -1
	}
	if e.cfg.SchemasEnable && te.conn != conn {
		te.valPrefix = e.buildValuePrefix(te, conn)
		te.conn = conn
	}
	e.lastTable = te
	return te
}

// colEnc is the compiled step of one column: its field name and how its value is written. fast
// picks an inline path for the common value shapes; anything else goes through appendField.
type colEnc struct {
	name []byte // `{"name":` for the first column, `,"name":` after
	m    *Mapping
	idx  int // index in the row
	fast uint8
	rule *colRule // a column option (columns.go), or nil
}

const (
	fastNone    = iota
	fastInt     // ConvInt: Int/Uint values as numbers
	fastString  // ConvString: String/JSON values as JSON strings, EscapedJSON copied between quotes
	fastDecimal // ConvDecimal: Decimal values already at the column scale
	fastZoned   // ConvZonedTimestamp: finite timestamps as ISO strings
)

func compileCol(first bool, name string, m *Mapping, idx int) colEnc {
	c := colEnc{name: fieldName(first, name), m: m, idx: idx}
	switch m.Conv {
	case ConvInt:
		c.fast = fastInt
	case ConvString:
		c.fast = fastString
	case ConvDecimal:
		c.fast = fastDecimal
	case ConvZonedTimestamp:
		c.fast = fastZoned
	}
	return c
}

// appendCols appends the fields of r in plan order and the closing brace.
func (e *Encoder) appendCols(dst []byte, te *tableEnc, plan []colEnc, r capture.Row, key bool) ([]byte, error) {
	var err error
	for k := range plan {
		c := &plan[k]
		dst = append(dst, c.name...)
		v := &nullValue
		if c.idx < len(r) {
			v = &r[c.idx]
		}
		if c.rule != nil {
			v = c.rule.apply(v)
		}
		// The fast paths take only flag-free values of the kinds appendValue writes the same way;
		// a null, zero date, special number or unavailable value has another kind or a flag.
		if v.Flag == 0 {
			switch c.fast {
			case fastInt:
				if v.Kind == capture.Int || v.Kind == capture.Uint {
					dst = strconv.AppendInt(dst, v.Int, 10)
					continue
				}
			case fastString:
				if v.Kind == capture.String || v.Kind == capture.JSON {
					dst = AppendJSONString(dst, v.Bytes)
					continue
				}
				if v.Kind == capture.EscapedJSON {
					dst = appendEscaped(dst, v.Bytes)
					continue
				}
			case fastDecimal:
				if v.Kind == capture.Decimal && int(v.Aux) == c.m.Scale {
					dst = AppendDecimal(dst, v.Int, v.Big)
					continue
				}
			case fastZoned:
				if v.Kind == capture.TimestampTZ || v.Kind == capture.Timestamp {
					us := v.Int
					if c.m.AdjustYears && us < year100Micros {
						us = adjustYearMicros(us)
					}
					dst = append(dst, '"')
					dst = e.appendISOTimestamp(dst, us, c.m.Scale)
					dst = append(dst, '"')
					continue
				}
			}
		}
		if dst, err = e.appendField(dst, c.m, v); err != nil {
			col := &te.t.Columns[c.idx]
			typ := col.TypeExpr
			if typ == "" {
				typ = col.Type
			}
			return dst, &ValueError{Table: te.collection, Column: col.Name, Key: key, Type: typ,
				Kind: KindName(v.Kind), Schema: schemaText(c.m.Schema), Err: err}
		}
	}
	return append(dst, '}'), nil
}

func fieldName(first bool, name string) []byte {
	b := []byte{','}
	if first {
		b[0] = '{'
	}
	b = AppendJSONString(b, name)
	return append(b, ':')
}

func (e *Encoder) buildTable(t *schema.Table) *tableEnc {
	te := &tableEnc{t: t, topic: e.Topic(t.ID), collection: t.ID.String(), maps: MapTable(t, e.cfg.Options)}
	e.applyColumnOptions(te)
	for i := range t.Columns {
		if te.maps[i].Omitted() {
			continue
		}
		te.row = append(te.row, compileCol(len(te.cols) == 0, t.Columns[i].Name, &te.maps[i], i))
		te.row[len(te.row)-1].rule = te.rule(i)
		te.cols = append(te.cols, i)
	}
	for _, k := range te.keyColumns() {
		if te.maps[k].Omitted() {
			continue
		}
		te.keyRow = append(te.keyRow, compileCol(len(te.key) == 0, t.Columns[k].Name, &te.maps[k], k))
		te.keyRow[len(te.keyRow)-1].rule = te.rule(k)
		te.key = append(te.key, k)
	}
	if ks := te.keySchema(); e.cfg.SchemasEnable && ks != nil {
		te.keyPrefix = append(appendConnect([]byte(`{"schema":`), ks, ""), `,"payload":`...)
	}
	return te
}

// rowSchema is the <topic>.Value struct.
func (te *tableEnc) rowSchema() *Connect {
	rs := st(te.topic+".Value", 0, true)
	for _, i := range te.cols {
		rs.Fields = append(rs.Fields, Field{Name: te.t.Columns[i].Name, Schema: te.maps[i].Schema})
	}
	return rs
}

// envelopeSchema is the <topic>.Envelope struct of a table for connector conn.
func (e *Encoder) envelopeSchema(te *tableEnc, conn int) *Connect {
	rs := te.rowSchema()
	tail := []Field{
		fl("op", String, false),
		fl("ts_ms", Int64, true),
		fl("ts_us", Int64, true),
		fl("ts_ns", Int64, true),
	}
	fields := []Field{fs("before", rs), fs("after", rs), fs("source", e.src[conn].schema)}
	if e.compat >= Compat27 {
		fields = append(fields, fs("transaction", e.fixed.txBlock))
		fields = append(fields, tail...)
	} else {
		fields = append(fields, tail...)
		fields = append(fields, fs("transaction", e.fixed.txBlock))
	}
	return st(te.topic+".Envelope", 2, false, fields...)
}

// keySchema is the <topic>.Key struct, or nil for a table without key.
func (te *tableEnc) keySchema() *Connect {
	if len(te.key) == 0 {
		return nil
	}
	ks := st(te.topic+".Key", 0, false)
	for _, k := range te.key {
		ks.Fields = append(ks.Fields, Field{Name: te.t.Columns[k].Name, Schema: te.maps[k].Schema})
	}
	return ks
}

func (e *Encoder) buildValuePrefix(te *tableEnc, conn int) []byte {
	return append(appendConnect([]byte(`{"schema":`), e.envelopeSchema(te, conn), ""), `,"payload":`...)
}

// Schemas returns the Kafka Connect key schema (nil for a table without key) and value
// (envelope) schema of t's data records as this encoder writes them, for sinks that need the
// column types. connector is "mysql", "mariadb" or "postgresql" ("" = from t's dialect). The
// returned schemas are shared: do not modify them.
func (e *Encoder) Schemas(t *schema.Table, connector string) (key, value *Connect, err error) {
	conn, err := e.connIndex(&capture.Event{Table: t, Source: capture.Source{Connector: connector}})
	if err != nil {
		return nil, nil, err
	}
	te := e.tables[t]
	if te == nil {
		te = e.buildTable(t)
	}
	return te.keySchema(), e.envelopeSchema(te, conn), nil
}

func valueAt(r capture.Row, i int) *capture.Value {
	if i < len(r) {
		return &r[i]
	}
	return &nullValue
}

var nullValue capture.Value

// appendRow appends a row struct, or null for a nil row.
func (e *Encoder) appendRow(dst []byte, te *tableEnc, r capture.Row) ([]byte, error) {
	if r == nil {
		return append(dst, "null"...), nil
	}
	if len(te.cols) == 0 {
		return append(dst, "{}"...), nil
	}
	return e.appendCols(dst, te, te.row, r, false)
}

// appendKeyPayload appends the key struct payload of r.
func (e *Encoder) appendKeyPayload(dst []byte, te *tableEnc, r capture.Row) ([]byte, error) {
	return e.appendCols(dst, te, te.keyRow, r, true)
}

// appendKey appends the record key (with schema when enabled) and returns its bounds.
func (e *Encoder) appendKey(te *tableEnc, r capture.Row) (k []byte, payload []byte, err error) {
	start := len(e.buf)
	if e.cfg.SchemasEnable {
		e.buf = append(e.buf, te.keyPrefix...)
	}
	p0 := len(e.buf)
	if e.buf, err = e.appendKeyPayload(e.buf, te, r); err != nil {
		return nil, nil, err
	}
	p1 := len(e.buf)
	if e.cfg.SchemasEnable {
		e.buf = append(e.buf, '}')
	}
	return e.buf[start:len(e.buf):len(e.buf)], e.buf[p0:p1:p1], nil
}

func keyChanged(te *tableEnc, before, after capture.Row) bool {
	if before == nil || after == nil {
		return false
	}
	for _, k := range te.key {
		if !valueEqual(valueAt(before, k), valueAt(after, k)) {
			return true
		}
	}
	return false
}

func valueEqual(a, b *capture.Value) bool {
	if a.Kind != b.Kind || a.Flag != b.Flag || a.Aux != b.Aux || a.Int != b.Int ||
		!bytes.Equal(a.Bytes, b.Bytes) || len(a.Elems) != len(b.Elems) {
		return false
	}
	if (a.Big == nil) != (b.Big == nil) || a.Big != nil && a.Big.Cmp(b.Big) != 0 {
		return false
	}
	for i := range a.Elems {
		if !valueEqual(&a.Elems[i], &b.Elems[i]) {
			return false
		}
	}
	return true
}

// appendEnvelope appends the value record of one data event and returns it.
func (e *Encoder) appendEnvelope(te *tableEnc, conn int, ev *capture.Event, op capture.Op, before, after capture.Row, ns int64) ([]byte, error) {
	start := len(e.buf)
	b := e.buf
	if e.cfg.SchemasEnable {
		b = append(b, te.valPrefix...)
	}
	var err error
	b = append(b, `{"before":`...)
	if b, err = e.appendRow(b, te, before); err != nil {
		return nil, err
	}
	b = append(b, `,"after":`...)
	if b, err = e.appendRow(b, te, after); err != nil {
		return nil, err
	}
	b = append(b, `,"source":`...)
	b = e.appendSource(b, conn, &ev.Source)
	if e.compat >= Compat27 {
		b = append(b, `,"transaction":`...)
		b = e.appendTxBlock(b)
		b = append(b, `,"op":"`...)
		b = append(b, byte(op))
		b = append(b, `",`...)
		b = e.appendTsTriple(b, ns)
	} else {
		b = append(b, `,"op":"`...)
		b = append(b, byte(op))
		b = append(b, `",`...)
		b = e.appendTsTriple(b, ns)
		b = append(b, `,"transaction":`...)
		b = e.appendTxBlock(b)
	}
	b = append(b, '}')
	if e.cfg.SchemasEnable {
		b = append(b, '}')
	}
	e.buf = b
	return b[start:len(b):len(b)], nil
}

func (e *Encoder) header(key string, v []byte) []Header {
	i := len(e.hdrs)
	e.hdrs = append(e.hdrs, Header{Key: key, Value: v})
	return e.hdrs[i : i+1 : i+1]
}

// Header keys of a primary-key change (spec §3).
const (
	HeaderNewKey = "__debezium.newkey"
	HeaderOldKey = "__debezium.oldkey"
)

// HeaderLSNEvent is sluice's own header on the change records of a PostgreSQL table without a
// primary key: the change's ordinal (from 1, decimal) among the events at its source.lsn, the
// lsn_events_processed of its offset. All rows of a multi-row insert (COPY, INSERT … SELECT)
// share one LSN; with it each has a place of its own that a replay gives it again, so the
// ClickHouse sink tells a replayed row from an identical one (docs/clickhouse.md). Headers are
// not part of the Debezium value: consumers that do not know it see the same records.
const HeaderLSNEvent = "__sluice.lsn_event"

// LSNEventer is the optional ability of a position to tell a change's ordinal among the events
// at its LSN (PostgreSQL's lsn_events_processed; 0: none).
type LSNEventer interface{ LSNEvent() int }

// placeHeaders is the __sluice.lsn_event header of ev's record when its table has no key and its
// position knows the ordinal; nil otherwise (keyed tables never look).
func (e *Encoder) placeHeaders(te *tableEnc, ev *capture.Event) []Header {
	if len(te.key) > 0 || ev.Position == nil {
		return nil
	}
	p, ok := ev.Position.(LSNEventer)
	if !ok {
		return nil
	}
	n := p.LSNEvent()
	if n <= 0 {
		return nil
	}
	i := len(e.buf)
	e.buf = strconv.AppendInt(e.buf, int64(n), 10)
	return e.header(HeaderLSNEvent, e.buf[i:len(e.buf):len(e.buf)])
}

func (e *Encoder) encodeChange(dst []Record, ev *capture.Event) ([]Record, error) {
	if ev.Table == nil {
		return dst, fmt.Errorf("encode %c event: no table", ev.Op)
	}
	conn, err := e.connIndex(ev)
	if err != nil {
		return dst, err
	}
	te := e.table(ev.Table, conn)
	ns := e.nowNS()
	dst = e.beginIfNeeded(dst, ev)
	wrap := func(err error) error { return fmt.Errorf("encode %c event of %s: %w", ev.Op, te.collection, err) }

	switch ev.Op {
	case capture.OpCreate, capture.OpRead, capture.OpUpdate:
		if ev.Op == capture.OpUpdate && len(te.key) > 0 && keyChanged(te, ev.Before, ev.After) {
			return e.encodeKeyChange(dst, te, conn, ev, ns)
		}
		var key []byte
		if len(te.key) > 0 {
			if key, _, err = e.appendKey(te, ev.After); err != nil {
				return dst, wrap(err)
			}
		}
		e.countTx(te)
		var before capture.Row
		if ev.Op == capture.OpUpdate {
			before = ev.Before
		}
		val, err := e.appendEnvelope(te, conn, ev, ev.Op, before, ev.After, ns)
		if err != nil {
			return dst, wrap(err)
		}
		return append(dst, Record{Compact: true, Topic: te.topic, Key: key, Value: val, Headers: e.placeHeaders(te, ev)}), nil
	case capture.OpDelete:
		var key []byte
		if len(te.key) > 0 {
			if key, _, err = e.appendKey(te, ev.Before); err != nil {
				return dst, wrap(err)
			}
		}
		e.countTx(te)
		val, err := e.appendEnvelope(te, conn, ev, ev.Op, ev.Before, nil, ns)
		if err != nil {
			return dst, wrap(err)
		}
		dst = append(dst, Record{Compact: true, Topic: te.topic, Key: key, Value: val, Headers: e.placeHeaders(te, ev)})
		// Like Debezium's EventDispatcher, a table without a key also gets its tombstone
		// (null key and null value).
		if e.cfg.TombstonesOnDelete {
			dst = append(dst, Record{Compact: true, Topic: te.topic, Key: key})
		}
		return dst, nil
	case capture.OpTruncate:
		e.countTx(te)
		val, err := e.appendEnvelope(te, conn, ev, ev.Op, nil, nil, ns)
		if err != nil {
			return dst, wrap(err)
		}
		return append(dst, Record{Compact: true, Topic: te.topic, Value: val}), nil
	}
	return dst, fmt.Errorf("encode event of %s: unknown op %q", te.collection, byte(ev.Op))
}

// encodeKeyChange emits an update that changed the primary key as Debezium does: a delete under
// the old key (header __debezium.newkey), its tombstone, and a create under the new key (header
// __debezium.oldkey). Header values are the key structs as Kafka Connect's default
// SimpleHeaderConverter prints them, which for the usual key types (numbers, strings) is the
// schemaless JSON payload written here.
func (e *Encoder) encodeKeyChange(dst []Record, te *tableEnc, conn int, ev *capture.Event, ns int64) ([]Record, error) {
	wrap := func(err error) error { return fmt.Errorf("encode key-changing update of %s: %w", te.collection, err) }
	oldKey, oldPayload, err := e.appendKey(te, ev.Before)
	if err != nil {
		return dst, wrap(err)
	}
	newKey, newPayload, err := e.appendKey(te, ev.After)
	if err != nil {
		return dst, wrap(err)
	}
	e.countTx(te)
	del, err := e.appendEnvelope(te, conn, ev, capture.OpDelete, ev.Before, nil, ns)
	if err != nil {
		return dst, wrap(err)
	}
	dst = append(dst, Record{Compact: true, Topic: te.topic, Key: oldKey, Value: del, Headers: e.header(HeaderNewKey, newPayload)})
	if e.cfg.TombstonesOnDelete {
		dst = append(dst, Record{Compact: true, Topic: te.topic, Key: oldKey})
	}
	e.countTx(te)
	cre, err := e.appendEnvelope(te, conn, ev, capture.OpCreate, nil, ev.After, ns)
	if err != nil {
		return dst, wrap(err)
	}
	return append(dst, Record{Compact: true, Topic: te.topic, Key: newKey, Value: cre, Headers: e.header(HeaderOldKey, oldPayload)}), nil
}
