// Package pipeline wires one source to one sink: source → envelope → sink, or a source of
// records already encoded (RecordSource: Kafka topics for ClickHouse) → sink, with positions
// flowing back through the in-order acker to the offset store and the source. It is the only
// package (besides cmd) that sees every stage.
package pipeline
