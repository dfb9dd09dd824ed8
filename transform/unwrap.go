package transform

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/sluicecdc/sluice/envelope"
)

// unwrap is io.debezium.transforms.ExtractNewRecordState: the change record's "after" state
// (or "before", for a rewritten delete) in place of the envelope.
//
// Record shapes, as Debezium's SMT followed by the JsonConverter writes them:
//   - create, update, read: the after row (plus "__deleted":"false" in the rewrite modes,
//     then the add.fields); with schemas, the after field's schema as a required struct with
//     the added fields (each a copy of its source field's schema, optional, without default).
//   - delete: by delete.tombstone.handling.mode: drop (nothing), tombstone (the default: a
//     value that is the JSON null, with the after schema when schemas are on; Debezium keeps
//     the value schema, so the JsonConverter writes "null", not a Kafka tombstone),
//     delete-to-tombstone (a Kafka tombstone), rewrite and rewrite-with-tombstone (the before
//     row plus "__deleted":"true").
//   - tombstone: kept only in rewrite-with-tombstone (or drop.tombstones=false).
//   - truncate (before and after null): dropped.
//   - anything that is not a change envelope (heartbeats, transaction and schema-change
//     records): unchanged.
type unwrap struct {
	env          Env
	deleteMode   string // drop, tombstone, rewrite, rewrite-with-tombstone, delete-to-tombstone
	keepTombs    bool
	rewrite      bool
	fields       []fieldRef
	headers      []fieldRef
	routeByField string
	cache        map[string]*unwrapSchemas // by topic
	// srcFields are the source fields add.fields and add.headers read, collected in one pass
	// over the source block into srcVals.
	srcFields []string
	srcVals   [][]byte
	srcFound  int // srcVals set in this record
	// need is what parseChange reads past after for add.fields and add.headers (0: none).
	need changeNeed
	// srcKeys are srcFields as parseEncoded finds them in the source block ("table":); nil
	// when a field needs escaping (then parseChange reads every record).
	srcKeys [][]byte
	// srcHint is where parseEncoded found each srcKeys key in the last source block.
	srcHint []int
	// inner reads srcFields while parseChange finds the end of the source block (nil: none
	// wanted), so the block is scanned once.
	inner func(key []byte) func(k, v []byte) bool
}

// fieldRef is one entry of add.fields or add.headers: op, ts_ms, source.<f>, transaction.<f>
// or a bare source field, optionally renamed with :<new name>.
type fieldRef struct {
	parent string // "", "source", "transaction"
	field  string
	out    string // prefix + name
	key    []byte // out as a JSON member key ("out":), written once per record
	src    int    // for parent "source": the index into unwrap.srcFields
}

func parseFieldRefs(o *options, key, prefix string) []fieldRef {
	var out []fieldRef
	for _, item := range o.list(key) {
		name, rename, renamed := strings.Cut(item, ":")
		if strings.Contains(rename, ":") {
			o.bad(key, item, "want field or field:new_name")
			continue
		}
		r := fieldRef{field: name}
		if p, f, ok := strings.Cut(name, "."); ok {
			r.parent, r.field = p, f
		} else {
			switch name {
			case "op", "ts_ms", "ts_us", "ts_ns":
			case "id", "total_order", "data_collection_order":
				r.parent = "transaction"
			default:
				r.parent = "source"
			}
		}
		switch {
		case renamed:
			r.out = prefix + rename
		case r.parent != "" && strings.Contains(name, "."):
			r.out = prefix + r.parent + "_" + r.field
		default:
			r.out = prefix + r.field
		}
		r.key = appendKey(nil, r.out)
		out = append(out, r)
	}
	return out
}

