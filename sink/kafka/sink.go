package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/IBM/sarama"
	"golang.org/x/sync/semaphore"

	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
)

// Config configures a Sink. Zero values mean the defaults written beside each field.
type Config struct {
	// Client holds the brokers (required), client id (default "sluice") and protocol version.
	Client ikafka.ClientConfig
	// Compression is none (default), lz4, zstd, snappy or gzip.
	Compression string
	// Partitions and Replication apply to topics the sink creates. Default 1 and 1; a
	// Replication of -1 leaves it to the broker's default.
	Partitions  int32
	Replication int16
	// NoCreateTopics skips CreateTopics (the broker auto-creates or topics exist).
	NoCreateTopics bool
	// MaxBufferedBytes bounds the bytes of records sent but not yet acknowledged. Default
	// DefaultMaxBufferedBytes.
	MaxBufferedBytes int64
	// MaxMessageBytes is the producer's largest record batch (per partition and request).
	// Default 1 MiB.
	MaxMessageBytes int
	// Linger is how long a batch may wait for more records before it is sent (Kafka's
	// linger.ms). Zero (the default) waits for nothing: a batch goes out as soon as the
	// partition has no request outstanding, and while one is outstanding (one open request per
	// broker, idempotent) the next batch grows by itself, so a busy stream still sends full
	// batches and an idle one pays no delay. With Linger > 0 a batch is sent after Linger or
	// when it holds BatchBytes (default 1 MiB), whichever is first.
	Linger     time.Duration
	BatchBytes int
	// Retries is how often sarama retries a failed produce before the sink fails. Default 30.
	// sarama counts a retry against every message of a batch that is dropped and requeued, so a
	// busy partition spends retries faster than the broker fails requests.
	Retries int
	// RetryBackoff is the first retry's wait (default 100ms); it doubles per retry up to 5s, so
	// the default 30 retries ride out about two minutes of unavailability (the Java producer's
	// delivery.timeout.ms).
	RetryBackoff time.Duration
	// CloseTimeout bounds how long Close waits for buffered records (default 30s); after it the
	// connection is closed under the producer and the records still unacknowledged are lost to
	// this run (never reported durable, so a restart sends them again).
	CloseTimeout time.Duration
	// Logger defaults to discarding.
	Logger *slog.Logger
}

// DefaultMaxBufferedBytes is MaxBufferedBytes' default: room for the request on the wire and the
// next batch filling behind it (MaxMessageBytes, 1 MiB, each on one partition) with as much
// again for records on their way through the producer's channels and acknowledgements not yet
// processed. More buys no throughput (one request is in flight per broker; measured: 8 MiB
// sends no faster than 4 MiB, 2 MiB costs ~15 % more CPU as the producer stalls between
// batches) and costs memory, about twice the bytes held once GC headroom is counted.
const DefaultMaxBufferedBytes = 4 << 20

// channelBuffer is sarama's ChannelBufferSize: the capacity of each of the producer's internal
// message channels (input, per-topic, per-partition, successes, …). The byte bound above already
// limits how many messages are queued; a few thousand slots per stage keep every stage busy.
const channelBuffer = 4096

// ParseCompression maps a compression name to sarama's codec.
func ParseCompression(s string) (sarama.CompressionCodec, error) {
	switch strings.ToLower(s) {
	case "", "none":
		return sarama.CompressionNone, nil
	case "lz4":
		return sarama.CompressionLZ4, nil
	case "zstd":
		return sarama.CompressionZSTD, nil
	case "snappy":
		return sarama.CompressionSnappy, nil
	case "gzip":
		return sarama.CompressionGZIP, nil
	}
	return 0, fmt.Errorf("kafka compression %q: want none, lz4, zstd, snappy or gzip", s)
}

