package envelope

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"strconv"

	"github.com/sluicecdc/sluice/capture"
)

// Unavailable is Debezium's default unavailable.value.placeholder, written for PostgreSQL TOAST
// values an UPDATE did not carry (spec §5.2).
const Unavailable = "__debezium_unavailable_value"

// unavailableUUID is UUID.nameUUIDFromBytes(placeholder bytes), the placeholder element of a uuid[].
var unavailableUUID = func() string {
	h := md5.Sum([]byte(Unavailable))
	h[6] = h[6]&0x0f | 0x30
	h[8] = h[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], h[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], h[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], h[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], h[8:10])
	b[23] = '-'
	hex.Encode(b[24:], h[10:])
	return string(b[:])
}()

// PostgreSQL ±infinity for zone-less timestamps (spec §4.2).
const (
	pgTimestampPosInf = 9223372036825200000
	pgTimestampNegInf = -9223372036832400000
)

var pow10 = func() (t [19]int64) {
	t[0] = 1
	for i := 1; i < len(t); i++ {
		t[i] = t[i-1] * 10
	}
	return
}()

// isNullish reports whether v renders as a null: SQL NULL, or a MySQL zero date.
func isNullish(v *capture.Value) bool {
	return v.Kind == capture.Null || v.Flag&capture.Zero != 0 && v.Kind != capture.Decimal
}

// appendField appends the JSON of one column value with Connect's null rules: a null in an optional
// field is written as the schema default (unless keepNulls) or null; a null in a required field as
// the default or Debezium's fallback.
func (e *Encoder) appendField(dst []byte, m *Mapping, v *capture.Value) ([]byte, error) {
	if isNullish(v) {
		if m.Schema.Default != nil && (!m.Schema.Optional || !e.cfg.KeepNulls) {
			return append(dst, m.Schema.Default...), nil
		}
		if m.Schema.Optional || m.Fallback == nil {
			return append(dst, "null"...), nil
		}
		return append(dst, m.Fallback...), nil
	}
	return e.appendValue(dst, m, v)
}

var errSpecialPrecise = fmt.Errorf("NaN or Infinity in a numeric column cannot be written as a Connect Decimal; set decimal.handling.mode (--decimal-handling) to double or string")

