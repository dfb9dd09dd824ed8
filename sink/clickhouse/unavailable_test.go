package clickhouse

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// closedAddr is a loopback address nothing listens on: a dial is refused, as by a server
// that is down.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestNewUnreachableFailsWithinConnectTimeout: New against an address nothing listens on
// gives up after ConnectTimeout with a retryable *UnavailableError that names the address
// and what to check, and shows the outage on Link meanwhile. Before, it retried until ctx
// ended (for ever in sluice clickhouse: the process waited without a word beyond the
// retry warnings).
func TestNewUnreachableFailsWithinConnectTimeout(t *testing.T) {
	addr := closedAddr(t)
	link := new(capture.StreamStats)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	s, err := New(ctx, Config{Addr: []string{addr}, ConnectTimeout: time.Second, Link: link}, nil)
	if err == nil {
		s.Close()
		t.Fatal("New succeeded against a closed port")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("New gave up after %s, want about the 1s ConnectTimeout: %v", d.Round(time.Millisecond), err)
	}
	var ue *UnavailableError
	if !errors.As(err, &ue) || !capture.Retryable(err) {
		t.Fatalf("error %T (retryable %v), want a retryable *UnavailableError: %v", err, capture.Retryable(err), err)
	}
	for _, want := range []string{addr, "--clickhouse-connect-timeout", "--clickhouse-addr", "connection refused"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "read again") {
		t.Errorf("a start that took no record speaks of records read again: %v", err)
	}
	if link.DisconnectedUnixMilli.Load() == 0 || link.DisconnectErr.Load() == nil {
		t.Error("Link does not show the outage")
	}
}