func newUnwrap(o *options, env Env) (Transform, error) {
	u := &unwrap{env: env, cache: map[string]*unwrapSchemas{}}
	legacy := !o.has("delete.tombstone.handling.mode") && (o.has("drop.tombstones") || o.has("delete.handling.mode"))
	if legacy {
		// Debezium 2.x: drop.tombstones (default true) and delete.handling.mode none|drop|rewrite.
		u.keepTombs = !o.bool("drop.tombstones", true)
		switch o.oneOf("delete.handling.mode", "none", "none", "drop", "rewrite") {
		case "none":
			u.deleteMode = "tombstone"
		case "drop":
			u.deleteMode = "drop"
		case "rewrite":
			u.deleteMode, u.rewrite = "rewrite", true
		}
	} else {
		o.ignored("drop.tombstones", "delete.handling.mode")
		u.deleteMode = o.oneOf("delete.tombstone.handling.mode", "tombstone",
			"drop", "tombstone", "rewrite", "rewrite-with-tombstone", "delete-to-tombstone")
		u.keepTombs = u.deleteMode == "rewrite-with-tombstone"
		u.rewrite = u.deleteMode == "rewrite" || u.deleteMode == "rewrite-with-tombstone"
	}
	u.fields = parseFieldRefs(o, "add.fields", o.str("add.fields.prefix", "__"))
	u.headers = parseFieldRefs(o, "add.headers", o.str("add.headers.prefix", "__"))
	u.routeByField = o.str("route.by.field", "")
	for _, refs := range [][]fieldRef{u.fields, u.headers} {
		for i := range refs {
			if refs[i].parent != "source" {
				continue
			}
			refs[i].src = slices.Index(u.srcFields, refs[i].field)
			if refs[i].src < 0 {
				refs[i].src = len(u.srcFields)
				u.srcFields = append(u.srcFields, refs[i].field)
			}
		}
	}
	for _, refs := range [][]fieldRef{u.fields, u.headers} {
		for _, r := range refs {
			switch {
			case r.parent == "source":
				u.need |= needSource
			case r.parent == "transaction":
				u.need |= needTransaction
			case r.field == "op":
				u.need |= needOp
			default: // ts_ms, ts_us, ts_ns, or a parent without members: read to the end
				u.need |= needAll
			}
		}
	}
	u.srcVals = make([][]byte, len(u.srcFields))
	u.srcKeys = [][]byte{}
	for _, f := range u.srcFields {
		if strings.ContainsAny(f, "\"\\") {
			u.srcKeys = nil // parseEncoded matches keys as written: not with escapes
			break
		}
		u.srcKeys = append(u.srcKeys, []byte(`"`+f+`":`))
	}
	u.srcHint = make([]int, len(u.srcKeys))
	if len(u.srcFields) > 0 {
		visit := func(k, v []byte) bool { // false once every field is read: the rest is skipped
			for i, f := range u.srcFields {
				if string(k) == f && u.srcVals[i] == nil {
					u.srcVals[i] = v
					u.srcFound++
				}
			}
			return u.srcFound < len(u.srcFields)
		}
		u.inner = func(key []byte) func(k, v []byte) bool {
			if string(key) == "source" {
				return visit
			}
			return nil
		}
	}
	// replace.null.with.default: the encoder already wrote defaults as the converter would.
	o.ignored("replace.null.with.default")
	return u, nil
}

// change is the parts of a change envelope's payload the transforms read.
type change struct {
	before, after, source, op, transaction, ts []byte
	tsUs, tsNs                                 []byte
	ok                                         bool // has op, source and after: a change envelope
}

// changeNeed says which members after before and after parseChange must read; it stops
// once it has them (and before and after).
type changeNeed uint8

const (
	needSource changeNeed = 1 << iota
	needTransaction
	needOp
	needTs  // ts_ms, ts_us and ts_ns
	needAll = needSource | needTransaction | needOp | needTs
)

// parseChange reads the members of a change payload; with need 0 it stops once before and
// after are read (all that unwrap needs without add.fields and add.headers), so the source
// block is not scanned, and ok is set from after alone. Otherwise it reads on until it has
// what need names; op and source are always read then, for ok. inner (may be nil) is
// eachMemberAt's: it reads nested blocks in the same pass.
func parseChange(p []byte, need changeNeed, inner func(key []byte) func(k, v []byte) bool) (change, error) {
	var c change
	var hasAfter, hasBefore bool
	full := need != 0
	need |= needSource | needOp
	var found changeNeed
	_, err := eachMemberAt(p, skipSpace(p, 0), func(k, v []byte) bool {
		switch string(k) {
		case "before":
			c.before, hasBefore = v, true
		case "after":
			c.after, hasAfter = v, true
			if !full && hasBefore {
				return false
			}
		case "source":
			c.source = v
			found |= needSource
		case "op":
			c.op = v
			found |= needOp
		case "transaction":
			c.transaction = v
			found |= needTransaction
		case "ts_ms":
			c.ts = v
			found |= needTs
		case "ts_us":
			c.tsUs = v
		case "ts_ns":
			c.tsNs = v
		}
		// The encoder writes ts_us and ts_ns right after ts_ms: read to the end for them.
		return !full || need&needTs != 0 || found&need != need || !hasBefore || !hasAfter
	}, inner, false)
	c.ok = err == nil && hasAfter && (!full && hasBefore || c.op != nil && c.source != nil)
	return c, err
}

