//go:build integration

package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestPostgresKafkaStall runs sluice postgres → Kafka (an in-process kfake) with a broker that
// holds every produce request unanswered for a while: a hung connection, the producer's
// callbacks lost. Before the watchdog /healthz answered "ok" throughout and the pipeline
// waited on the producer's own timeouts. Now /healthz answers 503 "stalled" after
// --stall-timeout, the pipeline is stopped after --stall-fail-timeout and reopened from the
// last saved offset, and once the broker answers again every row arrives.
func TestPostgresKafkaStall(t *testing.T) {
	dsn := testkit.Server(t, "SLUICE_TEST_PG_DSN")
	bin := buildSluice(t)
	ctx := context.Background()

	db := fmt.Sprintf("sl_stall_%d", os.Getpid())
	dbDSN, conn := testkit.FreshPGDatabase(t, dsn, db)
	if _, err := conn.Exec(ctx, "CREATE TABLE k (id int PRIMARY KEY, v text)"); err != nil {
		t.Fatal(err)
	}

	kc, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	var hold atomic.Bool
	wake := make(chan struct{})
	var wakeOnce sync.Once
	release := func() { hold.Store(false); wakeOnce.Do(func() { close(wake) }) }
	defer release()
	kc.ControlKey(kmsg.Produce.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		if hold.Load() {
			kc.SleepControl(func() { <-wake })
		}
		return nil, nil, false
	})
	brokers := kc.ListenAddrs()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := ln.Addr().String()
	ln.Close()

	dir := t.TempDir()
	logPath := filepath.Join(dir, "sluice.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, "postgres", "--dsn", dbDSN, "--slot", db, "--topic-prefix", "srv",
		"--schemas-enable=false", "--sink", "kafka", "--kafka-brokers", brokers[0],
		"--offsets-file", filepath.Join(dir, "offsets.json"), "--offsets-flush-interval", "50ms",
		"--status-interval", "50ms", "--http-addr", httpAddr, "--log-format", "text",
		"--stall-timeout", "2s", "--stall-fail-timeout", "5s")
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("sluice log:\n%s", b)
		}
	}()

	hc := &http.Client{Timeout: 2 * time.Second}
	probe := func(path string) (int, map[string]any) {
		resp, err := hc.Get("http://" + httpAddr + path)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		json.Unmarshal(b, &m)
		return resp.StatusCode, m
	}
	healthz := func() (int, map[string]any) { return probe("/healthz") }
	readyz := func() (int, map[string]any) { return probe("/readyz") } // /healthz is liveness only
	metric := func(name string) string {
		resp, err := hc.Get("http://" + httpAddr + "/metrics")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(b)
		if m == nil {
			return ""
		}
		return string(m[1])
	}
	waitFor := func(what string, d time.Duration, ok func() bool) {
		t.Helper()
		for end := time.Now().Add(d); !ok(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("%s: not within %s", what, d)
			}
		}
	}
	insert := func(from, to int) {
		t.Helper()
		if _, err := conn.Exec(ctx, "INSERT INTO k SELECT g, 'v' || g FROM generate_series($1::int, $2::int) g", from, to); err != nil {
			t.Fatal(err)
		}
	}

	waitFor("/readyz ok after start", 60*time.Second, func() bool { code, _ := readyz(); return code == http.StatusOK })
	insert(1, 50)
	waitFor("rows 1..50 acknowledged by Kafka", 30*time.Second, func() bool {
		n, _ := strconv.ParseFloat(metric("sluice_records_total"), 64)
		return n >= 50 && metric("sluice_records_in_flight") == "0"
	})

	hold.Store(true)
	insert(51, 150)
	var stall map[string]any
	waitFor("/healthz 503 stalled", 20*time.Second, func() bool {
		code, m := healthz()
		stall = m
		return code == http.StatusServiceUnavailable && m["status"] == "stalled"
	})
	if n, _ := stall["records_in_flight"].(float64); n == 0 {
		t.Errorf("stall without records in flight: %v", stall)
	}
	t.Logf("stalled: %v", stall["reason"])
	// The stall began at most --stall-timeout plus a tick before it showed; let the watchdog
	// fail the pipeline (at --stall-fail-timeout) before the broker answers again.
	time.Sleep(4500 * time.Millisecond)
	release()

	waitFor("the source reopened after the stall", 60*time.Second, func() bool {
		return metric("sluice_source_reconnects_total") == "1" && metric("sluice_connected") == "1"
	})
	waitFor("/readyz ok again", 30*time.Second, func() bool { code, _ := readyz(); return code == http.StatusOK })
	if b, _ := os.ReadFile(logPath); !regexp.MustCompile(`pipeline stalled for --stall-fail-timeout`).Match(b) {
		t.Error("the log does not say the pipeline was stopped for a stall")
	}

	// Every row reached Kafka (at least once).
	seen := map[int]bool{}
	read := func() {
		for _, m := range testkit.KafkaReadAll(t, brokers, "srv.public.k", kgo.ReadUncommitted()) {
			var v struct {
				After *struct {
					ID int `json:"id"`
				} `json:"after"`
			}
			if json.Unmarshal(m.Value, &v) == nil && v.After != nil {
				seen[v.After.ID] = true
			}
		}
	}
	waitFor("rows 1..150 in Kafka", 30*time.Second, func() bool {
		read()
		for i := 1; i <= 150; i++ {
			if !seen[i] {
				return false
			}
		}
		return true
	})
}
