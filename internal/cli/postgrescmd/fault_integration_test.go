//go:build integration

package postgrescmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sluicecdc/sluice/internal/cli"
	"github.com/sluicecdc/sluice/internal/cli/clickhousecmd"
	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/internal/testkit"
	"github.com/sluicecdc/sluice/sink/stdout"
)

// lines is a goroutine-safe buffer of the records the test sink wrote.
type lines struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	parsed int           // bytes of buf already counted in seen
	seen   map[int64]int // how often each row id of table w appeared
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// ids returns how often each row id appeared in a record of table w (records without schemas,
// --schemas-enable=false). It parses only what was written since the last call.
func (l *lines) ids() map[int64]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[int64]int{}
	}
	data := l.buf.Bytes()[l.parsed:]
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		line := data[:i]
		data = data[i+1:]
		l.parsed += i + 1
		var r struct {
			Value *struct {
				After map[string]any `json:"after"`
			} `json:"value"`
		}
		if json.Unmarshal(line, &r) != nil || r.Value == nil || r.Value.After == nil {
			continue
		}
		if id, ok := r.Value.After["id"].(float64); ok {
			l.seen[int64(id)]++
		}
	}
	return maps.Clone(l.seen)
}

// memSink is a --sink choice writing JSON lines to out.
func memSink(out *lines) cli.SinkKind {
	return cli.SinkKind{Name: "mem", New: func(*cli.Capture) cli.Sink { return memSinkImpl{out} }}
}

type memSinkImpl struct{ out *lines }

func (m memSinkImpl) Open(_ context.Context, d pipeline.Durable) (pipeline.Sink, error) {
	return stdout.New(stdout.Config{Writer: m.out}, d), nil
}
func (memSinkImpl) Buffered() int64 { return 0 }
func (memSinkImpl) Validate() error { return nil }

