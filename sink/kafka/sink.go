package kafka

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
)

// Config configures a Sink. Zero values mean the defaults written beside each field.
type Config struct {
	// Client holds the brokers (required), client id (default "sluice"), protocol version, and
	// the retry bound and timeouts every Kafka client shares: DeliveryTimeout (default 2m) is
	// how long a record may wait for its acknowledgement, retries included, before the sink
	// fails with a retryable *DeliveryTimeoutError; RetryBackoff (default 100ms) the first wait
	// between produce retries.
	Client ikafka.ClientConfig
	// Compression is none (default), lz4, zstd, snappy or gzip.
	Compression string
	// Acks is Kafka's acks: "all" (default; "-1" is the same) makes a record durable only once
	// every in-sync replica has it, and the producer idempotent. "1" (the leader only) and "0"
	// (no answer: durable once written to the socket) turn idempotence off and can lose records
	// sluice already reported durable; Open warns.
	Acks string
	// Partitions and Replication apply to topics the sink creates. Default 1 and -1: the
	// broker's default.replication.factor (KIP-464; a broker older than Kafka 2.4 gets 1).
	Partitions  int32
	Replication int16
	// NoCreateTopics skips CreateTopics (the broker auto-creates or topics exist).
	NoCreateTopics bool
	// MaxBufferedBytes bounds the bytes of records sent but not yet acknowledged. Default
	// DefaultMaxBufferedBytes.
	MaxBufferedBytes int64
	// MaxMessageBytes is the largest record the sink sends, counted as recordSize does (key,
	// value, headers, a record's worst-case framing and a batch's), and the largest batch per
	// partition: Kafka's max.request.size, default DefaultMaxMessageBytes (1 MiB). Send
	// refuses a bigger record with a *RecordTooLargeError before producing it.
	MaxMessageBytes int
	// Linger is how long a batch may wait for more records before it is sent (Kafka's
	// linger.ms). Zero (the default) waits for nothing: a batch goes out as soon as the
	// partition has a request slot, and while requests are in flight the next batch grows by
	// itself, so a busy stream still sends full batches and an idle one pays no delay. With
	// Linger > 0 a batch is sent after Linger or when it is full (MaxMessageBytes). BatchBytes
	// (batch.size) is accepted and checked but does not bound batches: with franz-go one
	// limit, MaxMessageBytes, serves both.
	Linger     time.Duration
	BatchBytes int
	// CloseTimeout bounds how long Close waits for buffered records (default 30s); after it the
	// connection is closed under the producer and the records still unacknowledged are lost to
	// this run (never reported durable, so a restart sends them again).
	CloseTimeout time.Duration
	// Logger defaults to discarding.
	Logger *slog.Logger
}

// DefaultMaxMessageBytes is MaxMessageBytes' default, Kafka's max.request.size.
const DefaultMaxMessageBytes = 1 << 20

// DefaultMaxBufferedBytes is MaxBufferedBytes' default: room for the five requests the
// idempotent producer keeps in flight per broker (up to MaxMessageBytes, 1 MiB, each) and the
// batches filling behind them. Measured (PG → Kafka, 340 k records): 4 MiB, enough for
// sarama's one request in flight, held the kgo producer to 55–59k records/s, 16 MiB sent
// 106–162k; 8 MiB sends as fast as 16 (3 alternating runs each, PG and MySQL: the same wall
// and CPU time within the noise) with ~20 MiB less peak RSS on MySQL → Kafka (80 → 57 MiB,
// with the slabs), under the 64 MB goal.
const DefaultMaxBufferedBytes = 8 << 20

// ParseCompression maps a compression name to the producer's codec.
func ParseCompression(s string) (kgo.CompressionCodec, error) {
	switch strings.ToLower(s) {
	case "", "none":
		return kgo.NoCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	}
	return kgo.NoCompression(), fmt.Errorf("kafka compression %q: want none, lz4, zstd, snappy or gzip", s)
}

