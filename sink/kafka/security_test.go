package kafka

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// secureClient is the client settings of a SecureKafka with its right credentials.
func secureClient(k *testkit.SecureKafka) ikafka.ClientConfig {
	return ikafka.ClientConfig{Brokers: k.Brokers, SecurityProtocol: ikafka.ProtocolSASLSSL, DeliveryTimeout: time.Minute,
		TLS:  ikafka.TLSConfig{CAFile: k.CA.CAFile},
		SASL: ikafka.SASLConfig{Mechanism: k.Mechanism, Username: k.User, Password: k.Password}}
}

// TestSinkSecure: the sink produces over TLS with a SCRAM login; a refused login or an
// untrusted broker certificate fails Open within seconds with a non-retryable error naming
// the flags to check, instead of being retried for the delivery timeout.
func TestSinkSecure(t *testing.T) {
	k := testkit.NewSecureKafka(t, ikafka.MechanismSCRAMSHA512)
	var tk tokens
	s, err := New(Config{Client: secureClient(k), Partitions: 1}, tk.durable)
	if err != nil {
		t.Fatal(err)
	}
	rec := envelope.Record{Topic: "secure.t", Key: []byte(`{"id":1}`), Value: []byte(`{"n":1}`)}
	if err := s.Send(t.Context(), &rec, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if tk.count(1) != 1 {
		t.Fatal("record not acknowledged")
	}

	other := testkit.NewTestCA(t, "other")
	for _, c := range []struct {
		name   string
		change func(*ikafka.ClientConfig)
		want   string
	}{
		{"wrong user", func(c *ikafka.ClientConfig) { c.SASL.Username = "mallory" }, "--kafka-sasl-username"},
		{"wrong CA", func(c *ikafka.ClientConfig) { c.TLS.CAFile = other.CAFile }, "--kafka-tls-ca-file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cc := secureClient(k)
			c.change(&cc)
			start := time.Now()
			_, err := Open(context.Background(), Config{Client: cc}, tk.durable)
			var aerr *ikafka.AuthError
			var terr *ikafka.TLSError
			if !errors.As(err, &aerr) && !errors.As(err, &terr) {
				t.Fatalf("got %v (%T), want an auth or TLS error", err, err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("failed after %s: must not be retried", d)
			}
			if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), k.Password) {
				t.Fatalf("error must name %s and not show the password: %v", c.want, err)
			}
		})
	}
}
