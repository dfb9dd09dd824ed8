package capture

import (
	"math"
	"math/big"
)

// Kind is the type of a Value.
type Kind uint8

const (
	Null Kind = iota
	// Bool: Int is 0 or 1.
	Bool
	// Int: Int holds a signed integer.
	Int
	// Uint: Int holds the bits of an unsigned 64-bit integer (MySQL BIGINT UNSIGNED); read it
	// with Value.Uint.
	Uint
	// Float32 and Float64: Int holds math.Float64bits of the value (Float32 values are widened
	// exactly); read with Value.Float.
	Float32
	Float64
	// Decimal: exact number = unscaled × 10^-Aux. The unscaled integer is Int, or Big when it
	// does not fit in int64. Flag may say NaN or ±Infinity (PostgreSQL numeric).
	Decimal
	// String: UTF-8 text in Bytes (VARCHAR, TEXT, ENUM and SET text, UUID, INET, ranges, …).
	String
	// Bytes: raw bytes in Bytes (BLOB, BINARY, bytea).
	Bytes
	// JSON: JSON text in Bytes, exactly as the source renders it.
	JSON
	// Date: Int = days since 1970-01-01. Flag may say Zero (MySQL 0000-00-00) or ±Infinity.
	Date
	// Time: Int = microseconds since midnight (MySQL TIME may be negative or above 24 h);
	// Aux = fractional-second precision (0–6).
	Time
	// TimeTZ: Int = microseconds since midnight in the value's own zone; Aux = its UTC offset in
	// seconds (PostgreSQL timetz).
	TimeTZ
	// Timestamp: wall-clock time without zone; Int = microseconds since 1970-01-01 00:00 as if
	// UTC; Aux = precision. Flag may say Zero or ±Infinity.
	Timestamp
	// TimestampTZ: an instant; Int = microseconds since the Unix epoch (UTC); Aux = precision.
	// Flag may say Zero or ±Infinity.
	TimestampTZ
	// Interval: Int = microseconds (days counted as 24 h), Aux = months. Bytes may hold the
	// source's text (PostgreSQL, IntervalStyle postgres), which keeps days and the clock
	// part apart for Debezium's interval.handling.mode=string.
	Interval
	// Bits: Bytes = the bits little-endian (byte 0 holds bits 0–7, as Debezium's Bits carries
	// them); Aux = length in bits.
	Bits
	// Geometry: Bytes = WKB without SRID prefix (MySQL; PostGIS: the EWKB, SRID inside, as
	// Debezium writes it); Aux = SRID; Flag HasSRID says whether Aux is set.
	Geometry
	// Array: Elems holds the elements (each may be Null).
	Array
	// Vector: Elems holds Float32 or Float64 values (MySQL VECTOR, pgvector).
	Vector
	// Unavailable: the source did not send this value (PostgreSQL unchanged TOAST); the
	// envelope writes Debezium's placeholder.
	Unavailable
	// EscapedJSON: JSON text held as the body of the JSON string that carries it, escaped as
	// Jackson escapes a string (capture.AppendUnescapedJSON's inverse, without the quotes): the
	// document {"a":"x"} is held as {\"a\":\"x\"}. The MySQL binlog decoder writes JSON
	// columns this way in one pass, so the envelope copies them between quotes instead of
	// escaping the text again. Use Value.JSONText for the text itself.
	EscapedJSON
)

// Flag marks special values.
type Flag uint8

const (
	PosInfinity Flag = 1 << iota
	NegInfinity
	NaN
	// Zero marks MySQL zero dates (0000-00-00): null if the column is nullable, else epoch.
	Zero
	// HasSRID says a Geometry carries an SRID in Aux.
	HasSRID
)

// Value is one typed column value. The zero Value is SQL NULL. Bytes and Elems may alias the
// source's buffers: a Value is valid until the source's next Next call unless the source says
// otherwise. Sources that hand events across goroutines must copy (the MySQL and PostgreSQL
// sources do).
type Value struct {
	Kind  Kind
	Flag  Flag
	Aux   int32
	Int   int64
	Bytes []byte
	Big   *big.Int
	Elems []Value
}

// Row is one row image: values in the column order of the event's table version.
type Row []Value

// IsNull reports whether v is SQL NULL.
func (v Value) IsNull() bool { return v.Kind == Null }

// Uint returns the unsigned integer of a Uint value.
func (v Value) Uint() uint64 { return uint64(v.Int) }

// Float returns the number of a Float32 or Float64 value.
func (v Value) Float() float64 { return math.Float64frombits(uint64(v.Int)) }

// BigUnscaled returns a Decimal's unscaled integer as a big.Int (a new one when Big is nil).
func (v Value) BigUnscaled() *big.Int {
	if v.Big != nil {
		return v.Big
	}
	return big.NewInt(v.Int)
}

// Constructors for the common kinds.

func BoolValue(b bool) Value {
	if b {
		return Value{Kind: Bool, Int: 1}
	}
	return Value{Kind: Bool}
}
func IntValue(i int64) Value   { return Value{Kind: Int, Int: i} }
func UintValue(u uint64) Value { return Value{Kind: Uint, Int: int64(u)} }
func Float32Value(f float32) Value {
	return Value{Kind: Float32, Int: int64(math.Float64bits(float64(f)))}
}
func Float64Value(f float64) Value { return Value{Kind: Float64, Int: int64(math.Float64bits(f))} }
func StringValue(s []byte) Value   { return Value{Kind: String, Bytes: s} }
func BytesValue(b []byte) Value    { return Value{Kind: Bytes, Bytes: b} }
func JSONValue(b []byte) Value     { return Value{Kind: JSON, Bytes: b} }
func DateValue(days int64) Value   { return Value{Kind: Date, Int: days} }
func DecimalValue(unscaled int64, scale int32) Value {
	return Value{Kind: Decimal, Int: unscaled, Aux: scale}
}

// BigDecimalValue returns a Decimal; it keeps the int64 form when the integer fits.
func BigDecimalValue(unscaled *big.Int, scale int32) Value {
	if unscaled.IsInt64() {
		return Value{Kind: Decimal, Int: unscaled.Int64(), Aux: scale}
	}
	return Value{Kind: Decimal, Big: unscaled, Aux: scale}
}

// TimeValue is microseconds since midnight with precision fsp.
func TimeValue(micros int64, fsp int32) Value { return Value{Kind: Time, Int: micros, Aux: fsp} }

// TimestampValue is a zone-less timestamp in microseconds since the epoch, precision fsp.
func TimestampValue(micros int64, fsp int32) Value {
	return Value{Kind: Timestamp, Int: micros, Aux: fsp}
}

// TimestampTZValue is an instant in microseconds since the epoch, precision fsp.
func TimestampTZValue(micros int64, fsp int32) Value {
	return Value{Kind: TimestampTZ, Int: micros, Aux: fsp}
}

// Clone returns a deep copy of v that no longer aliases any buffer.
func (v Value) Clone() Value {
	if v.Bytes != nil {
		v.Bytes = append([]byte(nil), v.Bytes...)
	}
	if v.Big != nil {
		v.Big = new(big.Int).Set(v.Big)
	}
	if v.Elems != nil {
		e := make([]Value, len(v.Elems))
		for i := range v.Elems {
			e[i] = v.Elems[i].Clone()
		}
		v.Elems = e
	}
	return v
}

// Clone returns a deep copy of r.
func (r Row) Clone() Row {
	if r == nil {
		return nil
	}
	c := make(Row, len(r))
	for i := range r {
		c[i] = r[i].Clone()
	}
	return c
}