// value returns the value of r in c: nil when absent (the parent struct lacks the field),
// "null" when the parent is null. Source fields come from srcVals (parseChange's inner).
func (r fieldRef) value(c *change, srcVals [][]byte) ([]byte, bool) {
	var parent []byte
	switch r.parent {
	case "":
		switch r.field {
		case "op":
			return c.op, c.op != nil
		case "ts_ms":
			return c.ts, c.ts != nil
		case "ts_us":
			return c.tsUs, c.tsUs != nil
		case "ts_ns":
			return c.tsNs, c.tsNs != nil
		}
		return nil, false
	case "source":
		if isNull(c.source) {
			return []byte("null"), true
		}
		v := srcVals[r.src]
		return v, v != nil
	case "transaction":
		parent = c.transaction
		if parent == nil {
			return nil, false
		}
	default:
		return nil, false
	}
	if isNull(parent) {
		return []byte("null"), true
	}
	v, err := get(parent, r.field)
	return v, err == nil && v != nil
}

// unwrapSchemas caches the output schemas of one topic's envelope schema.
type unwrapSchemas struct {
	envelope  []byte // a copy of the input envelope schema
	isEnv     bool   // its name ends with .Envelope
	upsert    []byte // schema of create/update/read values
	deleted   []byte // schema of rewritten deletes
	tombstone []byte // schema of a delete in tombstone mode (the after field's)
	added     [][]byte
}

// splitKnown splits a value written with schema known, without scanning the schema.
func splitKnown(v, known []byte) (split, bool) {
	const pre, mid = `{"schema":`, `,"payload":`
	n := len(pre) + len(known)
	if known == nil || len(v) <= n+len(mid) || v[len(v)-1] != '}' || string(v[:len(pre)]) != pre ||
		!bytes.Equal(v[len(pre):n], known) || string(v[n:n+len(mid)]) != mid {
		return split{}, false
	}
	return split{schema: v[len(pre):n], payload: v[n+len(mid) : len(v)-1]}, true
}

func (u *unwrap) schemas(topic string, s []byte) (*unwrapSchemas, error) {
	if e := u.cache[topic]; e != nil && bytes.Equal(e.envelope, s) {
		return e, nil
	}
	e := &unwrapSchemas{envelope: bytes.Clone(s)}
	e.isEnv = strings.HasSuffix(schemaNameOf(s), ".Envelope")
	if !e.isEnv {
		u.cache[topic] = e
		return e, nil
	}
	after, err := schemaFieldOf(s, "after")
	if err != nil || after == nil {
		return nil, fmt.Errorf("envelope schema without an after field")
	}
	before, err := schemaFieldOf(s, "before")
	if err != nil || before == nil {
		before = after
	}
	if e.tombstone, err = asField(after, ""); err != nil {
		return nil, err
	}
	deletedField := []byte(`{"type":"string","optional":true,"field":"__deleted"}`)
	for _, r := range u.fields {
		src := s
		if r.parent != "" {
			if src, err = schemaFieldOf(s, r.parent); err != nil {
				return nil, err
			}
		}
		var f []byte
		if src != nil {
			if f, err = schemaFieldOf(src, r.field); err != nil {
				return nil, err
			}
		}
		if f == nil {
			e.added = append(e.added, nil) // not in the schema: not added (as Debezium)
			continue
		}
		f, err = editSchema(f, map[string][]byte{"optional": []byte("true"), "default": nil, "field": quoted(r.out)})
		if err != nil {
			return nil, err
		}
		e.added = append(e.added, f)
	}
	build := func(row []byte, deleted bool) ([]byte, error) {
		fields, err := schemaFields(row)
		if err != nil {
			return nil, err
		}
		if deleted || u.rewrite {
			fields = append(fields, deletedField)
		}
		for _, f := range e.added {
			if f != nil {
				fields = append(fields, f)
			}
		}
		out, err := structWithFields(row, fields)
		if err != nil {
			return nil, err
		}
		return editSchema(out, map[string][]byte{"optional": []byte("false"), "default": nil, "field": nil})
	}
	if e.upsert, err = build(after, false); err != nil {
		return nil, err
	}
	if e.deleted, err = build(before, true); err != nil {
		return nil, err
	}
	if len(u.cache) > 4096 {
		clear(u.cache)
	}
	u.cache[topic] = e
	return e, nil
}

