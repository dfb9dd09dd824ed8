package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/metrics"
	"github.com/sluicecdc/sluice/internal/pipeline"
)

// health is what /healthz, /readyz and /metrics show. It outlives each pipeline run, so the
// counters keep counting and the checks keep answering while the source is reopened.
type health struct {
	stats  *pipeline.Stats
	source *capture.Stats // the source's figures; nil for sluice clickhouse
	// link is where the source says whether it reaches its database log or brokers (a
	// reconnect it makes by itself); &source.Stream, or the Kafka source's (Endpoint.Link).
	link *capture.StreamStats
	// sinkLink is where the sink says whether its server answers (the ClickHouse sink's
	// Config.Link): a sink that retries by itself shows on /readyz at once, idle or not.
	sinkLink   *capture.StreamStats
	running    atomic.Bool   // a pipeline runs on an open source (Debezium's Connected)
	upAt       atomic.Int64  // unix ms of the last up
	reconnects atomic.Uint64 // retryable failures after which the source was reopened

	// readyTimeout bounds how long work may wait for the sink before /readyz says not ready.
	readyTimeout time.Duration

	mu   sync.Mutex
	down *downState // why no pipeline runs: starting, or reconnecting after an error

	reg  *metrics.Registry
	conn atomic.Bool // the connector's collector is registered

	leader atomic.Bool // --ha: this process leads its connector
	haReg  atomic.Bool // sluice_ha_leader is registered
}

// defaultReadyTimeout is --ready-timeout's default: far above a healthy sink's delivery
// latency (milliseconds for Kafka, a --flush-interval and an INSERT for ClickHouse), short
// enough that a load balancer or an operator hears of a sink outage within seconds.
const defaultReadyTimeout = 5 * time.Second

// wedgedAfter is how long the watchdog of a running pipeline may miss its ticks (one a
// second) before /healthz says the process is wedged.
const wedgedAfter = 10 * time.Second

type downState struct {
	Status string    `json:"status"` // "starting", "reconnecting" or "standby" (--ha)
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
	Err    string    `json:"error,omitempty"`
}

func newHealth(now time.Time) *health {
	return &health{stats: new(pipeline.Stats), readyTimeout: defaultReadyTimeout, reg: metrics.NewRegistry(), sinkLink: new(capture.StreamStats),
		down: &downState{Status: "starting", Reason: "the source is being opened", Since: now}}
}

// register registers the pipeline's collector with the Debezium labels plugin and name
// (once; later calls do nothing).
func (h *health) register(plugin, name, sink string) {
	if h.conn.Swap(true) {
		return
	}
	err := h.reg.Register(metrics.NewConnector(metrics.ConnectorConfig{
		Plugin: plugin, Name: name, Sink: sink, Pipeline: h.stats, Source: h.source,
		Connected: h.connected, Reconnects: h.reconnects.Load,
	}))
	if err != nil {
		panic(err) // the collector's descriptors contradict each other
	}
}

// up records that a pipeline runs on an open source.
func (h *health) up() {
	h.mu.Lock()
	h.down = nil
	h.mu.Unlock()
	h.upAt.Store(time.Now().UnixMilli())
	h.running.Store(true)
}

// failed records that the pipeline stopped with a retryable err and the source is being
// reopened; it stays so until up. A failure while already reconnecting (the reopen failed)
// keeps the first time.
func (h *health) failed(err error, now time.Time) {
	h.running.Store(false)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down == nil || h.down.Status != "reconnecting" {
		h.reconnects.Add(1)
		h.down = &downState{Status: "reconnecting", Since: now,
			Reason: "the pipeline failed and the source is being reopened from the last saved offset"}
	}
	h.down.Err = err.Error()
}

// stopped records that no pipeline runs any more (the command is ending).
func (h *health) stopped() { h.running.Store(false) }

// connected is Debezium's Connected: a pipeline runs on an open source that is not
// reconnecting to its database log by itself.
func (h *health) connected() bool { return h.running.Load() && h.sourceDown() == nil }

// sourceDown describes a source that lost its database log connection and reconnects by itself
// (capture.StreamStats.DisconnectedUnixMilli) while its pipeline runs; nil otherwise.
func (h *health) sourceDown() *downState {
	link := h.link
	if link == nil && h.source != nil {
		link = &h.source.Stream
	}
	if link == nil || !h.running.Load() {
		return nil
	}
	ms := link.DisconnectedUnixMilli.Load()
	if ms == 0 {
		return nil
	}
	d := &downState{Status: "reconnecting", Since: time.UnixMilli(ms).UTC(),
		Reason: "the source lost its connection (database log or Kafka brokers) and is reconnecting; nothing new can arrive until it is back"}
	if e, ok := link.DisconnectErr.Load().(string); ok {
		d.Err = e
	}
	return d
}

func (h *health) downNow() *downState {
	h.mu.Lock()
	if h.down != nil {
		d := *h.down
		h.mu.Unlock()
		return &d
	}
	h.mu.Unlock()
	if d := h.sourceDown(); d != nil {
		return d
	}
	return h.sinkDown()
}

