package testkit

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// RequireEnv names the variable that turns every missing or unreachable test server into a
// failure instead of a skip. CI and `make check` set it, so a broken server cannot pass as
// "skipped".
const RequireEnv = "SLUICE_TEST_REQUIRE"

// dialTimeout bounds the reachability probe of Server. The test servers run on loopback, where
// a closed port is refused at once; the bound only matters for a DSN naming a remote host.
const dialTimeout = 3 * time.Second

// Required reports whether SLUICE_TEST_REQUIRE=1.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Env returns the value of the environment variable env. When it is empty the test is skipped
// with a message naming env, or fails when SLUICE_TEST_REQUIRE=1. Use it for settings that are
// not network servers (a library path); use Server for servers.
func Env(t testing.TB, env string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		need(t, env+` is not set (eval "$(scripts/servers.sh env)")`)
	}
	return v
}

// Server returns the setting in env (a PostgreSQL URL, a MySQL DSN, a host:port or a
// comma-separated broker list) once its server accepts a TCP connection. When env is empty or
// the server is unreachable, the test is skipped with a message naming env, or fails when
// SLUICE_TEST_REQUIRE=1. A setting whose address cannot be found (a Unix socket) is returned
// unprobed: the test's own connect then reports it.
func Server(t testing.TB, env string) string {
	t.Helper()
	v := Env(t, env)
	Require(t, env+" server", probe(v))
	return v
}

// Servers is Server for a test that runs against each of several servers (PostgreSQL 15 and 17,
// MariaDB and MySQL). It returns one setting per env, in order, with "" for a server that is
// not set or not reachable (logged, or a failure when SLUICE_TEST_REQUIRE=1), and skips the test
// when none is there.
func Servers(t testing.TB, envs ...string) []string {
	t.Helper()
	out := make([]string, len(envs))
	var missing []string
	for i, env := range envs {
		v := os.Getenv(env)
		err := errors.New("not set")
		if v != "" {
			err = probe(v)
		}
		if err != nil {
			if Required() {
				need(t, fmt.Sprintf("%s: %v", env, err))
			}
			t.Logf("without %s: %v", env, err)
			missing = append(missing, env)
			continue
		}
		out[i] = v
	}
	if len(missing) == len(envs) {
		t.Skipf("skipping: no server of %s (eval \"$(scripts/servers.sh env)\"; %s=1 makes this a failure)",
			strings.Join(envs, ", "), RequireEnv)
	}
	return out
}

// Require skips the test, or fails it when SLUICE_TEST_REQUIRE=1, if err is not nil. what names
// what the test needs from its environment ("SLUICE_TEST_PG_DSN server", "binlog file of
// SLUICE_TEST_MYSQL_DSN"). Errors of the code under test are never a reason to skip: report
// them with t.Fatal.
func Require(t testing.TB, what string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	need(t, fmt.Sprintf("%s: %v", what, err))
}

// need ends the test for want of msg: a failure when SLUICE_TEST_REQUIRE=1, else a skip.
func need(t testing.TB, msg string) {
	t.Helper()
	if Required() {
		t.Fatalf("%s (%s=1: fail instead of skipping)", msg, RequireEnv)
	}
	t.Skipf("skipping: %s (%s=1 makes this a failure)", msg, RequireEnv)
}

// probe dials the first address of setting that accepts a connection.
func probe(setting string) error {
	addrs := addrsOf(setting)
	var errs []error
	for _, a := range addrs {
		c, err := net.DialTimeout("tcp", a, dialTimeout)
		if err == nil {
			return c.Close()
		}
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("unreachable: %w", errors.Join(errs...))
	}
	return nil
}

var mysqlTCP = regexp.MustCompile(`@tcp\(([^)]*)\)`)

// addrsOf returns the host:port addresses a setting names, or nil when it names none this
// function understands.
func addrsOf(setting string) []string {
	if m := mysqlTCP.FindStringSubmatch(setting); m != nil {
		return []string{withPort(m[1], "3306")}
	}
	if strings.Contains(setting, "://") {
		u, err := url.Parse(setting)
		if err != nil || u.Host == "" {
			return nil
		}
		port := map[string]string{"postgres": "5432", "postgresql": "5432", "mysql": "3306", "clickhouse": "9000"}[u.Scheme]
		var out []string
		for _, h := range strings.Split(u.Host, ",") { // libpq accepts several hosts
			out = append(out, withPort(h, port))
		}
		return out
	}
	var out []string
	for _, a := range strings.Split(setting, ",") {
		a = strings.TrimSpace(a)
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil // not an address list (a keyword DSN, a socket path)
		}
		out = append(out, a)
	}
	return out
}

func withPort(host, port string) string {
	if _, _, err := net.SplitHostPort(host); err == nil || port == "" {
		return host
	}
	return net.JoinHostPort(host, port)
}