func (u *unwrap) Apply(dst []envelope.Record, r envelope.Record, a *Arena) ([]envelope.Record, error) {
	if r.Value == nil {
		for _, h := range u.headers {
			if h.parent == "" && h.field == "op" {
				r.Headers = a.withHeaders(r.Headers, envelope.Header{Key: h.out, Value: []byte("d")})
			}
		}
		if u.keepTombs {
			return append(dst, r), nil
		}
		return dst, nil
	}
	var (
		sp  split
		sch *unwrapSchemas
		err error
	)
	if u.env.SchemasEnable {
		var ok bool
		if e := u.cache[r.Topic]; e != nil {
			sp, ok = splitKnown(r.Value, e.envelope)
			sch = e
		}
		if !ok {
			if sp, err = splitRecord(r.Value, true); err != nil {
				return dst, err
			}
			if sch, err = u.schemas(r.Topic, sp.schema); err != nil {
				return dst, err
			}
		}
		if !sch.isEnv {
			return append(dst, r), nil
		}
	} else {
		sp.payload = r.Value
	}
	// Without schemas, a payload is a change envelope when it has before, after, source and op.
	// The encoder writes before first only in change envelopes (heartbeat, transaction,
	// schema-change and message values start otherwise), so a payload that starts so needs no
	// scan of its source block unless a field of it is wanted.
	need := u.need
	if need == 0 && sch == nil && !bytes.HasPrefix(sp.payload, []byte(`{"before":`)) {
		need = needAll
	}
	clear(u.srcVals)
	u.srcFound = 0
	c, fast := u.parseEncoded(sp.payload, need, r.Compact)
	if !fast {
		if c, err = parseChange(sp.payload, need, u.inner); err != nil { // (fills srcVals)
			return dst, fmt.Errorf("read the change envelope: %w", err)
		}
	}
	if !c.ok {
		return append(dst, r), nil // not a change envelope
	}
	if len(u.headers) > 0 {
		start := len(a.hdrs)
		a.hdrs = append(a.hdrs, r.Headers...)
		for _, h := range u.headers {
			if v, ok := h.value(&c, u.srcVals); ok {
				a.hdrs = append(a.hdrs, envelope.Header{Key: h.out, Value: headerText(v)})
			}
		}
		r.Headers = a.hdrs[start:len(a.hdrs):len(a.hdrs)]
	}
	var (
		row     []byte
		schema  []byte
		deleted string
	)
	if isNull(c.after) {
		if isNull(c.before) {
			return dst, nil // truncate
		}
		switch u.deleteMode {
		case "drop":
			return dst, nil
		case "delete-to-tombstone":
			r.Value = nil
			if err := u.route(&r, c.before); err != nil {
				return dst, err
			}
			return append(dst, r), nil
		case "tombstone":
			start := len(a.buf)
			if sch != nil {
				a.buf = appendWithSchema(a.buf, sch.tombstone, []byte("null"))
			} else {
				a.buf = append(a.buf, "null"...)
			}
			r.Value = a.since(start)
			if err := u.route(&r, c.before); err != nil {
				return dst, err
			}
			return append(dst, r), nil
		}
		row, deleted = c.before, "true"
		if sch != nil {
			schema = sch.deleted
		}
		if err := u.route(&r, c.before); err != nil {
			return dst, err
		}
	} else {
		row = c.after
		if u.rewrite {
			deleted = "false"
		}
		if sch != nil {
			schema = sch.upsert
		}
		if err := u.route(&r, c.after); err != nil {
			return dst, err
		}
	}
	if len(row) < 2 || row[0] != '{' || row[len(row)-1] != '}' {
		return dst, fmt.Errorf("the row is %.40s…, not a JSON object", row)
	}
	start := len(a.buf)
	if schema != nil {
		a.buf = append(a.buf, `{"schema":`...)
		a.buf = append(a.buf, schema...)
		a.buf = append(a.buf, `,"payload":`...)
	}
	if deleted == "" && len(u.fields) == 0 {
		a.buf = append(a.buf, row...)
	} else {
		a.buf = append(a.buf, row[:len(row)-1]...) // without its closing brace
		sep := len(row) > 2
		if deleted != "" {
			if sep {
				a.buf = append(a.buf, ',')
			}
			a.buf = append(a.buf, `"__deleted":"`...)
			a.buf = append(a.buf, deleted...)
			a.buf = append(a.buf, '"')
			sep = true
		}
		for i, f := range u.fields {
			if sch != nil && sch.added[i] == nil {
				continue
			}
			v, ok := f.value(&c, u.srcVals)
			if !ok {
				if sch == nil {
					continue // schemaless: absent from the envelope, so not added
				}
				v = []byte("null")
			}
			if sep {
				a.buf = append(a.buf, ',')
			}
			a.buf = append(a.buf, f.key...)
			a.buf = append(a.buf, v...)
			sep = true
		}
		a.buf = append(a.buf, '}')
	}
	if schema != nil {
		a.buf = append(a.buf, '}')
	}
	r.Value = a.since(start)
	return append(dst, r), nil
}

