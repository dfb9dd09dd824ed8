//go:build integration

package clickhousecmd

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestMetricsEndpoint: `sluice clickhouse --http-addr` serves /healthz, /readyz and /metrics
// like the capture commands, with the sink's counters: rows inserted and records parked (here
// one for a table that does not exist, sent without schemas). With the link to ClickHouse cut
// (a proxy) while records arrive, /readyz answers 503 within 10 s, and 200 again after.
func TestMetricsEndpoint(t *testing.T) {
	addr := testkit.Server(t, "SLUICE_TEST_CLICKHOUSE_ADDR")
	conn, err := ch.Open(&ch.Options{Addr: []string{addr}, Auth: ch.Auth{Database: "default", Username: "default"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	db := "sluice_test_clickhousecmd_metrics"
	for _, q := range []string{"DROP DATABASE IF EXISTS " + db, "CREATE DATABASE " + db,
		"CREATE TABLE " + db + ".m_ok (id Int32, v String, _version UInt64, _is_deleted UInt8) ENGINE = ReplacingMergeTree(_version) ORDER BY id"} {
		if err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	rec := func(table string, id int, lsn int) *kgo.Record {
		src := fmt.Sprintf(`{"version":"3.2.0.Final","connector":"postgresql","name":"mt","ts_ms":1705314600000,"snapshot":"false","db":"shop","sequence":null,"schema":"public","table":%q,"txId":7,"lsn":%d,"xmin":null}`, table, lsn)
		return &kgo.Record{Topic: "mt.public." + table, Key: fmt.Appendf(nil, `{"id":%d}`, id),
			Value: fmt.Appendf(nil, `{"before":null,"after":{"id":%d,"v":"x"},"source":%s,"op":"c","ts_ms":1705314600001}`, id, src)}
	}
	if err := cl.ProduceSync(ctx, rec("m_ok", 1, 100), rec("m_ok", 2, 110), rec("m_ok", 3, 120), rec("m_missing", 9, 130)).FirstErr(); err != nil {
		t.Fatal(err)
	}
	chProxy := testkit.StartProxy(t, addr)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := l.Addr().String()
	l.Close()
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- run(rctx, "sluice clickhouse", []string{"--kafka-brokers", strings.Join(brokers, ","), "--topics", `mt\..*`,
			"--group", "metrics-test", "--clickhouse-addr", chProxy.Addr(), "--clickhouse-database", db, "--flush-interval", "100ms",
			"--http-addr", httpAddr, "--log-level", "warn"})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + httpAddr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	value := func(body, name string) string {
		m := regexp.MustCompile(`(?m)^` + name + ` (\d+)$`).FindStringSubmatch(body)
		if m == nil {
			return "missing"
		}
		return m[1]
	}
	var body string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var code int
		code, body = get("/metrics")
		if code == http.StatusOK && value(body, "sluice_clickhouse_parked_records_total") == "1" && value(body, "sluice_clickhouse_rows_total") == "3" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics (%d) never showed 3 rows and 1 parked record:\n%s", code, body)
		}
	}
	for name, want := range map[string]string{
		"sluice_clickhouse_replayed_records_total": "0",
		"sluice_records_total":                     "4",
		"sluice_connected":                         "1",
	} {
		if got := value(body, name); got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
	for _, name := range []string{"sluice_clickhouse_batches_total", "sluice_clickhouse_insert_retries_total", "sluice_clickhouse_schema_changes_total"} {
		if value(body, name) == "missing" {
			t.Errorf("no %s", name)
		}
	}
	if !strings.Contains(body, "# TYPE sluice_clickhouse_parked_records_total counter\n") {
		t.Errorf("no TYPE line for the parked counter:\n%s", body)
	}
	if code, b := get("/healthz"); code != http.StatusOK || b != "ok\n" {
		t.Errorf("/healthz: %d %q", code, b)
	}
	if got := value(body, `debezium_metrics_TotalNumberOfEventsSeen\{context="streaming",name="metrics-test",plugin="kafka"\}`); got != "4" {
		t.Errorf("TotalNumberOfEventsSeen = %s, want 4", got)
	}
	if code, b := get("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz: %d %q", code, b)
	}

	// ClickHouse outage: the link is cut while records arrive.
	chProxy.Cut()
	start := time.Now()
	if err := cl.ProduceSync(ctx, rec("m_ok", 4, 140), rec("m_ok", 5, 150)).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for {
		code, b := get("/readyz")
		if code == http.StatusServiceUnavailable {
			t.Logf("/readyz 503 %s after the ClickHouse link was cut: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(b))
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("/readyz still %d 10 s after the ClickHouse link was cut", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, b := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz %d during the ClickHouse outage (liveness must hold): %s", code, b)
	}
	if err := chProxy.Restore(); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	for {
		code, _ := get("/readyz")
		_, body = get("/metrics")
		if code == http.StatusOK && value(body, "sluice_clickhouse_rows_total") == "5" {
			t.Logf("/readyz 200 and every row inserted %s after the link came back", time.Since(start).Round(time.Millisecond))
			break
		}
		if time.Since(start) > 60*time.Second {
			t.Fatalf("/readyz %d, rows %s 60 s after the ClickHouse link came back", code, value(body, "sluice_clickhouse_rows_total"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
