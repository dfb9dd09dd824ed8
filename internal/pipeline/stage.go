package pipeline

import (
	"context"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
)

// Source emits events in source order. Next blocks until an event is ready or ctx ends.
type Source interface {
	Next(ctx context.Context) (capture.Event, error)
	// Ack reports that every event up to and including the one that carried p is durable in
	// the sink. Acks arrive in source order. PostgreSQL confirms the slot from it.
	Ack(ctx context.Context, p capture.Position) error
	Close() error
}

// RecordSource emits records that are already encoded, each with its own position: a Kafka
// consumer feeding the ClickHouse sink. Next blocks until a record is ready or ctx ends; the
// record's bytes may alias the source's buffers until the next Next. A record with an empty
// Topic carries nothing: it says the source has read all its input for now, and Run passes
// that on to a sink that implements InputDrainer. Ack and Close are as for Source.
type RecordSource interface {
	Next(ctx context.Context) (envelope.Record, capture.Position, error)
	Ack(ctx context.Context, p capture.Position) error
	Close() error
}

// Marker is implemented by a source whose positions are not cumulative, so that Ack of the
// newest released position does not cover the older ones (a Kafka consumer's topic, partition
// and offset). The acker loop calls Mark with the positions it released, in source order (each
// released position once, over all calls), and calls Ack (at FlushInterval) only after the
// positions it covers were marked. released is reused after Mark returns. Mark must not block
// on I/O: it runs on the acker loop.
type Marker interface {
	Mark(released []capture.Position)
}

// InputDrainer is implemented by a sink that batches: Run calls InputDrained when a
// RecordSource reports it has read all its input for now, so the sink may insert a batch
// early instead of waiting for more records.
type InputDrainer interface {
	InputDrained(ctx context.Context) error
}

// EventBoundary is implemented by a sink that commits in transactions (Kafka with
// --exactly-once): Run calls EventDone after every record of the event at pos was sent (also
// for an event without records, a keepalive), with the encoder's lock held, so no record of a
// later event is sent before it returns. Only there may such a sink end a transaction, and pos
// is the offset it stores in it. Run does not call it at a position that does not cover its
// event (capture.Rereads: a MySQL snapshot row inside its batch), so the events up to the next
// one that does stay in one transaction. An error stops Run.
type EventBoundary interface {
	EventDone(ctx context.Context, pos capture.Position) error
}

// BufferReuser is implemented by a Source that can reuse the memory behind the events it
// returned once its caller is done with them. Run calls ReuseBuffers before the first Next:
// Run encodes each event completely before it calls Next again, so an event (its rows and
// their values) then only needs to stay valid until the next Next (the capture.Value contract).
// Snapshot reads (op r) are the exception: they must stay valid after later Next calls, since
// the encode workers (encode.go) encode batches of them while the stream reads on. The
// PostgreSQL source reuses only its streamed rows' memory.
type BufferReuser interface {
	ReuseBuffers()
}

// ReadReleaser is implemented by a Source that reuses the memory of its snapshot reads (op r)
// once they are encoded (a MySQL snapshot's rows were 80% of the bytes it allocated, and their
// garbage collection a seventh of its CPU). Run calls ReadsDone(last) once every read handed
// out up to and including last is encoded and its records handed to the sink, in source
// order, from one goroutine at a time (not necessarily Next's); last is valid only during the
// call. Reads Run never reports stay the source's to keep.
type ReadReleaser interface {
	ReadsDone(last *capture.Event)
}

// ReadyReporter is implemented by a Source that knows whether its next event is ready: Ready
// reports whether Next would return without waiting for input (the rest of a MySQL rows
// event's rows, of a PostgreSQL batch of messages). Run calls it on Next's goroutine, between Next calls; it must not block. The
// stream sender (encode.go) lets a burst of ready events gather before it is woken.
type ReadyReporter interface {
	Ready() bool
}

// Sink delivers records. Send may keep rec's bytes only by copying them. Once a record is
// durable the sink calls the Durable func it was built with, passing token; it may do so from
// any goroutine and in any order: the acker puts them back in order.
type Sink interface {
	Send(ctx context.Context, rec *envelope.Record, token uint64) error
	// Flush blocks until every record sent so far is durable or failed.
	Flush(ctx context.Context) error
	Close() error
}

// Durable is how a sink reports a delivered record.
type Durable func(token uint64)

// FailureNotifier is implemented by a sink whose deliveries fail after Send returned (Kafka):
// Failed is closed once a failure is sticky, and Run then stops with Flush's error at once,
// not only at the next Send (a source with nothing more to send would leave the failure
// unreported until the stall watchdog).
type FailureNotifier interface {
	Failed() <-chan struct{}
}

// HeartbeatErrer is implemented by an Encoder whose Heartbeat can fail (a transform chain,
// package transform): after each Heartbeat, Run stops with the error HeartbeatErr returns.
type HeartbeatErrer interface {
	HeartbeatErr() error
}
