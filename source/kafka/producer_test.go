package kafka

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestPositionProducer: records of one producer client share a session, a second client (an
// upstream restarted) has another, and a producer without idempotence has none (0); Next
// reports each record's origin through OnOrigin before it returns the record: one per
// producer session within one assignment.
func TestPositionProducer(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "db.t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	send := func(v string, opts ...kgo.Opt) {
		testkit.KafkaProduce(t, testkit.KafkaClient(t, brokers, opts...), &kgo.Record{Topic: "db.t", Value: []byte(v + "1")}, &kgo.Record{Topic: "db.t", Value: []byte(v + "2")})
	}
	send("a")
	send("b")
	send("c", kgo.DisableIdempotentWrite(), kgo.RequiredAcks(kgo.LeaderAck()))
	var hook []uint64
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Open(ctx, Config{Client: ikafka.ClientConfig{Brokers: brokers}, Topics: `db\..*`, Group: "producer", Logger: testLog(t),
		OnOrigin: func(origin uint64) { hook = append(hook, origin) }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, origins := map[string]uint64{}, map[string]uint64{}
	for len(got) < 6 {
		rec, pos, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if pos == nil {
			continue
		}
		p := pos.(*Position)
		got[string(rec.Value)] = p.Producer()
		if hook[len(hook)-1] != p.Origin() {
			t.Fatalf("record %s: OnOrigin got %d, its position %d", rec.Value, hook[len(hook)-1], p.Origin())
		}
		origins[string(rec.Value)] = p.Origin()
	}
	if got["a1"] == 0 || got["a1"] != got["a2"] || got["b1"] != got["b2"] || got["a1"] == got["b1"] {
		t.Errorf("sessions %v: want one per idempotent client, nonzero, different between clients", got)
	}
	if origins["a1"] != origins["a2"] || origins["a1"] == origins["b1"] {
		t.Errorf("origins %v: want one per producer session in one assignment", origins)
	}
	if got["c1"] != 0 || got["c2"] != 0 {
		t.Errorf("sessions of a producer without idempotence %d, %d: want 0", got["c1"], got["c2"])
	}
}
