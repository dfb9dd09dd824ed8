package kafka

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKfakeTransactionFencing pins down what --exactly-once and its standby rely on, on the
// in-process broker the fault tests use: a producer that starts with the transactional.id of
// another (the standby taking over) aborts the other's open transaction and fences it, so the
// old leader, resumed after a pause (SIGSTOP, SIGCONT), can neither write nor commit anything a
// read_committed consumer sees; a read_uncommitted consumer would see its records.
func TestKfakeTransactionFencing(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "db.t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	ctx := t.Context()
	producer := func() *kgo.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.TransactionalID("sluice-dbserver1"),
			kgo.DefaultProduceTopic("db.t"), kgo.TransactionTimeout(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(cl.Close)
		return cl
	}
	produce := func(cl *kgo.Client, v string) error {
		return cl.ProduceSync(ctx, &kgo.Record{Value: []byte(v)}).FirstErr()
	}

	leader := producer()
	if err := leader.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := produce(leader, "leader-1"); err != nil {
		t.Fatal(err)
	}
	if err := leader.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	// The leader opens a transaction, writes, and is paused before its commit.
	if err := leader.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := produce(leader, "leader-paused"); err != nil {
		t.Fatal(err)
	}

	// The standby takes over with the same transactional.id.
	standby := producer()
	if err := standby.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := produce(standby, "standby-1"); err != nil {
		t.Fatalf("standby produce: %v", err)
	}
	if err := standby.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}

	// The old leader resumes: it writes once more and tries to commit. Both must be refused.
	perr := produce(leader, "leader-after-resume")
	cerr := leader.EndTransaction(ctx, kgo.TryCommit)
	if cerr == nil {
		t.Fatalf("the fenced leader committed (produce after resume: %v)", perr)
	}
	t.Logf("fenced leader: produce %v; commit %v", perr, cerr)
	if !errors.Is(cerr, kerr.ProducerFenced) && !errors.Is(cerr, kerr.InvalidProducerEpoch) &&
		!errors.Is(perr, kerr.ProducerFenced) && !errors.Is(perr, kerr.InvalidProducerEpoch) {
		t.Errorf("the fenced leader got no fencing error (produce %v, commit %v)", perr, cerr)
	}

	if got := readAll(t, brokers, kgo.ReadCommitted()); fmt.Sprint(got) != "[leader-1 standby-1]" {
		t.Fatalf("read_committed sees %v, want [leader-1 standby-1]", got)
	}
	if got := readAll(t, brokers, kgo.ReadUncommitted()); len(got) < 3 {
		t.Fatalf("read_uncommitted sees %v: the paused transaction's record should be there (aborted)", got)
	}
}

// readAll returns the values of db.t/0 up to its end as a consumer of isolation level iso reads
// them (markers skipped).
func readAll(t *testing.T, brokers []string, iso kgo.IsolationLevel) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.FetchIsolationLevel(iso),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"db.t": {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []string
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	for ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	return got
}
