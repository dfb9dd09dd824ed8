package postgres

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/schema"
	"github.com/sluicecdc/sluice/sink/kafka"
)

// BenchmarkStreamKafka is the PostgreSQL → Kafka path in one process, as `sluice postgres
// --sink kafka` runs it, less the replication connection and the broker: transactions of
// 10,000 inserts of an 8-column row (benchTuple) handed to Next in the receive loop's batches
// of 256 messages, the pipeline with the Debezium encoder, and the at-least-once Sink or
// the --exactly-once TxnSink. "serial" hides the source's Ready, so the pipeline sends on the
// stream goroutine, as before the PostgreSQL source had it. Reports cpu-ns/event, the
// process's CPU per event (events: BEGIN, COMMIT and each row): on a shared machine that
// survives the load that makes ns/op noise. With SLUICE_BENCH_KAFKA=host:port (a kfake
// process: scripts/kafka.sh) the broker's CPU is not in it; without, an in-process kfake's is.
func BenchmarkStreamKafka(b *testing.B) {
	for _, mode := range []string{"at-least-once", "exactly-once"} {
		for _, send := range []string{"serial", "sender"} {
			b.Run(mode+"/"+send, func(b *testing.B) { benchStreamKafka(b, mode == "exactly-once", send == "serial") })
		}
	}
}

func benchStreamKafka(b *testing.B, eos, serial bool) {
	brokers := benchBrokers(b)
	prefix := fmt.Sprintf("bench%d", time.Now().UnixNano())
	rel := benchRelation()
	rel.table.Dialect = schema.Postgres
	for i, typ := range []string{"int8", "text", "numeric", "timestamptz", "bool", "jsonb", "int8", "text"} {
		rel.table.Columns[i].Type, rel.table.Columns[i].Length, rel.table.Columns[i].Scale = typ, -1, -1
	}
	rel.table.PrimaryKey = []int{0}
	src := &Source{log: slog.New(slog.DiscardHandler), dbName: "postgres", rels: map[uint32]*relation{1: rel},
		streaming: true, skipped: map[byte]bool{}, msgs: make(chan []wireMsg, 16)}
	tx := benchTx(10000)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // the receive loop: batches of 256 messages, cut at each COMMIT
		for {
			for i := 0; i < len(tx); i += 256 {
				select {
				case src.msgs <- append([]wireMsg(nil), tx[i:min(i+256, len(tx))]...):
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	enc, err := envelope.NewEncoder(envelope.Config{TopicPrefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	var ps pipeline.Source = &benchCounted{Source: src, n: b.N}
	if serial {
		ps = &benchSerial{ps.(*benchCounted)}
	}
	cfg := kafka.Config{Client: ikafka.ClientConfig{Brokers: brokers}}
	newSink := func(d pipeline.Durable) (pipeline.Sink, error) { return kafka.Open(ctx, cfg, d) }
	if eos {
		offsets := prefix + "-offsets"
		benchCreateTopic(b, brokers, offsets)
		newSink = func(d pipeline.Durable) (pipeline.Sink, error) {
			return kafka.OpenTxn(ctx, kafka.TxnConfig{Config: cfg, TransactionalID: prefix, OffsetsTopic: offsets,
				OffsetKey: []byte(`["bench",{"server":"b"}]`)}, d)
		}
	}
	b.ReportAllocs()
	cpu0 := benchProcessCPU()
	if err := pipeline.Run(ctx, pipeline.Config{Source: ps, Encoder: enc, NewSink: newSink}); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if cpu := benchProcessCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/event")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// benchCounted ends the source after n events (at io.EOF the pipeline flushes the sink and
// returns).
type benchCounted struct {
	*Source
	n int
}

func (c *benchCounted) Next(ctx context.Context) (capture.Event, error) {
	if c.n == 0 {
		return capture.Event{}, io.EOF
	}
	c.n--
	return c.Source.Next(ctx)
}

// benchSerial is the source without Ready (and ReuseBuffers, as the source has it).
type benchSerial struct{ c *benchCounted }

func (s *benchSerial) Next(ctx context.Context) (capture.Event, error) { return s.c.Next(ctx) }
func (s *benchSerial) Ack(ctx context.Context, p capture.Position) error {
	return s.c.Ack(ctx, p)
}
func (s *benchSerial) Close() error  { return nil }
func (s *benchSerial) ReuseBuffers() { s.c.ReuseBuffers() }

// benchBrokers is SLUICE_BENCH_KAFKA's broker, or an in-process kfake's.
func benchBrokers(b *testing.B) []string {
	if addr := os.Getenv("SLUICE_BENCH_KAFKA"); addr != "" {
		return strings.Split(addr, ",")
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DataDir(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	return c.ListenAddrs()
}

func benchCreateTopic(b *testing.B, brokers []string, topic string) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(context.Background(), 1, 1, nil, topic); err != nil {
		b.Fatal(err)
	}
}

// benchProcessCPU returns the process's user+system CPU time.
func benchProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
