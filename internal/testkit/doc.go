// Package testkit holds what tests share: builders of binlog events (encode with these, decode
// with capture/mysql/binlog), pgoutput messages (decode with capture/postgres/pgoutput) and
// other protocol fixtures; the one test-server harness (server.go: Server, Servers, Env,
// Require), which skips a test whose server is missing or fails it under
// SLUICE_TEST_REQUIRE=1; and a loopback TCP proxy that cuts or stalls a link on demand
// (proxy.go); a certificate authority made per test (tlsca.go) and a kfake that requires TLS and a
// SASL login and refuses bad ones as Kafka does (kafkasasl.go); a private PostgreSQL 15 for tests that restart or reconfigure one (postgres.go); a reader of a stdout sink's records per row and a kfake signal topic (records.go); a goroutine-safe log buffer (syncbuffer.go); produce errors injected into kfake (kafkafail.go). Nothing outside tests imports it. It does not import the packages it builds
// bytes for, so their in-package tests can use it.
package testkit
