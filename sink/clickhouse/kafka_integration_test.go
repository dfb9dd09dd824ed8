//go:build integration

package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/internal/testkit"
	kafkasrc "github.com/sluicecdc/sluice/source/kafka"
)

// kafkaBrokers returns SLUICE_TEST_KAFKA_BROKERS, or an in-process kfake broker.
func kafkaBrokers(t *testing.T) []string {
	t.Helper()
	if b := os.Getenv("SLUICE_TEST_KAFKA_BROKERS"); b != "" {
		return strings.Split(b, ",")
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(3))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

func produce(t *testing.T, brokers []string, recs []envelope.Record) {
	t.Helper()
	// The scripts' broker does not auto-create topics: create each with three partitions.
	adm := testkit.KafkaAdmin(t, brokers)
	created := map[string]bool{}
	for _, r := range recs {
		if created[r.Topic] {
			continue
		}
		created[r.Topic] = true
		res, err := adm.CreateTopic(t.Context(), 3, 1, nil, r.Topic)
		if err == nil {
			err = res.Err
		}
		if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
			t.Fatalf("create topic %s: %v", r.Topic, err)
		}
	}
	cl := testkit.KafkaClient(t, brokers)
	msgs := make([]*kgo.Record, len(recs))
	for i, r := range recs {
		msgs[i] = &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value}
		for _, h := range r.Headers {
			msgs[i].Headers = append(msgs[i].Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
		}
	}
	for len(msgs) > 0 {
		n := min(len(msgs), 500)
		testkit.KafkaProduce(t, cl, msgs[:n]...)
		msgs = msgs[n:]
	}
}

// committedAll reports whether the group's committed offsets reached every partition's end.
func committedAll(t *testing.T, brokers []string, group string, topics ...string) bool {
	t.Helper()
	adm := testkit.KafkaAdmin(t, brokers)
	for _, tp := range topics {
		res, err := testkit.KafkaGroupOffsets(adm, group, tp)
		if err != nil {
			return false // the group does not exist yet
		}
		for p, hwm := range testkit.KafkaEndOffsets(t, adm, tp) {
			if o, ok := res[p]; hwm > 0 && (!ok || o != hwm) {
				return false
			}
		}
	}
	return true
}

