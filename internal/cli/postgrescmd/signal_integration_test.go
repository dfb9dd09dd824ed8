//go:build integration

package postgrescmd

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluicecdc/sluice/internal/cli"
	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/internal/testkit"
	"github.com/sluicecdc/sluice/sink/stdout"
)

// opSink is a --sink "mem" writing JSON lines to out.
func opSink(out *testkit.RecordLines) cli.SinkKind {
	return cli.SinkKind{Name: "mem", New: func(*cli.Capture) cli.Sink { return opSinkImpl{out} }}
}

type opSinkImpl struct{ out *testkit.RecordLines }

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
	pg := testkit.StartPG(t, testkit.PGOptions{})
	ctx := context.Background()
	conn := pg.Connect("postgres")
	const n = 3000
	if _, err := conn.Exec(ctx, "CREATE TABLE w (id int PRIMARY KEY, v int NOT NULL); INSERT INTO w SELECT g, 0 FROM generate_series(1, 3000) g"); err != nil {
		t.Fatal(err)
	}
	sig := testkit.NewKafkaSignals(t, "sig")
	send := sig.Send
	out := &testkit.RecordLines{}
	sink := opSink(out)
	offsets := filepath.Join(t.TempDir(), "o.json")
	args := []string{"--dsn", pg.DSN("", "postgres"), "--topic-prefix", "app", "--sink", "mem", "--offsets-file", offsets,
		"--schemas-enable=false", "--snapshot-mode", "no_data", "--snapshot-chunk-rows", "200", "--offsets-flush-interval", "100ms",
		"--signal-enabled-channels", "source,kafka", "--signal-kafka-topic", "sig", "--signal-kafka-brokers", sig.Broker}
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
	wait := func(what string, ok func(map[int64]*testkit.RowState) bool) map[int64]*testkit.RowState {
		t.Helper()
		return out.Wait(t, "w", what, 60*time.Second, ok)
	}
	reads := testkit.Reads

	stop := start()
	// Another connector's signal on the same topic is not this one's.
	send("other", `{"type": "execute-snapshot", "data": {"data-collections": ["public.w"]}}`)
	send("app", `{"id": "one", "type": "execute-snapshot", "data": {"data-collections": ["public\\.w"], "type": "incremental"}}`)
	upd := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // updates while the chunks are read
		defer wg.Done()
		c, err := pgx.Connect(ctx, pg.DSN("", "postgres"))
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
	wait("the first chunk of the Kafka signal's snapshot", func(st map[int64]*testkit.RowState) bool { return reads(st) > 0 })
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
	st := wait("every row in its last state", func(st map[int64]*testkit.RowState) bool {
		for id, v := range want {
			if st[id] == nil || st[id].V != v || st[id].Deleted {
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
	wait("the signal sent while down", func(st map[int64]*testkit.RowState) bool { return reads(st) >= first+100 })
	time.Sleep(2 * time.Second) // a repeated "one" would read 3000 more
	if got := reads(out.State("w")); got != first+100 {
		t.Errorf("%d reads after the restart, want %d: the signal acted on before the restart was acted on again", got-first, 100)
	}
}