// appendValue renders a non-null value per its mapping.
func (e *Encoder) appendValue(dst []byte, m *Mapping, v *capture.Value) ([]byte, error) {
	if v.Kind == capture.Unavailable {
		return appendUnavailable(dst, m), nil
	}
	if m.AdjustYears {
		if w, ok := adjustTwoDigitYear(v); ok {
			v = &w
		}
	}
	switch m.Conv {
	case ConvBool:
		b := v.Int != 0
		if v.Kind == capture.Bits || v.Kind == capture.Bytes {
			b = false
			for _, x := range v.Bytes {
				b = b || x != 0
			}
		}
		return strconv.AppendBool(dst, b), nil
	case ConvInt:
		switch v.Kind {
		case capture.Int, capture.Uint, capture.Bool, capture.Date:
			return strconv.AppendInt(dst, v.Int, 10), nil
		}
	case ConvUintDec:
		switch v.Kind {
		case capture.Uint:
			if v.Int < 0 {
				return AppendDecimal(dst, 0, new(big.Int).SetUint64(v.Uint())), nil
			}
			return AppendDecimal(dst, v.Int, nil), nil
		case capture.Int:
			return AppendDecimal(dst, v.Int, nil), nil
		case capture.Decimal:
			return appendDecimalAt(dst, v, 0)
		}
	case ConvFloat32:
		switch v.Kind {
		case capture.Float32, capture.Float64:
			return AppendJavaFloat(dst, float32(v.Float())), nil
		}
	case ConvFloat64:
		switch v.Kind {
		case capture.Float32:
			// A Java float widened to double prints its exact binary value.
			return AppendJavaDouble(dst, v.Float()), nil
		case capture.Float64:
			return AppendJavaDouble(dst, v.Float()), nil
		}
	case ConvDecimal:
		if v.Kind == capture.Decimal || v.Kind == capture.Int {
			return appendDecimalAt(dst, v, m.Scale)
		}
	case ConvVarDecimal:
		if v.Kind == capture.Decimal {
			if v.Flag&(capture.NaN|capture.PosInfinity|capture.NegInfinity) != 0 {
				return dst, errSpecialPrecise
			}
			dst = append(dst, `{"scale":`...)
			dst = strconv.AppendInt(dst, int64(v.Aux), 10)
			dst = append(dst, `,"value":`...)
			dst = AppendDecimal(dst, v.Int, v.Big)
			return append(dst, '}'), nil
		}
	case ConvDecimalDouble:
		if v.Kind == capture.Decimal {
			switch {
			case v.Flag&capture.NaN != 0:
				return append(dst, `"NaN"`...), nil
			case v.Flag&capture.PosInfinity != 0:
				return append(dst, `"Infinity"`...), nil
			case v.Flag&capture.NegInfinity != 0:
				return append(dst, `"-Infinity"`...), nil
			}
			var tmp [48]byte
			s := AppendPlainDecimal(tmp[:0], v.Int, v.Big, int(v.Aux))
			f, err := strconv.ParseFloat(string(s), 64)
			if err != nil && !math.IsInf(f, 0) {
				return dst, err
			}
			return AppendJavaDouble(dst, f), nil
		}
	case ConvDecimalString:
		if v.Kind == capture.Decimal {
			switch {
			case v.Flag&capture.NaN != 0:
				return append(dst, `"NAN"`...), nil
			case v.Flag&capture.PosInfinity != 0:
				return append(dst, `"POSITIVE_INFINITY"`...), nil
			case v.Flag&capture.NegInfinity != 0:
				return append(dst, `"NEGATIVE_INFINITY"`...), nil
			}
			u, b, scale := v.Int, v.Big, int(v.Aux)
			if m.Scale > scale {
				u, b = rescaleUp(u, b, m.Scale-scale)
				scale = m.Scale
			}
			dst = append(dst, '"')
			dst = AppendPlainDecimal(dst, u, b, scale)
			return append(dst, '"'), nil
		}
	case ConvString:
		switch v.Kind {
		case capture.String, capture.JSON, capture.Bytes:
			return AppendJSONString(dst, v.Bytes), nil
		case capture.EscapedJSON:
			return appendEscaped(dst, v.Bytes), nil
		case capture.Int:
			dst = append(dst, '"')
			dst = strconv.AppendInt(dst, v.Int, 10)
			return append(dst, '"'), nil
		}
	case ConvBytes, ConvBits:
		switch v.Kind {
		case capture.Bytes, capture.String:
			if m.Conv == ConvBytes && len(v.Bytes) < m.Scale {
				return AppendBase64(dst, padded(v.Bytes, m.Scale)), nil
			}
			return AppendBase64(dst, v.Bytes), nil
		case capture.Bits:
			// Debezium pads MySQL BIT(n) values little-endian to ⌈n/8⌉ bytes, and writes
			// PostgreSQL's (Scale 0) up to the highest non-zero byte.
			if n := (m.Scale + 7) / 8; m.Conv == ConvBits && len(v.Bytes) < n && n <= 64 {
				var tmp [64]byte
				copy(tmp[:], v.Bytes)
				return AppendBase64(dst, tmp[:n]), nil
			}
			b := v.Bytes
			if m.Conv == ConvBits && m.Scale == 0 {
				for len(b) > 0 && b[len(b)-1] == 0 {
					b = b[:len(b)-1]
				}
			}
			return AppendBase64(dst, b), nil
		case capture.Int, capture.Uint:
			var tmp [8]byte
			binary.LittleEndian.PutUint64(tmp[:], uint64(v.Int))
			n := (m.Scale + 7) / 8
			if n < 1 || n > 8 {
				n = 8
			}
			return AppendBase64(dst, tmp[:n]), nil
		}
	case ConvBytesBase64, ConvBytesBase64URL, ConvBytesHex:
		switch v.Kind {
		case capture.Bytes, capture.String:
			if len(v.Bytes) < m.Scale {
				return AppendBinaryString(dst, m.Conv, padded(v.Bytes, m.Scale)), nil
			}
			return AppendBinaryString(dst, m.Conv, v.Bytes), nil
		}
	case ConvDate:
		switch v.Kind {
		case capture.Date:
			return strconv.AppendInt(dst, dateDays(v), 10), nil
		case capture.Timestamp, capture.TimestampTZ:
			return strconv.AppendInt(dst, FloorDiv(v.Int, 86400_000_000), 10), nil
		}
	case ConvDateISO:
		if v.Kind == capture.Date {
			dst = append(dst, '"')
			dst = AppendISODate(dst, v.Int)
			return append(dst, 'Z', '"'), nil
		}
	case ConvTimeMilli:
		if v.Kind == capture.Time {
			ms := FloorDiv(v.Int, 1000)
			// MySQL TIME spans ±838:59:59: beyond ±596:31:23 its milliseconds overflow the int32
			// (Debezium's (int) cast wraps them), and Connect's Time holds only 0–24 h.
			if ms < math.MinInt32 || ms > math.MaxInt32 ||
				m.Schema.Name == "org.apache.kafka.connect.data.Time" && (ms < 0 || ms > 86_400_000) {
				return dst, fmt.Errorf("TIME value %s does not fit %s (int32 milliseconds%s); set --time-precision "+
					"adaptive_time_microseconds (time.precision.mode), which writes such values as MicroTime",
					timeText(v.Int), m.Schema.Name, map[bool]string{true: " within a day"}[m.Schema.Name == "org.apache.kafka.connect.data.Time"])
			}
			return strconv.AppendInt(dst, ms, 10), nil
		}
	case ConvTimeMicro:
		if v.Kind == capture.Time {
			return strconv.AppendInt(dst, v.Int, 10), nil
		}
	case ConvTimeISO:
		if v.Kind == capture.Time {
			dst = append(dst, '"')
			dst = AppendISOTime(dst, v.Int, -1)
			return append(dst, 'Z', '"'), nil
		}
	case ConvTimestampMilli, ConvTimestampMicro:
		if v.Kind == capture.Timestamp || v.Kind == capture.TimestampTZ {
			switch {
			case v.Flag&capture.PosInfinity != 0:
				return strconv.AppendInt(dst, pgTimestampPosInf, 10), nil
			case v.Flag&capture.NegInfinity != 0:
				return strconv.AppendInt(dst, pgTimestampNegInf, 10), nil
			}
			if m.Conv == ConvTimestampMilli {
				return strconv.AppendInt(dst, FloorDiv(v.Int, 1000), 10), nil
			}
			return strconv.AppendInt(dst, v.Int, 10), nil
		}
	case ConvTimestampISO:
		if v.Kind == capture.Timestamp || v.Kind == capture.TimestampTZ {
			dst = append(dst, '"')
			dst = e.appendISOTimestamp(dst, v.Int, -1)
			return append(dst, '"'), nil
		}
	case ConvZonedTimestamp:
		if v.Kind == capture.TimestampTZ || v.Kind == capture.Timestamp {
			switch {
			case v.Flag&capture.PosInfinity != 0:
				return append(dst, `"infinity"`...), nil
			case v.Flag&capture.NegInfinity != 0:
				return append(dst, `"-infinity"`...), nil
			}
			dst = append(dst, '"')
			dst = e.appendISOTimestamp(dst, v.Int, m.Scale)
			return append(dst, '"'), nil
		}
	case ConvZonedTime:
		switch v.Kind {
		case capture.TimeTZ, capture.Time:
			us := v.Int
			if v.Kind == capture.TimeTZ {
				us -= int64(v.Aux) * 1_000_000
			}
			dst = append(dst, '"')
			dst = AppendISOTime(dst, us, -1)
			return append(dst, 'Z', '"'), nil
		}
	case ConvInterval:
		if v.Kind == capture.Interval {
			return strconv.AppendInt(dst, int64(v.Aux)*MicrosPerMonth+v.Int, 10), nil
		}
	case ConvIntervalString:
		if v.Kind == capture.Interval {
			dst = append(dst, '"')
			dst = appendISOInterval(dst, intervalParts(v))
			return append(dst, '"'), nil
		}
	case ConvJSONObject:
		if v.Kind == capture.JSON && len(v.Bytes) > 0 && v.Bytes[0] == '{' {
			return append(dst, v.Bytes...), nil
		}
	case ConvPoint:
		if v.Kind == capture.Geometry {
			x, y, ok := parseWKBPoint(v.Bytes)
			if !ok {
				return dst, fmt.Errorf("point value is not a 2D WKB point (%d bytes)", len(v.Bytes))
			}
			dst = append(dst, `{"x":`...)
			dst = AppendJavaDouble(dst, x)
			dst = append(dst, `,"y":`...)
			dst = AppendJavaDouble(dst, y)
			dst = append(dst, `,"wkb":`...)
			dst = AppendBase64(dst, v.Bytes)
			return appendSRID(dst, v), nil
		}
	case ConvGeometry:
		if v.Kind == capture.Geometry {
			dst = append(dst, `{"wkb":`...)
			dst = AppendBase64(dst, v.Bytes)
			return appendSRID(dst, v), nil
		}
	case ConvArray, ConvVector:
		if v.Kind == capture.Array || v.Kind == capture.Vector {
			dst = append(dst, '[')
			for i := range v.Elems {
				if i > 0 {
					dst = append(dst, ',')
				}
				var err error
				if v.Elems[i].Kind == capture.Null {
					dst = append(dst, "null"...)
				} else if dst, err = e.appendValue(dst, m.Elem, &v.Elems[i]); err != nil {
					return dst, err
				}
			}
			return append(dst, ']'), nil
		}
	}
	return dst, fmt.Errorf("a %s value does not fit Connect schema %s", KindName(v.Kind), schemaText(m.Schema))
}

