package clickhouse

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go/proto"
)

// TestDateTime64Written: a timestamp goes into a DateTime64 column as the driver writes it
// (proto.ToDateTime64, t.UnixNano() scaled down); what comes out must be the record's value,
// else the record is parked. Times beyond the driver's int64 nanoseconds (a MySQL DATETIME
// '9999-12-31', '1000-01-01', PostgreSQL 'infinity') were stored as other dates.
func TestDateTime64Written(t *testing.T) {
	for _, tc := range []struct {
		name   string // the Debezium schema name
		digits int
		raw    string // the payload value
		park   bool
	}{
		{nameMicroTimestamp, 6, "1700000000123456", false},
		{nameMicroTimestamp, 6, "-2208988800000000", false},   // 1900-01-01
		{nameMicroTimestamp, 6, "9223372036854775", false},    // 2262-04-11 23:47:16.854775, the last one
		{nameMicroTimestamp, 6, "253402300799999999", true},   // MySQL DATETIME(6) '9999-12-31 23:59:59.999999'
		{nameMicroTimestamp, 6, "-30610224000000000", true},   // '1000-01-01'
		{nameMicroTimestamp, 6, "-62135596800000000", true},   // '0001-01-01', Go's zero time
		{nameMicroTimestamp, 6, "9223372036825200000", true},  // PostgreSQL timestamp 'infinity'
		{nameMicroTimestamp, 6, "-9223372036832400000", true}, // '-infinity'
		{nameTimestamp, 3, "253402300799000", true},
		{nameTimestamp, 3, "1700000000123", false},
		{nameZonedTimestamp, 6, `"9999-12-31T23:59:59.999999Z"`, true},
		{nameZonedTimestamp, 6, `"2024-02-29T12:34:56.789012Z"`, false},
	} {
		t.Run(tc.name+"/"+tc.raw, func(t *testing.T) {
			c, err := connectCodec(&connectSchema{Type: "int64", Name: tc.name}, true)
			if err != nil {
				t.Fatal(err)
			}
			b := c.newBuf(false)
			err = b.appendRaw([]byte(tc.raw))
			if tc.park {
				if err == nil {
					t.Fatalf("accepted; the driver writes %d", proto.ToDateTime64(b.data(0, 1).([]time.Time)[0], proto.Precision(tc.digits)))
				}
				t.Logf("parked: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tc.raw
			if want[0] == '"' {
				tm, _ := parseZoned([]byte(tc.raw))
				want = strconv.FormatInt(tm.UnixMicro(), 10)
			}
			if got := strconv.FormatInt(int64(proto.ToDateTime64(b.data(0, 1).([]time.Time)[0], proto.Precision(tc.digits))), 10); got != want {
				t.Fatalf("written as %s, want %s", got, want)
			}
		})
	}
}

// TestLegacyDateRange: the pre-23.2 layout's Date takes the days 18.16 shows as themselves,
// 1970-01-01 … 2106-02-07; a later one parks its record (2149-06-06 went in as day 65535 and
// read back as 1970-01-01).
func TestLegacyDateRange(t *testing.T) {
	conv := convDate(false)
	for raw, park := range map[string]bool{`0`: false, `49710`: false, `"2106-02-07"`: false,
		`49711`: true, `65535`: true, `"2149-06-06"`: true, `-1`: true} {
		_, err := conv([]byte(raw))
		if (err != nil) != park {
			t.Errorf("%s: err %v, want parked %v", raw, err, park)
		}
	}
}

// TestZonedInfinity: PostgreSQL timestamptz ±infinity (a ZonedTimestamp "infinity") goes into
// the Int64 µs column as the timestamp column's ±infinity does (Debezium's MicroTimestamp of
// it), instead of parking every row that holds one; a DateTime64 column cannot hold it and
// parks the record saying what to do.
func TestZonedInfinity(t *testing.T) {
	for raw, want := range map[string]int64{`"infinity"`: 9223372036825200000, `"-infinity"`: -9223372036832400000} {
		if got, err := convZonedMicros([]byte(raw)); err != nil || got != want {
			t.Errorf("%s: %d, %v; want %d", raw, got, err, want)
		}
		if _, err := convEpoch(6)([]byte(raw)); err == nil || !strings.Contains(err.Error(), "--clickhouse-legacy") {
			t.Errorf("%s into DateTime64: %v", raw, err)
		}
	}
}

// TestDateTimeWritten: a DateTime column (a table made by hand for records without schemas)
// is a UInt32 of seconds that the driver writes as uint32(t.Unix()): a time before 1970 or
// after 2106-02-07 parks the record instead of wrapping into another date.
func TestDateTimeWritten(t *testing.T) {
	c, err := describedCodec("DateTime")
	if err != nil {
		t.Fatal(err)
	}
	for raw, park := range map[string]bool{`0`: false, `1700000000123`: false, `4294967295000`: false,
		`-1000`: true, `4294967296000`: true, `253402300799000`: true} {
		b := c.newBuf(false)
		err := b.appendRaw([]byte(raw))
		if (err != nil) != park {
			t.Errorf("%s: err %v, want parked %v", raw, err, park)
			continue
		}
		if err == nil {
			if got, want := uint32(b.data(0, 1).([]time.Time)[0].Unix()), mustInt(raw)/1000; int64(got) != want {
				t.Errorf("%s: written as %d s, want %d", raw, got, want)
			}
		}
	}
}

func mustInt(s string) int64 { v, _ := strconv.ParseInt(s, 10, 64); return v }
