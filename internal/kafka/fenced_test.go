package kafka

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestTxnFenced: INVALID_TXN_STATE on a commit is a fence when the coordinator holds a newer
// epoch (another producer initialized the transactional.id), and this producer's own state
// (retryable) when it still holds this producer's id and epoch.
func TestTxnFenced(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := t.Context()
	cc := ClientConfig{Brokers: c.ListenAddrs()}
	cl := client(t, &cc, kgo.TransactionalID("x"), kgo.DefaultProduceTopic("t"))
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("v")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	pid, epoch, err := cl.ProducerID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if TxnFenced(ctx, cl, "x", pid, epoch, kerr.InvalidTxnState) {
		t.Fatal("INVALID_TXN_STATE with this producer's id and epoch at the coordinator counted as fenced")
	}
	if TxnFenced(ctx, cl, "x", pid, epoch, kerr.CoordinatorNotAvailable) {
		t.Fatal("a retriable error counted as fenced")
	}
	other := client(t, &cc, kgo.TransactionalID("x"))
	if _, _, err := other.ProducerID(ctx); err != nil {
		t.Fatal(err)
	}
	if !TxnFenced(ctx, cl, "x", pid, epoch, kerr.InvalidTxnState) {
		t.Fatal("INVALID_TXN_STATE after another producer took the id did not count as fenced")
	}
	if !TxnFenced(ctx, cl, "x", pid, epoch, kerr.ProducerFenced) {
		t.Fatal("PRODUCER_FENCED did not count as fenced")
	}
}