func dateDays(v *capture.Value) int64 {
	switch {
	case v.Flag&capture.PosInfinity != 0:
		return math.MaxInt32
	case v.Flag&capture.NegInfinity != 0:
		return math.MinInt32
	}
	return v.Int
}

func appendSRID(dst []byte, v *capture.Value) []byte {
	dst = append(dst, `,"srid":`...)
	if v.Flag&capture.HasSRID != 0 {
		dst = strconv.AppendInt(dst, int64(v.Aux), 10)
	} else {
		dst = append(dst, "null"...)
	}
	return append(dst, '}')
}

// parseWKBPoint reads x and y of a 21-byte 2D WKB point (either byte order), as Debezium's
// Point.parseWKBPoint does.
func parseWKBPoint(b []byte) (x, y float64, ok bool) {
	if len(b) != 21 {
		return 0, 0, false
	}
	var bo binary.ByteOrder = binary.BigEndian
	if b[0] != 0 {
		bo = binary.LittleEndian
	}
	if bo.Uint32(b[1:5]) != 1 {
		return 0, 0, false
	}
	return math.Float64frombits(bo.Uint64(b[5:13])), math.Float64frombits(bo.Uint64(b[13:21])), true
}

// rescaleUp multiplies the unscaled value by 10^d, moving to big.Int on overflow.
func rescaleUp(u int64, b *big.Int, d int) (int64, *big.Int) {
	if b == nil && d < len(pow10) {
		p := pow10[d]
		if r := u * p; r/p == u && (u >= 0) == (r >= 0) || u == 0 {
			return u * p, nil
		}
	}
	if b == nil {
		b = big.NewInt(u)
	}
	f := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(d)), nil)
	return 0, f.Mul(f, b)
}

