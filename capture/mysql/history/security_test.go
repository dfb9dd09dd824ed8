package history

import (
	"errors"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestKafkaSecure: the schema history topic is created and read over TLS with a SCRAM login;
// a refused login fails at once.
func TestKafkaSecure(t *testing.T) {
	k := testkit.NewSecureKafka(t, kafka.MechanismSCRAMSHA512)
	good := kafka.ClientConfig{Brokers: k.Brokers, SecurityProtocol: kafka.ProtocolSASLSSL, DeliveryTimeout: time.Minute,
		TLS:  kafka.TLSConfig{CAFile: k.CA.CAFile},
		SASL: kafka.SASLConfig{Mechanism: k.Mechanism, Username: k.User, Password: k.Password}}
	s, err := NewKafka(t.Context(), KafkaConfig{Client: good, Topic: "dbserver1.schema-history"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	bad := good
	bad.SASL.Username = "mallory"
	start := time.Now()
	_, err = NewKafka(t.Context(), KafkaConfig{Client: bad, Topic: "dbserver1.schema-history"})
	var aerr *kafka.AuthError
	if !errors.As(err, &aerr) || time.Since(start) > 10*time.Second {
		t.Fatalf("got %v (%T) after %s, want an *AuthError at once", err, err, time.Since(start))
	}
}
