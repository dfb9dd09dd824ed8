package kafka

import (
	"context"
	"testing"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"
)

// TestCreateTopicAndReadToEnd: a second CreateTopic of the same topic is no error, and
// ReadToEnd sees exactly the records stored when it started, in order.
func TestCreateTopicAndReadToEnd(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cc := ClientConfig{Brokers: c.ListenAddrs()}
	sc := mustSarama(t, &cc, "test")
	sc.Producer.Return.Successes = true
	sc.Producer.Partitioner = sarama.NewManualPartitioner
	sc.Consumer.Return.Errors = true
	client, err := cc.Connect(context.Background(), nil, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false} {
		created, err := CreateTopic(admin, "t", &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: 1})
		if err != nil || created != want {
			t.Fatalf("CreateTopic #%d = %t, %v; want %t", i+1, created, err, want)
		}
	}
	var got []string
	read := func(m *sarama.ConsumerMessage) error { got = append(got, string(m.Value)); return nil }
	if err := cc.ReadToEnd(context.Background(), nil, client, "t", 1, read); err != nil || got != nil {
		t.Fatalf("empty partition: %v, %v", got, err)
	}
	p, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, v := range []string{"a", "b", "c"} {
		if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: "t", Partition: 1, Value: sarama.StringEncoder(v)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := cc.ReadToEnd(context.Background(), nil, client, "t", 1, read); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != "a" || got[2] != "c" {
		t.Fatalf("got %q", got)
	}
}

// TestCreateTopicBrokerDefaultReplication: a replication factor of -1 leaves it to the broker
// (KIP-464): on a three-broker cluster whose default is 3 the topic gets three replicas.
func TestCreateTopicBrokerDefaultReplication(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cc := ClientConfig{Brokers: c.ListenAddrs()}
	client, err := cc.Connect(context.Background(), nil, mustSarama(t, &cc, "test"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	detail := &sarama.TopicDetail{NumPartitions: 2, ReplicationFactor: -1}
	if created, err := cc.EnsureTopic(context.Background(), nil, admin, "t", detail); err != nil || !created {
		t.Fatalf("EnsureTopic = %t, %v", created, err)
	}
	if detail.ReplicationFactor != -1 {
		t.Fatalf("replication rewritten to %d on a broker that supports KIP-464", detail.ReplicationFactor)
	}
	if err := client.RefreshMetadata("t"); err != nil {
		t.Fatal(err)
	}
	replicas, err := client.Replicas("t", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(replicas) != 3 {
		t.Fatalf("%d replicas, want the broker default 3", len(replicas))
	}
}

// TestReadToEndFnError: an error of fn ends the read and is returned as it is, not retried,
// even when it looks transient.
func TestReadToEndFnError(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cc := ClientConfig{Brokers: c.ListenAddrs()}
	sc := mustSarama(t, &cc, "test")
	sc.Producer.Return.Successes = true
	client, err := cc.Connect(context.Background(), nil, sc)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	p, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, v := range []string{"a", "b"} {
		if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: "t", Value: sarama.StringEncoder(v)}); err != nil {
			t.Fatal(err)
		}
	}
	calls := 0
	err = cc.ReadToEnd(context.Background(), nil, client, "t", 0, func(*sarama.ConsumerMessage) error {
		calls++
		return sarama.ErrNotLeaderForPartition
	})
	if err != sarama.ErrNotLeaderForPartition || calls != 1 {
		t.Fatalf("ReadToEnd = %v after %d calls, want fn's error after 1", err, calls)
	}
}

// mustSarama is c.Sarama for tests.
func mustSarama(t *testing.T, c *ClientConfig, id string) *sarama.Config {
	t.Helper()
	sc, err := c.Sarama(id)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}
