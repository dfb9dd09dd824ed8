package cli

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluicecdc/sluice/internal/pipeline"
)

// Endpoint is the /healthz and /metrics endpoint of a command that runs its pipeline itself
// (sluice clickhouse) rather than through Capture.Run: the same answers and metric names as
// the capture commands' --http-addr.
type Endpoint struct{ h *health }

// NewEndpoint returns an endpoint whose /healthz says "starting" until Up.
func NewEndpoint() *Endpoint { return &Endpoint{h: newHealth(time.Now())} }

// Stats is what the pipeline must update (pipeline.Config.Stats) for /metrics and /healthz.
func (e *Endpoint) Stats() *pipeline.Stats { return e.h.stats }

// Up records that the pipeline runs; Stopped that it ended.
func (e *Endpoint) Up()      { e.h.up() }
func (e *Endpoint) Stopped() { e.h.stopped() }

// SetMetrics sets what the sink appends to /metrics (AppendCounter, AppendGauge); nil removes
// it. Safe while the endpoint serves.
func (e *Endpoint) SetMetrics(f func(b []byte) []byte) { setMetrics(e.h, f) }

// Serve serves /healthz and /metrics on addr (a port alone: on loopback) with sec until the
// returned stop is called.
func (e *Endpoint) Serve(ctx context.Context, addr string, sec HTTPSecurity, log *slog.Logger) (stop func(), err error) {
	return serveHTTP(ctx, addr, sec, e.h, log)
}

// SinkMetrics sets what the chosen --sink appends to /metrics (nil removes it); a sink's Open
// calls it. Safe while /metrics is served.
func (c *Capture) SinkMetrics(f func(b []byte) []byte) {
	if c.health == nil {
		c.health = newHealth(time.Now())
	}
	setMetrics(c.health, f)
}

func setMetrics(h *health, f func([]byte) []byte) {
	if f == nil {
		h.extra.Store(nil)
		return
	}
	h.extra.Store(&f)
}

// AppendCounter appends one counter in the exposition format of /metrics.
func AppendCounter(b []byte, name, help string, v uint64) []byte {
	return fmt.Appendf(b, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
}

// AppendGauge appends one gauge in the exposition format of /metrics.
func AppendGauge(b []byte, name, help string, v int64) []byte {
	return fmt.Appendf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %d\n", name, help, name, name, v)
}
