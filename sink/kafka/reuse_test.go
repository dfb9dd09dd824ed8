package kafka

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
)

// TestSinkReusedMessagesStartClean: Send reuses the slabs of acknowledged messages; a reused
// record carries nothing of the one before it (its key, value, headers, partition,
// timestamp). A record with
// the encoder's processing time (TsNS) has it as its timestamp; one without gets the time sent.
func TestSinkReusedMessagesStartClean(t *testing.T) {
	c := newCluster(t)
	var tk tokens
	s, err := New(Config{Client: ikafka.ClientConfig{Brokers: c.ListenAddrs()}, Partitions: 3}, tk.durable)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	// ~600 messages a slab (~430-byte records): slabs span rounds of alternating shapes, and
	// as every round is acknowledged before the next, two slabs taking turns hold them all.
	const rounds, per = 12, 200
	type sent struct {
		key, val []byte
		hdr      bool
		after    time.Time // the record's timestamp is not before this
		ts       time.Time // or is exactly this (TsNS)
	}
	var want []sent
	tok := uint64(0)
	for round := range rounds {
		start := time.Now().Truncate(time.Millisecond)
		for i := range per {
			// Values with headers in even rounds, without in odd rounds (and tombstones): odd
			// rounds reuse the even rounds' messages (and the other way round).
			rec := envelope.Record{Topic: "reuse", Key: fmt.Appendf(nil, `{"id":%d}`, round*per+i)}
			if round%2 == 0 {
				rec.Value = bytes.Repeat([]byte{'a' + byte(round)}, 400+i)
				rec.Headers = []envelope.Header{{Key: "h", Value: []byte("v")}}
			} else if i%10 != 0 {
				rec.Value = fmt.Appendf(nil, `{"r":%d,"i":%d,"pad":"%s"}`, round, i, bytes.Repeat([]byte{'x'}, 380+i))
			} // else a tombstone
			var ts time.Time
			if round%2 == 1 && i%3 == 0 {
				ts = start.Add(time.Duration(i)*time.Millisecond - time.Second) // before it was sent
				rec.TsNS = ts.UnixNano()
			}
			tok++
			if err := s.Send(ctx, &rec, tok); err != nil {
				t.Fatal(err)
			}
			want = append(want, sent{rec.Key, rec.Value, rec.Headers != nil, start, ts})
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond) // the next round's timestamps are later
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("reuse"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := map[string]*kgo.Record{}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for len(got) < len(want) {
		fs := cl.PollFetches(cctx)
		if err := cctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", len(got), len(want), err)
		}
		fs.EachRecord(func(r *kgo.Record) { got[string(r.Key)] = r })
	}
	for _, w := range want {
		r := got[string(w.key)]
		if r == nil {
			t.Fatalf("record %s missing", w.key)
		}
		if !bytes.Equal(r.Value, w.val) || (r.Value == nil) != (w.val == nil) {
			t.Errorf("record %s: value %q, want %q", w.key, r.Value, w.val)
		}
		if (len(r.Headers) > 0) != w.hdr {
			t.Errorf("record %s: headers %v, want headers %v", w.key, r.Headers, w.hdr)
		}
		if want := ikafka.Partition(w.key, 3); r.Partition != want {
			t.Errorf("record %s on partition %d, murmur2 says %d", w.key, r.Partition, want)
		}
		if !w.ts.IsZero() {
			if !r.Timestamp.Equal(w.ts) {
				t.Errorf("record %s: timestamp %s, want its TsNS %s", w.key, r.Timestamp, w.ts)
			}
		} else if r.Timestamp.Before(w.after) {
			t.Errorf("record %s: timestamp %s, before it was sent (%s): a reused record kept its old one", w.key, r.Timestamp, w.after)
		}
	}
	for i := uint64(1); i <= tok; i++ {
		if n := tk.count(i); n != 1 {
			t.Fatalf("token %d reported durable %d times", i, n)
		}
	}
	s.mu.Lock()
	made := s.slabs.made
	s.mu.Unlock()
	if made > 3 { // 4 without reuse; 2 if every slab's last release came before the next slab
		t.Fatalf("%d slabs made for %d records: acknowledged ones were not reused", made, tok)
	}
}

// TestSinkEveryWaiterWakes: Sends blocked on MaxBufferedBytes all go on once the broker
// answers, however many wait (the heartbeat and stream goroutines may both send), not one per
// acknowledgement with the rest left to the 10 s log timer.
func TestSinkEveryWaiterWakes(t *testing.T) {
	c := newCluster(t)
	release := make(chan struct{})
	var once sync.Once
	c.ControlKey(kmsg.Produce.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) {
		once.Do(func() { <-release })
		return nil, nil, false
	})
	var tk tokens
	s, err := New(Config{Client: ikafka.ClientConfig{Brokers: c.ListenAddrs()}, MaxBufferedBytes: 100}, tk.durable)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	first := envelope.Record{Topic: "t", Key: []byte(`{"id":1}`), Value: make([]byte, 52)} // 60 bytes
	if err := s.Send(ctx, &first, 1); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	for i := range 2 {
		go func() {
			rec := envelope.Record{Topic: "t", Key: fmt.Appendf(nil, `{"id":%d}`, i+2), Value: make([]byte, 42)} // 50 bytes: waits
			errs <- s.Send(ctx, &rec, uint64(i+2))
		}()
	}
	time.Sleep(100 * time.Millisecond) // both wait
	close(release)
	deadline := time.After(5 * time.Second)
	for range 2 {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatal(err)
			}
		case <-deadline:
			t.Fatal("a Send waiting for room did not go on within 5 s of the acknowledgements")
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for tok := uint64(1); tok <= 3; tok++ {
		if tk.count(tok) != 1 {
			t.Fatalf("token %d durable ×%d, want 1", tok, tk.count(tok))
		}
	}
}