// runKafka runs what `sluice clickhouse` runs, in process: Kafka topics (source/kafka) →
// pipeline → this sink, until ctx ends. wait returns the pipeline's and the source's errors.
func runKafka(ctx context.Context, t *testing.T, kcfg kafkasrc.Config, scfg Config) (sink *Sink, wait func() error) {
	t.Helper()
	var durable pipeline.Durable // set by NewSink before the pipeline sends a record
	sink, err := New(ctx, scfg, func(tok uint64) { durable(tok) })
	if err != nil {
		t.Fatal(err)
	}
	kcfg.OnOrigin = sink.SetOrigin // as clickhousecmd wires it
	src, err := kafkasrc.Open(ctx, kcfg)
	if err != nil {
		sink.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		err := pipeline.Run(ctx, pipeline.Config{Records: src,
			NewSink: func(d pipeline.Durable) (pipeline.Sink, error) { durable = d; return sink, nil }})
		done <- errors.Join(err, src.Close())
	}()
	return sink, func() error { return <-done }
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 1200; i++ {
		if cond() {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestKafkaToClickHouse: Debezium topics with schemas (table created by the sink) and without
// (table created beforehand) through a consumer group, three partitions, source/kafka →
// pipeline → sink.
func TestKafkaToClickHouse(t *testing.T) {
	addr := chAddr(t)
	conn := chConn(t, addr)
	db := freshDB(t, conn)
	brokers := kafkaBrokers(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	orders := ordersTable(ordersV1)
	orders.topic = "kt.public.orders"
	items := ttable{topic: "kt.public.items", db: "shop", schema: "public", table: "items", keys: []string{"sku"}, pg: true}
	execCH(t, conn, "CREATE DATABASE IF NOT EXISTS "+db)
	execCH(t, conn, "CREATE TABLE "+db+".items (sku String, qty Int32, price Decimal(8, 2), _version UInt64, _is_deleted UInt8) ENGINE = ReplacingMergeTree(_version) ORDER BY sku")

	var recs []envelope.Record
	want := map[int]string{}
	lsn := int64(5000)
	for i := 1; i <= 300; i++ {
		lsn += 10
		recs = append(recs, orders.record("c", nil, orderRow(i, fmt.Sprintf("n%d", i), int64(i), nil), lsn, true))
		want[i] = fmt.Sprintf("n%d", i)
		if i%3 == 0 {
			lsn += 10
			recs = append(recs, orders.record("u", nil, orderRow(i, fmt.Sprintf("u%d", i), int64(i), nil), lsn, true))
			want[i] = fmt.Sprintf("u%d", i)
		}
		if i%5 == 0 {
			lsn += 10
			recs = append(recs, orders.record("d", orderRow(i, "", 0, nil), nil, lsn, true), orders.tombstone(row{"id", i}))
			delete(want, i)
		}
		lsn += 10
		recs = append(recs, items.record("c", nil, row{"sku", fmt.Sprintf("s%03d", i%50), "qty", i, "price", 12.5}, lsn, false))
	}
	// a heartbeat-like record on a matching topic without an envelope is skipped
	recs = append(recs, envelope.Record{Topic: orders.topic, Key: []byte(`{"serverName":"kt"}`), Value: []byte(`{"ts_ms":1}`)})
	produce(t, brokers, recs)

	sink, wait := runKafka(ctx, t, kafkasrc.Config{Client: ikafka.ClientConfig{Brokers: brokers}, Topics: `kt\.public\..*`, Group: "g-" + db, TopicRefresh: time.Second},
		Config{Addr: []string{addr}, Database: db, BatchRows: 100, FlushInterval: 200 * time.Millisecond})
	waitFor(t, "offsets committed", func() bool { return committedAll(t, brokers, "g-"+db, orders.topic, items.topic) })
	cancel()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if st := sink.Stats(); st.Records != uint64(len(recs)) || st.Parked != 0 {
		t.Fatalf("stats %+v, want %d records", st, len(recs))
	}
	optimize(t, conn, db, "orders")
	got := query(t, conn, "SELECT toString(id), customer FROM "+db+".orders FINAL WHERE _is_deleted = 0 ORDER BY id")
	var exp []string
	for i := 1; i <= 300; i++ {
		if n, ok := want[i]; ok {
			exp = append(exp, fmt.Sprintf("%d\t%s", i, n))
		}
	}
	if strings.Join(got, "\n") != strings.Join(exp, "\n") {
		t.Fatalf("orders: %d rows, want %d\n%v", len(got), len(exp), got)
	}
	optimize(t, conn, db, "items")
	if got := query(t, conn, "SELECT sku, toString(qty), toString(price) FROM "+db+".items FINAL WHERE sku IN ('s000', 's001') ORDER BY sku"); strings.Join(got, "|") != "s000\t300\t12.50|s001\t251\t12.50" {
		t.Fatalf("items %v", got)
	}
	if got := query(t, conn, "SELECT toString(count()) FROM "+db+".items FINAL"); got[0] != "50" {
		t.Fatalf("items count %v", got)
	}
}

// TestKafkaKill9: `sluice clickhouse` is killed with SIGKILL mid-stream and restarted; the
// table ends with every change applied and no (id, _version) twice.
func TestKafkaKill9(t *testing.T) {
	addr := chAddr(t)
	conn := chConn(t, addr)
	db := freshDB(t, conn)
	brokers := kafkaBrokers(t)
	bin := sluiceBin(t) // built once per test binary
	orders := ordersTable(ordersV1)
	// A topic and group of this run only: the shared broker keeps earlier runs' records, and
	// a process an earlier failed run left behind would take the group's partitions.
	run := fmt.Sprintf("k9x%dx%d", os.Getpid(), time.Now().UnixNano()%1e9)
	orders.topic = run + ".public.orders"
	group := "g-" + db + "-" + run
	const n = 60000
	var recs []envelope.Record
	want := map[int]string{}
	for i := 0; i < n; i++ {
		id := i%5000 + 1
		name := fmt.Sprintf("v%d", i)
		recs = append(recs, orders.record("u", nil, orderRow(id, name, int64(i), nil), int64(100000+i), true))
		want[id] = name
	}
	produce(t, brokers, recs)
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "clickhouse", "--topics", run+`\..*`, "--group", group, "--topic-refresh", "1s",
			"--batch-rows", "2000", "--flush-interval", "100ms", "--log-format", "text")
		cmd.Env = append(os.Environ(), "SLUICE_KAFKA_BROKERS="+strings.Join(brokers, ","),
			"SLUICE_CLICKHOUSE_ADDR="+addr, "SLUICE_CLICKHOUSE_DATABASE="+db)
		logf, _ := os.Create(filepath.Join(t.TempDir(), "sluice.log"))
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) // never outlive a failed run
		return cmd
	}
	count := func() int {
		exists := query(t, conn, "SELECT toString(count()) FROM system.tables WHERE database = '"+db+"' AND name = 'orders"+DataSuffix+"'")
		if exists[0] == "0" {
			return 0
		}
		var c int
		fmt.Sscan(query(t, conn, "SELECT toString(count()) FROM "+db+".orders"+DataSuffix)[0], &c)
		return c
	}
	cmd := start()
	waitFor(t, "some rows inserted", func() bool { return count() >= 10000 })
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	before := count()
	if before >= n {
		t.Fatalf("killed too late: %d rows already in", before)
	}
	cmd = start()
	waitFor(t, "offsets committed after restart", func() bool { return committedAll(t, brokers, group, orders.topic) })
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	t.Logf("rows at kill: %d; rows inserted in total (before merges): %d", before, count())
	optimize(t, conn, db, "orders")
	if dup := query(t, conn, "SELECT toString(count()) FROM (SELECT id, _version, count() AS c FROM "+db+"."+dataTable(t, conn, db, "orders")+" GROUP BY id, _version HAVING c > 1)"); dup[0] != "0" {
		t.Fatalf("%s duplicate (id, _version) pairs", dup[0])
	}
	got := query(t, conn, "SELECT toString(id), customer FROM "+db+".orders FINAL WHERE _is_deleted = 0 ORDER BY id")
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d", len(got), len(want))
	}
	for _, g := range got {
		var id int
		var name string
		fmt.Sscanf(g, "%d\t%s", &id, &name)
		if want[id] != name {
			t.Fatalf("row %q: want %s", g, want[id])
		}
	}
}

