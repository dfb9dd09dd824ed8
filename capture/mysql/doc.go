// Package mysql is the MySQL/MariaDB change-data-capture source: it reads the captured tables'
// definitions from the server, takes a consistent initial snapshot, then follows the binlog as
// a replica with its own server id and turns row events into capture.Event values with
// Debezium's source block (spec §2.2), transaction boundaries, and schema changes.
//
// Schema: every DDL in the binlog is applied (mysqlddl) at its exact position, so each
// row is decoded with the definition in force when it was written; each change is persisted to
// the schema history (history) before the events after it are emitted, and replayed at
// restart up to the restart offset. Every TABLE_MAP is checked against the in-memory
// definition; a mismatch stops with an error naming table and position (or, with
// SchemaRepair, reloads the definition from the server when that matches).
//
// Positions (Position) are Debezium's MySQL offsets (spec §8.1): the restart point is the
// start of the current transaction plus the number of its events and rows already delivered,
// so a restart inside a partially delivered transaction skips exactly those. GTIDs are used
// to restart when the server has them, so a restart also works against another server that
// shares the GTIDs.
//
// Snapshot: under the global read lock (snapshot locking minimal) one connection reads the
// binlog position and the schemas while SnapshotWorkers reader connections of the replication
// client open their consistent snapshots; their rows are parsed straight from the protocol's
// text values. A table with a single signed integer key is split into key ranges read by all
// readers; every unit is read in primary-key chunks and its rows reach Next in key order,
// batch by batch. Without the lock the position's own connection reads (database/sql).
// Each batch's position carries the progress (table, last key of the batch before), so an
// interrupted snapshot resumes (snapshot_resume.go): streaming restarts at the stored offset
// and the remaining rows are read in key-ordered chunks inside watermark windows of the
// stream (rows inserted into the signal table), as incremental snapshots are
// (snapshot_incremental.go, started by signals).
//
// The Source is pulled by one goroutine (Next); events alias the binlog decoder's buffers and
// are valid until the next Next call.
package mysql
