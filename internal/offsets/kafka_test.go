package offsets

import (
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// freePort returns a loopback port nothing listens on, for a broker started (or restarted)
// on it later.
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

// startAfter starts a one-broker kfake on port after d (opts added) and closes it when the
// test ends.
func startAfter(t *testing.T, d time.Duration, port int, opts ...kfake.Opt) {
	t.Helper()
	up := make(chan *kfake.Cluster, 1)
	time.AfterFunc(d, func() {
		c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.Ports(port)}, opts...)...)
		if err != nil {
			t.Error(err)
		}
		up <- c
	})
	t.Cleanup(func() {
		if c := <-up; c != nil {
			c.Close()
		}
	})
}

// TestKafkaStoreWaitsForBrokerAtStart: a broker that is down when sluice starts is waited for
// (up to DeliveryTimeout); the store used to fail at once and the process exited.
func TestKafkaStoreWaitsForBrokerAtStart(t *testing.T) {
	port := freePort(t)
	startAfter(t, time.Second, port)
	cfg := KafkaConfig{Client: kafka.ClientConfig{Brokers: []string{fmt.Sprintf("127.0.0.1:%d", port)}, DeliveryTimeout: 30 * time.Second},
		Topic: "offsets", Name: "sluice", TopicPrefix: "dbserver1"}
	s, err := NewKafka(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Save(t.Context(), []byte(`{"lsn":1}`)); err != nil {
		t.Fatal(err)
	}
}

// TestKafkaStoreSaveRidesOutBrokerRestart: a Save while the broker is down for longer than
// the old 10 × 250 ms budget succeeds once the broker is back, and the value is stored.
func TestKafkaStoreSaveRidesOutBrokerRestart(t *testing.T) {
	port, dir := freePort(t), t.TempDir()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(port), kfake.DataDir(dir)}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	cfg := KafkaConfig{Client: kafka.ClientConfig{Brokers: c.ListenAddrs(), DeliveryTimeout: 30 * time.Second},
		Topic: "offsets", Name: "sluice", TopicPrefix: "dbserver1"}
	s, err := NewKafka(t.Context(), cfg)
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Save(t.Context(), []byte(`{"lsn":1}`)); err != nil {
		c.Close()
		t.Fatal(err)
	}
	c.Close()
	startAfter(t, 4*time.Second, port, kfake.DataDir(dir))
	start := time.Now()
	if err := s.Save(t.Context(), []byte(`{"lsn":2}`)); err != nil {
		t.Fatalf("Save across a 4 s broker restart failed after %s: %v", time.Since(start), err)
	}
	if v, err := s.Load(t.Context()); err != nil || string(v) != `{"lsn":2}` {
		t.Fatalf("Load = %s, %v", v, err)
	}
}

// TestKafkaStoreGivesUp: after DeliveryTimeout of outage Save fails with a retryable error
// that names the flag.
func TestKafkaStoreGivesUp(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := KafkaConfig{Client: kafka.ClientConfig{Brokers: c.ListenAddrs(), DeliveryTimeout: time.Second},
		Topic: "offsets", Name: "sluice", TopicPrefix: "dbserver1"}
	s, err := NewKafka(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	testkit.FailProduce(c, 6) // NOT_LEADER_FOR_PARTITION, retriable
	err = s.Save(t.Context(), []byte(`{"lsn":1}`))
	var u *kafka.UnavailableError
	var r interface{ Retryable() bool }
	if !errors.As(err, &u) || !errors.As(err, &r) || !r.Retryable() {
		t.Fatalf("Save = %v, want a retryable kafka.UnavailableError", err)
	}
}

// TestKafkaStoreAuthFailsFast: a write the broker refuses for lack of ACLs is not retried.
func TestKafkaStoreAuthFailsFast(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cfg := KafkaConfig{Client: kafka.ClientConfig{Brokers: c.ListenAddrs()}, Topic: "offsets", Name: "sluice", TopicPrefix: "dbserver1"}
	s, err := NewKafka(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	testkit.FailProduce(c, 29) // TOPIC_AUTHORIZATION_FAILED
	start := time.Now()
	err = s.Save(t.Context(), []byte(`{"lsn":1}`))
	var a *kafka.AuthError
	if !errors.As(err, &a) || a.Retryable() {
		t.Fatalf("Save = %v, want a kafka.AuthError", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s to fail", d)
	}
}
