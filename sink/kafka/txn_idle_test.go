package kafka_test

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/offsets"
	"github.com/sluicecdc/sluice/sink/kafka"
)

// The last event of a burst ends within CommitInterval of the transaction's start, and no event
// follows (a quiet database): its transaction must still commit, or read_committed consumers
// and the source's acknowledgement wait for the next keepalive (10–30 s with PostgreSQL).
func TestTxnSinkCommitsWhenIdle(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "db.t", "offsets"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	durable := make(chan uint64, 1)
	s, err := kafka.OpenTxn(t.Context(), kafka.TxnConfig{
		Config:          kafka.Config{Client: ikafka.ClientConfig{Brokers: brokers}},
		TransactionalID: kafka.TxnID("idle", "db"), OffsetsTopic: "offsets", OffsetKey: offsets.Key("idle", "db"),
		CommitInterval: 200 * time.Millisecond,
	}, func(tok uint64) { durable <- tok })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Send(t.Context(), &envelope.Record{Topic: "db.t", Value: []byte(`"last"`)}, 7); err != nil {
		t.Fatal(err)
	}
	if err := s.EventDone(t.Context(), seq(1)); err != nil { // within the interval: no commit yet
		t.Fatal(err)
	}
	select {
	case tok := <-durable:
		if tok != 7 {
			t.Fatalf("durable token %d, want 7", tok)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the transaction of the last event was not committed 5 s after it ended (no further event came)")
	}
	if got, _ := count(t, brokers, kgo.ReadCommitted()); got[`"last"`] != 1 {
		t.Fatalf("read_committed sees %v; want the last record once", got)
	}
}
