package mysqlcmd

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture/mysql"
	"github.com/sluicecdc/sluice/capture/mysql/replication"
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
// own settings, the command's and the common ones.
func TestPrecedence(t *testing.T) {
	props := writeFile(t, `
debezium.source.topic.prefix=fileprefix
debezium.source.database.server.id=1001
debezium.source.database.include.list=inventory,shop
debezium.source.snapshot.locking.mode=none
debezium.source.snapshot.mode=when_needed
debezium.source.include.query=true
debezium.source.schema.history.internal.kafka.topic=schema-changes
debezium.source.offset.flush.interval.ms=250
`)
	t.Setenv("SLUICE_SNAPSHOT_MODE", "no_data")
	t.Setenv("SLUICE_TLS_MODE", "required")
	t.Setenv("SLUICE_SERVER_ID", "1002")
	t.Setenv("SLUICE_MYSQL_PASSWORD", "secret")
	c, cfg, hist, err := parse("sluice mysql", []string{"--config", props, "--dsn", "mysql://u@h:3306", "--server-id", "1003", "--kafka-brokers", "k1:9092"}, sinks)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"server-id (flag over env and file)", strings.Repeat("x", int(cfg.ServerID)-1000), "xxx"},
		{"snapshot-mode (env over file)", string(cfg.SnapshotMode), string(mysql.SnapshotNoData)},
		{"tls-mode (env)", string(cfg.TLS.Mode), "require"},
		{"snapshot-locking (file)", string(cfg.SnapshotLocking), string(mysql.LockNone)},
		{"database-include (file, list)", strings.Join(cfg.DatabaseInclude, "|"), "inventory|shop"},
		{"schema-history (file, kafka topic)", hist, "kafka:schema-changes"},
		{"offsets-flush-interval (file, ms)", c.Pipeline.FlushInterval.String(), (250 * time.Millisecond).String()},
		{"password (env)", cfg.Password, "secret"},
		{"name (topic prefix from file)", cfg.Name, "fileprefix"},
		{"binlog-heartbeat (default)", cfg.HeartbeatPeriod.String(), replication.DefaultHeartbeat.String()},
		{"snapshot-chunk-rows (default)", strings.Repeat("x", cfg.SnapshotChunkRows/1000), "xxxxxxxxxx"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	if !cfg.IncludeQuery {
		t.Error("include-query from the file not applied")
	}
}

func TestValidateNamesFlags(t *testing.T) {
	_, _, _, err := parse("sluice mysql", []string{"--topic-prefix", "p", "--dsn", "mysql://u@h", "--server-id", "1",
		"--snapshot-mode", "sometimes", "--tls-mode", "maybe", "--server-id", "99999999999"}, sinks)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"--snapshot-mode sometimes", "--tls-mode maybe", "--server-id 99999999999"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
}

