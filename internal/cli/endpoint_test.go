package cli

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func scrape(t *testing.T, h *health) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.mux().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

// TestSinkMetricsRegistered: what a sink registers (Endpoint.Register, Capture.SinkMetrics)
// is served on /metrics beside the pipeline's series, and registering it again at a reopen is
// no error and no duplicate.
func TestSinkMetricsRegistered(t *testing.T) {
	ep := NewEndpoint("kafka", "grp", "clickhouse")
	parked := prometheus.NewCounter(prometheus.CounterOpts{Name: "sluice_test_parked_total", Help: "Parked."})
	parked.Add(3)
	if err := ep.Register(parked); err != nil {
		t.Fatal(err)
	}
	if err := ep.Register(parked); err != nil {
		t.Fatalf("second Register: %v", err)
	}
	body := scrape(t, ep.h)
	for _, want := range []string{"# HELP sluice_test_parked_total Parked.\n# TYPE sluice_test_parked_total counter\nsluice_test_parked_total 3\n",
		"sluice_records_total 0\n", `debezium_metrics_Connected{context="streaming",name="grp",plugin="kafka"} 0` + "\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	c := &Capture{}
	n := prometheus.NewGauge(prometheus.GaugeOpts{Name: "sluice_test_capture", Help: "C."})
	n.Set(1)
	if err := c.SinkMetrics(n); err != nil {
		t.Fatal(err)
	}
	if body := scrape(t, c.health); !strings.Contains(body, "sluice_test_capture 1\n") {
		t.Errorf("capture sink metrics missing:\n%s", body)
	}
	ep.Up()
	if code, body, _ := getProbe(t, ep.h, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz after Up: %d %s", code, body)
	}
}

// TestEndpointLinkDown: sluice clickhouse's Kafka source reports unreachable brokers in
// Endpoint.Link; /readyz then says reconnecting and Connected is 0, and both recover with the
// link. Before, a 30 s broker outage showed ready and connected throughout.
func TestEndpointLinkDown(t *testing.T) {
	ep := NewEndpoint("kafka", "grp", "clickhouse")
	ep.Up()
	link := ep.Link()
	link.DisconnectedUnixMilli.Store(time.Now().UnixMilli())
	link.DisconnectErr.Store("dial tcp 127.0.0.1:9092: connect: connection refused")
	if code, _, m := getProbe(t, ep.h, "/readyz"); code != http.StatusServiceUnavailable || m["status"] != "reconnecting" {
		t.Errorf("readyz with the brokers unreachable: %d %v", code, m)
	}
	if body := scrape(t, ep.h); !strings.Contains(body, `debezium_metrics_Connected{context="streaming",name="grp",plugin="kafka"} 0`) {
		t.Errorf("Connected with the brokers unreachable:\n%s", body)
	}
	link.DisconnectedUnixMilli.Store(0)
	if code, body, _ := getProbe(t, ep.h, "/readyz"); code != http.StatusOK {
		t.Errorf("readyz with the brokers back: %d %s", code, body)
	}
}

// TestEndpointSinkLinkDown: the ClickHouse sink reports failing calls in Endpoint.SinkLink;
// /readyz then says sink_unavailable at once, with the error, while /healthz stays 200 and the
// source's Connected stays 1 (the source is fine). Before, a sink outage showed only after
// --ready-timeout, and only while records waited.
func TestEndpointSinkLinkDown(t *testing.T) {
	ep := NewEndpoint("kafka", "grp", "clickhouse")
	ep.Up()
	link := ep.SinkLink()
	link.DisconnectedUnixMilli.Store(time.Now().UnixMilli())
	link.DisconnectErr.Store("dial tcp 127.0.0.1:9000: connect: connection refused")
	if code, _, m := getProbe(t, ep.h, "/readyz"); code != http.StatusServiceUnavailable || m["status"] != "sink_unavailable" ||
		!strings.Contains(fmt.Sprint(m["error"]), "connection refused") {
		t.Errorf("readyz with ClickHouse unreachable: %d %v", code, m)
	}
	if code, body, _ := getProbe(t, ep.h, "/healthz"); code != http.StatusOK {
		t.Errorf("healthz with ClickHouse unreachable: %d %s", code, body)
	}
	if body := scrape(t, ep.h); !strings.Contains(body, `debezium_metrics_Connected{context="streaming",name="grp",plugin="kafka"} 1`) {
		t.Errorf("Connected of the source with the sink unreachable:\n%s", body)
	}
	link.DisconnectedUnixMilli.Store(0)
	if code, body, _ := getProbe(t, ep.h, "/readyz"); code != http.StatusOK {
		t.Errorf("readyz with ClickHouse back: %d %s", code, body)
	}
}
