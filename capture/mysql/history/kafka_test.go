package history

import (
	"context"
	"testing"

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
