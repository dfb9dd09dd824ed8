package capture

import (
	"testing"
	"time"
)

func TestDaysFromCivil(t *testing.T) {
	cases := []struct {
		name string
		y    int64
		m, d int
		want int64
	}{
		{"epoch", 1970, 1, 1, 0},
		{"day before epoch", 1969, 12, 31, -1},
		{"leap day 2000", 2000, 2, 29, 11016},
		{"1900 not leap", 1900, 3, 1, -25508},
		{"year 1", 1, 1, 1, -719162},
		{"1 BC is year 0", 0, 12, 31, -719163},
		{"PostgreSQL min date 4714-11-24 BC", -4713, 11, 24, -2440588},
		{"9999-12-31", 9999, 12, 31, 2932896},
		{"PostgreSQL max date", 5874897, 12, 31, 2145042905},
		{"month 13 carries into the next year", 2024, 13, 1, 20089},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := DaysFromCivil(c.y, c.m, c.d); got != c.want {
				t.Fatalf("DaysFromCivil(%d, %d, %d) = %d, want %d", c.y, c.m, c.d, got, c.want)
			}
			if g := time.Date(int(c.y), time.Month(c.m), c.d, 0, 0, 0, 0, time.UTC).Unix() / 86400; g != c.want {
				t.Fatalf("time.Date gives %d, the table %d", g, c.want)
			}
		})
	}
}

func TestCivilRoundTrip(t *testing.T) {
	for days := int64(-3_000_000); days <= 3_000_000; days += 7 {
		y, m, d := CivilFromDays(days)
		if got := DaysFromCivil(y, m, d); got != days {
			t.Fatalf("CivilFromDays(%d) = %d-%d-%d, back %d", days, y, m, d, got)
		}
		g := time.Unix(days*86400, 0).UTC()
		if int64(g.Year()) != y || int(g.Month()) != m || g.Day() != d {
			t.Fatalf("CivilFromDays(%d) = %d-%d-%d, time says %s", days, y, m, d, g.Format(time.DateOnly))
		}
	}
}
