// Package kafka publishes records to Kafka with sarama's AsyncProducer, configured as Debezium's
// Kafka Connect producer would be for exactly-ordered, at-least-once delivery: idempotent,
// acks=all, one open request per broker, Kafka's default (murmur2) key partitioner, so records
// of one key land on one partition in order.
//
// Delivery results come back on sarama's Successes and Errors channels, which this package
// drains on two goroutines (an undrained channel deadlocks the producer). Each message carries
// the pipeline's token in ProducerMessage.Metadata; a success calls the Durable func with it.
// A failure (after sarama's retries) is sticky: its token is never reported durable, so the
// pipeline's acker can release nothing at or after it, and every later Send and Flush returns
// the error.
//
// Batching: with the default Linger of 0 a batch leaves as soon as its partition has no request
// outstanding, so a record of an idle stream goes out at once; while a request is outstanding
// (one per broker: idempotence needs MaxOpenRequests 1) the next batch fills by itself, up to
// MaxMessageBytes, so a busy stream still sends full batches. Linger > 0 is Kafka's linger.ms.
//
// Memory is bounded by bytes: Send acquires len(key)+len(value)+headers from a weighted
// semaphore before queueing and the result goroutines release it; a blocked Send waits on its
// context and logs every 10 s while it waits. The default bound (DefaultMaxBufferedBytes, 4 MiB)
// covers the request on the wire and the batch filling behind it; more does not send faster.
//
// Delivery is bounded in time, not by a retry count: a watchdog fails the sink (sticky, with a
// retryable *DeliveryTimeoutError) once the oldest unacknowledged record has waited
// Client.DeliveryTimeout (Kafka's delivery.timeout.ms, 2 min), whatever holds it up, and warns
// every 10 s before. A record over MaxMessageBytes (max.request.size) is refused by Send with a
// *RecordTooLargeError before it is produced; that is not sticky.
//
// Topics are created on first use (ClusterAdmin CreateTopics) with the configured partitions and
// replication factor (default -1: the broker's default); an existing topic is left as it is.
package kafka
