package clickhouse

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/shopspring/decimal"
	"github.com/sluicecdc/sluice/capture"
)

// colBuf holds one column of a pending batch as a typed slice, so that an insert appends whole
// columns (batch.Column(i).Append(slice)) instead of reflecting over rows.
type colBuf interface {
	// appendRaw converts one JSON value and appends it; nil or null appends NULL (the zero value
	// in a non-Nullable column, an empty array in an Array column).
	appendRaw(raw []byte) error
	// appendCopy appends a copy of row i.
	appendCopy(i int)
	len() int
	truncate(n int)
	// data returns rows [lo, hi) as the slice handed to the driver ([]T, or []*T for a
	// Nullable column).
	data(lo, hi int) any
	// setString replaces row i of a String column; false if the column is not a String.
	setString(i int, s string) bool
	// value returns row i as its Go value (nil for NULL).
	value(i int) any
}

type buf[T any] struct {
	conv     func(raw []byte) (T, error)
	vals     []T
	nulls    []bool
	nullable bool
}

func (b *buf[T]) appendRaw(raw []byte) error {
	var zero T
	if raw == nil || isNull(raw) {
		b.vals = append(b.vals, zero)
		if b.nullable {
			b.nulls = append(b.nulls, true)
		}
		return nil
	}
	v, err := b.conv(raw)
	if err != nil {
		return err
	}
	b.vals = append(b.vals, v)
	if b.nullable {
		b.nulls = append(b.nulls, false)
	}
	return nil
}

func (b *buf[T]) appendCopy(i int) {
	b.vals = append(b.vals, b.vals[i])
	if b.nullable {
		b.nulls = append(b.nulls, b.nulls[i])
	}
}

func (b *buf[T]) len() int { return len(b.vals) }

func (b *buf[T]) truncate(n int) {
	clear(b.vals[n:]) // a reused batch (Sink.recycle) must not keep old strings and slices alive
	b.vals = b.vals[:n]
	if b.nullable {
		b.nulls = b.nulls[:n]
	}
}

func (b *buf[T]) data(lo, hi int) any {
	if !b.nullable {
		return b.vals[lo:hi:hi]
	}
	p := make([]*T, hi-lo)
	for i := lo; i < hi; i++ {
		if !b.nulls[i] {
			p[i-lo] = &b.vals[i]
		}
	}
	return p
}

func (b *buf[T]) value(i int) any {
	if b.nullable && b.nulls[i] {
		return nil
	}
	return b.vals[i]
}

func (b *buf[T]) setString(i int, s string) bool {
	p, ok := any(&b.vals[i]).(*string)
	if !ok {
		return false
	}
	*p = s
	if b.nullable {
		b.nulls[i] = false
	}
	return true
}

// codec knows how one ClickHouse base type is written from JSON.
type codec struct {
	base   string // ClickHouse type as DESCRIBE prints it, e.g. "Decimal(12, 2)"
	newBuf func(nullable bool) colBuf
	newArr func(itemsNullable bool) colBuf
	// toastable: the unchanged-TOAST placeholder may appear in this column's values.
	str bool
}

func mkCodec[T any](base string, conv func([]byte) (T, error)) codec {
	return codec{
		base:   base,
		newBuf: func(n bool) colBuf { return &buf[T]{conv: conv, nullable: n} },
		newArr: func(itemsNullable bool) colBuf {
			if itemsNullable {
				return &buf[[]*T]{conv: func(raw []byte) ([]*T, error) {
					out := []*T{}
					err := eachElem(raw, func(v []byte) error {
						if isNull(v) {
							out = append(out, nil)
							return nil
						}
						x, err := conv(v)
						if err != nil {
							return err
						}
						out = append(out, &x)
						return nil
					})
					return out, err
				}}
			}
			return &buf[[]T]{conv: func(raw []byte) ([]T, error) {
				out := []T{}
				err := eachElem(raw, func(v []byte) error {
					var x T
					if !isNull(v) {
						var err error
						if x, err = conv(v); err != nil {
							return err
						}
					}
					out = append(out, x)
					return nil
				})
				return out, err
			}}
		},
	}
}

// column is one target column: its name, its codec and how the codec is wrapped.
type column struct {
	name          string
	codec         codec
	nullable      bool
	array         bool
	itemsNullable bool
	def           []byte // the Connect schema's default (JSON), nil without one
}