// The members of a change payload in the order the encoder writes them.
const (
	encBefore      = `{"before":`
	encAfter       = `,"after":`
	encSource      = `,"source":`
	encTransaction = `,"transaction":`
	encOp          = `,"op":`
	// encNoTransaction is the transaction member of a record without transaction metadata.
	encNoTransaction = encTransaction + `null`
)

// parseEncoded is parseChange for a payload as the encoder writes it (compact, its members
// in the encoder's order, a flat source and transaction block, the ts_* numbers last). It
// skips before and after (rows may nest anything) but finds op and transaction from the end
// and the wanted source fields by their key ("table": can only be a key: a quote inside a
// string value is escaped), where parseChange reads the source block member by member. ok
// false: the payload is not so (or ts_* are wanted): parseChange must read it.
func (u *unwrap) parseEncoded(p []byte, need changeNeed, compact bool) (c change, ok bool) {
	if need == 0 || need&needTs != 0 || !compact || u.srcKeys == nil || !bytes.HasPrefix(p, []byte(encBefore)) {
		return c, false
	}
	i := len(encBefore)
	e, err := skipValue(p, i)
	if err != nil || !bytes.HasPrefix(p[e:], []byte(encAfter)) {
		return c, false
	}
	c.before, i = p[i:e], e+len(encAfter)
	if e, err = skipValue(p, i); err != nil || !bytes.HasPrefix(p[e:], []byte(encSource)) {
		return c, false
	}
	c.after = p[i:e]
	tail := p[e+len(encSource):]
	// op: the last "op" key; all after its value must be ts_* numbers up to the payload's end.
	o, oe := opAtEnd(tail)
	if o < 0 {
		if o = lastKey(tail, encOp); o < 0 {
			return c, false
		}
		if oe, err = skipValue(tail, o+len(encOp)); err != nil || !tsOnly(tail[oe:]) {
			return c, false
		}
	}
	c.op = tail[o+len(encOp) : oe]
	var t int
	if bytes.HasSuffix(tail[:o], []byte(encNoTransaction)) {
		t = o - len(encNoTransaction) // as lastKey and skipValue below find it, without the scan
	} else {
		if t = lastKey(tail[:o], encTransaction); t < 0 {
			return c, false
		}
		if te, err := skipValue(tail, t+len(encTransaction)); err != nil || te != o {
			return c, false
		}
	}
	c.transaction, c.source = tail[t+len(encTransaction):o], tail[:t]
	if isNull(c.source) {
		c.ok = true
		return c, true
	}
	if len(c.source) < 2 || c.source[0] != '{' || c.source[len(c.source)-1] != '}' {
		return c, false
	}
	for k, key := range u.srcKeys {
		// The encoder writes each source key once, at the same offset record after record
		// while the lengths before it stay (one connector, database and snapshot phase): try
		// where it was last time, search only when it is not there. An unescaped "name": in a
		// flat object is a key wherever it occurs, so a hit is the key keyIn would find.
		j := u.srcHint[k]
		if !keyAt(c.source, key, j) {
			if j = keyIn(c.source, key); j < 0 {
				continue
			}
			u.srcHint[k] = j
		}
		e, err := skipValue(c.source, j+len(key))
		if err != nil {
			return c, false
		}
		u.srcVals[k] = c.source[j+len(key) : e]
	}
	c.ok = true
	return c, true
}

