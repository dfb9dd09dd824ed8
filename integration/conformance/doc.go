// Package conformance runs Debezium's own test tables through sluice (build tag integration)
// and compares the key, value and Connect schema of each record with what Debezium's
// integration tests or connector docs assert, case by case, in the snapshot and in the stream,
// on every server of scripts/servers.sh (MySQL, MariaDB, PostgreSQL 15 and 17) and in the
// handling modes, with change cases that run updates and deletes while streaming and compare
// every record of their table in order. Each case cites its source. `make conformance` regenerates
// docs/conformance.md, the table of cases per server.
package conformance
