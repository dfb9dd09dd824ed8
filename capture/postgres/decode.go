package postgres

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"unsafe"

	"github.com/sluicecdc/sluice/capture"
)

// decKind selects how a column's text is turned into a capture.Value.
type decKind uint8

const (
	decString decKind = iota
	decBool
	decInt
	decFloat32
	decFloat64
	decNumeric
	decMoney
	decBytea
	decBit // bit(n) / varbit; bit(1) gives Bool
	decDate
	decTime
	decTimeTZ
	decTimestamp
	decTimestampTZ
	decInterval
	decJSON
	decHstore
	decPoint
	decGeometry
	decVector
	decArray
)

// decoder turns the text form of one column type into a Value. It is built once per column
// (relation message) so that the per-row path does no lookups.
type decoder struct {
	kind   decKind
	typmod int32
	prec   int32 // fractional-second precision for time types
	delim  byte  // array element delimiter
	half   bool  // halfvec: Float32 elements
	elem   *decoder
}

var errSyntax = errors.New("invalid text value")

// decode parses b. b is owned by the caller's message buffer and may be rewritten in place
// (bytea, quoted array elements): the returned Value may alias it.
func (d *decoder) decode(b []byte) (capture.Value, error) {
	switch d.kind {
	case decString:
		return capture.Value{Kind: capture.String, Bytes: b}, nil
	case decBool:
		if len(b) == 1 && (b[0] == 't' || b[0] == 'f') {
			return capture.BoolValue(b[0] == 't'), nil
		}
		return capture.Value{}, errSyntax
	case decInt:
		n, ok := parseInt(b)
		if !ok {
			return capture.Value{}, errSyntax
		}
		return capture.IntValue(n), nil
	case decFloat32:
		f, err := strconv.ParseFloat(bstr(b), 32)
		if err != nil {
			return capture.Value{}, err
		}
		return capture.Float32Value(float32(f)), nil
	case decFloat64:
		f, err := strconv.ParseFloat(bstr(b), 64)
		if err != nil {
			return capture.Value{}, err
		}
		return capture.Float64Value(f), nil
	case decNumeric:
		return parseNumeric(b)
	case decMoney:
		return parseMoney(b)
	case decBytea:
		return parseBytea(b)
	case decBit:
		return parseBits(b, d.typmod)
	case decDate:
		return parseDate(b)
	case decTime:
		us, rest, ok := parseClock(b)
		if !ok || len(rest) != 0 {
			return capture.Value{}, errSyntax
		}
		return capture.TimeValue(us, d.prec), nil
	case decTimeTZ:
		us, rest, ok := parseClock(b)
		if !ok {
			return capture.Value{}, errSyntax
		}
		off, rest, ok := parseOffset(rest)
		if !ok || len(rest) != 0 {
			return capture.Value{}, errSyntax
		}
		return capture.Value{Kind: capture.TimeTZ, Int: us, Aux: off}, nil
	case decTimestamp, decTimestampTZ:
		return parseTimestamp(b, d.kind == decTimestampTZ, d.prec)
	case decInterval:
		return parseInterval(b)
	case decJSON:
		return capture.JSONValue(b), nil
	case decHstore:
		return parseHstore(b)
	case decPoint:
		return parsePoint(b)
	case decGeometry:
		return parseEWKBHex(b)
	case decVector:
		return parseVector(b, d.half)
	case decArray:
		v, rest, err := d.parseArray(b)
		if err != nil {
			return v, err
		}
		if len(rest) != 0 {
			return capture.Value{}, errSyntax
		}
		return v, nil
	}
	return capture.Value{Kind: capture.String, Bytes: b}, nil
}

// decodeTo decodes b into *v, which must be zero (a fresh row). The common kinds are written
// field by field: no call, no copy of a whole Value, and no write barrier for the values
// without pointers, which a row assignment pays while the collector runs.
func (d *decoder) decodeTo(v *capture.Value, b []byte) error {
	switch d.kind {
	case decInt:
		n, ok := parseInt(b)
		if !ok {
			return errSyntax
		}
		v.Kind, v.Int = capture.Int, n
		return nil
	case decString:
		v.Kind, v.Bytes = capture.String, b
		return nil
	case decJSON:
		v.Kind, v.Bytes = capture.JSON, b
		return nil
	}
	dv, err := d.decode(b)
	if err != nil {
		return err
	}
	if dv.Bytes == nil && dv.Big == nil && dv.Elems == nil {
		v.Kind, v.Flag, v.Aux, v.Int = dv.Kind, dv.Flag, dv.Aux, dv.Int
		return nil
	}
	*v = dv
	return nil
}

