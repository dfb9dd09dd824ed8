package leader

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/internal/kafka"
)

// TestFenceBeforeLoad: the old leader paused inside an exactly-once transaction (records and
// the offset produced, not committed). The successor reads the offset: read_committed, it gets
// the one before. If the old leader could commit after that read, the successor would send the
// transaction's records again (duplicates for read_committed consumers). Fenced first, the
// commit fails. The control run reads without fencing: the old commit succeeds after the read.
func TestFenceBeforeLoad(t *testing.T) {
	fencedAndControl(t, func(t *testing.T, fence bool) {
		env := newFenceEnv(t, 1, "offsets", "data")
		ctx, c, client, store, key := env.ctx, env.cluster, env.client, env.store, env.key
		old, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.TransactionalID("sluice-n-p"))
		if err != nil {
			t.Fatal(err)
		}
		defer old.Close()
		txn := func(offset string) error {
			if err := old.BeginTransaction(); err != nil {
				return err
			}
			old.ProduceSync(ctx, &kgo.Record{Topic: "data", Value: []byte("row")}, &kgo.Record{Topic: "offsets", Key: key, Value: []byte(offset)})
			// As the exactly-once sink does: else the first commit may leave a topic out.
			return kafka.AwaitProducerPartitions(ctx, old, []string{"data", "offsets"}, kafka.ProducerPartitionsWait)
		}
		if err := txn(`{"lsn":10}`); err != nil {
			t.Fatal(err)
		}
		if err := old.EndTransaction(ctx, kgo.TryCommit); err != nil {
			t.Fatal(err)
		}
		if err := txn(`{"lsn":20}`); err != nil { // open when the old leader pauses
			t.Fatal(err)
		}
		if fence {
			if err := Fence(ctx, client, "sluice-n-p", nil); err != nil {
				t.Fatal(err)
			}
		}
		read, err := store.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cerr := old.EndTransaction(ctx, kgo.TryCommit) // the old leader resumes
		after, err := store.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("successor read %s; the old leader's commit: %v; stored now %s", read, cerr, after)
		if string(read) != `{"lsn":10}` {
			t.Fatalf("successor read %s, want the committed {\"lsn\":10}", read)
		}
		if fence && (cerr == nil || string(after) != string(read)) {
			t.Fatalf("fenced: the old leader committed (%v) after the successor read; stored %s", cerr, after)
		}
		if !fence && (cerr != nil || string(after) == string(read)) {
			t.Fatalf("control: expected the unfenced old commit to land after the read (err %v, stored %s)", cerr, after)
		}
	})
}
