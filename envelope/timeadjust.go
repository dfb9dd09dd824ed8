package envelope

import "github.com/sluicecdc/sluice/capture"

// Debezium's enable.time.adjuster (MySQL/MariaDB, default true) reads a stored year 0–99 as
// a two-digit year: 0–69 → 2000–2069, 70–99 → 1970–1999 (BinlogValueConverters.adjustTemporal,
// applied by the value converters to DATE, DATETIME and TIMESTAMP in the snapshot and the
// stream alike). MySQL itself already maps two-digit years written as '78-04-01'; what is left
// are years written with four digits, '0078-04-01'. Adding 2000 or 1900 years keeps the month
// and day valid: y and y+1900 (70 ≤ y ≤ 99), y and y+2000 are leap years alike.

var (
	year0Day   = capture.DaysFromCivil(0, 1, 1)
	year100Day = capture.DaysFromCivil(100, 1, 1)
)

const microsPerDay = 86_400_000_000

// year100Micros is 0100-01-01 in microseconds: a value at or after it is never adjusted.
var year100Micros = year100Day * microsPerDay

// adjustYearDays returns the days since the epoch of the adjusted date.
func adjustYearDays(days int64) int64 {
	if days < year0Day || days >= year100Day {
		return days
	}
	y, m, d := capture.CivilFromDays(days)
	if y < 70 {
		y += 2000
	} else {
		y += 1900
	}
	return capture.DaysFromCivil(y, m, d)
}

// adjustYearMicros is adjustYearDays for microseconds since the epoch.
func adjustYearMicros(us int64) int64 {
	day := FloorDiv(us, microsPerDay)
	if day < year0Day || day >= year100Day {
		return us
	}
	return us + (adjustYearDays(day)-day)*microsPerDay
}

// adjustTwoDigitYear returns v adjusted, ok false when nothing changes (zero dates and
// years from 100 on).
func adjustTwoDigitYear(v *capture.Value) (capture.Value, bool) {
	if v.Flag != 0 {
		return capture.Value{}, false
	}
	w := *v
	switch v.Kind {
	case capture.Date:
		w.Int = adjustYearDays(v.Int)
	case capture.Timestamp, capture.TimestampTZ:
		w.Int = adjustYearMicros(v.Int)
	default:
		return capture.Value{}, false
	}
	return w, w.Int != v.Int
}
