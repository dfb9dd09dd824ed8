package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// captureCommand is a capture command as the sources build it, with a help writer.
func captureCommand(help io.Writer) Command {
	return Command{Name: "testcap", Run: func(_ context.Context, prog string, args []string) error {
		c := NewCapture(prog, CaptureUsage{Synopsis: "--topic-prefix NAME", About: "A test command."}, StdoutSink, KafkaSink)
		c.SetHelpOutput(help)
		c.Required("dsn")
		c.Examples(prog + " --dsn x --topic-prefix p")
		c.Accept("connector.class", ConnectorClass("testcap", "io.debezium.connector.postgresql.PostgresConnector"))
		return c.Set.Parse(args) // (the environment of the test: no SLUICE_* is set)
	}}
}

// TestExitCodes: usage and configuration errors exit 2 with one line on stderr; --help prints
// the grouped help on stdout and exits 0.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	wrongConnector := filepath.Join(dir, "mysql.properties")
	os.WriteFile(wrongConnector, []byte("connector.class=io.debezium.connector.mysql.MySqlConnector\ntopic.prefix=p\n"), 0o600)
	badBool := filepath.Join(dir, "bool.properties")
	os.WriteFile(badBool, []byte("topic.prefix=p\ntombstones.on.delete=flase\n"), 0o600)
	for _, c := range []struct {
		args     []string
		code     int
		stdout   []string
		stderr   string // the whole of it
		inStderr string
	}{
		{args: []string{"testcap", "--bogus"}, code: 2, stderr: "sluice testcap: unknown flag --bogus; see 'sluice testcap --help'\n"},
		{args: []string{"testcap", "--topic-prefix"}, code: 2, stderr: "sluice testcap: flag --topic-prefix needs a value; see 'sluice testcap --help'\n"},
		{args: []string{"testcap", "stray"}, code: 2, inStderr: `unexpected argument "stray"`},
		{args: []string{"testcap", "--topic-prefix", "p", "--heartbeat-interval", "5"}, code: 2,
			inStderr: `--heartbeat-interval 5: time: missing unit in duration "5": want a duration with a unit, like 5s or 5ms`},
		{args: []string{"testcap", "--errors-retry-timeout", "5"}, code: 2,
			inStderr: `invalid value "5" for flag --errors-retry-timeout: parse error: want a duration with a unit, like 5s`},
		// A bad bool or number said only "parse error" before.
		{args: []string{"testcap", "--tombstones-on-delete=flase"}, code: 2, inStderr: `"flase" for -tombstones-on-delete: parse error: want true or false`},
		{args: []string{"testcap", "--config", badBool}, code: 2, inStderr: `tombstones.on.delete="flase": parse error: want true or false`},
		{args: []string{"testcap", "--topic-prefix", "p", "--errors-max-retries", "x"}, code: 2, inStderr: `for flag --errors-max-retries: parse error: want a whole number`},
		{args: []string{"testcap", "--config", wrongConnector}, code: 2, inStderr: "configures the MySQL/MariaDB connector: run sluice mysql"},
		{args: []string{"testcap", "--config", filepath.Join(dir, "missing")}, code: 2, inStderr: "configuration error"},
		{args: []string{"testcap", "--help"}, code: 0,
			stdout: []string{"Usage: sluice testcap --topic-prefix NAME", "Required: --dsn, --topic-prefix", "Connection:\n  --dsn string  (required)",
				"Output:", "Kafka:", "Operations:", "  --kafka-brokers string", "Examples:\n  sluice testcap --dsn x", "Exit status"}},
	} {
		var out, errb bytes.Buffer
		code := RunMain(context.Background(), []Command{captureCommand(&out)}, c.args, &out, &errb)
		if code != c.code {
			t.Errorf("%v: exit %d, want %d (stderr %s)", c.args, code, c.code, errb.String())
		}
		for _, s := range c.stdout {
			if !strings.Contains(out.String(), s) {
				t.Errorf("%v: stdout lacks %q:\n%s", c.args, s, out.String())
			}
		}
		if c.stderr != "" && errb.String() != c.stderr {
			t.Errorf("%v: stderr %q, want %q", c.args, errb.String(), c.stderr)
		}
		if !strings.Contains(errb.String(), c.inStderr) {
			t.Errorf("%v: stderr %q lacks %q", c.args, errb.String(), c.inStderr)
		}
	}
}

