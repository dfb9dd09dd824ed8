package history

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/internal/kafka"
)

// KafkaConfig configures a Kafka history store.
type KafkaConfig struct {
	// Client holds the brokers (required), client id (default "sluice-schema-history") and
	// the retry bound: creating the topic, Load and Append are retried while the brokers are
	// unreachable for up to Client.DeliveryTimeout, then fail with a retryable error.
	Client kafka.ClientConfig
	Topic  string // required; created with one partition and infinite retention if missing
	// Replication is used when creating the topic (default -1: the broker's default, or 1
	// before Kafka 2.4).
	Replication int16
	Logger      *slog.Logger // retry warnings; nil discards them
	// TransactionalID, when set (--ha without --exactly-once: the connector's history
	// transactional.id), makes the store write each Append in a Kafka transaction of its own
	// under this id. The store takes the id's producer epoch when it prepares the topic (at
	// NewKafka, or at the first Load), which fences every earlier holder: a process that took
	// over the connector opens its store before it loads the history, so a predecessor that
	// was paused and resumes cannot commit a record any more (*kafka.FencedError, and the
	// store refuses every later write without asking the broker).
	TransactionalID string
	// Check, if set, is called after the store took its producer epoch and before each write;
	// its error is returned and nothing is written (--ha: the leadership lease). That the
	// epoch was taken while Check passed is what makes a successor's epoch the newer one.
	Check func() error
}

// Kafka stores records in partition 0 of a single-partition topic, key null, value the record
// JSON, as Debezium's KafkaSchemaHistory does. It is read read_committed, so records written
// inside --exactly-once transactions (TxnRecord) count once their transaction committed.
type Kafka struct {
	cfg KafkaConfig
	log *slog.Logger
	cl  *kgo.Client

	mu    sync.Mutex
	ready bool      // the topic exists with one partition (and the producer epoch is taken)
	txn   TxnWriter // set while an --exactly-once sink runs

	wmu    sync.Mutex // one transaction at a time (TransactionalID)
	fenced error      // the *kafka.FencedError that stopped the writes
}

// TxnWriter is a transactional producer (the --exactly-once Kafka sink) that writes records of
// the history topic in its open transaction, committed with the offset of the event they belong
// to. queued false means it no longer takes records (closed): the store writes them itself.
type TxnWriter interface {
	ProduceInTxn(ctx context.Context, recs []*kgo.Record) (queued bool, err error)
}

// SetTxn makes Append and AppendBatch hand their records to w (nil: write them directly).
// With --exactly-once a DDL's history records then commit in one Kafka transaction with the
// DDL's records and its offset: an offset past a DDL never commits without its history, and
// an aborted transaction leaves no history record behind (Load reads read_committed).
func (k *Kafka) SetTxn(w TxnWriter) {
	k.mu.Lock()
	k.txn = w
	k.mu.Unlock()
}