// aliases reports whether a decoded value may point into the text it was decoded from (or
// rewrite it in place): such text needs memory of its own when its buffer is reused. The
// kinds listed as false build their values from the text and keep none of it.
func (d *decoder) aliases() bool {
	switch d.kind {
	case decBool, decInt, decFloat32, decFloat64, decNumeric, decMoney, decBit, decDate, decTime, decTimeTZ, decTimestamp, decTimestampTZ:
		return false
	}
	return true
}

// bstr views b as a string without copying; the string must not outlive b's next change.
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	neg := false
	i := 0
	if b[0] == '-' || b[0] == '+' {
		neg = b[0] == '-'
		i = 1
		if len(b) == 1 {
			return 0, false
		}
	}
	var n uint64
	for ; i < len(b); i++ {
		c := b[i] - '0'
		if c > 9 {
			return 0, false
		}
		if n > (math.MaxUint64-9)/10 {
			return 0, false
		}
		n = n*10 + uint64(c)
	}
	if neg {
		if n > 1<<63 {
			return 0, false
		}
		return -int64(n), true
	}
	if n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

// parseNumeric parses PostgreSQL numeric output: [-]digits[.digits], NaN, Infinity, -Infinity.
// Aux is the number of digits after the point as printed (the column's scale when declared).
func parseNumeric(b []byte) (capture.Value, error) {
	switch bstr(b) {
	case "NaN":
		return capture.Value{Kind: capture.Decimal, Flag: capture.NaN}, nil
	case "Infinity":
		return capture.Value{Kind: capture.Decimal, Flag: capture.PosInfinity}, nil
	case "-Infinity":
		return capture.Value{Kind: capture.Decimal, Flag: capture.NegInfinity}, nil
	}
	return parseDecimalText(b)
}

func parseDecimalText(b []byte) (capture.Value, error) {
	if len(b) == 0 {
		return capture.Value{}, errSyntax
	}
	neg := false
	i := 0
	if b[0] == '-' || b[0] == '+' {
		neg = b[0] == '-'
		i++
	}
	var n uint64
	scale := int32(-1)
	digits := 0
	overflow := false
	start := i
	for ; i < len(b); i++ {
		c := b[i]
		if c == '.' {
			if scale >= 0 {
				return capture.Value{}, errSyntax
			}
			scale = 0
			continue
		}
		if c < '0' || c > '9' {
			return capture.Value{}, errSyntax
		}
		digits++
		if scale >= 0 {
			scale++
		}
		if n > (math.MaxInt64-9)/10 {
			overflow = true
		} else {
			n = n*10 + uint64(c-'0')
		}
	}
	if digits == 0 {
		return capture.Value{}, errSyntax
	}
	if scale < 0 {
		scale = 0
	}
	if !overflow {
		v := int64(n)
		if neg {
			v = -v
		}
		return capture.DecimalValue(v, scale), nil
	}
	// Slow path: more than 18 digits.
	buf := make([]byte, 0, len(b))
	if neg {
		buf = append(buf, '-')
	}
	for _, c := range b[start:] {
		if c != '.' {
			buf = append(buf, c)
		}
	}
	bi, ok := new(big.Int).SetString(string(buf), 10)
	if !ok {
		return capture.Value{}, errSyntax
	}
	return capture.BigDecimalValue(bi, scale), nil
}

// parseMoney parses money output in the C/POSIX monetary locale ("$1,234.56", "-$0.50") and
// tolerates other currency symbols and group separators.
func parseMoney(b []byte) (capture.Value, error) {
	var tmp [40]byte
	out := tmp[:0]
	neg := false
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9' || c == '.':
			out = append(out, c)
		case c == '-' || c == '(':
			neg = true
		}
	}
	v, err := parseDecimalText(out)
	if err != nil {
		return v, fmt.Errorf("money %q: %w", b, err)
	}
	if neg {
		if v.Big != nil {
			v.Big.Neg(v.Big)
		} else {
			v.Int = -v.Int
		}
	}
	return v, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// parseBytea decodes the hex format (\x0102…) in place.
