package offsets

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestKafkaStoreSecure: the offsets store saves and loads over TLS with a PLAIN login; a
// refused login or an untrusted broker certificate fails NewKafka within seconds with a
// non-retryable error naming the flags to check, and no password in it.
func TestKafkaStoreSecure(t *testing.T) {
	k := testkit.NewSecureKafka(t, kafka.MechanismPlain)
	good := kafka.ClientConfig{Brokers: k.Brokers, SecurityProtocol: kafka.ProtocolSASLSSL, DeliveryTimeout: time.Minute,
		TLS:  kafka.TLSConfig{CAFile: k.CA.CAFile},
		SASL: kafka.SASLConfig{Username: k.User, Password: k.Password}}
	cfg := KafkaConfig{Client: good, Topic: "offsets", Name: "sluice", TopicPrefix: "dbserver1"}
	s, err := NewKafka(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save(t.Context(), []byte(`{"lsn":7}`)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = NewKafka(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(t.Context())
	s.Close()
	if err != nil || string(got) != `{"lsn":7}` {
		t.Fatalf("Load = %s, %v", got, err)
	}

	other := testkit.NewTestCA(t, "other")
	for _, c := range []struct {
		name   string
		change func(*kafka.ClientConfig)
		want   string
	}{
		{"wrong password", func(c *kafka.ClientConfig) { c.SASL.Password = "not-" + k.Password }, "--kafka-sasl-password-file"},
		{"wrong CA", func(c *kafka.ClientConfig) { c.TLS.CAFile = other.CAFile }, "--kafka-tls-ca-file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := cfg
			c.change(&bad.Client)
			start := time.Now()
			s, err := NewKafka(t.Context(), bad)
			if err == nil {
				s.Close()
			}
			var aerr *kafka.AuthError
			var terr *kafka.TLSError
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
