package envelope

import (
	"encoding/hex"
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"strings"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

// Column defaults. Debezium copies a column's DEFAULT into its field schema when its default-value
// converter can parse it (MySqlDefaultValueConverter, PostgresDefaultValueConverter); the
// JsonConverter then writes that default for every null in the column. Rules reproduced here:
//
//   - MySQL: the text information_schema reports. Zero dates (0000-00-00…) and CURRENT_TIMESTAMP on
//     a TIMESTAMP column give no default when the column is nullable, the epoch otherwise;
//     CURRENT_TIMESTAMP on DATETIME gives the epoch (the DDL parser substitutes
//     1970-01-01 00:00:00). Text defaults are taken literally. TIMESTAMP literals are read as UTC.
//   - PostgreSQL (pg_get_expr text): only bit, varbit, bool, bpchar, varchar, text, numeric,
//     float4/8, int2/4/8, serial types, json, jsonb, xml, uuid, date, time, timestamp, timestamptz
//     and interval are parsed; the literal is the first '…' of the expression (else the whole
//     text); a function call (now(), nextval(…), gen_random_uuid()) becomes the type's zero
//     placeholder (0, false, "", {}, the epoch, the nil UUID), as do CURRENT_TIMESTAMP and its
//     kin; "NULL::…" gives no default; an enum default is its cast literal. Struct-valued
//     defaults (VariableScaleDecimal, geometry) are dropped.
//
// An unparseable default gives no default (Debezium logs a warning and does the same).

func defaultJSON(d schema.Dialect, c *schema.Column, m *Mapping) []byte {
	if m.Schema.Type == Struct || m.Conv == ConvArray || m.Conv == ConvVector {
		return nil
	}
	if d == schema.Postgres {
		return pgDefault(c, m)
	}
	return mysqlDefault(c, m)
}

func fallbackJSON(m *Mapping) []byte {
	switch m.Conv {
	case ConvBool:
		return []byte("false")
	case ConvInt, ConvDate, ConvTimeMilli, ConvTimeMicro, ConvTimestampMilli, ConvTimestampMicro, ConvInterval:
		return []byte("0")
	case ConvFloat32, ConvFloat64, ConvDecimalDouble:
		return []byte("0.0")
	case ConvDecimal, ConvUintDec:
		return []byte(`"AA=="`)
	case ConvVarDecimal:
		return []byte(`{"scale":0,"value":"AA=="}`)
	case ConvDecimalString:
		return AppendJSONString(nil, string(AppendPlainDecimal(nil, 0, nil, max(m.Scale, 0))))
	case ConvString, ConvBytes, ConvBytesBase64, ConvBytesBase64URL, ConvBytesHex, ConvBits:
		return []byte(`""`)
	case ConvDateISO:
		return []byte(`"1970-01-01Z"`)
	case ConvTimeISO, ConvZonedTime:
		return []byte(`"00:00:00Z"`)
	case ConvTimestampISO, ConvZonedTimestamp:
		return []byte(`"1970-01-01T00:00:00Z"`)
	case ConvArray, ConvVector:
		return []byte("[]")
	case ConvIntervalString:
		return []byte(`"P0Y0M0DT0H0M0S"`)
	case ConvJSONObject:
		return []byte("{}")
	case ConvPoint:
		// Debezium's convertPoint falls back to POINT(0 0) (wkb little-endian, no SRID); null
		// would not fit the required struct.
		return []byte(`{"x":0.0,"y":0.0,"wkb":"AQEAAAAAAAAAAAAAAAAAAAAAAAAA","srid":null}`)
	case ConvGeometry:
		// Debezium's convertGeometry falls back to an empty geometry: GEOMETRYCOLLECTION EMPTY.
		return []byte(`{"wkb":"AQcAAAAAAAAA","srid":null}`)
	}
	return nil
}

// parsedDecimal is a decimal literal: unscaled × 10^-scale.
type parsedDecimal struct {
	u     *big.Int
	scale int
}

func parseDecimal(s string) (parsedDecimal, bool) {
	s = strings.TrimSpace(s)
	exp := 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.Atoi(s[i+1:])
		if err != nil {
			return parsedDecimal{}, false
		}
		exp = e
		s = s[:i]
	}
	scale := 0
	if i := strings.IndexByte(s, '.'); i >= 0 {
		scale = len(s) - i - 1
		s = s[:i] + s[i+1:]
	}
	u, ok := new(big.Int).SetString(s, 10)
	if !ok || s == "" || s == "-" || s == "+" {
		return parsedDecimal{}, false
	}
	scale -= exp
	if scale < 0 {
		u.Mul(u, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(-scale)), nil))
		scale = 0
	}
	return parsedDecimal{u, scale}, true
}