func parseBytea(b []byte) (capture.Value, error) {
	if len(b) < 2 || b[0] != '\\' || b[1] != 'x' || len(b)%2 != 0 {
		return capture.Value{}, fmt.Errorf("bytea not in hex format (set bytea_output = hex): %w", errSyntax)
	}
	src := b[2:]
	out := b[:len(src)/2]
	for i := 0; i < len(out); i++ {
		hi, ok1 := unhex(src[2*i])
		lo, ok2 := unhex(src[2*i+1])
		if !ok1 || !ok2 {
			return capture.Value{}, errSyntax
		}
		out[i] = hi<<4 | lo
	}
	return capture.BytesValue(out), nil
}

// parseBits turns "0101…" into little-endian bytes of the bit string read as a binary number
// (the last character is bit 0). A length of 1 (bit(1), varbit(1)) gives a Bool, as Debezium
// maps both to boolean (envelope.MapColumn); varbit(1) may also hold the empty string: false.
func parseBits(b []byte, typmod int32) (capture.Value, error) {
	for _, c := range b {
		if c != '0' && c != '1' {
			return capture.Value{}, errSyntax
		}
	}
	if typmod == 1 && len(b) <= 1 {
		return capture.BoolValue(len(b) == 1 && b[0] == '1'), nil
	}
	n := len(b)
	out := make([]byte, (n+7)/8)
	for i := 0; i < n; i++ {
		if b[n-1-i] == '1' {
			out[i/8] |= 1 << (i % 8)
		}
	}
	return capture.Value{Kind: capture.Bits, Bytes: out, Aux: int32(n)}, nil
}

// parseYMD reads "YYYY-MM-DD" (year may have more than 4 digits) and returns the rest.
func parseYMD(b []byte) (y, m, d int64, rest []byte, ok bool) {
	i := 0
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		y = y*10 + int64(b[i]-'0')
		i++
	}
	if i < 4 || i+6 > len(b) || b[i] != '-' || b[i+3] != '-' {
		return 0, 0, 0, nil, false
	}
	m = int64(b[i+1]-'0')*10 + int64(b[i+2]-'0')
	d = int64(b[i+4]-'0')*10 + int64(b[i+5]-'0')
	if m < 1 || m > 12 || d < 1 || d > 31 {
		return 0, 0, 0, nil, false
	}
	return y, m, d, b[i+6:], true
}

func hasBC(b []byte) ([]byte, bool) {
	if len(b) >= 3 && bstr(b[len(b)-3:]) == " BC" {
		return b[:len(b)-3], true
	}
	return b, false
}

func parseDate(b []byte) (capture.Value, error) {
	switch bstr(b) {
	case "infinity":
		return capture.Value{Kind: capture.Date, Flag: capture.PosInfinity}, nil
	case "-infinity":
		return capture.Value{Kind: capture.Date, Flag: capture.NegInfinity}, nil
	}
	b, bc := hasBC(b)
	y, m, d, rest, ok := parseYMD(b)
	if !ok || len(rest) != 0 {
		return capture.Value{}, errSyntax
	}
	if bc {
		y = 1 - y
	}
	return capture.DateValue(capture.DaysFromCivil(y, int(m), int(d))), nil
}

// parseClock reads HH:MM:SS[.ffffff] and returns µs of day and the rest.
func parseClock(b []byte) (int64, []byte, bool) {
	if len(b) < 8 || b[2] != ':' || b[5] != ':' {
		return 0, nil, false
	}
	var v [3]int64
	for k, p := range [3]int{0, 3, 6} {
		h, l := b[p]-'0', b[p+1]-'0'
		if h > 9 || l > 9 {
			return 0, nil, false
		}
		v[k] = int64(h)*10 + int64(l)
	}
	us := (v[0]*3600 + v[1]*60 + v[2]) * 1e6
	rest := b[8:]
	if len(rest) > 0 && rest[0] == '.' {
		i := 1
		var frac, mul int64 = 0, 100000
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			frac += int64(rest[i]-'0') * mul
			mul /= 10
			i++
		}
		us += frac
		rest = rest[i:]
	}
	return us, rest, true
}

