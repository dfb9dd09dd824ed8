package metrics

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/pipeline"
)

func scrape(t *testing.T, r *Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d %s", rec.Code, b)
	}
	return string(b)
}

// TestConnectorSeries: the Debezium-named series carry the JMX exporter's labels and read
// the pipeline's and the source's figures; snapshot reads count in the snapshot context only.
func TestConnectorSeries(t *testing.T) {
	var (
		ps  pipeline.Stats
		src capture.Stats
	)
	ps.Changes.Store(10)
	ps.Reads.Store(4)
	ps.Creates.Store(6) // 4 reads + 2 creates
	ps.Updates.Store(3)
	ps.Deletes.Store(1)
	ps.Commits.Store(5)
	src.Snapshot.Running.Store(true)
	src.Snapshot.TotalTables.Store(2)
	src.Snapshot.RemainingTables.Store(1)
	now := time.Unix(1000, 0)
	src.Snapshot.StartedUnixNano.Store(now.Add(-90 * time.Second).UnixNano())
	src.Snapshot.WritesBlockedNanos.Store(int64(1500 * time.Millisecond))
	tp := src.Snapshot.Table("public.orders")
	tp.Rows.Store(4)
	tp.Estimate.Store(100)
	// A table whose snapshot ended before its last row must show on /metrics, not only in a log line.
	fp := src.Snapshot.Table("public.bad")
	fp.Rows.Store(7)
	fp.Failed.Store(true)
	src.Stream.RetainedWALBytes.Store(4096)
	r := NewRegistry()
	if err := r.Register(NewConnector(ConnectorConfig{Plugin: "postgres", Name: "shop", Sink: "kafka", Pipeline: &ps, Source: &src,
		Connected: func() bool { return true }, Now: func() time.Time { return now }})); err != nil {
		t.Fatal(err)
	}
	body := scrape(t, r)
	const st, sn = `{context="streaming",name="shop",plugin="postgres"}`, `{context="snapshot",name="shop",plugin="postgres"}`
	for _, want := range []string{
		"debezium_metrics_TotalNumberOfEventsSeen" + st + " 6\n",
		"debezium_metrics_TotalNumberOfEventsSeen" + sn + " 4\n",
		"debezium_metrics_TotalNumberOfCreateEventsSeen" + st + " 2\n",
		"debezium_metrics_TotalNumberOfUpdateEventsSeen" + st + " 3\n",
		"debezium_metrics_TotalNumberOfDeleteEventsSeen" + st + " 1\n",
		"debezium_metrics_NumberOfCommittedTransactions" + st + " 5\n",
		"debezium_metrics_Connected" + st + " 1\n",
		"debezium_metrics_MilliSecondsBehindSource" + st + " -1\n",
		"debezium_metrics_MilliSecondsBehindSourceP99" + st + " -1\n",
		"debezium_metrics_SnapshotRunning" + sn + " 1\n",
		"debezium_metrics_SnapshotCompleted" + sn + " 0\n",
		"debezium_metrics_TotalTableCount" + sn + " 2\n",
		"debezium_metrics_RemainingTableCount" + sn + " 1\n",
		"debezium_metrics_SnapshotDurationInSeconds" + sn + " 90\n",
		`debezium_metrics_RowsScanned{context="snapshot",name="shop",plugin="postgres",table="public.orders"} 4` + "\n",
		`sluice_snapshot_rows_estimate{name="shop",plugin="postgres",table="public.orders"} 100` + "\n",
		`sluice_snapshot_table_failed{name="shop",plugin="postgres",table="public.bad"} 1` + "\n",
		`sluice_snapshot_table_failed{name="shop",plugin="postgres",table="public.orders"} 0` + "\n",
		`sluice_snapshot_table_completed{name="shop",plugin="postgres",table="public.bad"} 0` + "\n",
		`sluice_snapshot_writes_blocked_seconds{name="shop",plugin="postgres"} 1.5` + "\n",
		`sluice_postgres_retained_wal_bytes{name="shop",plugin="postgres"} 4096` + "\n",
		`sluice_sink_delivery_latency_seconds_count{name="shop",plugin="postgres",sink="kafka"} 0` + "\n",
		"sluice_events_total 0\n", "sluice_create_events_total 6\n", "sluice_connected 1\n",
		"go_goroutines ", "process_resident_memory_bytes ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "sluice_mysql_binlog_bytes_behind") {
		t.Error("a MySQL series on a PostgreSQL connector")
	}
	if t.Failed() {
		t.Log(body)
	}
}