// TestHistoryFollowsOffsets: the schema history is as durable as the offsets. Before, Kafka
// offsets without --schema-history kept the history in memory, so the next start found an
// offset it could not decode from.
func TestHistoryFollowsOffsets(t *testing.T) {
	base := []string{"--dsn", "mysql://u@h", "--server-id", "7", "--topic-prefix", "dbserver1"}
	kafka := []string{"--kafka-brokers", "k1:9092"}
	for _, tc := range []struct {
		name string
		args []string
		want string // the store, or the error's start
	}{
		{"kafka offsets", append(kafka, "--offsets-topic", "sluice-offsets"), "kafka:dbserver1.schema-history"},
		{"file offsets", []string{"--offsets-file", "/var/lib/sluice/off.json"}, "file:/var/lib/sluice/off.json.history"},
		{"memory offsets", nil, "memory"},
		{"memory offsets, file history", []string{"--schema-history", "file:/h"}, "file:/h"},
		{"explicit kafka", append(kafka, "--offsets-topic", "o", "--schema-history", "kafka:h"), "kafka:h"},
		{"kafka offsets, file history", append(kafka, "--offsets-topic", "o", "--schema-history", "/h"), "file:/h"},
		{"file offsets, memory history", []string{"--offsets-file", "off.json", "--schema-history", "memory"}, "error: --schema-history memory with durable offsets"},
		{"kafka offsets, memory history", append(kafka, "--offsets-topic", "o", "--schema-history", "memory"), "error: --schema-history memory with durable offsets"},
		{"kafka history without brokers", []string{"--schema-history", "kafka:h"}, "error: --schema-history kafka:TOPIC needs --kafka-brokers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, hist, err := parse("sluice mysql", append(append([]string{}, base...), tc.args...), sinks)
			got := hist
			if err != nil {
				got = "error: " + err.Error()
			}
			if !strings.HasPrefix(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSourceStatsPlumbed: the source gets the command's one capture.Stats, the one /metrics
// and the progress display read.
func TestSourceStatsPlumbed(t *testing.T) {
	c, cfg, _, err := parse("sluice mysql", []string{"--topic-prefix", "p", "--dsn", "mysql://u@h:3306", "--server-id", "7"}, sinks)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Stats == nil || cfg.Stats != c.SourceStats() {
		t.Errorf("Config.Stats %p, want the command's %p", cfg.Stats, c.SourceStats())
	}
}

// TestProbesAnswerWhileHistoryOpens: /readyz and /healthz answer from the first second, also
// while the Kafka schema history waits for an unreachable broker. Before, the endpoint
// started only after the history was open.
func TestProbesAnswerWhileHistoryOpens(t *testing.T) {
	closed := freeAddr(t)
	httpAddr := freeAddr(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, "sluice mysql", []string{"--topic-prefix", "p", "--dsn", "mysql://u@" + closed, "--server-id", "7",
			"--kafka-brokers", closed, "--schema-history", "kafka:p.history", "--http-addr", httpAddr, "--log-level", "error"}, sinks)
	}()
	defer func() { cancel(); <-done }()
	var code int
	for start := time.Now(); time.Since(start) < 3*time.Second; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		code = resp.StatusCode
		// "starting" while the history opens; "reconnecting" once its open left the waiting for
		// the broker to the source's reopen loop (the history no longer blocks the start).
		if code != http.StatusServiceUnavailable || !strings.Contains(string(body), `"starting"`) && !strings.Contains(string(body), `"reconnecting"`) {
			t.Fatalf("/readyz while the history opens: %d %s", code, body)
		}
		break
	}
	if code == 0 {
		select {
		case err := <-done:
			t.Fatalf("run ended before /readyz answered: %v", err)
		default:
		}
		t.Fatal("/readyz did not answer within 3 s")
	}
	resp, err := http.Get("http://" + httpAddr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz while starting: %d", resp.StatusCode)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestSignalChannelsWithoutSourceMySQL: signal.enabled.channels without source makes the
// signal table's rows no signals (the table still takes the watermarks); by default they are.
func TestSignalChannelsWithoutSourceMySQL(t *testing.T) {
	base := []string{"--topic-prefix", "p", "--dsn", "mysql://u@h:3306", "--server-id", "7", "--signal-data-collection", "d.sig"}
	_, cfg, _, err := parse("sluice mysql", base, sinks)
	if err != nil || cfg.NoTableSignals {
		t.Fatalf("default channels: NoTableSignals %v, %v", cfg.NoTableSignals, err)
	}
	_, cfg, _, err = parse("sluice mysql", append(base, "--signal-enabled-channels", "kafka", "--signal-kafka-topic", "s", "--signal-kafka-brokers", "k:9092"), sinks)
	if err != nil || !cfg.NoTableSignals || cfg.SignalDataCollection != "d.sig" {
		t.Fatalf("kafka only: NoTableSignals %v, signal table %q, %v", cfg.NoTableSignals, cfg.SignalDataCollection, err)
	}
}

// TestIncrementalChunkSizePropertyMySQL: as TestIncrementalChunkSizeProperty.
func TestIncrementalChunkSizePropertyMySQL(t *testing.T) {
	for _, tc := range []struct {
		props string
		want  int
	}{
		{"incremental.snapshot.chunk.size=512\n", 512},
		{"snapshot.fetch.size=2048\n", 2048},
		{"snapshot.fetch.size=2048\nincremental.snapshot.chunk.size=512\n", 512},
	} {
		props := writeFile(t, "topic.prefix=app\ndatabase.server.id=7\n"+tc.props)
		_, cfg, _, err := parse("sluice mysql", []string{"--config", props, "--dsn", "mysql://u@h:3306"}, sinks)
		if err != nil || cfg.SnapshotChunkRows != tc.want {
			t.Errorf("%q: snapshot-chunk-rows %d, want %d (%v)", tc.props, cfg.SnapshotChunkRows, tc.want, err)
		}
	}
}

// TestSnapshotModeNames: snapshot.mode takes Debezium's names as sluice postgres does; never
// (Debezium MySQL: read the binlog from its oldest file) is refused with what to use instead,
// since mapping it to no_data as PostgreSQL's never would leave the existing rows out.
func TestSnapshotModeNames(t *testing.T) {
	for _, c := range []struct{ in, want, err string }{
		{"initial", "initial", ""}, {"initial_only", "initial_only", ""}, {"no_data", "no_data", ""},
		{"when_needed", "when_needed", ""}, {"always", "always", ""}, {"recovery", "recovery", ""},
		{"schema_only", "no_data", ""}, {"schema_only_recovery", "recovery", ""}, {"INITIAL", "initial", ""}, {"When_Needed", "when_needed", ""},
		{"never", "", "use initial to read the existing rows, or no_data"},
		{"custom", "", `snapshot mode "custom"`},
	} {
		props := writeFile(t, "topic.prefix=p\nsnapshot.mode="+c.in+"\n")
		_, cfg, _, err := parse("sluice mysql", []string{"--config", props, "--dsn", "mysql://u@h:3306", "--server-id", "7"}, sinks)
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