// parseOffset reads +HH[:MM[:SS]] and returns seconds east of UTC.
func parseOffset(b []byte) (int32, []byte, bool) {
	if len(b) < 3 || (b[0] != '+' && b[0] != '-') {
		return 0, nil, false
	}
	sign := int32(1)
	if b[0] == '-' {
		sign = -1
	}
	two := func(p []byte) (int32, bool) {
		h, l := p[0]-'0', p[1]-'0'
		if h > 9 || l > 9 {
			return 0, false
		}
		return int32(h)*10 + int32(l), true
	}
	h, ok := two(b[1:3])
	if !ok {
		return 0, nil, false
	}
	off := h * 3600
	rest := b[3:]
	for mul := int32(60); len(rest) >= 3 && rest[0] == ':' && mul >= 1; mul /= 60 {
		v, ok := two(rest[1:3])
		if !ok {
			return 0, nil, false
		}
		off += v * mul
		rest = rest[3:]
	}
	return sign * off, rest, true
}

func parseTimestamp(b []byte, tz bool, prec int32) (capture.Value, error) {
	kind := capture.Timestamp
	if tz {
		kind = capture.TimestampTZ
	}
	switch bstr(b) {
	case "infinity":
		return capture.Value{Kind: kind, Flag: capture.PosInfinity, Aux: prec}, nil
	case "-infinity":
		return capture.Value{Kind: kind, Flag: capture.NegInfinity, Aux: prec}, nil
	}
	b, bc := hasBC(b)
	y, m, d, rest, ok := parseYMD(b)
	if !ok || len(rest) < 9 || (rest[0] != ' ' && rest[0] != 'T') {
		return capture.Value{}, errSyntax
	}
	us, rest, ok := parseClock(rest[1:])
	if !ok {
		return capture.Value{}, errSyntax
	}
	var off int32
	if tz {
		off, rest, ok = parseOffset(rest)
		if !ok {
			return capture.Value{}, errSyntax
		}
	}
	if len(rest) != 0 {
		return capture.Value{}, errSyntax
	}
	if bc {
		y = 1 - y
	}
	t := capture.DaysFromCivil(y, int(m), int(d))*86400e6 + us - int64(off)*1e6
	return capture.Value{Kind: kind, Int: t, Aux: prec}, nil
}

// parseInterval parses IntervalStyle postgres output: "1 year 2 mons -3 days +04:05:06.78".
func parseInterval(b []byte) (capture.Value, error) {
	text := b
	var months, us int64
	for len(b) > 0 {
		for len(b) > 0 && b[0] == ' ' {
			b = b[1:]
		}
		if len(b) == 0 {
			break
		}
		// A clock part: [+-]HH:MM:SS[.f]; hours may have more than two digits.
		j := 0
		if b[0] == '+' || b[0] == '-' {
			j = 1
		}
		k := j
		for k < len(b) && b[k] >= '0' && b[k] <= '9' {
			k++
		}
		if k < len(b) && b[k] == ':' {
			neg := b[0] == '-'
			h, _ := parseInt(b[j:k])
			if len(b) < k+6 || b[k+3] != ':' {
				return capture.Value{}, errSyntax
			}
			mm, ok1 := parseInt(b[k+1 : k+3])
			ss, ok2 := parseInt(b[k+4 : k+6])
			if !ok1 || !ok2 {
				return capture.Value{}, errSyntax
			}
			t := (h*3600 + mm*60 + ss) * 1e6
			e := k + 6
			if e < len(b) && b[e] == '.' {
				e++
				var mul int64 = 100000
				for e < len(b) && b[e] >= '0' && b[e] <= '9' {
					t += int64(b[e]-'0') * mul
					mul /= 10
					e++
				}
			}
			if neg {
				t = -t
			}
			us += t
			b = b[e:]
			continue
		}
		n, ok := parseInt(b[:k])
		if !ok || k >= len(b) || b[k] != ' ' {
			return capture.Value{}, errSyntax
		}
		b = b[k+1:]
		e := 0
		for e < len(b) && b[e] != ' ' {
			e++
		}
		switch bstr(b[:e]) {
		case "year", "years":
			months += n * 12
		case "mon", "mons":
			months += n
		case "day", "days":
			us += n * 86400e6
		default:
			return capture.Value{}, fmt.Errorf("interval unit %q (set IntervalStyle = postgres): %w", b[:e], errSyntax)
		}
		b = b[e:]
	}
	// Bytes keeps the text: interval.handling.mode=string writes days apart from the clock
	// part ('1 day -25:00:00'), which Int folds together.
	return capture.Value{Kind: capture.Interval, Int: us, Aux: int32(months), Bytes: text}, nil
}

