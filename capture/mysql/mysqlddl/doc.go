// Package mysqlddl turns MySQL and MariaDB DDL statements into changes of schema.Table
// definitions. It keeps a Catalog (databases, tables and their keys) and applies one statement
// at a time, the way the binlog delivers them, returning the table versions each statement
// created, altered or dropped.
//
// The SQL grammar comes from vitess.io/vitess/go/vt/sqlparser; it stays behind this package so
// it can be swapped. Parts the grammar does not know are handled here: MariaDB's
// CREATE OR REPLACE TABLE and CREATE SEQUENCE, the UUID/INET4/INET6 types, column-level CHECK
// constraints, SERIAL, and IF [NOT] EXISTS inside ALTER TABLE clauses.
//
// Applying is lenient where the server already succeeded: a statement found in the binlog has
// run, so ADD of a column that exists or DROP of one that does not is skipped, not an error.
// The package does no I/O.
package mysqlddl
