package envelope

import (
	"strconv"
	"strings"

	"github.com/sluicecdc/sluice/capture"
)

// pgInterval is a PostgreSQL interval split as the server prints it (IntervalStyle postgres):
// years and months, days, and a clock part. The clock part keeps its own sign and is not
// folded into days ('1 day -25:00:00' stays 1 day and -25 hours), as the JDBC driver's
// PGInterval reads it.
type pgInterval struct {
	years, months, days int64
	clock               int64 // µs, signed
}

// parseIntervalParts reads "1 year 2 mons -3 days +04:05:06.78" (any part may be missing).
func parseIntervalParts(s string) (pgInterval, bool) {
	var iv pgInterval
	f := strings.Fields(s)
	if len(f) == 0 {
		return iv, false
	}
	for i := 0; i < len(f); i++ {
		if strings.Contains(f[i], ":") {
			us, ok := parseIntervalClock(f[i])
			if !ok {
				return iv, false
			}
			iv.clock += us
			continue
		}
		n, err := strconv.ParseInt(f[i], 10, 64)
		if err != nil || i+1 >= len(f) {
			return iv, false
		}
		i++
		switch strings.TrimSuffix(f[i], "s") {
		case "year":
			iv.years += n
		case "mon":
			iv.months += n
		case "day":
			iv.days += n
		default:
			return iv, false
		}
	}
	return iv, true
}

// parseIntervalClock reads [+-]H+:MM:SS[.ffffff] into signed µs; hours may exceed 24.
func parseIntervalClock(s string) (int64, bool) {
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	h, rest, ok := strings.Cut(s, ":")
	if !ok {
		return 0, false
	}
	m, sec, ok := strings.Cut(rest, ":")
	if !ok {
		return 0, false
	}
	frac := ""
	sec, frac, _ = strings.Cut(sec, ".")
	hh, err1 := strconv.ParseInt(h, 10, 64)
	mm, err2 := strconv.ParseInt(m, 10, 64)
	ss, err3 := strconv.ParseInt(sec, 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || len(frac) > 6 {
		return 0, false
	}
	us := (hh*3600 + mm*60 + ss) * 1_000_000
	if frac != "" {
		f, err := strconv.ParseInt(frac, 10, 64)
		if err != nil {
			return 0, false
		}
		for i := len(frac); i < 6; i++ {
			f *= 10
		}
		us += f
	}
	if neg {
		us = -us
	}
	return us, true
}

// intervalParts returns v's parts: from the server's text when the source kept it in Bytes,
// else from the folded µs (whole days taken out of the clock part).
func intervalParts(v *capture.Value) pgInterval {
	if len(v.Bytes) > 0 {
		if iv, ok := parseIntervalParts(string(v.Bytes)); ok {
			return iv
		}
	}
	months := int64(v.Aux)
	return pgInterval{years: months / 12, months: months % 12, days: v.Int / 86_400_000_000, clock: v.Int % 86_400_000_000}
}

// appendISOInterval appends iv as Debezium's io.debezium.time.Interval writes it
// (Interval.toIsoString): every part present, "P1Y2M3DT4H5M6.78S", "P0Y0M0DT0H0M0S" for
// zero; hours, minutes and seconds each carry the clock part's sign.
func appendISOInterval(dst []byte, iv pgInterval) []byte {
	dst = append(dst, 'P')
	dst = strconv.AppendInt(dst, iv.years, 10)
	dst = append(dst, 'Y')
	dst = strconv.AppendInt(dst, iv.months, 10)
	dst = append(dst, 'M')
	dst = strconv.AppendInt(dst, iv.days, 10)
	dst = append(dst, 'D', 'T')
	c := iv.clock
	dst = strconv.AppendInt(dst, c/3_600_000_000, 10)
	dst = append(dst, 'H')
	dst = strconv.AppendInt(dst, c/60_000_000%60, 10)
	dst = append(dst, 'M')
	dst = appendIntervalSeconds(dst, c%60_000_000)
	return append(dst, 'S')
}

// appendIntervalSeconds writes the seconds of the clock part as Debezium does: the driver
// hands them over as a double (whole + µs/1e6), BigDecimal.valueOf reads its shortest
// decimal form, which is cut (not rounded) to 6 fraction digits and stripped of trailing
// zeros. The double step is kept so that the rare value it does not round-trip reads as
// Debezium's.
func appendIntervalSeconds(dst []byte, us int64) []byte {
	f := float64(us/1_000_000) + float64(us%1_000_000)/1e6
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if i := strings.IndexByte(s, '.'); i >= 0 {
		if len(s)-i-1 > 6 {
			s = s[:i+7]
		}
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if s == "-0" {
		s = "0"
	}
	return append(dst, s...)
}