// writer inserts rows 1, 2, 3, … one transaction each into w, straight to the server (not
// through the proxy), riding out the server's restarts, until stop is closed.
func writer(t *testing.T, dsn string, stop <-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx := context.Background()
		var conn *pgx.Conn
		for id := 1; ; {
			select {
			case <-stop:
				if conn != nil {
					conn.Close(ctx)
				}
				return
			default:
			}
			if conn == nil {
				c, err := pgx.Connect(ctx, dsn)
				if err != nil {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				conn = c
			}
			// ON CONFLICT: an insert whose commit reply was lost in a crash may have committed.
			if _, err := conn.Exec(ctx, "INSERT INTO w VALUES ($1, 'v') ON CONFLICT DO NOTHING", id); err != nil {
				conn.Close(ctx)
				conn = nil
				continue
			}
			id++
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return done
}

// TestReopenAfterOutage runs `sluice postgres` against a private PostgreSQL while rows are
// written, and takes the database away three ways: the link cut (through a proxy), a fast
// restart (pg_ctl -m fast) and a crash (pg_ctl -m immediate). Every committed row must arrive.
// Before, the connect error after the lost stream was not retryable and the command exited.
func TestReopenAfterOutage(t *testing.T) {
	pg := testkit.StartPG(t, testkit.PGOptions{})
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.DSN("", "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE w (id int PRIMARY KEY, v text)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	proxy := testkit.StartProxy(t, pg.Addr)
	out := new(lines)
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() {
		runErr <- run(rctx, "sluice postgres", []string{"--dsn", pg.DSN(proxy.Addr(), "postgres"), "--topic-prefix", "t", "--sink", "mem", "--schemas-enable=false",
			"--offsets-file", filepath.Join(t.TempDir(), "offsets.json"), "--offsets-flush-interval", "100ms",
			"--status-interval", "200ms", "--read-timeout", "3s", "--retriable-restart-wait", "500ms", "--errors-retry-timeout", "2m",
			"--log-level", "warn"}, []cli.SinkKind{memSink(out)})
	}()
	stop := make(chan struct{})
	done := writer(t, pg.DSN("", "postgres"), stop)

	t0 := time.Now()
	// progress waits until the sink has more distinct rows than now, or fails.
	progress := func(what string) {
		t.Helper()
		n := len(out.ids())
		deadline := time.Now().Add(90 * time.Second)
		for len(out.ids()) < n+50 {
			select {
			case err := <-runErr:
				t.Fatalf("%s: sluice postgres exited: %v", what, err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: no progress in 90 s (%d rows)", what, n)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("%s: %d rows so far (%v)", what, len(out.ids()), time.Since(t0).Round(time.Millisecond))
	}
	progress("start")
	proxy.Cut()
	time.Sleep(2 * time.Second)
	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	progress("after the link cut")
	proxy.Stall() // longer than --read-timeout: the stream and the reconnects time out
	time.Sleep(5 * time.Second)
	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	progress("after the link stalled")
	pg.Ctl("restart", "-m", "fast")
	progress("after pg_ctl restart -m fast")
	pg.Ctl("stop", "-m", "immediate")
	time.Sleep(time.Second)
	pg.Ctl("start")
	progress("after pg_ctl stop -m immediate, start")
	close(stop)
	<-done

	conn, err = pgx.Connect(ctx, pg.DSN("", "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var want []int64
	rows, _ := conn.Query(ctx, "SELECT id FROM w ORDER BY id")
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		want = append(want, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	var missing []int64
	for {
		seen := out.ids()
		missing = missing[:0]
		for _, id := range want {
			if seen[id] == 0 {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			dups := 0
			for _, n := range seen {
				dups += n - 1
			}
			t.Logf("%d rows committed, %d delivered, %d duplicates (at-least-once) (%v)", len(want), len(seen), dups, time.Since(t0).Round(time.Millisecond))
			break
		}
		select {
		case err := <-runErr:
			t.Fatalf("sluice postgres exited: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%d committed rows never arrived, first %v", len(missing), missing[:min(10, len(missing))])
	}
	cancel()
	if err := <-runErr; err != nil {
		t.Errorf("run after cancel: %v", err)
	}
}

// TestNoSlotBeforeSinkAndOffsets: with Kafka or ClickHouse unreachable or the offsets file not writable,
// `sluice postgres` creates no slot and takes no snapshot. Before, it created the slot, ran
// the snapshot, failed at the sink, and on every retry dropped and re-created the slot.
func TestNoSlotBeforeSinkAndOffsets(t *testing.T) {
	pg := testkit.StartPG(t, testkit.PGOptions{})
	ctx := context.Background()
	conn := pg.Connect("postgres")
	if _, err := conn.Exec(ctx, "CREATE TABLE w (id int PRIMARY KEY, v text); INSERT INTO w VALUES (1, 'v')"); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	common := []string{"--dsn", pg.DSN("", "postgres"), "--topic-prefix", "t", "--retriable-restart-wait", "500ms"}
	cases := []struct {
		name, want string
		retry      bool
		args       []string
	}{
		{"kafka unreachable", "kafka", true, []string{"--sink", "kafka", "--kafka-brokers", closed,
			"--offsets-file", filepath.Join(t.TempDir(), "o.json"), "--errors-retry-timeout", "3s"}},
		// Before, the source opened (slot, snapshot) and the sink retried its connect for ever.
		{"clickhouse unreachable", "clickhouse: connect to " + closed, true, []string{"--sink", "clickhouse", "--clickhouse-addr", closed,
			"--offsets-file", filepath.Join(t.TempDir(), "o.json"), "--errors-retry-timeout", "3s"}},
		{"offsets not writable", "offsets file", false, []string{"--sink", "stdout",
			"--offsets-file", filepath.Join(t.TempDir(), "missing-dir", "o.json")}},
	}
	slots := func() (n int) {
		conn.QueryRow(ctx, "SELECT count(*) FROM pg_replication_slots").Scan(&n)
		return n
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			start := time.Now()
			err := run(rctx, "sluice postgres", append(append([]string{}, common...), c.args...), append(sinks, clickhousecmd.Sink))
			t.Logf("after %v: %v", time.Since(start).Round(time.Millisecond), err)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one about %s", err, c.want)
			}
			if c.retry && !strings.Contains(err.Error(), "giving up") {
				t.Errorf("error %v, want it retried until --errors-retry-timeout", err)
			}
			if n := slots(); n != 0 {
				t.Errorf("%d replication slots were created", n)
			}
		})
	}

	// The broker comes back while sluice waits: it goes on, with one slot and one snapshot.
	t.Run("kafka comes back", func(t *testing.T) {
		port := ln.Addr().(*net.TCPAddr).Port
		rctx, cancel := context.WithCancel(ctx)
		defer cancel()
		runErr := make(chan error, 1)
		go func() {
			runErr <- run(rctx, "sluice postgres", append(append([]string{}, common...), "--sink", "kafka", "--kafka-brokers", closed,
				"--offsets-file", filepath.Join(t.TempDir(), "o.json"), "--errors-retry-timeout", "1m"), sinks)
		}()
		time.Sleep(2 * time.Second)
		if n := slots(); n != 0 {
			t.Fatalf("%d replication slots while Kafka is down", n)
		}
		kf, err := kfake.NewCluster(kfake.Ports(port), kfake.NumBrokers(1))
		if err != nil {
			t.Fatal(err)
		}
		defer kf.Close()
		for deadline := time.Now().Add(30 * time.Second); slots() == 0; time.Sleep(100 * time.Millisecond) {
			select {
			case err := <-runErr:
				t.Fatalf("sluice postgres exited: %v", err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatal("no slot 30 s after Kafka came back")
			}
		}
		cancel()
		if err := <-runErr; err != nil {
			t.Errorf("run: %v", err)
		}
	})
}

// TestSnapshotLinkCut cuts the link in the middle of the initial snapshot. The stored offset
// says the snapshot did not finish, so the snapshot starts again on a re-created slot, and
// every row arrives. Before, the broken snapshot read was not retryable and the command
// exited.
func TestSnapshotLinkCut(t *testing.T) {
	pg := testkit.StartPG(t, testkit.PGOptions{})
	ctx := context.Background()
	conn := pg.Connect("postgres")
	const rows = 20_000
	for _, c := range []struct{ name, flush string }{{"offset saved", "100ms"}} {
		t.Run(c.name, func(t *testing.T) {
			table := "s" + strings.ReplaceAll(c.name, " ", "_")
			if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE TABLE %s (id int PRIMARY KEY, v text); INSERT INTO %[1]s SELECT g, 'v' FROM generate_series(1, %d) g", table, rows)); err != nil {
				t.Fatal(err)
			}
			proxy := testkit.StartProxy(t, pg.Addr)
			out := new(lines)
			rctx, cancel := context.WithCancel(ctx)
			defer cancel()
			runErr := make(chan error, 1)
			go func() {
				runErr <- run(rctx, "sluice postgres", []string{"--dsn", pg.DSN(proxy.Addr(), "postgres"), "--topic-prefix", "t", "--sink", "mem", "--schemas-enable=false",
					"--slot", table, "--publication", table, "--publication-mode", "filtered", "--table-include", "public." + table,
					"--snapshot-workers", "1", "--snapshot-chunk-rows", "500",
					"--offsets-file", filepath.Join(t.TempDir(), "offsets.json"), "--offsets-flush-interval", c.flush,
					"--retriable-restart-wait", "500ms", "--errors-retry-timeout", "1m", "--log-level", "warn"}, []cli.SinkKind{memSink(out)})
			}()
			wait := func(what string, n int) {
				t.Helper()
				for deadline := time.Now().Add(90 * time.Second); len(out.ids()) < n; time.Sleep(20 * time.Millisecond) {
					select {
					case err := <-runErr:
						t.Fatalf("%s: sluice postgres exited: %v", what, err)
					default:
					}
					if time.Now().After(deadline) {
						t.Fatalf("%s: %d of %d rows after 90 s", what, len(out.ids()), n)
					}
				}
			}
			wait("snapshot start", 500)
			proxy.Cut()
			time.Sleep(time.Second)
			if err := proxy.Restore(); err != nil {
				t.Fatal(err)
			}
			wait("after the cut", rows)
			seen := out.ids()
			dups := 0
			for _, n := range seen {
				dups += n - 1
			}
			t.Logf("%d rows, %d delivered twice (the snapshot ran again)", len(seen), dups)
			cancel()
			if err := <-runErr; err != nil {
				t.Errorf("run: %v", err)
			}
		})
	}
}
