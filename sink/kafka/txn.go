package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
)

// TxnConfig configures a TxnSink (--exactly-once, exactly.once.support=required).
type TxnConfig struct {
	// Config holds the settings shared with Sink: Client, Compression, Partitions,
	// Replication, NoCreateTopics, MaxBufferedBytes, MaxMessageBytes, Linger, Logger.
	Config
	// TransactionalID is stable per connector (TxnID): a second process with the same id
	// fences the first. Required.
	TransactionalID string
	// OffsetsTopic and OffsetKey are where each transaction stores the offset of its last
	// event (the offsets store's topic and offsets.Key). Required.
	OffsetsTopic string
	OffsetKey    []byte
	// CommitInterval is how long a transaction stays open at most while events arrive
	// (default DefaultCommitInterval): read_committed consumers see records after the commit.
	CommitInterval time.Duration
}

// DefaultCommitInterval is TxnConfig.CommitInterval's default.
const DefaultCommitInterval = 100 * time.Millisecond

// TxnID is the transactional.id of a connector: one per name and topic prefix, so a restarted
// or standby process of the same connector fences the one before it.
func TxnID(name, topicPrefix string) string {
	return "sluice-" + name + "-" + topicPrefix
}

// TxnSink writes records in Kafka transactions: each transaction holds the records of whole
// events and, last, the offset record of its last event in the offsets topic; it commits at an
// event boundary once CommitInterval has passed, whether another event follows or the source
// went idle (a timer commits then: the tail of a burst is not held back until the next event,
// which on a quiet database may be a keepalive 10–30 s later). A record is reported durable only after its
// transaction committed, so the source confirms nothing a read_committed consumer cannot see,
// and after a crash the source resumes from the offset committed with the records: nothing is
// read twice or missed. An open transaction is lost with the process; the next producer with
// the same TransactionalID aborts it when it starts.
//
// Send and EventDone are called from one goroutine (the pipeline's sender); Flush and Close
// from it or after it stopped; the idle commit runs on its own goroutine under mu.
type TxnSink struct {
	cfg     TxnConfig
	cl      *kgo.Client
	durable func(uint64)
	log     *slog.Logger
	// promiseFn is s.promise, made once (a method value passed to Produce allocates).
	promiseFn func(*kgo.Record, error)

	mu    sync.Mutex
	inTxn bool
	began time.Time // the open transaction began, or the last commit ended
	// due is set by the commit timer once CommitInterval has passed since began: EventDone
	// reads it instead of the clock (a clock read per event was ~5% of the sink's CPU).
	due    bool
	timer  *time.Timer // fires CommitInterval after began (onDue)
	tokens []uint64    // tokens of the open transaction
	// staleBefore is when the sender's last wait in the sink ended (ns since the epoch): a
	// record encoded before it gets the client's clock, not its own time (Send).
	staleBefore int64
	slabs       *slabs // taken under mu, released by the promise
	// buffered is the payload (key, value, headers) of the records produced whose promise has
	// not run: what the client counts against its MaxBufferedBytes.
	buffered atomic.Int64
	partial  bool // a record was sent since the last EventDone (an event may be cut)
	lastPos  capture.Position
	topics   map[string]topicState
	// unheld are the topics the open transaction wrote to that the client may not hold yet:
	// commit waits for them (ikafka.AwaitProducerPartitions) before it ends the transaction.
	unheld  []string
	scratch []byte
	// extra are records of other stores (the MySQL schema history) to write in the open
	// transaction, queued by ProduceInTxn; produced at the next Send or commit.
	extra  []*kgo.Record
	closed bool

	// life ends at Close: records are produced under it, not under the caller's ctx, which
	// franz-go would let cancel records already buffered (a shutdown cutting a transaction
	// that Flush may still commit).
	life context.Context
	stop context.CancelFunc
	// failed ends when a transaction failed for good, so that an idle pipeline stops at a
	// failed idle commit instead of waiting for an event that would return the error.
	failed context.Context
	fail   context.CancelFunc

	err atomic.Pointer[TxnError] // first error of the open transaction (promises, abort)
}

