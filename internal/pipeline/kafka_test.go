package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/offsets"
	"github.com/sluicecdc/sluice/internal/testkit"
	"github.com/sluicecdc/sluice/sink/kafka"
)

// numberedSource emits events start+1 … n, then blocks. Every 97th event is a Keepalive (no
// record); the others are changes of key n%keys. check runs at every Ack.
type numberedSource struct {
	next, n int
	check   func(acked int) error

	mu    sync.Mutex
	acked int
}

const keys = 64

func (s *numberedSource) Next(ctx context.Context) (capture.Event, error) {
	if s.next > s.n {
		<-ctx.Done()
		return capture.Event{}, ctx.Err()
	}
	i := s.next
	s.next++
	if i%97 == 0 {
		return capture.Event{Kind: capture.Keepalive, Position: numPos(i)}, nil
	}
	return capture.Event{Kind: capture.Change, Op: capture.OpCreate, Position: numPos(i), Source: capture.Source{Row: int32(i)}}, nil
}

func (s *numberedSource) Ack(_ context.Context, p capture.Position) error {
	n := int(p.(numPos))
	s.mu.Lock()
	prev := s.acked
	s.acked = n
	s.mu.Unlock()
	if n < prev {
		return fmt.Errorf("ack %d after %d", n, prev)
	}
	if s.check != nil {
		return s.check(n)
	}
	return nil
}

func (s *numberedSource) lastAck() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acked
}

func (s *numberedSource) Close() error { return nil }

type numberedEncoder struct{ buf []byte }

func (e *numberedEncoder) Encode(dst []envelope.Record, ev *capture.Event) ([]envelope.Record, error) {
	i := int(ev.Source.Row)
	e.buf = fmt.Appendf(e.buf[:0], `{"k":%d}`, i%keys)
	k := len(e.buf)
	e.buf = fmt.Appendf(e.buf, `{"n":%d}`, i)
	return append(dst, envelope.Record{Topic: "numbers", Key: e.buf[:k], Value: e.buf[k:]}), nil
}

func (e *numberedEncoder) Heartbeat(dst []envelope.Record, _ time.Time) []envelope.Record { return dst }

func eventNumber(v []byte) int {
	n, err := strconv.Atoi(string(bytes.TrimSuffix(bytes.TrimPrefix(v, []byte(`{"n":`)), []byte("}"))))
	if err != nil {
		panic(fmt.Sprintf("bad value %q", v))
	}
	return n
}

// brokerLog follows every partition of a topic and answers "which event numbers does the
// broker hold right now".
type brokerLog struct {
	admin *kadm.Client
	topic string
	parts []int32

	mu       sync.Mutex
	cond     *sync.Cond
	next     map[int32]int64 // next offset to read per partition
	seen     map[int]bool
	checked  int // events ≤ checked verified present
	failures []string
}

func newBrokerLog(t *testing.T, addrs []string, topic string) *brokerLog {
	t.Helper()
	admin := testkit.KafkaAdmin(t, addrs)
	start := map[int32]kgo.Offset{}
	var parts []int32
	for p := range testkit.KafkaEndOffsets(t, admin, topic) {
		parts = append(parts, p)
		start[p] = kgo.NewOffset().AtStart()
	}
	cl := testkit.KafkaClient(t, addrs, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: start}))
	l := &brokerLog{admin: admin, topic: topic, parts: parts, next: map[int32]int64{}, seen: map[int]bool{}}
	l.cond = sync.NewCond(&l.mu)
	go func() {
		for {
			fs := cl.PollFetches(context.Background())
			if fs.IsClientClosed() {
				return
			}
			l.mu.Lock()
			fs.EachRecord(func(m *kgo.Record) {
				l.seen[eventNumber(m.Value)] = true
				l.next[m.Partition] = m.Offset + 1
			})
			l.cond.Broadcast()
			l.mu.Unlock()
		}
	}()
	return l
}

// verify checks that the broker holds a record of every change event ≤ acked.
func (l *brokerLog) verify(acked int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := l.admin.ListEndOffsets(ctx, l.topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return err
	}
	hwm := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { hwm[o.Partition] = o.Offset })
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, p := range l.parts {
		for l.next[p] < hwm[p] {
			l.cond.Wait()
		}
	}
	for i := l.checked + 1; i <= acked; i++ {
		if i%97 != 0 && !l.seen[i] {
			err := fmt.Errorf("position %d acknowledged but event %d is not in the broker", acked, i)
			l.failures = append(l.failures, err.Error())
			return err
		}
	}
	l.checked = max(l.checked, acked)
	return nil
}

