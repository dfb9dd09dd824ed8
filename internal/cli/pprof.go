package cli

import (
	"log/slog"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on http.DefaultServeMux only
	"os"
)

// SLUICE_PPROF_ADDR, when set (e.g. 127.0.0.1:6060), serves net/http/pprof on that address so a
// benchmark run can be profiled (bench/bench.sh with BENCH_PPROF=1). It is separate from
// --http-addr, whose mux does not expose the profiler.
func init() {
	addr := os.Getenv("SLUICE_PPROF_ADDR")
	if addr == "" {
		return
	}
	go func() {
		if err := http.ListenAndServe(addr, nil); err != nil {
			slog.Error("SLUICE_PPROF_ADDR: profiler not served", "addr", addr, "err", err)
		}
	}()
}