// defaultSQL is the column's default as a ClickHouse expression, false when it has none or
// none the sink can write. An ADD COLUMN carries it so that the rows written before the column
// existed read what the source reads for them (MySQL ADD COLUMN … DEFAULT, PostgreSQL the same
// since 11): the source sends no row events for them.
func (c column) defaultSQL() (string, bool) {
	if c.def == nil || isNull(c.def) || c.array || isPlaceholder(c.def) {
		return "", false
	}
	b := c.codec.newBuf(false)
	if err := b.appendRaw(c.def); err != nil {
		return "", false
	}
	var lit string
	switch v := reflect.ValueOf(b.data(0, 1)).Index(0).Interface().(type) {
	case string:
		return quoteString(v), true
	case int8, int16, int32, int64, uint8, uint16, uint32, uint64:
		lit = fmt.Sprint(v)
	case float32:
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return "", false
		}
		lit = strconv.FormatFloat(float64(v), 'g', -1, 32)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "", false
		}
		lit = strconv.FormatFloat(v, 'g', -1, 64)
	case decimal.Decimal:
		lit = v.String()
	case time.Time:
		lit = v.UTC().Format("2006-01-02 15:04:05.999999999")
		if strings.HasPrefix(c.codec.base, "Date") && !strings.HasPrefix(c.codec.base, "DateTime") {
			lit = v.UTC().Format("2006-01-02")
		}
	default:
		return "", false
	}
	return "CAST(" + quoteString(lit) + " AS " + c.codec.base + ")", true
}

// chType is the full ClickHouse type, as DESCRIBE prints it.
func (c column) chType() string {
	switch {
	case c.array && c.itemsNullable:
		return "Array(Nullable(" + c.codec.base + "))"
	case c.array:
		return "Array(" + c.codec.base + ")"
	case c.nullable:
		return "Nullable(" + c.codec.base + ")"
	}
	return c.codec.base
}

func (c column) newBuf() colBuf {
	if c.array {
		return c.codec.newArr(c.itemsNullable)
	}
	return c.codec.newBuf(c.nullable)
}

// quoteIdent quotes a ClickHouse identifier with backquotes.
func quoteIdent(s string) string {
	return "`" + strings.NewReplacer("\\", "\\\\", "`", "\\`").Replace(s) + "`"
}

// quoteString renders a ClickHouse string literal.
// keyLiteral is raw, the JSON of a key member, as a literal of the column's type for the
// unchanged-TOAST lookup (lookupToast): in an IN set the server converts it to the column's
// type, in an array CAST to the column's type the same, so keys compare as values, not as
// text. A number is written as one, a Decimal, a Date, a DateTime64 and a String as quoted
// text, a DateTime as its epoch seconds (its text would be read in the server's time zone).
func (c column) keyLiteral(raw []byte) (string, error) {
	if c.array || raw == nil || isNull(raw) {
		return "", fmt.Errorf("key value %.40s: want a scalar", raw)
	}
	b := c.codec.newBuf(false)
	if err := b.appendRaw(raw); err != nil {
		return "", err
	}
	switch v := b.value(0).(type) {
	case string:
		return quoteString(v), nil
	case decimal.Decimal:
		return quoteString(v.String()), nil
	case time.Time:
		v = v.UTC()
		switch base := c.codec.base; {
		case base == "Date" || base == "Date32":
			return quoteString(v.Format("2006-01-02")), nil
		case strings.HasPrefix(base, "DateTime64("):
			if !strings.Contains(base, "'UTC'") {
				// Its text would be read in the server's time zone, and could name another key.
				return "", fmt.Errorf("%w: unchanged-TOAST lookup by a %s key (no time zone): ALTER the column to DateTime64(P, 'UTC')", ErrUnsupportedType, base)
			}
			return quoteString(v.Format("2006-01-02 15:04:05.999999999")), nil
		}
		return strconv.FormatInt(v.Unix(), 10), nil
	case int8, int16, int32, int64, uint8, uint16, uint32, uint64:
		return fmt.Sprint(v), nil
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32), nil
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	}
	return "", fmt.Errorf("%w: unchanged-TOAST lookup by a key of type %s", ErrUnsupportedType, c.chType())
}

func quoteString(s string) string {
	return "'" + strings.NewReplacer("\\", "\\\\", "'", "\\'").Replace(s) + "'"
}

// splitType unwraps Nullable(...) and Array(...) from a DESCRIBE type.
func splitType(t string) (base string, nullable, array, itemsNullable bool, err error) {
	t = strings.TrimSpace(t)
	if in, ok := unwrap(t, "Array"); ok {
		if in2, ok := unwrap(in, "Nullable"); ok {
			return in2, false, true, true, nil
		}
		if strings.HasPrefix(in, "Array(") {
			return "", false, false, false, fmt.Errorf("nested arrays (%s) are not supported", t)
		}
		return in, false, true, false, nil
	}
	if in, ok := unwrap(t, "Nullable"); ok {
		return in, true, false, false, nil
	}
	if in, ok := unwrap(t, "LowCardinality"); ok {
		if in2, ok := unwrap(in, "Nullable"); ok {
			return in2, true, false, false, nil
		}
		return in, false, false, false, nil
	}
	return t, false, false, false, nil
}

func unwrap(t, fn string) (string, bool) {
	if strings.HasPrefix(t, fn+"(") && strings.HasSuffix(t, ")") {
		return t[len(fn)+1 : len(t)-1], true
	}
	return "", false
}

// strBuf is a String column whose values are stored back to back in one byte slice, with each
// row's span: a value costs no allocation of its own and the batch holds no pointer per row
// for the collector to scan (buf[string] allocated every value; with the spans, the bench's
// parse spent ~10% less CPU and a batch row takes ~30 bytes less). The values are handed to
// the driver as strings aliasing the bytes, which the driver copies into its block.
type strBuf struct {
	bytes    []byte
	spans    []span
	nulls    []bool
	nullable bool
	out      []string  // data's scratch: the strings of one block
	outp     []*string // data's scratch for a Nullable column
}

