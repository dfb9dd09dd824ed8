//go:build integration

package clickhouse

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	kafkasrc "github.com/sluicecdc/sluice/source/kafka"
)

// TestBenchKafkaVsClient measures Kafka → ClickHouse rows/s for SLUICE_BENCH_ROWS rows against
// clickhouse-client inserting the same rows from TSV, in the same run (SLUICE_BENCH_SCHEMAS=0
// for records without schemas). Not a pass/fail test: it logs the figures.
func TestBenchKafkaVsClient(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SLUICE_BENCH_ROWS"))
	if n <= 0 {
		t.Skip("set SLUICE_BENCH_ROWS (e.g. 1000000) to run the benchmark")
	}
	schemas := os.Getenv("SLUICE_BENCH_SCHEMAS") != "0"
	addr := chAddr(t)
	conn := chConn(t, addr)
	db := freshDB(t, conn)
	brokers := kafkaBrokers(t)
	tb := ttable{topic: "bench.public.orders", db: "shop", schema: "public", table: "orders", keys: []string{"id"}, pg: true,
		fields: []tfield{
			{name: "id", typ: "int64"},
			{name: "customer_id", typ: "int64"},
			{name: "amount", typ: "bytes", semantic: nameDecimal, params: map[string]string{"scale": "2", "connect.decimal.precision": "12"}},
			{name: "status", typ: "string"},
			{name: "created_at", typ: "int64", semantic: nameMicroTimestamp},
			{name: "payload", typ: "string", optional: true, semantic: "io.debezium.data.Json"},
		}}
	tsv := filepath.Join(t.TempDir(), "orders.tsv")
	f, err := os.Create(tsv)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var recs []envelope.Record
	var bytes int
	produced := 0
	flushRecs := func() {
		produce(t, brokers, recs)
		produced += len(recs)
		recs = recs[:0]
	}
	genStart := time.Now()
	base := int64(1795478400000000)
	for i := 1; i <= n; i++ {
		amount := int64(i % 100000)
		payload := fmt.Sprintf(`{"sku": "SKU-%d", "qty": %d, "note": "%08x%08x"}`, i%4096, i%10, i*2654435761, i*40503)
		r := row{"id", i, "customer_id", i % 10007, "amount", dec(amount), "status", "new", "created_at", base + int64(i)*1000, "payload", payload}
		rec := tb.record("c", nil, r, int64(1000+i), schemas)
		bytes += len(rec.Value) + len(rec.Key)
		recs = append(recs, rec)
		fmt.Fprintf(w, "%d\t%d\t%d.%02d\tnew\t%d\t%s\t%d\t0\n", i, i%10007, amount/100, amount%100, base+int64(i)*1000, payload, 1000+i)
		if len(recs) == 20000 {
			flushRecs()
		}
	}
	flushRecs()
	w.Flush()
	f.Close()
	t.Logf("generated and produced %d records in %s", produced, time.Since(genStart))

	// clickhouse-client from TSV
	execCH(t, conn, "CREATE DATABASE IF NOT EXISTS "+db)
	execCH(t, conn, "CREATE TABLE "+db+".orders_cli (id Int64, customer_id Int64, amount Decimal(12, 2), status String, created_at Int64, payload Nullable(String), _version UInt64, _is_deleted UInt8) ENGINE = ReplacingMergeTree(_version) ORDER BY id")
	if !schemas {
		execCH(t, conn, "CREATE TABLE "+db+".orders AS "+db+".orders_cli")
	}
	host, port, _ := strings.Cut(addr, ":")
	in, _ := os.Open(tsv)
	cmd := exec.Command("clickhouse-client", "--host", host, "--port", port, "--query", "INSERT INTO "+db+".orders_cli FORMAT TabSeparated")
	cmd.Stdin = in
	t0 := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("clickhouse-client: %v %s", err, out)
	}
	cliSecs := time.Since(t0).Seconds()
	in.Close()

	// sluice: Kafka → ClickHouse
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	t0 = time.Now()
	cpu0 := cpuTime()
	sink, wait := runKafka(ctx, t, kafkasrc.Config{Client: ikafka.ClientConfig{Brokers: brokers}, Topics: `bench\..*`, Group: "g-" + db},
		Config{Addr: []string{addr}, Database: db, BatchRows: 50000, FlushInterval: time.Second, Compression: os.Getenv("SLUICE_BENCH_COMPRESSION")})
	for sink.Stats().Records < uint64(produced) {
		time.Sleep(20 * time.Millisecond)
	}
	sinkSecs := time.Since(t0).Seconds()
	sinkCPU := (cpuTime() - cpu0).Seconds()
	cancel()
	_ = wait()
	if st := sink.Stats(); st.Parked > 0 {
		t.Fatalf("%d records parked", st.Parked)
	}
	t.Logf("sink stats: %+v", sink.Stats())
	cnt := query(t, conn, "SELECT toString(count()) FROM "+db+".orders")
	t.Logf("rows=%d schemas=%t json_bytes=%d | clickhouse-client TSV: %.2fs %.0f rows/s | sluice kafka→clickhouse: %.2fs %.0f rows/s, %.2f cpu-s %.0f ns/row (count %s) | ratio %.2f",
		n, schemas, bytes, cliSecs, float64(n)/cliSecs, sinkSecs, float64(n)/sinkSecs, sinkCPU, sinkCPU*1e9/float64(n), cnt[0], cliSecs/sinkSecs)
}
