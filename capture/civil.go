package capture

// DaysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian date (y
// astronomical: 1 BC is 0). Month and day are not checked, so an invalid date a decoder meets
// still maps to a number; callers that must reject one check first. The sources and the
// envelope share this one copy; it sits in hot decode loops, so it stays small enough to inline.
func DaysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400 // floor division
	yoe := y - era*400
	mp := int64((m + 9) % 12) // months counted from March
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// CivilFromDays returns the proleptic Gregorian date of days since 1970-01-01; it inverts
// DaysFromCivil for valid dates.
func CivilFromDays(days int64) (y int64, m, d int) {
	z := days + 719468
	era := z
	if z < 0 {
		era = z - 146096
	}
	era /= 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		y++
	}
	return
}
