//go:build integration

package clickhouse

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/internal/testkit"
	"github.com/sluicecdc/sluice/internal/tlsconf"
)

// chPassword is recognisable so that the test can look for it in logs and errors.
const chPassword = "Ch-Tls-Pa55word-k4Wd"

// startTLSClickHouse starts a ClickHouse server of the test's own that listens only on its TLS
// native port, with a certificate from ca naming 127.0.0.1 and user default's password
// chPassword. It returns the TLS address.
func startTLSClickHouse(t *testing.T, ca *testkit.TestCA) string {
	t.Helper()
	bin, err := exec.LookPath("clickhouse-server")
	testkit.Require(t, "clickhouse-server (scripts/clickhouse.sh installs it)", err)
	u, err := user.Lookup("clickhouse")
	testkit.Require(t, "a clickhouse system user", err)
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	cert, key := ca.ServerFiles(t, "ch-server", "127.0.0.1")
	dir := testkit.PrivateDir(t, "sluice-chtls-")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	config := fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
    <logger><level>information</level><log>%[1]s/server.log</log><errorlog>%[1]s/server.err.log</errorlog></logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port_secure>%[2]d</tcp_port_secure>
    <openSSL><server>
        <certificateFile>%[3]s</certificateFile>
        <privateKeyFile>%[4]s</privateKeyFile>
        <verificationMode>none</verificationMode>
        <loadDefaultCAFile>false</loadDefaultCAFile>
        <cacheSessions>true</cacheSessions>
        <disableProtocols>sslv2,sslv3</disableProtocols>
        <preferServerCiphers>true</preferServerCiphers>
    </server></openSSL>
    <max_connections>64</max_connections>
    <mark_cache_size>5368709</mark_cache_size>
    <path>%[1]s/data/</path>
    <tmp_path>%[1]s/tmp/</tmp_path>
    <user_files_path>%[1]s/user_files/</user_files_path>
    <format_schema_path>%[1]s/format_schemas/</format_schema_path>
    <users_config>%[1]s/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
</yandex>
`, dir, port, cert, key)
	users := fmt.Sprintf(`<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>1000000000</max_memory_usage></default></profiles>
    <users><default>
        <password>%s</password>
        <networks><ip>127.0.0.1</ip></networks>
        <profile>default</profile><quota>default</quota>
    </default></users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`, chPassword)
	for _, d := range []string{"data", "tmp", "user_files", "format_schemas"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "config.xml"), []byte(config), 0o644)
	os.WriteFile(filepath.Join(dir, "users.xml"), []byte(users), 0o644)
	filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Chown(p, uid, gid) })
	os.Chmod(dir, 0o755)
	cmd := exec.Command(bin, "--config-file="+filepath.Join(dir, "config.xml"))
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill() // only the server this test started
		// then PrivateDir's cleanup removes dir
		<-exited
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "server.err.log"))
			t.Fatalf("private ClickHouse exited at start:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("private ClickHouse did not listen on %s within 60 s", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestTLSClickHouse: a ClickHouse 18.16 that listens only on its TLS port is reached with
// --clickhouse-tls-ca-file (verify-full by default once a TLS setting is given) and writes a
// record; a CA that did not sign its certificate fails New at once, naming the flag, instead
// of being retried for ever; require warns once that the channel is unverified. The password
// appears in no log line or error. Before, no flag set the sink's TLS.
func TestTLSClickHouse(t *testing.T) {
	ca := testkit.NewTestCA(t, "ch-tls")
	addr := startTLSClickHouse(t, ca)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := Config{Addr: []string{addr}, Password: chPassword, Database: "sl_tls", TLS: tlsconf.Config{CAFile: ca.CAFile}, Logger: log, MaxBackoff: time.Second}
	s, err := New(ctx, cfg, nil)
	if err != nil {
		t.Fatalf("New over verified TLS: %v", err)
	}
	if s.version == "" {
		t.Error("no server version read")
	}
	s.Close()

	bad := cfg
	bad.TLS.CAFile = testkit.NewTestCA(t, "other").CAFile
	bctx, bcancel := context.WithTimeout(ctx, 20*time.Second)
	defer bcancel()
	_, err = New(bctx, bad, nil)
	if err == nil || bctx.Err() != nil || !strings.Contains(err.Error(), "not retried") || !strings.Contains(err.Error(), "--clickhouse-tls-ca-file") {
		t.Errorf("wrong CA: %v, want an error at once naming --clickhouse-tls-ca-file", err)
	}
	errs := []error{err}

	plain := cfg
	plain.TLS = tlsconf.Config{}
	pctx, pcancel := context.WithTimeout(ctx, 3*time.Second)
	defer pcancel()
	if _, err := New(pctx, plain, nil); err == nil {
		t.Error("plain text to the TLS port connected")
	} else {
		errs = append(errs, err)
	}

	tlsconf.ResetWarnings()
	req := cfg
	req.TLS = tlsconf.Config{Mode: tlsconf.Require}
	for range 2 {
		s, err := New(ctx, req, nil)
		if err != nil {
			t.Fatalf("New with require: %v", err)
		}
		s.Close()
	}
	if n := strings.Count(logs.String(), "TLS channel not verified"); n != 1 {
		t.Errorf("require: %d warnings that the channel is not verified, want 1", n)
	}
	for _, e := range errs {
		if strings.Contains(e.Error(), chPassword) {
			t.Errorf("an error shows the password: %v", e)
		}
	}
	if strings.Contains(logs.String(), chPassword) {
		t.Errorf("a log line shows the password:\n%s", logs.String())
	}
}
