package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/capture"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// produceTo writes n records to each of the partitions parts of topic, key "k<partition>-<i%5>"
// and value "<partition>:<i> " padded to 500 bytes (i counts from from; a fetch holds ~250):
// each partition holds five keys whose values rise.
func produceTo(t *testing.T, brokers []string, topic string, parts []int32, from, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var rs []*kgo.Record
	for _, p := range parts {
		for i := from; i < from+n; i++ {
			rs = append(rs, &kgo.Record{Topic: topic, Partition: p,
				Key: fmt.Appendf(nil, "k%d-%d", p, i%5), Value: fmt.Appendf(nil, "%d:%d %0500d", p, i, 0)[:500]})
		}
	}
	if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// got is one record Next returned.
type got struct {
	part   int32
	offset int64
	value  string
	pos    *Position
}

// next calls Next until it returns a record (skipping caught-up markers) or d passes (ok false).
func next(t *testing.T, s *Source, d time.Duration) (got, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		rec, p, err := s.Next(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			return got{}, false
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec.Topic == "" {
			continue
		}
		pos := p.(*Position)
		return got{pos.Partition(), pos.Offset(), string(rec.Value), pos}, true
	}
}

// committed returns the group's committed offset of each partition of topic (-1: none).
func committed(t *testing.T, brokers []string, group, topic string, parts int) map[int32]int64 {
	t.Helper()
	res, err := testkit.KafkaGroupOffsets(testkit.KafkaAdmin(t, brokers), group, topic)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for id := range int32(parts) {
		out[id] = -1
		if o, ok := res[id]; ok {
			out[id] = o
		}
	}
	return out
}

func openTest(t *testing.T, ctx context.Context, brokers []string, group string) *Source {
	t.Helper()
	s, err := Open(ctx, Config{Client: ikafka.ClientConfig{Brokers: brokers}, Topics: `db\..*`, Group: group, TopicRefresh: 200 * time.Millisecond, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestSourceStaleRebalanceSignal: franz-go tells the poll loop that a rebalance waits for it
// from a goroutine of its own (OnPartitionsCallbackBlocked), so the signal can arrive after
// that rebalance is over, or for a step that revokes nothing (a lost session's rejoin, an
// assignment). The poll loop must then only let the rebalance run, never drop what it polled:
// no revoke follows to re-read dropped records from the committed offset, and the client's
// fetch position is already past them, so they would be skipped.
func TestSourceStaleRebalanceSignal(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "db.t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	const n = 3000
	produceTo(t, brokers, "db.t", []int32{0}, 0, n)
	s := openTest(t, context.Background(), brokers, "stale")
	// Next is not called: the poll loop fills the channel and blocks handing out the next poll.
	for deadline := time.Now().Add(10 * time.Second); len(s.batches) < cap(s.batches); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the poll loop did not fill its channel")
		}
	}
	time.Sleep(100 * time.Millisecond)
	s.rebalance <- struct{}{} // a signal with no rebalance behind it
	for i := int64(0); i < n; i++ {
		g, ok := next(t, s, 10*time.Second)
		if !ok {
			t.Fatalf("offset %d never returned", i)
		}
		if g.offset != i {
			t.Fatalf("offset %d returned after %d: %d records skipped", g.offset, i-1, g.offset-i)
		}
		s.Mark([]capture.Position{g.pos})
	}
}

// TestSourceRevokeMidBatch: a member has returned records of two partitions, only some of them
// durable yet, and holds more in its channel, when a second member joins. The revoke waits for
// the rest to become durable and commits them before giving the partitions up, so the moved
// partition's new owner starts right after the last record the first member returned (no
// record twice, none skipped); and the first never returns a record of the moved partition
// after the revoke, though its channel held some (per-key order across the move: the keys'
// later values come only from the new owner).
func TestSourceRevokeMidBatch(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "db.t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	// The first member returns 200 records of each partition, then more arrive: 500 for one
	// partition, 2,500 for the other, so that its channel holds records of both at the revoke.
	produceTo(t, brokers, "db.t", []int32{0, 1}, 0, 200)
	a := openTest(t, context.Background(), brokers, "mid")
	var before []got
	last := map[int32]int64{0: -1, 1: -1}
	for last[0] < 199 || last[1] < 199 {
		g, ok := next(t, a, 10*time.Second)
		if !ok {
			t.Fatal("the first member got no records")
		}
		if g.offset != last[g.part]+1 {
			t.Fatalf("partition %d: offset %d after %d", g.part, g.offset, last[g.part])
		}
		last[g.part] = g.offset
		before = append(before, g)
	}
	produceTo(t, brokers, "db.t", []int32{0}, 200, 500)
	produceTo(t, brokers, "db.t", []int32{1}, 200, 2500)
	end := map[int32]int64{0: 700, 1: 2700}
	for deadline := time.Now().Add(10 * time.Second); len(a.batches) < cap(a.batches); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the poll loop did not fill its channel")
		}
	}
	positions := func(gs []got) []capture.Position {
		var ps []capture.Position
		for _, g := range gs {
			ps = append(ps, g.pos)
		}
		return ps
	}
	half := len(before) / 2
	a.Mark(positions(before[:half]))
	b := openTest(t, context.Background(), brokers, "mid")
	// The revoke waits for the rest; they become durable while it waits.
	for deadline := time.Now().Add(15 * time.Second); !revoking(a, 0, 1); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no revoke")
		}
	}
	time.Sleep(300 * time.Millisecond)
	a.Mark(positions(before[half:]))

	// Each member's records of each partition start right after the first member's last
	// returned record (all durable, so committed before the revoke ended) and run on to the end.
	check := func(name string, s *Source) map[int32]bool {
		next1 := map[int32]int64{}
		for {
			g, ok := next(t, s, 1500*time.Millisecond)
			if !ok {
				break
			}
			want, seen := next1[g.part]
			if !seen {
				want = last[g.part] + 1
			}
			if g.offset != want {
				t.Fatalf("%s: partition %d: offset %d returned, want %d (the first member returned up to %d before the rebalance, all durable)", name, g.part, g.offset, want, last[g.part])
			}
			next1[g.part] = g.offset + 1
			s.Mark([]capture.Position{g.pos})
		}
		got := map[int32]bool{}
		for p, o := range next1 {
			if o != end[p] {
				t.Fatalf("%s: partition %d stopped at %d of %d", name, p, o, end[p])
			}
			got[p] = true
		}
		return got
	}
	bParts := check("second member", b)
	if len(bParts) != 1 {
		t.Fatalf("the second member consumed partitions %v; want one of the two", bParts)
	}
	// The first member's channel held records of the moved partition at the revoke; none may
	// come out now.
	for p := range check("first member", a) {
		if bParts[p] {
			t.Fatalf("partition %d moved to the second member, but the first returned its records after the revoke", p)
		}
	}
}

