//go:build integration

package kafka

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// brokers returns SLUICE_TEST_KAFKA_BROKERS (testkit.Server skips or fails without them).
func brokers(t *testing.T) []string {
	t.Helper()
	return strings.Split(testkit.Server(t, "SLUICE_TEST_KAFKA_BROKERS"), ",")
}

// TestSinkExternalBroker runs the sink against the broker process scripts/kafka.sh starts
// (kfakebroker over TCP) rather than an in-process cluster.
func TestSinkExternalBroker(t *testing.T) {
	addrs := brokers(t)
	topic := fmt.Sprintf("sluice-it-%d", time.Now().UnixNano())
	var tk tokens
	s, err := New(Config{Client: ikafka.ClientConfig{Brokers: addrs}, Partitions: 2, Compression: "zstd"}, tk.durable)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const n = 1000
	for i := 1; i <= n; i++ {
		rec := envelope.Record{Topic: topic, Key: fmt.Appendf(nil, `{"id":%d}`, i), Value: fmt.Appendf(nil, `{"n":%d}`, i)}
		if err := s.Send(ctx, &rec, uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for i := uint64(1); i <= n; i++ {
		if tk.count(i) != 1 {
			t.Fatalf("token %d durable ×%d", i, tk.count(i))
		}
	}
	parts, recs := consumeAll(t, addrs, topic)
	if parts != 2 || len(recs) != n {
		t.Fatalf("%d partitions, %d records; want 2, %d", parts, len(recs), n)
	}
	for _, r := range recs {
		if ikafka.Partition(r.key, 2) != r.partition {
			t.Fatalf("key %s on partition %d", r.key, r.partition)
		}
	}
}
