package history

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/testkit"
)

func TestKafkaStore(t *testing.T) {
	ctx := context.Background()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := KafkaConfig{Client: kafka.ClientConfig{Brokers: c.ListenAddrs()}, Topic: "dbserver1.history"}
	s, err := NewKafka(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if recs, err := s.Load(ctx); err != nil || len(recs) != 0 {
		t.Fatalf("empty Load = %v, %v", recs, err)
	}
	for i := 0; i < 3; i++ {
		if err := s.Append(ctx, &Record{Server: "dbserver1", Position: []byte(`{"file":"f","pos":4}`), TsMs: int64(i), DatabaseName: "d", DDL: "CREATE DATABASE d"}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s2, err := NewKafka(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	recs, err := s2.Load(ctx)
	if err != nil || len(recs) != 3 || recs[2].TsMs != 2 || recs[0].DDL != "CREATE DATABASE d" {
		t.Fatalf("Load = %+v, %v", recs, err)
	}
}

// TestKafkaStoreBadRecord: a record in the history topic that does not parse stops Load with an
// error naming the topic, partition and offset and the way out; it is never skipped.
func TestKafkaStoreBadRecord(t *testing.T) {
	ctx := context.Background()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := KafkaConfig{Client: kafka.ClientConfig{Brokers: c.ListenAddrs()}, Topic: "dbserver1.schema-history"}
	s, err := NewKafka(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Append(ctx, &Record{Server: "dbserver1", Position: []byte(`{"file":"f","pos":4}`), DDL: "CREATE DATABASE d"}); err != nil {
		t.Fatal(err)
	}
	if err := s.cl.ProduceSync(ctx, &kgo.Record{Topic: cfg.Topic, Partition: 0, Value: []byte(`{"source":`)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	_, err = s.Load(ctx)
	if err == nil || !strings.Contains(err.Error(), "topic dbserver1.schema-history partition 0 offset 1") ||
		!strings.Contains(err.Error(), "--snapshot-mode recovery") {
		t.Fatalf("Load err = %v", err)
	}
}

// TestKafkaStoreLostHead: a history topic whose first records were deleted (a finite retention
// on a topic made by hand) is refused, not replayed without its CREATE TABLEs.
func TestKafkaStoreLostHead(t *testing.T) {
	ctx := context.Background()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := KafkaConfig{Client: kafka.ClientConfig{Brokers: c.ListenAddrs()}, Topic: "dbserver1.schema-history"}
	s, err := NewKafka(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 3; i++ {
		if err := s.Append(ctx, &Record{Server: "dbserver1", Position: []byte(`{"file":"f","pos":4}`), TsMs: int64(i), DDL: "CREATE DATABASE d"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.DeleteRecords(cfg.Topic, 0, 2); err != nil {
		t.Fatal(err)
	}
	recs, err := s.Load(ctx)
	if err == nil || !strings.Contains(err.Error(), "starts at offset 2") || !strings.Contains(err.Error(), "retention.ms=-1") {
		t.Fatalf("Load = %d records, %v", len(recs), err)
	}
}

// TestKafkaStoreBrokerLate: brokers that are down when the store opens do not fail NewKafka
// (the command used to exit: the history was opened outside the reopen loop, and Load's first
// request was not retried). Load waits for them, logging what it waits for, and fails with a
// retryable error after DeliveryTimeout; once the broker is up, Load succeeds.
func TestKafkaStoreBrokerLate(t *testing.T) {
	ctx := context.Background()
	port := freePort(t)
	var logs testkit.SyncBuffer
	cfg := KafkaConfig{Client: kafka.ClientConfig{Brokers: []string{fmt.Sprintf("127.0.0.1:%d", port)}, DeliveryTimeout: 500 * time.Millisecond,
		RequestTimeout: 300 * time.Millisecond, RetryBackoff: 20 * time.Millisecond},
		Topic: "dbserver1.schema-history", Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	s, err := NewKafka(ctx, cfg)
	if err != nil {
		t.Fatalf("NewKafka with the broker down = %v, want a store that waits", err)
	}
	defer s.Close()
	_, err = s.Load(ctx)
	var r interface{ Retryable() bool }
	if !errors.As(err, &r) || !r.Retryable() {
		t.Fatalf("Load with the broker down = %v, want a retryable error", err)
	}
	if !strings.Contains(logs.String(), "kafka unavailable; retrying") || !strings.Contains(logs.String(), cfg.Topic) {
		t.Fatalf("no log line says what Load waits for:\n%s", logs.String())
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if recs, err := s.Load(ctx); err != nil || len(recs) != 0 {
		t.Fatalf("Load once the broker is up = %v, %v", recs, err)
	}
	if err := s.Append(ctx, &Record{Server: "dbserver1", Position: []byte(`{"file":"f","pos":4}`), DDL: "CREATE DATABASE d"}); err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
