package binlog

import "github.com/sluicecdc/sluice/capture"

// dateValue is a DATE; a zero year, month or day (0000-00-00, 2020-00-00) is a zero date.
func dateValue(y, m, d int) capture.Value {
	if y == 0 || m == 0 || d == 0 {
		return capture.Value{Kind: capture.Date, Flag: capture.Zero}
	}
	return capture.Value{Kind: capture.Date, Int: capture.DaysFromCivil(int64(y), m, d)}
}

// datetimeValue is a DATETIME as if UTC, in µs.
func datetimeValue(y, mo, d, h, mi, s int, us int64, fsp int) capture.Value {
	if y == 0 || mo == 0 || d == 0 {
		return capture.Value{Kind: capture.Timestamp, Flag: capture.Zero, Aux: int32(fsp)}
	}
	t := capture.DaysFromCivil(int64(y), mo, d)*86400 + int64(h*3600+mi*60+s)
	return capture.Value{Kind: capture.Timestamp, Int: t*1e6 + us, Aux: int32(fsp)}
}

// fracMicros reads the fractional-second part of TIME2/DATETIME2/TIMESTAMP2: ceil(fsp/2)
// big-endian bytes holding the fraction in units of 10^-(2·bytes) s.
func fracMicros(r *reader, fsp int) int64 {
	switch fsp {
	case 1, 2:
		return int64(r.u8()) * 10000
	case 3, 4:
		return int64(r.beN(2)) * 100
	case 5, 6:
		return int64(r.beN(3))
	}
	return 0
}

// datetime2Value reads DATETIME2: 5 bytes big-endian = 0x8000000000 + packed, where packed
// is sign(1) year*13+month(17) day(5) hour(5) minute(6) second(6), then the fraction.
//
// Example: '2024-03-05 10:20:30.123456' (fsp 6): ym = 2024*13+3 = 26315; packed =
// ((26315<<5|5)<<17) | (10<<12|20<<6|30) = 0x19B2CAA51E; plus 0x8000000000 that is stored
// as 99 B2 CA A5 1E, then the fraction 01 E2 40 (123456).
func (e *RowsEvent) datetime2Value(r *reader, fsp int) capture.Value {
	x := int64(r.beN(5)) - 0x8000000000
	us := fracMicros(r, fsp)
	if x < 0 {
		x = -x // not produced by servers; keep the magnitude
	}
	ymd, hms := x>>17, x&(1<<17-1)
	// Rows of one event mostly share a day: reuse the last day number.
	if ymd != e.lastDay || ymd == 0 {
		ym := ymd >> 5
		y, m, d := int(ym/13), int(ym%13), int(ymd&31)
		if y == 0 || m == 0 || d == 0 {
			return capture.Value{Kind: capture.Timestamp, Flag: capture.Zero, Aux: int32(fsp)}
		}
		e.lastDay, e.lastDays = ymd, capture.DaysFromCivil(int64(y), m, d)
	}
	t := e.lastDays*86400 + (hms>>12)*3600 + (hms>>6&63)*60 + hms&63
	return capture.Value{Kind: capture.Timestamp, Int: t*1e6 + us, Aux: int32(fsp)}
}

// time2Value reads TIME2: 3 bytes big-endian = 0x800000 + packed (sign(1) unused(1) hour(10)
// minute(6) second(6)), then the fraction. Negative values are stored as the two's complement
// of the whole packed value including the fraction, so a negative integer part with a
// non-zero fraction is one less than the displayed seconds.
func time2Value(r *reader, fsp int) capture.Value {
	var packed int64 // (intpart << 24) + fraction in µs, as the server's packed form
	switch fsp {
	case 1, 2:
		ip := int64(r.beN(3)) - 0x800000
		fr := int64(r.u8())
		if ip < 0 && fr != 0 {
			ip++
			fr -= 0x100
		}
		packed = ip<<24 + fr*10000
	case 3, 4:
		ip := int64(r.beN(3)) - 0x800000
		fr := int64(r.beN(2))
		if ip < 0 && fr != 0 {
			ip++
			fr -= 0x10000
		}
		packed = ip<<24 + fr*100
	case 5, 6:
		packed = int64(r.beN(6)) - 0x800000000000
	default:
		packed = (int64(r.beN(3)) - 0x800000) << 24
	}
	neg := packed < 0
	if neg {
		packed = -packed
	}
	hms, frac := packed>>24, packed&(1<<24-1)
	us := ((hms>>12&1023)*3600+(hms>>6&63)*60+hms&63)*1e6 + frac
	if neg {
		us = -us
	}
	return capture.Value{Kind: capture.Time, Int: us, Aux: int32(fsp)}
}
