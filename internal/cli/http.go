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

	"github.com/sluicecdc/sluice/internal/pipeline"
)

// health is what /healthz and /metrics show. It outlives each pipeline run, so the counters
// keep counting and the health check keeps answering while the source is reopened.
type health struct {
	stats      *pipeline.Stats
	running    atomic.Bool   // a pipeline runs on an open source (Debezium's Connected)
	reconnects atomic.Uint64 // retryable failures after which the source was reopened

	mu   sync.Mutex
	down *downState // why no pipeline runs: starting, or reconnecting after an error

	extra atomic.Pointer[func([]byte) []byte] // the sink's own metrics, appended to /metrics
}

type downState struct {
	Status string    `json:"status"` // "starting" or "reconnecting"
	Reason string    `json:"reason"`
	Since  time.Time `json:"since"`
	Err    string    `json:"error,omitempty"`
}

func newHealth(now time.Time) *health {
	return &health{stats: new(pipeline.Stats),
		down: &downState{Status: "starting", Reason: "the source is being opened", Since: now}}
}

// up records that a pipeline runs on an open source.
func (h *health) up() {
	h.mu.Lock()
	h.down = nil
	h.mu.Unlock()
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

// check returns the /healthz answer: 200 "ok" while a pipeline runs and moves (or has nothing
// to do); 503 with a JSON body saying why while the source is opened or reopened, or while the
// pipeline is stalled (pipeline.Stall).
func (h *health) check(now time.Time) (int, []byte) {
	h.mu.Lock()
	var down *downState
	if h.down != nil {
		d := *h.down
		down = &d
	}
	h.mu.Unlock()
	if down != nil {
		b, _ := json.Marshal(down)
		return http.StatusServiceUnavailable, append(b, '\n')
	}
	if s := h.stats.Stall(); s != nil {
		b, _ := json.Marshal(struct {
			Status string `json:"status"`
			Reason string `json:"reason"`
			*pipeline.Stall
			StalledMs int64 `json:"stalled_ms"`
		}{"stalled", s.Describe(now), s, now.Sub(s.Since).Milliseconds()})
		return http.StatusServiceUnavailable, append(b, '\n')
	}
	return http.StatusOK, []byte("ok\n")
}

// serveHTTP serves /healthz (see health.check) and /metrics (Prometheus text exposition of the
// pipeline counters and of the Debezium streaming metrics that apply) on addr until stop is
// called.
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
	log.Info("serving /healthz and /metrics", "addr", ln.Addr().String())
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		<-done
	}, nil
}

func (h *health) mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		code, body := h.check(time.Now())
		if code == http.StatusOK {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(code)
		_, _ = w.Write(body)
	})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write(appendMetrics(nil, h, time.Now()))
	})
	return mux
}

// appendMetrics writes the exposition. Names are Prometheus-style; the HELP text names the
// Debezium streaming metric (MBean attribute) each one stands for, where there is one.
func appendMetrics(b []byte, h *health, now time.Time) []byte {
	metric := func(kind, name, help string, v int64) {
		b = fmt.Appendf(b, "# HELP %s %s\n# TYPE %s %s\n%s %d\n", name, help, name, kind, name, v)
	}
	counter := func(name, help string, v uint64) { metric("counter", name, help, int64(v)) }
	gauge := func(name, help string, v int64) { metric("gauge", name, help, v) }
	bool01 := func(v bool) int64 {
		if v {
			return 1
		}
		return 0
	}
	s := h.stats
	w := s.Watched()
	counter("sluice_events_total", "Events read from the source (Debezium TotalNumberOfEventsSeen).", s.Events.Load())
	counter("sluice_create_events_total", "Create and snapshot read events (Debezium TotalNumberOfCreateEventsSeen).", s.Creates.Load())
	counter("sluice_update_events_total", "Update events (Debezium TotalNumberOfUpdateEventsSeen).", s.Updates.Load())
	counter("sluice_delete_events_total", "Delete events (Debezium TotalNumberOfDeleteEventsSeen).", s.Deletes.Load())
	counter("sluice_committed_transactions_total", "Transaction commits read from the source (Debezium NumberOfCommittedTransactions).", s.Commits.Load())
	counter("sluice_records_total", "Records sent to the sink.", s.Records.Load())
	counter("sluice_events_acknowledged_total", "Events whose positions were released after their records were durable.", s.Released.Load())
	counter("sluice_offset_saves_total", "Successful offsets saves.", s.Saves.Load())
	counter("sluice_erroneous_events_total", "Events and records skipped by --event-processing-failure-handling-mode warn or skip (Debezium's NumberOfErroneousEvents).", s.ErroneousEvents.Load())
	counter("sluice_source_reconnects_total", "Times the pipeline failed with a retryable error and the source was reopened.", h.reconnects.Load())
	gauge("sluice_connected", "1 while a pipeline runs on an open source, 0 while it is opened or reopened (Debezium Connected).", bool01(h.running.Load()))
	since := int64(-1)
	if !w.LastEvent.IsZero() {
		since = max(0, now.Sub(w.LastEvent).Milliseconds())
	}
	gauge("sluice_milliseconds_since_last_event", "Milliseconds since the last event was read from the source, to within a second; -1 before the first (Debezium MilliSecondsSinceLastEvent).", since)
	gauge("sluice_milliseconds_behind_source", "Milliseconds between the last change event's source timestamp and its processing, to within a second; -1 when unknown (Debezium MilliSecondsBehindSource).", max(-1, w.BehindSource.Milliseconds()))
	gauge("sluice_records_in_flight", "Records sent to the sink and not yet durable.", int64(w.InFlight))
	gauge("sluice_events_pending", "Events whose positions wait for their records to be durable.", int64(w.Pending))
	if w.HasBuffer {
		gauge("sluice_queue_size_bytes", "Bytes of records the sink holds (Debezium CurrentQueueSizeInBytes).", w.BufferedBytes)
		gauge("sluice_queue_max_size_bytes", "The bound of the sink's buffer in bytes (Debezium MaxQueueSizeInBytes).", w.MaxBufferedBytes)
	}
	stalled := s.Stall()
	gauge("sluice_stalled", "1 while work is pending and nothing moved for --stall-timeout (then /healthz answers 503).", bool01(stalled != nil))
	if f := h.extra.Load(); f != nil {
		b = (*f)(b)
	}
	return b
}
