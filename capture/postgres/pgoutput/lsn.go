package pgoutput

import "fmt"

// LSN is a position in the write-ahead log.
type LSN uint64

// String returns the server's form, two hexadecimal halves: 16/B374D848.
func (l LSN) String() string { return fmt.Sprintf("%X/%X", uint32(l>>32), uint32(l)) }

// epochMicros is 2000-01-01 00:00 UTC, the zero of Time, in µs since the Unix epoch.
const epochMicros = 946684800000000

// Time is a timestamp as the server sends it: microseconds since 2000-01-01 00:00 UTC.
type Time int64

// UnixMicro returns t in microseconds since the Unix epoch.
func (t Time) UnixMicro() int64 { return int64(t) + epochMicros }

// TimeFromUnixMicro converts microseconds since the Unix epoch to a Time.
func TimeFromUnixMicro(us int64) Time { return Time(us - epochMicros) }