// lastKey returns the index of the last member key (a ,"name": pattern whose quote is not
// escaped) in b, or -1. The keys it looks for sit near the end: a plain backward scan.
func lastKey(b []byte, key string) int {
	for j := len(b) - len(key); j >= 0; j-- {
		if b[j] == ',' && string(b[j:j+len(key)]) == key && !escaped(b, j+1) {
			return j
		}
	}
	return -1
}

// opAtEnd returns where ,"op": starts in the tail of a payload and where its value ends, for
// the shape the encoder writes: a one-character op, then only ts_* numbers up to the closing
// brace. It reads backward over those few bytes (the positions lastKey and tsOnly would find
// for it); o is -1 when the tail is not so, and they must look.
func opAtEnd(b []byte) (o, oe int) {
	j := len(b) - 1
	if j < 0 || b[j] != '}' {
		return -1, 0
	}
	for {
		n := j
		for n > 0 && (b[n-1] >= '0' && b[n-1] <= '9' || b[n-1] == '-') {
			n--
		}
		if n == j {
			break // not a number: the op value ends here
		}
		// ,"ts_??": before the number, as tsOnly reads it.
		if n < 9 || b[n-9] != ',' || string(b[n-8:n-4]) != `"ts_` || b[n-2] != '"' || b[n-1] != ':' {
			return -1, 0
		}
		j = n - 9
	}
	// "X" with X neither a quote nor a backslash (skipValue would read those otherwise).
	if j < len(encOp)+3 || b[j-1] != '"' || b[j-3] != '"' || b[j-2] == '"' || b[j-2] == '\\' ||
		string(b[j-3-len(encOp):j-3]) != encOp {
		return -1, 0
	}
	return j - 3 - len(encOp), j
}

// keyAt reports whether the key ("name": with its quotes and colon) starts at obj[j], its
// opening quote not escaped.
func keyAt(obj, key []byte, j int) bool {
	return j > 0 && j+len(key) <= len(obj) && string(obj[j:j+len(key)]) == string(key) && !escaped(obj, j)
}

// tsOnly reports whether b is the end of a payload after op: ,"ts_ms":N and the like, then }.
func tsOnly(b []byte) bool {
	for len(b) > 1 && b[0] == ',' {
		if len(b) < 9 || string(b[1:5]) != `"ts_` || b[7] != '"' || b[8] != ':' {
			return false
		}
		b = b[9:]
		n := 0
		for n < len(b) && (b[n] >= '0' && b[n] <= '9' || b[n] == '-') {
			n++
		}
		if n == 0 {
			return false
		}
		b = b[n:]
	}
	return len(b) == 1 && b[0] == '}'
}

// escaped reports whether the quote at b[i] is escaped: an odd run of backslashes before it.
func escaped(b []byte, i int) bool {
	n := 0
	for k := i - 1; k >= 0 && b[k] == '\\'; k-- {
		n++
	}
	return n%2 == 1
}

// keyIn returns the index of key ("name": with its quotes and colon) in the flat object obj,
// or -1: the first occurrence whose opening quote is not escaped.
func keyIn(obj, key []byte) int {
	// Searched without the opening quote, which is the most common byte.
	for off := 1; ; {
		j := bytes.Index(obj[off:], key[1:])
		if j < 0 {
			return -1
		}
		if j += off - 1; obj[j] == '"' && !escaped(obj, j) {
			return j
		}
		off = j + 2
	}
}

// route sets r's topic to the string value of route.by.field in row, if set and not blank.
func (u *unwrap) route(r *envelope.Record, row []byte) error {
	if u.routeByField == "" {
		return nil
	}
	v, err := get(row, u.routeByField)
	if err != nil {
		return err
	}
	if v == nil {
		return fmt.Errorf("route.by.field: the row has no field %q", u.routeByField)
	}
	if isNull(v) {
		return nil
	}
	s, ok := unquote(v)
	if !ok {
		return fmt.Errorf("route.by.field: field %q is %s, not a string", u.routeByField, v)
	}
	if strings.TrimSpace(s) != "" {
		r.Topic = s
	}
	return nil
}
