package cli

import (
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// memoryLimitBase is the soft memory limit's allowance for everything but the sink's buffer:
// the runtime, the source's and encoder's working set and GC headroom (a Kafka pipeline's live
// heap was ~10 MB with a 4 MiB buffer; the default is 8 MiB).
const memoryLimitBase = 32 << 20

// memoryLimit resolves --memory-limit: "auto" (the default) is GOMEMLIMIT when that is set,
// else memoryLimitBase plus twice the sink's own buffer bound (the bytes it holds between
// flushes or acknowledgements); "off" or 0 is no limit; anything else a size (64MiB, 1GB,
// 50000000). The limit is soft (runtime/debug.SetMemoryLimit): the collector runs harder as
// the heap nears it instead of letting GOGC double a transient peak, but it never fails an
// allocation. ok is false when the runtime's own setting (GOMEMLIMIT) should stand.
func memoryLimit(flagValue string, sinkBuffer int64, lookupEnv func(string) (string, bool)) (limit int64, ok bool, err error) {
	switch v := strings.TrimSpace(strings.ToLower(flagValue)); v {
	case "", "auto":
		if _, set := lookupEnv("GOMEMLIMIT"); set {
			return 0, false, nil
		}
		return memoryLimitBase + 2*max(sinkBuffer, 0), true, nil
	case "off", "0":
		return math.MaxInt64, true, nil
	}
	n, err := parseSize(flagValue)
	if err != nil {
		return 0, false, fmt.Errorf("--memory-limit %q: %w (or auto, off)", flagValue, err)
	}
	return n, true, nil
}

// parseSize reads a byte count with an optional unit: B, KB/MB/GB (powers of 1000) or
// KiB/MiB/GiB (powers of 1024).
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.ToLower(strings.TrimSpace(s[i:]))
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("want a size such as 48MiB")
	}
	mult := map[string]float64{"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("unknown unit %q: want B, KB, MB, GB, KiB, MiB or GiB", unit)
	}
	if f*mult >= math.MaxInt64 {
		return 0, fmt.Errorf("too large")
	}
	return int64(f * mult), nil
}

// applyMemoryLimit sets the process's soft memory limit from --memory-limit (see memoryLimit).
func (c *Capture) applyMemoryLimit() {
	var buffer int64
	if sk := c.sinks[c.Sink]; sk != nil {
		buffer = sk.Buffered()
	}
	limit, ok, _ := memoryLimit(c.MemoryLimit, buffer, os.LookupEnv) // validated by Capture.validate
	if ok {
		debug.SetMemoryLimit(limit)
	}
}

// MemoryLimit resolves a --memory-limit value (see memoryLimit) for a command without a
// Capture (sluice clickhouse); apply sets it. sinkBuffer is the bytes its sink holds between
// flushes; base, when positive, replaces memoryLimitBase in auto (a source that needs less).
func MemoryLimit(flagValue string, base, sinkBuffer int64) (apply func(), err error) {
	limit, ok, err := memoryLimit(flagValue, sinkBuffer, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	if v := strings.TrimSpace(strings.ToLower(flagValue)); ok && base > 0 && (v == "" || v == "auto") {
		limit += base - memoryLimitBase
	}
	return func() {
		if ok {
			debug.SetMemoryLimit(limit)
		}
	}, nil
}
