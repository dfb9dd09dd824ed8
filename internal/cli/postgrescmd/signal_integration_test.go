//go:build integration

package postgrescmd

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/internal/cli"
	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/sink/stdout"
)

// opLines is a goroutine-safe sink buffer that keeps, per row id of table w, the op of every
// record and the last state (v, or deleted).
type opLines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *opLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

type wState struct {
	reads   int
	v       float64
	deleted bool
}

// state parses every record so far.
func (l *opLines) state() map[int64]*wState {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[int64]*wState{}
	for _, line := range bytes.Split(l.buf.Bytes(), []byte("\n")) {
		var r struct {
			Value *struct {
				Op     string         `json:"op"`
				Before map[string]any `json:"before"`
				After  map[string]any `json:"after"`
				Source struct {
					Table string `json:"table"`
				} `json:"source"`
			} `json:"value"`
		}
		if json.Unmarshal(line, &r) != nil || r.Value == nil || r.Value.Source.Table != "w" {
			continue
		}
		row := r.Value.After
		if row == nil {
			row = r.Value.Before
		}
		id, _ := row["id"].(float64)
		st := out[int64(id)]
		if st == nil {
			st = &wState{}
			out[int64(id)] = st
		}
		switch r.Value.Op {
		case "d":
			st.deleted = true
		case "r":
			st.reads++
			fallthrough
		default:
			st.v, _ = row["v"].(float64)
			st.deleted = false
		}
	}
	return out
}

// opSink is a --sink "mem" writing JSON lines to out.
func opSink(out *opLines) cli.SinkKind {
	return cli.SinkKind{Name: "mem", New: func(*cli.Capture) cli.Sink { return opSinkImpl{out} }}
}

type opSinkImpl struct{ out *opLines }

func (m opSinkImpl) Open(_ context.Context, d pipeline.Durable) (pipeline.Sink, error) {
	return stdout.New(stdout.Config{Writer: m.out}, d), nil
}
func (opSinkImpl) Buffered() int64 { return 0 }
func (opSinkImpl) Validate() error { return nil }

// TestKafkaSignalChannelActsOnce: an execute-snapshot signal sent to the Kafka signal topic
// reads table w incrementally while rows are updated, and the events' final state equals the
// table. A signal sent while sluice is down is acted on at its next start, and the one acted
// on before is not acted on again (where to read the topic is stored with the offsets).
func TestKafkaSignalChannelActsOnce(t *testing.T) {
	pg := startPrivatePG(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pg.dsn(pg.addr))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	const n = 3000
	if _, err := conn.Exec(ctx, "CREATE TABLE w (id int PRIMARY KEY, v int NOT NULL); INSERT INTO w SELECT g, 0 FROM generate_series(1, 3000) g"); err != nil {
		t.Fatal(err)
	}
	kf, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "sig"))
	if err != nil {
		t.Fatal(err)
	}
	defer kf.Close()
	prod, err := kgo.NewClient(kgo.SeedBrokers(kf.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	send := func(key, value string) {
		t.Helper()
		if err := prod.ProduceSync(ctx, &kgo.Record{Topic: "sig", Key: []byte(key), Value: []byte(value)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	out := &opLines{}
	sink := opSink(out)
	offsets := filepath.Join(t.TempDir(), "o.json")
	args := []string{"--dsn", pg.dsn(pg.addr), "--topic-prefix", "app", "--sink", "mem", "--offsets-file", offsets,
		"--schemas-enable=false", "--snapshot-mode", "no_data", "--snapshot-chunk-rows", "200", "--offsets-flush-interval", "100ms",
		"--signal-enabled-channels", "source,kafka", "--signal-kafka-topic", "sig", "--signal-kafka-brokers", kf.ListenAddrs()[0]}
	start := func() (stop func()) {
		rctx, cancel := context.WithCancel(ctx)
		runErr := make(chan error, 1)
		go func() { runErr <- run(rctx, "sluice postgres", args, []cli.SinkKind{sink}) }()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			var active bool
			conn.QueryRow(ctx, "SELECT coalesce(bool_or(active), false) FROM pg_replication_slots").Scan(&active)
			if active {
				break
			}
			select {
			case err := <-runErr:
				t.Fatalf("run: %v", err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatal("no active slot after 30 s")
			}
		}
		time.Sleep(500 * time.Millisecond) // the channel attaches after the source opened
		return func() {
			cancel()
			if err := <-runErr; err != nil {
				t.Errorf("run: %v", err)
			}
		}
	}
	wait := func(what string, ok func(map[int64]*wState) bool) map[int64]*wState {
		t.Helper()
		for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			st := out.state()
			if ok(st) {
				return st
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not after 60 s (%d keys seen)", what, len(st))
			}
		}
	}
	reads := func(st map[int64]*wState) (total int) {
		for _, s := range st {
			total += s.reads
		}
		return total
	}

	stop := start()
	// Another connector's signal on the same topic is not this one's.
	send("other", `{"type": "execute-snapshot", "data": {"data-collections": ["public.w"]}}`)
	send("app", `{"id": "one", "type": "execute-snapshot", "data": {"data-collections": ["public\\.w"], "type": "incremental"}}`)
	upd := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // updates while the chunks are read
		defer wg.Done()
		c, err := pgx.Connect(ctx, pg.dsn(pg.addr))
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(ctx)
		for i := 0; ; i++ {
			select {
			case <-upd:
				return
			default:
			}
			c.Exec(ctx, "UPDATE w SET v = v + 1 WHERE id = $1", 1+(i*7919)%n)
		}
	}()
	wait("the first chunk of the Kafka signal's snapshot", func(st map[int64]*wState) bool { return reads(st) > 0 })
	time.Sleep(time.Second)
	close(upd)
	wg.Wait()
	want := map[int64]float64{}
	rows, _ := conn.Query(ctx, "SELECT id, v FROM w")
	for rows.Next() {
		var id, v int64
		rows.Scan(&id, &v)
		want[id] = float64(v)
	}
	rows.Close()
	st := wait("every row in its last state", func(st map[int64]*wState) bool {
		for id, v := range want {
			if st[id] == nil || st[id].v != v || st[id].deleted {
				return false
			}
		}
		return true
	})
	first := reads(st)
	if first > n || first < n/2 {
		t.Errorf("%d reads for %d rows after one signal", first, n)
	}
	stop()

	// Sent while sluice is down: acted on at the next start, and "one" not again.
	send("app", `{"id": "two", "type": "execute-snapshot", "data": {"data-collections": ["public.w"], "additional-conditions": [{"data-collection": "public.w", "filter": "id <= 100"}]}}`)
	stop = start()
	defer stop()
	wait("the signal sent while down", func(st map[int64]*wState) bool { return reads(st) >= first+100 })
	time.Sleep(2 * time.Second) // a repeated "one" would read 3000 more
	if got := reads(out.state()); got != first+100 {
		t.Errorf("%d reads after the restart, want %d: the signal acted on before the restart was acted on again", got-first, 100)
	}
}