// OpenTxn connects with cfg.TransactionalID; the broker aborts what an earlier producer with
// that id left open and fences it. durable is called, after each commit, with the tokens of
// the records the transaction held.
func OpenTxn(ctx context.Context, cfg TxnConfig, durable func(token uint64)) (*TxnSink, error) {
	if cfg.TransactionalID == "" || cfg.OffsetsTopic == "" || len(cfg.OffsetKey) == 0 {
		return nil, errors.New("kafka --exactly-once: transactional id, offsets topic and offset key are required (--exactly-once needs --offsets-topic)")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Config = cfg.withDefaults()
	if cfg.CommitInterval <= 0 {
		cfg.CommitInterval = DefaultCommitInterval
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts, err := cfg.Client.Kgo("sluice", log)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	comp, err := ParseCompression(cfg.Compression)
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		kgo.TransactionalID(cfg.TransactionalID),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(comp),
		kgo.ProducerBatchMaxBytes(int32(cfg.MaxMessageBytes)),
		kgo.MaxBufferedBytes(int(cfg.MaxBufferedBytes)),
		kgo.RecordDeliveryTimeout(max(cfg.Client.DeliveryTimeout, time.Second)),
		kgo.ProducerLinger(cfg.Linger), // as Sink: none by default (the client's is 10 ms)
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(kgo.KafkaHasher(murmur2))),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	if err := cfg.Client.Retry(ctx, log, "connect to the brokers", func() error { return cl.Ping(ctx) }); err != nil {
		cl.Close()
		return nil, fmt.Errorf("kafka: %w", err)
	}
	life, stop := context.WithCancel(context.Background())
	failed, fail := context.WithCancel(context.Background())
	s := &TxnSink{cfg: cfg, cl: cl, durable: durable, log: log, topics: map[string]topicState{cfg.OffsetsTopic: topicCreated},
		life: life, stop: stop, failed: failed, fail: fail, slabs: newSlabs(cfg.MaxBufferedBytes)}
	s.promiseFn = s.promise
	s.mu.Lock()
	s.began = time.Now()
	s.timer = time.AfterFunc(cfg.CommitInterval, s.onDue)
	s.mu.Unlock()
	return s, nil
}

// restartInterval starts a CommitInterval at now (a transaction began, or a commit ended).
// s.mu is held.
func (s *TxnSink) restartInterval(now time.Time) {
	s.began, s.due = now, false
	s.timer.Reset(s.cfg.CommitInterval)
}

// onDue runs on the commit timer's goroutine once CommitInterval passed since began: it lets
// the next EventDone commit, and commits at once a transaction that ended at an event boundary
// when no further event comes to commit it (EventDone commits only when called).
func (s *TxnSink) onDue() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || time.Since(s.began) < s.cfg.CommitInterval {
		return // a timer that fired as it was restarted: the new one follows
	}
	s.due = true
	if !s.partial && s.lastPos != nil && s.err.Load() == nil {
		if err := s.commit(s.life); err != nil {
			s.log.Error("kafka: idle commit failed", "err", err)
		}
	}
}

// Failed is closed once a transaction failed for good (pipeline.FailureNotifier).
func (s *TxnSink) Failed() <-chan struct{} { return s.failed.Done() }

// TxnError is a failed transaction: it was aborted (or is left for the broker to abort), and
// nothing of it is visible to read_committed consumers. Retryable unless this producer was
// fenced by another process with the same transactional.id.
type TxnError struct {
	Op     string
	Fenced bool
	Err    error
}

func (e *TxnError) Error() string {
	if e.Fenced {
		return fmt.Sprintf("kafka transaction: %s: fenced: another sluice with the same name and topic prefix took over: %v", e.Op, e.Err)
	}
	return fmt.Sprintf("kafka transaction: %s (aborted; resume from the last committed offset): %v", e.Op, e.Err)
}
func (e *TxnError) Unwrap() error   { return e.Err }
func (e *TxnError) Retryable() bool { return !e.Fenced }

func fenced(err error) bool {
	var f fencedErr
	return ikafka.Fenced(err) || errors.As(err, &f) || errors.Is(err, kerr.TransactionalIDAuthorizationFailed)
}

// fencedErr marks an error that kafka.TxnFenced found to be a fence.
type fencedErr struct{ error }

func (e fencedErr) Unwrap() error { return e.error }

func (s *TxnSink) txnErr(op string, err error) *TxnError {
	return &TxnError{Op: op, Fenced: fenced(err), Err: err}
}

