package kafka

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// client is a franz-go client with cc's settings for tests.
func client(t *testing.T, cc *ClientConfig, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	base, err := cc.Kgo("test", nil)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// TestEnsureTopicAndReadCommittedToEnd: a second EnsureTopicKgo of the same topic is no error,
// and ReadCommittedToEnd sees exactly the records stored when it started, in order.
func TestEnsureTopicAndReadCommittedToEnd(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cc := ClientConfig{Brokers: c.ListenAddrs()}
	cl := client(t, &cc, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for i, want := range []bool{true, false} {
		created, err := cc.EnsureTopicKgo(t.Context(), nil, cl, &Topic{Name: "t", Partitions: 2, Replication: 1})
		if err != nil || created != want {
			t.Fatalf("EnsureTopicKgo #%d = %t, %v; want %t", i+1, created, err, want)
		}
	}
	var got []string
	read := func(r *kgo.Record) error { got = append(got, string(r.Value)); return nil }
	if err := cc.ReadCommittedToEnd(t.Context(), nil, "t", 1, read); err != nil || got != nil {
		t.Fatalf("empty partition: %v, %v", got, err)
	}
	for _, v := range []string{"a", "b", "c"} {
		if err := cl.ProduceSync(t.Context(), &kgo.Record{Topic: "t", Partition: 1, Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := cc.ReadCommittedToEnd(t.Context(), nil, "t", 1, read); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != "a" || got[2] != "c" {
		t.Fatalf("got %q", got)
	}
}

// TestEnsureTopicBrokerDefaultReplication: a replication factor of -1 leaves it to the broker
// (KIP-464): on a three-broker cluster whose default is 3 the topic gets three replicas.
func TestEnsureTopicBrokerDefaultReplication(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(3))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cc := ClientConfig{Brokers: c.ListenAddrs()}
	cl := client(t, &cc)
	topic := &Topic{Name: "t", Partitions: 2, Replication: -1}
	if created, err := cc.EnsureTopicKgo(t.Context(), nil, cl, topic); err != nil || !created {
		t.Fatalf("EnsureTopicKgo = %t, %v", created, err)
	}
	if topic.Replication != -1 {
		t.Fatalf("replication rewritten to %d on a broker that supports KIP-464", topic.Replication)
	}
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr("t")
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(t.Context(), cl)
	if err != nil {
		t.Fatal(err)
	}
	if err := kerr.ErrorForCode(resp.Topics[0].ErrorCode); err != nil {
		t.Fatal(err)
	}
	if n := len(resp.Topics[0].Partitions[0].Replicas); n != 3 {
		t.Fatalf("%d replicas, want the broker default 3", n)
	}
}

// TestReadCommittedToEndFnError: an error of fn ends the read and is returned as it is, not
// retried, even when it looks transient.
func TestReadCommittedToEndFnError(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cc := ClientConfig{Brokers: c.ListenAddrs()}
	cl := client(t, &cc)
	for _, v := range []string{"a", "b"} {
		if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "t", Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	calls := 0
	err = cc.ReadCommittedToEnd(t.Context(), nil, "t", 0, func(*kgo.Record) error {
		calls++
		return kerr.NotLeaderForPartition
	})
	if err != kerr.NotLeaderForPartition || calls != 1 {
		t.Fatalf("ReadCommittedToEnd = %v after %d calls, want fn's error after 1", err, calls)
	}
}
