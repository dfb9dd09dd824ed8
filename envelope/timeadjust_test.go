package envelope

import (
	"math"
	"math/rand/v2"
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

// TestAppendISOTimestampCached: the encoder's cached form writes what AppendISOTimestamp writes,
// for runs of values in one second, across second, day and epoch boundaries, at every precision.
func TestAppendISOTimestampCached(t *testing.T) {
	enc, err := NewEncoder(Config{TopicPrefix: "p"})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	vals := []int64{0, -1, 1, 999_999, 1_000_000, -1_000_000, -999_999, -1_000_001, 86400_000_000 - 1, 86400_000_000,
		1705314600000000, 1705314600000001, 1705314600999999, 253402300799999999, -62135596800000000, -62135596800000001,
		1 << 62, -1 << 62, 1<<62 + 1, -1<<62 - 1, math.MaxInt64, math.MinInt64}
	for range 5000 {
		base := r.Int64N(1<<55) - 1<<54
		vals = append(vals, base, base+int64(r.IntN(1000)), base+int64(r.IntN(3_000_000)), -base)
	}
	for _, us := range vals {
		for digits := -1; digits <= 9; digits++ {
			want := string(AppendISOTimestamp([]byte("x"), us, digits))
			if got := string(enc.appendISOTimestamp([]byte("x"), us, digits)); got != want {
				t.Fatalf("%d digits %d: got %s, want %s", us, digits, got, want)
			}
		}
	}
}