// sinkDown describes a sink whose calls fail and are retried (sinkLink) while its pipeline
// runs; nil otherwise.
func (h *health) sinkDown() *downState {
	ms := h.sinkLink.DisconnectedUnixMilli.Load()
	if ms == 0 || !h.running.Load() {
		return nil
	}
	d := &downState{Status: "sink_unavailable", Since: time.UnixMilli(ms).UTC(),
		Reason: "calls to the sink fail and are retried (logged as clickhouse call failed; retrying); nothing is delivered until it answers, and the records wait at the source"}
	if e, ok := h.sinkLink.DisconnectErr.Load().(string); ok {
		d.Err = e
	}
	return d
}

func jsonBody(v any) []byte {
	b, _ := json.Marshal(v)
	return append(b, '\n')
}

func (h *health) stallBody(s *pipeline.Stall, now time.Time) []byte {
	return jsonBody(struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
		*pipeline.Stall
		StalledMs int64 `json:"stalled_ms"`
	}{"stalled", s.Describe(now), s, now.Sub(s.Since).Milliseconds()})
}

// live returns the /healthz answer, the liveness probe: 503 only when the process is wedged,
// that is when the pipeline is stalled (work pending and nothing moved for --stall-timeout:
// pipeline.Stall) without a sink outage to explain it (sinkLink), or its watchdog stopped
// ticking. Opening or reopening the source is not
// wedged (Run retries by itself; restarting the process would not help): 200 with a JSON body
// saying so.
func (h *health) live(now time.Time) (int, []byte) {
	// A stall that failed the last pipeline stays in Stats; it is not this one's.
	if s := h.stats.Stall(); s != nil && h.running.Load() {
		// A sink that reports its server down and retries it is not wedged either: the
		// stall is the outage, and a restart would not bring the server back.
		if d := h.sinkDown(); d != nil {
			return http.StatusOK, jsonBody(d)
		}
		return http.StatusServiceUnavailable, h.stallBody(s, now)
	}
	// (A pipeline that is shutting down has no watchdog; its final flush is bounded.)
	if w := h.stats.Watched(); h.running.Load() && w.Watching {
		last := max(w.LastTick.UnixMilli(), h.upAt.Load())
		if d := now.Sub(time.UnixMilli(last)); d > wedgedAfter {
			return http.StatusServiceUnavailable, jsonBody(map[string]any{"status": "wedged",
				"reason": fmt.Sprintf("the pipeline's watchdog has not run for %s", d.Round(time.Second))})
		}
	}
	if d := h.downNow(); d != nil {
		return http.StatusOK, jsonBody(d)
	}
	return http.StatusOK, []byte("ok\n")
}

// ready returns the /readyz answer: 200 while a pipeline runs on an open source, is not
// stalled, and either has nothing waiting for the sink or saw a record become durable or a
// position released within readyTimeout; else 503 with a JSON body saying why (starting,
// reconnecting, stalled, not_delivering).
func (h *health) ready(now time.Time) (int, []byte) {
	if d := h.downNow(); d != nil {
		return http.StatusServiceUnavailable, jsonBody(d)
	}
	if !h.running.Load() {
		return http.StatusServiceUnavailable, jsonBody(map[string]any{"status": "stopped", "reason": "no pipeline runs"})
	}
	if s := h.stats.Stall(); s != nil {
		return http.StatusServiceUnavailable, h.stallBody(s, now)
	}
	w := h.stats.Watched()
	if !w.Watching && now.Sub(time.UnixMilli(h.upAt.Load())) > 2*time.Second {
		return http.StatusServiceUnavailable, jsonBody(map[string]any{"status": "stopping",
			"reason": "a stage of the pipeline failed; the sink is being flushed before the source is reopened"})
	}
	moved := time.UnixMilli(max(w.LastMoved.UnixMilli(), h.upAt.Load()))
	if d := now.Sub(moved); d > h.readyTimeout {
		return http.StatusServiceUnavailable, jsonBody(map[string]any{"status": "not_delivering",
			"reason": fmt.Sprintf("%d records sent and not durable, %d events waiting, and nothing delivered for %s (--ready-timeout %s)",
				w.InFlight, w.Pending, d.Round(time.Second), h.readyTimeout),
			"since": moved, "records_in_flight": w.InFlight, "events_pending": w.Pending})
	}
	return http.StatusOK, []byte("ready\n")
}

// serveHTTP serves /healthz (health.live), /readyz (health.ready) and /metrics (the registry:
// docs/metrics.md) on addr (a port alone: on loopback) with sec until stop is called. It listens before it returns, so the probes
// answer from the command's first second.
func serveHTTP(ctx context.Context, addr string, sec HTTPSecurity, h *health, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", listenAddr(addr))
	if err != nil {
		return nil, fmt.Errorf("--http-addr %s: %w", addr, err)
	}
	mux, ln, err := sec.apply(h.mux(), ln)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "addr", addr, "err", err)
		}
	}()
	log.Info("serving /healthz, /readyz and /metrics", "addr", ln.Addr().String())
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
	}, nil
}

func (h *health) mux() *http.ServeMux {
	mux := http.NewServeMux()
	probe := func(check func(time.Time) (int, []byte)) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			code, body := check(time.Now())
			if len(body) > 0 && body[0] == '{' {
				w.Header().Set("Content-Type", "application/json")
			} else {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			}
			w.WriteHeader(code)
			_, _ = w.Write(body)
		}
	}
	mux.HandleFunc("/healthz", probe(h.live))
	mux.HandleFunc("/readyz", probe(h.ready))
	mux.Handle("/metrics", h.reg.Handler())
	return mux
}
