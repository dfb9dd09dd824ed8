package offsets

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/internal/kafka"
)

// produceTxn writes value under key to topic in one transaction of a producer with id txnID,
// committed when commit is true and aborted otherwise.
func produceTxn(t *testing.T, brokers []string, txnID, topic string, key, value []byte, commit bool) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.TransactionalID(txnID),
		kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := t.Context()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Key: key, Value: value, Partition: 0}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		t.Fatal(err)
	}
}

// TestKafkaStoreLoadReadCommitted: the offsets topic holds a committed transaction, an aborted
// one and their control records (as --exactly-once writes it). Load returns the committed
// value, never the aborted one, and does not wait for the control record at the end: reading
// to the high watermark used to hang there, and read_uncommitted returned the aborted offset.
func TestKafkaStoreLoadReadCommitted(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "offsets"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := KafkaConfig{Client: kafka.ClientConfig{Brokers: c.ListenAddrs(), DeliveryTimeout: 10 * time.Second},
		Topic: "offsets", Name: "sluice", TopicPrefix: "dbserver1"}
	key := Key(cfg.Name, cfg.TopicPrefix)
	produceTxn(t, c.ListenAddrs(), "t1", "offsets", key, []byte(`{"lsn":1}`), true)
	produceTxn(t, c.ListenAddrs(), "t1", "offsets", key, []byte(`{"lsn":2}`), false)
	s, err := NewKafka(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	v, err := s.Load(ctx)
	if err != nil || string(v) != `{"lsn":1}` {
		t.Fatalf("Load = %s, %v; want the committed {\"lsn\":1}", v, err)
	}
	// A plain Save after the transactions is read too.
	if err := s.Save(t.Context(), []byte(`{"lsn":3}`)); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Load(ctx); err != nil || string(v) != `{"lsn":3}` {
		t.Fatalf("Load after Save = %s, %v", v, err)
	}
}

// TestKafkaStoreLoadStopsAtOpenTransaction: a transaction still open (its producer paused) is
// not waited for: Load returns what was committed before it, promptly.
func TestKafkaStoreLoadStopsAtOpenTransaction(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "offsets"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := KafkaConfig{Client: kafka.ClientConfig{Brokers: c.ListenAddrs(), DeliveryTimeout: 10 * time.Second},
		Topic: "offsets", Name: "sluice", TopicPrefix: "dbserver1"}
	key := Key(cfg.Name, cfg.TopicPrefix)
	produceTxn(t, c.ListenAddrs(), "t1", "offsets", key, []byte(`{"lsn":1}`), true)
	open, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.TransactionalID("t2"),
		kgo.DefaultProduceTopic("offsets"), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.TransactionTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	if err := open.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := open.ProduceSync(t.Context(), &kgo.Record{Key: key, Value: []byte(`{"lsn":2}`), Partition: 0}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	s, err := NewKafka(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if v, err := s.Load(ctx); err != nil || string(v) != `{"lsn":1}` {
		t.Fatalf("Load = %s, %v; want the committed {\"lsn\":1}", v, err)
	}
}
