package kafka_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/offsets"
	"github.com/sluicecdc/sluice/sink/kafka"
)

// TestTxnSinkFencedMidTransaction: another process with the same transactional.id starts while
// this sink's transaction is open (it only initializes its producer, as a standby's fence
// does), and this sink then commits. The broker refuses the commit; kfake (and a KIP-890
// coordinator whose epoch moved one ahead) answers INVALID_TXN_STATE rather than
// PRODUCER_FENCED. Either way the sink must stop as fenced, not retry: a retry re-initializes
// the producer and fences the other process in turn, and the two take the connector from each
// other for ever.
func TestTxnSinkFencedMidTransaction(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "db.t", "offsets"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	txnID := kafka.TxnID("eos", "db")
	old, err := kafka.OpenTxn(t.Context(), kafka.TxnConfig{
		Config:          kafka.Config{Client: ikafka.ClientConfig{Brokers: brokers}},
		TransactionalID: txnID, OffsetsTopic: "offsets", OffsetKey: offsets.Key("eos", "db"),
		CommitInterval: time.Hour,
	}, func(uint64) {})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := old.Send(t.Context(), &envelope.Record{Topic: "db.t", Value: []byte(`"old-1"`)}, 1); err != nil {
		t.Fatal(err)
	}
	// The other process initializes its producer with the same transactional.id just before
	// the broker handles this sink's commit: every record of the transaction is in.
	other, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.TransactionalID(txnID))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var fenced atomic.Bool
	c.ControlKey(int16(kmsg.EndTxn), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if r := req.(*kmsg.EndTxnRequest); !r.Commit || fenced.Swap(true) {
			return nil, nil, false
		}
		done := make(chan error, 1)
		go func() { _, _, err := other.ProducerID(context.Background()); done <- err }()
		var ierr error
		c.SleepControl(func() { ierr = <-done })
		if ierr != nil {
			t.Errorf("the other producer's init: %v", ierr)
		}
		return nil, nil, false
	})
	err = old.EventDone(t.Context(), seq(1))
	if err == nil {
		err = old.Flush(t.Context())
	}
	t.Logf("commit after the fence: %v", err)
	var terr *kafka.TxnError
	if !errors.As(err, &terr) || !terr.Fenced || capture.Retryable(err) {
		t.Fatalf("the commit after the other producer's start returned %v; want a fenced, non-retryable TxnError", err)
	}
	if got, _ := count(t, brokers, kgo.ReadCommitted()); len(got) != 0 {
		t.Fatalf("read_committed sees %v; want nothing", got)
	}
}
