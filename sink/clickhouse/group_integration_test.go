//go:build integration

package clickhouse

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5"

	"github.com/sluicecdc/sluice/capture/postgres"
	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/internal/testkit"
	"github.com/sluicecdc/sluice/sink/kafka"
)

// groupTable is one table of the consumer-group test: how to create it in both databases and
// how to read its rows in the same text form from each.
type groupTable struct {
	name  string
	pgDDL string
	chDDL string // columns only; the sink's layout is added around them
	pgSel string // SELECT list over PostgreSQL, the key first
	chSel string // the same values from ClickHouse
}

var groupTables = []groupTable{
	{name: "orders",
		pgDDL: "CREATE TABLE orders (id int PRIMARY KEY, customer int NOT NULL, amount numeric(10,2) NOT NULL, status text NOT NULL, note text)",
		chDDL: "id Int32, customer Int32, amount Decimal(10, 2), status String, note Nullable(String)",
		pgSel: "id::text, customer::text, amount::text, status, coalesce(md5(note), 'NULL')",
		chSel: "toString(id), toString(customer), toString(amount), status, ifNull(lower(hex(MD5(note))), 'NULL')"},
	{name: "customers",
		pgDDL: "CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, tier int)",
		chDDL: "id Int64, name String, tier Nullable(Int32)",
		pgSel: "id::text, name, coalesce(tier::text, 'NULL')",
		chSel: "toString(id), name, ifNull(toString(tier), 'NULL')"},
	// append-only: any lost record is a missing row
	{name: "events",
		pgDDL: "CREATE TABLE events (id bigserial PRIMARY KEY, order_id int NOT NULL, kind text NOT NULL)",
		chDDL: "id Int64, order_id Int32, kind String",
		pgSel: "id::text, order_id::text, kind",
		chSel: "toString(id), toString(order_id), kind"},
}

var (
	sluiceBinOnce sync.Once
	sluiceBinPath string
	sluiceBinErr  error
)

// TestMain removes sluiceBin's build (54 MB) when the tests end: each run left one in /tmp.
func TestMain(m *testing.M) {
	code := m.Run()
	if sluiceBinPath != "" {
		os.RemoveAll(filepath.Dir(sluiceBinPath))
	}
	os.Exit(code)
}

// sluiceBin builds cmd/sluice once per test binary run: the processes are run as a user runs them.
func sluiceBin(t *testing.T) string {
	t.Helper()
	sluiceBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sluice-bin-")
		if err != nil {
			sluiceBinErr = err
			return
		}
		sluiceBinPath = filepath.Join(dir, "sluice")
		if out, err := exec.Command("go", "build", "-o", sluiceBinPath, "../../cmd/sluice").CombinedOutput(); err != nil {
			sluiceBinErr = fmt.Errorf("build cmd/sluice: %v\n%s", err, out)
		}
	})
	if sluiceBinErr != nil {
		t.Fatal(sluiceBinErr)
	}
	return sluiceBinPath
}

// groupProc is one `sluice clickhouse` process of the group.
type groupProc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan error
}

// logHas reports whether the process's log has a line containing every one of parts.
func (p *groupProc) logHas(parts ...string) bool {
	f, err := os.Open(p.log)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
next:
	for sc.Scan() {
		for _, s := range parts {
			if !strings.Contains(sc.Text(), s) {
				continue next
			}
		}
		return true
	}
	return false
}

// tail returns the last lines of the process's log, without the periodic progress lines.
// assignment returns the generation and the partitions of the process's newest non-empty
// assignment ("" before the first).
func (p *groupProc) assignment() (gen string, claims map[string][]int32) {
	b, _ := os.ReadFile(p.log)
	for _, l := range strings.Split(string(b), "\n") {
		_, after, ok := strings.Cut(l, `msg="kafka partitions assigned"`)
		if !ok {
			continue
		}
		_, m, _ := strings.Cut(after, `claims="map[`)
		m, _, _ = strings.Cut(m, `]"`)
		_, g, _ := strings.Cut(after, "generation=")
		cl := map[string][]int32{}
		for _, tp := range strings.SplitAfter(m, "] ") { // topic:[0 1] topic:[2 3]
			topic, ids, ok := strings.Cut(strings.TrimSuffix(strings.TrimSpace(tp), "]"), ":[")
			if !ok {
				continue
			}
			for _, id := range strings.Fields(ids) {
				n, _ := strconv.Atoi(id)
				cl[topic] = append(cl[topic], int32(n))
			}
		}
		if len(cl) > 0 {
			gen, claims = strings.TrimSpace(g), cl
		}
	}
	return gen, claims
}