// parseHstore converts `"a"=>"1", "b"=>NULL` to the JSON object {"a":"1","b":null}.
func parseHstore(b []byte) (capture.Value, error) {
	out := make([]byte, 0, len(b)+2)
	out = append(out, '{')
	first := true
	readStr := func() ([]byte, bool, bool) { // value, isNull, ok
		for len(b) > 0 && (b[0] == ' ' || b[0] == ',') {
			b = b[1:]
		}
		if len(b) >= 4 && bstr(b[:4]) == "NULL" {
			b = b[4:]
			return nil, true, true
		}
		if len(b) == 0 || b[0] != '"' {
			return nil, false, false
		}
		var s []byte
		i := 1
		for ; i < len(b); i++ {
			c := b[i]
			if c == '\\' && i+1 < len(b) {
				i++
				s = append(s, b[i])
				continue
			}
			if c == '"' {
				break
			}
			s = append(s, c)
		}
		if i >= len(b) {
			return nil, false, false
		}
		b = b[i+1:]
		return s, false, true
	}
	for {
		for len(b) > 0 && (b[0] == ' ' || b[0] == ',') {
			b = b[1:]
		}
		if len(b) == 0 {
			break
		}
		k, _, ok := readStr()
		if !ok {
			return capture.Value{}, errSyntax
		}
		for len(b) > 0 && b[0] == ' ' {
			b = b[1:]
		}
		if len(b) < 2 || b[0] != '=' || b[1] != '>' {
			return capture.Value{}, errSyntax
		}
		b = b[2:]
		for len(b) > 0 && b[0] == ' ' {
			b = b[1:]
		}
		v, null, ok := readStr()
		if !ok {
			return capture.Value{}, errSyntax
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		out = appendJSONString(out, k)
		out = append(out, ':')
		if null {
			out = append(out, "null"...)
		} else {
			out = appendJSONString(out, v)
		}
	}
	out = append(out, '}')
	return capture.JSONValue(out), nil
}

func appendJSONString(dst, s []byte) []byte {
	const hexd = "0123456789abcdef"
	dst = append(dst, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}

// parsePoint turns "(x,y)" into a little-endian WKB point.
func parsePoint(b []byte) (capture.Value, error) {
	if len(b) < 5 || b[0] != '(' || b[len(b)-1] != ')' {
		return capture.Value{}, errSyntax
	}
	in := b[1 : len(b)-1]
	comma := -1
	for i, c := range in {
		if c == ',' {
			comma = i
			break
		}
	}
	if comma < 0 {
		return capture.Value{}, errSyntax
	}
	x, err1 := strconv.ParseFloat(bstr(in[:comma]), 64)
	y, err2 := strconv.ParseFloat(bstr(in[comma+1:]), 64)
	if err1 != nil || err2 != nil {
		return capture.Value{}, errSyntax
	}
	return capture.Value{Kind: capture.Geometry, Bytes: wkbPoint(x, y)}, nil
}

func wkbPoint(x, y float64) []byte {
	w := make([]byte, 21)
	w[0] = 1
	binary.LittleEndian.PutUint32(w[1:], 1)
	binary.LittleEndian.PutUint64(w[5:], math.Float64bits(x))
	binary.LittleEndian.PutUint64(w[13:], math.Float64bits(y))
	return w
}

// parseEWKBHex decodes PostGIS's hex EWKB output in place, strips the SRID and returns WKB.
func parseEWKBHex(b []byte) (capture.Value, error) {
	if len(b)%2 != 0 || len(b) < 10 {
		return capture.Value{}, errSyntax
	}
	out := b[:len(b)/2]
	for i := range out {
		hi, ok1 := unhex(b[2*i])
		lo, ok2 := unhex(b[2*i+1])
		if !ok1 || !ok2 {
			return capture.Value{}, errSyntax
		}
		out[i] = hi<<4 | lo
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if out[0] == 0 {
		bo = binary.BigEndian
	}
	typ := bo.Uint32(out[1:5])
	const sridFlag = 0x20000000
	if typ&sridFlag == 0 || len(out) < 9 {
		return capture.Value{Kind: capture.Geometry, Bytes: out}, nil
	}
	// The EWKB stays whole, SRID inside, as Debezium's PostgisGeometry hands it to the
	// Geometry struct; the SRID is also read out for its srid field.
	return capture.Value{Kind: capture.Geometry, Bytes: out, Aux: int32(bo.Uint32(out[5:9])), Flag: capture.HasSRID}, nil
}

// parseVector parses pgvector's "[1,2.5,3]".
func parseVector(b []byte, half bool) (capture.Value, error) {
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return capture.Value{}, errSyntax
	}
	in := b[1 : len(b)-1]
	n := 1
	for _, c := range in {
		if c == ',' {
			n++
		}
	}
	if len(in) == 0 {
		n = 0
	}
	elems := make([]capture.Value, 0, n)
	for len(in) > 0 {
		e := 0
		for e < len(in) && in[e] != ',' {
			e++
		}
		if half {
			f, err := strconv.ParseFloat(bstr(in[:e]), 32)
			if err != nil {
				return capture.Value{}, errSyntax
			}
			elems = append(elems, capture.Float32Value(float32(f)))
		} else {
			f, err := strconv.ParseFloat(bstr(in[:e]), 64)
			if err != nil {
				return capture.Value{}, errSyntax
			}
			elems = append(elems, capture.Float64Value(f))
		}
		if e == len(in) {
			break
		}
		in = in[e+1:]
	}
	return capture.Value{Kind: capture.Vector, Elems: elems}, nil
}

// parseArray parses a PostgreSQL array literal ("{1,2,NULL}", "{{a,b},{c,d}}", with an optional
// "[lo:hi]=" dimension prefix) and decodes each element with d.elem. Quoted elements are
// unescaped in place. Multi-dimensional arrays come out flat, in row-major order.
func (d *decoder) parseArray(b []byte) (capture.Value, []byte, error) {
	if len(b) > 0 && b[0] == '[' {
		eq := -1
		for i, c := range b {
			if c == '=' {
				eq = i
				break
			}
		}
		if eq < 0 {
			return capture.Value{}, nil, errSyntax
		}
		b = b[eq+1:]
	}
	if len(b) < 2 || b[0] != '{' {
		return capture.Value{}, nil, errSyntax
	}
	b = b[1:]
	elems := make([]capture.Value, 0, 4)
	if b[0] == '}' {
		return capture.Value{Kind: capture.Array, Elems: elems}, b[1:], nil
	}
	for {
		var v capture.Value
		switch {
		case len(b) == 0:
			return capture.Value{}, nil, errSyntax
		case b[0] == '{':
			// More dimensions: flattened in row-major order, since a Connect array schema has
			// one element type (Debezium has no shape for int[][] either).
			sub, rest, err := d.parseArray(b)
			if err != nil {
				return sub, nil, err
			}
			elems = append(elems, sub.Elems...)
			b = rest
			if len(b) == 0 {
				return capture.Value{}, nil, errSyntax
			}
			if b[0] == '}' {
				return capture.Value{Kind: capture.Array, Elems: elems}, b[1:], nil
			}
			if b[0] != d.delim {
				return capture.Value{}, nil, errSyntax
			}
			b = b[1:]
			continue
		case b[0] == '"':
			// Quoted: unescape in place.
			w := 0
			i := 1
			for ; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
					if i >= len(b) {
						return capture.Value{}, nil, errSyntax
					}
				}
				b[1+w] = b[i]
				w++
			}
			if i >= len(b) {
				return capture.Value{}, nil, errSyntax
			}
			ev, err := d.elem.decode(b[1 : 1+w])
			if err != nil {
				return ev, nil, err
			}
			v = ev
			b = b[i+1:]
		default:
			e := 0
			for e < len(b) && b[e] != d.delim && b[e] != '}' {
				e++
			}
			if e == len(b) {
				return capture.Value{}, nil, errSyntax
			}
			tok := b[:e]
			if bstr(tok) != "NULL" {
				ev, err := d.elem.decode(tok)
				if err != nil {
					return ev, nil, err
				}
				v = ev
			}
			b = b[e:]
		}
		elems = append(elems, v)
		if len(b) == 0 {
			return capture.Value{}, nil, errSyntax
		}
		if b[0] == '}' {
			return capture.Value{Kind: capture.Array, Elems: elems}, b[1:], nil
		}
		if b[0] != d.delim {
			return capture.Value{}, nil, errSyntax
		}
		b = b[1:]
	}
}