// ParseAcks maps Kafka's acks setting to the producer's.
func ParseAcks(s string) (kgo.Acks, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "all", "-1":
		return kgo.AllISRAcks(), nil
	case "1":
		return kgo.LeaderAck(), nil
	case "0":
		return kgo.NoAck(), nil
	}
	return kgo.AllISRAcks(), fmt.Errorf("kafka acks %q: want all (or -1), 1 or 0", s)
}

// Validate reports every bad field.
func (c *Config) Validate() error {
	var errs []error
	if err := c.Client.Validate(); err != nil {
		errs = append(errs, err)
	}
	if _, err := ParseAcks(c.Acks); err != nil {
		errs = append(errs, err)
	}
	if _, err := ParseCompression(c.Compression); err != nil {
		errs = append(errs, err)
	}
	if c.Partitions < 0 {
		errs = append(errs, fmt.Errorf("kafka: topic partitions %d: want ≥ 1", c.Partitions))
	}
	if c.Replication < -1 {
		errs = append(errs, fmt.Errorf("kafka: topic replication %d: want ≥ 1 or -1", c.Replication))
	}
	if c.MaxBufferedBytes < 0 || c.MaxMessageBytes < 0 || c.BatchBytes < 0 {
		errs = append(errs, errors.New("kafka: sizes must not be negative"))
	}
	if c.MaxMessageBytes >= maxRequestSize || c.BatchBytes >= maxRequestSize {
		errs = append(errs, fmt.Errorf("kafka: max message bytes %d, batch bytes %d: want < %d", c.MaxMessageBytes, c.BatchBytes, maxRequestSize))
	}
	if c.Linger < 0 {
		errs = append(errs, fmt.Errorf("kafka: linger %s: want ≥ 0", c.Linger))
	}
	return errors.Join(errs...)
}