// committedSum adds up the group's committed offsets of the partitions (none counts 0).
func committedSum(t *testing.T, brokers []string, group string, parts map[string][]int32) int64 {
	t.Helper()
	adm := testkit.KafkaAdmin(t, brokers)
	var sum int64
	for tp, ids := range parts {
		res, err := testkit.KafkaGroupOffsets(adm, group, tp)
		if err != nil {
			return 0
		}
		for _, id := range ids {
			if o := res[id]; o > 0 {
				sum += o
			}
		}
	}
	return sum
}

func (p *groupProc) tail() string {
	b, _ := os.ReadFile(p.log)
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if !strings.Contains(l, "msg=\"kafka lag\"") && !strings.Contains(l, "msg=\"clickhouse progress\"") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines[max(0, len(lines)-40):], "\n")
}

// TestClickHouseGroupScaleOut: a real PostgreSQL capture writes three tables into 6-partition
// topics while `sluice clickhouse` processes (the binary) share them in one consumer group:
// three start, one is killed with SIGKILL mid-stream, one more joins mid-stream, writes go on
// throughout. Once drained, every ClickHouse table (FINAL, not deleted) equals PostgreSQL, the
// group's committed offsets reach every partition's end, and for every key the versions were
// inserted in commit order (a replay may repeat a row, never bring back an older one); the
// duplicates the kill cost are reported.
//
// What it catches: offsets committed before the insert (the killed process's uncommitted rows
// are lost: missing events, orders without their TOASTed note), a partition left without an
// owner or stuck after a rebalance (never drained), and a key's changes applied out of order
// (seen in the insertion order of ClickHouse's parts, whose merges the test stops, and in
// unchanged TOAST values carried from an earlier version that was not there yet).
func TestClickHouseGroupScaleOut(t *testing.T) {
	addr := chAddr(t)
	cconn := chConn(t, addr)
	db := freshDB(t, cconn)
	dsn, pg := pgDB(t, dbChGroup)
	brokers := strings.Split(os.Getenv("SLUICE_TEST_KAFKA_BROKERS"), ",")
	if brokers[0] == "" {
		brokers = kafkaBrokers(t) // in-process kfake: same protocol, fewer quirks of a shared broker
	}
	bin := sluiceBin(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Unique per run: the shared broker keeps topics and groups across runs.
	prefix := "chg" + strconv.FormatInt(time.Now().UnixNano()%(1<<40), 36)
	group := "g-" + prefix
	var topics []string
	for _, tb := range groupTables {
		pgExec(t, pg, tb.pgDDL)
		topics = append(topics, prefix+".public."+tb.name)
	}
	defer deleteTopics(t, brokers, topics)
	// The sink's own layout, created beforehand so that background merges can be stopped:
	// unmerged parts keep the order in which each key's versions were inserted.
	engine := "ReplacingMergeTree(_version) ORDER BY id"
	var major int
	fmt.Sscan(strings.Split(query(t, cconn, "SELECT version()")[0], ".")[0], &major)
	if major > 23 || major == 23 && !strings.HasPrefix(query(t, cconn, "SELECT version()")[0], "23.1.") {
		engine = "ReplacingMergeTree(_version, _is_deleted) ORDER BY id SETTINGS non_replicated_deduplication_window = 1000"
	}
	execCH(t, cconn, "CREATE DATABASE "+db)
	for _, tb := range groupTables {
		execCH(t, cconn, "CREATE TABLE "+db+"."+tb.name+" ("+tb.chDDL+", _version UInt64, _is_deleted UInt8) ENGINE = "+engine)
		execCH(t, cconn, "SYSTEM STOP MERGES "+db+"."+tb.name)
	}

	w := newGroupWriter(pg)
	w.seed(t)

	// The capture: PostgreSQL → envelope → Kafka, 6 partitions per table, keys spread by murmur2.
	src, err := postgres.Open(ctx, postgres.Config{DSN: dsn, Slot: dbChGroup, Publication: dbChGroup})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := envelope.NewEncoder(envelope.Config{TopicPrefix: prefix, SchemasEnable: true, TombstonesOnDelete: true})
	if err != nil {
		t.Fatal(err)
	}
	captured := make(chan error, 1)
	go func() {
		captured <- pipeline.Run(ctx, pipeline.Config{Source: src, Encoder: enc, FlushInterval: 100 * time.Millisecond, Logger: testLogger(t),
			NewSink: func(d pipeline.Durable) (pipeline.Sink, error) {
				return kafka.New(kafka.Config{Client: ikafka.ClientConfig{Brokers: brokers}, Partitions: 6, Replication: 1, Logger: testLogger(t)}, d)
			}})
	}()
	waitFor(t, "the snapshot's topics", func() bool {
		select {
		case err := <-captured:
			t.Fatalf("capture: %v", err)
		default:
		}
		return topicsExist(t, brokers, topics)
	})

	logDir := t.TempDir()
	var procs []*groupProc
	start := func(name string) *groupProc {
		p := &groupProc{name: name, log: filepath.Join(logDir, name+".log"), done: make(chan error, 1)}
		p.cmd = exec.Command(bin, "clickhouse", "--topics", regexpQuote(prefix)+`\.public\..*`, "--group", group,
			"--topic-refresh", "1s", "--batch-rows", "500", "--flush-interval", "200ms", "--log-format", "text")
		p.cmd.Env = append(os.Environ(), "SLUICE_KAFKA_BROKERS="+strings.Join(brokers, ","),
			"SLUICE_CLICKHOUSE_ADDR="+addr, "SLUICE_CLICKHOUSE_DATABASE="+db)
		f, err := os.Create(p.log)
		if err != nil {
			t.Fatal(err)
		}
		p.cmd.Stdout, p.cmd.Stderr = f, f
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { p.done <- p.cmd.Wait(); f.Close() }()
		procs = append(procs, p)
		return p
	}
	defer func() {
		for _, p := range procs {
			if p.cmd.ProcessState == nil {
				_ = p.cmd.Process.Kill()
			}
		}
		if t.Failed() {
			for _, p := range procs {
				t.Logf("--- %s log (without progress lines):\n%s", p.name, p.tail())
			}
		}
	}()
	assigned := func(p *groupProc) bool { g, _ := p.assignment(); return g != "" }

	p1, p2, p3 := start("p1"), start("p2"), start("p3")
	writing := make(chan error, 1)
	stopWrites := make(chan struct{})
	go func() { writing <- w.run(stopWrites) }()

	waitFor(t, "all three processes own partitions in one generation", func() bool {
		g1, _ := p1.assignment()
		g2, _ := p2.assignment()
		g3, _ := p3.assignment()
		return g1 != "" && g1 == g2 && g2 == g3
	})
	// Kill p2 once it inserted and committed on its partitions, while it streams: it has
	// batches pending and in flight, and inserted rows its last commit does not cover.
	_, claims := p2.assignment()
	start2 := committedSum(t, brokers, group, claims)
	waitFor(t, "p2 to commit progress", func() bool { return committedSum(t, brokers, group, claims) > start2 })
	time.Sleep(time.Second + 300*time.Millisecond)
	if err := p2.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p2.done
	killed := time.Now()
	t.Logf("p2 killed after %d transactions", w.txs())
	time.Sleep(time.Second)
	p4 := start("p4")
	added := time.Now()
	waitFor(t, "the added process owns partitions", func() bool { return assigned(p4) })
	time.Sleep(2 * time.Second)
	close(stopWrites)
	if err := <-writing; err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	t.Logf("writes stopped after %d transactions", w.txs())

	// Drained: the ClickHouse tables equal PostgreSQL and the group committed every partition's end.
	var diff string
	committed := false
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		diff = groupDiff(t, pg, cconn, db)
		committed = committedAll(t, brokers, group, topics...)
		if diff == "" && committed {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("not drained after the writes stopped: offsets committed to the end: %v; %s", committed, diff)
			checkInsertOrder(t, cconn, db) // says whether a key's changes were also applied out of order
			return
		}
	}
	t.Logf("drained %s after the writes stopped", time.Since(stopped).Round(100*time.Millisecond))
	for _, p := range procs {
		if p == p2 {
			continue
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		if err := <-p.done; err != nil {
			t.Errorf("%s: %v", p.name, err)
		}
	}
	cancel()
	if err := <-captured; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if diff = groupDiff(t, pg, cconn, db); diff != "" {
		t.Fatal(diff)
	}
	if n := query(t, cconn, "SELECT toString(count()) FROM system.tables WHERE database = '"+db+"' AND name = '_sluice_parked'"); n[0] != "0" {
		if got := query(t, cconn, "SELECT table, reason FROM "+db+"._sluice_parked LIMIT 5"); len(got) > 0 {
			t.Fatalf("records parked: %v", got)
		}
	}
	checkInsertOrder(t, cconn, db)
	t.Logf("p2 killed at %s, p4 started at %s; assignments:\n%s", killed.UTC().Format("15:04:05.000"), added.UTC().Format("15:04:05.000"), assignments(procs))
	for _, p := range []*groupProc{p1, p3, p4} {
		if p.logHas("level=ERROR") {
			t.Errorf("%s logged an error", p.name)
		}
	}
	if !t.Failed() {
		_ = cconn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
	}
}

// assignments lists the processes' partition assignments in time order: what the rebalances cost.
func assignments(procs []*groupProc) string {
	var lines []string
	for _, p := range procs {
		b, _ := os.ReadFile(p.log)
		for _, l := range strings.Split(string(b), "\n") {
			if strings.Contains(l, `msg="kafka partitions assigned"`) {
				ts, _, _ := strings.Cut(strings.TrimPrefix(l, "time="), " ")
				_, gen, _ := strings.Cut(l, "generation=")
				lines = append(lines, fmt.Sprintf("  %s %s generation %s", ts, p.name, gen))
			}
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// groupDiff compares every table of the test, ClickHouse (FINAL, not deleted) against
// PostgreSQL, and describes the first difference ("" when equal).
func groupDiff(t *testing.T, pg *pgx.Conn, cconn driver.Conn, db string) string {
	t.Helper()
	for _, tb := range groupTables {
		want := pgRows(t, pg, "SELECT "+tb.pgSel+" FROM "+tb.name+" ORDER BY "+tb.name+".id") // not the text column id
		got := tryQuery(cconn, "SELECT "+tb.chSel+" FROM "+db+"."+tb.name+" FINAL WHERE _is_deleted = 0 ORDER BY id")
		if strings.Join(got, "\n") == strings.Join(want, "\n") {
			continue
		}
		g, w := map[string]bool{}, map[string]bool{}
		for _, r := range got {
			g[r] = true
		}
		for _, r := range want {
			w[r] = true
		}
		var missing, extra []string
		for _, r := range want {
			if !g[r] {
				missing = append(missing, r)
			}
		}
		for _, r := range got {
			if !w[r] {
				extra = append(extra, r)
			}
		}
		first := 0
		for first < min(len(got), len(want)) && got[first] == want[first] {
			first++
		}
		at := func(rows []string) string {
			if first < len(rows) {
				return rows[first]
			}
			return "(end)"
		}
		return fmt.Sprintf("%s: ClickHouse has %d rows, PostgreSQL %d; %d PostgreSQL rows missing or different, e.g. %q; %d ClickHouse rows not in PostgreSQL, e.g. %q; first difference at row %d: ClickHouse %q, PostgreSQL %q",
			tb.name, len(got), len(want), len(missing), missing[:min(3, len(missing))], len(extra), extra[:min(3, len(extra))], first, at(got), at(want))
	}
	return ""
}

// checkInsertOrder fails the test for every table where a key's versions were not inserted
// in order, and reports the duplicates.
func checkInsertOrder(t *testing.T, cconn driver.Conn, db string) {
	t.Helper()
	for _, tb := range groupTables {
		rows, dups, bad := insertOrder(t, cconn, db, tb)
		t.Logf("%s: %d rows inserted, %d duplicates (replayed after the kill or a rebalance)", tb.name, rows, dups)
		if len(bad) > 0 {
			t.Errorf("%s: %d keys got an older version inserted after a newer one, e.g. %s", tb.name, len(bad), strings.Join(bad[:min(5, len(bad))], "; "))
		}
	}
}

// insertOrder reads every row version of a table (merges stopped, so each INSERT is still its
// own part, numbered in insertion order) and checks that each key's versions were inserted in
// increasing order. A row equal to one inserted before (same key, version and values) is a
// duplicate from a replay and is only counted.
func insertOrder(t *testing.T, cconn driver.Conn, db string, tb groupTable) (rows, dups int, bad []string) {
	t.Helper()
	if merged := query(t, cconn, "SELECT toString(count()) FROM system.parts WHERE active AND level > 0 AND database = '"+db+"' AND table = '"+tb.name+"'"); merged[0] != "0" {
		t.Fatalf("%s: %s merged parts; merges should be stopped", tb.name, merged[0])
	}
	type ver struct {
		block   int64
		version uint64
		image   string
	}
	byKey := map[string][]ver{}
	for _, r := range query(t, cconn, "SELECT _part, toString(_version), toString(_is_deleted), "+tb.chSel+" FROM "+db+"."+tb.name) {
		f := strings.SplitN(r, "\t", 5)
		p := strings.Split(f[0], "_") // all_<min block>_<max block>_<level>
		block, err1 := strconv.ParseInt(p[1], 10, 64)
		v, err2 := strconv.ParseUint(f[1], 10, 64)
		if len(p) != 4 || err1 != nil || err2 != nil {
			t.Fatalf("%s: cannot read part %q / version %q", tb.name, f[0], f[1])
		}
		key, _, _ := strings.Cut(f[3], "\t")
		byKey[key] = append(byKey[key], ver{block, v, f[1] + "\t" + f[2] + "\t" + f[3] + "\t" + f[4]})
		rows++
	}
	for key, vs := range byKey {
		sort.SliceStable(vs, func(i, j int) bool { return vs[i].block < vs[j].block })
		seen := map[string]bool{}
		var newest uint64 // the highest version inserted by an earlier INSERT
		for i := 0; i < len(vs); {
			j := i
			for j < len(vs) && vs[j].block == vs[i].block {
				j++
			}
			for _, v := range vs[i:j] {
				switch {
				case seen[v.image]:
					dups++
				case v.version < newest:
					bad = append(bad, fmt.Sprintf("key %s: version %d inserted after %d", key, v.version, newest))
				}
			}
			for _, v := range vs[i:j] {
				seen[v.image] = true
				newest = max(newest, v.version)
			}
			i = j
		}
	}
	sort.Strings(bad)
	return rows, dups, bad
}

func regexpQuote(s string) string { return strings.ReplaceAll(s, ".", `\.`) }

func topicsExist(t *testing.T, brokers []string, topics []string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	td, err := testkit.KafkaAdmin(t, brokers).ListTopics(ctx, topics...)
	if err != nil {
		return false
	}
	for _, tp := range topics {
		if !td.Has(tp) || td[tp].Err != nil {
			return false
		}
	}
	return true
}

// deleteTopics removes the test's topics from the (shared) broker.
func deleteTopics(t *testing.T, brokers []string, topics []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := testkit.KafkaAdmin(t, brokers).DeleteTopics(ctx, topics...); err != nil {
		t.Logf("delete topics: %v", err)
	}
}

// groupWriter writes to the three tables in short transactions until told to stop: new
// orders (a third with a note long enough to be TOASTed), updates that leave the note
// unchanged (so the sink must carry it from the key's previous version), deletes, customer
// updates and primary-key changes, and an event row for most order changes.
type groupWriter struct {
	pg        *pgx.Conn
	rnd       *rand.Rand
	orders    []int // live order ids
	customers []int64
	nextOrder int
	nextCust  int64
	mu        sync.Mutex
	n         int
}

func newGroupWriter(pg *pgx.Conn) *groupWriter {
	return &groupWriter{pg: pg, rnd: rand.New(rand.NewPCG(14, 3)), nextOrder: 1, nextCust: 1}
}

func (w *groupWriter) txs() int { w.mu.Lock(); defer w.mu.Unlock(); return w.n }

func (w *groupWriter) note(id int) string {
	if id%3 == 0 {
		return fmt.Sprintf("'%s'", strings.Repeat(fmt.Sprintf("toasted note of order %d. ", id), 120))
	}
	return "NULL"
}

// seed writes the rows the snapshot reads.
func (w *groupWriter) seed(t *testing.T) {
	pgExec(t, w.pg, "ALTER TABLE orders ALTER COLUMN note SET STORAGE EXTERNAL")
	var sb strings.Builder
	for i := 0; i < 200; i++ {
		w.customers = append(w.customers, w.nextCust)
		fmt.Fprintf(&sb, "INSERT INTO customers VALUES (%d, 'c%d', %d);", w.nextCust, w.nextCust, i%4)
		w.nextCust++
	}
	for i := 0; i < 600; i++ {
		id := w.nextOrder
		w.nextOrder++
		w.orders = append(w.orders, id)
		fmt.Fprintf(&sb, "INSERT INTO orders VALUES (%d, %d, %d.%02d, 'new', %s);", id, w.rnd.IntN(200)+1, id, id%100, w.note(id))
		fmt.Fprintf(&sb, "INSERT INTO events (order_id, kind) VALUES (%d, 'created');", id)
	}
	pgExec(t, w.pg, "BEGIN; "+sb.String()+" COMMIT")
}

// run writes transactions of one to four statements, about 300 a second, until stop is closed.
func (w *groupWriter) run(stop <-chan struct{}) error {
	ctx := context.Background()
	statuses := []string{"paid", "packed", "shipped", "returned"}
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		var sb strings.Builder
		sb.WriteString("BEGIN;")
		for k := w.rnd.IntN(4) + 1; k > 0; k-- {
			switch r := w.rnd.IntN(100); {
			case r < 25 || len(w.orders) < 10:
				id := w.nextOrder
				w.nextOrder++
				w.orders = append(w.orders, id)
				fmt.Fprintf(&sb, "INSERT INTO orders VALUES (%d, %d, %d.%02d, 'new', %s);", id, w.customers[w.rnd.IntN(len(w.customers))], id%1000, id%100, w.note(id))
				fmt.Fprintf(&sb, "INSERT INTO events (order_id, kind) VALUES (%d, 'created');", id)
			case r < 65: // the note is left as it is: TOASTed, unchanged
				id := w.orders[w.rnd.IntN(len(w.orders))]
				st := statuses[w.rnd.IntN(len(statuses))]
				fmt.Fprintf(&sb, "UPDATE orders SET status = '%s', amount = amount + 1 WHERE id = %d;", st, id)
				fmt.Fprintf(&sb, "INSERT INTO events (order_id, kind) VALUES (%d, '%s');", id, st)
			case r < 70:
				id := w.orders[w.rnd.IntN(len(w.orders))]
				fmt.Fprintf(&sb, "UPDATE orders SET note = %s WHERE id = %d;", fmt.Sprintf("'changed %d %d'", id, w.rnd.IntN(1000)), id)
			case r < 78:
				i := w.rnd.IntN(len(w.orders))
				id := w.orders[i]
				w.orders = append(w.orders[:i], w.orders[i+1:]...)
				fmt.Fprintf(&sb, "DELETE FROM orders WHERE id = %d;", id)
				fmt.Fprintf(&sb, "INSERT INTO events (order_id, kind) VALUES (%d, 'deleted');", id)
			case r < 96:
				id := w.customers[w.rnd.IntN(len(w.customers))]
				fmt.Fprintf(&sb, "UPDATE customers SET tier = %d, name = 'c%d-%d' WHERE id = %d;", w.rnd.IntN(5), id, w.rnd.IntN(100), id)
			default: // a primary-key change: delete of the old key, create of the new one
				i := w.rnd.IntN(len(w.customers))
				old := w.customers[i]
				w.customers[i] = w.nextCust + 100000
				w.nextCust++
				fmt.Fprintf(&sb, "UPDATE customers SET id = %d WHERE id = %d;", w.customers[i], old)
			}
		}
		sb.WriteString("COMMIT")
		if _, err := w.pg.Exec(ctx, sb.String()); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		w.mu.Lock()
		w.n++
		w.mu.Unlock()
		time.Sleep(3 * time.Millisecond)
	}
}
