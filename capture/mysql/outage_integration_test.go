//go:build integration

package mysql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql/history"
)

// TestAccessDeniedFailsFast: a wrong password or a user without the replication grants stops
// New at once with the fix, instead of being retried for ever as a lost connection. Before, the
// preflight marked every error of its first query retryable, so `sluice mysql` with a wrong
// password logged "reconnecting" every 30 s and never exited.
func TestAccessDeniedFailsFast(t *testing.T) {
	for _, srv := range servers(t) {
		t.Run(srv.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			// A wrong password makes MySQL ask for full authentication, which over the shared
			// server's unverified TLS needs AllowPublicKeyRetrieval (else ErrInsecureAuth, also fatal).
			cfg := Config{DSN: srv.dsn, Password: "wrong-password", ServerID: serverIDs.Add(1), Name: "dbserver1", History: new(history.Memory),
				AllowPublicKeyRetrieval: true}
			_, err := New(ctx, cfg)
			if err == nil || capture.Retryable(err) || !strings.Contains(err.Error(), "check the password of") {
				t.Fatalf("wrong password: err = %v (retryable %v)", err, capture.Retryable(err))
			}
			t.Logf("wrong password: %v", err)

			db := openDB(t, srv.dsn)
			u := fmt.Sprintf("sl_nogrant_%d", serverIDs.Add(1))
			mustExec(t, db, "DROP USER IF EXISTS '"+u+"'@'%'", "CREATE USER '"+u+"'@'%' IDENTIFIED BY 'pw'", "GRANT SELECT ON *.* TO '"+u+"'@'%'")
			t.Cleanup(func() { db.Exec("DROP USER IF EXISTS '" + u + "'@'%'") })
			addr := strings.TrimSuffix(strings.TrimPrefix(srv.dsn, "root@tcp("), ")/")
			cfg.DSN, cfg.Password = "mysql://"+u+":pw@"+addr, ""
			_, err = New(ctx, cfg)
			if err == nil || capture.Retryable(err) || !errors.Is(err, ErrPreflight) || !strings.Contains(err.Error(), "GRANT ") ||
				!strings.Contains(err.Error(), "REPLICATION SLAVE") {
				t.Fatalf("no grants: err = %v", err)
			}
			t.Logf("no grants: %v", err)
		})
	}
}

// TestServerRestart: a private server killed as the snapshot begins and in its middle, then
// stopped (cleanly, then with SIGKILL) and restarted in the middle of the stream. Every row
// arrives: the stream reconnects from the last position it handed out, and a snapshot cut short
// fails with a retryable error, after which the reopen from the stored offset resumes the
// snapshot (a row read before the kill and deleted before the reopen is deleted downstream).
// Before, a server gone when the snapshot began (its first query connection) was a plain
// error, so `sluice mysql` exited instead of reopening.
func TestServerRestart(t *testing.T) {
	for _, flavor := range []string{"mariadb", "mysql"} {
		t.Run(flavor, func(t *testing.T) {
			t.Parallel()
			ps := newPrivateServer(t, flavor)
			db := ps.db()
			mustExec(t, db, "CREATE DATABASE "+dbOut, "CREATE TABLE "+dbOut+".t (id INT PRIMARY KEY, v VARCHAR(64), pad VARCHAR(1000))",
				"CREATE TABLE "+dbOut+".sig (id VARCHAR(64) PRIMARY KEY, type VARCHAR(32) NOT NULL, data VARCHAR(2048))")
			insert := func(from, to int) {
				for i := from; i <= to; i += 100 {
					var vals []string
					for j := i; j < i+100 && j <= to; j++ {
						vals = append(vals, fmt.Sprintf("(%d,'row %d')", j, j))
					}
					mustExec(t, db, "INSERT INTO "+dbOut+".t (id, v) VALUES "+strings.Join(vals, ","))
				}
			}
			// More rows than the snapshot reader buffers ahead, so the kill lands while it reads:
			// 20 MB, since the reader streams the table in one query and the socket's buffers
			// then hold several MB of it.
			const snapRows = 20000
			insert(1, snapRows)
			mustExec(t, db, "UPDATE "+dbOut+".t SET pad = REPEAT('x', 1000)")
			ts := newTestSource(t, server{flavor, ps.dsn}, dbOut)
			ts.cfg.SnapshotChunkRows = 50
			ts.cfg.SnapshotWorkers = 1
			ts.cfg.SignalDataCollection = dbOut + ".sig" // a snapshot cut short resumes
			seen := map[string]bool{}
			deleted := map[string]bool{}
			count := func(recs []rec) {
				for _, r := range changes(recs) {
					// the rows without their pad: (id,"row id")
					if r.op == capture.OpDelete {
						if k, _, ok := strings.Cut(rowText(r.ev.Before), `",`); ok {
							deleted[k+`")`] = true
						}
						continue
					}
					if k, _, ok := strings.Cut(r.text, `",`); ok {
						seen[k+`")`] = true
					}
				}
			}

			nextErr := func(s *Source) error {
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				for {
					if _, err := s.Next(ctx); err != nil {
						return err
					}
				}
			}

			// 1. gone when the snapshot begins
			s := ts.open(t)
			ps.kill()
			if err := nextErr(s); !capture.Retryable(err) {
				t.Fatalf("server gone as the snapshot begins: err = %v, want a retryable error", err)
			}
			s.Close()
			ps.start()

			// 2. killed in the middle of the snapshot
			s = ts.open(t)
			count(ts.collect(t, s, 30*time.Second, func(r []rec) bool { return len(changes(r)) >= 100 }))
			ps.kill()
			err := nextErr(s)
			s.Close()
			if !capture.Retryable(err) {
				t.Fatalf("snapshot cut by a server kill: err = %v, want a retryable error", err)
			}
			t.Logf("snapshot cut: %v", err)
			ps.start()
			if !seen[`-(7,"row 7")`] {
				t.Fatal("row 7 not read before the kill")
			}
			// Deleted before the reopen: a snapshot taken again from scratch (at a later
			// binlog position) carried neither row 7 nor its delete, so a sink kept it.
			mustExec(t, db, "DELETE FROM "+dbOut+".t WHERE id = 7")
			s = ts.open(t) // from the stored (snapshot) offset: the snapshot resumes
			defer func() { s.Close() }()
			count(ts.collect(t, s, 60*time.Second, untilSnapshotDone))
			if len(seen) != snapRows {
				t.Fatalf("after the snapshot: %d distinct rows, want %d", len(seen), snapRows)
			}
			if !deleted[`(7,"row 7")`] {
				t.Fatal("the delete of row 7, after the snapshot was cut, did not come through")
			}

			// 3. stopped and killed in the middle of the stream
			for round, stop := range []func(){ps.stop, ps.kill} {
				from := snapRows + 1 + round*2000
				insert(from, from+999)
				done := make(chan struct{})
				go func() {
					defer close(done)
					time.Sleep(200 * time.Millisecond)
					stop()
					time.Sleep(time.Second)
					ps.start()
					insert(from+1000, from+1999)
				}()
				want := from + 1999
				ts.collect(t, s, 120*time.Second, func(r []rec) bool {
					if len(r) > 0 {
						count(r[len(r)-1:]) // only the newest: the stop check runs after every event
					}
					return len(seen) >= want
				})
				<-done
				for i := 1; i <= want; i++ {
					if !seen[fmt.Sprintf("-(%d,\"row %d\")", i, i)] {
						t.Fatalf("round %d: row %d missing (%d seen)", round, i, len(seen))
					}
				}
			}
		})
	}
}
