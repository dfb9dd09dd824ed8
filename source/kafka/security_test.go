package kafka

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestSourceSecure: sluice clickhouse's input consumes over TLS with a SCRAM login; a refused
// login or an untrusted broker certificate fails Open within seconds with a non-retryable
// error naming the flags to check.
func TestSourceSecure(t *testing.T) {
	k := testkit.NewSecureKafka(t, ikafka.MechanismSCRAMSHA256, kfake.SeedTopics(1, "secure.t"))
	good := ikafka.ClientConfig{Brokers: k.Brokers, SecurityProtocol: ikafka.ProtocolSASLSSL, DeliveryTimeout: time.Minute,
		TLS:  ikafka.TLSConfig{CAFile: k.CA.CAFile},
		SASL: ikafka.SASLConfig{Mechanism: k.Mechanism, Username: k.User, Password: k.Password}}
	opts, err := good.Kgo("test", nil)
	if err != nil {
		t.Fatal(err)
	}
	testkit.KafkaProduce(t, testkit.KafkaClient(t, k.Brokers, opts...), &kgo.Record{Topic: "secure.t", Value: []byte("v1")})

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	src, err := Open(ctx, Config{Client: good, Topics: "secure\\..*", Group: "g-secure"})
	if err != nil {
		t.Fatal(err)
	}
	rec, _, err := src.Next(ctx)
	for err == nil && rec.Topic == "" { // drain markers
		rec, _, err = src.Next(ctx)
	}
	if err != nil || string(rec.Value) != "v1" {
		t.Fatalf("Next = %q, %v; want v1", rec.Value, err)
	}
	src.Close()

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
			cc := good
			c.change(&cc)
			start := time.Now()
			src, err := Open(t.Context(), Config{Client: cc, Topics: "secure\\..*", Group: "g-secure"})
			if err == nil {
				src.Close()
			}
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