// rescale sets the scale to s, rounding HALF_UP when it decreases.
func (p parsedDecimal) rescale(s int) parsedDecimal {
	if s == p.scale || s < 0 {
		return p
	}
	if s > p.scale {
		f := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(s-p.scale)), nil)
		return parsedDecimal{new(big.Int).Mul(p.u, f), s}
	}
	f := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(p.scale-s)), nil)
	q, r := new(big.Int).QuoRem(p.u, f, new(big.Int))
	r.Abs(r).Mul(r, big.NewInt(2))
	if r.Cmp(f) >= 0 {
		if p.u.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return parsedDecimal{q, s}
}

func (p parsedDecimal) float() float64 {
	f, _ := new(big.Float).SetInt(p.u).Float64()
	return f / math.Pow10(p.scale)
}

func decimalDefault(m *Mapping, p parsedDecimal) []byte {
	switch m.Conv {
	case ConvDecimal, ConvUintDec:
		p = p.rescale(m.Scale)
		return AppendDecimal(nil, 0, p.u)
	case ConvDecimalDouble:
		f, err := strconv.ParseFloat(string(AppendPlainDecimal(nil, 0, p.u, p.scale)), 64)
		if err != nil {
			return nil
		}
		return AppendJavaDouble(nil, f)
	case ConvDecimalString:
		if m.Scale >= 0 {
			p = p.rescale(m.Scale)
		}
		return AppendJSONString(nil, string(AppendPlainDecimal(nil, 0, p.u, p.scale)))
	}
	return nil
}

// parseDateTime parses yyyy-mm-dd[( |T)HH:MM[:SS[.f]]][Z|±HH[:MM[:SS]]] into epoch micros; offset
// says whether a zone offset was present.
func parseDateTime(s string) (us int64, offset bool, ok bool) {
	s = strings.TrimSpace(s)
	i := 0
	num := func(min, max int) (int64, bool) {
		j := i
		if i < len(s) && (s[i] == '-' || s[i] == '+') && min == 4 {
			i++
		}
		k := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' && i-k < max {
			i++
		}
		if i-k < min {
			return 0, false
		}
		v, err := strconv.ParseInt(s[j:i], 10, 64)
		return v, err == nil
	}
	lit := func(c byte) bool {
		if i < len(s) && s[i] == c {
			i++
			return true
		}
		return false
	}
	y, ok1 := num(4, 9)
	if !ok1 || !lit('-') {
		return 0, false, false
	}
	mo, ok2 := num(1, 2)
	if !ok2 || !lit('-') {
		return 0, false, false
	}
	d, ok3 := num(1, 2)
	if !ok3 || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return 0, false, false
	}
	days := capture.DaysFromCivil(y, int(mo), int(d))
	var micros int64
	if lit(' ') || lit('T') {
		h, ok := num(1, 2)
		if !ok || !lit(':') {
			return 0, false, false
		}
		mi, ok := num(1, 2)
		if !ok {
			return 0, false, false
		}
		var sec int64
		if lit(':') {
			if sec, ok = num(1, 2); !ok {
				return 0, false, false
			}
		}
		var frac int64
		if lit('.') {
			k := i
			for i < len(s) && s[i] >= '0' && s[i] <= '9' {
				i++
			}
			f := s[k:i]
			for len(f) < 6 {
				f += "0"
			}
			frac, _ = strconv.ParseInt(f[:6], 10, 64)
		}
		micros = ((h*60+mi)*60+sec)*1_000_000 + frac
	}
	us = days*86400_000_000 + micros
	if i < len(s) {
		switch s[i] {
		case 'Z':
			i++
			offset = true
		case '+', '-':
			sign := int64(1)
			if s[i] == '-' {
				sign = -1
			}
			i++
			oh, ok := num(1, 2)
			if !ok {
				return 0, false, false
			}
			var om, os int64
			if lit(':') {
				om, _ = num(2, 2)
				if lit(':') {
					os, _ = num(2, 2)
				}
			} else if i+2 <= len(s) {
				om, _ = num(2, 2)
			}
			us -= sign * (oh*3600 + om*60 + os) * 1_000_000
			offset = true
		}
	}
	if i != len(s) {
		return 0, false, false
	}
	return us, offset, true
}

