package clickhouse

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// connectSchema is a Kafka Connect JSON schema (JsonConverter, schemas.enable=true).
type connectSchema struct {
	Type       string            `json:"type"`
	Fields     []connectSchema   `json:"fields"`
	Items      *connectSchema    `json:"items"`
	Optional   bool              `json:"optional"`
	Name       string            `json:"name"`
	Parameters map[string]string `json:"parameters"`
	Field      string            `json:"field"`
	// Default is the column's default as a payload carries it: ADD COLUMN gives it to the
	// rows written before the column existed.
	Default json.RawMessage `json:"default"`
}

func (s *connectSchema) field(name string) *connectSchema {
	for i := range s.Fields {
		if s.Fields[i].Field == name {
			return &s.Fields[i]
		}
	}
	return nil
}

// Placeholder is Debezium's default unavailable.value.placeholder (unchanged TOAST).
const Placeholder = "__debezium_unavailable_value"

var (
	placeholderJSON    = `"` + Placeholder + `"`
	placeholderB64JSON = `"` + base64.StdEncoding.EncodeToString([]byte(Placeholder)) + `"`
	placeholderArrJSON = `["` + Placeholder + `"]`
)

// isPlaceholder reports whether raw is the unchanged-TOAST placeholder in one of its shapes.
func isPlaceholder(raw []byte) bool {
	if len(raw) < len(placeholderJSON) {
		return false
	}
	// string(raw) in each comparison does not allocate; assigned to a variable it would
	return string(raw) == placeholderJSON || string(raw) == placeholderB64JSON || string(raw) == placeholderArrJSON
}

// Converters from JSON values (JsonConverter payload encoding) to driver values.

func convInt[T int8 | int16 | int32 | int64](lo, hi int64) func([]byte) (T, error) {
	return func(raw []byte) (T, error) {
		if len(raw) > 0 && (raw[0] == 't' || raw[0] == 'f') { // booleans into integer columns
			if string(raw) == "true" {
				return 1, nil
			}
			if string(raw) == "false" {
				return 0, nil
			}
		}
		v, err := jsonInt(raw)
		if err != nil {
			return 0, err
		}
		if v < lo || v > hi {
			return 0, fmt.Errorf("integer %d out of range [%d, %d]", v, lo, hi)
		}
		return T(v), nil
	}
}

func convUint8(raw []byte) (uint8, error) {
	switch string(raw) {
	case "true":
		return 1, nil
	case "false":
		return 0, nil
	}
	v, err := jsonInt(raw)
	if err != nil {
		return 0, err
	}
	if v < 0 || v > 255 {
		return 0, fmt.Errorf("integer %d out of range for UInt8", v)
	}
	return uint8(v), nil
}

func convUint[T uint16 | uint32 | uint64](raw []byte) (T, error) {
	v, err := strconv.ParseUint(string(raw), 10, 64)
	if err != nil {
		return 0, err
	}
	if T(v) != 0 && uint64(T(v)) != v {
		return 0, fmt.Errorf("integer %d out of range", v)
	}
	return T(v), nil
}

