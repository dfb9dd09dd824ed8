//go:build integration

package clickhousecmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/cli"
	"github.com/sluicecdc/sluice/internal/testkit"
	"github.com/sluicecdc/sluice/sink/clickhouse"
	kafkasrc "github.com/sluicecdc/sluice/source/kafka"
)

// TestClickHouseOutageMidRun: sluice clickhouse with its ClickHouse link cut (a proxy) mid-run.
// Idle, the cut shows on /readyz (503 sink_unavailable, with the error) and on
// sluice_clickhouse_connected (0) within a ping, and both recover with the link. Cut while
// records arrive, every failed INSERT attempt is logged with its error; after
// --errors-retry-timeout the run ends with a retryable error naming the address, and the
// records it had not inserted are not committed: a second run, with the link back, inserts
// them, so no record is lost. Before, the sink retried for ever, /readyz said nothing until
// --ready-timeout and only while records waited, and an idle outage did not show at all.
func TestClickHouseOutageMidRun(t *testing.T) {
	addr := testkit.Server(t, "SLUICE_TEST_CLICKHOUSE_ADDR")
	conn, err := ch.Open(&ch.Options{Addr: []string{addr}, Auth: ch.Auth{Database: "default", Username: "default"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	db := "sluice_test_clickhousecmd_outage"
	if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db); err != nil {
		t.Fatal(err)
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	brokers := cluster.ListenAddrs()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	const topic, group = "out.public.items", "outage-test"
	produce := func(from, to int) {
		t.Helper()
		var recs []*kgo.Record
		for id := from; id < to; id++ {
			src := fmt.Sprintf(`{"version":"3.2.0.Final","connector":"postgresql","name":"out","ts_ms":1705314600000,"snapshot":"false","db":"shop","sequence":null,"schema":"public","table":"items","txId":7,"lsn":%d,"xmin":null}`, 1000+id)
			recs = append(recs, &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, `{"id":%d}`, id),
				Value: fmt.Appendf(nil, `{"schema":{"type":"struct","fields":[{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":true,"field":"before"},{"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],"optional":true,"field":"after"},{"type":"struct","fields":[],"optional":false,"field":"source"},{"type":"string","optional":false,"field":"op"}],"optional":false,"name":"out.public.items.Envelope"},"payload":{"before":null,"after":{"id":%d},"source":%s,"op":"c","ts_ms":1705314600001}}`, id, src)})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	rows := func() uint64 {
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+".items FINAL").Scan(&n); err != nil {
			return 0
		}
		return n
	}
	committed := func() int64 {
		offs, err := kadm.NewClient(cl).FetchOffsets(ctx, group)
		if err != nil {
			t.Fatal(err)
		}
		o, _ := offs.Lookup(topic, 0)
		return o.At
	}
	proxy := testkit.StartProxy(t, addr)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := l.Addr().String()
	l.Close()
	var logs testkit.SyncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	// start runs sluice clickhouse's pipeline; wait returns its error once it ends by itself
	// (at most 30 s), stop ends it and returns its error.
	start := func(retryTimeout time.Duration) (wait, stop func() error) {
		kcfg := kafkasrc.Config{Topics: `out\..*`, Group: group, Initial: "oldest", Logger: log}
		kcfg.Client.Brokers = brokers
		scfg := clickhouse.Config{Addr: []string{proxy.Addr()}, Database: db, FlushInterval: 100 * time.Millisecond,
			RetryTimeout: retryTimeout, MaxBackoff: 500 * time.Millisecond, Logger: log}
		ep := cli.NewEndpoint("kafka", group, "clickhouse")
		ep.SetReadyTimeout(time.Minute) // a 503 below is the sink's link, not a delivery timeout
		stopHTTP, err := ep.Serve(ctx, httpAddr, cli.HTTPSecurity{}, log)
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- runKafkaToClickHouse(rctx, kcfg, scfg, log, ep) }()
		var once sync.Once
		var runErr error
		end := func(after time.Duration) error {
			once.Do(func() {
				select {
				case runErr = <-done:
				case <-time.After(after):
					cancel()
					runErr = fmt.Errorf("still running %s on (%v)", after, <-done)
				}
				cancel()
				stopHTTP()
			})
			return runErr
		}
		t.Cleanup(func() { end(0) })
		return func() error { return end(30 * time.Second) }, func() error { return end(0) }
	}
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + httpAddr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	gauge := func() string {
		_, body := get("/metrics")
		if m := regexp.MustCompile(`(?m)^sluice_clickhouse_connected (\d+)$`).FindStringSubmatch(body); m != nil {
			return m[1]
		}
		return "missing"
	}
	waitFor := func(what string, within time.Duration, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(within); !ok(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %s", what, within)
			}
		}
	}

	produce(0, 100)
	wait, _ := start(3 * time.Second)
	waitFor("100 rows in ClickHouse", 30*time.Second, func() bool { return rows() == 100 })
	waitFor("/readyz 200 and sluice_clickhouse_connected 1", 10*time.Second, func() bool {
		code, _ := get("/readyz")
		return code == http.StatusOK && gauge() == "1"
	})

	// Idle outage: no record waits, so only the sink's ping can see it.
	proxy.Cut()
	t0 := time.Now()
	waitFor("/readyz 503 sink_unavailable while idle", 15*time.Second, func() bool {
		code, body := get("/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, `"sink_unavailable"`) && strings.Contains(body, "error")
	})
	t.Logf("idle outage on /readyz after %s", time.Since(t0).Round(time.Millisecond))
	if g := gauge(); g != "0" {
		t.Errorf("sluice_clickhouse_connected = %s during the outage, want 0", g)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz %d during the outage: liveness must hold (a restart would not help)", code)
	}
	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	waitFor("/readyz 200 and the gauge 1 after the link came back", 15*time.Second, func() bool {
		code, _ := get("/readyz")
		return code == http.StatusOK && gauge() == "1"
	})

	// Outage with records: retried, logged, then the run ends after --errors-retry-timeout.
	before := committed()
	proxy.Cut()
	produce(100, 150)
	err = wait()
	var ue *clickhouse.UnavailableError
	if !errors.As(err, &ue) || !capture.Retryable(err) || !strings.Contains(err.Error(), proxy.Addr()) || !strings.Contains(err.Error(), "--errors-retry-timeout") {
		t.Fatalf("run ended with %v, want a retryable UnavailableError naming %s and --errors-retry-timeout", err, proxy.Addr())
	}
	if n := strings.Count(logs.String(), `msg="clickhouse call failed; retrying" sink=clickhouse op="insert into items__versions"`); n < 2 {
		t.Errorf("%d failed INSERT attempts logged, want each one:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "connection refused") {
		t.Error("the retries' log lines do not carry the error")
	}
	if got := committed(); got > 100 || got < before {
		t.Fatalf("committed offset %d after the failed run (100 before the outage): records not inserted were committed", got)
	}

	// The link back: a new run inserts what the failed one did not.
	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	_, stop := start(time.Minute)
	waitFor("150 rows after the restart", 30*time.Second, func() bool { return rows() == 150 })
	waitFor("offset 150 committed", 10*time.Second, func() bool { return committed() == 150 })
	if err := stop(); err != nil && !strings.Contains(err.Error(), "still running") {
		t.Errorf("second run: %v", err)
	}
}
