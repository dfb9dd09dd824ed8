package history

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/kafka"
)

// TestKafkaStoreFenced: with --ha (no --exactly-once) the history is written in transactions
// under the connector's history transactional.id. A process that opens the store after another
// (the standby that took over) fences it: the old leader, resumed after a pause with its lease
// check already passed, cannot append a DDL behind its successor's, and stops with an error
// that says another process took over. Before, its append landed in the topic.
func TestKafkaStoreFenced(t *testing.T) {
	ctx := t.Context()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := KafkaConfig{Client: kafka.ClientConfig{Brokers: c.ListenAddrs()}, Topic: "db.history", TransactionalID: "sluice-c-db.schema-history"}
	open := func() *Kafka {
		s, err := NewKafka(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if _, err := s.Load(ctx); err != nil {
			t.Fatal(err)
		}
		return s
	}
	old := open()
	if err := old.Append(ctx, &Record{DDL: "CREATE TABLE a (id int)"}); err != nil {
		t.Fatal(err)
	}
	standby := open()
	for range 2 { // the second time without asking the broker: the store stays stopped
		err := old.Append(ctx, &Record{DDL: "ALTER TABLE a ADD c int"})
		var ferr *kafka.FencedError
		if !errors.As(err, &ferr) || capture.Retryable(err) {
			t.Fatalf("append by the fenced process: %v; want a not retryable *kafka.FencedError", err)
		}
	}
	if err := standby.Append(ctx, &Record{DDL: "CREATE TABLE b (id int)"}); err != nil {
		t.Fatal(err)
	}
	assertDDLs(t, cfg, "CREATE TABLE a (id int)", "CREATE TABLE b (id int)")
}

// TestKafkaStoreFencedMidCommit: the successor opens the store while the old leader's append
// is on its way to the commit; the commit is refused and its record never becomes visible.
func TestKafkaStoreFencedMidCommit(t *testing.T) {
	ctx := t.Context()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := KafkaConfig{Client: kafka.ClientConfig{Brokers: c.ListenAddrs()}, Topic: "db.history", TransactionalID: "sluice-c-db.schema-history"}
	old, err := NewKafka(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if _, err := old.Load(ctx); err != nil {
		t.Fatal(err)
	}
	var standby *Kafka
	var took atomic.Bool
	c.ControlKey(int16(kmsg.EndTxn), func(req kmsg.Request) (kmsg.Response, error, bool) {
		if !req.(*kmsg.EndTxnRequest).Commit || took.Swap(true) {
			return nil, nil, false
		}
		done := make(chan error, 1)
		go func() {
			var err error
			standby, err = NewKafka(context.Background(), cfg)
			done <- err
		}()
		var serr error
		c.SleepControl(func() { serr = <-done })
		if serr != nil {
			t.Errorf("the standby's open: %v", serr)
		}
		return nil, nil, false
	})
	err = old.Append(ctx, &Record{DDL: "CREATE TABLE late (id int)"})
	if standby != nil {
		defer standby.Close()
	}
	var ferr *kafka.FencedError
	if !errors.As(err, &ferr) || capture.Retryable(err) {
		t.Fatalf("append whose commit followed the standby's open: %v; want a not retryable *kafka.FencedError", err)
	}
	assertDDLs(t, cfg)
}

// TestKafkaStoreCheck: Check runs after the producer took its epoch and before each write; its
// error stops the write.
func TestKafkaStoreCheck(t *testing.T) {
	ctx := t.Context()
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	lost := errors.New("lease ran out")
	var leading atomic.Bool
	leading.Store(true)
	cfg := KafkaConfig{Client: kafka.ClientConfig{Brokers: c.ListenAddrs()}, Topic: "db.history", TransactionalID: "sluice-c-db.schema-history",
		Check: func() error {
			if leading.Load() {
				return nil
			}
			return lost
		}}
	s, err := NewKafka(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Append(ctx, &Record{DDL: "CREATE TABLE a (id int)"}); err != nil {
		t.Fatal(err)
	}
	leading.Store(false)
	if err := s.Append(ctx, &Record{DDL: "CREATE TABLE b (id int)"}); !errors.Is(err, lost) {
		t.Fatalf("append after the check failed: %v; want %v", err, lost)
	}
	assertDDLs(t, cfg, "CREATE TABLE a (id int)")
}

// assertDDLs loads the history read_committed with a fresh store and compares its DDLs.
func assertDDLs(t *testing.T, cfg KafkaConfig, want ...string) {
	t.Helper()
	cfg.TransactionalID, cfg.Check = "", nil // a reader only: it must not fence anyone
	// A commit's markers may land after EndTxn returned (the broker writes them on its own
	// time), and a reader that fences no one does not wait for them: read again until the
	// last commit shows, for a while.
	var got []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		s, err := NewKafka(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := s.Load(t.Context())
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		got = got[:0]
		for _, r := range recs {
			got = append(got, r.DDL)
		}
		if slices.Equal(got, want) || len(got) > len(want) || time.Now().After(deadline) {
			break
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("history holds %q, want %q", got, want)
	}
}
