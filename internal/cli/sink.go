package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/offsets"
	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/sink/kafka"
	"github.com/sluicecdc/sluice/sink/stdout"
)

// SinkKind is a --sink choice a main wires into its capture commands.
type SinkKind struct {
	Name string
	// New registers the sink's own flags on c (before parsing) and returns the sink they
	// configure.
	New func(c *Capture) Sink
}

// Sink is a --sink choice bound to a command's flags.
type Sink interface {
	// Open opens the sink, which reports durable records to d.
	Open(ctx context.Context, d pipeline.Durable) (pipeline.Sink, error)
	// Buffered is the most bytes the sink holds between flushes or acknowledgements (for
	// --memory-limit auto).
	Buffered() int64
	// Validate reports settings the sink needs and lacks (after parsing).
	Validate() error
}

// StdoutSink writes JSON lines to standard output.
var StdoutSink = SinkKind{Name: "stdout", New: func(c *Capture) Sink { return stdoutSink{c} }}

// KafkaSink produces to Kafka with the common --kafka-* flags.
var KafkaSink = SinkKind{Name: "kafka", New: func(c *Capture) Sink { return kafkaSink{c} }}

type stdoutSink struct{ c *Capture }

func (s stdoutSink) Open(_ context.Context, d pipeline.Durable) (pipeline.Sink, error) {
	// --topic-partitions also sets the partition the stdout records report.
	return stdout.New(stdout.Config{Partitions: s.c.Kafka.Partitions}, d), nil
}
func (stdoutSink) Buffered() int64 { return 0 }
func (stdoutSink) Validate() error { return nil }

type kafkaSink struct{ c *Capture }

func (s kafkaSink) Open(ctx context.Context, d pipeline.Durable) (pipeline.Sink, error) {
	cfg := s.c.Kafka
	cfg.Logger = s.c.Logger()
	if s.c.EOS.Enabled {
		ts, err := kafka.OpenTxn(ctx, kafka.TxnConfig{Config: cfg,
			TransactionalID: kafka.TxnID(s.c.Offsets.Name, s.c.Envelope.TopicPrefix),
			OffsetsTopic:    s.c.Offsets.Topic, OffsetKey: offsets.Key(s.c.Offsets.Name, s.c.Envelope.TopicPrefix),
			CommitInterval: s.c.EOS.CommitInterval}, d)
		if err != nil {
			return nil, err
		}
		if s.c.OnTxnSink != nil {
			s.c.OnTxnSink(ts)
		}
		return ts, nil
	}
	return kafka.Open(ctx, cfg, d)
}

// Ping connects to the brokers once and reads the cluster metadata: an unreachable cluster is
// retryable (Run waits it out with its own backoff, so Ping does not retry), a refused login,
// authorization or certificate is not.
func (s kafkaSink) Ping(ctx context.Context) error {
	_, err := s.c.Kafka.Client.Probe(ctx, "sluice-ping", "", 15*time.Second)
	if err == nil || ctx.Err() != nil {
		return err
	}
	op := "connect to " + strings.Join(s.c.Kafka.Client.Brokers, ",")
	if ikafka.Auth(err) {
		return &ikafka.AuthError{Op: op, Err: err}
	}
	if ikafka.TLSFailure(err) {
		return &ikafka.TLSError{Op: op, Err: err}
	}
	if !ikafka.Transient(err) && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("kafka: %s: %w", op, err) // a bad setting: not retried
	}
	return retryableError{fmt.Errorf("kafka: %s: %w", op, err)}
}

var _ Pinger = kafkaSink{}

func (s kafkaSink) Buffered() int64 { return s.c.Kafka.Buffered() }
func (s kafkaSink) Validate() error {
	if len(s.c.Kafka.Client.Brokers) == 0 {
		return errors.New("--sink kafka needs --kafka-brokers host:port,…")
	}
	return nil
}
