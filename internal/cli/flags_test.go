package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/sink/kafka"
)

func newTestFlags(t *testing.T) (*flag.FlagSet, *Capture) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs, addCapture(newSet(fs), "", []SinkKind{StdoutSink, KafkaSink})
}

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPrecedence: flag > env > properties file > default, per flag.
func TestPrecedence(t *testing.T) {
	props := writeFile(t, "app.properties", `
# Debezium Server style
debezium.sink.type=kafka
debezium.sink.kafka.producer.bootstrap.servers=file:9092
debezium.source.topic.prefix=fromfile
debezium.source.offset.flush.interval.ms=2500
debezium.sink.kafka.producer.linger.ms=5
debezium.sink.kafka.producer.max.request.size=2097152
delivery.timeout.ms=300000
debezium.format.value.schemas.enable=false
debezium.source.decimal.handling.mode=string
debezium.source.tombstones.on.delete=false
debezium.source.database.hostname=db.example
debezium.source.some.unknown.key=1
`)
	fs, c := newTestFlags(t)
	host := fs.String("host", "localhost", "")
	c.Alias("database.hostname", "host")
	if err := fs.Parse([]string{"--config", props, "--topic-prefix", "fromflag"}); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"SLUICE_KAFKA_BROKERS": "env:9092", "SLUICE_TOPIC_PREFIX": "fromenv", "SLUICE_LOG_LEVEL": "debug"}
	if err := c.resolve(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"topic-prefix (flag over env and file)", c.Envelope.TopicPrefix, "fromflag"},
		{"kafka-brokers (env over file)", strings.Join(c.Kafka.Client.Brokers, ","), "env:9092"},
		{"sink (file)", c.Sink, "kafka"},
		{"log-level (env)", c.LogLevel, "debug"},
		{"offsets-flush-interval (file, ms)", c.Pipeline.FlushInterval.String(), (2500 * time.Millisecond).String()},
		{"decimal-handling (file)", fmt.Sprint(c.Envelope.Options.Decimal == envelope.DecimalString), "true"},
		{"kafka-linger (file, ms)", c.Kafka.Linger.String(), (5 * time.Millisecond).String()},
		{"kafka-max-message-bytes (file)", fmt.Sprint(c.Kafka.MaxMessageBytes), "2097152"},
		{"kafka-delivery-timeout (file, ms)", c.Kafka.Client.DeliveryTimeout.String(), (5 * time.Minute).String()},
		{"host (subcommand alias)", *host, "db.example"},
		{"compression (default)", c.Kafka.Compression, "none"},
		{"unknown", strings.Join(c.unknown, ","), "debezium.source.some.unknown.key"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	ec := c.Envelope
	if ec.SchemasEnable || ec.TombstonesOnDelete {
		t.Errorf("schemas-enable %v, tombstones-on-delete %v: want both false from the file", ec.SchemasEnable, ec.TombstonesOnDelete)
	}
	if ec.TopicPrefix != "fromflag" || ec.SchemasEnable || ec.TombstonesOnDelete || ec.Options.Decimal != envelope.DecimalString {
		t.Errorf("envelope config %+v", ec)
	}
}

func TestDefaults(t *testing.T) {
	fs, c := newTestFlags(t)
	if err := fs.Parse([]string{"--topic-prefix", "p"}); err != nil {
		t.Fatal(err)
	}
	if err := c.resolve(func(string) (string, bool) { return "", false }); err != nil {
		t.Fatal(err)
	}
	if !c.Envelope.SchemasEnable || !c.Envelope.TombstonesOnDelete || c.Sink != "stdout" || c.Kafka.Partitions != 1 || c.Kafka.Replication != -1 ||
		c.Pipeline.SkippedOps != "t" || c.Offsets.Name != "sluice" || c.Pipeline.FlushInterval != time.Second ||
		c.Kafka.Linger != 0 || c.Kafka.MaxBufferedBytes != kafka.DefaultMaxBufferedBytes || c.Kafka.Compression != "none" ||
		c.Envelope.Options != (envelope.Options{}) || c.Pipeline.HeartbeatInterval != 0 || c.MemoryLimit != "auto" {
		t.Errorf("defaults: %+v", c)
	}
}

