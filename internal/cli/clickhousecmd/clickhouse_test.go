package clickhousecmd

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/internal/cli"
)

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "app.properties")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConfigFile: sluice clickhouse has --config (also as SLUICE_CONFIG) with the same
// precedence as the capture commands: flag > SLUICE_* > file > default.
func TestConfigFile(t *testing.T) {
	props := writeFile(t, `
bootstrap.servers=file:9092
topics.regex=srv\\..*
group.id=fromfile
group.instance.id=host-1
log.level=ignored
errors.retry.timeout=90000
`)
	t.Setenv("SLUICE_CONFIG", props)
	t.Setenv("SLUICE_GROUP", "fromenv")
	t.Setenv("SLUICE_BATCH_ROWS", "7")
	t.Setenv("SLUICE_TOPIC_REFRESH", "1m")
	cc, scfg, err := parse("sluice clickhouse", []string{"--topic-refresh", "5s", "--clickhouse-database", "dw"})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"kafka-brokers (file)", strings.Join(cc.Client.Brokers, ","), "file:9092"},
		{"topics (file)", cc.Topics, `srv\..*`},
		{"group (env over file)", cc.Group, "fromenv"},
		{"topic-refresh (flag over env)", cc.TopicRefresh.String(), (5 * time.Second).String()},
		{"batch-rows (env)", strings.Repeat("x", scfg.BatchRows), "xxxxxxx"},
		{"clickhouse-database (flag)", scfg.Database, "dw"},
		{"clickhouse-addr (default)", strings.Join(scfg.Addr, ","), "127.0.0.1:9000"},
		{"initial-offset (default)", cc.Initial, "oldest"},
		{"group-instance-id (file, group.instance.id)", cc.InstanceID, "host-1"},
		{"errors-retry-timeout (file, errors.retry.timeout in ms)", scfg.RetryTimeout.String(), (90 * time.Second).String()},
		{"clickhouse-connect-timeout (default)", scfg.ConnectTimeout.String(), time.Minute.String()},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
}

func TestValidate(t *testing.T) {
	if _, _, err := parse("sluice clickhouse", []string{"--log-format", "xml"}); err == nil || !strings.Contains(err.Error(), "--log-format") {
		t.Errorf("bad --log-format: error %v", err)
	}
	if _, _, err := parse("sluice clickhouse", []string{"--memory-limit", "lots"}); err == nil || !strings.Contains(err.Error(), "--memory-limit") {
		t.Errorf("bad --memory-limit: error %v", err)
	}
	_, _, err := parse("sluice clickhouse", []string{"--clickhouse-compression", "zstd"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"zstd", "no brokers", "no topics"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

// TestCaptureSink: --sink clickhouse adds its flags, batching ones prefixed, to a capture
// command, and its batch bytes count as the sink's buffer.
func TestCaptureSink(t *testing.T) {
	c := cli.NewCapture("sluice postgres", cli.CaptureUsage{}, cli.StdoutSink, Sink)
	if err := c.Parse([]string{"--topic-prefix", "p", "--sink", "clickhouse", "--clickhouse-batch-rows", "5",
		"--clickhouse-addr", "ch1:9000,ch2:9000"}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"clickhouse-batch-bytes", "clickhouse-flush-interval", "clickhouse-database"} {
		if c.FlagSet().Lookup(name) == nil {
			t.Errorf("no --%s", name)
		}
	}
	if c.FlagSet().Lookup("batch-rows") != nil {
		t.Error("unprefixed --batch-rows on a capture command")
	}
	c2 := cli.NewCapture("sluice postgres", cli.CaptureUsage{}, cli.StdoutSink, Sink)
	if err := c2.Parse([]string{"--topic-prefix", "p", "--sink", "clickhouse", "--clickhouse-addr", "nocolon"}); err == nil ||
		!strings.Contains(err.Error(), "nocolon") {
		t.Errorf("bad address: error %v", err)
	}
}

// TestMemoryLimitAuto: sluice clickhouse's auto limit is its own base plus twice
// --batch-bytes (42 MiB by default); a size is taken as given.
func TestMemoryLimitAuto(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "") // set but empty still means "given": unset it for the test
	os.Unsetenv("GOMEMLIMIT")
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	base := []string{"--kafka-brokers", "k:9092", "--topics", "t", "--clickhouse-addr", "c:9000"}
	for _, c := range []struct {
		args []string
		want int64
	}{
		{nil, 42 << 20},
		{[]string{"--batch-bytes", "16777216"}, 58 << 20},
		{[]string{"--memory-limit", "100MiB"}, 100 << 20},
	} {
		o, err := parseOptions("sluice clickhouse", append(append([]string{}, base...), c.args...))
		if err != nil {
			t.Fatal(err)
		}
		o.setLimit()
		if got := debug.SetMemoryLimit(-1); got != c.want {
			t.Errorf("%v: memory limit %d MiB, want %d MiB", c.args, got>>20, c.want>>20)
		}
	}
}

// TestInitialOffsetSpellings: Kafka users say earliest/latest (auto.offset.reset); both
// spellings are accepted, from the flag and from the properties file, and mean the same start.
func TestInitialOffsetSpellings(t *testing.T) {
	for _, tc := range []struct{ flag, want string }{
		{"oldest", "oldest"}, {"earliest", "oldest"}, {"smallest", "oldest"},
		{"newest", "newest"}, {"latest", "newest"}, {"largest", "newest"}, {"LATEST", "newest"},
	} {
		cc, _, err := parse("sluice clickhouse", []string{"--kafka-brokers", "b:9092", "--topics", "x", "--initial-offset", tc.flag})
		if err != nil {
			t.Errorf("--initial-offset %s: %v", tc.flag, err)
			continue
		}
		if cc.Initial != tc.want {
			t.Errorf("--initial-offset %s: Initial = %q, want %q", tc.flag, cc.Initial, tc.want)
		}
	}
	props := writeFile(t, "bootstrap.servers=b:9092\ntopics.regex=x\nauto.offset.reset=latest\n")
	cc, _, err := parse("sluice clickhouse", []string{"--config", props})
	if err != nil {
		t.Fatal(err)
	}
	if cc.Initial != "newest" {
		t.Errorf("auto.offset.reset=latest: Initial = %q, want newest", cc.Initial)
	}
	// Kafka's "none" (fail without committed offsets) has no equivalent: refused, with the choices.
	_, _, err = parse("sluice clickhouse", []string{"--kafka-brokers", "b:9092", "--topics", "x", "--initial-offset", "none"})
	if err == nil || !strings.Contains(err.Error(), "earliest") {
		t.Errorf("--initial-offset none: error %v, want one naming the accepted values", err)
	}
}
