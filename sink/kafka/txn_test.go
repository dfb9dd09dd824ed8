package kafka_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/offsets"
	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/sink/kafka"
)

var (
	_ pipeline.Sink          = (*kafka.TxnSink)(nil)
	_ pipeline.EventBoundary = (*kafka.TxnSink)(nil)
)

type seq uint64

func (p seq) AppendOffset(dst []byte) []byte { return fmt.Appendf(dst, `{"seq":%d}`, uint64(p)) }

// events is a source of changes seq from+1 … n, then io.EOF; after failAt events (0: never)
// it fails with a retryable error, as a lost database connection does.
type events struct {
	next, n, failAt uint64
	sent            uint64
}

type lostConn struct{}

func (lostConn) Error() string   { return "connection lost" }
func (lostConn) Retryable() bool { return true }

func (s *events) Next(context.Context) (capture.Event, error) {
	if s.next > s.n {
		return capture.Event{}, io.EOF
	}
	if s.failAt > 0 && s.sent == s.failAt {
		return capture.Event{}, lostConn{}
	}
	s.sent++
	ev := capture.Event{Kind: capture.Change, Op: capture.OpCreate, Position: seq(s.next)}
	s.next++
	return ev, nil
}
func (s *events) Ack(context.Context, capture.Position) error { return nil }
func (s *events) Close() error                                { return nil }

// twoRecords encodes an event as two records (a change and its companion), so a transaction
// may be cut inside an event.
type twoRecords struct{}

func (twoRecords) Encode(dst []envelope.Record, ev *capture.Event) ([]envelope.Record, error) {
	n := uint64(ev.Position.(seq))
	return append(dst,
		envelope.Record{Topic: "db.t", Key: fmt.Appendf(nil, `{"id":%d}`, n%97), Value: fmt.Appendf(nil, `"%d-a"`, n)},
		envelope.Record{Topic: "db.t", Key: fmt.Appendf(nil, `{"id":%d}`, n%89), Value: fmt.Appendf(nil, `"%d-b"`, n)}), nil
}
func (twoRecords) Heartbeat(dst []envelope.Record, _ time.Time) []envelope.Record { return dst }

// crashing wraps a TxnSink and, when crash is set, skips Flush: the process died, its open
// transaction stays open until the next producer with the same id starts.
type crashing struct {
	*kafka.TxnSink
	crash atomic.Bool
}

func (c *crashing) Flush(ctx context.Context) error {
	if c.crash.Load() {
		return nil
	}
	return c.TxnSink.Flush(ctx)
}

// TestTxnSinkExactlyOnceAcrossFailures runs a source of 20,000 events (40,000 records) through
// the transactional sink in attempts that each end by a failure: a lost source connection
// (shutdown inside the stream), a crash (the open transaction is abandoned, as by kill -9), a
// commit the broker refuses (the transaction is aborted), each attempt resuming from the
// offset Load reads. A read_committed consumer then sees every record exactly once; a
// read_uncommitted one sees duplicates, so the check can fail.
func TestTxnSinkExactlyOnceAcrossFailures(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "db.t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	client := ikafka.ClientConfig{Brokers: brokers, DeliveryTimeout: 20 * time.Second}
	store, err := offsets.NewKafka(t.Context(), offsets.KafkaConfig{Client: client, Topic: "offsets", Name: "eos", TopicPrefix: "db"})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	const n = 20000
	var refuse atomic.Int32
	c.ControlKey(kmsg.EndTxn.Int16(), func(r kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := r.(*kmsg.EndTxnRequest)
		if !req.Commit || refuse.Load() == 0 || !refuse.CompareAndSwap(1, 0) {
			return nil, nil, false
		}
		resp := req.ResponseKind().(*kmsg.EndTxnResponse)
		resp.ErrorCode = kerr.InvalidTxnState.Code // not retried by the client: the sink aborts
		return resp, nil, true
	})
	rng := rand.New(rand.NewPCG(1, 2))
	var attempts, crashes, refused, lost int
	for ; ; attempts++ {
		if attempts > 200 {
			t.Fatal("no progress after 200 attempts")
		}
		from := uint64(1)
		if v, err := store.Load(t.Context()); err != nil {
			t.Fatal(err)
		} else if v != nil {
			var o struct{ Seq uint64 }
			if err := json.Unmarshal(v, &o); err != nil {
				t.Fatal(err)
			}
			from = o.Seq + 1
		}
		if from > n {
			break
		}
		src := &events{next: from, n: n, failAt: uint64(200 + rng.IntN(1500))}
		mode := rng.IntN(3)
		if attempts < 3 {
			mode = attempts // each kind of failure at least once, however fast the run goes
		}
		var sink atomic.Pointer[crashing]
		ctx, cancel := context.WithCancel(t.Context())
		if mode == 1 {
			// Crash at a random moment: stop the run without the orderly Flush.
			time.AfterFunc(time.Duration(2+rng.IntN(15))*time.Millisecond, func() {
				if s := sink.Load(); s != nil {
					s.crash.Store(true)
				}
				cancel()
			})
			src.failAt = 0
		}
		if mode == 2 {
			refuse.Store(1)
			src.failAt = 0 // the refused commit ends this attempt
		}
		err := pipeline.Run(ctx, pipeline.Config{
			Source: src, Encoder: twoRecords{}, FlushInterval: 10 * time.Millisecond,
			NewSink: func(d pipeline.Durable) (pipeline.Sink, error) {
				s, err := kafka.OpenTxn(t.Context(), kafka.TxnConfig{
					Config:          kafka.Config{Client: client},
					TransactionalID: kafka.TxnID("eos", "db"), OffsetsTopic: "offsets",
					OffsetKey: offsets.Key("eos", "db"), CommitInterval: 5 * time.Millisecond,
				}, d)
				if err != nil {
					return nil, err
				}
				cs := &crashing{TxnSink: s}
				sink.Store(cs)
				return cs, nil
			},
		})
		cancel()
		var terr *kafka.TxnError
		switch {
		case err == nil:
			if mode == 1 {
				crashes++
			}
		case errors.As(err, &terr) && capture.Retryable(err):
			refused++
		case capture.Retryable(err):
			lost++
		default:
			t.Fatalf("attempt %d: %v", attempts, err)
		}
		refuse.Store(0)
	}
	committed, dup := count(t, brokers, kgo.ReadCommitted())
	t.Logf("%d attempts (%d crashes, %d refused commits, %d lost connections); read_committed: %d distinct records, %d duplicates", attempts, crashes, refused, lost, len(committed), dup)
	if crashes == 0 || refused == 0 || lost == 0 {
		t.Errorf("not every kind of failure happened (%d crashes, %d refused commits, %d lost connections)", crashes, refused, lost)
	}
	if len(committed) != 2*n {
		var missing []int
		for i := 1; i <= n && len(missing) < 10; i++ {
			for _, sfx := range []string{"a", "b"} {
				if committed[fmt.Sprintf(`"%d-%s"`, i, sfx)] == 0 {
					missing = append(missing, i)
				}
			}
		}
		v, _ := store.Load(t.Context())
		t.Logf("first missing: %v; stored offset %s", missing, v)
		for p := int32(0); p < 3; p++ {
			t.Logf("db.t/%d: %s", p, offsetsOf(t, brokers, "db.t", p))
		}
	}
	if len(committed) != 2*n || dup != 0 {
		t.Fatalf("read_committed: %d distinct of %d records, %d duplicates; want each exactly once", len(committed), 2*n, dup)
	}
	if _, udup := count(t, brokers, kgo.ReadUncommitted()); udup == 0 {
		t.Errorf("read_uncommitted saw no duplicates: the failures did not cut any transaction, the test proves nothing")
	} else {
		t.Logf("read_uncommitted: %d duplicates (aborted transactions)", udup)
	}
}