// TestSinkSlabsKeepEachRecord: keys and values share slabs, records over slabOwn get a
// region of their own, and slabs are reused once their records are acknowledged: every
// record arrives with its own bytes, over rounds that reuse the first round's slabs.
func TestSinkSlabsKeepEachRecord(t *testing.T) {
	c := newCluster(t)
	// The broker holds its first answer a while, so records wait in the client, unwritten,
	// while Send goes on filling slabs: a slab reused too early would overwrite them.
	var once sync.Once
	c.ControlKey(kmsg.Produce.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) {
		once.Do(func() { time.Sleep(200 * time.Millisecond) })
		return nil, nil, false
	})
	var tk tokens
	s, err := New(Config{Client: ikafka.ClientConfig{Brokers: c.ListenAddrs()}, MaxBufferedBytes: 4 * slabBytes}, tk.durable)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	sizes := []int{300, 1500, 0, 700, 40}
	want := map[string][]byte{}
	tok := uint64(0)
	for round := range 3 {
		for i := range 800 {
			n := sizes[i%len(sizes)]
			switch i {
			case 399:
				n = 2 * slabOwn
			case 799:
				n = slabOwn - 10 // the largest in a slab, with its key
			}
			rec := envelope.Record{Topic: "slabs", Key: fmt.Appendf(nil, `{"r":%d,"i":%d}`, round, i)}
			if n > 0 {
				rec.Value = bytes.Repeat([]byte{byte('a' + (round*800+i)%26)}, n)
			}
			tok++
			if err := s.Send(ctx, &rec, tok); err != nil {
				t.Fatal(err)
			}
			want[string(rec.Key)] = bytes.Clone(rec.Value)
			clear(rec.Value) // the caller's buffer is reused at once: the sink must have copied it
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		s.mu.Lock()
		s.slabs.mu.Lock()
		kept, inUse := int64(s.slabs.nFree)*slabBytes, s.slabs.cur != nil
		s.slabs.mu.Unlock()
		s.mu.Unlock()
		if kept > s.cfg.MaxBufferedBytes || (kept == 0 && !inUse) {
			t.Fatalf("round %d: %d bytes of slabs kept for reuse (bound %d), current slab %v", round, kept, s.cfg.MaxBufferedBytes, inUse)
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("slabs"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(16<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := 0
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for got < len(want) {
		fs := cl.PollFetches(cctx)
		if err := cctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", got, len(want), err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			got++
			if w := want[string(r.Key)]; !bytes.Equal(r.Value, w) {
				t.Errorf("record %s: %d bytes (%.8q…), want %d (%.8q…)", r.Key, len(r.Value), r.Value, len(w), w)
			}
		})
	}
}

// TestSinkStaleTsNS: a record encoded before the sink last waited for room (TsNS older than the
// wait's end) gets the time it is sent as its timestamp, not its encode time: kgo counts the
// delivery timeout from the timestamp, so the wait would count against it.
func TestSinkStaleTsNS(t *testing.T) {
	c := newCluster(t)
	var tk tokens
	s, err := New(Config{Client: ikafka.ClientConfig{Brokers: c.ListenAddrs()}, Partitions: 1}, tk.durable)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	encoded := time.Now().Add(-time.Minute)
	s.mu.Lock()
	s.waitEnd = time.Now().UnixNano() // as admit sets it after a wait
	s.mu.Unlock()
	sent := time.Now().Truncate(time.Millisecond)
	fresh := sent.Add(time.Second) // encoded after the wait
	for i, ts := range []time.Time{encoded, fresh} {
		rec := envelope.Record{Topic: "stale", Key: fmt.Appendf(nil, `{"id":%d}`, i), Value: []byte(`{}`), TsNS: ts.UnixNano()}
		if err := s.Send(ctx, &rec, uint64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics("stale"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	var got []*kgo.Record
	for len(got) < 2 {
		fs := cl.PollFetches(cctx)
		if err := cctx.Err(); err != nil {
			t.Fatalf("consumed %d of 2 records: %v", len(got), err)
		}
		fs.EachRecord(func(r *kgo.Record) { got = append(got, r) })
	}
	if got[0].Timestamp.Before(sent) {
		t.Errorf("record encoded before the wait: timestamp %s, want the time sent (≥ %s)", got[0].Timestamp, sent)
	}
	if !got[1].Timestamp.Equal(fresh) {
		t.Errorf("record encoded after the wait: timestamp %s, want its TsNS %s", got[1].Timestamp, fresh)
	}
}
