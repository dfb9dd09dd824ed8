package envelope

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

// Compat selects which Debezium release's bytes the encoder reproduces (spec §0).
type Compat uint8

const (
	// CompatAuto derives the level from Config.ConnectorVersion (2.6 → Compat26, 2.7–3.0 →
	// Compat27, 3.1–3.4 → Compat31, 3.5 and later → Compat35).
	CompatAuto Compat = iota
	// Compat26 is Debezium 2.6: envelope fields before, after, source, op, ts_ms, ts_us, ts_ns,
	// transaction; source schema without version, snapshot allowed = true,last,false,incremental.
	Compat26
	// Compat27 is Debezium 2.7–3.0: transaction right after source; source schema as Compat26.
	Compat27
	// Compat31 is Debezium 3.1–3.4: source struct "version":1 and the seven snapshot markers.
	Compat31
	// Compat35 is Debezium 3.5+: PostgreSQL source gains origin and origin_lsn.
	Compat35
)

// maxKeptBuffer is the largest record buffer kept between Encode calls.
const maxKeptBuffer = 16 << 20

// DefaultConnectorVersion is written as source.version when Config.ConnectorVersion is empty.
const DefaultConnectorVersion = "3.2.0.Final"

// Config configures an Encoder. Zero values mean Debezium's defaults except where noted.
type Config struct {
	// TopicPrefix is Debezium's topic.prefix (required).
	TopicPrefix string
	// SchemasEnable is JsonConverter schemas.enable. The converter default is true; cmd passes it.
	SchemasEnable bool
	// Options are the type-mapping modes.
	Options Options
	// TombstonesOnDelete is tombstones.on.delete (Debezium default true; cmd passes it).
	TombstonesOnDelete bool
	// TransactionMetadata is provide.transaction.metadata.
	TransactionMetadata bool
	// NoSchemaChanges is include.schema.changes=false (MySQL/MariaDB; Debezium default true):
	// DDL goes into the schema history only, not onto the <topic.prefix> topic.
	NoSchemaChanges bool
	// ConnectorVersion is the source.version text; "" = DefaultConnectorVersion.
	ConnectorVersion string
	// Compat picks the Debezium release whose format to reproduce; CompatAuto derives it from
	// ConnectorVersion.
	Compat Compat
	// KeepNulls is JsonConverter replace.null.with.default=false: a null in an optional field is
	// written as null even when its schema has a default (source.snapshot then reads null in
	// streaming events). The default (false) replaces nulls with defaults, as Kafka Connect does.
	KeepNulls bool
	// Now is the processing clock for the envelope ts_ms/ts_us/ts_ns; nil = time.Now.
	Now func() time.Time
	// Columns are the column.* options and message.key.columns (columns.go).
	Columns ColumnOptions
}

// Validate reports every invalid field.
func (c *Config) Validate() error {
	var errs []error
	if c.TopicPrefix == "" {
		errs = append(errs, errors.New("topic prefix is empty: set --topic-prefix (Debezium topic.prefix)"))
	}
	if c.Compat > Compat35 {
		errs = append(errs, fmt.Errorf("compat level %d is unknown", c.Compat))
	}
	return errors.Join(errs...)
}

// compatFor maps a Debezium version text ("3.2.0.Final") to its Compat level.
func compatFor(version string) Compat {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return Compat31
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return Compat31
	}
	switch v := major*100 + minor; {
	case v <= 206:
		return Compat26
	case v <= 300:
		return Compat27
	case v <= 304:
		return Compat31
	}
	return Compat35
}

// connector indexes.
const (
	connMySQL = iota
	connMariaDB
	connPostgres
	numConn
)

var connNames = [numConn]string{"mysql", "mariadb", "postgresql"}

// srcConn holds a connector's source schema and the constant head of its source payload.
type srcConn struct {
	schema *Connect
	head   []byte // {"version":"…","connector":"…","name":"…","ts_ms":
}

// Encoder turns capture Events into Debezium records. It is not safe for concurrent use.
type Encoder struct {
	cfg       Config
	compat    Compat
	now       func() time.Time
	buf       []byte
	hdrs      []Header
	src       [numConn]srcConn
	tables    map[*schema.Table]*tableEnc
	lastTable *tableEnc // the last table() result
	byID      map[schema.TableID]*schema.Table
	txTopic   string
	hbTopic   string
	msgTop    string
	fixed     fixedSchemas
	tx        txState
	clock     monoClock
	heldNS    int64 // HoldClock's time; 0: read the clock per event
	lastNS    int64 // the processing time read while encoding the current event (Record.TsNS)
	srcCache  srcStrings
	binlogSrc binlogSrcCache
	pgSrc     pgSrcCache
	dates     dateCache
	secs      secCache
}

// monoClock is the default processing clock: the wall clock read once a second, advanced in
// between by the cheaper monotonic clock (time.Now costs ~3 monotonic reads on a VM).
type monoClock struct {
	base   time.Time
	baseNS int64
}

