package kafka

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
)

type benchPos uint64

func (p benchPos) AppendOffset(dst []byte) []byte { return fmt.Appendf(dst, `{"lsn":%d}`, uint64(p)) }

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
	value := []byte(`{"before":null,"after":{"id":1,"first_name":"Anne","last_name":"Kretchmar","email":"annek@noanswer.org"},` +
		`"source":{"version":"3.2.0.Final","connector":"mysql","name":"dbserver1","ts_ms":1700000000000,"snapshot":"false",` +
		`"db":"inventory","sequence":null,"table":"customers","server_id":223344,"gtid":null,"file":"mysql-bin.000003",` +
		`"pos":154,"row":0,"thread":7,"query":null},"op":"c","ts_ms":1700000000001,"transaction":null,` +
		strings.Repeat(`"pad":0,`, 20) + `"end":1}`)
	b.SetBytes(int64(len(value) + 10))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		rec := envelope.Record{Topic: "bench", Key: fmt.Appendf(nil, `{"id":%d}`, i), Value: value}
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
