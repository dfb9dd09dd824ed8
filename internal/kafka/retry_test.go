package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
)

// errDown is what a client meets while no broker listens.
var errDown = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}

func TestTransient(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"not enough replicas", kerr.NotEnoughReplicas, true},
		{"not leader", fmt.Errorf("produce: %w", kerr.NotLeaderForPartition), true},
		{"refused", errDown, true},
		{"eof", io.EOF, true},
		{"too large", kerr.MessageTooLarge, false},
		{"invalid record", kerr.InvalidRecord, false},
		{"sasl", kerr.SaslAuthenticationFailed, false},
		{"acl", fmt.Errorf("metadata: %w", kerr.TopicAuthorizationFailed), false},
		{"deadline", context.DeadlineExceeded, false},
		{"other", errors.New("other"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Transient(c.err); got != c.want {
				t.Errorf("Transient(%v) = %t, want %t", c.err, got, c.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	var c ClientConfig
	var got []time.Duration
	for n := 1; n <= 7; n++ {
		got = append(got, c.Backoff(n))
	}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000, 1000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("backoffs %v, want %v ms: retry.backoff.ms doubling to retry.backoff.max.ms", got, want)
		}
	}
}

// TestRetry: transient failures are retried until DeliveryTimeout has passed since the first
// one, with growing waits; permanent and auth errors end at once; ctx ends the wait.
func TestRetry(t *testing.T) {
	cfg := ClientConfig{DeliveryTimeout: time.Minute}
	t.Run("recovers", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			calls := 0
			err := cfg.Retry(t.Context(), nil, "op", func() error {
				if calls++; calls < 5 {
					return errDown
				}
				return nil
			})
			if err != nil || calls != 5 {
				t.Fatalf("Retry = %v after %d calls", err, calls)
			}
		})
	})
	t.Run("gives up after the delivery timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			err := cfg.Retry(t.Context(), nil, "save offset", func() error { return errDown })
			var u *UnavailableError
			if !errors.As(err, &u) || !errors.Is(err, errDown) || !u.Retryable() {
				t.Fatalf("Retry = %v, want a retryable UnavailableError", err)
			}
			if d := time.Since(start); d != time.Minute {
				t.Fatalf("gave up after %s, want exactly the delivery timeout", d)
			}
		})
	})
	for _, c := range []struct {
		name string
		err  error
		auth bool
	}{
		{"permanent", kerr.InvalidRecord, false},
		{"authentication", fmt.Errorf("connect: %w", kerr.SaslAuthenticationFailed), true},
		{"authorization", kerr.TopicAuthorizationFailed, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			calls := 0
			err := cfg.Retry(t.Context(), nil, "op", func() error { calls++; return c.err })
			var a *AuthError
			if calls != 1 || !errors.Is(err, c.err) || errors.As(err, &a) != c.auth {
				t.Fatalf("Retry = %v (%T) after %d calls, want it at once (auth error: %t)", err, err, calls, c.auth)
			}
			if c.auth && a.Retryable() {
				t.Fatal("auth error retryable")
			}
		})
	}
	t.Run("ctx", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			err := cfg.Retry(ctx, nil, "op", func() error { return errDown })
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Retry = %v, want the context's error", err)
			}
		})
	})
}

// freePort returns a loopback port nothing listens on (for a broker started later).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// TestConnectWaitsForBroker: a cluster that is down at start is waited for (it used to fail
// at once and the process exited).
func TestConnectWaitsForBroker(t *testing.T) {
	port := freePort(t)
	up := make(chan *kfake.Cluster, 1)
	go func() {
		time.Sleep(time.Second)
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port))
		if err != nil {
			t.Error(err)
		}
		up <- c
	}()
	defer func() {
		if c := <-up; c != nil {
			c.Close()
		}
	}()
	cc := ClientConfig{Brokers: []string{fmt.Sprintf("127.0.0.1:%d", port)}, DeliveryTimeout: 30 * time.Second}
	start := time.Now()
	if err := ping(t, cc, nil); err != nil {
		t.Fatalf("connect after %s: %v", time.Since(start), err)
	}
}

// TestRequestTimeout: a broker that accepts connections and never answers fails each request
// after RequestTimeout, and the operation after DeliveryTimeout, instead of hanging.
func TestRequestTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		var held []net.Conn // read nothing, answer nothing
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	cc := ClientConfig{Brokers: []string{l.Addr().String()}, RequestTimeout: 300 * time.Millisecond, DeliveryTimeout: time.Second}
	start := time.Now()
	err = ping(t, cc, nil)
	var u *UnavailableError
	if !errors.As(err, &u) {
		t.Fatalf("connect to a silent broker = %v, want an UnavailableError", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("connect took %s, want about DeliveryTimeout + RequestTimeout", d)
	}
}
