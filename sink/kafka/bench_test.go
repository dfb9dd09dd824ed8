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

// BenchmarkSink sends ~600-byte records (a Debezium create envelope's size, limits.md §3)
// through the sink to an in-process kfake that keeps its log in files, and waits for every
// acknowledgement. Reports records/s; kfake's own cost is included.
func BenchmarkSink(b *testing.B) {
	for _, codec := range []string{"none", "lz4"} {
		b.Run(codec, func(b *testing.B) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DataDir(b.TempDir()))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			s, err := New(Config{Client: ikafka.ClientConfig{Brokers: c.ListenAddrs()}, Compression: codec}, func(t uint64) {})
			if err != nil {
				b.Fatal(err)
			}
			value := []byte(`{"before":null,"after":{"id":1,"first_name":"Anne","last_name":"Kretchmar","email":"annek@noanswer.org"},` +
				`"source":{"version":"3.2.0.Final","connector":"mysql","name":"dbserver1","ts_ms":1700000000000,"snapshot":"false",` +
				`"db":"inventory","sequence":null,"table":"customers","server_id":223344,"gtid":null,"file":"mysql-bin.000003",` +
				`"pos":154,"row":0,"thread":7,"query":null},"op":"c","ts_ms":1700000000001,"transaction":null,` +
				strings.Repeat(`"pad":0,`, 20) + `"end":1}`)
			ctx := context.Background()
			b.SetBytes(int64(len(value) + 10))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				rec := envelope.Record{Topic: "bench", Key: fmt.Appendf(nil, `{"id":%d}`, i), Value: value}
				if err := s.Send(ctx, &rec, uint64(i)); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			s.Close()
		})
	}
}
