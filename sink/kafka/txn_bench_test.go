package kafka

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
)

type benchPos uint64

func (p benchPos) AppendOffset(dst []byte) []byte { return fmt.Appendf(dst, `{"lsn":%d}`, uint64(p)) }

// benchValue is a ~600-byte Debezium create envelope (limits.md §3).
var benchValue = []byte(`{"before":null,"after":{"id":1,"first_name":"Anne","last_name":"Kretchmar","email":"annek@noanswer.org"},` +
	`"source":{"version":"3.2.0.Final","connector":"mysql","name":"dbserver1","ts_ms":1700000000000,"snapshot":"false",` +
	`"db":"inventory","sequence":null,"table":"customers","server_id":223344,"gtid":null,"file":"mysql-bin.000003",` +
	`"pos":154,"row":0,"thread":7,"query":null},"op":"c","ts_ms":1700000000001,"transaction":null,` +
	strings.Repeat(`"pad":0,`, 20) + `"end":1}`)

// BenchmarkTxnSink is BenchmarkSink/none through the transactional sink (--exactly-once): one
// event per record, a commit every DefaultCommitInterval. Compare its records/s with
// BenchmarkSink/none of the same run (issue 18: goal ≥ 0.85×).
func BenchmarkTxnSink(b *testing.B) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DataDir(b.TempDir()), kfake.SeedTopics(1, "offsets"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	s, err := OpenTxn(ctx, TxnConfig{Config: Config{Client: ikafka.ClientConfig{Brokers: c.ListenAddrs()}},
		TransactionalID: "bench", OffsetsTopic: "offsets", OffsetKey: []byte(`["bench",{"server":"b"}]`)}, func(uint64) {})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetBytes(int64(len(benchValue) + 10))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		rec := envelope.Record{Topic: "bench", Key: fmt.Appendf(nil, `{"id":%d}`, i), Value: benchValue}
		if err := s.Send(ctx, &rec, uint64(i)); err != nil {
			b.Fatal(err)
		}
		if err := s.EventDone(ctx, benchPos(i)); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkSendCPU compares the CPU per record of the two Kafka sinks, at-least-once (Sink)
// and --exactly-once (TxnSink), as the pipeline drives them: a Send and, for the TxnSink, an
// EventDone per record, the durable reports counted, everything acknowledged at the end. It
// reports cpu-ns/record, the process's CPU time: on a shared machine that survives the load
// that makes ns/op noise. With SLUICE_BENCH_KAFKA=host:port (a kfake process: scripts/kafka.sh)
// the broker's CPU is not in it, so the figure is the sink's and the client's alone; without,
// an in-process kfake's is.
func BenchmarkSendCPU(b *testing.B) {
	for _, mode := range []string{"at-least-once", "exactly-once"} {
		b.Run(mode, func(b *testing.B) {
			brokers := benchBrokers(b)
			ctx := context.Background()
			topic := fmt.Sprintf("bench-cpu-%d", time.Now().UnixNano())
			var durable uint64
			d := func(uint64) { durable++ } // the TxnSink calls it on Send's goroutine; the Sink on kgo's one promise goroutine
			type sender interface {
				Send(context.Context, *envelope.Record, uint64) error
				Flush(context.Context) error
				Close() error
			}
			var (
				s   sender
				txn *TxnSink
				err error
			)
			cfg := Config{Client: ikafka.ClientConfig{Brokers: brokers}}
			if mode == "exactly-once" {
				offsets := topic + "-offsets"
				benchCreateTopic(b, brokers, offsets)
				txn, err = OpenTxn(ctx, TxnConfig{Config: cfg, TransactionalID: topic, OffsetsTopic: offsets,
					OffsetKey: []byte(`["bench",{"server":"b"}]`)}, d)
				s = txn
			} else {
				s, err = New(cfg, d)
			}
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			key := make([]byte, 0, 32)
			b.SetBytes(int64(len(benchValue) + 10))
			b.ReportAllocs()
			cpu0 := processCPU()
			i := 0
			for b.Loop() {
				i++
				key = fmt.Appendf(key[:0], `{"id":%d}`, i)
				rec := envelope.Record{Topic: topic, Key: key, Value: benchValue, TsNS: time.Now().UnixNano()}
				if err := s.Send(ctx, &rec, uint64(i)); err != nil {
					b.Fatal(err)
				}
				if txn != nil {
					if err := txn.EventDone(ctx, benchPos(i)); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := s.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if cpu := processCPU() - cpu0; cpu > 0 {
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/record")
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// benchBrokers is SLUICE_BENCH_KAFKA's broker, or an in-process kfake's.
func benchBrokers(b *testing.B) []string {
	if addr := os.Getenv("SLUICE_BENCH_KAFKA"); addr != "" {
		return strings.Split(addr, ",")
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DataDir(b.TempDir()), kfake.AllowAutoTopicCreation())
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

// processCPU returns the process's user+system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
