//go:build integration

package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql/history"
	"github.com/sluicecdc/sluice/capture/mysql/replication"
	"github.com/sluicecdc/sluice/internal/testkit"
	"github.com/sluicecdc/sluice/internal/tlsconf"
)

// tlsPassword is recognisable so that a test can look for it in logs and errors.
const tlsPassword = "Tls-Pa55word-q7Zx"

// sessionCiphers lists the connections of user sluice_tls: command (Query, Sleep, Binlog
// Dump, …) and Ssl_cipher, from performance_schema.
func sessionCiphers(t *testing.T, db *sql.DB) map[string][]string {
	t.Helper()
	rows, err := db.Query(`SELECT t.PROCESSLIST_ID, COALESCE(t.PROCESSLIST_COMMAND, ''), COALESCE(s.VARIABLE_VALUE, '')
		FROM performance_schema.threads t LEFT JOIN performance_schema.status_by_thread s
		  ON s.THREAD_ID = t.THREAD_ID AND s.VARIABLE_NAME = 'Ssl_cipher'
		WHERE t.PROCESSLIST_USER = 'sluice_tls'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var id int64
		var cmd, cipher string
		if err := rows.Scan(&id, &cmd, &cipher); err != nil {
			t.Fatal(err)
		}
		out[cmd] = append(out[cmd], fmt.Sprintf("%d:%s", id, cipher))
	}
	return out
}

// TestTLSEveryConnection: on a private server with a certificate from a test CA and a user
// that may only connect over TLS (REQUIRE SSL), a source with --tls-mode verify-full reads
// the snapshot and the stream, and performance_schema shows a cipher on every connection of
// it: the query pool, the snapshot readers, the binlog dump. A wrong CA fails the start with
// an error naming --tls-ca-file, not retried. On MySQL, full authentication
// (caching_sha2_password after FLUSH PRIVILEGES) over unverified TLS is refused with an error
// naming the ways out. No log line or error shows the password. Before, the query connection
// ignored --tls-mode (the snapshot went in plain text, refused here by REQUIRE SSL) and full
// authentication sent the password in clear inside unverified TLS.
func TestTLSEveryConnection(t *testing.T) {
	for _, flavor := range []string{"mariadb", "mysql"} {
		t.Run(flavor, func(t *testing.T) {
			t.Parallel()
			ca := testkit.NewTestCA(t, flavor+"-tls")
			cert, key := ca.ServerFiles(t, flavor+"-server", "127.0.0.1")
			extra := []string{"--ssl-ca=" + ca.CAFile, "--ssl-cert=" + cert, "--ssl-key=" + key}
			if flavor == "mariadb" {
				extra = append(extra, "--performance-schema=ON")
			}
			ps := newPrivateServerWith(t, flavor, extra...)
			db := ps.db()
			mustExec(t, db, "CREATE USER 'sluice_tls'@'%' IDENTIFIED BY '"+tlsPassword+"' REQUIRE SSL",
				"GRANT ALL PRIVILEGES ON *.* TO 'sluice_tls'@'%'",
				"CREATE DATABASE "+dbTls, "CREATE TABLE "+dbTls+".t (id INT PRIMARY KEY, v VARCHAR(32))")
			var vals []string
			for i := 1; i <= 300; i++ {
				vals = append(vals, fmt.Sprintf("(%d,'row %d')", i, i))
			}
			mustExec(t, db, "INSERT INTO "+dbTls+".t VALUES "+strings.Join(vals, ","))

			var logs testkit.SyncBuffer
			ts := newTestSource(t, server{flavor, fmt.Sprintf("mysql://sluice_tls:%s@127.0.0.1:%d", tlsPassword, ps.port)}, dbTls)
			ts.cfg.TLS = tlsconf.Config{Mode: tlsconf.VerifyFull, CAFile: ca.CAFile}
			ts.cfg.SnapshotChunkRows = 5
			ts.cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			s := ts.open(t)
			defer s.Close()

			// In the snapshot: the pool and the readers.
			ts.collect(t, s, time.Minute, func(recs []rec) bool { return len(changes(recs)) >= 1 })
			during := sessionCiphers(t, db)
			n := 0
			for cmd, l := range during {
				for _, c := range l {
					n++
					if strings.HasSuffix(c, ":") {
						t.Errorf("during the snapshot, connection %s (%s) has no cipher: %v", c, cmd, during)
					}
				}
			}
			if n < 2 {
				t.Errorf("during the snapshot: %d connections of the source, want the pool and a reader at least: %v", n, during)
			}
			// The stream.
			ts.collect(t, s, time.Minute, func(recs []rec) bool { return len(changes(recs)) >= 299 })
			mustExec(t, db, "INSERT INTO "+dbTls+".t VALUES (1000, 'streamed')")
			ts.collect(t, s, time.Minute, func(recs []rec) bool {
				for _, r := range changes(recs) {
					if strings.Contains(r.text, "streamed") {
						return true
					}
				}
				return false
			})
			after := sessionCiphers(t, db)
			dumps := after["Binlog Dump"]
			dumps = append(dumps, after["Binlog Dump GTID"]...)
			if len(dumps) != 1 || strings.HasSuffix(dumps[0], ":") {
				t.Errorf("binlog dump connections %v, want one with a cipher (all: %v)", dumps, after)
			}
			s.Close()

			// A CA that did not sign the server's certificate.
			bad := *ts
			bad.cfg.TLS.CAFile = testkit.NewTestCA(t, "other").CAFile
			bad.cfg.History = new(history.Memory)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := New(ctx, bad.cfg)
			if err == nil || capture.Retryable(err) || !strings.Contains(err.Error(), "--tls-ca-file") {
				t.Errorf("wrong CA: %v, want a fatal error naming --tls-ca-file", err)
			}
			errs := []error{err}

			if flavor == "mysql" {
				// Full authentication over TLS whose certificate is not checked.
				mustExec(t, db, "FLUSH PRIVILEGES")
				pc := ts.cfg
				pc.TLS = tlsconf.Config{Mode: tlsconf.Require}
				pc.History = new(history.Memory)
				_, err := New(ctx, pc)
				if !errors.Is(err, replication.ErrInsecureAuth) || capture.Retryable(err) ||
					!strings.Contains(err.Error(), "--allow-public-key-retrieval") || !strings.Contains(err.Error(), "verify-ca") {
					t.Errorf("full authentication over unverified TLS: %v, want ErrInsecureAuth naming the ways out", err)
				}
				errs = append(errs, err)
				// Allowed, it works.
				pc.AllowPublicKeyRetrieval = true
				s, err := New(ctx, pc)
				if err != nil {
					t.Fatalf("with --allow-public-key-retrieval: %v", err)
				}
				s.Close()
			}
			for _, e := range errs {
				if e != nil && strings.Contains(e.Error(), tlsPassword) {
					t.Errorf("an error shows the password: %v", e)
				}
			}
			if strings.Contains(logs.String(), tlsPassword) {
				t.Errorf("a log line shows the password:\n%s", logs.String())
			}
		})
	}
}
