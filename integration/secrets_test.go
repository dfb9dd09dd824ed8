//go:build integration

package integration

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	_ "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"

	"github.com/sluicecdc/sluice/internal/testkit"
)

// Recognisable secrets: a database password and a row value. Neither may appear in a log line,
// an error or /metrics of the sluice binary (the value only on stdout, where the records go).
const (
	secretPassword = "Pw-Secret-7Hq2"
	secretValue    = "RowValue-Secret-9Zt4"
)

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// sluiceRun is one run of the binary: its stderr (every log line and the final error) and
// stdout (the records).
type sluiceRun struct {
	cmd            *exec.Cmd
	stdout, stderr testkit.SyncBuffer
	done           chan error
}

func startSluice(t *testing.T, bin string, args ...string) *sluiceRun {
	t.Helper()
	r := &sluiceRun{cmd: exec.Command(bin, args...), done: make(chan error, 1)}
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	r.cmd.Env = append(os.Environ(), "SLUICE_LOG_LEVEL=debug", "SLUICE_LOG_FORMAT=json")
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		r.cmd.Process.Kill() // only the process this test started
		<-r.done
	})
	return r
}

// waitOutput waits until stdout holds s (or the run ends, or 60 s pass).
func (r *sluiceRun) waitOutput(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !bytes.Contains(r.stdout.Bytes(), []byte(s)) {
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("sluice exited (%v) before writing %q:\n%s", err, s, r.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q on stdout within 60 s:\n%s", s, r.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends the run with SIGTERM and waits.
func (r *sluiceRun) stop(t *testing.T) {
	t.Helper()
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-r.done:
		r.done <- err
	case <-time.After(30 * time.Second):
		t.Fatal("sluice did not stop within 30 s of SIGTERM")
	}
}

// wait waits for a run that is to fail on its own.
func (r *sluiceRun) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("sluice did not exit within 60 s")
		return nil
	}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// noSecrets fails when a log line, an error or a metrics page holds the password, or the row
// value; what names the text.
func noSecrets(t *testing.T, what, text string) {
	t.Helper()
	for _, s := range []string{secretPassword, secretValue} {
		if strings.Contains(text, s) {
			t.Errorf("%s holds %q:\n%s", what, s, text)
		}
	}
}

// TestSecretsNotLeaked runs `sluice postgres` and `sluice mysql` at --log-level debug with a
// recognisable password (from --password-file, then in argv) and a recognisable row value,
// reads /metrics and /healthz, and makes them fail (a wrong password, a malformed DSN): no
// log line, error or metric shows the password or the value, and a password in argv works
// but is warned about. Before, the ClickHouse sink's debug line of each record held its values.
func TestSecretsNotLeaked(t *testing.T) {
	srv := testkit.Servers(t, "SLUICE_TEST_PG_DSN", "SLUICE_TEST_MARIADB_DSN")
	bin := buildSluice(t)
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(secretPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongFile := filepath.Join(t.TempDir(), "wrong")
	if err := os.WriteFile(wrongFile, []byte("Wrong-"+secretPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	t.Run("postgres", func(t *testing.T) {
		if srv[0] == "" {
			t.Skip("SLUICE_TEST_PG_DSN not set")
		}
		adm, err := pgx.Connect(ctx, srv[0])
		if err != nil {
			t.Fatal(err)
		}
		defer adm.Close(ctx)
		role := fmt.Sprintf("sl_secret_%d", os.Getpid())
		db := role
		adm.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)")
		adm.Exec(ctx, "DROP ROLE IF EXISTS "+role)
		for _, q := range []string{
			"CREATE ROLE " + role + " LOGIN REPLICATION SUPERUSER PASSWORD '" + secretPassword + "'",
			"CREATE DATABASE " + db + " OWNER " + role,
		} {
			if _, err := adm.Exec(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() {
			c, err := pgx.Connect(context.Background(), srv[0])
			if err != nil {
				return
			}
			defer c.Close(context.Background())
			if err := testkit.DropPGDatabase(context.Background(), c, db); err != nil {
				t.Error(err)
			}
			c.Exec(context.Background(), "DROP ROLE IF EXISTS "+role)
		})
		host := strings.Split(strings.Split(srv[0], "@")[1], "/")[0]
		conn, err := pgx.Connect(ctx, fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable", role, secretPassword, host, db))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "CREATE TABLE people (id int PRIMARY KEY, note text); INSERT INTO people VALUES (1, '"+secretValue+"')"); err != nil {
			t.Fatal(err)
		}
		dsn := fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable", role, host, db)
		for i, args := range [][]string{
			{"--dsn", dsn, "--password-file", pwFile},
			{"--dsn", fmt.Sprintf("postgres://%s:%s@%s/%s?sslmode=disable", role, secretPassword, host, db)}, // argv
		} {
			http := freeAddr(t)
			r := startSluice(t, bin, append([]string{"postgres", "--sink", "stdout", "--topic-prefix", "sec", "--slot", fmt.Sprintf("%s_%d", role, i),
				"--http-addr", http, "--offsets-file", filepath.Join(t.TempDir(), "offsets")}, args...)...)
			r.waitOutput(t, secretValue)
			noSecrets(t, "/metrics", httpGet(t, "http://"+http+"/metrics"))
			noSecrets(t, "/healthz", httpGet(t, "http://"+http+"/healthz"))
			r.stop(t)
			noSecrets(t, "the log", r.stderr.String())
			if warned := strings.Contains(r.stderr.String(), "--dsn on the command line carries a password"); warned != (i == 1) {
				t.Errorf("run %d: warned about the password in argv: %v, want %v", i, warned, i == 1)
			}
		}
		// Into ClickHouse, where the sink's debug log describes each record.
		t.Run("clickhouse sink", func(t *testing.T) {
			chAddr := testkit.Server(t, "SLUICE_TEST_CLICKHOUSE_ADDR")
			chdb := fmt.Sprintf("sl_secret_%d", os.Getpid())
			t.Cleanup(func() {
				if c, err := ch.Open(&ch.Options{Addr: []string{chAddr}, Auth: ch.Auth{Database: "default", Username: "default"}}); err == nil {
					c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+chdb)
					c.Close()
				}
			})
			r := startSluice(t, bin, "postgres", "--sink", "clickhouse", "--clickhouse-addr", chAddr, "--clickhouse-database", chdb,
				"--topic-prefix", "sec", "--slot", role+"_ch", "--offsets-file", filepath.Join(t.TempDir(), "offsets"),
				"--dsn", dsn, "--password-file", pwFile)
			deadline := time.Now().Add(60 * time.Second)
			for !strings.Contains(r.stderr.String(), `"msg":"clickhouse record"`) {
				if time.Now().After(deadline) {
					t.Fatalf("no debug line of a ClickHouse record within 60 s:\n%s", r.stderr.String())
				}
				time.Sleep(50 * time.Millisecond)
			}
			r.stop(t)
			noSecrets(t, "the log", r.stderr.String())
		})

		// Failures: a wrong password; a malformed DSN whose password lands in the port.
		for _, args := range [][]string{
			{"--dsn", dsn, "--password-file", wrongFile},
			{"--dsn", fmt.Sprintf("postgres://%s:%s@%s:notaport/%s", role, secretPassword, strings.Split(host, ":")[0], db)},
			{"--dsn", fmt.Sprintf("postgres://%s:%s:x@%s/%s", role, secretPassword, host, db)},
		} {
			r := startSluice(t, bin, append([]string{"postgres", "--sink", "stdout", "--topic-prefix", "sec", "--errors-max-retries", "0"}, args...)...)
			if err := r.wait(t); err == nil {
				t.Errorf("%v: exited 0, want a failure", args)
			}
			noSecrets(t, "the log and error", r.stderr.String())
		}
	})

	t.Run("mysql", func(t *testing.T) {
		if srv[1] == "" {
			t.Skip("SLUICE_TEST_MARIADB_DSN not set")
		}
		adm, err := sql.Open("mysql", srv[1]+"?multiStatements=true")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { adm.Close() }) // after the cleanup below, which drops with it
		user := fmt.Sprintf("sl_secret_%d", os.Getpid())
		db := user
		for _, q := range []string{
			"DROP USER IF EXISTS '" + user + "'@'%'",
			"CREATE USER '" + user + "'@'%' IDENTIFIED BY '" + secretPassword + "'",
			"GRANT ALL PRIVILEGES ON *.* TO '" + user + "'@'%'",
			"DROP DATABASE IF EXISTS " + db, "CREATE DATABASE " + db,
			"CREATE TABLE " + db + ".people (id INT PRIMARY KEY, note VARCHAR(64))",
			"INSERT INTO " + db + ".people VALUES (1, '" + secretValue + "')",
		} {
			if _, err := adm.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		t.Cleanup(func() {
			adm.Exec("DROP DATABASE IF EXISTS " + db)
			adm.Exec("DROP USER IF EXISTS '" + user + "'@'%'")
		})
		addr := strings.TrimSuffix(strings.TrimPrefix(srv[1], "root@tcp("), ")/")
		base := []string{"mysql", "--sink", "stdout", "--topic-prefix", "sec", "--database-include", db}
		for i, args := range [][]string{
			{"--dsn", "mysql://" + user + "@" + addr, "--password-file", pwFile},
			{"--dsn", "mysql://" + user + ":" + secretPassword + "@" + addr}, // argv
		} {
			http := freeAddr(t)
			r := startSluice(t, bin, append(append(base, "--server-id", fmt.Sprint(4_000_000+os.Getpid()%100_000*10+i),
				"--http-addr", http, "--offsets-file", filepath.Join(t.TempDir(), "offsets")), args...)...)
			r.waitOutput(t, secretValue)
			noSecrets(t, "/metrics", httpGet(t, "http://"+http+"/metrics"))
			noSecrets(t, "/healthz", httpGet(t, "http://"+http+"/healthz"))
			r.stop(t)
			noSecrets(t, "the log", r.stderr.String())
			if warned := strings.Contains(r.stderr.String(), "--dsn on the command line carries a password"); warned != (i == 1) {
				t.Errorf("run %d: warned about the password in argv: %v, want %v", i, warned, i == 1)
			}
		}
		for _, args := range [][]string{
			{"--dsn", "mysql://" + user + "@" + addr, "--password-file", wrongFile},
			{"--dsn", "mysql://" + user + ":" + secretPassword + "@" + strings.Split(addr, ":")[0] + ":notaport"},
			{"--dsn", user + ":" + secretPassword + "@tcp(" + addr},
		} {
			r := startSluice(t, bin, append(append(base, "--server-id", fmt.Sprint(4_500_000+os.Getpid()%100_000), "--errors-max-retries", "0", "--schema-history", "memory"), args...)...)
			if err := r.wait(t); err == nil {
				t.Errorf("%v: exited 0, want a failure", args)
			}
			noSecrets(t, "the log and error", r.stderr.String())
		}
	})
}