// convScaledInt multiplies (mul > 0) or divides (div > 0) an integer: units to microseconds.
func convScaledInt(mul, div int64) func([]byte) (int64, error) {
	return func(raw []byte) (int64, error) {
		v, err := jsonInt(raw)
		if err != nil {
			return 0, err
		}
		if mul > 1 {
			if v > math.MaxInt64/mul || v < math.MinInt64/mul {
				return 0, fmt.Errorf("time value %d overflows int64 microseconds", v)
			}
			v *= mul
		}
		if div > 1 {
			v = floorDiv(v, div)
		}
		return v, nil
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

func convFloat[T float32 | float64](raw []byte) (T, error) {
	if raw[0] == '"' {
		switch string(raw) {
		case `"NaN"`:
			return T(math.NaN()), nil
		case `"Infinity"`:
			return T(math.Inf(1)), nil
		case `"-Infinity"`:
			return T(math.Inf(-1)), nil
		}
		return 0, fmt.Errorf("want a number, got %.40s", raw)
	}
	var zero T
	bits := 64
	if _, ok := any(zero).(float32); ok {
		bits = 32
	}
	f, err := strconv.ParseFloat(string(raw), bits)
	return T(f), err
}

// convString: a JSON string becomes its text; any other JSON value is kept as its JSON text
// (structs, maps and nested arrays stored in String columns).
func convString(raw []byte) (string, error) {
	if raw[0] == '"' {
		return jsonString(raw)
	}
	return string(raw), nil
}

// convBytes: Connect bytes are standard Base64 in JSON; the column holds the raw bytes.
func convBytes(raw []byte) (string, error) {
	if raw[0] != '"' {
		return "", fmt.Errorf("want a Base64 string, got %.40s", raw)
	}
	inner := raw[1 : len(raw)-1]
	out := make([]byte, base64.StdEncoding.DecodedLen(len(inner)))
	n, err := base64.StdEncoding.Decode(out, inner)
	if err != nil {
		return "", fmt.Errorf("bad Base64 bytes value: %w", err)
	}
	return string(out[:n]), nil
}

// unscaled decodes Base64 big-endian two's complement bytes (Connect Decimal).
func unscaled(raw []byte) (*big.Int, int64, bool, error) {
	s, err := convBytes(raw)
	if err != nil {
		return nil, 0, false, err
	}
	b := []byte(s)
	if len(b) == 0 {
		return nil, 0, true, nil
	}
	if len(b) <= 8 {
		var v int64
		if b[0]&0x80 != 0 {
			v = -1
		}
		for _, c := range b {
			v = v<<8 | int64(c)
		}
		return nil, v, true, nil
	}
	n := new(big.Int).SetBytes(b)
	if b[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(len(b)*8)))
	}
	return n, 0, false, nil
}

var pow10 = func() [19]int64 {
	var p [19]int64
	p[0] = 1
	for i := 1; i < 19; i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// convDecimal reads a Connect Decimal (Base64 unscaled, scale from the schema) or a JSON number
// / numeric string (decimal.format=NUMERIC, decimal.handling.mode=string), checking precision.
func convDecimal(prec, scale int) func([]byte) (decimal.Decimal, error) {
	limit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(prec)), nil)
	return func(raw []byte) (decimal.Decimal, error) {
		var d decimal.Decimal
		if raw[0] == '"' && !looksNumeric(raw[1:len(raw)-1]) {
			bi, v, small, err := unscaled(raw)
			if err != nil {
				return d, err
			}
			if small {
				if prec < 19 && (v >= pow10[prec] || v <= -pow10[prec]) {
					return d, fmt.Errorf("decimal unscaled %d exceeds precision %d", v, prec)
				}
				return decimal.New(v, int32(-scale)), nil
			}
			if new(big.Int).Abs(bi).Cmp(limit) >= 0 {
				return d, fmt.Errorf("decimal unscaled %s exceeds precision %d", bi, prec)
			}
			return decimal.NewFromBigInt(bi, int32(-scale)), nil
		}
		s := string(raw)
		if raw[0] == '"' {
			s = s[1 : len(s)-1]
		}
		d, err := decimal.NewFromString(s)
		if err != nil {
			return d, fmt.Errorf("bad decimal %.40q: %w", s, err)
		}
		d = d.Round(int32(scale))
		if d.Shift(int32(scale)).Truncate(0).BigInt().CmpAbs(limit) >= 0 {
			return d, fmt.Errorf("decimal %s exceeds Decimal(%d, %d)", s, prec, scale)
		}
		return d, nil
	}
}

// looksNumeric: a decimal string such as "-12.50" (decimal.handling.mode=string). A Base64 value
// of a Connect Decimal has no '.' unless it is padded; strings of digits only are read as Base64
// when a schema says bytes, which convDecimal's caller decides by the codec it picks.
func looksNumeric(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	dot := false
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
		case c == '-' && i == 0:
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return dot || b[0] == '-'
}

