package postgres

import (
	"flag"
	"strings"
	"testing"
	"time"
)

// TestQueryTimeoutFlag: 10m by default, a duration, and 0 for no limit (as Debezium's
// database.query.timeout.ms, which the properties file sets in milliseconds).
func TestQueryTimeoutFlag(t *testing.T) {
	for _, tc := range []struct {
		arg  string
		want time.Duration
	}{{"", DefaultQueryTimeout}, {"90s", 90 * time.Second}, {"600000ms", 10 * time.Minute}, {"0ms", -1}, {"0", -1}} {
		var c Config
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		names := c.RegisterFlags(fs)
		if names["database.query.timeout.ms"] != "query-timeout" {
			t.Fatalf("property database.query.timeout.ms → %q", names["database.query.timeout.ms"])
		}
		if tc.arg != "" {
			if err := fs.Set("query-timeout", tc.arg); err != nil {
				t.Fatal(err)
			}
		}
		if c.QueryTimeout != tc.want {
			t.Errorf("--query-timeout %q: %v, want %v", tc.arg, c.QueryTimeout, tc.want)
		}
	}
}

// TestSnapshotLockTimeoutFlag: 10s by default (Debezium's snapshot.lock.timeout.ms), the
// property's name, and a value below a millisecond refused (lock_timeout counts them).
func TestSnapshotLockTimeoutFlag(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	names := c.RegisterFlags(fs)
	if names["snapshot.lock.timeout.ms"] != "snapshot-lock-timeout" || c.SnapshotLockTimeout != DefaultSnapshotLockTimeout || DefaultSnapshotLockTimeout != 10*time.Second {
		t.Fatalf("property → %q, default %v", names["snapshot.lock.timeout.ms"], c.SnapshotLockTimeout)
	}
	if err := fs.Set("snapshot-lock-timeout", "1500ms"); err != nil || c.SnapshotLockTimeout != 1500*time.Millisecond {
		t.Fatalf("--snapshot-lock-timeout 1500ms: %v, %v", c.SnapshotLockTimeout, err)
	}
	c.DSN, c.SnapshotLockTimeout = "postgres://x", time.Microsecond
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "snapshot lock timeout") {
		t.Fatalf("Validate of 1µs: %v", err)
	}
}