func (c *monoClock) nowNS() int64 {
	if c.base.IsZero() {
		c.base = time.Now()
		c.baseNS = c.base.UnixNano()
	}
	d := time.Since(c.base)
	if d < 0 || d >= time.Second {
		c.base = time.Now()
		c.baseNS = c.base.UnixNano()
		d = 0
	}
	return c.baseNS + int64(d)
}

// nowNS returns the processing time in ns since the epoch.
func (e *Encoder) nowNS() int64 {
	switch {
	case e.heldNS != 0:
		e.lastNS = e.heldNS
	case e.now != nil:
		e.lastNS = e.now().UnixNano()
	default:
		e.lastNS = e.clock.nowNS()
	}
	return e.lastNS
}

// HoldClock(true) reads the processing clock once and stamps every record encoded after it
// with that time (the envelope's ts_ms, ts_us and ts_ns) until HoldClock(false), which goes
// back to one clock read per event. The pipeline holds it while a worker encodes one batch of
// snapshot reads (encoded back to back, in well under a millisecond of CPU): on a VM the clock
// read was ~7% of encoding a snapshot row.
func (e *Encoder) HoldClock(hold bool) {
	e.heldNS = 0
	if hold {
		e.heldNS = e.nowNS()
	}
}

// NewEncoder checks cfg and returns an Encoder.
func NewEncoder(cfg Config) (*Encoder, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("envelope config: %w", err)
	}
	if cfg.ConnectorVersion == "" {
		cfg.ConnectorVersion = DefaultConnectorVersion
	}
	e := &Encoder{
		cfg:     cfg,
		compat:  cfg.Compat,
		now:     cfg.Now,
		tables:  make(map[*schema.Table]*tableEnc),
		byID:    make(map[schema.TableID]*schema.Table),
		txTopic: cfg.TopicPrefix + ".transaction",
		hbTopic: "__debezium-heartbeat." + cfg.TopicPrefix,
		msgTop:  cfg.TopicPrefix + ".message",
	}
	if e.compat == CompatAuto {
		e.compat = compatFor(cfg.ConnectorVersion)
	}
	for i := range e.src {
		e.src[i] = e.buildSource(i)
	}
	e.fixed = e.buildFixedSchemas()
	return e, nil
}

// Topic returns the data topic of a table: <prefix>.<db>.<table> (MySQL) or
// <prefix>.<schema>.<table> (PostgreSQL).
func (e *Encoder) Topic(id schema.TableID) string {
	if id.Schema != "" {
		return e.cfg.TopicPrefix + "." + id.Schema + "." + id.Table
	}
	return e.cfg.TopicPrefix + "." + id.DB + "." + id.Table
}

func (e *Encoder) connIndex(ev *capture.Event) (int, error) {
	switch ev.Source.Connector {
	case "mysql":
		return connMySQL, nil
	case "mariadb":
		return connMariaDB, nil
	case "postgresql":
		return connPostgres, nil
	case "":
		if ev.Table != nil && ev.Table.Dialect == schema.Postgres {
			return connPostgres, nil
		}
		if ev.Table != nil || ev.Kind == capture.SchemaChange {
			return connMySQL, nil
		}
	}
	return 0, fmt.Errorf("event source connector %q: want mysql, mariadb or postgresql", ev.Source.Connector)
}

// Encode appends ev's records to dst: c/u/r → one record; d → d and a tombstone (unless
// TombstonesOnDelete is off); an update that changes the primary key → d (header
// __debezium.newkey), tombstone, c (header __debezium.oldkey); t → one record with a null key;
// Begin/Commit → BEGIN/END records on <prefix>.transaction when TransactionMetadata; SchemaChange
// → one record on the <prefix> schema-change topic; Op m → a logical message record on
// <prefix>.message; Keepalive and SnapshotDone → nothing. The records' Key, Value and Headers
// alias the encoder's buffer and stay valid until the next Encode or Heartbeat call.
func (e *Encoder) Encode(dst []Record, ev *capture.Event) ([]Record, error) {
	if cap(e.buf) > maxKeptBuffer {
		e.buf = nil // one huge row must not pin its buffer for the life of the stream
	}
	e.buf = e.buf[:0]
	return e.encode(dst, ev)
}

// EncodeAppend is Encode with the records' bytes appended to buf instead of the encoder's own
// buffer; it returns buf grown and dst. The records' Key and Value alias buf's array (or, where
// buf grew during the call, the array it had before, which append leaves as it was), so they stay
// valid until the caller writes over buf's bytes; their Headers slices alias the encoder's and,
// as with Encode, stay valid only until the next call. On error buf is returned at its length on
// entry. A caller that keeps many events' records together (the pipeline's encode batches) saves
// copying each record out of the encoder's buffer.
func (e *Encoder) EncodeAppend(buf []byte, dst []Record, ev *capture.Event) ([]byte, []Record, error) {
	own, n := e.buf, len(buf)
	e.buf = buf
	dst, err := e.encode(dst, ev)
	buf, e.buf = e.buf, own
	if err != nil {
		buf = buf[:n]
	}
	return buf, dst, err
}

