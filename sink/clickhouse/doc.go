// Package clickhouse applies Debezium change records to ClickHouse tables over the native
// protocol (clickhouse-go/v2), as a pipeline.Sink: fed in-process by a capture source through
// the envelope encoder, or by `sluice clickhouse` with records read from Kafka topics
// (source/kafka).
//
// Each record (Kafka Connect JSON, with or without schemas) is parsed by one small scanner and
// appended column-wise to the pending batch of its table. Tables are ReplacingMergeTree tables
// ordered by the primary key and versioned by the source position (_version: the PostgreSQL LSN,
// the MariaDB GTID sequence number, the MySQL original commit timestamp, or for snapshot rows the
// binlog file index and offset), so inserting the same change twice, or changes out of order,
// converges to the newest row; deletes are rows with _is_deleted = 1. A batch is flushed
// by rows, bytes or time, and at every schema change, which is applied with ALTER TABLE before
// the next insert. Records that cannot be applied are parked in the _sluice_parked table with
// the reason, never dropped. Only after ClickHouse acknowledged an insert are the records'
// tokens reported durable (so Kafka offsets or source positions advance).
//
// The package reads only envelope records; it never imports a source.
package clickhouse
