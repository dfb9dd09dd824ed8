// Package kafka publishes records to Kafka with franz-go's kgo producer, configured as
// Debezium's Kafka Connect producer would be for ordered, at-least-once delivery: idempotent,
// acks=all, Kafka's default (murmur2) key partitioner, so records of one key land on one
// partition in order (up to five requests in flight per broker, which idempotence keeps in
// order; with acks 1 or 0 idempotence is off and one request is in flight).
//
// Each record carries the pipeline's token; the client's promise reports it durable once the
// broker acknowledged it. A failure (after the client's retries) is sticky: its token is never
// reported durable, so the pipeline's acker can release nothing at or after it, and every later
// Send and Flush returns the error.
//
// Batching: with the default Linger of 0 a batch leaves as soon as its partition has a request
// slot, so a record of an idle stream goes out at once; while requests are in flight the next
// batch fills by itself, up to MaxMessageBytes, so a busy stream still sends full batches.
// Linger > 0 is Kafka's linger.ms.
//
// Memory is bounded by bytes: Send counts len(key)+len(value)+headers in before producing and
// the promise counts them out; a Send that would pass the bound waits on its context and logs
// every 10 s while it waits. The default bound (DefaultMaxBufferedBytes, 8 MiB) covers the
// requests on the wire and the batches filling behind them. Send copies key, value and header
// values once, into a region of a slab shared by consecutive records, which also holds their
// producer records (slab.go, for both sinks); a slab is reused once every record in it was
// acknowledged, as the client allows once a record's promise has run (free slabs' bytes up to
// the bound).
//
// Delivery is bounded in time, not by a retry count: a watchdog fails the sink (sticky, with a
// retryable *DeliveryTimeoutError) once the oldest unacknowledged record has waited
// Client.DeliveryTimeout (Kafka's delivery.timeout.ms, 2 min), whatever holds it up, and warns
// every 10 s before. A record over MaxMessageBytes (max.request.size) is refused by Send with a
// *RecordTooLargeError before it is produced; that is not sticky.
//
// Topics are created on first use (CreateTopics) with the configured partitions and
// replication factor (default -1: the broker's default); an existing topic is left as it is.
//
// TxnSink (--exactly-once) writes the same records in Kafka transactions with the offset of
// their last event.
package kafka