func (c *Config) withDefaults() Config {
	d := *c
	if d.Partitions == 0 {
		d.Partitions = 1
	}
	if d.Replication == 0 {
		d.Replication = -1
	}
	if d.MaxBufferedBytes == 0 {
		d.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	if d.MaxMessageBytes == 0 {
		d.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if d.BatchBytes == 0 {
		d.BatchBytes = 1 << 20
	}
	d.Client = d.Client.WithDefaults()
	if d.CloseTimeout == 0 {
		d.CloseTimeout = 30 * time.Second
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return d
}

// maxRequestSize bounds MaxMessageBytes and BatchBytes: the largest request the client
// writes to a broker (franz-go's BrokerMaxWriteBytes default, Kafka's socket.request.max.bytes).
const maxRequestSize = 100 << 20

// batchOverhead is what a record batch adds around its records on the wire (franz-go's
// recordBatchOverhead: the batch header and its length fields). Send counts it in a record's
// size, so a record it accepts fits a batch of its own within MaxMessageBytes, the producer's
// batch limit, and never fails inside the producer for its size.
const batchOverhead = 65

// KgoOpts returns the producer options the sink uses on top of Client.Kgo (exported for
// tools and tests that want the same settings): acks=all and idempotent by default (up to
// five requests in flight per broker, which idempotence keeps in order per partition); with
// acks 1 or 0 idempotence is off and one request is in flight per broker, so retries cannot
// reorder a key's records. Keyed records are partitioned as Kafka's Java client and sarama do
// (murmur2, see internal/kafka.Partition), so a key stays on its partition across an upgrade.
func (c *Config) KgoOpts(log *slog.Logger) ([]kgo.Opt, error) {
	d := c.withDefaults()
	codec, err := ParseCompression(d.Compression)
	if err != nil {
		return nil, err
	}
	acks, err := ParseAcks(d.Acks)
	if err != nil {
		return nil, err
	}
	opts, err := d.Client.Kgo("sluice", log)
	if err != nil {
		return nil, err
	}
	opts = append(opts,
		kgo.RequiredAcks(acks),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(kgo.KafkaHasher(murmur2))),
		kgo.ProducerBatchCompression(codec),
		// Batches stay within MaxMessageBytes, under the broker's default message.max.bytes
		// (1 MiB + 12) with the default.
		kgo.ProducerBatchMaxBytes(int32(d.MaxMessageBytes)),
		// The sink bounds the bytes in flight itself (MaxBufferedBytes, with a log line while
		// it waits); the client's own bounds only must not block first.
		kgo.MaxBufferedBytes(int(2*d.MaxBufferedBytes)+d.MaxMessageBytes),
		kgo.MaxBufferedRecords(1<<30),
		// The watchdog fails the sink at DeliveryTimeout whatever holds a record; the client's
		// own bound (at least 1 s, its minimum) then releases the record.
		kgo.RecordDeliveryTimeout(max(d.Client.DeliveryTimeout, time.Second)),
		// No linger unless asked: a batch leaves once its partition has a request slot, and
		// grows by itself while requests are in flight (the client's default is 10 ms).
		kgo.ProducerLinger(d.Linger),
		// Topics are created before their first record (or exist, NoCreateTopics); one that
		// is deleted under the sink fails its records (retryable) after a few metadata loads.
		kgo.UnknownTopicRetries(4),
		// A broker that lost records the producer had written (OUT_OF_ORDER_SEQUENCE_NUMBER)
		// fails the batch, and so the sink, instead of resetting sequence numbers and going
		// on: the restart from the last saved offset sends them again.
		kgo.StopProducerOnDataLossDetected(),
	)
	if acks != kgo.AllISRAcks() {
		opts = append(opts, kgo.DisableIdempotentWrite(), kgo.MaxProduceRequestsInflightPerBroker(1))
	}
	if d.NoCreateTopics {
		opts = append(opts, kgo.AllowAutoTopicCreation())
	}
	return opts, nil
}

// murmur2 is Kafka's key hash for kgo.KafkaHasher.
func murmur2(b []byte) uint32 { return uint32(ikafka.Murmur2(b)) }

// Sink sends records to Kafka. Send is called from one goroutine; Flush and Close from the same
// or another; the Durable func is called from the client's promise goroutine.
type Sink struct {
	cfg     Config
	log     *slog.Logger
	durable func(token uint64)
	// promiseFn is s.promise, made once: a method value passed to Produce escapes, which
	// was an allocation per record.
	promiseFn func(*kgo.Record, error)

	cl     *kgo.Client
	topics map[string]bool // topics known to exist; owned by Send's goroutine
	wg     sync.WaitGroup  // the watchdog

	// clock is the time since start, refreshed by the watchdog every tick, so that Send stamps
	// records without reading the clock.
	start     time.Time
	clock     atomic.Int64
	waitEnd   int64           // when admit last stopped waiting for room, ns since the epoch (s.mu)
	failed    context.Context // cancelled (with the error) when the sink fails
	setFailed context.CancelCauseFunc
	stop      chan struct{} // closed by Close: the watchdog ends

	mu         sync.Mutex
	inFlight   int
	bytes      int64           // what the records in flight hold of MaxBufferedBytes
	head, tail *message        // records in flight in send order, oldest first
	err        error           // first delivery failure, sticky
	idle       []chan struct{} // Flush waiters, closed when inFlight is 0 or err is set
	closed     bool
	room       chan struct{} // closed by settle when a Send waits for room under MaxBufferedBytes; nil: none waits
	// slabs hands out the messages and copy space of the records Send produces; taken under
	// s.mu, released by the promise.
	slabs *slabs
}

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("kafka sink closed")

// New is Open with a context that never ends: connecting is bounded by DeliveryTimeout only.
func New(cfg Config, durable func(token uint64)) (*Sink, error) {
	return Open(context.Background(), cfg, durable)
}

// Open connects to the brokers and starts the producer. durable is called once per record the
// broker acknowledged (acks=all), with the token given to Send. Brokers that cannot be reached
// are retried for up to DeliveryTimeout (then a retryable error) or until ctx ends;
// authentication and authorization failures are returned at once.
func Open(ctx context.Context, cfg Config, durable func(token uint64)) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := cfg.withDefaults()
	log := d.Logger.With("sink", "kafka")
	opts, err := d.KgoOpts(log)
	if err != nil {
		return nil, err
	}
	if acks, _ := ParseAcks(d.Acks); acks != kgo.AllISRAcks() {
		log.Warn("--kafka-acks "+d.Acks+" loses the at-least-once guarantee: a record counts as delivered before every in-sync replica has it "+
			"(acks=0: before any broker answered), so a broker failure can lose records whose positions were already committed; "+
			"use --kafka-acks all", "acks", d.Acks)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	if err := d.Client.Retry(ctx, log, "connect to "+strings.Join(d.Client.Brokers, ","), func() error { return cl.Ping(ctx) }); err != nil {
		cl.Close()
		return nil, fmt.Errorf("kafka: connect to %s: %w", strings.Join(d.Client.Brokers, ","), err)
	}
	s := &Sink{cfg: d, log: log, durable: durable, cl: cl, topics: make(map[string]bool),
		start: time.Now(), stop: make(chan struct{}), slabs: newSlabs(d.MaxBufferedBytes)}
	s.promiseFn = s.promise
	s.failed, s.setFailed = context.WithCancelCause(context.Background())
	s.wg.Add(1)
	go s.watchdog()
	return s, nil
}

// Send copies rec into a producer record and queues it. It blocks while MaxBufferedBytes are
// in flight (logging every 10 s), until ctx ends (returning ctx.Err()). It fails fast with the
// sticky error once any earlier record failed, and with ErrClosed after Close. A record over
// MaxMessageBytes is refused with a *RecordTooLargeError before anything is produced; the
// sink stays usable and never reports that token durable. The first record for a topic
// creates the topic if needed.
func (s *Sink) Send(ctx context.Context, rec *envelope.Record, token uint64) error {
	payload, size := recordSize(rec)
	if size > s.cfg.MaxMessageBytes {
		if err := s.stickyErr(); err != nil {
			return err
		}
		return newRecordTooLarge(rec, size, s.cfg.MaxMessageBytes)
	}
	if !s.topics[rec.Topic] {
		if err := s.stickyErr(); err != nil {
			return err
		}
		if err := s.ensureTopic(ctx, rec.Topic); err != nil {
			return err
		}
		s.topics[rec.Topic] = true
	}
	held := min(max(int64(payload), 1), s.cfg.MaxBufferedBytes)
	m, buf, staleBefore, err := s.admit(ctx, held, payload, rec.Topic, token)
	if err != nil {
		return err
	}
	// Until Produce nothing else reads m's record and buf, its region of a slab (the watchdog
	// and StallReport read the fields admit set under s.mu).
	r := &m.rec
	fill(r, rec, buf)
	if rec.TsNS > staleBefore {
		// The encoder's processing time (the envelope's ts_ms), read ms ago at most: kgo would
		// read the clock again for a zero Timestamp. Not for a record encoded before the end
		// of a wait for room (its own or an earlier record's): kgo counts the delivery timeout
		// from the timestamp, which must not include that wait.
		r.Timestamp = time.Unix(0, rec.TsNS)
	}
	// The client's own buffer bounds are above MaxBufferedBytes, so this does not block.
	s.cl.Produce(context.Background(), r, s.promiseFn)
	return nil
}

// admit waits until held bytes fit under MaxBufferedBytes (logging every 10 s), then takes a
// message and n bytes of copy space for its payload from the slabs, links the message into
// the in-flight list and returns both, with the end of the last wait for room (ns since the
// epoch; 0: none yet). One lock in the common case: the sticky error, the byte
// bound, the list and the slabs are all under s.mu.
func (s *Sink) admit(ctx context.Context, held int64, n int, topic string, token uint64) (*message, []byte, int64, error) {
	var start time.Time
	s.mu.Lock()
	for {
		if s.err != nil {
			err := s.err
			s.mu.Unlock()
			return nil, nil, 0, err
		}
		if s.closed {
			s.mu.Unlock()
			return nil, nil, 0, ErrClosed
		}
		if s.bytes+held <= s.cfg.MaxBufferedBytes { // held ≤ MaxBufferedBytes: an idle sink admits any record
			break
		}
		if s.room == nil {
			s.room = make(chan struct{})
		}
		room := s.room
		s.mu.Unlock()
		if start.IsZero() {
			start = time.Now()
		}
		if err := s.waitRoom(ctx, room, start, topic); err != nil {
			return nil, nil, 0, err
		}
		s.mu.Lock()
	}
	m, buf := s.slabs.message(n)
	m.rec.Topic = topic
	m.token, m.size, m.sent = token, held, time.Duration(s.clock.Load())
	s.inFlight++
	s.bytes += held
	m.prev = s.tail
	if s.tail != nil {
		s.tail.next = m
	} else {
		s.head = m
	}
	s.tail = m
	if !start.IsZero() {
		s.waitEnd = time.Now().UnixNano()
	}
	waitEnd := s.waitEnd
	s.mu.Unlock()
	return m, buf, waitEnd, nil
}

// waitRoom blocks until settle releases bytes (closes room), the sink fails or closes, or ctx
// ends; it logs every 10 s of waiting.
func (s *Sink) waitRoom(ctx context.Context, room <-chan struct{}, start time.Time, topic string) error {
	t := time.NewTimer(10*time.Second - time.Since(start)%(10*time.Second))
	defer t.Stop()
	select {
	case <-room:
	case <-s.failed.Done(): // the caller finds the sticky error (or closed) under s.mu
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		s.log.Warn("waiting for Kafka to acknowledge buffered records", "topic", topic,
			"waited", time.Since(start).Round(time.Second), "max_buffered_bytes", s.cfg.MaxBufferedBytes)
	}
	return nil
}

// recordSize returns a record's payload (key, value and headers: what MaxBufferedBytes counts)
// and its size as Send checks it against MaxMessageBytes: the payload with a record's and each
// header's worst-case framing in a version 2 record batch (what sarama's ProducerMessage.ByteSize
// counted) plus the batch's own framing, the size of a batch that holds it alone.
func recordSize(rec *envelope.Record) (payload, size int) {
	const (
		recordOverhead = 5*binary.MaxVarintLen32 + binary.MaxVarintLen64 + 1
		headerOverhead = 2 * binary.MaxVarintLen32
	)
	payload = len(rec.Key) + len(rec.Value)
	for _, h := range rec.Headers {
		payload += len(h.Key) + len(h.Value)
	}
	return payload, payload + recordOverhead + len(rec.Headers)*headerOverhead + batchOverhead
}

func (s *Sink) ensureTopic(ctx context.Context, topic string) error {
	if s.cfg.NoCreateTopics {
		return nil
	}
	t := ikafka.Topic{Name: topic, Partitions: s.cfg.Partitions, Replication: s.cfg.Replication}
	created, err := s.cfg.Client.EnsureTopicKgo(ctx, s.log, s.cl, &t)
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	if created {
		s.log.Info("created topic", "topic", topic, "partitions", t.Partitions, "replication", t.Replication)
	}
	return nil
}

func (s *Sink) stickyErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if s.closed {
		return ErrClosed
	}
	return nil
}

// fail makes err the sticky error unless there is one, and wakes every waiter. s.mu is held.
func (s *Sink) fail(err error) {
	if s.err != nil {
		return
	}
	s.err = err
	s.setFailed(err)
	for _, c := range s.idle {
		close(c)
	}
	s.idle = s.idle[:0]
}

// Failed is closed once a delivery failed for good (the sticky error; pipeline.FailureNotifier)
// or the sink is closed.
func (s *Sink) Failed() <-chan struct{} { return s.failed.Done() }

// BufferedBytes reports the bytes of the records sent and not yet acknowledged and their
// bound, MaxBufferedBytes (pipeline.BufferReporter: Debezium's CurrentQueueSizeInBytes and
// MaxQueueSizeInBytes).
func (s *Sink) BufferedBytes() (used, limit int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes, s.cfg.MaxBufferedBytes
}

// StallReport is the sink's account of a stall (pipeline.StallReporter): what Kafka has not
// acknowledged yet, and how long the oldest record has waited; "" when nothing is in flight.
func (s *Sink) StallReport() string {
	now := time.Since(s.start)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.head == nil {
		return ""
	}
	return fmt.Sprintf("%d records (%d bytes) not acknowledged by Kafka; the oldest, to %s, waited %s (--kafka-delivery-timeout %s)",
		s.inFlight, s.bytes, s.head.rec.Topic, (now - s.head.sent).Round(time.Millisecond), s.cfg.Client.DeliveryTimeout)
}

// settle accounts for one message that left the producer, with err if it failed, and gives it
// back to the slabs: the client is done with it once its promise runs, and nothing else holds
// it after it left the in-flight list.
func (s *Sink) settle(m *message, err error) {
	s.mu.Lock()
	s.inFlight--
	s.bytes -= m.size
	if s.room != nil {
		close(s.room) // every waiting Send looks again
		s.room = nil
	}
	if m.prev != nil {
		m.prev.next = m.next
	} else {
		s.head = m.next
	}
	if m.next != nil {
		m.next.prev = m.prev
	} else {
		s.tail = m.prev
	}
	if err != nil {
		s.fail(err)
	}
	if s.inFlight == 0 {
		for _, c := range s.idle {
			close(c)
		}
		s.idle = s.idle[:0]
	}
	s.mu.Unlock()
	s.slabs.release(m)
}

// promise is the client's result for one record: durable, or the sink's sticky failure.
func (s *Sink) promise(r *kgo.Record, err error) {
	m := r.Context.(*message)
	if err == nil {
		s.durable(m.token)
		s.settle(m, nil)
		return
	}
	var ferr error = &ProduceError{Topic: r.Topic, Partition: r.Partition, Err: err}
	if errors.Is(err, kgo.ErrRecordTimeout) {
		ferr = &DeliveryTimeoutError{Topic: r.Topic, Waited: time.Since(s.start) - m.sent, InFlight: s.inFlightNow()}
	}
	if s.stickyErr() == nil {
		s.log.Error("record not delivered; nothing after it will be acknowledged", "topic", r.Topic,
			"partition", r.Partition, "err", err)
	}
	s.settle(m, ferr)
}

func (s *Sink) inFlightNow() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inFlight
}

