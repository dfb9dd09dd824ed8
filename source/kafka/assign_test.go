package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	ikafka "github.com/sluicecdc/sluice/internal/kafka"
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
	scfg, err := (&ikafka.ClientConfig{Brokers: brokers}).Sarama("test")
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sarama.NewClusterAdmin(brokers, scfg)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var got string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		gs, err := admin.DescribeConsumerGroups([]string{"spread"})
		if err != nil || len(gs) != 1 || gs[0].State != "Stable" || len(gs[0].Members) != 3 {
			continue
		}
		got = ""
		total, spread := 0, true
		for _, m := range gs[0].Members {
			a, err := m.GetMemberAssignment()
			if err != nil || a == nil {
				spread = false
				continue
			}
			n := 0
			for _, ps := range a.Topics {
				n += len(ps)
			}
			total += n
			spread = spread && n == 1
			got += fmt.Sprint(a.Topics) + " "
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
	old, err := (&ikafka.ClientConfig{Brokers: brokers}).Sarama("old") // range only
	if err != nil {
		t.Fatal(err)
	}
	g, err := sarama.NewConsumerGroup(brokers, "mixed", old)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	go func() {
		for ctx.Err() == nil {
			_ = g.Consume(ctx, []string{"db.a"}, idleHandler{})
		}
	}()
	src, err := Open(ctx, Config{Client: ikafka.ClientConfig{Brokers: brokers}, Topics: `db\..*`, Group: "mixed"})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	admin, err := sarama.NewClusterAdmin(brokers, old)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		gs, err := admin.DescribeConsumerGroups([]string{"mixed"})
		if err == nil && len(gs) == 1 && gs[0].State == "Stable" && len(gs[0].Members) == 2 {
			if gs[0].Protocol != "range" {
				t.Fatalf("protocol %q, want range while a member offers only range", gs[0].Protocol)
			}
			return
		}
	}
	t.Fatal("the new member did not join the range-only member's group")
}

type idleHandler struct{}

func (idleHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (idleHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (idleHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for range c.Messages() {
	}
	return nil
}
