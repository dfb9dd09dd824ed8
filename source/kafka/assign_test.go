package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestSourceGroupSpreadsTopics: Debezium creates one topic per table, often with one partition
// each. Three processes in one group over three such topics must get one each; a per-topic
// (range) assignment gives all three to the first member and leaves the others idle, so that
// scaling out does nothing.
func TestSourceGroupSpreadsTopics(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "db.a", "db.b", "db.c"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 3 {
		src, err := Open(ctx, Config{Client: ikafka.ClientConfig{Brokers: brokers}, Topics: `db\..*`, Group: "spread"})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
	}
	admin := testkit.KafkaAdmin(t, brokers)
	var got string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		gs, err := admin.DescribeGroups(ctx, "spread")
		g := gs["spread"]
		if err != nil || g.Err != nil || g.State != "Stable" || len(g.Members) != 3 {
			continue
		}
		got = ""
		total, spread := 0, true
		for _, m := range g.Members {
			a, ok := m.Assigned.AsConsumer()
			if !ok || a == nil {
				spread = false
				continue
			}
			n := 0
			for _, tp := range a.Topics {
				n += len(tp.Partitions)
				got += fmt.Sprint(tp.Topic, tp.Partitions) + " "
			}
			total += n
			spread = spread && n == 1
		}
		if total == 3 {
			if !spread {
				t.Fatalf("3 one-partition topics over 3 members: %s; want one each", got)
			}
			return
		}
	}
	t.Fatalf("the group did not settle with 3 members owning 3 partitions: %s", got)
}

// TestSourceGroupJoinsRangeMembers: during a rolling upgrade the group still holds members that
// offer only the range assignor (sluice before round-robin); a new member must join them, not
// fail with INCONSISTENT_GROUP_PROTOCOL.
func TestSourceGroupJoinsRangeMembers(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "db.a"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// A member that offers only the range assignor, as sluice's sarama consumer did.
	old := testkit.KafkaClient(t, brokers, kgo.ConsumerGroup("mixed"), kgo.ConsumeTopics("db.a"),
		kgo.Balancers(kgo.RangeBalancer()))
	go func() {
		for ctx.Err() == nil {
			old.PollFetches(ctx)
		}
	}()
	src, err := Open(ctx, Config{Client: ikafka.ClientConfig{Brokers: brokers}, Topics: `db\..*`, Group: "mixed"})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	admin := testkit.KafkaAdmin(t, brokers)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		gs, err := admin.DescribeGroups(ctx, "mixed")
		if g := gs["mixed"]; err == nil && g.Err == nil && g.State == "Stable" && len(g.Members) == 2 {
			if g.Protocol != "range" {
				t.Fatalf("protocol %q, want range while a member offers only range", g.Protocol)
			}
			return
		}
	}
	t.Fatal("the new member did not join the range-only member's group")
}
