package clickhouse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluicecdc/sluice/envelope"
)

// change is one parsed Debezium change record. Slices alias the record's bytes.
type change struct {
	op     byte
	before []byte // raw row objects; nil when null
	after  []byte
	// beforeF and afterF are the members of before and after, read in the same pass as the
	// payload (nil when not an object); they alias the cache's scratch, valid until the next
	// parseChange.
	beforeF, afterF []rawField
	key             []byte // key payload object; nil when null
	oldKey          []byte // a create's __debezium.oldkey header (a primary-key change); nil without
	moved           bool   // a delete with a __debezium.newkey header: the old key of a primary-key change
	schema          *envSchema
	db              string
	schema_         string
	table           string
	tsMs            int64
	version         uint64
	// rowAt tells a streamed row from every other row of its version: for MySQL/MariaDB the
	// binlog file, event position and row index (1<<63 set), for PostgreSQL the LSN and the
	// __sluice.lsn_event header (pgPlace); 0: no such place (snapshot rows, PostgreSQL records
	// without the header). See table.rowID.
	rowAt uint64
	// firstRead: a snapshot read marked the first of its table (source.snapshot "first" or
	// "first_in_data_collection"): a snapshot of the table begins (see table.readRowID);
	// lastRead: marked the last of its table ("last_in_data_collection" or "last").
	firstRead, lastRead bool
	lsn                 uint64 // source.lsn (PostgreSQL)
	hasPos              bool
	rowBytes            int // JSON size of the row images and key: what the batch holds of the record
}

// envSchema is what the sink needs from a record's JSON schemas: the row struct and the key
// column names. Cached by the schema bytes.
type envSchema struct {
	row  *connectSchema // nil when the record carries no schema
	keys []string
	cols []column // row columns mapped for this server generation
	err  error    // a column type the sink cannot map

	keySchema   []byte
	valueSchema []byte
}

// maxSchemas bounds the schema cache: distinct record schemas (one per table and schema
// version), about 3 kB of JSON each plus the parsed form. A variable for tests.
var maxSchemas = 10000

// rawField is one member of a JSON object: the raw key (no quotes) and value.
type rawField struct{ k, v []byte }

type schemaCache struct {
	modern bool
	rows   [2][]rawField // scratch of parseChange: the members of before and after
	m      map[string]*envSchema
	last   *envSchema // the schema of the newest record: the next one most likely repeats it
	names  [3]string  // source db, schema, table of the newest record, reused while they repeat
}

// sourceName decodes a source db/schema/table string, returning the cached copy in *last when the
// bytes are the same (no allocation per record for the usual repeat).
func sourceName(v []byte, last *string) (string, error) {
	if len(v) >= 2 && v[0] == '"' && string(v[1:len(v)-1]) == *last && bytes.IndexByte(v, '\\') < 0 {
		return *last, nil
	}
	s, err := strOrEmpty(v)
	if err == nil {
		*last = s
	}
	return s, err
}

