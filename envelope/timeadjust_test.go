package envelope

import (
	"testing"

	"github.com/sluicecdc/sluice/capture"
)

// TestAdjustTwoDigitYear checks BinlogValueConverters.adjustTemporal's ranges: 0–69 → +2000,
// 70–99 → +1900, everything else unchanged; month, day and time of day are kept.
func TestAdjustTwoDigitYear(t *testing.T) {
	day := func(y int64, m, d int) int64 { return capture.DaysFromCivil(y, m, d) }
	for _, tc := range []struct {
		in, want int64
	}{
		{day(0, 1, 1), day(2000, 1, 1)},
		{day(18, 4, 1), day(2018, 4, 1)},
		{day(4, 2, 29), day(2004, 2, 29)},
		{day(69, 12, 31), day(2069, 12, 31)},
		{day(70, 1, 1), day(1970, 1, 1)},
		{day(72, 2, 29), day(1972, 2, 29)},
		{day(99, 12, 31), day(1999, 12, 31)},
		{day(100, 1, 1), day(100, 1, 1)},
		{day(-1, 12, 31), day(-1, 12, 31)},
		{day(1978, 4, 1), day(1978, 4, 1)},
	} {
		if got := adjustYearDays(tc.in); got != tc.want {
			y, m, d := capture.CivilFromDays(tc.in)
			gy, gm, gd := capture.CivilFromDays(got)
			t.Errorf("%04d-%02d-%02d → %04d-%02d-%02d, want %d", y, m, d, gy, gm, gd, tc.want)
		}
		const tod = (12*3600 + 34*60 + 56) * 1_000_000
		if got := adjustYearMicros(tc.in*microsPerDay + tod); got != tc.want*microsPerDay+tod {
			t.Errorf("micros of day %d: got %d, want %d", tc.in, got, tc.want*microsPerDay+tod)
		}
	}
	zero := capture.Value{Kind: capture.Date, Flag: capture.Zero}
	if _, ok := adjustTwoDigitYear(&zero); ok {
		t.Error("a zero date was adjusted")
	}
	s := capture.StringValue([]byte("x"))
	if _, ok := adjustTwoDigitYear(&s); ok {
		t.Error("a string was adjusted")
	}
}
