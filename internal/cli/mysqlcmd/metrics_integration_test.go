//go:build integration

package mysqlcmd

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/internal/cli"
	"github.com/sluicecdc/sluice/internal/testkit"
)

func scrapeMetrics(t *testing.T, httpAddr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		return nil // not listening yet
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.LastIndexByte(line, ' '); i > 0 && !strings.HasPrefix(line, "#") {
			if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
				out[line[:i]] = v
			}
		}
	}
	return out
}

// TestMetricsMySQL scrapes `sluice mysql --http-addr` during a run on MariaDB: the Debezium
// event counters equal the records produced, the schema history counts the ALTER, the lag is
// small once caught up, and /readyz answers 200.
func TestMetricsMySQL(t *testing.T) {
	dsn := testkit.Server(t, "SLUICE_TEST_MARIADB_DSN")
	db, err := sql.Open("mysql", dsn+"?multiStatements=true")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dbName := fmt.Sprintf("sl_metrics_%d", os.Getpid())
	if _, err := db.Exec("DROP DATABASE IF EXISTS " + dbName + "; CREATE DATABASE " + dbName + "; CREATE TABLE " + dbName +
		".m (id INT PRIMARY KEY, v VARCHAR(10)); USE " + dbName + "; INSERT INTO m SELECT seq, 's' FROM seq_1_to_100"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS " + dbName) })
	kf, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(1))
	if err != nil {
		t.Fatal(err)
	}
	defer kf.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := l.Addr().String()
	l.Close()
	addr := strings.TrimSuffix(strings.TrimPrefix(dsn, "root@tcp("), ")/")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() {
		runErr <- run(ctx, "sluice mysql", []string{"--dsn", "mysql://root@" + addr, "--server-id", fmt.Sprint(7400 + os.Getpid()%500),
			"--topic-prefix", "mm", "--database-include", dbName, "--sink", "kafka", "--kafka-brokers", strings.Join(kf.ListenAddrs(), ","),
			"--http-addr", httpAddr, "--log-level", "error"}, []cli.SinkKind{cli.KafkaSink})
	}()
	wait := func(what string, d time.Duration, cond func() bool) {
		t.Helper()
		for start := time.Now(); !cond(); time.Sleep(100 * time.Millisecond) {
			select {
			case err := <-runErr:
				t.Fatalf("%s: sluice mysql exited: %v", what, err)
			default:
			}
			if time.Since(start) > d {
				t.Fatalf("%s: not within %s", what, d)
			}
		}
	}
	const (
		st = `{context="streaming",name="mm",plugin="mariadb"}`
		sn = `{context="snapshot",name="mm",plugin="mariadb"}`
		hc = `{context="schema-history",name="mm",plugin="mariadb"}`
	)
	var m map[string]float64
	wait("snapshot read", 60*time.Second, func() bool {
		m = scrapeMetrics(t, httpAddr)
		return m["debezium_metrics_TotalNumberOfEventsSeen"+sn] == 100 && m["debezium_metrics_Connected"+st] == 1
	})
	applied := m["debezium_metrics_ChangesApplied"+hc]
	q := func(s string, args ...any) {
		t.Helper()
		if _, err := db.Exec(s, args...); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	for i := 101; i <= 130; i++ {
		q("INSERT INTO "+dbName+".m VALUES (?, 'i')", i)
	}
	q("ALTER TABLE " + dbName + ".m ADD COLUMN w INT")
	for i := 1; i <= 10; i++ {
		q("UPDATE "+dbName+".m SET v = 'u' WHERE id = ?", i)
	}
	for i := 121; i <= 125; i++ {
		q("DELETE FROM "+dbName+".m WHERE id = ?", i)
	}
	wait("45 changes seen and delivered", 30*time.Second, func() bool {
		m = scrapeMetrics(t, httpAddr)
		return m["debezium_metrics_TotalNumberOfEventsSeen"+st] == 45 && m["sluice_events_pending"] == 0 && m["sluice_records_in_flight"] == 0 &&
			m["debezium_metrics_MilliSecondsBehindSource"+st] >= 0
	})
	for name, want := range map[string]float64{
		"debezium_metrics_TotalNumberOfCreateEventsSeen" + st: 30,
		"debezium_metrics_TotalNumberOfUpdateEventsSeen" + st: 10,
		"debezium_metrics_TotalNumberOfDeleteEventsSeen" + st: 5,
		"debezium_metrics_NumberOfCommittedTransactions" + st: 45,
	} {
		if got := m[name]; got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if got := m["debezium_metrics_ChangesApplied"+hc]; got != applied+1 {
		t.Errorf("ChangesApplied %v after the ALTER, want %v", got, applied+1)
	}
	// MariaDB's binlog timestamps have whole seconds.
	if lag := m["debezium_metrics_MilliSecondsBehindSource"+st]; lag > 3000 {
		t.Errorf("MilliSecondsBehindSource %v ms when caught up", lag)
	}
	if resp, err := http.Get("http://" + httpAddr + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/readyz: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(kf.ListenAddrs()...), kgo.ConsumeTopics("mm."+dbName+".m"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	values, tombstones := 0, 0
	fctx, fcancel := context.WithTimeout(ctx, 20*time.Second)
	for values+tombstones < 150 && fctx.Err() == nil {
		cl.PollFetches(fctx).EachRecord(func(r *kgo.Record) {
			if r.Value == nil {
				tombstones++
			} else {
				values++
			}
		})
	}
	fcancel()
	seen := m["debezium_metrics_TotalNumberOfEventsSeen"+st] + m["debezium_metrics_TotalNumberOfEventsSeen"+sn]
	t.Logf("events seen %v; records with a value %d, tombstones %d; lag %v ms; schema history applied %v, recovered %v",
		seen, values, tombstones, m["debezium_metrics_MilliSecondsBehindSource"+st], m["debezium_metrics_ChangesApplied"+hc], m["debezium_metrics_ChangesRecovered"+hc])
	if float64(values) != seen || tombstones != 5 {
		t.Errorf("events seen %v, records with a value %d, tombstones %d (want 5)", seen, values, tombstones)
	}
	cancel()
	if err := <-runErr; err != nil {
		t.Errorf("run: %v", err)
	}
}
