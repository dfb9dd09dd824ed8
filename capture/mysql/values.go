package mysql

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unsafe"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql/binlog"
	"github.com/sluicecdc/sluice/schema"
)

// textKind is how a column's text-protocol value is parsed; textKindOf picks it once per
// column so the per-row path does not switch on type names.
type textKind uint8

const (
	tkString textKind = iota
	tkInt
	tkUint
	tkFloat32
	tkFloat64
	tkDecimal
	tkDate
	tkDateTime
	tkTime
	tkBit
	tkJSON
	tkBytes
	tkGeometry
	tkVector
)

func textKindOf(c *schema.Column) textKind {
	switch c.Type {
	case "tinyint", "smallint", "mediumint", "int", "year", "boolean":
		return tkInt
	case "bigint":
		if c.Unsigned {
			return tkUint
		}
		return tkInt
	case "float":
		return tkFloat32
	case "double":
		return tkFloat64
	case "decimal":
		return tkDecimal
	case "date":
		return tkDate
	case "datetime", "timestamp":
		return tkDateTime
	case "time":
		return tkTime
	case "bit":
		return tkBit
	case "json":
		return tkJSON
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return tkBytes
	case "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection":
		return tkGeometry
	case "vector":
		return tkVector
	}
	return tkString
}

// textValue converts a column value as the text protocol returns it (the snapshot's SELECT,
// session time_zone '+00:00') into the same capture.Value the binlog decoder makes for it.
// raw nil is NULL. The value owns its bytes.
func textValue(c *schema.Column, raw []byte) (capture.Value, error) {
	return parseText(c, textKindOf(c), raw, nil)
}

// parseText is textValue for a column of kind k; the bytes a value keeps are copied into a
// (a new slice each when a is nil), never aliased to raw.
func parseText(c *schema.Column, k textKind, raw []byte, a *capture.Alloc) (capture.Value, error) {
	var v capture.Value
	err := parseTextTo(&v, c, k, raw, a)
	return v, err
}

// parseTextTo is parseText into *dst, which must be the zero Value: the snapshot readers
// write each value once, in place in its row (a returned Value, 72 bytes with pointers, was
// copied twice per column, under the garbage collector's write barrier).
func parseTextTo(dst *capture.Value, c *schema.Column, k textKind, raw []byte, a *capture.Alloc) error {
	if raw == nil {
		return nil
	}
	s := bstr(raw) // read-only view: nothing below keeps it
	switch k {
	case tkInt:
		if v, ok := atoi64(raw); ok {
			dst.Kind, dst.Int = capture.Int, v // scalar fields only: no pointer write
			return nil
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return err
		}
		*dst = capture.IntValue(v)
		return nil
	case tkUint:
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return err
		}
		*dst = capture.UintValue(v)
		return nil
	case tkFloat32:
		v, err := strconv.ParseFloat(s, 32)
		if err != nil {
			return err
		}
		*dst = capture.Float32Value(float32(v))
		return nil
	case tkFloat64:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		*dst = capture.Float64Value(v)
		return nil
	case tkDecimal:
		if v, ok := decimalFast(raw, c.Scale); ok && v.Big == nil {
			dst.Kind, dst.Flag, dst.Int, dst.Aux = v.Kind, v.Flag, v.Int, v.Aux
			return nil
		}
		v, err := parseDecimal(s, c.Scale)
		*dst = v
		return err
	case tkDate:
		if isZeroDate(s) {
			*dst = capture.Value{Kind: capture.Date, Flag: capture.Zero}
			return nil
		}
		d, err := parseDate(s)
		if err != nil {
			return err
		}
		*dst = capture.DateValue(d)
		return nil
	case tkDateTime:
		kind := capture.Timestamp
		if c.Type == "timestamp" {
			kind = capture.TimestampTZ
		}
		fsp := int32(max(c.Scale, 0))
		if isZeroDate(s) {
			*dst = capture.Value{Kind: kind, Flag: capture.Zero, Aux: fsp}
			return nil
		}
		us, ok := dateTimeFast(raw)
		if !ok {
			var err error
			if us, err = parseDateTime(s); err != nil {
				return err
			}
		}
		dst.Kind, dst.Int, dst.Aux = kind, us, fsp
		return nil
	case tkTime:
		us, err := parseTime(s)
		if err != nil {
			return err
		}
		*dst = capture.TimeValue(us, int32(max(c.Scale, 0)))
		return nil
	case tkBit:
		b := a.Bytes(len(raw))
		for i := range raw {
			b[i] = raw[len(raw)-1-i]
		}
		*dst = capture.Value{Kind: capture.Bits, Bytes: b, Aux: int32(c.Length)}
		return nil
	case tkJSON:
		dst.Kind, dst.Bytes = capture.JSON, a.Copy(raw)
		return nil
	case tkBytes:
		*dst = capture.BytesValue(a.Copy(raw))
		return nil
	case tkGeometry:
		*dst = binlog.GeometryValue(a.Copy(raw))
		return nil
	case tkVector:
		el := make([]capture.Value, 0, len(raw)/4)
		for i := 0; i+4 <= len(raw); i += 4 {
			bits := uint32(raw[i]) | uint32(raw[i+1])<<8 | uint32(raw[i+2])<<16 | uint32(raw[i+3])<<24
			el = append(el, capture.Float32Value(math.Float32frombits(bits)))
		}
		*dst = capture.Value{Kind: capture.Vector, Elems: el}
		return nil
	}
	dst.Kind, dst.Bytes = capture.String, a.Copy(raw)
	return nil
}

