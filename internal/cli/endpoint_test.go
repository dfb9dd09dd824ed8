package cli

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestSinkMetricsAppended: what a sink sets (Endpoint.SetMetrics, Capture.SinkMetrics) comes
// after the pipeline's metrics on /metrics, in the same format, and can be replaced or removed.
func TestSinkMetricsAppended(t *testing.T) {
	ep := NewEndpoint()
	scrape := func(h *health) string {
		rec := httptest.NewRecorder()
		h.mux().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		return rec.Body.String()
	}
	ep.SetMetrics(func(b []byte) []byte {
		b = AppendCounter(b, "sluice_test_parked_total", "Parked.", 3)
		return AppendGauge(b, "sluice_test_level", "Level.", -2)
	})
	body := scrape(ep.h)
	for _, want := range []string{"# HELP sluice_test_parked_total Parked.\n# TYPE sluice_test_parked_total counter\nsluice_test_parked_total 3\n",
		"# TYPE sluice_test_level gauge\nsluice_test_level -2\n", "sluice_records_total 0\n"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, body)
		}
	}
	if strings.Index(body, "sluice_test_parked_total") < strings.Index(body, "sluice_stalled") {
		t.Error("sink metrics before the pipeline's")
	}
	ep.SetMetrics(nil)
	if body := scrape(ep.h); strings.Contains(body, "sluice_test_") {
		t.Errorf("removed metrics still served:\n%s", body)
	}
	c := &Capture{}
	c.SinkMetrics(func(b []byte) []byte { return AppendCounter(b, "sluice_test_capture_total", "C.", 1) })
	if body := scrape(c.health); !strings.Contains(body, "sluice_test_capture_total 1\n") {
		t.Errorf("capture sink metrics missing:\n%s", body)
	}
	ep.Up()
	if code, _, _ := getHealthz(t, ep.h); code != http.StatusOK {
		t.Errorf("/healthz after Up: %d", code)
	}
}