// appendDecimalAt writes a Connect Decimal of a value rescaled up to scale (Debezium rescales
// up; a value with more fraction digits than the column is refused, as Connect refuses it).
func appendDecimalAt(dst []byte, v *capture.Value, scale int) ([]byte, error) {
	if v.Flag&(capture.NaN|capture.PosInfinity|capture.NegInfinity) != 0 {
		return dst, errSpecialPrecise
	}
	s := int(v.Aux)
	if v.Kind == capture.Int {
		s = 0
	}
	u, b := v.Int, v.Big
	if s > scale {
		return dst, fmt.Errorf("decimal value has scale %d, more than the column scale %d", s, scale)
	}
	if s < scale {
		u, b = rescaleUp(u, b, scale-s)
	}
	return AppendDecimal(dst, u, b), nil
}

// appendUnavailable writes the TOAST placeholder in the form Debezium's
// UnchangedToastedPlaceholder gives each type.
func appendUnavailable(dst []byte, m *Mapping) []byte {
	switch m.Conv {
	case ConvBytes, ConvBits:
		return AppendBase64(dst, []byte(Unavailable))
	case ConvBytesBase64, ConvBytesBase64URL, ConvBytesHex:
		return AppendBinaryString(dst, m.Conv, []byte(Unavailable))
	case ConvArray:
		switch m.Elem.Conv {
		case ConvInt:
			dst = append(dst, '[')
			for i := 0; i < len(Unavailable); i++ {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = strconv.AppendInt(dst, int64(Unavailable[i]), 10)
			}
			return append(dst, ']')
		case ConvString:
			if m.Elem.Schema.Name == "io.debezium.data.Uuid" {
				dst = append(dst, `["`...)
				dst = append(dst, unavailableUUID...)
				return append(dst, `"]`...)
			}
		}
		dst = append(dst, '[')
		dst = AppendJSONString(dst, Unavailable)
		return append(dst, ']')
	case ConvJSONObject:
		// UnchangedToastedPlaceholder's hstore map: the placeholder as key and value.
		dst = append(dst, '{')
		dst = AppendJSONString(dst, Unavailable)
		dst = append(dst, ':')
		dst = AppendJSONString(dst, Unavailable)
		return append(dst, '}')
	}
	if m.Schema.Type == String {
		return AppendJSONString(dst, Unavailable)
	}
	if m.Schema.Optional || m.Fallback == nil {
		return append(dst, "null"...)
	}
	return append(dst, m.Fallback...)
}

