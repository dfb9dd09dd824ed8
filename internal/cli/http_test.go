package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/internal/pipeline"
)

func getHealthz(t *testing.T, h *health) (int, string, map[string]any) {
	t.Helper()
	return getProbe(t, h, "/healthz")
}

// getProbe gets path; a JSON body (every 503, and a 200 that explains) is decoded into m.
func getProbe(t *testing.T, h *health, path string) (int, string, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.mux().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body := rec.Body.String()
	var m map[string]any
	if rec.Code != http.StatusOK || strings.HasPrefix(body, "{") {
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Errorf("content type %q, want application/json", ct)
		}
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
	}
	return rec.Code, body, m
}

// Opening and reopening the source is not being wedged: /healthz (liveness) answers 200 and
// says so, /readyz answers 503 until a pipeline runs.
func TestHealthzStartingUpReconnecting(t *testing.T) {
	h := newHealth(time.Now())
	if code, _, m := getHealthz(t, h); code != http.StatusOK || m["status"] != "starting" {
		t.Errorf("healthz before the first pipeline: %d %v", code, m)
	}
	if code, _, m := getProbe(t, h, "/readyz"); code != http.StatusServiceUnavailable || m["status"] != "starting" {
		t.Errorf("readyz before the first pipeline: %d %v", code, m)
	}
	h.up()
	if code, body, _ := getHealthz(t, h); code != http.StatusOK || body != "ok\n" {
		t.Errorf("running: %d %q", code, body)
	}
	if code, body, _ := getProbe(t, h, "/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Errorf("readyz running: %d %q", code, body)
	}
	h.failed(errors.New("read source: connection reset"), time.Now())
	code, _, m := getProbe(t, h, "/readyz")
	if code != http.StatusServiceUnavailable || m["status"] != "reconnecting" || m["error"] != "read source: connection reset" {
		t.Errorf("readyz reconnecting: %d %v", code, m)
	}
	if code, _, m := getHealthz(t, h); code != http.StatusOK || m["status"] != "reconnecting" {
		t.Errorf("healthz reconnecting: %d %v", code, m)
	}
	h.up()
	if code, _, _ := getProbe(t, h, "/readyz"); code != http.StatusOK {
		t.Errorf("running again: %d", code)
	}
	if n := h.reconnects.Load(); n != 1 {
		t.Errorf("reconnects = %d, want 1", n)
	}
}

// A source that reconnects to its database log by itself (the MySQL binlog dump) keeps the
// pipeline running: before, /readyz answered 200 and Connected 1 through a 30 s server outage.
// Now both follow the source's Stream.DisconnectedUnixMilli.
func TestReadyzSourceReconnectingItself(t *testing.T) {
	h := newHealth(time.Now())
	h.source = new(capture.Stats)
	h.register("mysql", "shop", "kafka")
	h.up()
	if code, _, _ := getProbe(t, h, "/readyz"); code != http.StatusOK {
		t.Fatalf("running: %d", code)
	}
	since := time.Now().Add(-3 * time.Second)
	h.source.Stream.DisconnectedUnixMilli.Store(since.UnixMilli())
	h.source.Stream.DisconnectErr.Store("binlog dump: the server ended the binlog dump")
	code, _, m := getProbe(t, h, "/readyz")
	if code != http.StatusServiceUnavailable || m["status"] != "reconnecting" || !strings.Contains(fmt.Sprint(m["error"]), "ended the binlog dump") {
		t.Errorf("readyz while the source reconnects: %d %v", code, m)
	}
	if code, _, m := getHealthz(t, h); code != http.StatusOK || m["status"] != "reconnecting" {
		t.Errorf("healthz while the source reconnects (not wedged): %d %v", code, m)
	}
	if body := scrape(t, h); !strings.Contains(body, `debezium_metrics_Connected{context="streaming",name="shop",plugin="mysql"} 0`) {
		t.Errorf("Connected while the source reconnects:\n%s", body)
	}
	h.source.Stream.DisconnectedUnixMilli.Store(0)
	if code, body, _ := getProbe(t, h, "/readyz"); code != http.StatusOK {
		t.Errorf("reconnected: %d %s", code, body)
	}
	if body := scrape(t, h); !strings.Contains(body, `debezium_metrics_Connected{context="streaming",name="shop",plugin="mysql"} 1`) {
		t.Errorf("Connected after the reconnect:\n%s", body)
	}
}

// lostSink accepts records and never reports them durable: a producer whose callbacks are
// lost.
type lostSink struct {
	mu sync.Mutex
	n  int
}

func (s *lostSink) Send(context.Context, *envelope.Record, uint64) error {
	s.mu.Lock()
	s.n++
	s.mu.Unlock()
	return nil
}

