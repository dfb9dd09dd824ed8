//go:build integration

package postgrescmd

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/internal/cli"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// advertised is a listener that tells kfake it listens on addr (a proxy in front of it), so
// that every client connection, also those to the broker the metadata names, goes through
// the proxy and Cut is a broker outage.
type advertised struct {
	net.Listener
	addr net.Addr
}

func (l advertised) Addr() net.Addr { return l.addr }

// scrapeMetrics returns /metrics as series → value (the text before the value, labels
// included, as key).
func scrapeMetrics(t *testing.T, httpAddr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		t.Fatalf("/metrics: %v", err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

func probe(httpAddr, path string) (int, string) {
	resp, err := http.Get("http://" + httpAddr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestMetricsAndReadiness runs `sluice postgres --sink kafka --http-addr` against a private
// PostgreSQL (through a proxy) and an in-process Kafka broker (through another) and scrapes
// it: the Debezium-named event counters equal the records produced; the lag is near 0 when
// caught up and grows while the broker is cut; /readyz turns 503 within 10 s of the broker
// outage and of the database outage, and back to 200 after each, while /healthz (liveness)
// stays 200.
func TestMetricsAndReadiness(t *testing.T) {
	pg := testkit.StartPG(t, testkit.PGOptions{})
	ctx := context.Background()
	conn := pg.Connect("postgres")
	if _, err := conn.Exec(ctx, "CREATE TABLE m (id int PRIMARY KEY, v text); CREATE TABLE w (id int PRIMARY KEY, v text); "+
		"INSERT INTO m SELECT g, 's' FROM generate_series(1, 200) g"); err != nil {
		t.Fatal(err)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	kproxy := testkit.StartProxy(t, inner.Addr().String())
	kaddr, _ := net.ResolveTCPAddr("tcp", kproxy.Addr())
	kf, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1),
		kfake.ListenFn(func(string, string) (net.Listener, error) { return advertised{inner, kaddr}, nil }))
	if err != nil {
		t.Fatal(err)
	}
	defer kf.Close()
	pproxy := testkit.StartProxy(t, pg.Addr)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := l.Addr().String()
	l.Close()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() {
		runErr <- run(rctx, "sluice postgres", []string{"--dsn", pg.DSN(pproxy.Addr(), "postgres"), "--topic-prefix", "mt", "--sink", "kafka",
			"--kafka-brokers", kproxy.Addr(), "--offsets-file", filepath.Join(t.TempDir(), "offsets.json"), "--offsets-flush-interval", "200ms",
			"--status-interval", "200ms", "--read-timeout", "3s", "--retriable-restart-wait", "500ms", "--errors-retry-timeout", "2m",
			"--http-addr", httpAddr, "--log-level", "error"}, []cli.SinkKind{cli.KafkaSink})
	}()
	t0 := time.Now()
	// wait polls cond every 100 ms for up to d; it fails the test when d passes or sluice exits.
	wait := func(what string, d time.Duration, cond func() bool) time.Duration {
		t.Helper()
		start := time.Now()
		for !cond() {
			select {
			case err := <-runErr:
				t.Fatalf("%s: sluice postgres exited: %v", what, err)
			default:
			}
			if time.Since(start) > d {
				t.Fatalf("%s: not within %s", what, d)
			}
			time.Sleep(100 * time.Millisecond)
		}
		took := time.Since(start)
		t.Logf("%s after %s (at %s)", what, took.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
		return took
	}
	ready := func() bool { code, _ := probe(httpAddr, "/readyz"); return code == http.StatusOK }
	// /readyz answers from the first second: 503 until the pipeline runs.
	wait("/readyz answers", 5*time.Second, func() bool { code, _ := probe(httpAddr, "/readyz"); return code != 0 })
	wait("/readyz 200", 30*time.Second, ready)

	// A known set of changes: 200 snapshot reads, then 50 inserts, 20 updates, 10 deletes in
	// 80 transactions.
	for i := 201; i <= 250; i++ {
		if _, err := conn.Exec(ctx, "INSERT INTO m VALUES ($1, 'i')", i); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 20; i++ {
		if _, err := conn.Exec(ctx, "UPDATE m SET v = 'u' WHERE id = $1", i); err != nil {
			t.Fatal(err)
		}
	}
	for i := 231; i <= 240; i++ {
		if _, err := conn.Exec(ctx, "DELETE FROM m WHERE id = $1", i); err != nil {
			t.Fatal(err)
		}
	}
	const (
		st = `{context="streaming",name="mt",plugin="postgres"}`
		sn = `{context="snapshot",name="mt",plugin="postgres"}`
	)
	var m map[string]float64
	wait("all 280 changes seen and acknowledged", 30*time.Second, func() bool {
		m = scrapeMetrics(t, httpAddr)
		// The last transaction's commit is read after its changes: wait for it too.
		return m["debezium_metrics_TotalNumberOfEventsSeen"+st] == 80 && m["debezium_metrics_NumberOfCommittedTransactions"+st] == 80 &&
			m["sluice_records_total"] == 290 && m["sluice_events_pending"] == 0 && m["sluice_records_in_flight"] == 0
	})
	for name, want := range map[string]float64{
		"debezium_metrics_TotalNumberOfEventsSeen" + sn:       200,
		"debezium_metrics_TotalNumberOfCreateEventsSeen" + st: 50,
		"debezium_metrics_TotalNumberOfUpdateEventsSeen" + st: 20,
		"debezium_metrics_TotalNumberOfDeleteEventsSeen" + st: 10,
		"debezium_metrics_NumberOfCommittedTransactions" + st: 80,
		"debezium_metrics_Connected" + st:                     1,
		"sluice_records_total":                                290, // + 10 tombstones
	} {
		if got := m[name]; got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	// Records on the topic: one with a value per change event seen.
	cl, err := kgo.NewClient(kgo.SeedBrokers(kproxy.Addr()), kgo.ConsumeTopics("mt.public.m"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	values, tombstones := 0, 0
	fctx, fcancel := context.WithTimeout(ctx, 20*time.Second)
	for values+tombstones < 290 && fctx.Err() == nil {
		cl.PollFetches(fctx).EachRecord(func(r *kgo.Record) {
			if r.Value == nil {
				tombstones++
			} else {
				values++
			}
		})
	}
	fcancel()
	cl.Close()
	seen := m["debezium_metrics_TotalNumberOfEventsSeen"+st] + m["debezium_metrics_TotalNumberOfEventsSeen"+sn]
	t.Logf("events seen %v (snapshot %v + streaming %v); records on the topic: %d with a value, %d tombstones",
		seen, m["debezium_metrics_TotalNumberOfEventsSeen"+sn], m["debezium_metrics_TotalNumberOfEventsSeen"+st], values, tombstones)
	if float64(values) != seen || tombstones != 10 {
		t.Errorf("events seen %v, records with a value on the topic %d (tombstones %d, want 10)", seen, values, tombstones)
	}
	// Caught up: the lag of the last change read is small (same host clock); the watchdog
	// samples it once a second.
	wait("the lag sampled", 3*time.Second, func() bool {
		m = scrapeMetrics(t, httpAddr)
		return m["debezium_metrics_MilliSecondsBehindSource"+st] >= 0
	})
	if lag := m["debezium_metrics_MilliSecondsBehindSource"+st]; lag < 0 || lag > 2000 {
		t.Errorf("MilliSecondsBehindSource %v ms when caught up, want 0…2000", lag)
	}
	t.Logf("caught up: MilliSecondsBehindSource %v ms, P99 %v ms, delivery latency P50 %v s",
		m["debezium_metrics_MilliSecondsBehindSource"+st], m["debezium_metrics_MilliSecondsBehindSourceP99"+st],
		m[`sluice_sink_delivery_latency_seconds{name="mt",plugin="postgres",sink="kafka",quantile="0.5"}`])

	// Sink outage: the broker is cut while rows are written.
	stop := make(chan struct{})
	done := writer(t, pg.DSN("", "postgres"), stop)
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		<-done
	}()
	time.Sleep(time.Second)
	kproxy.Cut()
	took := wait("/readyz 503 after the broker was cut", 10*time.Second, func() bool { return !ready() })
	_, body := probe(httpAddr, "/readyz")
	t.Logf("/readyz: %s", strings.TrimSpace(body))
	if code, body := probe(httpAddr, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz %d during the broker outage (liveness must hold): %s", code, body)
	}
	lag1 := scrapeMetrics(t, httpAddr)["debezium_metrics_MilliSecondsBehindSource"+st]
	time.Sleep(3 * time.Second)
	lag2 := scrapeMetrics(t, httpAddr)["debezium_metrics_MilliSecondsBehindSource"+st]
	t.Logf("broker cut: lag %v ms, 3 s later %v ms (/readyz 503 %s after the cut)", lag1, lag2, took.Round(time.Millisecond))
	if lag2 < lag1+2000 {
		t.Errorf("lag %v then %v ms while the broker is cut: want it growing", lag1, lag2)
	}
	if err := kproxy.Restore(); err != nil {
		t.Fatal(err)
	}
	wait("/readyz 200 after the broker came back", 60*time.Second, ready)

	// Database outage: the link to PostgreSQL is cut.
	time.Sleep(time.Second)
	pproxy.Cut()
	wait("/readyz 503 after the database link was cut", 10*time.Second, func() bool { return !ready() })
	_, body = probe(httpAddr, "/readyz")
	t.Logf("/readyz: %s", strings.TrimSpace(body))
	if code, body := probe(httpAddr, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz %d during the database outage (liveness must hold): %s", code, body)
	}
	time.Sleep(2 * time.Second)
	if err := pproxy.Restore(); err != nil {
		t.Fatal(err)
	}
	wait("/readyz 200 after the database link came back", 60*time.Second, ready)
	close(stop)
	<-done
	m = scrapeMetrics(t, httpAddr)
	if m["sluice_source_reconnects_total"] < 1 {
		t.Errorf("reconnects %v, want ≥ 1", m["sluice_source_reconnects_total"])
	}
	cancel()
	if err := <-runErr; err != nil {
		t.Errorf("run: %v", err)
	}
}