// dateCache remembers the text of the last whole second formatted (date, 'T', hh:mm:ss):
// timestamps of one stream or snapshot mostly share their second, often (rows of one INSERT …
// now()) their whole value, so only the fraction is formatted per value.
type dateCache struct {
	sec  int64
	n    int
	text [32]byte
}

// appendISOTimestamp is AppendISOTimestamp with the date and time of day up to the second cached.
func (e *Encoder) appendISOTimestamp(dst []byte, us int64, digits int) []byte {
	if us < -1<<62 || us > 1<<62 { // far out of any calendar: sec*1e6 below could overflow
		return AppendISOTimestamp(dst, us, digits)
	}
	sec := FloorDiv(us, 1_000_000)
	c := &e.dates
	if c.n == 0 || c.sec != sec {
		days, micros := SplitMicros(sec * 1_000_000)
		b := AppendISODate(c.text[:0], days)
		if len(b) > len(c.text)-9 {
			return AppendISOTimestamp(dst, us, digits)
		}
		b = append(b, 'T')
		b = AppendISOTime(b, micros, 0)
		c.sec, c.n = sec, len(b)
	}
	dst = append(dst, c.text[:c.n]...)
	dst = AppendFraction(dst, us-sec*1_000_000, digits)
	return append(dst, 'Z')
}

// padded returns b right-padded with zero bytes to n (MySQL BINARY(n), DBZ-254).
func padded(b []byte, n int) []byte {
	p := make([]byte, n)
	copy(p, b)
	return p
}

// timeText formats microseconds of a TIME as [-]H:MM:SS[.ffffff], for errors.
func timeText(us int64) string {
	sign := ""
	if us < 0 {
		sign, us = "-", -us
	}
	s := fmt.Sprintf("%s%d:%02d:%02d", sign, us/3_600_000_000, us/60_000_000%60, us/1_000_000%60)
	if f := us % 1_000_000; f != 0 {
		s += fmt.Sprintf(".%06d", f)
	}
	return s
}