// convVarDecimal renders io.debezium.data.VariableScaleDecimal {scale, value} as plain text.
func convVarDecimal(raw []byte) (string, error) {
	if raw[0] == '"' { // decimal.handling.mode=string
		return jsonString(raw)
	}
	if raw[0] != '{' {
		return string(raw), nil // double mode: a JSON number
	}
	var scaleRaw, valueRaw []byte
	err := eachField(raw, func(k, v []byte) error {
		switch string(k) {
		case "scale":
			scaleRaw = v
		case "value":
			valueRaw = v
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sc, err := jsonInt(scaleRaw)
	if err != nil {
		return "", fmt.Errorf("VariableScaleDecimal scale: %w", err)
	}
	bi, v, small, err := unscaled(valueRaw)
	if err != nil {
		return "", err
	}
	if small {
		bi = big.NewInt(v)
	}
	return decimal.NewFromBigInt(bi, int32(-sc)).String(), nil
}

const (
	// dateMax16 is the last day a Date column of the pre-23.2 layout shows as itself:
	// 2106-02-07. The column is a UInt16 of days and holds up to 65535 (2149-06-06, the range
	// newer servers document), but 18.16 prints and computes later days as 1970-01-01, so a
	// date in 2106–2149 went in right and read back wrong.
	dateMax16 = 49710
	date32Min = -25567 // Date32: 1900-01-01
	date32Max = 120529 // Date32: 2299-12-31
	day       = int64(24 * 3600)
)

func convDate(modern bool) func([]byte) (time.Time, error) {
	lo, hi := int64(0), int64(dateMax16)
	if modern {
		lo, hi = date32Min, date32Max
	}
	return func(raw []byte) (time.Time, error) {
		var days int64
		if raw[0] == '"' { // IsoDate "2017-09-15Z" or "2017-09-15"
			s := strings.TrimSuffix(string(raw[1:len(raw)-1]), "Z")
			t, err := time.Parse("2006-01-02", s)
			if err != nil {
				return time.Time{}, err
			}
			days = floorDiv(t.Unix(), day)
		} else {
			v, err := jsonInt(raw)
			if err != nil {
				return time.Time{}, err
			}
			days = v
		}
		if days < lo || days > hi {
			return time.Time{}, fmt.Errorf("date %s is outside the ClickHouse date range of this server",
				time.Unix(days*day, 0).UTC().Format("2006-01-02"))
		}
		return time.Unix(days*day, 0).UTC(), nil
	}
}

// parseZoned parses io.debezium.time.ZonedTimestamp text ("2016-11-04T06:51:30.000000Z").
func parseZoned(raw []byte) (time.Time, error) {
	if us, ok := zonedMicrosUTC(raw); ok {
		return time.UnixMicro(us).UTC().Add(time.Duration(zonedSubMicro(raw))), nil
	}
	s, err := jsonString(raw)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad timestamp %q: %w", s, err)
	}
	return t.UTC(), nil
}

// PostgreSQL ±infinity as Debezium's MicroTimestamp writes it (and so the Int64 µs column of
// a timestamp without time zone holds it); a ZonedTimestamp writes the word.
const (
	pgInfinityMicros    = 9223372036825200000
	pgNegInfinityMicros = -9223372036832400000
)

func convZonedMicros(raw []byte) (int64, error) {
	if us, ok := zonedMicrosUTC(raw); ok {
		return us, nil
	}
	switch string(raw) {
	case `"infinity"`:
		return pgInfinityMicros, nil
	case `"-infinity"`:
		return pgNegInfinityMicros, nil
	}
	t, err := parseZoned(raw)
	if err != nil {
		return 0, err
	}
	return t.UnixMicro(), nil
}

// The instants the driver can write into a DateTime64 column: it sends every precision as
// t.UnixNano() / 10^(9-p), and UnixNano wraps outside these (a year-9999 MySQL DATETIME went
// in as a date in 1816; 0001-01-01, Go's zero time, as 1970-01-01).
var (
	minDateTime64 = time.Unix(0, math.MinInt64).UTC()
	maxDateTime64 = time.Unix(0, math.MaxInt64).UTC()
)

// convEpoch reads an integer epoch in units of 10^-digits seconds into a time.Time
// (DateTime64); a string is read as ISO-8601. A time the driver cannot write is an error,
// so the record is parked instead of stored with a wrong value.
func convEpoch(digits int) func([]byte) (time.Time, error) {
	return convEpochIn(digits, "DateTime64", minDateTime64, maxDateTime64)
}

// convEpochIn is convEpoch for a column of type typ that holds lo … hi.
func convEpochIn(digits int, typ string, lo, hi time.Time) func([]byte) (time.Time, error) {
	return func(raw []byte) (time.Time, error) {
		t, err := epoch(raw, digits)
		if err != nil {
			return t, err
		}
		if t.Before(lo) || t.After(hi) {
			return time.Time{}, fmt.Errorf("timestamp %s is outside what a %s column can be written with (%s … %s); "+
				"run with --clickhouse-legacy to store timestamps as Int64 microseconds, which hold it",
				t.Format(time.RFC3339Nano), typ, lo.Format("2006-01-02"), hi.Format("2006-01-02"))
		}
		return t, nil
	}
}

func epoch(raw []byte, digits int) (time.Time, error) {
	if string(raw) == `"infinity"` || string(raw) == `"-infinity"` {
		return time.Time{}, fmt.Errorf("timestamp %s cannot be held by a DateTime64 column; "+
			"run with --clickhouse-legacy to store timestamps as Int64 microseconds, which hold it", raw)
	}
	if raw[0] == '"' {
		return parseZoned(raw)
	}
	v, err := jsonInt(raw)
	if err != nil {
		return time.Time{}, err
	}
	switch digits {
	case 0:
		return time.Unix(v, 0).UTC(), nil
	case 3:
		return time.UnixMilli(v).UTC(), nil
	case 6:
		return time.UnixMicro(v).UTC(), nil
	}
	return time.Unix(0, v).UTC(), nil
}

var (
	codecInt8       = mkCodec("Int8", convInt[int8](math.MinInt8, math.MaxInt8))
	codecInt16      = mkCodec("Int16", convInt[int16](math.MinInt16, math.MaxInt16))
	codecInt32      = mkCodec("Int32", convInt[int32](math.MinInt32, math.MaxInt32))
	convInt64       = convInt[int64](math.MinInt64, math.MaxInt64)
	codecInt64      = mkCodec("Int64", convInt64)
	codecInt64Zoned = mkCodec("Int64", func(raw []byte) (int64, error) {
		if raw[0] == '"' {
			return convZonedMicros(raw)
		}
		return convInt64(raw)
	})
	codecUInt8   = mkCodec("UInt8", convUint8)
	codecUInt16  = mkCodec("UInt16", convUint[uint16])
	codecUInt32  = mkCodec("UInt32", convUint[uint32])
	codecUInt64  = mkCodec("UInt64", convUint[uint64])
	codecFloat32 = mkCodec("Float32", convFloat[float32])
	codecFloat64 = mkCodec("Float64", convFloat[float64])
	codecString  = withStr(spanned(mkCodec("String", convString)))
	codecBytes   = withStr(mkCodec("String", convBytes))
	codecVarDec  = mkCodec("String", convVarDecimal)
)

func withStr(c codec) codec { c.str = true; return c }

// spanned keeps a String codec's plain columns in a strBuf (appendJSONText is convString
// appending); arrays keep buf.
func spanned(c codec) codec {
	c.newBuf = func(n bool) colBuf { return &strBuf{nullable: n} }
	return c
}

func micros(mul, div int64) codec { return mkCodec("Int64", convScaledInt(mul, div)) }

func decimalCodec(prec, scale int) codec {
	return mkCodec(fmt.Sprintf("Decimal(%d, %d)", prec, scale), convDecimal(prec, scale))
}

// Debezium and Kafka Connect semantic type names.
const (
	nameDecimal        = "org.apache.kafka.connect.data.Decimal"
	nameConnectDate    = "org.apache.kafka.connect.data.Date"
	nameConnectTime    = "org.apache.kafka.connect.data.Time"
	nameConnectTs      = "org.apache.kafka.connect.data.Timestamp"
	nameDate           = "io.debezium.time.Date"
	nameTime           = "io.debezium.time.Time"
	nameMicroTime      = "io.debezium.time.MicroTime"
	nameNanoTime       = "io.debezium.time.NanoTime"
	nameTimestamp      = "io.debezium.time.Timestamp"
	nameMicroTimestamp = "io.debezium.time.MicroTimestamp"
	nameNanoTimestamp  = "io.debezium.time.NanoTimestamp"
	nameZonedTimestamp = "io.debezium.time.ZonedTimestamp"
	nameIsoDate        = "io.debezium.time.IsoDate"
	nameIsoTimestamp   = "io.debezium.time.IsoTimestamp"
	nameVarDecimal     = "io.debezium.data.VariableScaleDecimal"
)

// maxDecimalPrecision is the widest ClickHouse Decimal (Decimal128 on 18.16; wider decimals
// become String).
const maxDecimalPrecision = 38

// connectCodec maps one Connect field schema to a ClickHouse codec. modern selects the
// ≥ 23.2 types (Date32, DateTime64); otherwise the 18.16 fallbacks (Date, Int64 microseconds).
func connectCodec(s *connectSchema, modern bool) (codec, error) {
	switch s.Name {
	case nameDecimal:
		scale, err := strconv.Atoi(s.Parameters["scale"])
		if err != nil {
			return codec{}, fmt.Errorf("Decimal without a valid scale parameter %q", s.Parameters["scale"])
		}
		prec := maxDecimalPrecision
		if p, err := strconv.Atoi(s.Parameters["connect.decimal.precision"]); err == nil && p > 0 {
			prec = p
		}
		if prec < scale {
			prec = scale
		}
		if prec > maxDecimalPrecision {
			return mkCodec("String", func(raw []byte) (string, error) {
				bi, v, small, err := unscaled(raw)
				if err != nil {
					return "", err
				}
				if small {
					bi = big.NewInt(v)
				}
				return decimal.NewFromBigInt(bi, int32(-scale)).String(), nil
			}), nil
		}
		return decimalCodec(prec, scale), nil
	case nameVarDecimal:
		return codecVarDec, nil
	case nameDate, nameConnectDate, nameIsoDate:
		if modern {
			return mkCodec("Date32", convDate(true)), nil
		}
		return mkCodec("Date", convDate(false)), nil
	case nameTime, nameConnectTime:
		return micros(1000, 0), nil
	case nameMicroTime:
		return micros(0, 0), nil
	case nameNanoTime:
		return micros(0, 1000), nil
	case nameTimestamp, nameConnectTs:
		if modern {
			return mkCodec("DateTime64(3, 'UTC')", convEpoch(3)), nil
		}
		return micros(1000, 0), nil
	case nameMicroTimestamp:
		if modern {
			return mkCodec("DateTime64(6, 'UTC')", convEpoch(6)), nil
		}
		return micros(0, 0), nil
	case nameNanoTimestamp:
		if modern {
			return mkCodec("DateTime64(9, 'UTC')", convEpoch(9)), nil
		}
		return micros(0, 1000), nil
	case nameZonedTimestamp, nameIsoTimestamp:
		if modern {
			return mkCodec("DateTime64(6, 'UTC')", convEpoch(6)), nil
		}
		return mkCodec("Int64", convZonedMicros), nil
	}
	switch s.Type {
	case "int8":
		return codecInt8, nil
	case "int16":
		return codecInt16, nil
	case "int32":
		return codecInt32, nil
	case "int64":
		return codecInt64, nil
	case "float":
		return codecFloat32, nil
	case "double":
		return codecFloat64, nil
	case "boolean":
		return codecUInt8, nil
	case "string":
		return codecString, nil
	case "bytes":
		return codecBytes, nil
	case "struct", "map", "array":
		return codecString, nil // JSON text
	}
	return codec{}, fmt.Errorf("%w: Connect type %q (name %q)", ErrUnsupportedType, s.Type, s.Name)
}

// connectColumn maps a row field schema to a column (arrays of scalars become Array columns;
// Nullable where the field is optional; ClickHouse has no Nullable(Array)).
func connectColumn(s *connectSchema, modern bool) (column, error) {
	if s.Type == "array" && s.Items != nil && s.Items.Type != "array" && s.Items.Type != "struct" && s.Items.Type != "map" {
		c, err := connectCodec(s.Items, modern)
		if err != nil {
			return column{}, fmt.Errorf("column %s: %w", s.Field, err)
		}
		return column{name: s.Field, codec: c, array: true, itemsNullable: s.Items.Optional}, nil
	}
	c, err := connectCodec(s, modern)
	if err != nil {
		return column{}, fmt.Errorf("column %s: %w", s.Field, err)
	}
	return column{name: s.Field, codec: c, nullable: s.Optional, def: s.Default}, nil
}

// describedCodec maps a ClickHouse base type (from DESCRIBE) to a codec that reads the JSON the
// way the sink would have written it; used for records without schemas and for older records
// written into a widened column.
func describedCodec(base string) (codec, error) {
	switch base {
	case "Int8":
		return codecInt8, nil
	case "Int16":
		return codecInt16, nil
	case "Int32":
		return codecInt32, nil
	case "Int64":
		// The pre-23.2 layout stores timestamps as Int64 µs; a record without schemas carries a
		// zoned timestamp (io.debezium.time.ZonedTimestamp) as its ISO-8601 string.
		return codecInt64Zoned, nil
	case "UInt8", "Bool":
		if base == "Bool" {
			return codec{}, fmt.Errorf("%w: Bool columns", ErrUnsupportedType)
		}
		return codecUInt8, nil
	case "UInt16":
		return codecUInt16, nil
	case "UInt32":
		return codecUInt32, nil
	case "UInt64":
		return codecUInt64, nil
	case "Float32":
		return codecFloat32, nil
	case "Float64":
		return codecFloat64, nil
	case "String":
		return codecString, nil
	case "Date":
		return mkCodec("Date", convDate(false)), nil
	case "Date32":
		return mkCodec("Date32", convDate(true)), nil
	case "DateTime", "DateTime('UTC')":
		// the driver writes t.Unix() as a UInt32: other times wrapped
		return mkCodec(base, convEpochIn(3, "DateTime", time.Unix(0, 0).UTC(), time.Unix(math.MaxUint32, 0).UTC())), nil
	}
	if strings.HasPrefix(base, "Decimal(") {
		var p, s int
		if _, err := fmt.Sscanf(base, "Decimal(%d, %d)", &p, &s); err != nil {
			return codec{}, fmt.Errorf("%w: %s", ErrUnsupportedType, base)
		}
		return decimalCodec(p, s), nil
	}
	if strings.HasPrefix(base, "DateTime64(") {
		var p int
		if _, err := fmt.Sscanf(base, "DateTime64(%d", &p); err != nil {
			return codec{}, fmt.Errorf("%w: %s", ErrUnsupportedType, base)
		}
		c := mkCodec(base, convEpoch(p))
		return c, nil
	}
	return codec{}, fmt.Errorf("%w: ClickHouse column type %s", ErrUnsupportedType, base)
}

func describedColumn(name, typ string) (column, error) {
	base, nullable, array, itemsNullable, err := splitType(typ)
	if err != nil {
		return column{}, err
	}
	c, err := describedCodec(base)
	if err != nil {
		return column{}, fmt.Errorf("column %s: %w", name, err)
	}
	return column{name: name, codec: c, nullable: nullable, array: array, itemsNullable: itemsNullable}, nil
}

// widens reports whether a column of type from can be changed to type to without losing values
// (ALTER TABLE … MODIFY COLUMN), and whether values written for from fit in to.
func widens(from, to string) bool {
	if from == to {
		return true
	}
	fb, fn, fa, fin, err1 := splitType(from)
	tb, tn, ta, tin, err2 := splitType(to)
	if err1 != nil || err2 != nil || fa != ta {
		return false
	}
	if (fn && !tn) || (fin && !tin) {
		return false
	}
	if fb == tb {
		return true
	}
	rank := map[string]int{"Int8": 1, "Int16": 2, "Int32": 3, "Int64": 4}
	if rank[fb] > 0 && rank[tb] > 0 {
		return rank[fb] < rank[tb]
	}
	frank := map[string]int{"Float32": 1, "Float64": 2}
	if frank[fb] > 0 && frank[tb] > 0 {
		return frank[fb] < frank[tb]
	}
	var p1, s1, p2, s2 int
	if _, err := fmt.Sscanf(fb, "Decimal(%d, %d)", &p1, &s1); err == nil {
		if _, err := fmt.Sscanf(tb, "Decimal(%d, %d)", &p2, &s2); err == nil {
			return s2 >= s1 && p2-s2 >= p1-s1
		}
	}
	if strings.HasPrefix(fb, "Decimal(") && tb == "String" {
		return false
	}
	return false
}

// zonedMicrosUTC is the fast path of parseZoned for the form every PostgreSQL timestamptz
// takes in a ZonedTimestamp, "YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z" (a JSON string without escapes):
// microseconds since 1970, floored as time.Time.UnixMicro does. It reads the bytes in place
// (time.Parse needed the text as a string: one allocation and ~180 ns of CPU per value). ok
// is false for anything else, valid or not, which time.Parse then reads (and rejects with its
// error).
func zonedMicrosUTC(raw []byte) (us int64, ok bool) {
	n := len(raw)
	if n < 22 || raw[0] != '"' || raw[n-1] != '"' || raw[n-2] != 'Z' {
		return 0, false
	}
	b := raw[1 : n-2] // without the quotes and the Z
	if b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	num := func(s []byte) (int, bool) {
		v := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok1 := num(b[0:4])
	month, ok2 := num(b[5:7])
	day, ok3 := num(b[8:10])
	hour, ok4 := num(b[11:13])
	minute, ok5 := num(b[14:16])
	sec, ok6 := num(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	var frac int64
	if f := b[19:]; len(f) > 0 {
		if f[0] != '.' || len(f) < 2 || len(f) > 10 {
			return 0, false
		}
		v, ok := num(f[1:])
		if !ok {
			return 0, false
		}
		frac = int64(v) * pow10[10-len(f)] // nanoseconds
	}
	days := daysFromCivil(year, month, day)
	return (days*86400+int64(hour*3600+minute*60+sec))*1e6 + frac/1000, true
}

// zonedSubMicro is the nanoseconds below the microsecond of a value zonedMicrosUTC accepted.
func zonedSubMicro(raw []byte) int64 {
	f := raw[20 : len(raw)-2] // ".fffffffff" or empty
	if len(f) < 8 {
		return 0
	}
	var v int64
	for _, c := range f[7:] {
		v = v*10 + int64(c-'0')
	}
	return v * pow10[10-len(f)]
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is the number of days from 1970-01-01 to the given proleptic Gregorian date
// (the well-known era arithmetic: 400-year eras of 146097 days, years starting in March).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400 // y >= -1: no floor correction needed for 4-digit years
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