// NewKafka creates the client and, when the brokers answer, the topic if it does not exist.
// A refused login, certificate or authorization, or a topic with more than one partition,
// fails at once. Brokers that cannot be reached are not waited for here: Load (which the
// source calls when it opens, under the command's reopen loop and its --errors-retry-timeout)
// waits for them, retrying for DeliveryTimeout and then failing with a retryable error.
func NewKafka(ctx context.Context, cfg KafkaConfig) (*Kafka, error) {
	if len(cfg.Client.Brokers) == 0 || cfg.Topic == "" {
		return nil, errors.New("kafka schema history: brokers and topic are required")
	}
	if cfg.Replication == 0 {
		cfg.Replication = -1
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts, err := cfg.Client.Kgo("sluice-schema-history", log)
	if err != nil {
		return nil, fmt.Errorf("kafka schema history: %w", err)
	}
	opts = append(opts,
		kgo.RequiredAcks(kgo.AllISRAcks()), // idempotent
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(0),
		kgo.RecordDeliveryTimeout(max(cfg.Client.WithDefaults().DeliveryTimeout, time.Second)),
	)
	if cfg.TransactionalID != "" {
		opts = append(opts, kgo.TransactionalID(cfg.TransactionalID))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka schema history: %w", err)
	}
	k := &Kafka{cfg: cfg, log: log, cl: cl}
	// One attempt, bounded by a request's timeout (the client itself would retry for
	// DeliveryTimeout): enough to report a refused login or a bad topic at once.
	pctx, cancel := context.WithTimeout(ctx, cfg.Client.WithDefaults().RequestTimeout)
	defer cancel()
	if err := k.prepare(pctx, false); err != nil {
		var unavailable *kafka.UnavailableError
		if ctx.Err() != nil || !errors.As(err, &unavailable) && !errors.Is(err, context.DeadlineExceeded) {
			cl.Close()
			return nil, err
		}
		log.Warn("kafka schema history: the brokers do not answer yet; the source waits for them when it loads the history", "topic", cfg.Topic, "err", err)
	}
	return k, nil
}

// prepare creates the topic if needed and checks that it has one partition, once; retry
// retries transient failures for DeliveryTimeout.
func (k *Kafka) prepare(ctx context.Context, retry bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.ready {
		return nil
	}
	c := k.cfg.Client
	if !retry {
		c.DeliveryTimeout = time.Nanosecond // one attempt
	}
	op := "schema history topic " + k.cfg.Topic
	t := kafka.Topic{Name: k.cfg.Topic, Partitions: 1, Replication: k.cfg.Replication,
		Configs: map[string]string{"retention.ms": "-1", "retention.bytes": "-1", "cleanup.policy": "delete"}}
	if _, err := c.EnsureTopicKgo(ctx, k.log, k.cl, &t); err != nil {
		return k.wrap(err)
	}
	var parts int
	err := c.Retry(ctx, k.log, op, func() error {
		md, err := kafka.TopicMetadata(ctx, k.cl, k.cfg.Topic)
		if err == nil && !md.Exists {
			err = kerr.UnknownTopicOrPartition // just created: not known to every broker yet
		}
		parts = md.Partitions
		return err
	})
	if err != nil {
		return k.wrap(fmt.Errorf("topic %s: %w", k.cfg.Topic, err))
	}
	if parts != 1 {
		return fmt.Errorf("kafka schema history: topic %s has %d partitions; it must have exactly one so records keep their order", k.cfg.Topic, parts)
	}
	if k.cfg.TransactionalID != "" {
		// Take the epoch now (InitProducerId): it fences the previous holder before this
		// process loads the history, and the client never asks for a fresh epoch again
		// (a reload names this one, which the broker refuses once someone fenced it).
		err := c.Retry(ctx, k.log, "producer epoch of transactional.id "+k.cfg.TransactionalID, func() error {
			_, _, err := k.cl.ProducerID(ctx)
			return err
		})
		if err != nil {
			return k.wrap(fmt.Errorf("transactional.id %s: %w", k.cfg.TransactionalID, err))
		}
		if err := k.check(); err != nil {
			return err
		}
	}
	k.ready = true
	return nil
}

// wrap adds the store's name, keeping ctx errors as they are.
func (k *Kafka) wrap(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("kafka schema history: %w", err)
}

// Load reads partition 0 from the oldest offset to its last stable offset, read_committed.
// While the brokers are unreachable it retries for DeliveryTimeout (logging what it waits
// for), then fails with a retryable *kafka.UnavailableError: the command reopens the source.
func (k *Kafka) Load(ctx context.Context) ([]Record, error) {
	if err := k.prepare(ctx, true); err != nil {
		return nil, err
	}
	// A history that lost its first records (retention on a topic created by hand, or
	// kafka-delete-records) would replay without the CREATE TABLEs: refuse it.
	oldest, err := k.cfg.Client.OldestOffset(ctx, k.log, k.cl, k.cfg.Topic, 0)
	if err != nil {
		return nil, k.wrap(fmt.Errorf("topic %s partition 0: oldest offset: %w", k.cfg.Topic, err))
	}
	if oldest > 0 {
		return nil, fmt.Errorf("kafka schema history: topic %s partition 0 starts at offset %d: its first %d records were deleted "+
			"(retention.ms/retention.bytes, or deleted records), so the history is incomplete; rebuild it into a new topic "+
			"(--schema-history kafka:NEW_TOPIC --snapshot-mode recovery) and keep the history topic with retention.ms=-1 and "+
			"retention.bytes=-1", k.cfg.Topic, oldest, oldest)
	}
	var out []Record
	err = k.cfg.Client.ReadCommittedToEnd(ctx, k.log, k.cfg.Topic, 0, func(m *kgo.Record) error {
		if m.Value == nil {
			return nil
		}
		r, err := Parse(m.Value)
		if err != nil {
			// Not skipped (Debezium's KafkaSchemaHistory logs such a record and goes on): a
			// lost DDL would decode every later row of its table with the wrong columns. A
			// broker never hands out half a record, so this is a foreign or damaged one.
			return fmt.Errorf("topic %s partition %d offset %d does not hold a schema history record (%w); "+
				"the topic must be written by this connector only: restore it, or rebuild the history into a new "+
				"topic with --schema-history kafka:NEW_TOPIC --snapshot-mode recovery", m.Topic, m.Partition, m.Offset, err)
		}
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, k.wrap(err)
	}
	return out, nil
}

// Append produces one record synchronously (acks=all), sending it again while the brokers are
// unreachable (a record stored twice replays the same table definitions); with SetTxn it hands
// the record to the transaction instead.
func (k *Kafka) Append(ctx context.Context, r *Record) error {
	return k.AppendBatch(ctx, []*Record{r})
}

// AppendBatch produces rs synchronously in one go (acks=all), sending them again while the
// brokers are unreachable. A retry after a partial failure sends the whole batch again: the
// source batches only a snapshot's records, all at one position, which replay to the same
// definitions when stored twice.
func (k *Kafka) AppendBatch(ctx context.Context, rs []*Record) error {
	if err := k.prepare(ctx, true); err != nil {
		return err
	}
	values := make([][]byte, len(rs))
	for i, r := range rs {
		values[i] = r.AppendJSON(nil)
	}
	k.mu.Lock()
	txn := k.txn
	k.mu.Unlock()
	if txn != nil {
		recs := make([]*kgo.Record, len(values))
		for i, v := range values {
			recs[i] = &kgo.Record{Topic: k.cfg.Topic, Partition: 0, Value: v}
		}
		queued, err := txn.ProduceInTxn(ctx, recs)
		if err != nil {
			return k.wrap(err)
		}
		if queued {
			return nil
		}
	}
	if k.cfg.TransactionalID != "" {
		return k.appendTxn(ctx, values)
	}
	op := "append to " + k.cfg.Topic
	start := time.Now()
	err := k.cfg.Client.Retry(ctx, k.log, op, func() error {
		recs := make([]*kgo.Record, len(values))
		for i, v := range values {
			recs[i] = &kgo.Record{Topic: k.cfg.Topic, Partition: 0, Value: v}
		}
		return k.cl.ProduceSync(ctx, recs...).FirstErr()
	})
	if errors.Is(err, kgo.ErrRecordTimeout) {
		// The client retried for DeliveryTimeout itself.
		err = &kafka.UnavailableError{Op: op, Waited: time.Since(start), Err: err}
	}
	if err != nil {
		return k.wrap(err)
	}
	return nil
}

// check runs cfg.Check.
func (k *Kafka) check() error {
	if k.cfg.Check == nil {
		return nil
	}
	if err := k.cfg.Check(); err != nil {
		return fmt.Errorf("kafka schema history %s not written: %w", k.cfg.Topic, err)
	}
	return nil
}

// appendTxn writes values in one transaction under cfg.TransactionalID, again while the
// brokers are unreachable. A fenced producer stops the store for good; it never aborts
// (an abort may make the client ask for a new epoch, which on some brokers would fence the
// process that took over).
func (k *Kafka) appendTxn(ctx context.Context, values [][]byte) error {
	k.wmu.Lock()
	defer k.wmu.Unlock()
	if k.fenced != nil {
		return k.fenced
	}
	op := "append to the schema history " + k.cfg.Topic
	err := k.cfg.Client.Retry(ctx, k.log, op, func() error {
		// Before every attempt: a retry after an outage may make the client re-initialize
		// its producer, which a broker that accepts a stale epoch (kfake) would grant.
		if err := k.check(); err != nil {
			return err
		}
		if err := k.cl.BeginTransaction(); err != nil {
			return err
		}
		recs := make([]*kgo.Record, len(values))
		for i, v := range values {
			recs[i] = &kgo.Record{Topic: k.cfg.Topic, Partition: 0, Value: v}
		}
		err := k.cl.ProduceSync(ctx, recs...).FirstErr()
		if err == nil {
			// Else the first commit may abort and return nil: a history record lost while
			// reported written (AwaitProducerPartitions says why).
			err = kafka.AwaitProducerPartitions(ctx, k.cl, []string{k.cfg.Topic}, kafka.ProducerPartitionsWait)
		}
		if err == nil {
			pid, epoch, _ := k.cl.ProducerID(ctx)
			if err = k.cl.EndTransaction(ctx, kgo.TryCommit); err != nil && kafka.TxnFenced(ctx, k.cl, k.cfg.TransactionalID, pid, epoch, err) {
				return fenced{err}
			}
		}
		if err != nil && !kafka.Fenced(err) {
			k.abort(ctx)
		}
		return err
	})
	var f fenced
	if kafka.Fenced(err) || errors.As(err, &f) {
		k.fenced = &kafka.FencedError{Op: op, TransactionalID: k.cfg.TransactionalID, Err: err}
		return k.fenced
	}
	if err != nil {
		return k.wrap(err)
	}
	return nil
}

// fenced marks an error that kafka.TxnFenced found to be a fence.
type fenced struct{ error }

func (e fenced) Unwrap() error { return e.error }

// abort ends the open transaction without committing, bounded by a request timeout.
func (k *Kafka) abort(ctx context.Context) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), k.cfg.Client.WithDefaults().RequestTimeout)
	defer cancel()
	if err := k.cl.AbortBufferedRecords(actx); err == nil {
		_ = k.cl.EndTransaction(actx, kgo.TryAbort)
	}
}

// Close closes the client.
func (k *Kafka) Close() error {
	k.cl.Close()
	return nil
}