// parseTimeOfDay parses [-]H+:MM[:SS[.f]] into micros.
func parseTimeOfDay(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, false
	}
	h, err1 := strconv.ParseInt(parts[0], 10, 64)
	m, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	var sec, frac int64
	if len(parts) == 3 {
		sp := parts[2]
		if i := strings.IndexByte(sp, '.'); i >= 0 {
			f := sp[i+1:]
			for len(f) < 6 {
				f += "0"
			}
			frac, _ = strconv.ParseInt(f[:6], 10, 64)
			sp = sp[:i]
		}
		var err error
		if sec, err = strconv.ParseInt(sp, 10, 64); err != nil {
			return 0, false
		}
	}
	us := ((h*60+m)*60+sec)*1_000_000 + frac
	if neg {
		us = -us
	}
	return us, true
}

// temporalDefault renders epoch micros (or micros of day for times) per m.
func temporalDefault(m *Mapping, us int64) []byte {
	if m.AdjustYears {
		us = adjustYearMicros(us) // Debezium converts defaults with the same converter
	}
	switch m.Conv {
	case ConvDate:
		return strconv.AppendInt(nil, FloorDiv(us, 86400_000_000), 10)
	case ConvDateISO:
		return append(AppendISODate([]byte{'"'}, FloorDiv(us, 86400_000_000)), 'Z', '"')
	case ConvTimestampMilli, ConvTimeMilli:
		return strconv.AppendInt(nil, FloorDiv(us, 1000), 10)
	case ConvTimestampMicro, ConvTimeMicro:
		return strconv.AppendInt(nil, us, 10)
	case ConvTimestampISO:
		return append(AppendISOTimestamp([]byte{'"'}, us, -1), '"')
	case ConvZonedTimestamp:
		return append(AppendISOTimestamp([]byte{'"'}, us, m.Scale), '"')
	case ConvTimeISO:
		return append(append(AppendISOTime([]byte{'"'}, us, -1), 'Z'), '"')
	}
	return nil
}

func isZeroDate(s string) bool {
	if s == "0" {
		return true
	}
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	if s[:4] != "0000" && s[5:7] != "00" && s[8:10] != "00" {
		return false
	}
	rest := s[10:]
	return rest == "" || strings.HasPrefix(rest, " 00:00:00") && strings.Trim(rest[9:], ".0") == ""
}

func isCurrentTimestamp(s string) bool {
	u := strings.ToUpper(s)
	for _, p := range []string{"CURRENT_TIMESTAMP", "NOW(", "LOCALTIMESTAMP", "LOCALTIME"} {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	return false
}

func mysqlDefault(c *schema.Column, m *Mapping) []byte {
	v := c.Default
	switch m.Conv {
	case ConvString:
		return AppendJSONString(nil, v)
	case ConvBytes:
		return AppendBase64(nil, []byte(v))
	case ConvBytesBase64, ConvBytesBase64URL, ConvBytesHex:
		return appendBinaryString(nil, m.Conv, []byte(v))
	}
	v = strings.TrimSpace(v)
	switch m.Conv {
	case ConvBool:
		if b, ok := parseBitLiteral(v); ok {
			return []byte(strconv.FormatBool(b != 0))
		}
		if i, err := strconv.ParseInt(v, 10, 64); err == nil {
			return []byte(strconv.FormatBool(i != 0))
		}
		return []byte(strconv.FormatBool(strings.EqualFold(v, "true")))
	case ConvInt:
		switch {
		case strings.EqualFold(v, "true"):
			return []byte("1")
		case strings.EqualFold(v, "false"):
			return []byte("0")
		}
		if i, err := strconv.ParseInt(v, 10, 64); err == nil {
			return strconv.AppendInt(nil, i, 10)
		}
		if u, err := strconv.ParseUint(v, 10, 64); err == nil {
			return strconv.AppendInt(nil, int64(u), 10)
		}
		// BinlogValueConverters allows decimal defaults on smallint, int and bigint columns:
		// Math.round(Double.parseDouble(v)).
		if c.Type != "tinyint" {
			if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return strconv.AppendInt(nil, int64(math.Floor(f+0.5)), 10)
			}
		}
		return nil
	case ConvUintDec, ConvDecimal, ConvDecimalDouble, ConvDecimalString:
		p, ok := parseDecimal(v)
		if !ok {
			return nil
		}
		return decimalDefault(m, p)
	case ConvFloat32:
		f, err := strconv.ParseFloat(v, 32)
		if err != nil {
			return nil
		}
		return AppendJavaFloat(nil, float32(f))
	case ConvFloat64:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil
		}
		return AppendJavaDouble(nil, f)
	case ConvBits:
		b, ok := parseBitLiteral(v)
		if !ok {
			return nil
		}
		return AppendBase64(nil, bitsLE(b, c.Length))
	case ConvDate, ConvDateISO:
		if isZeroDate(v) {
			if c.Nullable {
				return nil
			}
			v = "1970-01-01"
		}
		us, _, ok := parseDateTime(v)
		if !ok {
			if c.Nullable {
				return nil
			}
			us = 0
		}
		return temporalDefault(m, us)
	case ConvTimestampMilli, ConvTimestampMicro, ConvTimestampISO:
		if isCurrentTimestamp(v) {
			v = "1970-01-01 00:00:00"
		}
		if isZeroDate(v) {
			if c.Nullable {
				return nil
			}
			v = "1970-01-01 00:00:00"
		}
		us, _, ok := parseDateTime(v)
		if !ok {
			if c.Nullable {
				return nil
			}
			us = 0
		}
		return temporalDefault(m, us)
	case ConvZonedTimestamp:
		if isCurrentTimestamp(v) || isZeroDate(v) || v == "1970-01-01 00:00:00" {
			if c.Nullable {
				return nil
			}
			return temporalDefault(m, 0)
		}
		us, _, ok := parseDateTime(v)
		if !ok {
			return nil
		}
		return temporalDefault(m, us)
	case ConvTimeMilli, ConvTimeMicro, ConvTimeISO:
		if i := strings.IndexByte(v, ' '); i >= 0 && strings.Count(v[:i], "-") == 2 {
			v = v[i+1:]
		}
		us, ok := parseTimeOfDay(v)
		if !ok {
			return nil
		}
		return temporalDefault(m, us)
	}
	return nil
}

