// Package signal parses Debezium signals and defines Receiver, what a source offers the Kafka
// channel. Signals are requests an operator sends to a running connector (execute-snapshot, stop-snapshot, pause-snapshot, resume-snapshot, log) through the signal
// table (signal.data.collection: a captured table whose first three columns are id, type and
// data) or the Kafka signal channel (signal.kafka.topic: key = the connector's topic prefix,
// value = {"type": …, "data": {…}}).
//
// It only parses and validates: no I/O, no connection, no snapshot logic. A source reads the
// rows or messages, hands them to FromRow or ParseKafka and acts on the Signal it gets back.
// A malformed signal is an *Error naming the signal's id and what is wrong; the source logs it
// and goes on (a signal is a request, not data: its row is still captured like any other).
package signal
