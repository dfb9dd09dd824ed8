package clickhouse

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
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