// TestHelpGroupOrder: the groups come in the documented order and a flag is in one only.
func TestHelpGroupOrder(t *testing.T) {
	var out bytes.Buffer
	RunMain(context.Background(), []Command{captureCommand(&out)}, []string{"testcap", "-h"}, &out, io.Discard)
	h := out.String()
	last := -1
	for _, g := range []string{"Connection:", "Output:", "Kafka:", "Operations:"} {
		i := strings.Index(h, "\n"+g+"\n")
		if i < 0 || i < last {
			t.Fatalf("group %s missing or out of order:\n%s", g, h)
		}
		last = i
	}
	if strings.Count(h, "  --kafka-brokers ") != 1 || strings.Count(h, "  --topic-prefix ") != 1 {
		t.Error("a flag shown twice")
	}
}

// TestConfigPlaceholders: ${…} values set flags (database.password too) and an error about
// such a value shows the placeholder, never what it resolved to.
func TestConfigPlaceholders(t *testing.T) {
	dir := t.TempDir()
	secrets := writeFile(t, "secrets.properties", "pw=S3cr3t-file\n")
	props := writeFile(t, "app.properties", "debezium.source.database.password=${file:"+secrets+":pw}\n"+
		"debezium.source.topic.prefix=${env:PREFIX}\n"+
		"debezium.sink.kafka.producer.linger.ms=${env:LINGER}\n"+
		"debezium.source.offset.flush.interval.ms=0\n"+
		"quarkus.log.console.json=false\n"+
		"debezium.sink.kafka.producer.key.serializer=org.apache.kafka.common.serialization.StringSerializer\n"+
		"tasks.max=1\nconfig.providers=file\nconfig.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider\n"+
		"unknown.one=1\ndebezium.source.unknown.two=2\n")
	_ = dir
	env := map[string]string{"PREFIX": "p1", "LINGER": "S3cr3t-env"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	fs, c := newTestFlags(t)
	if err := fs.Parse([]string{"--config", props}); err != nil {
		t.Fatal(err)
	}
	err := c.resolve(lookup)
	if err == nil || !strings.Contains(err.Error(), `${env:LINGER}`) {
		t.Fatalf("a bad value from a placeholder: %v", err)
	}
	if strings.Contains(err.Error(), "S3cr3t") {
		t.Errorf("the error shows the resolved value: %v", err)
	}
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Errorf("%T is not a configuration error (exit 2)", err)
	}

	env["LINGER"] = "5"
	fs, c = newTestFlags(t)
	fs.Parse([]string{"--config", props})
	if err := c.resolve(lookup); err != nil {
		t.Fatal(err)
	}
	if pw, ok, err := c.Password("NONE"); pw != "S3cr3t-file" || !ok || err != nil {
		t.Errorf("password from database.password = ${file:…}: %v %v", ok, err)
	}
	if c.Envelope.TopicPrefix != "p1" || c.LogFormat != "text" || c.Pipeline.FlushInterval <= 0 {
		t.Errorf("prefix %q, log format %q, flush interval %s", c.Envelope.TopicPrefix, c.LogFormat, c.Pipeline.FlushInterval)
	}
	if got := strings.Join(c.unknown, ","); got != "debezium.source.unknown.two,unknown.one" {
		t.Errorf("unknown %q", got)
	}
	if f := c.FlagSet().Lookup("password"); strings.Contains(f.Value.String(), "S3cr3t") {
		t.Error("the password flag shows its value")
	}
}

// TestServerNameFallback: database.server.name (Debezium 1.x) sets the topic prefix unless
// topic.prefix does, as in Debezium 2.
func TestServerNameFallback(t *testing.T) {
	for _, c := range []struct{ file, want string }{
		{"database.server.name=old\n", "old"},
		{"database.server.name=old\ntopic.prefix=new\n", "new"},
	} {
		fs, cp := newTestFlags(t)
		fs.Parse([]string{"--config", writeFile(t, "c.properties", c.file)})
		if err := cp.resolve(func(string) (string, bool) { return "", false }); err != nil {
			t.Fatal(err)
		}
		if cp.Envelope.TopicPrefix != c.want {
			t.Errorf("%q: topic prefix %q, want %q", c.file, cp.Envelope.TopicPrefix, c.want)
		}
	}
}

// TestDurationsAsText: the JSON log writes durations as text, as the text log does, not as
// nanoseconds ("in":1000000000).
func TestDurationsAsText(t *testing.T) {
	var b bytes.Buffer
	slog.New(slog.NewJSONHandler(&b, &slog.HandlerOptions{ReplaceAttr: durationText})).Info("x", "in", 1500*time.Millisecond)
	if !strings.Contains(b.String(), `"in":"1.5s"`) {
		t.Errorf("got %s", b.String())
	}
}
