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

// BufferReuser is implemented by a Source that can reuse the memory behind the events it
// returned once its caller is done with them. Run calls ReuseBuffers before the first Next:
// Run encodes each event completely before it calls Next again, so an event (its rows and
// their values) then only needs to stay valid until the next Next (the capture.Value contract).
type BufferReuser interface {
	ReuseBuffers()
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