// encode appends ev's records to dst, their bytes to e.buf.
func (e *Encoder) encode(dst []Record, ev *capture.Event) ([]Record, error) {
	e.lastNS = 0
	n := len(dst)
	dst, err := e.encodeKind(dst, ev)
	if e.lastNS != 0 {
		for i := n; i < len(dst); i++ {
			dst[i].TsNS = e.lastNS
		}
	}
	return dst, err
}

// encodeKind is encode by the kind of ev.
func (e *Encoder) encodeKind(dst []Record, ev *capture.Event) ([]Record, error) {
	e.hdrs = e.hdrs[:0]
	switch ev.Kind {
	case capture.Change:
		if ev.Op == capture.OpMessage {
			return e.encodeMessage(dst, ev)
		}
		return e.encodeChange(dst, ev)
	case capture.Begin:
		return e.encodeBegin(dst, ev)
	case capture.Commit:
		return e.encodeCommit(dst, ev)
	case capture.SchemaChange:
		return e.encodeSchemaChange(dst, ev)
	}
	return dst, nil
}

// Heartbeat appends a heartbeat record (spec §5.3) on __debezium-heartbeat.<prefix>: key
// {"serverName":<prefix>}, value {"ts_ms":<now>}. It shares Encode's buffer contract.
func (e *Encoder) Heartbeat(dst []Record, now time.Time) []Record {
	e.buf = e.buf[:0]
	e.hdrs = e.hdrs[:0]
	k0 := len(e.buf)
	if e.cfg.SchemasEnable {
		e.buf = append(e.buf, `{"schema":`...)
		e.buf = append(e.buf, e.fixed.hbKey...)
		e.buf = append(e.buf, `,"payload":`...)
	}
	e.buf = append(e.buf, `{"serverName":`...)
	e.buf = AppendJSONString(e.buf, e.cfg.TopicPrefix)
	e.buf = append(e.buf, '}')
	if e.cfg.SchemasEnable {
		e.buf = append(e.buf, '}')
	}
	k1 := len(e.buf)
	if e.cfg.SchemasEnable {
		e.buf = append(e.buf, `{"schema":`...)
		e.buf = append(e.buf, e.fixed.hbValue...)
		e.buf = append(e.buf, `,"payload":`...)
	}
	e.buf = append(e.buf, `{"ts_ms":`...)
	e.buf = strconv.AppendInt(e.buf, now.UnixMilli(), 10)
	e.buf = append(e.buf, '}')
	if e.cfg.SchemasEnable {
		e.buf = append(e.buf, '}')
	}
	return append(dst, Record{Compact: true, Topic: e.hbTopic, Key: e.buf[k0:k1:k1], Value: e.buf[k1:len(e.buf):len(e.buf)]})
}

// digits3[n] is n (0–999) as three decimal digits.
var digits3 = func() (t [1000][3]byte) {
	for n := range t {
		t[n] = [3]byte{byte('0' + n/100), byte('0' + n/10%10), byte('0' + n%10)}
	}
	return
}()

// appendTsTriple appends "ts_ms":…,"ts_us":…,"ts_ns":… of a nanosecond instant. The three
// numbers share their leading digits: the seconds are formatted once per second (cached), the
// nine sub-second digits with a fixed width.
func (e *Encoder) appendTsTriple(dst []byte, ns int64) []byte {
	if ns < 1_000_000_000 {
		dst = append(dst, `"ts_ms":`...)
		dst = strconv.AppendInt(dst, FloorDiv(ns, 1_000_000), 10)
		dst = append(dst, `,"ts_us":`...)
		dst = strconv.AppendInt(dst, FloorDiv(ns, 1_000), 10)
		dst = append(dst, `,"ts_ns":`...)
		return strconv.AppendInt(dst, ns, 10)
	}
	c := &e.secs
	sec := ns / 1_000_000_000
	if c.n == 0 || c.sec != sec {
		c.sec = sec
		c.n = len(strconv.AppendInt(c.text[:0], sec, 10))
	}
	// Nine sub-second digits as three groups of three (milli, micro, nano), each from a table.
	f := uint32(ns % 1_000_000_000)
	ms, us, nn := digits3[f/1_000_000], digits3[f/1000%1000], digits3[f%1000]
	secs := c.text[:c.n]
	dst = append(dst, `"ts_ms":`...)
	dst = append(dst, secs...)
	dst = append(dst, ms[:]...)
	dst = append(dst, `,"ts_us":`...)
	dst = append(dst, secs...)
	dst = append(dst, ms[:]...)
	dst = append(dst, us[:]...)
	dst = append(dst, `,"ts_ns":`...)
	dst = append(dst, secs...)
	dst = append(dst, ms[:]...)
	dst = append(dst, us[:]...)
	return append(dst, nn[:]...)
}

// secCache holds the digits of the last whole second appendTsTriple formatted.
type secCache struct {
	sec  int64
	n    int
	text [20]byte
}