// watchdog refreshes the clock and fails the sink when the oldest record in flight has waited
// DeliveryTimeout for its acknowledgement (whatever the reason: a broker that holds requests,
// retries that never end, a lost callback); it warns every 10 s while a record waits longer
// than that.
func (s *Sink) watchdog() {
	defer s.wg.Done()
	tick := max(min(time.Second, s.cfg.Client.DeliveryTimeout/10), time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	var warned time.Duration
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		now := time.Since(s.start)
		s.clock.Store(int64(now))
		s.mu.Lock()
		if s.head == nil || s.err != nil {
			s.mu.Unlock()
			warned = 0
			continue
		}
		waited, topic, n := now-s.head.sent, s.head.rec.Topic, s.inFlight
		if waited >= s.cfg.Client.DeliveryTimeout {
			s.fail(&DeliveryTimeoutError{Topic: topic, Waited: waited, InFlight: n})
		}
		s.mu.Unlock()
		switch {
		case waited >= s.cfg.Client.DeliveryTimeout:
			s.log.Error("Kafka did not acknowledge a record in time; nothing after it will be acknowledged", "topic", topic,
				"waited", waited.Round(time.Second), "in_flight", n, "delivery_timeout", s.cfg.Client.DeliveryTimeout)
		case waited >= 10*time.Second && waited-warned >= 10*time.Second:
			warned = waited
			s.log.Warn("waiting for Kafka to acknowledge a record", "topic", topic, "waited", waited.Round(time.Second),
				"in_flight", n, "gives_up_in", (s.cfg.Client.DeliveryTimeout - waited).Round(time.Second))
		}
	}
}

