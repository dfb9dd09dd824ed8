package envelope

import "fmt"

// DecimalMode is Debezium's decimal.handling.mode.
type DecimalMode uint8

const (
	DecimalPrecise DecimalMode = iota // default
	DecimalDouble
	DecimalString
)

// TimeMode is Debezium's time.precision.mode.
type TimeMode uint8

const (
	// TimeDefault picks the connector's default: adaptive_time_microseconds for MySQL, adaptive
	// for PostgreSQL.
	TimeDefault TimeMode = iota
	TimeAdaptive
	TimeAdaptiveMicroseconds // adaptive_time_microseconds
	TimeConnect
	TimeMicroseconds
	TimeISOString
)

// BinaryMode is Debezium's binary.handling.mode.
type BinaryMode uint8

const (
	BinaryBytes BinaryMode = iota // default
	BinaryBase64
	BinaryBase64URLSafe
	BinaryHex
)

// BigintUnsignedMode is Debezium's bigint.unsigned.handling.mode (MySQL).
type BigintUnsignedMode uint8

const (
	BigintLong    BigintUnsignedMode = iota // default
	BigintPrecise                           // Decimal with scale 0
)

// IntervalMode is Debezium's interval.handling.mode (PostgreSQL).
type IntervalMode uint8

const (
	IntervalNumeric IntervalMode = iota // default: io.debezium.time.MicroDuration
	IntervalString                      // io.debezium.time.Interval, ISO 8601 "P1Y2M3DT4H5M6.78S"
)

// HStoreMode is Debezium's hstore.handling.mode (PostgreSQL).
type HStoreMode uint8

const (
	HStoreJSON HStoreMode = iota // default: io.debezium.data.Json text
	HStoreMap                    // a Connect map of string to optional string
)

// Options are the type-mapping modes. The zero value is Debezium's defaults.
type Options struct {
	Decimal        DecimalMode
	Time           TimeMode
	Binary         BinaryMode
	BigintUnsigned BigintUnsignedMode
	// NoTimeAdjuster is Debezium's enable.time.adjuster=false (MySQL/MariaDB). By default
	// (true) the years 0–99 of DATE, DATETIME and TIMESTAMP values are read as two-digit
	// years: 0–69 → 2000–2069, 70–99 → 1970–1999, as Debezium's BinlogValueConverters.adjustTemporal does.
	NoTimeAdjuster bool
	Interval       IntervalMode
	HStore         HStoreMode
}

// ParseDecimalMode parses precise|double|string.
func ParseDecimalMode(s string) (DecimalMode, error) {
	switch s {
	case "", "precise":
		return DecimalPrecise, nil
	case "double":
		return DecimalDouble, nil
	case "string":
		return DecimalString, nil
	}
	return 0, fmt.Errorf("decimal handling mode %q: want precise, double or string", s)
}

// ParseTimeMode parses adaptive|adaptive_time_microseconds|connect|microseconds|isostring.
func ParseTimeMode(s string) (TimeMode, error) {
	switch s {
	case "":
		return TimeDefault, nil
	case "adaptive":
		return TimeAdaptive, nil
	case "adaptive_time_microseconds":
		return TimeAdaptiveMicroseconds, nil
	case "connect":
		return TimeConnect, nil
	case "microseconds":
		return TimeMicroseconds, nil
	case "isostring":
		return TimeISOString, nil
	}
	return 0, fmt.Errorf("time precision mode %q: want adaptive, adaptive_time_microseconds, connect, microseconds or isostring", s)
}

// ParseBinaryMode parses bytes|base64|base64-url-safe|hex.
func ParseBinaryMode(s string) (BinaryMode, error) {
	switch s {
	case "", "bytes":
		return BinaryBytes, nil
	case "base64":
		return BinaryBase64, nil
	case "base64-url-safe":
		return BinaryBase64URLSafe, nil
	case "hex":
		return BinaryHex, nil
	}
	return 0, fmt.Errorf("binary handling mode %q: want bytes, base64, base64-url-safe or hex", s)
}

// ParseBigintUnsignedMode parses long|precise.
func ParseBigintUnsignedMode(s string) (BigintUnsignedMode, error) {
	switch s {
	case "", "long":
		return BigintLong, nil
	case "precise":
		return BigintPrecise, nil
	}
	return 0, fmt.Errorf("bigint unsigned handling mode %q: want long or precise", s)
}

// ParseIntervalMode parses numeric|string.
func ParseIntervalMode(s string) (IntervalMode, error) {
	switch s {
	case "", "numeric":
		return IntervalNumeric, nil
	case "string":
		return IntervalString, nil
	}
	return 0, fmt.Errorf("interval handling mode %q: want numeric or string", s)
}

// ParseHStoreMode parses json|map.
func ParseHStoreMode(s string) (HStoreMode, error) {
	switch s {
	case "", "json":
		return HStoreJSON, nil
	case "map":
		return HStoreMap, nil
	}
	return 0, fmt.Errorf("hstore handling mode %q: want json or map", s)
}
