package cli

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/pipeline"
)

// Endpoint is the /healthz, /readyz and /metrics endpoint of a command that runs its pipeline
// itself (sluice clickhouse) rather than through Capture.Run: the same answers and metric
// names as the capture commands' --http-addr.
type Endpoint struct{ h *health }

// NewEndpoint returns an endpoint whose /readyz says "starting" until Up. Its /metrics has
// the pipeline's series labelled plugin (the source: kafka) and name (e.g. the consumer
// group); sink labels the delivery latency.
func NewEndpoint(plugin, name, sink string) *Endpoint {
	e := &Endpoint{h: newHealth(time.Now())}
	e.h.link = new(capture.StreamStats)
	e.h.register(plugin, name, sink)
	return e
}

// Link is where the source reports whether it reaches its brokers (the Kafka source's
// Config.Link): /readyz and Connected follow it.
func (e *Endpoint) Link() *capture.StreamStats { return e.h.link }

// SinkLink is where the sink reports whether its server answers (the ClickHouse sink's
// Config.Link): /readyz says sink_unavailable while it does not.
func (e *Endpoint) SinkLink() *capture.StreamStats { return e.h.sinkLink }

// Stats is what the pipeline must update (pipeline.Config.Stats) for the endpoint.
func (e *Endpoint) Stats() *pipeline.Stats { return e.h.stats }

// Up records that the pipeline runs; Stopped that it ended.
func (e *Endpoint) Up()      { e.h.up() }
func (e *Endpoint) Stopped() { e.h.stopped() }

// SetReadyTimeout sets how long work may wait for the sink before /readyz says not ready
// (--ready-timeout; 0 keeps the default).
func (e *Endpoint) SetReadyTimeout(d time.Duration) {
	if d > 0 {
		e.h.readyTimeout = d
	}
}

// Register adds the sink's own collector to /metrics; registering it again does nothing.
func (e *Endpoint) Register(c prometheus.Collector) error { return e.h.reg.Register(c) }

// Serve serves /healthz, /readyz and /metrics on addr (a port alone: on loopback) with sec
// until the returned stop is called.
func (e *Endpoint) Serve(ctx context.Context, addr string, sec HTTPSecurity, log *slog.Logger) (stop func(), err error) {
	return serveHTTP(ctx, addr, sec, e.h, log)
}

// SinkLink is where the chosen --sink reports whether its server answers (the ClickHouse
// sink's Config.Link); a sink's Open calls it at every open.
func (c *Capture) SinkLink() *capture.StreamStats {
	if c.health == nil {
		c.health = c.newHealth()
	}
	return c.health.sinkLink
}

// SinkMetrics adds the chosen --sink's own collector to /metrics; a sink's Open calls it at
// every open (registering it again does nothing).
func (c *Capture) SinkMetrics(m prometheus.Collector) error {
	if c.health == nil {
		c.health = c.newHealth()
	}
	return c.health.reg.Register(m)
}
