// Package testkit holds test-only builders: binlog events (encode with these, decode with
// capture/mysql/binlog), pgoutput messages (decode with capture/postgres/pgoutput) and other
// protocol fixtures, the test-server harness (server.go) and a loopback TCP proxy that cuts or
// stalls a link on demand (proxy.go). Nothing outside tests imports it. It does not import the packages it
// builds bytes for, so their in-package tests can use it.
package testkit