// parseBitLiteral parses b'0101', 0b0101 or a decimal number.
func parseBitLiteral(v string) (uint64, bool) {
	s := v
	switch {
	case (strings.HasPrefix(s, "b'") || strings.HasPrefix(s, "B'")) && strings.HasSuffix(s, "'"):
		s = s[2 : len(s)-1]
	case strings.HasPrefix(s, "0b"):
		s = s[2:]
	default:
		u, err := strconv.ParseUint(s, 10, 64)
		return u, err == nil
	}
	if s == "" {
		return 0, true
	}
	u, err := strconv.ParseUint(s, 2, 64)
	return u, err == nil
}

// bitsLE returns the ⌈n/8⌉ little-endian bytes of b.
func bitsLE(b uint64, n int) []byte {
	k := (n + 7) / 8
	if k < 1 {
		k = 1
	}
	out := make([]byte, k)
	for i := 0; i < k && i < 8; i++ {
		out[i] = byte(b >> (8 * i))
	}
	return out
}

func appendBinaryString(dst []byte, conv Conv, b []byte) []byte {
	switch conv {
	case ConvBytesBase64URL:
		dst = append(dst, '"')
		dst = base64URL.AppendEncode(dst, b)
		return append(dst, '"')
	case ConvBytesHex:
		dst = append(dst, '"')
		dst = hex.AppendEncode(dst, b)
		return append(dst, '"')
	}
	return AppendBase64(dst, b)
}

// AppendBinaryString appends b as binary.handling.mode base64, base64-url-safe or hex renders it.
func AppendBinaryString(dst []byte, conv Conv, b []byte) []byte {
	return appendBinaryString(dst, conv, b)
}

// pgExtract reproduces PostgresDefaultValueConverter.extractDefault(value, placeholder).
func pgExtract(v, placeholder string) string {
	if isPGFunctionCall(v) || pgCurrentDateTime[strings.ToLower(v)] {
		return placeholder
	}
	i := strings.IndexByte(v, '\'')
	if i < 0 {
		return v
	}
	j := strings.IndexByte(v[i+1:], '\'')
	if j < 0 {
		return v[i+1:]
	}
	return v[i+1 : i+1+j]
}

// pgCurrentDateTime are the SQL date/time functions written without parentheses, which Debezium
// also maps to the placeholder (DBZ-5384).
var pgCurrentDateTime = map[string]bool{"current_timestamp": true, "current_time": true, "current_date": true,
	"localtime": true, "localtimestamp": true}