// revoking reports whether a revoke began: it ends s's claims, then deletes them.
func revoking(s *Source, parts ...int32) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range parts {
		if c := s.claims[partition{"db.t", p}]; c == nil || c.ended {
			return true
		}
	}
	return false
}

func testLog(t *testing.T) *slog.Logger {
	if os.Getenv("SLUICE_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestSourceMarkAfterMove: the first member's revoke gives up waiting for records it returned
// (the sink is stuck), the partition moves, and its new owner commits further on. When the
// first member's sink finally makes those records durable, its Mark and Ack must not commit
// their offsets: the partition is no longer its own, and the group's offset would go back
// (the new owner's progress read again after the next rebalance).
func TestSourceMarkAfterMove(t *testing.T) {
	defer func(d time.Duration) { cleanupWait = d }(cleanupWait)
	cleanupWait = time.Second
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(2, "db.t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	produceTo(t, brokers, "db.t", []int32{0, 1}, 0, 200)
	a := openTest(t, context.Background(), brokers, "moved")
	var held []capture.Position // returned, never durable until the partition moved
	for n := map[int32]int{}; n[0] < 200 || n[1] < 200; {
		g, ok := next(t, a, 10*time.Second)
		if !ok {
			t.Fatal("the first member got no records")
		}
		n[g.part]++
		held = append(held, g.pos)
	}
	b := openTest(t, context.Background(), brokers, "moved")
	moved := int32(-1)
	for deadline := time.Now().Add(20 * time.Second); moved < 0; {
		if time.Now().After(deadline) {
			t.Fatal("no partition moved to the second member")
		}
		if g, ok := next(t, b, time.Second); ok {
			moved = g.part
			b.Mark([]capture.Position{g.pos})
		}
	}
	produceTo(t, brokers, "db.t", []int32{moved}, 200, 300)
	for {
		g, ok := next(t, b, 1500*time.Millisecond)
		if !ok {
			break
		}
		b.Mark([]capture.Position{g.pos})
	}
	_ = b.Ack(context.Background(), nil)
	for deadline := time.Now().Add(10 * time.Second); committed(t, brokers, "moved", "db.t", 2)[moved] != 500; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the new owner's commit did not reach 500: %v", committed(t, brokers, "moved", "db.t", 2))
		}
	}
	a.Mark(held) // late: durable now, long after the revoke
	_ = a.Ack(context.Background(), nil)
	time.Sleep(1500 * time.Millisecond) // and the one-second commit of marks
	if got := committed(t, brokers, "moved", "db.t", 2)[moved]; got != 500 {
		t.Fatalf("partition %d: committed offset %d after the old owner's late Mark and Ack; the new owner committed 500", moved, got)
	}
}

// TestSourceBrokerRestart: the broker goes away mid-consume, long enough for the client to give
// its group session up, and comes back with its log and committed offsets. The source neither stops nor
// skips: the fetch errors are retried, the lost partitions' records already fetched are dropped
// and read again from the committed offset, and every record produced before and after reaches
// the sink; the committed offsets reach the end.
func TestSourceBrokerRestart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	start := func() *kfake.Cluster {
		var c *kfake.Cluster
		for range 50 { // the port was ours a moment ago
			if c, err = kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.DataDir(dir), kfake.SeedTopics(2, "db.t")); err == nil {
				return c
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatal(err)
		return nil
	}
	c := start()
	defer func() { c.Close() }()
	brokers := c.ListenAddrs()
	produceTo(t, brokers, "db.t", []int32{0, 1}, 0, 500)
	gotRecs := &delivered{n: map[string]int{}}
	src := openTest(t, context.Background(), brokers, "restart")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- pipeline.Run(ctx, pipeline.Config{Records: src, FlushInterval: 20 * time.Millisecond, NewSink: newSlowSink(gotRecs)})
	}()
	for deadline := time.Now().Add(10 * time.Second); gotRecs.count() < 300; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("nothing consumed")
		}
	}
	c.Close()
	time.Sleep(4 * time.Second) // the client gives the session up (partitions lost) after ~3 s
	c = start()
	produceTo(t, brokers, "db.t", []int32{0, 1}, 500, 500)
	for deadline := time.Now().Add(40 * time.Second); gotRecs.count() < 2000 || !committedEnd(t, brokers, "restart", "db.t"); time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-done:
			t.Fatalf("the pipeline stopped: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the restart: %d of 2000 records delivered, committed to the end: %v", gotRecs.count(), committedEnd(t, brokers, "restart", "db.t"))
		}
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}