// Flush does not wait: the shutdown after the test is not what it is about.
func (s *lostSink) Flush(context.Context) error { return nil }
func (s *lostSink) Close() error                { return nil }

type lostSinkKind struct{}

func (lostSinkKind) Open(context.Context, pipeline.Durable) (pipeline.Sink, error) {
	return &lostSink{}, nil
}
func (lostSinkKind) Buffered() int64 { return 0 }
func (lostSinkKind) Validate() error { return nil }

// quietSource emits nothing and blocks: the heartbeats are the only records.
type quietSource struct{}

func (quietSource) Next(ctx context.Context) (capture.Event, error) {
	<-ctx.Done()
	return capture.Event{}, ctx.Err()
}
func (quietSource) Ack(context.Context, capture.Position) error { return nil }
func (quietSource) Close() error                                { return nil }

// Before, /healthz answered "ok" while nothing moved, and a sink that never acknowledged hung
// the capture command for ever. Now /healthz answers 503 "stalled" after --stall-timeout; after
// --stall-fail-timeout the pipeline fails with a retryable error, /healthz says "reconnecting",
// and Run reopens the source.
func TestCaptureRunStalledSinkReopens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c := addCapture(newSet(fs), "", []SinkKind{{Name: "lost", New: func(*Capture) Sink { return lostSinkKind{} }}})
		if err := fs.Parse([]string{"--topic-prefix", "p", "--heartbeat-interval", "1500ms", "--log-level", "error",
			"--stall-timeout", "10s", "--stall-fail-timeout", "30s"}); err != nil {
			t.Fatal(err)
		}
		if err := c.resolve(func(string) (string, bool) { return "", false }); err != nil {
			t.Fatal(err)
		}
		var (
			mu      sync.Mutex
			opens   int
			retries []error
		)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			done <- c.Run(ctx, "test", func(context.Context, []byte) (pipeline.Source, error) {
				mu.Lock()
				opens++
				mu.Unlock()
				return quietSource{}, nil
			}, func(err error) { mu.Lock(); retries = append(retries, err); mu.Unlock() })
		}()
		// The watchdog ticks every second from 0; the first heartbeat record (1.5 s) never
		// becomes durable, so nothing moves from the tick at 1 s on.
		time.Sleep(time.Second)
		synctest.Wait()
		if code, _, _ := getHealthz(t, c.health); code != http.StatusOK {
			t.Fatalf("healthz while running: %d", code)
		}
		if code, body, _ := getProbe(t, c.health, "/readyz"); code != http.StatusOK {
			t.Fatalf("readyz while running: %d %s", code, body)
		}
		// Nothing delivered since the tick at 1 s: not ready after --ready-timeout (5s), while
		// the process is alive and not yet stalled (--stall-timeout 10s).
		time.Sleep(6 * time.Second) // 7 s
		synctest.Wait()
		if code, _, m := getProbe(t, c.health, "/readyz"); code != http.StatusServiceUnavailable || m["status"] != "not_delivering" {
			t.Fatalf("readyz 6 s without delivery: %d %v", code, m)
		}
		if code, _, _ := getHealthz(t, c.health); code != http.StatusOK {
			t.Fatalf("healthz before the stall timeout: %d", code)
		}
		time.Sleep(7 * time.Second) // 14 s
		synctest.Wait()
		code, _, m := getHealthz(t, c.health)
		if code != http.StatusServiceUnavailable || m["status"] != "stalled" ||
			!strings.Contains(m["reason"].(string), "records sent and not durable") {
			t.Fatalf("healthz after 13 s without progress: %d %v", code, m)
		}
		metrics := scrape(t, c.health)
		if !strings.Contains(metrics, "sluice_stalled 1\n") || !strings.Contains(metrics, "sluice_connected 1\n") {
			t.Errorf("metrics while stalled:\n%s", metrics)
		}
		// At 31 s the watchdog fails the pipeline; Run backs off 1 s and reopens.
		time.Sleep(17*time.Second + 500*time.Millisecond) // 31.5 s
		synctest.Wait()
		code, _, m = getProbe(t, c.health, "/readyz")
		if code != http.StatusServiceUnavailable || m["status"] != "reconnecting" ||
			!strings.Contains(m["error"].(string), "pipeline stalled") {
			t.Fatalf("readyz after the stall failed the pipeline: %d %v", code, m)
		}
		if code, _, m := getHealthz(t, c.health); code != http.StatusOK || m["status"] != "reconnecting" {
			t.Errorf("healthz while reopening: %d %v", code, m)
		}
		if !strings.Contains(scrape(t, c.health), "sluice_connected 0\n") {
			t.Error("connected while reconnecting")
		}
		time.Sleep(1500 * time.Millisecond) // 33 s
		synctest.Wait()
		mu.Lock()
		if opens != 2 || len(retries) != 1 {
			t.Errorf("opens = %d, retries = %v; want the source reopened once", opens, retries)
		}
		var se *pipeline.StallError
		if len(retries) == 1 && !errors.As(retries[0], &se) {
			t.Errorf("retry after %v, want a StallError", retries[0])
		}
		mu.Unlock()
		if code, body, _ := getHealthz(t, c.health); code != http.StatusOK {
			t.Errorf("healthz after the reopen: %d %s", code, body)
		}
		if !strings.Contains(scrape(t, c.health), "sluice_source_reconnects_total 1\n") {
			t.Error("reconnect not counted")
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

func TestStallFlags(t *testing.T) {
	fs, c := newTestFlags(t)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if c.Pipeline.StallTimeout != time.Minute || c.Pipeline.StallFailTimeout != 5*time.Minute {
		t.Errorf("defaults: %s, %s; want 1m, 5m", c.Pipeline.StallTimeout, c.Pipeline.StallFailTimeout)
	}
	fs, c = newTestFlags(t)
	if err := fs.Parse([]string{"--topic-prefix", "p", "--stall-timeout", "20s", "--stall-fail-timeout", "0"}); err != nil {
		t.Fatal(err)
	}
	if err := c.resolve(func(string) (string, bool) { return "", false }); err != nil {
		t.Fatal(err)
	}
	if c.Pipeline.StallTimeout != 20*time.Second || c.Pipeline.StallFailTimeout != 0 {
		t.Errorf("set: %s, %s; want 20s, 0", c.Pipeline.StallTimeout, c.Pipeline.StallFailTimeout)
	}
	fs, c = newTestFlags(t)
	if err := fs.Parse([]string{"--topic-prefix", "p", "--stall-timeout", "0"}); err != nil {
		t.Fatal(err)
	}
	if err := c.resolve(func(string) (string, bool) { return "", false }); err == nil || !strings.Contains(err.Error(), "stall-timeout") {
		t.Errorf("--stall-timeout 0: %v, want an error naming it", err)
	}
	fs, c = newTestFlags(t)
	if err := fs.Parse([]string{"--topic-prefix", "p", "--stall-timeout", "2m", "--stall-fail-timeout", "1m"}); err != nil {
		t.Fatal(err)
	}
	if err := c.resolve(func(string) (string, bool) { return "", false }); err == nil || !strings.Contains(err.Error(), "--stall-fail-timeout 1m0s is shorter") {
		t.Errorf("fail timeout below the stall timeout: %v", err)
	}
}

// TestHealthzStalledBySinkOutage: a stall while the sink reports its server down (the
// ClickHouse sink's link) is that outage, retried by the sink: /healthz stays 200 with the
// sink's state (a liveness restart would not bring the server back), /readyz says
// sink_unavailable; once the link is back, a stall that remains is one (503). Before,
// /healthz answered 503 stalled one --stall-timeout into any ClickHouse outage.
func TestHealthzStalledBySinkOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fs := flag.NewFlagSet("test", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c := addCapture(newSet(fs), "", []SinkKind{{Name: "lost", New: func(*Capture) Sink { return lostSinkKind{} }}})
		if err := fs.Parse([]string{"--topic-prefix", "p", "--heartbeat-interval", "1500ms", "--log-level", "error",
			"--stall-timeout", "10s", "--stall-fail-timeout", "0"}); err != nil {
			t.Fatal(err)
		}
		if err := c.resolve(func(string) (string, bool) { return "", false }); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			done <- c.Run(ctx, "test", func(context.Context, []byte) (pipeline.Source, error) { return quietSource{}, nil }, nil)
		}()
		time.Sleep(time.Second)
		synctest.Wait()
		link := c.SinkLink()
		link.DisconnectErr.Store("dial tcp 127.0.0.1:9000: connect: connection refused")
		link.DisconnectedUnixMilli.Store(time.Now().UnixMilli())
		time.Sleep(13 * time.Second) // 14 s: stalled since 11 s
		synctest.Wait()
		if c.health.stats.Stall() == nil {
			t.Fatal("no stall after 13 s without progress")
		}
		if code, _, m := getHealthz(t, c.health); code != http.StatusOK || m["status"] != "sink_unavailable" {
			t.Errorf("healthz stalled by a sink outage: %d %v", code, m)
		}
		if code, _, m := getProbe(t, c.health, "/readyz"); code != http.StatusServiceUnavailable || m["status"] != "sink_unavailable" {
			t.Errorf("readyz stalled by a sink outage: %d %v", code, m)
		}
		link.DisconnectedUnixMilli.Store(0)
		if code, _, m := getHealthz(t, c.health); code != http.StatusServiceUnavailable || m["status"] != "stalled" {
			t.Errorf("healthz stalled with the sink's server back: %d %v", code, m)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}
