package kafka_test

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sluicecdc/sluice/capture/mysql/history"
	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/offsets"
	"github.com/sluicecdc/sluice/sink/kafka"
)

// TestTxnSinkHistoryInTransaction: with --exactly-once the MySQL schema history records of a
// DDL are written in the transaction of the DDL's records and offset. A transaction that
// aborts (the sink stopped inside the event) leaves no history record that a restarted source
// would load: the offset before the DDL is what is committed, and the DDL is read and stored
// again. The history used to be written outside the transaction, so an aborted one left its
// DDL in the history. After the sink closes, the store writes directly again.
func TestTxnSinkHistoryInTransaction(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "offsets"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := t.Context()
	client := ikafka.ClientConfig{Brokers: c.ListenAddrs()}
	hk, err := history.NewKafka(ctx, history.KafkaConfig{Client: client, Topic: "db.history"})
	if err != nil {
		t.Fatal(err)
	}
	defer hk.Close()
	ts, err := kafka.OpenTxn(ctx, kafka.TxnConfig{Config: kafka.Config{Client: client},
		TransactionalID: kafka.TxnID("eos", "db"), OffsetsTopic: "offsets", OffsetKey: offsets.Key("eos", "db"),
		CommitInterval: time.Hour}, func(uint64) {})
	if err != nil {
		t.Fatal(err)
	}
	hk.SetTxn(ts)
	ddl := func(n int64) *history.Record {
		return &history.Record{Server: "db", Position: []byte(`{"file":"f","pos":4}`), TsMs: n, DatabaseName: "d", DDL: "CREATE TABLE t (id int)"}
	}
	loaded := func() int {
		t.Helper()
		recs, err := hk.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return len(recs)
	}
	rec := envelope.Record{Topic: "db.d.t", Key: []byte(`{"id":1}`), Value: []byte(`{}`)}

	// Event 1: a DDL, its record, its offset; committed together.
	if err := hk.Append(ctx, ddl(1)); err != nil {
		t.Fatal(err)
	}
	if n := loaded(); n != 0 {
		t.Fatalf("history record visible before its transaction committed: %d", n)
	}
	if err := ts.Send(ctx, &rec, 1); err != nil {
		t.Fatal(err)
	}
	if err := ts.EventDone(ctx, seqPos(1)); err != nil {
		t.Fatal(err)
	}
	if err := ts.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := loaded(); n != 1 {
		t.Fatalf("after the commit: %d history records, want 1", n)
	}

	// Event 2: the sink stops inside it (records sent, event not done): aborted with its DDL.
	if err := hk.Append(ctx, ddl(2)); err != nil {
		t.Fatal(err)
	}
	if err := ts.Send(ctx, &rec, 2); err != nil {
		t.Fatal(err)
	}
	if err := ts.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := loaded(); n != 1 {
		t.Fatalf("after the abort: %d history records, want 1 (the aborted DDL must not be loaded)", n)
	}

	// Closed sink: the store writes directly.
	ts.Close()
	if err := hk.Append(ctx, ddl(3)); err != nil {
		t.Fatal(err)
	}
	if n := loaded(); n != 2 {
		t.Fatalf("after Close: %d history records, want 2", n)
	}
}

type seqPos uint64

func (p seqPos) String() string                 { return "seq" }
func (p seqPos) AppendOffset(dst []byte) []byte { return append(dst, `{"seq":1}`...) }