// bstr views b as a string without copying; the string must not outlive b or be kept.
func bstr(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// atoi64 parses an optionally signed decimal integer of at most 18 digits (ok false: let
// strconv decide, with its error).
func atoi64(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && b[0] == '-' {
		neg, b = true, b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// decimalFast is parseDecimal for values whose unscaled form has at most 18 digits (ok false:
// anything else, left to parseDecimal).
func decimalFast(b []byte, scale int) (capture.Value, bool) {
	if scale < 0 {
		scale = 0
	}
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg, b = b[0] == '-', b[1:]
	}
	var n int64
	sig := 0 // significant digits so far
	frac := -1
	for _, c := range b {
		if c == '.' {
			if frac >= 0 {
				return capture.Value{}, false
			}
			frac = 0
			continue
		}
		if c < '0' || c > '9' {
			return capture.Value{}, false
		}
		if frac >= 0 {
			if frac == scale {
				continue // digits beyond the scale are dropped, as parseDecimal does
			}
			frac++
		}
		if n != 0 || c != '0' {
			sig++
		}
		n = n*10 + int64(c-'0')
	}
	if frac < 0 {
		frac = 0
	}
	for ; frac < scale; frac++ {
		if n != 0 {
			sig++
		}
		n *= 10
	}
	if sig > 18 {
		return capture.Value{}, false
	}
	if neg {
		n = -n
	}
	return capture.DecimalValue(n, int32(scale)), true
}

// dateTimeFast parses "YYYY-MM-DD HH:MM:SS[.f…]" (ok false: another form, left to
// parseDateTime).
func dateTimeFast(b []byte) (int64, bool) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || b[10] != ' ' || b[13] != ':' || b[16] != ':' {
		return 0, false
	}
	num := func(p []byte) (int, bool) {
		n := 0
		for _, c := range p {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(b[0:4])
	mo, ok2 := num(b[5:7])
	d, ok3 := num(b[8:10])
	h, ok4 := num(b[11:13])
	mi, ok5 := num(b[14:16])
	sec, ok6 := num(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return 0, false
	}
	us := (capture.DaysFromCivil(int64(y), mo, d)*86400 + int64(h)*3600 + int64(mi)*60 + int64(sec)) * 1e6
	if len(b) > 19 {
		f := b[20:]
		if b[19] != '.' || len(f) == 0 || len(f) > 6 {
			return 0, false
		}
		n, ok := num(f)
		if !ok {
			return 0, false
		}
		for i := len(f); i < 6; i++ {
			n *= 10
		}
		us += int64(n)
	}
	return us, true
}

func isZeroDate(s string) bool {
	return strings.HasPrefix(s, "0000-") || strings.Contains(s[:min(len(s), 10)], "-00")
}

// parseDecimal reads "-123.45" into an unscaled integer at the column's scale.
func parseDecimal(s string, scale int) (capture.Value, error) {
	if scale < 0 {
		scale = 0
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	ip, fp, _ := strings.Cut(s, ".")
	if len(fp) > scale {
		fp = fp[:scale]
	}
	fp += strings.Repeat("0", scale-len(fp))
	digits := strings.TrimLeft(ip+fp, "0")
	if digits == "" {
		return capture.DecimalValue(0, int32(scale)), nil
	}
	if len(digits) <= 18 {
		v, err := strconv.ParseInt(digits, 10, 64)
		if err != nil {
			return capture.Value{}, fmt.Errorf("decimal %q: %w", s, err)
		}
		if neg {
			v = -v
		}
		return capture.DecimalValue(v, int32(scale)), nil
	}
	b, ok := new(big.Int).SetString(digits, 10)
	if !ok {
		return capture.Value{}, fmt.Errorf("decimal %q", s)
	}
	if neg {
		b.Neg(b)
	}
	return capture.BigDecimalValue(b, int32(scale)), nil
}

func atoiN(s string) (int, error) {
	n := 0
	if s == "" {
		return 0, fmt.Errorf("empty number")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("bad number %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

func parseDate(s string) (int64, error) {
	if len(s) < 10 || s[4] != '-' || s[7] != '-' {
		return 0, fmt.Errorf("date %q", s)
	}
	y, e1 := atoiN(s[:4])
	m, e2 := atoiN(s[5:7])
	d, e3 := atoiN(s[8:10])
	if e1 != nil || e2 != nil || e3 != nil {
		return 0, fmt.Errorf("date %q", s)
	}
	return capture.DaysFromCivil(int64(y), m, d), nil
}

func parseDateTime(s string) (int64, error) {
	d, err := parseDate(s)
	if err != nil {
		return 0, err
	}
	us := d * 86400 * 1e6
	if len(s) > 11 {
		t, err := parseTime(s[11:])
		if err != nil {
			return 0, fmt.Errorf("datetime %q: %w", s, err)
		}
		us += t
	}
	return us, nil
}

// parseTime reads "[-]H+:MM:SS[.ffffff]" into microseconds.
func parseTime(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	main, frac, _ := strings.Cut(s, ".")
	parts := strings.Split(main, ":")
	if len(parts) != 3 {
		return 0, fmt.Errorf("time %q", s)
	}
	h, e1 := atoiN(parts[0])
	m, e2 := atoiN(parts[1])
	sec, e3 := atoiN(parts[2])
	if e1 != nil || e2 != nil || e3 != nil {
		return 0, fmt.Errorf("time %q", s)
	}
	us := (int64(h)*3600 + int64(m)*60 + int64(sec)) * 1e6
	if frac != "" {
		frac = (frac + "000000")[:6]
		f, err := atoiN(frac)
		if err != nil {
			return 0, fmt.Errorf("time %q", s)
		}
		us += int64(f)
	}
	if neg {
		us = -us
	}
	return us, nil
}