// TestKafkaKeylessReplayNewSession: an upstream sluice restarted (kill -9, or its source
// reopened) re-sends what followed its stored offset with a new producer session; when the
// replay starts at the version of the last row of a keyless table the consumer counted, the
// replayed rows must collapse with their first copies, while identical rows of one version
// (a COPY) stay two. Before the fix the count went on across the replay: 8 rows, not 5.
func TestKafkaKeylessReplayNewSession(t *testing.T) {
	got := keylessEvents(t, "kr", func(tb ttable) [][]envelope.Record {
		keyless := func(kind string, n int, lsn int64) envelope.Record {
			r := tb.record("c", nil, row{"kind", kind, "n", n}, lsn, true)
			r.Key = nil // Debezium sends no key for a table without a primary key
			return r
		}
		return [][]envelope.Record{
			{keyless("x", 1, 900), keyless("y", 2, 900), keyless("z", 3, 950), keyless("z", 3, 950)}, // a multi-insert, then a COPY of two identical rows
			{keyless("z", 3, 950), keyless("z", 3, 950), keyless("w", 4, 990)},                       // restarted at 950: the COPY again, then a new change
			{keyless("w", 4, 990)}, // restarted at 990: its one change again
		}
	})
	if want := "w 4|x 1|y 2|z 3|z 3"; got != want {
		t.Fatalf("rows (the view) %q, want %q", got, want)
	}
}

