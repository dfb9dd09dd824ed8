package postgrescmd

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture/postgres"
	"github.com/sluicecdc/sluice/internal/cli"
)

var sinks = []cli.SinkKind{cli.StdoutSink, cli.KafkaSink}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "app.properties")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPrecedence: flag > SLUICE_* > --config file (Debezium names) > default, for the source's
// own settings and the common ones.
func TestPrecedence(t *testing.T) {
	props := writeFile(t, `
debezium.source.topic.prefix=fileprefix
debezium.source.slot.name=fromfile
debezium.source.publication.name=fromfile
debezium.source.snapshot.max.threads=3
debezium.source.status.update.interval.ms=2500
debezium.source.table.include.list=public.a, public.b
debezium.source.database.hostname=filehost
debezium.source.skipped.operations=c,t
`)
	t.Setenv("SLUICE_PUBLICATION", "fromenv")
	t.Setenv("SLUICE_SNAPSHOT_WORKERS", "5")
	t.Setenv("SLUICE_PG_PASSWORD", "secret")
	c, cfg, err := parse("sluice postgres", []string{"--config", props, "--dsn", "postgres://u@h:1/db", "--snapshot-workers", "4"}, sinks)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"slot (file)", cfg.Slot, "fromfile"},
		{"publication (env over file)", cfg.Publication, "fromenv"},
		{"snapshot-workers (flag over env and file)", strings.Repeat("x", cfg.SnapshotWorkers), "xxxx"},
		{"status-interval (file, ms)", cfg.StatusInterval.String(), (2500 * time.Millisecond).String()},
		{"table-include (file, list)", strings.Join(cfg.TableInclude, "|"), "public.a|public.b"},
		{"dsn (host from file, password from env)", cfg.DSN, "postgres://u:secret@filehost:1/db"},
		{"topic-prefix (file)", c.Envelope.TopicPrefix, "fileprefix"},
		{"skipped operations (file; source and pipeline alike)", cfg.SkippedOperations + " " + c.Pipeline.SkippedOps, "c,t c,t"},
		{"publication-mode (default)", string(cfg.PublicationMode), string(postgres.PublicationAllTables)},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
}

// TestDefaults: the defaults are the source's own; the status interval is Debezium's 10 s
// (status.update.interval.ms).
func TestDefaults(t *testing.T) {
	_, cfg, err := parse("sluice postgres", []string{"--dsn", "postgres://u@h/db", "--topic-prefix", "p"}, sinks)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.StatusInterval != 10*time.Second || cfg.Slot != "sluice" || cfg.Publication != "sluice" ||
		cfg.SnapshotWorkers != 2 || cfg.SnapshotChunkRows != 10000 || cfg.SnapshotMode != postgres.SnapshotInitial ||
		cfg.SkippedOperations != "t" || cfg.HeartbeatInterval != 0 || len(cfg.TableInclude) != 0 {
		t.Errorf("defaults: %+v", cfg)
	}
}

func TestValidateNamesFlags(t *testing.T) {
	_, _, err := parse("sluice postgres", []string{"--topic-prefix", "p", "--dsn", "postgres://u@h/db",
		"--skipped-operations", "x", "--sink", "kafka"}, sinks)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"--skipped-operations x", "--sink kafka needs --kafka-brokers"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	if _, _, err := parse("sluice postgres", []string{"--topic-prefix", "p", "--sink", "clickhouse"}, sinks); err == nil ||
		!strings.Contains(err.Error(), `--sink "clickhouse": want one of kafka, stdout`) {
		t.Errorf("a sink the main did not wire: error %v", err)
	}
}

