// Package verify compares a source table with its copy in a sink, table by table, without
// moving the rows: both sides compute, in SQL, a hash of a canonical text form of every row,
// and return per key range only a row count and the sum of the hashes (the first 64 bits of
// SHA-256, summed modulo 2^64, so the order of the rows does not matter). Ranges whose sums
// differ are split and compared again until they are small enough to compare key by key.
//
// The package owns the algorithm (Compare), the plan of a table (which columns are compared
// in which canonical form, which are not and why: Plan) and the report. The SQL of each
// database lives in a Side (verify/postgres, verify/mysql, verify/clickhouse); this package
// opens no connection and reads nothing but through a Side. It is read-only by construction:
// a Side only runs SELECTs.
package verify
