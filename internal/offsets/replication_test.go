package offsets

import (
	"strings"
	"testing"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sluicecdc/sluice/internal/kafka"
)

// TestKafkaStoreConnectReplication: with nothing set, a new offsets topic gets Kafka Connect's
// replication factor 3 on a cluster of 3 brokers; a smaller cluster is refused with an error
// naming the flag (before, the topic was created with the broker default, 1: one broker's loss
// took every saved position with it); an explicit factor or an existing topic is used as is.
func TestKafkaStoreConnectReplication(t *testing.T) {
	replicas := func(t *testing.T, addrs []string, topic string) int {
		t.Helper()
		sc := sarama.NewConfig()
		cl, err := sarama.NewClient(addrs, sc)
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		r, err := cl.Replicas(topic, 0)
		if err != nil {
			t.Fatal(err)
		}
		return len(r)
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
