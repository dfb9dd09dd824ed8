// Package history keeps the schema history of a MySQL/MariaDB source as Debezium's history
// records (io.debezium.relational.history.HistoryRecord, JSON documents with source,
// position, ts_ms, databaseName, ddl and tableChanges): the record format, and stores that
// append and read them back in order (a file of JSON lines, or a single-partition Kafka topic).
//
// Records carry the full table definitions in tableChanges, so replay rebuilds tables from
// them without parsing the DDL again. The source decides which records apply at a restart
// (by comparing their positions with its offset); this package only stores them.
package history
