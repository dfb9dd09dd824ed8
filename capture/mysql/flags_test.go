package mysql

import (
	"flag"
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

// TestSnapshotMaxThreadsFlag: --snapshot-max-threads (the PostgreSQL source's name) and the
// older --snapshot-workers set the same field; snapshot.max.threads maps to the new name.
func TestSnapshotMaxThreadsFlag(t *testing.T) {
	for _, name := range []string{"snapshot-max-threads", "snapshot-workers"} {
		var c Config
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		names := c.RegisterFlags(fs)
		if names["snapshot.max.threads"] != "snapshot-max-threads" {
			t.Fatalf("property snapshot.max.threads → %q", names["snapshot.max.threads"])
		}
		if err := fs.Set(name, "4"); err != nil {
			t.Fatal(err)
		}
		if c.SnapshotWorkers != 4 {
			t.Errorf("--%s 4: SnapshotWorkers %d", name, c.SnapshotWorkers)
		}
	}
}