func (c *schemaCache) get(keySchema, valueSchema []byte) (*envSchema, error) {
	// Looked up by the value schema without allocating (m[string(b)] does not copy); the key
	// schema is compared on a hit.
	if e, ok := c.m[string(valueSchema)]; ok && string(e.keySchema) == string(keySchema) {
		c.last = e
		return e, nil
	}
	id := string(valueSchema)
	if len(c.m) >= maxSchemas {
		// Evict one schema, any (map order), rather than start over: with more tables than
		// the cache holds, starting over made every record a miss. A table keeps the schemas
		// it binds (table.binds), so an evicted one read again finds its binding (bind).
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	e := &envSchema{keySchema: append([]byte(nil), keySchema...), valueSchema: []byte(id)}
	var env connectSchema
	if err := json.Unmarshal(valueSchema, &env); err != nil {
		return nil, fmt.Errorf("value schema: %w", err)
	}
	row := env.field("after")
	if row == nil {
		row = env.field("before")
	}
	if row == nil || row.Type != "struct" {
		return nil, fmt.Errorf("value schema has no before/after struct (not a Debezium envelope)")
	}
	e.row = row
	for i := range row.Fields {
		col, err := connectColumn(&row.Fields[i], c.modern)
		if err != nil {
			e.err = err
			break
		}
		e.cols = append(e.cols, col)
	}
	if len(keySchema) > 0 && !isNull(keySchema) {
		var ks connectSchema
		if err := json.Unmarshal(keySchema, &ks); err != nil {
			return nil, fmt.Errorf("key schema: %w", err)
		}
		for _, f := range ks.Fields {
			e.keys = append(e.keys, f.Field)
		}
	}
	c.m[id] = e
	c.last = e
	return e, nil
}

// splitKnown is splitConnect's fast path for a JsonConverter record whose schema is byte for
// byte the given one (the records of a topic repeat their schema, ~3 kB for a Debezium
// envelope): it compares the schema instead of scanning it. A complete JSON value that is a
// prefix of the bytes after "schema": ends where it ends, so the payload starts right after
// it. The caller checks that the payload is exactly one JSON object (parseChange does, with
// eachFieldEnd).
func splitKnown(b, schema []byte) (payload []byte, ok bool) {
	const pre, mid = `{"schema":`, `,"payload":`
	n := len(pre) + len(schema)
	if len(schema) == 0 || len(b) < n+len(mid)+1 || string(b[:len(pre)]) != pre ||
		string(b[len(pre):n]) != string(schema) || string(b[n:n+len(mid)]) != mid {
		return nil, false
	}
	p := b[n+len(mid):]
	e := len(p)
	for e > 0 && isSpace(p[e-1]) {
		e--
	}
	if e == 0 || p[e-1] != '}' {
		return nil, false
	}
	return p[:e-1], true
}

// splitConnect splits a JsonConverter value into schema and payload; without schemas the
// whole value is the payload.
func splitConnect(b []byte) (schema, payload []byte, err error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, b, nil
	}
	// Only a JsonConverter envelope starts with "schema" or "payload"; a record without
	// schemas starts with a member of its own ("before", "id"): it is not walked twice.
	if j := skipSpace(b, i+1); j < len(b) && b[j] == '"' {
		if ke, err := skipString(b, j); err == nil {
			if k := b[j+1 : ke-1]; string(k) != "schema" && string(k) != "payload" {
				return nil, b, nil
			}
		}
	}
	var sch, pay []byte
	other := false
	err = eachField(b, func(k, v []byte) error {
		switch string(k) {
		case "schema":
			sch = v
		case "payload":
			pay = v
		default:
			other = true
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if other || pay == nil {
		return nil, b, nil
	}
	return sch, pay, nil
}

// parseChange reads a Debezium record. ok is false for records that are not change events
// (tombstones, heartbeats, schema-change and transaction topics).
func parseChange(cache *schemaCache, key, value []byte) (ch change, ok bool, err error) {
	if value == nil || isNull(value) {
		return ch, false, nil // tombstone
	}
	var vs, vp, ks, kp []byte
	var known *envSchema // the record repeats the schema of the previous one
	fast := false
	if e := cache.last; e != nil {
		if p, ok := splitKnown(value, e.valueSchema); ok {
			vs, vp, known, fast = e.valueSchema, p, e, true
		}
	}
	if !fast {
		if vs, vp, err = splitConnect(value); err != nil {
			return ch, false, fmt.Errorf("value: %w", err)
		}
	}
	if key != nil {
		if known != nil {
			if p, ok := splitKnown(key, known.keySchema); ok {
				ks, kp = known.keySchema, p
			}
		}
		if kp == nil {
			if ks, kp, err = splitConnect(key); err != nil {
				return ch, false, fmt.Errorf("key: %w", err)
			}
			if known != nil && string(ks) != string(known.keySchema) {
				known = nil
			}
		}
		if isNull(kp) {
			kp = nil
		}
	} else if known != nil && len(known.keySchema) > 0 {
		known = nil // cached with a key schema: look it up as a record without key
	}
	ch.key = kp
	var op, source []byte
	var src sourceFields
	end, err := eachMember(vp, func(k []byte, vs int) (int, error) {
		switch string(k) {
		case "before", "after":
			// The row objects are split into their members here, in the one pass over the
			// payload, instead of skipped now and scanned again by appendRow.
			slot := 0
			if k[0] == 'a' {
				slot = 1
			}
			var fs []rawField
			var ve int
			if vp[vs] == '{' {
				fs = cache.rows[slot][:0]
				n, err := eachFieldEnd(vp[vs:], func(fk, fv []byte) error {
					fs = append(fs, rawField{fk, fv})
					return nil
				})
				cache.rows[slot] = fs
				if err != nil {
					return 0, err
				}
				ve = vs + n
			} else {
				var err error
				if ve, err = skipValue(vp, vs); err != nil {
					return 0, err
				}
			}
			raw := vp[vs:ve]
			if isNull(raw) {
				raw = nil
			}
			if slot == 0 {
				ch.before, ch.beforeF = raw, fs
			} else {
				ch.after, ch.afterF = raw, fs
			}
			return ve, nil
		}
		if string(k) == "source" && vp[vs] == '{' {
			// Its members are picked in the same pass, for readSource.
			src = sourceFields{}
			n, err := eachFieldEnd(vp[vs:], func(fk, fv []byte) error {
				src.set(fk, fv)
				return nil
			})
			if err != nil {
				return 0, err
			}
			source, src.read = vp[vs:vs+n], true
			return vs + n, nil
		}
		ve, err := skipValue(vp, vs)
		if err != nil {
			return 0, err
		}
		switch string(k) {
		case "op":
			op = vp[vs:ve]
		case "source":
			source, src.read = vp[vs:ve], false
		}
		return ve, nil
	})
	if fast && (err != nil || skipSpace(vp, end) != len(vp)) {
		// The fast split's payload is not exactly one object (say, the record has more
		// members after "payload"): read it the slow way.
		cache.last = nil
		return parseChange(cache, key, value)
	}
	if err != nil {
		return ch, false, fmt.Errorf("value payload: %w", err)
	}
	if len(op) != 3 || op[0] != '"' || source == nil {
		return ch, false, nil
	}
	ch.op = op[1]
	switch ch.op {
	case 'c', 'r', 'u', 'd', 't':
	default:
		return ch, false, nil // 'm' (logical messages) and unknown ops carry no rows
	}
	if known != nil {
		ch.schema = known
	} else if vs != nil && !isNull(vs) {
		if ch.schema, err = cache.get(ks, vs); err != nil {
			return ch, false, err
		}
	}
	if err := ch.readSource(cache, source, &src); err != nil {
		return ch, false, err
	}
	ch.rowBytes = len(ch.before) + len(ch.after) + len(ch.key)
	return ch, true, nil
}

// readSource takes the table identity and the position from the source block and packs the
// position into the row version, which must grow with commit order for every key: across
// restarts, failovers and from a snapshot to the stream that follows it (docs/clickhouse.md,
// "Versions", has the argument).
//   - PostgreSQL: max(source.lsn, source.sequence[0]). sequence[0] is the previous commit in
//     the stream, so a transaction that began long ago (its changes have LSNs below other
//     transactions' commits, and below the snapshot's consistent point) still gets versions
//     above every transaction committed before it. A key's next change is written after the
//     commit of its previous one (row locks), so its LSN alone already exceeds that version.
//   - MariaDB: 1<<63 | the GTID's sequence number, which the domain continues across a
//     failover to another server with other binlog coordinates.
//   - MySQL, streamed: 1<<62 | source.ts_us, the transaction's original commit timestamp
//     (MySQL 8.0.1+ writes it into every GTID and anonymous GTID event; a replica keeps the
//     source's), so versions follow commit order across a GTID failover and RESET BINARY
//     LOGS AND GTIDS, where binlog coordinates start again lower. ts_ms*1000 when a record has
//     no ts_us (Debezium < 2.6).
//   - Snapshot rows (op r) of MySQL and MariaDB, and binlog records with neither: fileIndex<<32
//     | (pos + row), where fileIndex is the binlog file's numeric suffix, pos the rows event's
//     offset and row the row's index in the event. pos+row stays below the next event's
//     offset (every row takes at least one byte of its event), so later changes in one binlog
//     get larger versions; with fileIndex < 2^30 these stay below 2^62, hence below every
//     streamed MySQL or MariaDB version and every version the older scheme wrote.
//
// Snapshot reads (op r) get version-1: a snapshot row carries the position streaming resumes
// from, and the first streamed change of the same row must win over it. Changes of one
// transaction may share a version; then the one inserted last, the later one, wins.
//
// f holds src's members when parseChange picked them already (f.read; otherwise readSource
// reads src).
func (ch *change) readSource(cache *schemaCache, src []byte, f *sourceFields) error {
	if !f.read {
		*f = sourceFields{}
		if err := eachField(src, func(k, v []byte) error { f.set(k, v); return nil }); err != nil {
			return fmt.Errorf("source: %w", err)
		}
	}
	lsn, seq, gtid, file, pos, row, tsUs, conn := f.lsn, f.seq, f.gtid, f.file, f.pos, f.row, f.tsUs, f.conn
	var err error
	if f.db != nil {
		ch.db, err = sourceName(f.db, &cache.names[0])
	}
	if err == nil && f.schema != nil {
		ch.schema_, err = sourceName(f.schema, &cache.names[1])
	}
	if err == nil && f.table != nil {
		ch.table, err = sourceName(f.table, &cache.names[2])
	}
	if err == nil && f.tsMs != nil && !isNull(f.tsMs) {
		ch.tsMs, err = jsonInt(f.tsMs)
	}
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	switch {
	case lsn != nil && !isNull(lsn):
		v, err := jsonInt(lsn)
		if err != nil || v < 0 {
			return fmt.Errorf("source.lsn %s: not a non-negative integer", lsn)
		}
		ch.version = uint64(v)
		ch.lsn = uint64(v)
		ch.hasPos = true
		if seq != nil && !isNull(seq) {
			last, err := lastCommitLSN(seq)
			if err != nil {
				return err
			}
			ch.version = max(ch.version, last)
		}
	case gtid != nil && mariaSeq(gtid) != 0:
		ch.version = 1<<63 | mariaSeq(gtid)
		ch.hasPos = true
		if ch.op != 'r' {
			ch.rowAt = rowAt(file, pos, row)
		}
	case file != nil && !isNull(file) && pos != nil && ch.op != 'r' && string(conn) != `"mariadb"`:
		ts := ch.tsMs * 1000
		if tsUs != nil && !isNull(tsUs) {
			v, err := jsonInt(tsUs)
			if err != nil {
				return fmt.Errorf("source.ts_us %s: not an integer", tsUs)
			}
			ts = v
		}
		if ts <= 0 || ts >= 1<<62 {
			return fmt.Errorf("source.ts_us %d: not a commit timestamp in microseconds since 1970 (MySQL streamed changes are versioned by it)", ts)
		}
		ch.version = 1<<62 | uint64(ts)
		ch.hasPos = true
		ch.rowAt = rowAt(file, pos, row)
	case file != nil && !isNull(file) && pos != nil:
		f, err := jsonString(file)
		if err != nil {
			return fmt.Errorf("source.file: %w", err)
		}
		idx, err := binlogIndex(f)
		if err != nil {
			return err
		}
		p, err := jsonInt(pos)
		if err != nil || p < 0 {
			return fmt.Errorf("source.pos %s: not a non-negative integer", pos)
		}
		var r int64
		if row != nil && !isNull(row) {
			if r, err = jsonInt(row); err != nil || r < 0 {
				return fmt.Errorf("source.row %s: not a non-negative integer", row)
			}
		}
		if p+r >= 1<<32 || idx >= 1<<30 {
			return fmt.Errorf("binlog position %s:%d+%d does not fit the version layout (file index < 2^30, position < 4 GiB)", f, p, r)
		}
		ch.version = idx<<32 | uint64(p+r)
		ch.hasPos = true
	}
	if ch.hasPos && ch.op == 'r' && ch.version > 0 {
		ch.version--
	}
	if ch.op == 'r' {
		ch.firstRead = string(f.snap) == `"first"` || string(f.snap) == `"first_in_data_collection"`
		ch.lastRead = string(f.snap) == `"last"` || string(f.snap) == `"last_in_data_collection"`
	}
	return nil
}

// pgPlace is change.rowAt of a PostgreSQL row: its LSN and its ordinal among the events at that
// LSN (the __sluice.lsn_event header). WAL records lie at least 24 bytes apart, so lsn·2^16 +
// ordinal is one number per change while ordinals stay below 24·2^16 (a multi-insert record
// holds at most one heap page of rows) and LSNs below 2^47 (128 TiB of WAL).
func pgPlace(lsn, ordinal uint64) uint64 { return lsn<<16 + ordinal }

// lsnEvent is the ordinal a __sluice.lsn_event header holds; 0 without one (or unreadable:
// then the row is counted as before the header existed).
func lsnEvent(hs []envelope.Header) uint64 {
	for _, h := range hs {
		if h.Key == envelope.HeaderLSNEvent {
			n, err := strconv.ParseUint(string(h.Value), 10, 32)
			if err != nil {
				return 0
			}
			return n
		}
	}
	return 0
}

// rowAt is change.rowAt of a binlog row: pos·2^16 + row is one number per row of a binlog file
// (an event spans more bytes than it has rows), the file's index on top; 0 when the source
// block lacks them.
func rowAt(file, pos, row []byte) uint64 {
	if file == nil || pos == nil || isNull(file) || isNull(pos) {
		return 0
	}
	f, err := jsonString(file)
	if err != nil {
		return 0
	}
	idx, err := binlogIndex(f)
	p, perr := jsonInt(pos)
	if err != nil || perr != nil || p < 0 {
		return 0
	}
	var r int64
	if row != nil && !isNull(row) {
		if r, err = jsonInt(row); err != nil || r < 0 {
			return 0
		}
	}
	return 1<<63 | (idx&0x7fff)<<48 ^ (uint64(p)<<16 + uint64(r))
}

// sourceFields are the members of a source block readSource uses (raw values, nil when absent;
// the last of a repeated member wins). Picked while the payload is scanned, they need no
// second walk over the block's members (Debezium writes 12–17 of them per record).
type sourceFields struct {
	db, schema, table, tsMs, lsn, seq, gtid, file, pos, row, tsUs, conn, snap []byte

	read bool // filled from the source object
}

func (f *sourceFields) set(k, v []byte) {
	switch string(k) {
	case "db":
		f.db = v
	case "schema":
		f.schema = v
	case "table":
		f.table = v
	case "ts_ms":
		f.tsMs = v
	case "lsn":
		f.lsn = v
	case "sequence":
		f.seq = v
	case "gtid":
		f.gtid = v
	case "file":
		f.file = v
	case "pos":
		f.pos = v
	case "row":
		f.row = v
	case "ts_us":
		f.tsUs = v
	case "connector":
		f.conn = v
	case "snapshot":
		f.snap = v
	}
}

// lastCommitLSN reads sequence[0] of a PostgreSQL source block: a JSON string holding a JSON
// array of two decimal strings or nulls (`"[\"24023119\",\"24023128\"]"`); null is 0. Bare
// numbers are accepted too. It reads the raw bytes without unescaping (every record has one).
func lastCommitLSN(seq []byte) (uint64, error) {
	bad := func() error {
		return fmt.Errorf("source.sequence %s: want [\"<last commit LSN>\",\"<LSN>\"]", seq)
	}
	if len(seq) < 2 || seq[0] != '"' || seq[len(seq)-1] != '"' {
		return 0, bad()
	}
	b := seq[1 : len(seq)-1]
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return 0, bad()
	}
	i = skipSpace(b, i+1)
	if strings.HasPrefix(string(b[i:]), "null") {
		return 0, nil
	}
	if strings.HasPrefix(string(b[i:]), `\"`) {
		i += 2
	}
	start := i
	var v uint64
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		d := uint64(b[i] - '0')
		if v > (1<<64-1-d)/10 {
			return 0, bad()
		}
		v = v*10 + d
	}
	if i == start || i == len(b) || (b[i] != '\\' && b[i] != ',' && b[i] != ']' && !isSpace(b[i])) {
		return 0, bad()
	}
	return v, nil
}

// mariaSeq is the sequence number of a MariaDB GTID ("domain-server-seq", a JSON string), or
// 0 when gtid is not one (a MySQL "uuid:n" GTID). Sequence numbers start at 1.
func mariaSeq(gtid []byte) uint64 {
	if len(gtid) < 2 || gtid[0] != '"' || gtid[len(gtid)-1] != '"' {
		return 0
	}
	var part, digits int
	var seq uint64
	for _, c := range gtid[1 : len(gtid)-1] {
		switch {
		case c == '-' && digits > 0 && part < 2:
			part, digits, seq = part+1, 0, 0
		case c >= '0' && c <= '9':
			if seq > (1<<63-1)/10 {
				return 0
			}
			seq = seq*10 + uint64(c-'0')
			digits++
		default:
			return 0
		}
	}
	if part != 2 || digits == 0 {
		return 0
	}
	return seq
}

// binlogIndex is the numeric suffix of a binlog file name ("mysql-bin.000003" → 3).
func binlogIndex(f string) (uint64, error) {
	i := strings.LastIndexByte(f, '.')
	var n uint64
	if i < 0 || i == len(f)-1 {
		return 0, fmt.Errorf("binlog file name %q has no numeric suffix", f)
	}
	for _, c := range f[i+1:] {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("binlog file name %q has no numeric suffix", f)
		}
		n = n*10 + uint64(c-'0')
		if n >= 1<<32 {
			return 0, fmt.Errorf("binlog file index of %q too large", f)
		}
	}
	return n, nil
}

func strOrEmpty(v []byte) (string, error) {
	if isNull(v) {
		return "", nil
	}
	return jsonString(v)
}

// keyNames lists the fields of a key payload object (records without schemas).
func keyNames(kp []byte) ([]string, error) {
	var out []string
	err := eachField(kp, func(k, _ []byte) error {
		out = append(out, string(k))
		return nil
	})
	return out, err
}
