package envelope

import (
	"flag"
	"io"
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/properties"
)

// TestTimeAdjusterFlag: --enable-time-adjuster (enable.time.adjuster) is on by default and
// stored inverted, so the zero Options keep Debezium's default.
func TestTimeAdjusterFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		off  bool
	}{
		{nil, false},
		{[]string{"--enable-time-adjuster=false"}, true},
		{[]string{"--enable-time-adjuster=false", "--enable-time-adjuster"}, false},
		{[]string{"--enable-time-adjuster=true"}, false},
	} {
		c, names := parseFlags(t, tc.args)
		if c.Options.NoTimeAdjuster != tc.off {
			t.Errorf("%v: NoTimeAdjuster = %v, want %v", tc.args, c.Options.NoTimeAdjuster, tc.off)
		}
		if names["enable.time.adjuster"] != "enable-time-adjuster" {
			t.Errorf("property enable.time.adjuster maps to %q", names["enable.time.adjuster"])
		}
	}
	var c Config
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.RegisterFlags(fs)
	if err := fs.Parse([]string{"--enable-time-adjuster=maybe"}); err == nil {
		t.Error("--enable-time-adjuster=maybe: no error")
	}
}

// TestIntervalHStoreFlags: --interval-handling and --hstore-handling take Debezium's values
// under their property names (interval.handling.mode, hstore.handling.mode) and refuse others.
func TestIntervalHStoreFlags(t *testing.T) {
	var c Config
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	names := c.RegisterFlags(fs)
	if names["interval.handling.mode"] != "interval-handling" || names["hstore.handling.mode"] != "hstore-handling" {
		t.Errorf("property names: %q, %q", names["interval.handling.mode"], names["hstore.handling.mode"])
	}
	if c.Options.Interval != IntervalNumeric || c.Options.HStore != HStoreJSON {
		t.Errorf("defaults: %v %v", c.Options.Interval, c.Options.HStore)
	}
	if err := fs.Parse([]string{"--interval-handling", "string", "--hstore-handling", "map"}); err != nil {
		t.Fatal(err)
	}
	if c.Options.Interval != IntervalString || c.Options.HStore != HStoreMap {
		t.Errorf("parsed: %v %v", c.Options.Interval, c.Options.HStore)
	}
	// A bad value is kept as the flag's error (the command reports all of them at once).
	for _, bad := range [][]string{{"--interval-handling", "iso"}, {"--hstore-handling", "text"}} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var c Config
		c.RegisterFlags(fs)
		if err := fs.Parse(bad); err != nil {
			t.Fatal(err)
		}
		v, ok := fs.Lookup(bad[0][2:]).Value.(interface{ Err() error })
		if !ok || v.Err() == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// TestIncludeSchemaChanges: include.schema.changes (--include-schema-changes) is on by
// default; false keeps a MySQL DDL off the <topic.prefix> topic. The property used to be
// accepted and ignored: the topic carried every DDL whatever it said.
func TestIncludeSchemaChanges(t *testing.T) {
	for _, tc := range []struct {
		args []string
		off  bool
	}{
		{nil, false},
		{[]string{"--include-schema-changes=false"}, true},
		{[]string{"--include-schema-changes=true"}, false},
	} {
		c, names := parseFlags(t, tc.args)
		if c.NoSchemaChanges != tc.off {
			t.Errorf("%v: NoSchemaChanges = %v, want %v", tc.args, c.NoSchemaChanges, tc.off)
		}
		if names["include.schema.changes"] != "include-schema-changes" {
			t.Errorf("property include.schema.changes maps to %q", names["include.schema.changes"])
		}
		c.TopicPrefix, c.Now = "dbserver1", clock(1705314600512345678)
		src := mysqlSource(0)
		src.Table = "orders"
		ddl := &capture.Event{Kind: capture.SchemaChange, DDLDatabase: "inventory", Source: src, DDL: "ALTER TABLE orders ADD COLUMN note TEXT",
			Changes: []capture.TableChange{{Type: "ALTER", Table: withCharset(ordersTable())}}}
		enc, err := NewEncoder(c)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := enc.Encode(nil, ddl)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(recs) > 0; got == tc.off {
			t.Errorf("%v: %d records for a DDL", tc.args, len(recs))
		}
	}
}

// parseFlags registers the encoder's flags on a fresh Config and parses args.
func parseFlags(t *testing.T, args []string) (Config, properties.Names) {
	t.Helper()
	var c Config
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	names := c.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return c, names
}
