package mysql

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

// textValue converts a column value as the text protocol returns it (the snapshot's SELECT,
// session time_zone '+00:00') into the same capture.Value the binlog decoder makes for it.
// raw nil is NULL. The value owns its bytes.
func textValue(c *schema.Column, raw []byte) (capture.Value, error) {
	if raw == nil {
		return capture.Value{}, nil
	}
	s := string(raw)
	switch c.Type {
	case "tinyint", "smallint", "mediumint", "int", "year", "boolean":
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return capture.Value{}, err
		}
		return capture.IntValue(v), nil
	case "bigint":
		if c.Unsigned {
			v, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				return capture.Value{}, err
			}
			return capture.UintValue(v), nil
		}
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return capture.Value{}, err
		}
		return capture.IntValue(v), nil
	case "float":
		v, err := strconv.ParseFloat(s, 32)
		if err != nil {
			return capture.Value{}, err
		}
		return capture.Float32Value(float32(v)), nil
	case "double":
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return capture.Value{}, err
		}
		return capture.Float64Value(v), nil
	case "decimal":
		return parseDecimal(s, c.Scale)
	case "date":
		if isZeroDate(s) {
			return capture.Value{Kind: capture.Date, Flag: capture.Zero}, nil
		}
		d, err := parseDate(s)
		if err != nil {
			return capture.Value{}, err
		}
		return capture.DateValue(d), nil
	case "datetime", "timestamp":
		kind := capture.Timestamp
		if c.Type == "timestamp" {
			kind = capture.TimestampTZ
		}
		fsp := int32(max(c.Scale, 0))
		if isZeroDate(s) {
			return capture.Value{Kind: kind, Flag: capture.Zero, Aux: fsp}, nil
		}
		us, err := parseDateTime(s)
		if err != nil {
			return capture.Value{}, err
		}
		return capture.Value{Kind: kind, Int: us, Aux: fsp}, nil
	case "time":
		us, err := parseTime(s)
		if err != nil {
			return capture.Value{}, err
		}
		return capture.TimeValue(us, int32(max(c.Scale, 0))), nil
	case "bit":
		b := make([]byte, len(raw))
		for i := range raw {
			b[i] = raw[len(raw)-1-i]
		}
		return capture.Value{Kind: capture.Bits, Bytes: b, Aux: int32(c.Length)}, nil
	case "json":
		return capture.JSONValue([]byte(s)), nil
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return capture.BytesValue([]byte(s)), nil
	case "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection":
		b := []byte(s)
		if len(b) < 4 {
			return capture.Value{Kind: capture.Geometry, Bytes: b}, nil
		}
		srid := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
		return capture.Value{Kind: capture.Geometry, Flag: capture.HasSRID, Aux: int32(srid), Bytes: b[4:]}, nil
	case "vector":
		el := make([]capture.Value, 0, len(raw)/4)
		for i := 0; i+4 <= len(raw); i += 4 {
			bits := uint32(raw[i]) | uint32(raw[i+1])<<8 | uint32(raw[i+2])<<16 | uint32(raw[i+3])<<24
			el = append(el, capture.Float32Value(math.Float32frombits(bits)))
		}
		return capture.Value{Kind: capture.Vector, Elems: el}, nil
	}
	return capture.StringValue([]byte(s)), nil
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
	return daysFromCivil(y, m, d), nil
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

// daysFromCivil is days since 1970-01-01 of a proleptic Gregorian date.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
