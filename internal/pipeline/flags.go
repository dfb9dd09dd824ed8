package pipeline

import (
	"flag"
	"fmt"
	"strconv"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/properties"
)

// defaultFlushInterval is FlushInterval's default, Kafka Connect's offset.flush.interval.ms
// scaled down: sluice's saves are one small write.
const defaultFlushInterval = time.Second

// defaultSnapshotFlushInterval is SnapshotFlushInterval's default: a crash during a snapshot
// re-reads the rows published since the last save (half the interval on average, beside the
// rows in flight: ~0.1 s of rows in all, measured), for twenty small writes a second.
const defaultSnapshotFlushInterval = 50 * time.Millisecond

// RegisterFlags registers the pipeline settings an operator sets on fs and returns their
// Debezium property names.
func (c *Config) RegisterFlags(fs *flag.FlagSet) properties.Names {
	fs.Var(properties.Func(defaultFlushInterval.String(), func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		if d < 0 {
			return fmt.Errorf("want ≥ 0")
		}
		if d == 0 {
			// Debezium Server's examples set offset.flush.interval.ms=0: commit after every
			// batch. Releases come at most every releaseGap, so saving at that pace is that.
			d = releaseGap
		}
		c.FlushInterval = d
		return nil
	}), "offsets-flush-interval", "how often acknowledged positions are saved (offset.flush.interval.ms); 0: as soon as they are released (at most every 20ms)")
	fs.Var(properties.Func(defaultSnapshotFlushInterval.String(), func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		if d < 0 {
			return fmt.Errorf("want ≥ 0")
		}
		c.SnapshotFlushInterval = max(d, releaseGap)
		return nil
	}), "snapshot-offsets-flush-interval", "how often acknowledged positions are saved while snapshot rows flow "+
		"(a crash re-reads the rows published since the last save; never longer than --offsets-flush-interval)")
	fs.Var(properties.Func("0s", func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		if d < 0 {
			return fmt.Errorf("want ≥ 0")
		}
		c.HeartbeatInterval = d
		return nil
	}), "heartbeat-interval", "emit heartbeat records this often; 0 disables (heartbeat.interval.ms)")
	fs.Var(properties.Func("t", func(s string) error {
		if _, err := capture.ParseSkippedOps(s); err != nil {
			return err
		}
		c.SkippedOps = s
		return nil
	}), "skipped-operations", "op codes not to publish, e.g. \"t\" or \"c,u\" or \"none\" (skipped.operations)")
	fs.Var(properties.Func(FailureFail.String(), func(s string) error {
		m, err := ParseFailureMode(s)
		if err != nil {
			return err
		}
		c.FailureMode = m
		return nil
	}), "event-processing-failure-handling-mode", "an event that cannot be processed (a value that does not fit its schema, "+
		"a record the sink refuses): fail stops, warn logs and skips it, skip skips it quietly (event.processing.failure.handling.mode)")
	c.EncodeWorkers = EncodeWorkersAuto
	fs.Var(properties.Func("auto", func(s string) error {
		if s == "auto" {
			c.EncodeWorkers = EncodeWorkersAuto
			return nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("want a count ≥ 1 or auto")
		}
		c.EncodeWorkers = n
		return nil
	}), "encode-workers", "goroutines that encode snapshot reads, in order (auto: one per CPU, GOMAXPROCS); 1 encodes on the stream goroutine")
	duration := func(def time.Duration, dst *time.Duration, zero bool) flag.Value {
		return properties.Func(def.String(), func(s string) error {
			d, err := time.ParseDuration(s)
			if err != nil {
				return err
			}
			if d < 0 || d == 0 && !zero {
				return fmt.Errorf("want > 0")
			}
			*dst = d
			return nil
		})
	}
	fs.Var(duration(defaultStallTimeout, &c.StallTimeout, false), "stall-timeout",
		"warn, and answer 503 on /healthz, when work is pending and nothing moved for this long")
	// The capture commands reopen the source after a retryable error, so a stall that lasts
	// fails the pipeline by default there (Config's zero only reports it).
	fs.Var(duration(defaultStallFailTimeout, &c.StallFailTimeout, true), "stall-fail-timeout",
		"stop the pipeline with a retryable error (the source is then reopened from the last saved offset) "+
			"when work is pending and nothing moved for this long; 0: never")
	return properties.Names{
		"offset.flush.interval.ms":               "offsets-flush-interval",
		"heartbeat.interval.ms":                  "heartbeat-interval",
		"skipped.operations":                     "skipped-operations",
		"event.processing.failure.handling.mode": "event-processing-failure-handling-mode",
	}
}