// TestKafkaFaultsAtLeastOnceInOrder publishes 100,000 events through the pipeline and the Kafka
// sink to kfake while kfake fails produce requests: retriable NOT_LEADER_FOR_PARTITION every 5th
// request and, once, a non-retriable INVALID_RECORD. It checks at every acknowledgement that
// the broker holds every record up to the acknowledged position; that the failure stops the
// pipeline with the error; and that after a restart from the stored offset (Kafka offsets
// store) every record is present at least once, with duplicates only after the stored offset,
// and in per-key order: each key's log is its records in order, except that records sarama had
// already queued behind the failed batch (it bumps the producer epoch and carries on, as the
// Java producer does since KIP-360) were published in run 1 and are replayed, in order, after
// the restart. Read in log order, the last occurrences of a key's events are in event order.
func TestKafkaFaultsAtLeastOnceInOrder(t *testing.T) {
	const n = 100_000
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addrs := c.ListenAddrs()

	var produces, injected atomic.Int64
	var offsetsID atomic.Value
	offsetsID.Store([16]byte{})
	// Run 1 ends only through the fatal failure, which must come after a first offset is
	// stored (the restart resumes from it) and before the producer is done; counting requests
	// cannot place it, since how many records a request carries depends on timing (no linger).
	// So the first request after the first acknowledgement fails.
	var fatalArmed, fatalOn atomic.Bool
	fatalOn.Store(true)
	c.ControlKey(kmsg.Produce.Int16(), func(r kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := r.(*kmsg.ProduceRequest)
		// Produce v13 names topics by ID only; the offsets topic exists before the first
		// produce to "numbers" (created with the store below).
		if len(req.Topics) == 0 || req.Topics[0].Topic == "sluice-offsets" || req.Topics[0].TopicID == offsetsID.Load().([16]byte) {
			return nil, nil, false // the offsets topic is left alone
		}
		k := produces.Add(1)
		var code int16
		switch {
		case fatalArmed.Load() && fatalOn.CompareAndSwap(true, false):
			code = 87 // INVALID_RECORD: not retried
		case k%5 == 0:
			code = 6 // NOT_LEADER_FOR_PARTITION: retried
		default:
			return nil, nil, false
		}
		injected.Add(1)
		return testkit.ProduceError(req, code), nil, true
	})

	store, err := offsets.NewKafka(context.Background(), offsets.KafkaConfig{Client: ikafka.ClientConfig{Brokers: addrs}, Topic: "sluice-offsets", Name: "test", TopicPrefix: "numbers"})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	offsetsID.Store(c.TopicInfo("sluice-offsets").TopicID)

	var log *brokerLog
	var logOnce sync.Once
	check := func(acked int) error {
		logOnce.Do(func() { log = newBrokerLog(t, addrs, "numbers") })
		return log.verify(acked)
	}
	newSink := func(d Durable) (Sink, error) {
		// The default linger (none). With it this test used to crawl (and hit its 5-minute
		// deadline twice in ~10 CI runs): no linger means ~8× more produce requests, hence more
		// injected NOT_LEADER, and sarama counts a retry against every record of the
		// partition queued behind a failed batch, so records climbed to retry 10-16; the sink
		// waited RetryBackoff·2^retries (then up to 5 s) at each level while the partition's
		// producer blocked the dispatcher. Waits now stop at ten times RetryBackoff (Kafka's
		// retry.backoff.max.ms) and DeliveryTimeout, not the retry count, bounds a record.
		return kafka.New(kafka.Config{Client: ikafka.ClientConfig{Brokers: addrs, RetryBackoff: 2 * time.Millisecond}, Partitions: 4, MaxBufferedBytes: 256 << 10}, d)
	}
	run := func(ctx context.Context, src *numberedSource) error {
		return Run(ctx, Config{Source: src, Encoder: &numberedEncoder{}, NewSink: newSink, Offsets: store, FlushInterval: 20 * time.Millisecond})
	}

	// Run 1: ends with the injected non-retriable failure.
	src1 := &numberedSource{next: 1, n: n, check: func(acked int) error {
		fatalArmed.Store(true)
		return check(acked)
	}}
	err = run(context.Background(), src1)
	var perr *kafka.ProduceError
	if !errors.As(err, &perr) || !errors.Is(err, kerr.InvalidRecord) {
		t.Fatalf("run 1 ended with %v, want the injected INVALID_RECORD", err)
	}
	stored, err := store.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if stored == nil {
		t.Fatal("nothing stored after run 1")
	}
	resume := eventNumber(stored)
	if resume != src1.lastAck() {
		t.Fatalf("stored offset %d, last ack %d", resume, src1.lastAck())
	}
	if resume >= n {
		t.Fatalf("run 1 acknowledged everything (%d) despite the failure", resume)
	}
	t.Logf("run 1: %d produce requests, %d failed by injection, stored offset %d", produces.Load(), injected.Load(), resume)

	// Run 2: restart after the stored offset; retriable faults continue. Should they exhaust
	// sarama's retries, the error is retryable and the test restarts again, as cmd does.
	restarts := 0
	for {
		stored, err := store.Load(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		src := &numberedSource{next: eventNumber(stored) + 1, n: n, check: check}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- run(ctx, src) }()
		deadline := time.After(5 * time.Minute)
		progress := time.NewTicker(5 * time.Second)
		var runErr error
	wait:
		for src.lastAck() < n {
			select {
			case runErr = <-done:
				break wait
			case <-deadline:
				cancel()
				t.Fatalf("restart %d: last ack %d after 5 minutes", restarts+1, src.lastAck())
			case <-progress.C:
				t.Logf("restart %d: last ack %d, %d produce requests, %d failed by injection", restarts+1, src.lastAck(), produces.Load(), injected.Load())
			case <-time.After(10 * time.Millisecond):
			}
		}
		progress.Stop()
		cancel()
		if runErr == nil {
			runErr = <-done
			if runErr == nil {
				break
			}
		}
		if !capture.Retryable(runErr) || restarts == 5 {
			t.Fatalf("restart %d ended: %v (last ack %d)", restarts+1, runErr, src.lastAck())
		}
		restarts++
		t.Logf("restart %d after a retryable error: %v", restarts, runErr)
	}
	t.Logf("total: %d produce requests, %d failed by injection, %d extra restarts", produces.Load(), injected.Load(), restarts)

	// Everything present at least once, per-key order, duplicates only after the stored offset.
	if err := log.verify(n); err != nil {
		t.Fatal(err)
	}
	if len(log.failures) > 0 {
		t.Fatalf("early acknowledgements: %v", log.failures)
	}
	perKey := readAll(t, addrs, "numbers")
	total, dups, inversions := 0, 0, 0
	for k, seq := range perKey {
		count := map[int]int{}
		for _, e := range seq {
			total++
			if e%keys != k {
				t.Fatalf("event %d under key %d", e, k)
			}
			count[e]++
			if count[e] == 2 {
				dups++
				if e <= resume {
					t.Fatalf("event %d (≤ stored offset %d) delivered twice", e, resume)
				}
			}
		}
		// Read in log order, each key's last occurrences are in event order: a consumer that
		// applies the log in order ends with every key's events applied in source order.
		last, seen := 0, map[int]int{}
		for i, e := range seq {
			if i > 0 && e < seq[i-1] {
				inversions++ // a replay after the restart
			}
			seen[e]++
			if seen[e] < count[e] {
				continue
			}
			if e <= last {
				t.Fatalf("key %d: last occurrence of event %d comes after that of %d", k, e, last)
			}
			last = e
		}
		for e := k; e <= n; e += keys {
			if e > 0 && e%97 != 0 && count[e] == 0 {
				t.Fatalf("event %d missing", e)
			}
		}
	}
	if inversions > keys*(1+restarts) {
		t.Fatalf("%d replay points for %d keys, want at most one per key and restart", inversions, keys)
	}
	t.Logf("%d records in Kafka for %d events, %d duplicates, %d keys with a replay", total, n-n/97, dups, inversions)
}

// readAll returns the event numbers per key in partition order.
func readAll(t *testing.T, addrs []string, topic string) map[int][]int {
	t.Helper()
	parts := int32(len(testkit.KafkaEndOffsets(t, testkit.KafkaAdmin(t, addrs), topic)))
	out := map[int][]int{}
	for _, m := range testkit.KafkaReadAll(t, addrs, topic, kgo.ReadUncommitted()) {
		e := eventNumber(m.Value)
		if want := ikafka.Partition([]byte(fmt.Sprintf(`{"k":%d}`, e%keys)), parts); want != m.Partition {
			t.Fatalf("event %d on partition %d, murmur2 says %d", e, m.Partition, want)
		}
		out[e%keys] = append(out[e%keys], e)
	}
	return out
}
