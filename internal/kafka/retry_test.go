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

	"github.com/IBM/sarama"
	"github.com/eapache/go-resiliency/breaker"
	"github.com/twmb/franz-go/pkg/kfake"
)

func TestTransient(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"not enough replicas", sarama.ErrNotEnoughReplicas, true},
		{"not leader", &sarama.ProducerError{Err: sarama.ErrNotLeaderForPartition}, true},
		{"out of brokers", sarama.ErrOutOfBrokers, true},
		{"out of brokers, refused", fmt.Errorf("connect: %w", sarama.Wrap(sarama.ErrOutOfBrokers, syscall.ECONNREFUSED)), true},
		{"breaker open", breaker.ErrBreakerOpen, true},
		{"eof", io.EOF, true},
		{"net", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{"too large", sarama.ErrMessageSizeTooLarge, false},
		{"invalid record", sarama.ErrInvalidRecord, false},
		{"sasl", sarama.ErrSASLAuthenticationFailed, false},
		{"acl inside out of brokers", sarama.Wrap(sarama.ErrOutOfBrokers, sarama.ErrTopicAuthorizationFailed), false},
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
	sc := mustSarama(t, &c, "x")
	if r := sc.Producer.Retry.Max; r != 123 {
		t.Fatalf("producer retries %d: want the 123 whose waits span 2 minutes", r)
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
					return sarama.ErrOutOfBrokers
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
			err := cfg.Retry(t.Context(), nil, "save offset", func() error { return sarama.ErrOutOfBrokers })
			var u *UnavailableError
			if !errors.As(err, &u) || !errors.Is(err, sarama.ErrOutOfBrokers) || !u.Retryable() {
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
		{"permanent", sarama.ErrInvalidRecord, false},
		{"authentication", sarama.Wrap(sarama.ErrOutOfBrokers, sarama.ErrSASLAuthenticationFailed), true},
		{"authorization", sarama.ErrTopicAuthorizationFailed, true},
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
			err := cfg.Retry(ctx, nil, "op", func() error { return sarama.ErrOutOfBrokers })
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
	client, err := cc.Connect(t.Context(), nil, mustSarama(t, &cc, "test"))
	if err != nil {
		t.Fatalf("Connect after %s: %v", time.Since(start), err)
	}
	client.Close()
}

// TestRequestTimeout: a broker that accepts connections and never answers fails each request
// after RequestTimeout, and the operation after DeliveryTimeout, instead of hanging for
// sarama's 30 s per request and broker.
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
	_, err = cc.Connect(t.Context(), nil, mustSarama(t, &cc, "test"))
	var u *UnavailableError
	if !errors.As(err, &u) {
		t.Fatalf("Connect to a silent broker = %v, want an UnavailableError", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Connect took %s, want about DeliveryTimeout + RequestTimeout", d)
	}
}

// TestSaramaTimeouts: every request of every client is bounded, and the broker-side waits
// (acks, admin, fetch) stay below the request timeout.
func TestSaramaTimeouts(t *testing.T) {
	for _, c := range []struct {
		req                           time.Duration
		dial, producer, admin, fetchW time.Duration
	}{
		{0, 10 * time.Second, 10 * time.Second, 3 * time.Second, 500 * time.Millisecond},
		{2 * time.Second, 2 * time.Second, time.Second, time.Second, 500 * time.Millisecond},
		{400 * time.Millisecond, 400 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond, 200 * time.Millisecond},
	} {
		cc := ClientConfig{RequestTimeout: c.req}
		sc := mustSarama(t, &cc, "x")
		want := cc.WithDefaults().RequestTimeout
		if sc.Net.ReadTimeout != want || sc.Net.WriteTimeout != want || sc.Metadata.Timeout != want || sc.Net.DialTimeout != c.dial ||
			sc.Producer.Timeout != c.producer || sc.Admin.Timeout != c.admin || sc.Consumer.MaxWaitTime != c.fetchW {
			t.Errorf("request timeout %s: read %s write %s metadata %s dial %s acks %s admin %s fetch wait %s", c.req, sc.Net.ReadTimeout,
				sc.Net.WriteTimeout, sc.Metadata.Timeout, sc.Net.DialTimeout, sc.Producer.Timeout, sc.Admin.Timeout, sc.Consumer.MaxWaitTime)
		}
		if err := sc.Validate(); err != nil {
			t.Errorf("request timeout %s: %v", c.req, err)
		}
	}
}