// ProduceError is a record Kafka did not accept after the producer's retries.
type ProduceError struct {
	Topic     string
	Partition int32
	Err       error
}

func (e *ProduceError) Error() string {
	msg := fmt.Sprintf("kafka: produce to %s/%d failed: %v", e.Topic, e.Partition, e.Err)
	if errors.Is(e.Err, kerr.MessageTooLarge) {
		msg += " (the broker's message.max.bytes or the topic's max.message.bytes is below --kafka-max-message-bytes: raise it, or lower the flag so that Send refuses such records)"
	}
	return msg
}

func (e *ProduceError) Unwrap() error { return e.Err }

// Retryable reports whether the failure is transient (the broker was unavailable, not the
// record rejected): a caller may restart from the last saved position (capture.Retryable).
func (e *ProduceError) Retryable() bool { return ikafka.Transient(e.Err) }

// DeliveryTimeoutError is a record that waited DeliveryTimeout for its acknowledgement. It is
// retryable: a restart from the last saved position sends it again.
type DeliveryTimeoutError struct {
	Topic    string
	Waited   time.Duration
	InFlight int // records unacknowledged at the time
}

func (e *DeliveryTimeoutError) Error() string {
	return fmt.Sprintf("kafka: a record to %s was not acknowledged within %s (--kafka-delivery-timeout, delivery.timeout.ms); %d records in flight",
		e.Topic, e.Waited.Round(time.Second), e.InFlight)
}