// isPGFunctionCall matches ^[(]?[A-Za-z0-9_.]+\((?:.+(?:, ?.+)*)?\): a schema-qualified name too
// (s2.gen_id(), DBZ-5340).
func isPGFunctionCall(v string) bool {
	s := strings.TrimPrefix(v, "(")
	i := 0
	for i < len(s) && (s[i] == '_' || s[i] == '.' || s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z' || s[i] >= '0' && s[i] <= '9') {
		i++
	}
	if i == 0 || i >= len(s) || s[i] != '(' {
		return false
	}
	return strings.IndexByte(s[i+1:], ')') >= 0
}

func pgDefault(c *schema.Column, m *Mapping) []byte {
	v := c.Default
	if strings.HasPrefix(v, "NULL::") {
		// DEFAULT NULL as pg_get_expr writes it: no default, whatever the type (DBZ-4736).
		return nil
	}
	if len(c.Enum) > 0 {
		// An enum default is its cast literal ('DRAFT'::"Status"); anything else has none
		// (PostgresDefaultValueConverter.extractEnumDefault).
		if !strings.Contains(v, "::") || isPGFunctionCall(v) {
			return nil
		}
		return AppendJSONString(nil, pgExtract(v, ""))
	}
	switch pgTypeName(c.Type) {
	case "bit", "varbit":
		s := pgExtract(v, "00")
		if m.Conv == ConvBool {
			if len(s) != 1 {
				return nil
			}
			return []byte(strconv.FormatBool(s == "1"))
		}
		b, err := strconv.ParseUint(s, 2, 64)
		if err != nil {
			return nil
		}
		// As a value: the bytes end at the highest bit set (PostgresValueConverter.convertBits).
		var le []byte
		if b != 0 {
			le = bitsLE(b, bits.Len64(b))
		}
		return AppendBase64(nil, le)
	case "bool":
		return []byte(strconv.FormatBool(strings.EqualFold(pgExtract(v, "false"), "true")))
	case "bpchar", "varchar", "text", "xml":
		return AppendJSONString(nil, pgExtract(v, ""))
	case "json", "jsonb":
		return AppendJSONString(nil, pgExtract(v, "{}"))
	case "uuid":
		s := strings.ToLower(pgExtract(v, "00000000-0000-0000-0000-000000000000"))
		if len(s) != 36 {
			return nil
		}
		return AppendJSONString(nil, s)
	case "numeric":
		p, ok := parseDecimal(pgExtract(v, "0.0"))
		if !ok {
			return nil
		}
		return decimalDefault(m, p)
	case "float4", "float8":
		f, err := strconv.ParseFloat(pgExtract(v, "0.0"), 64)
		if err != nil {
			return nil
		}
		if m.Conv == ConvFloat32 {
			return AppendJavaFloat(nil, float32(f))
		}
		return AppendJavaDouble(nil, f)
	case "int2", "int4", "int8":
		i, err := strconv.ParseInt(pgExtract(v, "0"), 10, 64)
		if err != nil {
			return nil
		}
		return strconv.AppendInt(nil, i, 10)
	case "date", "timestamp", "timestamptz":
		us, _, ok := parseDateTime(pgExtract(v, "1970-01-01"))
		if !ok {
			return nil
		}
		return temporalDefault(m, us)
	case "time":
		us, ok := parseTimeOfDay(pgExtract(v, "00:00"))
		if !ok {
			return nil
		}
		return temporalDefault(m, us)
	case "interval":
		if m.Conv == ConvIntervalString {
			iv, ok := parseIntervalParts(pgExtract(v, "00:00:00"))
			if !ok {
				return nil
			}
			return append(appendISOInterval([]byte{'"'}, iv), '"')
		}
		us, ok := parsePGInterval(pgExtract(v, "epoch"))
		if !ok {
			return nil
		}
		return strconv.AppendInt(nil, us, 10)
	}
	return nil
}

// MicrosPerMonth is Debezium's MicroDuration month: 365.25/12 days.
const MicrosPerMonth = 2_629_800_000_000

// parsePGInterval parses PostgreSQL's default interval output ("1 year 2 mons 3 days 04:05:06").
func parsePGInterval(s string) (int64, bool) {
	f := strings.Fields(s)
	var us int64
	for i := 0; i < len(f); i++ {
		if strings.Contains(f[i], ":") {
			t, ok := parseTimeOfDay(f[i])
			if !ok {
				return 0, false
			}
			us += t
			continue
		}
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil || i+1 >= len(f) {
			return 0, false
		}
		i++
		switch strings.TrimSuffix(f[i], "s") {
		case "year":
			us += n * 12 * MicrosPerMonth
		case "mon":
			us += n * MicrosPerMonth
		case "day":
			us += n * 86400_000_000
		default:
			return 0, false
		}
	}
	return us, len(f) > 0
}
