package envelope

import (
	"flag"
	"io"
	"testing"
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
		var c Config
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		names := c.RegisterFlags(fs)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
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
