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
	sc := cc.Sarama("test")
	sc.Producer.Return.Successes = true
	sc.Producer.Partitioner = sarama.NewManualPartitioner
	sc.Consumer.Return.Errors = true
	client, err := cc.Connect(sc)
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
	if err := ReadToEnd(context.Background(), client, "t", 1, read); err != nil || got != nil {
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
	if err := ReadToEnd(context.Background(), client, "t", 1, read); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != "a" || got[2] != "c" {
		t.Fatalf("got %q", got)
	}
}