func TestUsageNamesBinary(t *testing.T) {
	var b strings.Builder
	c := cli.NewCapture("sluice-postgres", usage, sinks...)
	c.SetHelpOutput(&b)
	if err := c.Parse([]string{"--help"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	if !strings.HasPrefix(b.String(), "Usage: sluice-postgres --dsn") {
		t.Errorf("usage starts %q", b.String()[:min(60, b.Len())])
	}
	if !slices.Contains(strings.Fields(b.String()), "--topic-prefix") {
		t.Error("usage lacks the common flags")
	}
}

// TestSourceStatsPlumbed: the source gets the command's one capture.Stats, the one /metrics
// and the progress display read.
func TestSourceStatsPlumbed(t *testing.T) {
	c, cfg, err := parse("sluice postgres", []string{"--topic-prefix", "p", "--dsn", "postgres://u@h/db"}, sinks)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Stats == nil || cfg.Stats != c.SourceStats() {
		t.Errorf("Config.Stats %p, want the command's %p", cfg.Stats, c.SourceStats())
	}
}

// TestSignalProperties: Debezium's signal and read-only properties reach the source and the
// Kafka signal channel; the kafka channel without a topic is refused; without the source
// channel the signal table's rows are no signals.
func TestSignalProperties(t *testing.T) {
	props := writeFile(t, `
topic.prefix=app
read.only=true
signal.data.collection=public.debezium_signal
signal.enabled.channels=source,kafka
signal.kafka.topic=app-signal
signal.kafka.bootstrap.servers=k1:9092,k2:9092
signal.kafka.groupId=kafka-signal
`)
	c, cfg, err := parse("sluice postgres", []string{"--config", props, "--dsn", "postgres://u@h:1/db"}, sinks)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.ReadOnly || cfg.SignalDataCollection != "public.debezium_signal" || !c.Signals.Kafka() || !c.Signals.Source() ||
		c.Signals.Topic != "app-signal" || strings.Join(c.Signals.Brokers, ",") != "k1:9092,k2:9092" {
		t.Errorf("read-only %v, signal table %q, channels %v, topic %q, brokers %v", cfg.ReadOnly, cfg.SignalDataCollection, c.Signals.Channels, c.Signals.Topic, c.Signals.Brokers)
	}
	_, _, err = parse("sluice postgres", []string{"--dsn", "postgres://u@h:1/db", "--topic-prefix", "app", "--signal-enabled-channels", "kafka"}, sinks)
	if err == nil || !strings.Contains(err.Error(), "--signal-kafka-topic") {
		t.Errorf("kafka channel without a topic: %v", err)
	}
	_, cfg, err = parse("sluice postgres", []string{"--dsn", "postgres://u@h:1/db", "--topic-prefix", "app", "--signal-data-collection", "public.s",
		"--signal-enabled-channels", "kafka", "--signal-kafka-topic", "s", "--kafka-brokers", "k:1"}, sinks)
	if err != nil || cfg.SignalDataCollection != "" {
		t.Errorf("without the source channel: err %v, signal table %q", err, cfg.SignalDataCollection)
	}
}

// TestIncrementalChunkSizeProperty: incremental.snapshot.chunk.size, Debezium's name for the
// rows of an incremental snapshot's chunk, sets --snapshot-chunk-rows; it wins over
// snapshot.fetch.size (Debezium's JDBC fetch size, which sluice also reads as the chunk size).
// It used to be ignored with a warning, leaving chunks of 10000 rows.
func TestIncrementalChunkSizeProperty(t *testing.T) {
	for _, tc := range []struct {
		props string
		want  int
	}{
		{"incremental.snapshot.chunk.size=512\n", 512},
		{"snapshot.fetch.size=2048\n", 2048},
		{"snapshot.fetch.size=2048\nincremental.snapshot.chunk.size=512\n", 512},
		{"debezium.source.incremental.snapshot.chunk.size=256\n", 256},
	} {
		props := writeFile(t, "topic.prefix=app\n"+tc.props)
		_, cfg, err := parse("sluice postgres", []string{"--config", props, "--dsn", "postgres://u@h:1/db"}, sinks)
		if err != nil || cfg.SnapshotChunkRows != tc.want {
			t.Errorf("%q: snapshot-chunk-rows %d, want %d (%v)", tc.props, cfg.SnapshotChunkRows, tc.want, err)
		}
	}
}

// TestSnapshotModeNames: snapshot.mode takes Debezium's names as sluice mysql does, so one
// properties file's value means the same to both sources. Before, schema_only (which sluice
// mysql takes) was refused here and upper case was refused by both.
func TestSnapshotModeNames(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"initial", "initial", ""}, {"initial_only", "initial_only", ""}, {"no_data", "no_data", ""},
		{"when_needed", "when_needed", ""}, {"always", "always", ""},
		{"never", "no_data", ""}, {"schema_only", "no_data", ""}, {"INITIAL", "initial", ""}, {"No_Data", "no_data", ""},
		{"recovery", "", "PostgreSQL has none"}, {"schema_only_recovery", "", "PostgreSQL has none"},
		{"custom", "", `snapshot mode "custom"`},
	} {
		props := writeFile(t, "topic.prefix=p\nsnapshot.mode="+c.in+"\n")
		_, cfg, err := parse("sluice postgres", []string{"--config", props, "--dsn", "postgres://u@h/db"}, sinks)
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want one saying %q", c.in, err, c.err)
			}
		case err != nil:
			t.Errorf("%s: %v", c.in, err)
		case string(cfg.SnapshotMode) != c.want:
			t.Errorf("%s: mode %q, want %q", c.in, cfg.SnapshotMode, c.want)
		}
	}
}
