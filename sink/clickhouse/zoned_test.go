package clickhouse

import (
	"testing"
	"time"
)

// zonedSlow is what parseZoned did before its fast path: time.Parse of the unquoted text.
func zonedSlow(raw []byte) (time.Time, bool) {
	s, err := jsonString(raw)
	if err != nil {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t.UTC(), err == nil
}

var zonedSeeds = []string{
	`"2026-11-24T23:33:32.054407Z"`, `"2016-11-04T06:51:30Z"`, `"2016-11-04T06:51:30.1Z"`,
	`"2016-11-04T06:51:30.123456789Z"`, `"2016-11-04T06:51:30.1234567891Z"`, `"1969-12-31T23:59:59.999999Z"`,
	`"0001-01-01T00:00:00Z"`, `"9999-12-31T23:59:59.999999999Z"`, `"2024-02-29T12:00:00Z"`,
	`"2023-02-29T12:00:00Z"`, `"1900-02-29T00:00:00Z"`, `"2000-02-29T00:00:00Z"`, `"2016-13-04T06:51:30Z"`,
	`"2016-11-31T06:51:30Z"`, `"2016-11-04T24:00:00Z"`, `"2016-11-04T06:60:30Z"`, `"2016-11-04T06:51:60Z"`,
	`"2016-11-04T06:51:30.Z"`, `"2016-11-04T06:51:30+02:00"`, `"2016-11-04 06:51:30Z"`, `"2016-1a-04T06:51:30Z"`,
	`"0000-01-01T00:00:00Z"`, `"2016-11-04T06:51:30.00000000Z"`, `"1583-03-01T00:00:00.5Z"`,
}

// TestZonedFast: the fast path reads every value as time.Parse does, and leaves to it what it
// does not take.
func TestZonedFast(t *testing.T) {
	for _, s := range zonedSeeds {
		checkZoned(t, []byte(s))
	}
}

func FuzzZonedFast(f *testing.F) {
	for _, s := range zonedSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) { checkZoned(t, raw) })
}

func checkZoned(t *testing.T, raw []byte) {
	t.Helper()
	want, wantOK := zonedSlow(raw)
	got, err := parseZoned(raw)
	if (err == nil) != wantOK {
		t.Fatalf("%s: err %v, time.Parse ok %v", raw, err, wantOK)
	}
	if !wantOK {
		return
	}
	if !got.Equal(want) || got.Location() != time.UTC {
		t.Fatalf("%s: %s, want %s", raw, got.Format(time.RFC3339Nano), want.Format(time.RFC3339Nano))
	}
	us, err := convZonedMicros(raw)
	if err != nil || us != want.UnixMicro() {
		t.Fatalf("%s: micros %d %v, want %d", raw, us, err, want.UnixMicro())
	}
}
