package leader

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/internal/kafka"
)

// OffsetWriter writes a connector's offset record to its offsets topic in a Kafka transaction
// of its own, under the connector's transactional.id: the at-least-once offsets of --ha. A
// successor's Fence bumps the epoch, so a predecessor that was paused and resumes cannot
// write an older offset over its successor's (the stored offset never moves backwards); its
// Save fails with a *LostError instead.
type OffsetWriter struct {
	cl     *kgo.Client
	client kafka.ClientConfig
	topic  string
	key    []byte
	txnID  string
	group  string
	log    *slog.Logger
}

// NewOffsetWriter returns a writer of key's records to topic (partitioned by murmur2 of the key,
// as the offsets store reads them) with transactional.id txnID. Start it before the first Save.
func NewOffsetWriter(client kafka.ClientConfig, txnID, group, topic string, key []byte, log *slog.Logger) (*OffsetWriter, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts, err := client.Kgo("sluice-offsets", log)
	if err != nil {
		return nil, fmt.Errorf("ha: %w", err)
	}
	opts = append(opts, kgo.TransactionalID(txnID), kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordPartitioner(kgo.BasicConsistentPartitioner(func(string) func(*kgo.Record, int) int {
			return func(r *kgo.Record, n int) int { return int(kafka.Partition(r.Key, int32(n))) }
		})),
		kgo.RecordDeliveryTimeout(client.WithDefaults().DeliveryTimeout))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("ha: %w", err)
	}
	return &OffsetWriter{cl: cl, client: client, topic: topic, key: key, txnID: txnID, group: group, log: log}, nil
}

// Start takes the producer epoch of the writer's transactional.id (InitProducerId), then calls
// check (the leadership lease); call it once this process leads, before the first Save. The
// epoch taken while this process led is older than any successor's, which therefore fences
// it. Taken later, at the first Save, a process paused between its lease check and that save
// would get the newest epoch on resuming: it would fence its successor and store its older
// offset. The client never asks for a fresh epoch afterwards (a reload names this one, which
// the broker refuses once fenced).
func (w *OffsetWriter) Start(ctx context.Context, check func() error) error {
	err := w.client.Retry(ctx, w.log, "producer epoch of the offset writer", func() error {
		_, _, err := w.cl.ProducerID(ctx)
		return err
	})
	if kafka.Fenced(err) {
		return fmt.Errorf("offsets: %w", &LostError{Group: w.group, Reason: "another process of this connector fenced this one's offset writes (" + err.Error() + ")"})
	}
	if err != nil {
		return fmt.Errorf("ha: offset writer: %w", err)
	}
	return check()
}

// Save writes value in one transaction and waits for its commit. A fenced writer returns a
// *LostError (not retryable); other failures abort the transaction and are retryable.
func (w *OffsetWriter) Save(ctx context.Context, value []byte) error {
	// While the brokers are unreachable, as the offsets store does: for DeliveryTimeout.
	err := w.client.Retry(ctx, w.log, "save offset to "+w.topic, func() error { return w.save(ctx, value) })
	if err == nil {
		return nil
	}
	var f fenced
	if kafka.Fenced(err) || errors.As(err, &f) {
		return fmt.Errorf("offsets not saved: %w", &LostError{Group: w.group,
			Reason: "another process of this connector fenced this one's offset writes (" + err.Error() + ")"})
	}
	return fmt.Errorf("offsets not saved to %s: %w", w.topic, retryable{err})
}

func (w *OffsetWriter) save(ctx context.Context, value []byte) error {
	if err := w.cl.BeginTransaction(); err != nil {
		return err
	}
	rec := &kgo.Record{Topic: w.topic, Key: w.key, Value: append([]byte(nil), value...)}
	if err := w.cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		if !kafka.Fenced(err) {
			w.abort(ctx)
		}
		return err
	}
	// Else the first commit may abort and return nil: offsets lost while reported saved
	// (AwaitProducerPartitions says why).
	if err := kafka.AwaitProducerPartitions(ctx, w.cl, []string{w.topic}, kafka.ProducerPartitionsWait); err != nil {
		w.abort(ctx)
		return err
	}
	pid, epoch, _ := w.cl.ProducerID(ctx)
	if err := w.cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		if kafka.TxnFenced(ctx, w.cl, w.txnID, pid, epoch, err) {
			return fenced{err} // not aborted: an abort may ask for a new epoch
		}
		w.abort(ctx)
		return err
	}
	return nil
}

func (w *OffsetWriter) abort(ctx context.Context) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.client.WithDefaults().RequestTimeout)
	defer cancel()
	if err := w.cl.AbortBufferedRecords(actx); err == nil {
		_ = w.cl.EndTransaction(actx, kgo.TryAbort)
	}
}

// Close closes the client.
func (w *OffsetWriter) Close() { w.cl.Close() }

// fenced marks an error that kafka.TxnFenced found to be a fence.
type fenced struct{ error }

func (e fenced) Unwrap() error { return e.error }

type retryable struct{ error }

func (e retryable) Retryable() bool { return true }
func (e retryable) Unwrap() error   { return e.error }
