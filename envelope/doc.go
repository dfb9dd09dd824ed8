// Package envelope turns capture Events into Debezium records: key and value bytes exactly as Kafka
// Connect's JsonConverter writes them (schemas enabled or not), tombstones, primary-key-change
// triples, transaction, heartbeat and schema-change records, and topic names. It is pure: no I/O,
// no reflection, and it appends into a reused buffer.
package envelope