// Send produces a copy of rec in the open transaction (beginning one if none is). It blocks
// while MaxBufferedBytes are unacknowledged, until ctx ends.
func (s *TxnSink) Send(ctx context.Context, rec *envelope.Record, token uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.firstErr(); err != nil {
		return err
	}
	payload, size := recordSize(rec)
	if size > s.cfg.MaxMessageBytes {
		return newRecordTooLarge(rec, size, s.cfg.MaxMessageBytes)
	}
	st := s.topics[rec.Topic]
	if st&topicCreated == 0 && !s.cfg.NoCreateTopics {
		if err := s.createTopic(ctx, rec.Topic); err != nil {
			return err
		}
	}
	if !s.inTxn {
		if err := s.cl.BeginTransaction(); err != nil {
			return s.txnErr("begin", err)
		}
		s.inTxn = true
		s.restartInterval(time.Now())
	}
	if len(s.extra) > 0 {
		s.produceExtra()
	}
	m, buf := s.slabs.message(payload)
	m.size = int64(payload)
	s.buffered.Add(m.size)
	r := &m.rec
	r.Topic = rec.Topic
	fill(r, rec, buf)
	// The encoder's processing time (the envelope's ts_ms) saves the client a clock read per
	// record, unless the record was encoded before the sender's last wait here: the client
	// counts the delivery timeout from the timestamp. Nor when Produce may wait for buffer
	// room: the client stamps a record before that wait, and the wait makes later ones stale.
	wait := s.buffered.Load() > s.cfg.MaxBufferedBytes // this record's payload included
	if rec.TsNS > s.staleBefore && !wait {
		r.Timestamp = time.Unix(0, rec.TsNS)
	}
	if st&topicHeld == 0 {
		s.writesTo(rec.Topic)
	}
	s.cl.Produce(s.life, r, s.promiseFn)
	if wait {
		s.staleBefore = time.Now().UnixNano()
	}
	s.tokens = append(s.tokens, token)
	s.partial = true
	return nil
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

func (s *TxnSink) promise(r *kgo.Record, err error) {
	if err != nil && s.err.Load() == nil {
		s.err.CompareAndSwap(nil, s.txnErr("produce to "+r.Topic, err))
	}
	if m, ok := r.Context.(*message); ok { // not the offset records, nor ProduceInTxn's
		s.buffered.Add(-m.size)
		s.slabs.release(m) // after reading r: its slab may be reused at once
	}
}

func (s *TxnSink) firstErr() error {
	if e := s.err.Load(); e != nil {
		return e
	}
	return nil
}

// createTopic creates topic (ignoring that it exists) with the configured partitions and
// replication.
func (s *TxnSink) createTopic(ctx context.Context, topic string) error {
	t := ikafka.Topic{Name: topic, Partitions: s.cfg.Partitions, Replication: s.cfg.Replication}
	if _, err := s.cfg.Client.EnsureTopicKgo(ctx, s.log, s.cl, &t); err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	s.topics[topic] |= topicCreated
	return nil
}

// topicState is what the sink knows of a topic it writes to.
type topicState uint8

const (
	topicCreated topicState = 1 << iota // created by the sink, or assumed to exist (the offsets topic)
	topicHeld                           // the client holds its partitions (AwaitProducerPartitions)
)

// writesTo notes that the open transaction writes to topic, which the client may not hold yet.
// s.mu is held.
func (s *TxnSink) writesTo(topic string) {
	if s.topics[topic]&topicHeld != 0 || slices.Contains(s.unheld, topic) {
		return
	}
	s.unheld = append(s.unheld, topic)
}

// ProduceInTxn queues recs (records of another topic: the MySQL schema history records of a
// DDL) to be written in the open transaction, so they commit together with the records and the
// offset of the event that follows them, or are aborted with them: a restart from the last
// committed offset re-reads the DDL and writes them again. Records queued before an event's
// EventDone commit no later than that event's offset. queued is false after Close (the caller
// then writes them itself, outside any transaction); a failed sink returns its error.
func (s *TxnSink) ProduceInTxn(_ context.Context, recs []*kgo.Record) (queued bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false, nil
	}
	if err := s.firstErr(); err != nil {
		return false, err
	}
	s.extra = append(s.extra, recs...)
	return true, nil
}

// produceExtra produces the queued records of other stores in the open transaction. s.mu is
// held and a transaction is open.
func (s *TxnSink) produceExtra() {
	for _, r := range s.extra {
		s.writesTo(r.Topic)
		s.cl.Produce(s.life, r, s.promiseFn)
	}
	clear(s.extra)
	s.extra = s.extra[:0]
}

// EventDone marks the end of the event at pos (pipeline.EventBoundary) and commits the open
// transaction, with pos as its offset, once it has been open for CommitInterval.
func (s *TxnSink) EventDone(ctx context.Context, pos capture.Position) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastPos, s.partial = pos, false
	// Events without records (keepalives, skipped changes) commit an offset-only transaction
	// at most once per interval as well, not once each.
	if !s.due {
		return nil
	}
	return s.commit(ctx)
}

