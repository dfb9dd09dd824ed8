package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry is the process's metric registry: the Go runtime and process collectors, plus
// what the command registers.
type Registry struct {
	reg *prometheus.Registry
}

// NewRegistry returns a registry with the Go runtime (go_*) and process (process_*) metrics.
func NewRegistry() *Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &Registry{reg: r}
}

// Register adds c. Registering the same collector twice is not an error (a sink's Open runs
// at every reopen of the source).
func (r *Registry) Register(c prometheus.Collector) error {
	if err := r.reg.Register(c); err != nil {
		if _, dup := err.(prometheus.AlreadyRegisteredError); !dup {
			return err
		}
	}
	return nil
}

// Unregister removes c.
func (r *Registry) Unregister(c prometheus.Collector) { r.reg.Unregister(c) }

// Handler serves the text exposition of every registered collector. A collector that fails
// does not hide the others' series.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// Gatherer is the registry for tests and other exporters.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }
