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

// TestTxnSlabsReuse: a slab is handed out again only once every record in it was given back
// (its promise ran), never while the client may still read one of its records.
func TestTxnSlabsReuse(t *testing.T) {
	ts := newTxnSlabs(1 << 20)
	var recs []*kgo.Record
	for range txnSlabRecs {
		r, b := ts.record(10)
		copy(b, "0123456789")
		r.Value = b
		recs = append(recs, r)
	}
	first := ts.cur
	r, _ := ts.record(10) // a full slab: the next record starts another
	r.Value = make([]byte, 10)
	if ts.cur == first {
		t.Fatal("a full slab handed out one more record")
	}
	for _, r := range recs[1:] {
		ts.done(r)
	}
	if ts.free != nil {
		t.Fatal("a slab with a record in flight was freed")
	}
	if got := ts.buffered.Load(); got != 20 {
		t.Fatalf("buffered = %d, want 20 (two records in flight)", got)
	}
	ts.done(recs[0])
	if ts.free != first {
		t.Fatal("a slab whose records were all given back was not freed")
	}
	if first.recs[0].Value != nil {
		t.Fatal("a freed slab keeps its records' references")
	}
	if sl := ts.take(); sl != first || sl.refs.Load() != 1 || sl.n != 0 || sl.off != 0 {
		t.Fatalf("take did not reuse the free slab from its start")
	}
}

// TestTxnSlabsLarge: bytes over txnSlabOwn get their own allocation; the slab's bytes are
// not used up by them.
func TestTxnSlabsLarge(t *testing.T) {
	ts := newTxnSlabs(1 << 20)
	_, small := ts.record(100)
	_, big := ts.record(txnSlabOwn + 1)
	if len(big) != txnSlabOwn+1 || ts.cur.off != 100 {
		t.Fatalf("big record: %d bytes, slab offset %d", len(big), ts.cur.off)
	}
	if &small[0] != &ts.cur.buf[0] {
		t.Fatal("a small record is not in the slab")
	}
}

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
