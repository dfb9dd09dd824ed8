package offsets

import (
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicecdc/sluice/internal/kafka"
)

// TestKafkaStoreConnectReplication: with nothing set, a new offsets topic gets Kafka Connect's
// replication factor 3 on a cluster of 3 brokers; a smaller cluster is refused with an error
// naming the flag (before, the topic was created with the broker default, 1: one broker's loss
// took every saved position with it); an explicit factor or an existing topic is used as is.
func TestKafkaStoreConnectReplication(t *testing.T) {
	replicas := func(t *testing.T, addrs []string, topic string) int {
		t.Helper()
		cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		req := kmsg.NewPtrMetadataRequest()
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(t.Context(), cl)
		if err != nil || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) == 0 {
			t.Fatalf("metadata of %s: %v", topic, err)
		}
		return len(resp.Topics[0].Partitions[0].Replicas)
	}
	open := func(t *testing.T, addrs []string, rf int16) error {
		t.Helper()
		s, err := NewKafka(t.Context(), KafkaConfig{Client: kafka.ClientConfig{Brokers: addrs}, Topic: "offsets", Name: "sluice",
			TopicPrefix: "db", Replication: rf, ConnectReplication: true})
		if err == nil {
			s.Close()
		}
		return err
	}
	t.Run("3 brokers", func(t *testing.T) {
		c, err := kfake.NewCluster(kfake.NumBrokers(3))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := open(t, c.ListenAddrs(), 0); err != nil {
			t.Fatal(err)
		}
		if n := replicas(t, c.ListenAddrs(), "offsets"); n != 3 {
			t.Fatalf("offsets topic has %d replicas, want Connect's 3", n)
		}
	})
	t.Run("1 broker", func(t *testing.T) {
		c, err := kfake.NewCluster(kfake.NumBrokers(1))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		err = open(t, c.ListenAddrs(), 0)
		if err == nil || !strings.Contains(err.Error(), "--offsets-topic-replication") || !strings.Contains(err.Error(), "1 broker") {
			t.Fatalf("1 broker, nothing set: %v, want an error naming --offsets-topic-replication", err)
		}
		if err := open(t, c.ListenAddrs(), -1); err != nil { // explicit: the broker's default
			t.Fatal(err)
		}
		if err := open(t, c.ListenAddrs(), 0); err != nil { // the topic exists now: used as it is
			t.Fatalf("existing topic: %v", err)
		}
	})
}

// TestKafkaStoreManyPartitions: on an offsets topic of several partitions Save writes the key
// to the partition Load reads (murmur2 of the key, as Kafka Connect): the producer's
// partitioner and Load agree.
func TestKafkaStoreManyPartitions(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, name := range []string{"a", "sluice", "connector-with-a-long-name", "x1", "x2"} {
		s, err := NewKafka(t.Context(), KafkaConfig{Client: kafka.ClientConfig{Brokers: c.ListenAddrs()}, Topic: "offsets25", Partitions: 25,
			Name: name, TopicPrefix: "db"})
		if err != nil {
			t.Fatal(err)
		}
		want := `{"file":"` + name + `","pos":4}`
		if err := s.Save(t.Context(), []byte(want)); err != nil {
			t.Fatal(err)
		}
		got, err := s.Load(t.Context())
		s.Close()
		if err != nil || string(got) != want {
			t.Fatalf("%s: Load = %s, %v; want %s", name, got, err, want)
		}
	}
}
