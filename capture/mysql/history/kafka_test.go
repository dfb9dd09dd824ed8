package history

import (
	"context"
	"strings"
	"testing"

	"github.com/IBM/sarama"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sluicecdc/sluice/internal/kafka"
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
	if _, _, err := s.producer.SendMessage(&sarama.ProducerMessage{Topic: cfg.Topic, Partition: 0, Value: sarama.StringEncoder(`{"source":`)}); err != nil {
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
	admin, err := sarama.NewClusterAdminFromClient(s.client)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.DeleteRecords(cfg.Topic, map[int32]int64{0: 2}); err != nil {
		t.Fatal(err)
	}
	recs, err := s.Load(ctx)
	if err == nil || !strings.Contains(err.Error(), "starts at offset 2") || !strings.Contains(err.Error(), "retention.ms=-1") {
		t.Fatalf("Load = %d records, %v", len(recs), err)
	}
}