// keylessEvents loads sessions of records of a table events (kind, n) without a key, on a
// one-partition topic of its own (the replays follow their first copies, as in a topic per
// table): each session is produced by a client of its own (a new producer session), then
// `sluice clickhouse` reads the topic until its offsets are committed. It returns the view's
// rows after a merge, "kind n|…".
func keylessEvents(t *testing.T, prefix string, sessions func(tb ttable) [][]envelope.Record) string {
	t.Helper()
	addr := chAddr(t)
	conn := chConn(t, addr)
	db := freshDB(t, conn)
	brokers := kafkaBrokers(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tb := ttable{topic: fmt.Sprintf("%s%d.public.events", prefix, time.Now().UnixNano()), db: "shop", schema: "public", table: "events", pg: true,
		fields: []tfield{{name: "kind", typ: "string"}, {name: "n", typ: "int32", optional: true}}}
	adm := testkit.KafkaAdmin(t, brokers)
	if res, err := adm.CreateTopic(ctx, 1, 1, nil, tb.topic); err != nil || res.Err != nil {
		t.Fatalf("create topic: %v %v", err, res.Err)
	}
	var n int
	for _, recs := range sessions(tb) {
		produce(t, brokers, recs)
		n += len(recs)
	}
	sink, wait := runKafka(ctx, t, kafkasrc.Config{Client: ikafka.ClientConfig{Brokers: brokers}, Topics: regexp.QuoteMeta(tb.topic), Group: "g-" + db, TopicRefresh: time.Second},
		Config{Addr: []string{addr}, Database: db, BatchRows: 2, FlushInterval: 100 * time.Millisecond})
	waitFor(t, "offsets committed", func() bool { return committedAll(t, brokers, "g-"+db, tb.topic) })
	cancel()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
	if st := sink.Stats(); st.Records != uint64(n) || st.Parked != 0 {
		t.Fatalf("stats %+v, want %d records", st, n)
	}
	optimize(t, conn, db, "events")
	return strings.Join(query(t, conn, "SELECT concat(kind, ' ', toString(n)) FROM "+db+".events ORDER BY kind, n"), "|")
}

// TestKafkaKeylessSnapshotResumed: an upstream sluice stopped in the snapshot of a table
// without a key after two of its rows (one of two identical ones); restarted (a new producer
// session), it reads the table again from its start, at other positions (PostgreSQL: each
// chunk at its window's LSN, a streamed change between them). `sluice clickhouse` must end
// with each row once and both twins: before, the first session's reads stayed beside the
// second's (8 rows, not 6).
func TestKafkaKeylessSnapshotResumed(t *testing.T) {
	got := keylessEvents(t, "ks", func(tb ttable) [][]envelope.Record {
		keyless := func(op, kind string, n int, lsn int64, marker string) envelope.Record {
			r := tb.record(op, nil, row{"kind", kind, "n", n}, lsn, true)
			r.Key = nil // Debezium sends no key for a table without a primary key
			r.Value = []byte(strings.Replace(string(r.Value), `"snapshot":"false"`, `"snapshot":"`+marker+`"`, 1))
			return r
		}
		return [][]envelope.Record{
			{keyless("r", "a", 1, 700, "first"), keyless("r", "z", 9, 700, "true")}, // then killed
			{
				keyless("r", "a", 1, 900, "first_in_data_collection"), keyless("r", "z", 9, 900, "true"), keyless("r", "b", 2, 900, "true"),
				keyless("c", "s", 5, 950, "false"),
				keyless("r", "z", 9, 1000, "true"), keyless("r", "c", 3, 1000, "last"),
			},
		}
	})
	if want := "a 1|b 2|c 3|s 5|z 9|z 9"; got != want {
		t.Fatalf("rows (the view) %q, want %q", got, want)
	}
}
