package kafka_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/offsets"
	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/sink/kafka"
)

// batchSeq is the position of an event inside a batch of a snapshot-like source: its offset
// names the batch's start (every event before it is done), so a restart from it reads the
// whole batch again, as a MySQL snapshot row's position does (capture.Rereader).
type batchSeq struct{ done, n uint64 }

func (p batchSeq) AppendOffset(dst []byte) []byte { return fmt.Appendf(dst, `{"seq":%d}`, p.done) }
func (p batchSeq) Rereads() bool                  { return true }

// batches is a source of changes from+1 … n in batches of 16 whose last event alone has an
// exact position, and whose events are ready without waiting (the stream sender path, as
// the MySQL source's).
type batches struct{ next, n uint64 }

func (s *batches) Next(context.Context) (capture.Event, error) {
	if s.next > s.n {
		return capture.Event{}, io.EOF
	}
	n := s.next
	s.next++
	var pos capture.Position = seq(n)
	if n%16 != 0 && n != s.n {
		pos = batchSeq{done: n - n%16, n: n}
	}
	return capture.Event{Kind: capture.Change, Op: capture.OpRead, Position: pos}, nil
}
func (s *batches) Ready() bool                                 { return s.next%5 != 0 }
func (s *batches) Ack(context.Context, capture.Position) error { return nil }
func (s *batches) Close() error                                { return nil }

// oneRecord encodes an event as one record naming its number.
type oneRecord struct{}

func (oneRecord) Encode(dst []envelope.Record, ev *capture.Event) ([]envelope.Record, error) {
	var n uint64
	switch p := ev.Position.(type) {
	case seq:
		n = uint64(p)
	case batchSeq:
		n = p.n
	}
	return append(dst, envelope.Record{Topic: "db.t", Key: fmt.Appendf(nil, `{"id":%d}`, n%97), Value: fmt.Appendf(nil, `"%d"`, n)}), nil
}
func (oneRecord) Heartbeat(dst []envelope.Record, _ time.Time) []envelope.Record { return dst }

// TestTxnSinkRereadingPositions: events whose positions reread them (a MySQL snapshot batch's
// rows) are cut by crashes at random moments, each run resuming from the offset Load reads.
// A transaction must end only at a position that covers its records: before the pipeline
// held EventDone back at rereading positions, a commit there stored an offset the restart
// read the batch again from, and read_committed showed those records twice.
func TestTxnSinkRereadingPositions(t *testing.T) {
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
	rng := rand.New(rand.NewPCG(3, 4))
	attempts := 0
	for ; ; attempts++ {
		if attempts > 300 {
			t.Fatal("no progress after 300 attempts")
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
		var sink atomic.Pointer[crashing]
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(time.Duration(5+rng.IntN(30))*time.Millisecond, func() {
			if s := sink.Load(); s != nil {
				s.crash.Store(true) // kill -9: the open transaction is abandoned
			}
			cancel()
		})
		err := pipeline.Run(ctx, pipeline.Config{
			Source: &batches{next: from, n: n}, Encoder: oneRecord{}, FlushInterval: 10 * time.Millisecond,
			NewSink: func(d pipeline.Durable) (pipeline.Sink, error) {
				s, err := kafka.OpenTxn(t.Context(), kafka.TxnConfig{
					Config:          kafka.Config{Client: client},
					TransactionalID: kafka.TxnID("eos", "db"), OffsetsTopic: "offsets",
					OffsetKey: offsets.Key("eos", "db"), CommitInterval: 2 * time.Millisecond,
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
		if err != nil && !capture.Retryable(err) {
			t.Fatalf("attempt %d: %v", attempts, err)
		}
	}
	committed, dup := count(t, brokers, kgo.ReadCommitted())
	t.Logf("%d attempts; read_committed: %d distinct records, %d duplicates", attempts, len(committed), dup)
	if len(committed) != n || dup != 0 {
		t.Fatalf("read_committed: %d distinct of %d records, %d duplicates; want each exactly once", len(committed), n, dup)
	}
}