// count reads db.t to its end as iso reads it and returns the distinct values and the number
// of values seen more than once.
func count(t *testing.T, brokers []string, iso kgo.IsolationLevel) (map[string]int, int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.FetchIsolationLevel(iso),
		kgo.ConsumeTopics("db.t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	seen := map[string]int{}
	dup := 0
	// Done after 2 s without records once some came (30 s without any: an empty topic).
	quiet, wait := time.Now(), 30*time.Second
	for time.Since(quiet) < wait {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		fs.EachRecord(func(r *kgo.Record) {
			seen[string(r.Value)]++
			if seen[string(r.Value)] == 2 {
				dup++
			}
			quiet, wait = time.Now(), 2*time.Second
		})
	}
	return seen, dup
}

// offsetsOf describes a partition's high watermark and last stable offset.
func offsetsOf(t *testing.T, brokers []string, topic string, p int32) string {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out string
	for _, iso := range []int8{0, 1} {
		req := kmsg.NewPtrListOffsetsRequest()
		req.IsolationLevel = iso
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = p, -1
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(t.Context(), cl)
		if err != nil {
			return err.Error()
		}
		out += fmt.Sprintf(" iso%d=%d", iso, resp.Topics[0].Partitions[0].Offset)
	}
	return out
}

// TestTxnSinkFenced: a second sink with the same transactional id (a second process of the
// connector) fences the first; the first's next commit fails with a TxnError that is not
// retryable, and nothing it wrote after the takeover is visible read_committed.
func TestTxnSinkFenced(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "db.t", "offsets"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	open := func() *kafka.TxnSink {
		s, err := kafka.OpenTxn(t.Context(), kafka.TxnConfig{
			Config:          kafka.Config{Client: ikafka.ClientConfig{Brokers: brokers}},
			TransactionalID: kafka.TxnID("eos", "db"), OffsetsTopic: "offsets", OffsetKey: offsets.Key("eos", "db"),
			CommitInterval: time.Hour,
		}, func(uint64) {})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	old := open()
	if err := old.Send(t.Context(), &envelope.Record{Topic: "db.t", Value: []byte(`"old-1"`)}, 1); err != nil {
		t.Fatal(err)
	}
	if err := old.EventDone(t.Context(), seq(1)); err != nil {
		t.Fatal(err)
	}
	if err := old.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	standby := open()
	if err := standby.Send(t.Context(), &envelope.Record{Topic: "db.t", Value: []byte(`"new-2"`)}, 1); err != nil {
		t.Fatal(err)
	}
	if err := standby.EventDone(t.Context(), seq(2)); err != nil {
		t.Fatal(err)
	}
	if err := standby.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The old process resumes (SIGCONT) and writes on.
	err = old.Send(t.Context(), &envelope.Record{Topic: "db.t", Value: []byte(`"old-after"`)}, 2)
	if err == nil {
		err = old.EventDone(t.Context(), seq(3))
	}
	if err == nil {
		err = old.Flush(t.Context())
	}
	var terr *kafka.TxnError
	if !errors.As(err, &terr) || !terr.Fenced || capture.Retryable(err) {
		t.Fatalf("the fenced sink returned %v; want a fenced, non-retryable TxnError", err)
	}
	got, _ := count(t, brokers, kgo.ReadCommitted())
	if len(got) != 2 || got[`"old-1"`] != 1 || got[`"new-2"`] != 1 {
		t.Fatalf("read_committed sees %v; want old-1 and new-2 only", got)
	}
}
