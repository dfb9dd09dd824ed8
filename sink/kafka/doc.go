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
// Memory is bounded by bytes: Send acquires len(key)+len(value)+headers from a weighted
// semaphore before queueing and the result goroutines release it; a blocked Send waits on its
// context and logs every 10 s while it waits.
//
// Topics are created on first use (ClusterAdmin CreateTopics) with the configured partitions and
// replication factor; an existing topic is left as it is.
package kafka