// commit writes the offset record of the last event, commits and reports the transaction's
// records durable. On any failure it aborts (as far as the broker is reachable) and returns a
// *TxnError. s.mu is held.
func (s *TxnSink) commit(ctx context.Context) error {
	if s.lastPos == nil {
		return nil
	}
	if !s.inTxn {
		// Only positions moved (keepalives): store them too, so a restart does not begin
		// before them; a transaction of the offset record alone.
		if err := s.cl.BeginTransaction(); err != nil {
			return s.txnErr("begin", err)
		}
		s.inTxn = true
	}
	s.produceExtra()
	s.scratch = s.lastPos.AppendOffset(s.scratch[:0])
	s.writesTo(s.cfg.OffsetsTopic)
	s.cl.Produce(s.life, &kgo.Record{Topic: s.cfg.OffsetsTopic, Key: s.cfg.OffsetKey, Value: clone(s.scratch)}, s.promiseFn)
	s.lastPos = nil
	if err := s.cl.Flush(ctx); err != nil {
		return s.abort(ctx, "flush", err)
	}
	if err := s.firstErr(); err != nil {
		return s.abort(ctx, "produce", err)
	}
	// A topic's first transaction: the client may send and acknowledge its records before it
	// holds its partitions, and EndTransaction would then leave them out (the next
	// transaction's first write to them refused with OUT_OF_ORDER_SEQUENCE_NUMBER, or the
	// commit turned into an abort).
	if len(s.unheld) > 0 {
		if err := ikafka.AwaitProducerPartitions(ctx, s.cl, s.unheld, ikafka.ProducerPartitionsWait); err != nil {
			return s.abort(ctx, "commit", err)
		}
		for _, t := range s.unheld {
			s.topics[t] |= topicHeld
		}
		s.unheld = s.unheld[:0]
	}
	pid, epoch, _ := s.cl.ProducerID(ctx) // to tell a fence from an INVALID_TXN_STATE of our own
	if err := s.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		if ikafka.TxnFenced(ctx, s.cl, s.cfg.TransactionalID, pid, epoch, err) {
			err = fencedErr{err}
		}
		return s.abort(ctx, "commit", err)
	}
	s.inTxn = false
	now := time.Now()
	s.restartInterval(now)
	s.staleBefore = now.UnixNano() // the sender waited for the commit
	for _, t := range s.tokens {
		s.durable(t)
	}
	s.tokens = s.tokens[:0]
	return nil
}

// abort ends the open transaction without committing and makes err the sink's error.
func (s *TxnSink) abort(ctx context.Context, op string, err error) error {
	terr := s.txnErr(op, err)
	s.err.Store(terr)
	s.fail()
	if !terr.Fenced {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if aerr := s.cl.AbortBufferedRecords(actx); aerr == nil {
			if aerr := s.cl.EndTransaction(actx, kgo.TryAbort); aerr != nil {
				s.log.Warn("kafka: abort transaction failed; the broker aborts it when the next producer starts", "err", aerr)
			}
		}
	}
	s.inTxn = false
	s.tokens = s.tokens[:0]
	s.extra = s.extra[:0]
	s.unheld = s.unheld[:0]
	return terr
}

// Flush commits the open transaction when the last call was EventDone (the stream ended at an
// event boundary: io.EOF, shutdown between events). Otherwise it aborts it: it may hold part
// of an event (the sender stopped inside one, or only heartbeats followed), and its records
// are sent again after the restart, from the offset committed before. It returns the sink's
// error, if any.
func (s *TxnSink) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.firstErr(); err != nil {
		return err
	}
	if !s.partial {
		return s.commit(ctx)
	}
	if s.inTxn {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.cl.AbortBufferedRecords(actx); err == nil {
			_ = s.cl.EndTransaction(actx, kgo.TryAbort)
		}
		s.inTxn = false
		s.tokens = s.tokens[:0]
		s.unheld = s.unheld[:0]
	}
	s.extra = s.extra[:0] // their event was cut: the restart writes them again
	return nil
}

// Close closes the client; an open transaction is aborted by the broker (at the next start of
// the same transactional.id, or after its timeout).
func (s *TxnSink) Close() error {
	s.mu.Lock()
	s.closed = true
	s.timer.Stop()
	s.mu.Unlock()
	s.stop()
	s.cl.Close()
	return nil
}
