package metrics

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/pipeline"
)

// TestDashboardSeries: every series the Grafana dashboard (deploy/grafana/sluice.json) and
// docs/metrics.md name exists (the ClickHouse sink's, registered by clickhousecmd, and --ha's,
// registered by cli, are checked against the docs only).
func TestDashboardSeries(t *testing.T) {
	have := map[string]bool{}
	for _, plugin := range []string{"postgres", "mysql"} { // one connector a process
		r := NewRegistry()
		if err := r.Register(NewConnector(ConnectorConfig{Plugin: plugin, Name: "n", Sink: "kafka",
			Pipeline: new(pipeline.Stats), Source: new(capture.Stats)})); err != nil {
			t.Fatal(err)
		}
		fams, err := r.Gatherer().Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			have[f.GetName()] = true
		}
		// Also the series a scrape shows only when they apply (a sink's buffer, a table).
		descs := make(chan *prometheus.Desc)
		go func() {
			NewConnector(ConnectorConfig{Plugin: plugin, Pipeline: new(pipeline.Stats), Source: new(capture.Stats)}).Describe(descs)
			close(descs)
		}()
		fq := regexp.MustCompile(`fqName: "([^"]+)"`)
		for d := range descs {
			have[fq.FindStringSubmatch(d.String())[1]] = true
		}
	}
	docs, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`\b(?:debezium_metrics|sluice|go|process)_[A-Za-z0-9_]+`)
	for _, file := range []string{"../../deploy/grafana/sluice.json", "../../docs/metrics.md"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range name.FindAllString(string(b), -1) {
			n = strings.TrimSuffix(n, "_sum")
			// Registered by their commands (clickhousecmd, cli's --ha), not by NewConnector.
			if strings.HasPrefix(n, "sluice_clickhouse_") || strings.HasPrefix(n, "sluice_ha_") {
				if !strings.Contains(string(docs), "`"+n+"`") && !strings.Contains(string(docs), strings.TrimPrefix(n, "sluice_clickhouse")) {
					t.Errorf("%s names %s, which docs/metrics.md does not list", file, n)
				}
				continue
			}
			if !have[n] && !strings.HasSuffix(n, "_") {
				t.Errorf("%s names %s, which /metrics does not have", file, n)
			}
		}
	}
	// And the other way: every sluice and Debezium family is documented.
	for n := range have {
		if (strings.HasPrefix(n, "sluice_") || strings.HasPrefix(n, "debezium_metrics_")) &&
			!strings.Contains(string(docs), n) && !strings.Contains(string(docs), "`"+strings.TrimPrefix(n, "debezium_metrics_")+"`") {
			t.Errorf("%s is not in docs/metrics.md", n)
		}
	}
}
