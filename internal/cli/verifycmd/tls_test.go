package verifycmd

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// fakePostgres accepts one connection, reports whether its first message is an SSLRequest,
// refuses TLS ('N') and closes.
func fakePostgres(t *testing.T) (addr string, sawSSLRequest <-chan bool) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	saw := make(chan bool, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		var msg [8]byte
		if _, err := io.ReadFull(c, msg[:]); err != nil {
			saw <- false
			return
		}
		ssl := binary.BigEndian.Uint32(msg[4:]) == 80877103 // SSLRequest's code
		saw <- ssl
		if ssl {
			c.Write([]byte{'N'})
		}
	}()
	return ln.Addr().String(), saw
}

// received is what the fake server saw, false when no connection came within 5 s.
func received(t *testing.T, saw <-chan bool) bool {
	t.Helper()
	select {
	case v := <-saw:
		return v
	case <-time.After(5 * time.Second):
		t.Error("no connection reached the fake server")
		return false
	}
}

// TestSourceTLSFlags: --tls-mode reaches the source connection: verify-full asks the server
// for TLS and stops when it refuses; disable does not ask; with the DSN's sslmode as well it is
// a configuration error.
func TestSourceTLSFlags(t *testing.T) {
	run := func(args ...string) error {
		var out bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return Run(ctx, "sluice verify", append(args, "--clickhouse-addr", "127.0.0.1:1", "--log-level", "error"), &out)
	}
	addr, saw := fakePostgres(t)
	err := run("--dsn", "postgres://u@"+addr+"/db", "--tls-mode", "verify-full")
	if err == nil || !strings.Contains(err.Error(), "refused TLS") {
		t.Errorf("verify-full against a server without TLS: %v", err)
	}
	if !received(t, saw) {
		t.Error("verify-full: the connection did not ask for TLS")
	}

	addr, saw = fakePostgres(t)
	err = run("--dsn", "postgres://u@"+addr+"/db", "--tls-mode", "disable")
	if err == nil || received(t, saw) {
		t.Error("--tls-mode disable: the connection asked for TLS")
	}

	err = run("--dsn", "postgres://u@"+addr+"/db?sslmode=require", "--tls-mode", "verify-full")
	if err == nil || !strings.Contains(err.Error(), "sslmode") {
		t.Errorf("sslmode and --tls-mode: %v", err)
	}
}