// TestSchemaHistorySeries: a MySQL connector has Debezium's schema-history context.
func TestSchemaHistorySeries(t *testing.T) {
	var (
		ps  pipeline.Stats
		src capture.Stats
	)
	now := time.Unix(1000, 0)
	src.SchemaHistory.ChangesRecovered.Store(12)
	src.SchemaHistory.ChangesApplied.Store(3)
	src.SchemaHistory.LastAppliedUnixMilli.Store(now.Add(-2 * time.Second).UnixMilli())
	src.SchemaHistory.RecoveryStartUnixMilli.Store(now.Add(-time.Minute).UnixMilli())
	r := NewRegistry()
	if err := r.Register(NewConnector(ConnectorConfig{Plugin: "mysql", Name: "inv", Pipeline: &ps, Source: &src,
		Now: func() time.Time { return now }})); err != nil {
		t.Fatal(err)
	}
	body := scrape(t, r)
	const hc = `{context="schema-history",name="inv",plugin="mysql"}`
	for _, want := range []string{
		"debezium_metrics_ChangesRecovered" + hc + " 12\n",
		"debezium_metrics_ChangesApplied" + hc + " 3\n",
		"debezium_metrics_MilliSecondsSinceLastAppliedChange" + hc + " 2000\n",
		"debezium_metrics_MilliSecondsSinceLastRecoveredChange" + hc + " -1\n",
		"debezium_metrics_RecoveryStartTime" + hc + " 940000\n",
		`sluice_mysql_binlog_bytes_behind{name="inv",plugin="mysql"} 0` + "\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// TestMariaDBPlugin: sluice mysql on a MariaDB server labels its series plugin="mariadb", as
// Debezium's MariaDB connector does, from the scrape after the source saw the server.
func TestMariaDBPlugin(t *testing.T) {
	var (
		ps  pipeline.Stats
		src capture.Stats
	)
	r := NewRegistry()
	if err := r.Register(NewConnector(ConnectorConfig{Plugin: "mysql", Name: "inv", Sink: "kafka", Pipeline: &ps, Source: &src})); err != nil {
		t.Fatal(err)
	}
	if body := scrape(t, r); !strings.Contains(body, `debezium_metrics_Connected{context="streaming",name="inv",plugin="mysql"} 0`) {
		t.Errorf("before the source connected: no plugin=\"mysql\" series:\n%s", body)
	}
	src.MariaDB.Store(true)
	ps.Changes.Add(3)
	body := scrape(t, r)
	for _, want := range []string{
		`debezium_metrics_TotalNumberOfEventsSeen{context="streaming",name="inv",plugin="mariadb"} 3` + "\n",
		`debezium_metrics_ChangesApplied{context="schema-history",name="inv",plugin="mariadb"} 0` + "\n",
		`sluice_mysql_binlog_bytes_behind{name="inv",plugin="mariadb"} 0` + "\n",
		`sluice_sink_delivery_latency_seconds_count{name="inv",plugin="mariadb",sink="kafka"} 0` + "\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, `plugin="mysql"`) {
		t.Errorf("a MariaDB source still has plugin=\"mysql\" series:\n%s", body)
	}
}

// BenchmarkScrape is one /metrics scrape of a PostgreSQL connector with 50 snapshotted tables.
func BenchmarkScrape(b *testing.B) {
	var (
		ps  pipeline.Stats
		src capture.Stats
	)
	for i := range 50 {
		src.Snapshot.Table(fmt.Sprintf("public.t%02d", i)).Rows.Store(int64(i) * 1000)
	}
	r := NewRegistry()
	if err := r.Register(NewConnector(ConnectorConfig{Plugin: "postgres", Name: "shop", Sink: "kafka", Pipeline: &ps, Source: &src})); err != nil {
		b.Fatal(err)
	}
	h := r.Handler()
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	}
}