// Validate reports every bad field.
func (c *Config) Validate() error {
	var errs []error
	if err := c.Client.Validate(); err != nil {
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
	if c.MaxBufferedBytes < 0 || c.MaxMessageBytes < 0 || c.BatchBytes < 0 || c.Retries < 0 {
		errs = append(errs, errors.New("kafka: sizes and retries must not be negative"))
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
		d.Replication = 1
	}
	if d.MaxBufferedBytes == 0 {
		d.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	if d.MaxMessageBytes == 0 {
		d.MaxMessageBytes = 1 << 20
	}
	if d.BatchBytes == 0 {
		d.BatchBytes = 1 << 20
	}
	if d.Retries == 0 {
		d.Retries = 30
	}
	if d.RetryBackoff == 0 {
		d.RetryBackoff = 100 * time.Millisecond
	}
	if d.CloseTimeout == 0 {
		d.CloseTimeout = 30 * time.Second
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return d
}

// SaramaConfig returns the producer configuration the sink uses (exported for tools and tests
// that want the same settings).
func (c *Config) SaramaConfig() (*sarama.Config, error) {
	d := c.withDefaults()
	codec, err := ParseCompression(d.Compression)
	if err != nil {
		return nil, err
	}
	sc := d.Client.Sarama("sluice")
	sc.Net.MaxOpenRequests = 1
	sc.Producer.Idempotent = true
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Producer.Return.Successes = true
	sc.Producer.Return.Errors = true
	sc.Producer.Retry.Max = d.Retries
	sc.Producer.Retry.Backoff = d.RetryBackoff
	base := d.RetryBackoff
	sc.Producer.Retry.BackoffFunc = func(retries, _ int) time.Duration {
		return min(base<<min(retries, 10), 5*time.Second)
	}
	sc.Producer.Partitioner = sarama.NewMurmur2Partitioner
	sc.Producer.Compression = codec
	// Flush.Frequency, Bytes and Messages all 0 is sarama's "send as soon as possible"; any of
	// them set makes a batch wait for its trigger (Bytes alone would hold a lone record forever).
	sc.Producer.Flush.Messages = 0
	if d.Linger > 0 {
		sc.Producer.Flush.Frequency = d.Linger
		sc.Producer.Flush.Bytes = d.BatchBytes
	}
	sc.Producer.MaxMessageBytes = d.MaxMessageBytes
	sc.ChannelBufferSize = channelBuffer
	sc.Metadata.AllowAutoTopicCreation = d.NoCreateTopics
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("kafka: producer config: %w", err)
	}
	return sc, nil
}

// Sink sends records to Kafka. Send is called from one goroutine; Flush and Close from the same
// or another; the Durable func is called from the result goroutine.
type Sink struct {
	cfg     Config
	log     *slog.Logger
	durable func(token uint64)

	client   sarama.Client
	admin    sarama.ClusterAdmin
	producer sarama.AsyncProducer
	sem      *semaphore.Weighted
	topics   map[string]bool // topics known to exist; owned by Send's goroutine
	wg       sync.WaitGroup  // the two result goroutines

	mu       sync.Mutex
	inFlight int
	err      error           // first delivery failure, sticky
	idle     []chan struct{} // Flush waiters, closed when inFlight is 0 or err is set
	closed   bool
}

// message is a producer message with the sink's bookkeeping; ProducerMessage.Metadata points
// back at it and Key/Value at its key/value fields, so one allocation carries all of them (a
// ByteEncoder stored in the interface directly would be boxed: two more allocations per record).
type message struct {
	sarama.ProducerMessage
	key, value sarama.ByteEncoder
	token      uint64
	size       int64
}

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("kafka sink closed")

// New connects to the brokers and starts the producer. durable is called once per record the
// broker acknowledged (acks=all), with the token given to Send.
func New(cfg Config, durable func(token uint64)) (*Sink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := cfg.withDefaults()
	sc, err := d.SaramaConfig()
	if err != nil {
		return nil, err
	}
	client, err := d.Client.Connect(sc)
	if err != nil {
		return nil, &connectError{fmt.Errorf("kafka: %w", err)}
	}
	producer, err := sarama.NewAsyncProducerFromClient(client)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("kafka: start producer: %w", err)
	}
	s := &Sink{cfg: d, log: d.Logger.With("sink", "kafka"), durable: durable, client: client, producer: producer,
		sem: semaphore.NewWeighted(d.MaxBufferedBytes), topics: make(map[string]bool)}
	if !d.NoCreateTopics {
		admin, err := sarama.NewClusterAdminFromClient(client)
		if err != nil {
			producer.Close()
			client.Close()
			return nil, fmt.Errorf("kafka: admin client: %w", err)
		}
		s.admin = admin
	}
	s.wg.Add(2)
	go s.successes()
	go s.errors()
	return s, nil
}

// Send copies rec into a producer message and queues it. It blocks while MaxBufferedBytes are
// in flight (logging every 10 s), until ctx ends (returning ctx.Err()). It fails fast with the
// sticky error once any earlier record failed, and with ErrClosed after Close. The first record
// for a topic creates the topic if needed.
func (s *Sink) Send(ctx context.Context, rec *envelope.Record, token uint64) error {
	if err := s.failed(); err != nil {
		return err
	}
	if !s.topics[rec.Topic] {
		if err := s.ensureTopic(rec.Topic); err != nil {
			return err
		}
		s.topics[rec.Topic] = true
	}
	size := int64(len(rec.Key) + len(rec.Value))
	for _, h := range rec.Headers {
		size += int64(len(h.Key) + len(h.Value))
	}
	size = min(max(size, 1), s.cfg.MaxBufferedBytes)
	if err := s.acquire(ctx, size, rec.Topic); err != nil {
		return err
	}
	m := &message{ProducerMessage: sarama.ProducerMessage{Topic: rec.Topic}, token: token, size: size}
	msg := &m.ProducerMessage
	msg.Metadata = m
	buf := make([]byte, len(rec.Key)+len(rec.Value))
	if rec.Key != nil {
		m.key = buf[:len(rec.Key):len(rec.Key)]
		copy(m.key, rec.Key)
		msg.Key = &m.key
	}
	if rec.Value != nil {
		m.value = buf[len(rec.Key):]
		copy(m.value, rec.Value)
		msg.Value = &m.value
	}
	if len(rec.Headers) > 0 {
		msg.Headers = make([]sarama.RecordHeader, len(rec.Headers))
		for i, h := range rec.Headers {
			msg.Headers[i] = sarama.RecordHeader{Key: []byte(h.Key), Value: append([]byte(nil), h.Value...)}
		}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.sem.Release(size)
		return ErrClosed
	}
	s.inFlight++
	s.mu.Unlock()
	select { // the input channel has room almost always: skip the two-way select then
	case s.producer.Input() <- msg:
		return nil
	default:
	}
	select {
	case s.producer.Input() <- msg:
		return nil
	case <-ctx.Done():
		s.settle(size, nil)
		return ctx.Err()
	}
}

func (s *Sink) acquire(ctx context.Context, size int64, topic string) error {
	if s.sem.TryAcquire(size) {
		return nil
	}
	start := time.Now()
	for {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := s.sem.Acquire(wctx, size)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := s.failed(); err != nil {
			return err
		}
		s.log.Warn("waiting for Kafka to acknowledge buffered records", "topic", topic,
			"waited", time.Since(start).Round(time.Second), "max_buffered_bytes", s.cfg.MaxBufferedBytes)
	}
}

func (s *Sink) ensureTopic(topic string) error {
	if s.admin == nil {
		return nil
	}
	created, err := ikafka.CreateTopic(s.admin, topic, &sarama.TopicDetail{NumPartitions: s.cfg.Partitions, ReplicationFactor: s.cfg.Replication})
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	if created {
		s.log.Info("created topic", "topic", topic, "partitions", s.cfg.Partitions, "replication", s.cfg.Replication)
	}
	return nil
}

func (s *Sink) failed() error {
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

// settle accounts for one message that left the producer, with err if it failed.
func (s *Sink) settle(size int64, err error) {
	s.sem.Release(size)
	s.mu.Lock()
	s.inFlight--
	if err != nil && s.err == nil {
		s.err = err
	}
	if s.inFlight == 0 || s.err != nil {
		for _, c := range s.idle {
			close(c)
		}
		s.idle = s.idle[:0]
	}
	s.mu.Unlock()
}

func (s *Sink) successes() {
	defer s.wg.Done()
	for msg := range s.producer.Successes() {
		m := msg.Metadata.(*message)
		s.durable(m.token)
		s.settle(m.size, nil)
	}
}

func (s *Sink) errors() {
	defer s.wg.Done()
	for perr := range s.producer.Errors() {
		m := perr.Msg.Metadata.(*message)
		err := &ProduceError{Topic: perr.Msg.Topic, Partition: perr.Msg.Partition, Err: perr.Err}
		if s.failed() == nil {
			s.log.Error("record not delivered; nothing after it will be acknowledged", "topic", perr.Msg.Topic,
				"partition", perr.Msg.Partition, "err", perr.Err)
		}
		s.settle(m.size, err)
	}
}

// ProduceError is a record Kafka did not accept after the producer's retries.
type ProduceError struct {
	Topic     string
	Partition int32
	Err       error
}

func (e *ProduceError) Error() string {
	return fmt.Sprintf("kafka: produce to %s/%d failed: %v", e.Topic, e.Partition, e.Err)
}

func (e *ProduceError) Unwrap() error { return e.Err }

// Retryable reports whether the failure is transient (the broker was unavailable, not the
// record rejected): a caller may restart from the last saved position (capture.Retryable).
func (e *ProduceError) Retryable() bool { return transient(e.Err) }

// transient reports errors a later attempt may not meet: no reachable broker, leadership moves,
// timeouts, too few in-sync replicas, network failures.
func transient(err error) bool {
	var kerr sarama.KError
	if errors.As(err, &kerr) {
		switch kerr {
		case sarama.ErrNotLeaderForPartition, sarama.ErrLeaderNotAvailable, sarama.ErrRequestTimedOut,
			sarama.ErrNotEnoughReplicas, sarama.ErrNotEnoughReplicasAfterAppend, sarama.ErrKafkaStorageError,
			sarama.ErrNetworkException, sarama.ErrUnknownTopicOrPartition, sarama.ErrBrokerNotAvailable,
			sarama.ErrNotController, sarama.ErrOffsetsLoadInProgress:
			return true
		}
		return false
	}
	if errors.Is(err, sarama.ErrOutOfBrokers) || errors.Is(err, sarama.ErrNotConnected) ||
		errors.Is(err, sarama.ErrClosedClient) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var nerr net.Error
	return errors.As(err, &nerr)
}

// connectError wraps a failure to reach the brokers at start; it is retryable.
type connectError struct{ err error }

func (e *connectError) Error() string   { return e.err.Error() }
func (e *connectError) Unwrap() error   { return e.err }
func (e *connectError) Retryable() bool { return true }

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

// Close stops the producer, waits for the outstanding results (records still buffered are
// sent first) and disconnects. Records delivered during Close are still reported durable.
func (s *Sink) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.producer.AsyncClose()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	t := time.NewTimer(s.cfg.CloseTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.log.Error("records still unacknowledged at close; closing the connection under them", "waited", s.cfg.CloseTimeout)
	}
	var err error
	if s.admin != nil {
		err = s.admin.Close() // closes the client too
	} else {
		err = s.client.Close()
	}
	return err
}
