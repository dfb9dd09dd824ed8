//go:build integration

package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/testkit"
	"github.com/sluicecdc/sluice/internal/tlsconf"
)

// startTLSPG starts a PostgreSQL 15 of the test's own with ssl=on and a server certificate
// from ca naming 127.0.0.1 (ca nil: ssl=off). Role sluice_tls may connect over TLS only
// (hostnossl … reject), so any connection of the source that went in plain text fails. It
// returns the address; the admin connects as postgres over plain TCP.
func startTLSPG(t *testing.T, ca *testkit.TestCA) string {
	t.Helper()
	opt := testkit.PGOptions{HBA: "hostnossl all sluice_tls 0.0.0.0/0 reject\nhostnossl replication sluice_tls 0.0.0.0/0 reject\n"}
	if ca != nil {
		certFile, keyFile := ca.ServerFiles(t, "pg-server", "127.0.0.1")
		opt.Conf = fmt.Sprintf("ssl = on\nssl_cert_file = '%s'\nssl_key_file = '%s'\n", certFile, keyFile)
		opt.Own = []string{keyFile}
	}
	return testkit.StartPG(t, opt).Addr
}

// source (metadata, replication, snapshot readers) is TLS (the server rejects the role in
// plain text, and pg_stat_ssl shows each one encrypted); a CA that did not sign the server's
// certificate fails Open with an error naming --tls-ca-file, not retried; prefer warns once
// that the channel is not verified. Before, the source had no TLS settings but the DSN's,
// whose default (prefer) never checked the certificate and said nothing.
func TestTLSVerifyFull(t *testing.T) {
	ca := testkit.NewTestCA(t, "pg-tls")
	addr := startTLSPG(t, ca)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	adm, err := pgx.Connect(ctx, "postgres://postgres@"+addr+"/postgres?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close(ctx)
	for _, q := range []string{
		"CREATE ROLE sluice_tls LOGIN REPLICATION SUPERUSER",
		"CREATE TABLE t (id int PRIMARY KEY, v text)",
		"INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 50) g",
	} {
		if _, err := adm.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	dsn := "postgres://sluice_tls@" + addr + "/postgres"
	var logs testkit.SyncBuffer
	cfg := Config{DSN: dsn, Slot: "tls_slot", StatusInterval: 100 * time.Millisecond, SnapshotChunkRows: 10,
		TLS: tlsconf.Config{Mode: tlsconf.VerifyFull, CAFile: ca.CAFile}, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open with verify-full: %v", err)
	}
	defer s.Close()
	snap := 0
	for snap < 50 {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if ev.Kind == capture.Change {
			snap++
		}
	}
	var plain, encrypted int
	if err := adm.QueryRow(ctx, `SELECT count(*) FILTER (WHERE NOT s.ssl), count(*) FILTER (WHERE s.ssl AND a.backend_type = 'walsender')
		FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = 'sluice_tls'`).Scan(&plain, &encrypted); err != nil {
		t.Fatal(err)
	}
	if plain != 0 || encrypted != 1 {
		t.Errorf("connections of the source: %d in plain text, %d encrypted walsenders; want 0 and 1", plain, encrypted)
	}
	if strings.Contains(logs.String(), "not verified") || strings.Contains(logs.String(), "not encrypted") {
		t.Errorf("verify-full warned:\n%s", logs.String())
	}
	s.Close()

	// A CA that did not sign the server's certificate.
	other := testkit.NewTestCA(t, "other")
	bad := cfg
	bad.TLS.CAFile = other.CAFile
	_, err = Open(ctx, bad)
	if err == nil || capture.Retryable(err) || !strings.Contains(err.Error(), "--tls-ca-file") {
		t.Errorf("wrong CA: %v, want a fatal error naming --tls-ca-file", err)
	}
	// The name the certificate carries: localhost is not in it.
	bad = cfg
	bad.DSN = "postgres://sluice_tls@localhost:" + strings.Split(addr, ":")[1] + "/postgres"
	_, err = Open(ctx, bad)
	if err == nil || capture.Retryable(err) || !strings.Contains(err.Error(), "--tls-server-name") {
		t.Errorf("wrong host name: %v, want a fatal error naming --tls-server-name", err)
	}
	// The DSN's sslmode and the flags together: which would win is unclear, so it is an error.
	bad = cfg
	bad.DSN = dsn + "?sslmode=require"
	if _, err := Open(ctx, bad); err == nil || !strings.Contains(err.Error(), "sslmode") {
		t.Errorf("sslmode in the DSN and --tls-mode: %v, want an error", err)
	}

	// Nothing chosen (no sslmode in the DSN, no flags): the server offers TLS, so its
	// certificate is checked, against the system's CAs, which did not sign it.
	auto := cfg
	auto.TLS = tlsconf.Config{}
	_, err = Open(ctx, auto)
	if err == nil || capture.Retryable(err) || !strings.Contains(err.Error(), "--tls-ca-file") || !strings.Contains(err.Error(), "--tls-mode prefer") {
		t.Errorf("no TLS settings, an unknown CA: %v, want a fatal error naming --tls-ca-file and --tls-mode prefer", err)
	}

	// prefer: encrypted but not verified, said once.
	tlsconf.ResetWarnings()
	var plogs testkit.SyncBuffer
	pc := cfg
	pc.TLS = tlsconf.Config{Mode: tlsconf.Prefer}
	pc.SnapshotMode = SnapshotNoData
	pc.Logger = slog.New(slog.NewTextHandler(&plogs, nil))
	for range 2 {
		s, err := Open(ctx, pc)
		if err != nil {
			t.Fatalf("Open with prefer: %v", err)
		}
		s.Close()
	}
	if n := strings.Count(plogs.String(), "TLS channel not verified"); n != 1 {
		t.Errorf("prefer: %d warnings that the channel is not verified, want 1:\n%s", n, plogs.String())
	}
}

// TestTLSDefaultPlainServer: with nothing chosen, a server without TLS is read in plain text
// and a warning says so once; the DSN's sslmode=disable is the operator's choice and is not
// warned about.
func TestTLSDefaultPlainServer(t *testing.T) {
	addr := startTLSPG(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tlsconf.ResetWarnings()
	var logs testkit.SyncBuffer
	cfg := Config{DSN: "postgres://postgres@" + addr + "/postgres", Slot: "plain_slot", SnapshotMode: SnapshotNoData,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	for range 2 {
		s, err := Open(ctx, cfg)
		if err != nil {
			t.Fatalf("Open without TLS settings against a server without TLS: %v", err)
		}
		s.Close()
	}
	if n := strings.Count(logs.String(), "connection not encrypted"); n != 1 {
		t.Errorf("%d warnings that the connection is not encrypted, want 1:\n%s", n, logs.String())
	}
	tlsconf.ResetWarnings()
	var dlogs testkit.SyncBuffer
	cfg.DSN += "?sslmode=disable"
	cfg.Logger = slog.New(slog.NewTextHandler(&dlogs, nil))
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if strings.Contains(dlogs.String(), "not encrypted") {
		t.Errorf("sslmode=disable warned:\n%s", dlogs.String())
	}
}
