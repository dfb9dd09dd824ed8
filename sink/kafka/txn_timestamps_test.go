package kafka

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
)

// TestTxnSinkTimestamps: a record's timestamp is the encoder's processing time (TsNS), so the
// client reads no clock for it, unless the record was encoded before the sender's last wait
// in the sink (a commit): the client counts the delivery timeout from the timestamp, so the
// wait would count against it; that record gets the time it is sent.
func TestTxnSinkTimestamps(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "ts", "offsets"))
	ctx := context.Background()
	s, err := OpenTxn(ctx, TxnConfig{Config: Config{Client: ikafka.ClientConfig{Brokers: c.ListenAddrs()}},
		TransactionalID: "ts", OffsetsTopic: "offsets", OffsetKey: []byte(`["ts",{}]`), CommitInterval: time.Hour}, func(uint64) {})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	encoded := time.Now().Add(-time.Second).Truncate(time.Millisecond) // before the commit below
	send := func(i int, ts time.Time) {
		rec := envelope.Record{Topic: "ts", Key: fmt.Appendf(nil, `%d`, i), Value: []byte(`{}`), TsNS: ts.UnixNano()}
		if err := s.Send(ctx, &rec, uint64(i)); err != nil {
			t.Fatal(err)
		}
		if err := s.EventDone(ctx, benchPos(i)); err != nil {
			t.Fatal(err)
		}
	}
	send(1, encoded)
	if err := s.Flush(ctx); err != nil { // commits: the sender waited
		t.Fatal(err)
	}
	sent := time.Now().Truncate(time.Millisecond)
	fresh := sent.Add(time.Second) // encoded after the commit
	send(2, encoded)
	send(3, fresh)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("ts"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	got := map[string]time.Time{}
	for len(got) < 3 {
		fs := cl.PollFetches(cctx)
		if err := cctx.Err(); err != nil {
			t.Fatalf("consumed %d of 3 records: %v", len(got), err)
		}
		fs.EachRecord(func(r *kgo.Record) { got[string(r.Key)] = r.Timestamp })
	}
	if !got["1"].Equal(encoded) {
		t.Errorf("record 1: timestamp %s, want its TsNS %s", got["1"], encoded)
	}
	if got["2"].Before(sent) {
		t.Errorf("record 2, encoded before the commit: timestamp %s, want the time sent (≥ %s)", got["2"], sent)
	}
	if !got["3"].Equal(fresh) {
		t.Errorf("record 3: timestamp %s, want its TsNS %s", got["3"], fresh)
	}
}
