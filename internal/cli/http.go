package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/sluicecdc/sluice/internal/pipeline"
)

// serveHTTP serves /healthz (200 "ok" while the process runs) and /metrics (Prometheus text
// exposition of the pipeline counters) on addr until stop is called.
func serveHTTP(ctx context.Context, addr string, stats *pipeline.Stats, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--http-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write(appendMetrics(nil, stats))
	})
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

func appendMetrics(b []byte, s *pipeline.Stats) []byte {
	counter := func(name, help string, v uint64) {
		b = fmt.Appendf(b, "# HELP %s %s\n# TYPE %s counter\n%s %d\n", name, help, name, name, v)
	}
	counter("sluice_events_total", "Events read from the source.", s.Events.Load())
	counter("sluice_records_total", "Records sent to the sink.", s.Records.Load())
	counter("sluice_events_acknowledged_total", "Events whose positions were released after their records were durable.", s.Released.Load())
	counter("sluice_offset_saves_total", "Successful offsets saves.", s.Saves.Load())
	counter("sluice_erroneous_events_total", "Events and records skipped by --event-processing-failure-handling-mode warn or skip (Debezium's NumberOfErroneousEvents).", s.ErroneousEvents.Load())
	return b
}
