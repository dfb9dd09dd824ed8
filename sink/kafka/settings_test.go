package kafka

import (
	"context"
	"flag"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestSinkAcks: --kafka-acks maps to the producer's RequiredAcks; below all the producer cannot be
// idempotent and Open warns that the at-least-once guarantee is gone; records still arrive
// and are reported durable.
func TestSinkAcks(t *testing.T) {
	cases := []struct {
		acks     string
		want     kgo.Acks
		idem     bool
		warnings bool
	}{
		{"", kgo.AllISRAcks(), true, false},
		{"all", kgo.AllISRAcks(), true, false},
		{"-1", kgo.AllISRAcks(), true, false},
		{"1", kgo.LeaderAck(), false, true},
		{"0", kgo.NoAck(), false, true},
	}
	for _, tc := range cases {
		t.Run("acks="+tc.acks, func(t *testing.T) {
			c := newCluster(t)
			cfg := Config{Client: ikafka.ClientConfig{Brokers: c.ListenAddrs()}, Acks: tc.acks}
			cl := kgoClient(t, cfg)
			// Without idempotence, one request in flight per broker keeps a key's order across
			// retries; with it the broker keeps the order of up to five.
			idem, inflight := !cl.OptValue(kgo.DisableIdempotentWrite).(bool), cl.OptValue(kgo.MaxProduceRequestsInflightPerBroker)
			if cl.OptValue(kgo.RequiredAcks) != tc.want || idem != tc.idem || (!idem && inflight != 1) {
				t.Fatalf("acks %q: RequiredAcks %v idempotent %v in flight %v, want %v %v",
					tc.acks, cl.OptValue(kgo.RequiredAcks), idem, inflight, tc.want, tc.idem)
			}
			var logs testkit.SyncBuffer
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			var tk tokens
			s, err := New(cfg, tk.durable)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for i := uint64(1); i <= 20; i++ {
				if err := s.Send(ctx, &envelope.Record{Topic: "t", Key: []byte("k"), Value: []byte("v")}, i); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			for i := uint64(1); i <= 20; i++ {
				if tk.count(i) != 1 {
					t.Fatalf("record %d reported durable %d times", i, tk.count(i))
				}
			}
			warned := strings.Contains(logs.String(), "loses the at-least-once guarantee")
			if warned != tc.warnings {
				t.Fatalf("acks %q: warned %v, want %v; log:\n%s", tc.acks, warned, tc.warnings, logs.String())
			}
		})
	}
	if err := (&Config{Client: ikafka.ClientConfig{Brokers: []string{"x:1"}}, Acks: "2"}).Validate(); err == nil || !strings.Contains(err.Error(), `acks "2"`) {
		t.Fatalf("acks 2: %v, want an error naming it", err)
	}
}

// TestFlagsProducerProperties: the Kafka producer properties that map to a sluice setting set
// it, under Debezium Server's debezium.sink.kafka.producer.* name and the bare Kafka name.
func TestFlagsProducerProperties(t *testing.T) {
	for _, prefix := range []string{"debezium.sink.kafka.producer.", ""} {
		var c Config
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		names := c.RegisterFlags(fs)
		props := map[string]string{
			"acks": "1", "buffer.memory": "8388608", "batch.size": "65536", "max.request.size": "2097152",
			"linger.ms": "5ms", "compression.type": "lz4", "delivery.timeout.ms": "30s",
		}
		if prefix != "" { // a bare client.id would name every client; only the producer's maps
			props["client.id"] = "cdc-1"
		}
		for p, v := range props {
			f, ok := names[prefix+p]
			if !ok {
				t.Fatalf("%s%s maps to no flag", prefix, p)
			}
			if err := fs.Set(f, v); err != nil {
				t.Fatalf("%s%s=%s (--%s): %v", prefix, p, v, f, err)
			}
		}
		want := Config{Acks: "1", MaxBufferedBytes: 8 << 20, BatchBytes: 64 << 10, MaxMessageBytes: 2 << 20,
			Linger: 5 * time.Millisecond, Compression: "lz4"}
		if c.Acks != want.Acks || c.MaxBufferedBytes != want.MaxBufferedBytes || c.BatchBytes != want.BatchBytes ||
			c.MaxMessageBytes != want.MaxMessageBytes || c.Linger != want.Linger || c.Compression != want.Compression ||
			c.Client.DeliveryTimeout != 30*time.Second {
			t.Fatalf("prefix %q: config %+v", prefix, c)
		}
		if prefix != "" && c.Client.ClientID != "cdc-1" {
			t.Fatalf("client.id not mapped: %q", c.Client.ClientID)
		}
	}
}