func (e *DeliveryTimeoutError) Retryable() bool { return true }

// RecordTooLargeError is a record Send refused because it is over MaxMessageBytes (Kafka's
// max.request.size); nothing was produced and the sink stays usable. It is not retryable (the
// record will not shrink) but skippable: a pipeline whose failure-handling mode is warn or skip
// may go on without it.
type RecordTooLargeError struct {
	Topic string
	Key   []byte // the record key, cut to its first 128 bytes
	Size  int    // as recordSize counts it: key, value, headers and framing
	Max   int
}

// keyPrefix is how much of the key a RecordTooLargeError keeps.
const keyPrefix = 128

func newRecordTooLarge(rec *envelope.Record, size, limit int) *RecordTooLargeError {
	return &RecordTooLargeError{Topic: rec.Topic, Key: append([]byte(nil), rec.Key[:min(len(rec.Key), keyPrefix)]...), Size: size, Max: limit}
}

func (e *RecordTooLargeError) Error() string {
	key := string(e.Key)
	if len(e.Key) == keyPrefix {
		key += "…"
	}
	return fmt.Sprintf("kafka: record for %s with key %s is %d bytes, over --kafka-max-message-bytes %d (producer.max.request.size): "+
		"raise it (and the topic's max.message.bytes), or set event.processing.failure.handling.mode to warn or skip it",
		e.Topic, key, e.Size, e.Max)
}

func (e *RecordTooLargeError) Retryable() bool { return false }
func (e *RecordTooLargeError) Skippable() bool { return true }

// Flush blocks until every record sent so far is acknowledged (nil) or one failed (the error),
// or ctx ends.
func (s *Sink) Flush(ctx context.Context) error {
	s.mu.Lock()
	if s.err != nil || s.inFlight == 0 {
		err := s.err
		s.mu.Unlock()
		return err
	}
	c := make(chan struct{})
	s.idle = append(s.idle, c)
	s.mu.Unlock()
	select {
	case <-c:
		return s.failedErr()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Sink) failedErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close waits up to CloseTimeout for the records still buffered to be acknowledged (those
// delivered are still reported durable), then closes the client: what is left fails and is
// never reported durable.
func (s *Sink) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stop)
	s.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.CloseTimeout)
	defer cancel()
	if err := s.cl.Flush(ctx); err != nil {
		s.log.Error("records still unacknowledged at close; closing the connection under them", "waited", s.cfg.CloseTimeout)
	}
	s.setFailed(ErrClosed) // releases the context; a failure before keeps its cause
	s.cl.Close()
	return nil
}