// span is a value's place in strBuf.bytes. 32-bit offsets: a batch holds far less than 4 GiB
// (--batch-bytes), and appendRaw refuses to grow past it.
type span struct{ lo, hi uint32 }

func (b *strBuf) appendRaw(raw []byte) error {
	n := len(b.bytes)
	if raw != nil && !isNull(raw) {
		var err error
		if b.bytes, err = appendJSONText(b.bytes, raw); err != nil {
			b.bytes = b.bytes[:n]
			return err
		}
		if len(b.bytes) > math.MaxUint32 {
			b.bytes = b.bytes[:n]
			return fmt.Errorf("batch of String values over 4 GiB (lower --batch-bytes)")
		}
	}
	b.spans = append(b.spans, span{uint32(n), uint32(len(b.bytes))})
	if b.nullable {
		b.nulls = append(b.nulls, raw == nil || isNull(raw))
	}
	return nil
}

func (b *strBuf) appendCopy(i int) {
	b.spans = append(b.spans, b.spans[i])
	if b.nullable {
		b.nulls = append(b.nulls, b.nulls[i])
	}
}

func (b *strBuf) len() int { return len(b.spans) }

// truncate drops rows from n on. Their bytes stay until the batch is emptied: a copied row
// (appendCopy) may point before them, so the end of the kept rows is not the end of the bytes.
func (b *strBuf) truncate(n int) {
	b.spans = b.spans[:n]
	if b.nullable {
		b.nulls = b.nulls[:n]
	}
	if n == 0 {
		b.bytes = b.bytes[:0]
	}
}

func (b *strBuf) str(i int) string {
	sp := b.spans[i]
	if sp.hi == sp.lo {
		return ""
	}
	return unsafe.String(&b.bytes[sp.lo], int(sp.hi-sp.lo))
}

// data returns rows [lo, hi) as strings that alias the buffer: valid until the next data
// call or a change of the buffer (the driver copies them when they are appended).
func (b *strBuf) data(lo, hi int) any {
	b.out = b.out[:0]
	for i := lo; i < hi; i++ {
		b.out = append(b.out, b.str(i))
	}
	if !b.nullable {
		return b.out[:len(b.out):len(b.out)]
	}
	b.outp = b.outp[:0]
	for i := lo; i < hi; i++ {
		var p *string
		if !b.nulls[i] {
			p = &b.out[i-lo]
		}
		b.outp = append(b.outp, p)
	}
	return b.outp[:len(b.outp):len(b.outp)]
}

func (b *strBuf) value(i int) any {
	if b.nullable && b.nulls[i] {
		return nil
	}
	return strings.Clone(b.str(i))
}

func (b *strBuf) setString(i int, s string) bool {
	n := len(b.bytes)
	b.bytes = append(b.bytes, s...)
	b.spans[i] = span{uint32(n), uint32(len(b.bytes))}
	if b.nullable {
		b.nulls[i] = false
	}
	return true
}

// appendJSONText appends what convString makes of raw: a JSON string's text, or any other
// JSON value as it is. Usual text (ASCII with simple or \u escapes) is unescaped in place,
// copying the runs between escapes whole; anything else takes jsonString's path.
func appendJSONText(dst, raw []byte) ([]byte, error) {
	if raw[0] != '"' {
		return append(dst, raw...), nil
	}
	if len(raw) < 2 || raw[len(raw)-1] != '"' {
		_, err := jsonString(raw)
		return dst, err
	}
	inner := raw[1 : len(raw)-1]
	for _, c := range inner {
		if c < 0x20 || c >= utf8.RuneSelf {
			s, err := jsonString(raw)
			return append(dst, s...), err
		}
	}
	n := len(dst)
	for len(inner) > 0 {
		k := bytes.IndexByte(inner, '\\')
		if k < 0 {
			return append(dst, inner...), nil
		}
		dst = append(dst, inner[:k]...)
		inner = inner[k:]
		e := 2 // a backslash and one byte; \uXXXX is 6, a surrogate pair 12
		if len(inner) >= 2 && inner[1] == 'u' {
			e = 6
			if len(inner) >= 12 && highSurrogate(inner[2:6]) && inner[6] == '\\' && inner[7] == 'u' {
				e = 12 // decoded together: the pair is one character
			}
		}
		e = min(e, len(inner))
		var ok bool
		if dst, ok = capture.AppendUnescapedJSON(dst, inner[:e]); !ok {
			s, err := jsonString(raw)
			return append(dst[:n], s...), err
		}
		inner = inner[e:]
	}
	return dst, nil
}

// highSurrogate reports whether the four hex digits of a \u escape are D800–DBFF.
func highSurrogate(h []byte) bool {
	c := h[1] | 0x20
	return h[0]|0x20 == 'd' && (c == '8' || c == '9' || c == 'a' || c == 'b')
}