// TestValidateReportsEverything: every bad setting is reported at once, naming the flag.
func TestValidateReportsEverything(t *testing.T) {
	fs, c := newTestFlags(t)
	args := []string{"--sink", "kafka", "--kafka-compression", "brotli", "--topic-partitions", "0",
		"--decimal-handling", "exact", "--time-precision", "nanos", "--binary-handling", "b32",
		"--bigint-unsigned-handling", "huge", "--log-format", "xml", "--offsets-file", "a", "--offsets-topic", "b",
		"--skipped-operations", "x", "--kafka-linger", "-1ms"}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	err := c.resolve(func(string) (string, bool) { return "", false })
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"--topic-prefix", "--sink kafka needs --kafka-brokers", "brotli",
		"--topic-partitions 0", "--decimal-handling", "--time-precision", "--binary-handling",
		"--bigint-unsigned-handling", "--log-format", "not both", "--skipped-operations", "--kafka-linger -1ms"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

// TestFileReportsEveryBadValue: a config file with a bad value of a plain flag (a bool) and
// of a checked one (a partition count) gets both named at once. Before, the first kind hid
// the second, so the file failed again after the first fix.
func TestFileReportsEveryBadValue(t *testing.T) {
	props := writeFile(t, "app.properties", "topic.prefix=p\ntombstones.on.delete=flase\ntopic.creation.default.partitions=abc\n")
	fs, c := newTestFlags(t)
	if err := fs.Parse([]string{"--config", props}); err != nil {
		t.Fatal(err)
	}
	err := c.resolve(func(string) (string, bool) { return "", false })
	for _, want := range []string{`tombstones.on.delete="flase"`, `topic.creation.default.partitions="abc"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
}

func TestEnvBadValueNamesVariable(t *testing.T) {
	fs, c := newTestFlags(t)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	err := c.resolve(func(k string) (string, bool) {
		if k == "SLUICE_TOPIC_PARTITIONS" {
			return "many", true
		}
		return "", false
	})
	if err == nil || !strings.Contains(err.Error(), `SLUICE_TOPIC_PARTITIONS="many"`) {
		t.Fatalf("error %v", err)
	}
}

func TestRunMain(t *testing.T) {
	cases := []struct {
		args     []string
		code     int
		inStdout string
	}{
		{[]string{"version"}, 0, ""},
		{[]string{"--help"}, 0, "Commands:"},
		{[]string{"nosuch"}, 2, ""},
		{nil, 2, ""},
	}
	for _, c := range cases {
		var out, errb bytes.Buffer
		if got := RunMain(context.Background(), nil, c.args, &out, &errb); got != c.code {
			t.Errorf("%v: exit %d, want %d (stderr %s)", c.args, got, c.code, errb.String())
		}
		if !strings.Contains(out.String(), c.inStdout) {
			t.Errorf("%v: stdout %q lacks %q", c.args, out.String(), c.inStdout)
		}
	}
}

func TestMetricsText(t *testing.T) {
	// A tiny exposition check: HELP, TYPE and a sample line per counter.
	h := newHealth(time.Now())
	h.register("postgres", "p", "kafka")
	b := scrape(t, h)
	for _, want := range []string{"# TYPE sluice_events_total counter\nsluice_events_total 0\n", "sluice_offset_saves_total 0\n",
		"# TYPE sluice_connected gauge\nsluice_connected 0\n", "sluice_milliseconds_since_last_event -1\n",
		"sluice_milliseconds_behind_source -1\n", "sluice_stalled 0\n", "sluice_committed_transactions_total 0\n", "sluice_erroneous_events_total 0\n"} {
		if !strings.Contains(b, want) {
			t.Errorf("metrics lack %q:\n%s", want, b)
		}
	}
}

func TestMemoryLimit(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	withEnv := func(k string) (string, bool) { return "100MiB", k == "GOMEMLIMIT" }
	cases := []struct {
		flag   string
		buffer int64
		env    func(string) (string, bool)
		limit  int64
		ok     bool
	}{
		{"auto", 4 << 20, noEnv, 32<<20 + 8<<20, true},
		{"", 0, noEnv, 32 << 20, true},
		{"auto", 4 << 20, withEnv, 0, false}, // GOMEMLIMIT stands
		{"off", 4 << 20, noEnv, math.MaxInt64, true},
		{"0", 0, noEnv, math.MaxInt64, true},
		{"48MiB", 4 << 20, withEnv, 48 << 20, true}, // the flag wins over GOMEMLIMIT
		{"64MB", 0, noEnv, 64e6, true},
		{"1.5GiB", 0, noEnv, 3 << 29, true},
		{"50000000", 0, noEnv, 50000000, true},
	}
	for _, c := range cases {
		limit, ok, err := memoryLimit(c.flag, c.buffer, c.env)
		if err != nil || limit != c.limit || ok != c.ok {
			t.Errorf("memoryLimit(%q, %d) = %d, %v, %v; want %d, %v", c.flag, c.buffer, limit, ok, err, c.limit, c.ok)
		}
	}
	for _, bad := range []string{"lots", "12XB", "-5MiB"} {
		if _, _, err := memoryLimit(bad, 0, noEnv); err == nil || !strings.Contains(err.Error(), "--memory-limit") {
			t.Errorf("memoryLimit(%q): error %v, want one naming --memory-limit", bad, err)
		}
	}
}

// TestRunOnly: a one-command binary (sluice-postgres) takes the command's flags directly, skips
// a leading command name, and still answers version and help.
func TestRunOnly(t *testing.T) {
	var got []string
	var gotProg string
	cmd := Command{Name: "testonly", Summary: "a test command", Run: func(_ context.Context, prog string, args []string) error {
		gotProg, got = prog, append([]string(nil), args...)
		if len(args) > 0 && args[0] == "-h" {
			return flag.ErrHelp
		}
		return nil
	}}
	cases := []struct {
		args []string
		code int
		want string // the command's arguments, joined; "-" when it must not run
	}{
		{[]string{"--slot", "s"}, 0, "--slot s"},
		{[]string{"testonly", "--slot", "s"}, 0, "--slot s"},
		{nil, 0, ""},
		{[]string{"--help"}, 0, "--help"},
		{[]string{"help"}, 0, "-h"},
		{[]string{"version"}, 0, "-"},
		{[]string{"--version"}, 0, "-"},
	}
	for _, c := range cases {
		got = []string{"-"}
		var out, errb bytes.Buffer
		gotProg = ""
		if code := RunOnly(context.Background(), "sluice-testonly", cmd, c.args, &out, &errb); code != c.code {
			t.Errorf("%v: exit %d, want %d (stderr %s)", c.args, code, c.code, errb.String())
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("%v: command got %q, want %q", c.args, g, c.want)
		}
		if c.want != "-" && gotProg != "sluice-testonly" {
			t.Errorf("%v: command ran as %q, want the binary's name", c.args, gotProg)
		}
	}
}

// TestUnknownProducerPropertyRefused: a debezium.sink.kafka.producer.* property that maps to
// no sluice setting stops the command with an error naming it (it used to be only logged as
// unknown, so a tuned setting silently did nothing); mapped and known ones still pass.
func TestUnknownProducerPropertyRefused(t *testing.T) {
	props := writeFile(t, "app.properties", `
debezium.sink.type=kafka
debezium.sink.kafka.producer.bootstrap.servers=k:9092
debezium.sink.kafka.producer.linger.ms=5
debezium.sink.kafka.producer.retries=10
debezium.sink.kafka.producer.enable.idempotence=true
debezium.sink.kafka.producer.security.protocol=PLAINTEXT
debezium.sink.kafka.producer.max.block.ms=60000
`)
	fs, c := newTestFlags(t)
	if err := fs.Parse([]string{"--config", props, "--topic-prefix", "p"}); err != nil {
		t.Fatal(err)
	}
	err := c.resolve(func(string) (string, bool) { return "", false })
	if err == nil || !strings.Contains(err.Error(), "debezium.sink.kafka.producer.max.block.ms") || !strings.Contains(err.Error(), "no such setting") {
		t.Fatalf("resolve = %v, want an error naming max.block.ms", err)
	}
	for _, ok := range []string{"linger.ms", "retries", "enable.idempotence", "security.protocol", "bootstrap.servers"} {
		if strings.Contains(err.Error(), "producer."+ok) {
			t.Errorf("error names the supported %s: %v", ok, err)
		}
	}
}

// TestUnimplementedDebeziumPropertiesRefused: a Debezium property that changes the records
// (columns, values, names, topics) and that sluice does not implement stops the command with
// an error naming it and what to do, unless it asks for Debezium's default; before, each was
// logged as unknown and ignored, so sluice ran and wrote something else than the file asked
// for (every column under column.include.list). Tuning knobs are accepted.
func TestUnimplementedDebeziumPropertiesRefused(t *testing.T) {
	props := writeFile(t, "app.properties", `
debezium.sink.type=stdout
debezium.source.column.include.list=public.t.id
debezium.source.unavailable.value.placeholder=__x
debezium.source.topic.delimiter=_
debezium.source.topic.transaction=tx
debezium.source.snapshot.select.statement.overrides.public.t=SELECT * FROM public.t WHERE id > 9
debezium.source.converters=isbn
debezium.source.schema.name.adjustment.mode=avro
debezium.source.topic.heartbeat.prefix=__debezium-heartbeat
debezium.source.schema.refresh.mode=columns_diff
debezium.source.money.fraction.digits=2
debezium.source.max.batch.size=2048
debezium.source.poll.interval.ms=500
debezium.format.key.schemas.enable=false
debezium.format.value.schemas.enable=false
debezium.predicates=p1
debezium.source.gtid.source.excludes=6e5b0d4a-1111-2222-3333-444455556666
debezium.source.inconsistent.schema.handling.mode=skip
debezium.source.event.deserialization.failure.handling.mode=fail
debezium.source.binlog.buffer.size=0
debezium.predicates.p1.type=org.apache.kafka.connect.transforms.predicates.TopicNameMatches
debezium.predicates.p1.pattern=.*
`)
	fs, c := newTestFlags(t)
	if err := fs.Parse([]string{"--config", props, "--topic-prefix", "p"}); err != nil {
		t.Fatal(err)
	}
	err := c.resolve(func(string) (string, bool) { return "", false })
	if err == nil {
		t.Fatal("resolve: no error")
	}
	if !strings.Contains(err.Error(), "debezium.predicates=\"p1\": not supported") || strings.Contains(err.Error(), "predicates.p1") {
		t.Errorf("predicates: %v", err)
	}
	for _, bad := range []string{"column.include.list", "unavailable.value.placeholder", "topic.delimiter", "topic.transaction",
		"snapshot.select.statement.overrides.public.t", "converters", "schema.name.adjustment.mode", "gtid.source.excludes",
		"inconsistent.schema.handling.mode"} {
		if !strings.Contains(err.Error(), "debezium.source."+bad+"=") {
			t.Errorf("error does not name %s: %v", bad, err)
		}
	}
	for _, ok := range []string{"topic.heartbeat.prefix", "schema.refresh.mode", "money.fraction.digits", "max.batch.size", "poll.interval.ms", "schemas.enable",
		"event.deserialization", "binlog.buffer.size"} {
		if strings.Contains(err.Error(), ok) {
			t.Errorf("error names the accepted %s: %v", ok, err)
		}
	}
	if len(c.unknown) > 0 {
		t.Errorf("unknown: %v", c.unknown)
	}
}

// TestReplaceNullWithDefault: JsonConverter's replace.null.with.default is a setting: false
// (from the converter's property or --replace-null-with-default) keeps a SQL NULL null; the
// default, auto, replaces it with the column default as Kafka Connect does, except for the
// ClickHouse sink, whose table is a copy of the rows. Before, the property was ignored and
// every sink wrote the column default for a NULL (ClickHouse held 5 for a NULL of an int
// DEFAULT 5, which sluice verify reports as differing).
func TestReplaceNullWithDefault(t *testing.T) {
	chSink := SinkKind{Name: "clickhouse", New: func(c *Capture) Sink { return stdoutSink{c} }}
	for _, c := range []struct {
		name  string
		props string
		args  []string
		keep  bool
	}{
		{"default kafka", "", []string{"--sink", "kafka", "--kafka-brokers", "k:9092"}, false},
		{"default clickhouse", "", []string{"--sink", "clickhouse"}, true},
		{"converter false", "value.converter.replace.null.with.default=false\n", []string{"--sink", "kafka", "--kafka-brokers", "k:9092"}, true},
		{"debezium server false", "debezium.format.value.replace.null.with.default=false\n", []string{"--sink", "stdout"}, true},
		{"flag true on clickhouse", "", []string{"--sink", "clickhouse", "--replace-null-with-default", "true"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			fs := flag.NewFlagSet("test", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			cp := addCapture(newSet(fs), "", []SinkKind{StdoutSink, KafkaSink, chSink})
			args := append([]string{"--topic-prefix", "p", "--config", writeFile(t, "a.properties", c.props)}, c.args...)
			if err := fs.Parse(args); err != nil {
				t.Fatal(err)
			}
			if err := cp.resolve(func(string) (string, bool) { return "", false }); err != nil {
				t.Fatal(err)
			}
			if cp.Envelope.KeepNulls != c.keep {
				t.Errorf("KeepNulls = %v, want %v", cp.Envelope.KeepNulls, c.keep)
			}
		})
	}
}

// TestAcksPropertySetsFlag: acks (and debezium.sink.kafka.producer.acks) set --kafka-acks as
// the docs say, and a bad value is an error naming the property. Before, a stale rule of the
// capture command took both names over: any value, a typo too, was accepted and ignored.
func TestAcksPropertySetsFlag(t *testing.T) {
	for _, c := range []struct{ line, want, err string }{
		{"debezium.sink.kafka.producer.acks=1", "1", ""},
		{"acks=all", "all", ""},
		{"acks=0", "0", ""},
		{"debezium.sink.kafka.producer.acks=al", "", "debezium.sink.kafka.producer.acks"},
	} {
		t.Run(c.line, func(t *testing.T) {
			props := writeFile(t, "app.properties", "debezium.sink.type=kafka\nbootstrap.servers=k:9092\n"+c.line+"\n")
			fs, capt := newTestFlags(t)
			if err := fs.Parse([]string{"--config", props, "--topic-prefix", "p"}); err != nil {
				t.Fatal(err)
			}
			err := capt.resolve(func(string) (string, bool) { return "", false })
			switch {
			case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
				t.Fatalf("resolve = %v, want an error naming %s", err, c.err)
			case c.err == "" && err != nil:
				t.Fatal(err)
			case c.err == "" && fs.Lookup("kafka-acks").Value.String() != c.want:
				t.Errorf("--kafka-acks = %q, want %q", fs.Lookup("kafka-acks").Value.String(), c.want)
			}
		})
	}
}
