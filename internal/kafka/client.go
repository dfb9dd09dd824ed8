package kafka

import (
	"errors"
	"strings"
	"sync"
	"time"
)

// Defaults of ClientConfig's timeouts, Kafka's producer defaults.
const (
	DefaultDeliveryTimeout = 2 * time.Minute        // delivery.timeout.ms
	DefaultRequestTimeout  = 30 * time.Second       // request.timeout.ms
	DefaultRetryBackoff    = 100 * time.Millisecond // retry.backoff.ms
	// DialTimeout bounds one TCP (and TLS) connection attempt, Kafka's
	// socket.connection.setup.timeout.ms; RequestTimeout lowers it when smaller.
	DialTimeout = 10 * time.Second
)

// ClientConfig holds the settings every Kafka client of one process shares. Zero values mean
// the defaults written beside each field. Each component that talks to Kafka takes one and
// builds its client options from Kgo, so a connection setting added here (TLS, SASL) reaches
// all of them, and so do the retry bound and the timeouts: the data producer, the offsets
// store and the schema history ride out the same broker outage.
type ClientConfig struct {
	// Brokers is the bootstrap list, host:port each. Required.
	Brokers []string
	// ClientID is Kafka's client.id; empty means the component's own default ("sluice",
	// "sluice-offsets", …), so that broker logs and quotas tell the clients apart.
	ClientID string
	// DeliveryTimeout bounds how long one operation is retried while the brokers are
	// unreachable or fail transiently before it fails (Kafka's delivery.timeout.ms, default
	// 2m): connecting (at start too), creating a topic, reading an offsets or history topic,
	// saving an offset, and a produced record until it is acknowledged. Authentication and
	// authorization errors are not retried.
	DeliveryTimeout time.Duration
	// RequestTimeout bounds each request on the wire (Kafka's request.timeout.ms, default
	// 30s), beyond the wait the request itself asks of the broker. A broker
	// that accepts a request and never answers fails the request after it, which the retry
	// bound above then covers.
	RequestTimeout time.Duration
	// RetryBackoff is the first wait between two attempts (Kafka's retry.backoff.ms, default
	// 100ms); waits double up to ten times it (retry.backoff.max.ms, 1s by default).
	RetryBackoff time.Duration

	// SecurityProtocol is Kafka's security.protocol: PLAINTEXT (the default), SSL,
	// SASL_PLAINTEXT or SASL_SSL. TLS settings need SSL or SASL_SSL, SASL settings SASL_*.
	SecurityProtocol string
	// TLS is used with SSL and SASL_SSL; it verifies the brokers by default.
	TLS TLSConfig
	// SASL is used with SASL_PLAINTEXT and SASL_SSL.
	SASL SASLConfig
}

// ParseBrokers splits a comma-separated bootstrap list, dropping blanks around and between
// items.
func ParseBrokers(s string) []string {
	var out []string
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// Validate reports every bad field.
func (c *ClientConfig) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("kafka: no brokers given (--kafka-brokers host:port,…)"))
	}
	if c.DeliveryTimeout < 0 || c.RequestTimeout < 0 || c.RetryBackoff < 0 {
		errs = append(errs, errors.New("kafka: timeouts and backoff must not be negative"))
	}
	errs = append(errs, c.validateSecurity()...)
	return errors.Join(errs...)
}

// ValidateSecurity reports every bad TLS or SASL setting (for commands where Kafka is
// optional, so that Validate's missing-brokers error does not apply).
func (c *ClientConfig) ValidateSecurity() error {
	return errors.Join(c.validateSecurity()...)
}

// WithDefaults returns c with its zero fields set to their defaults.
func (c ClientConfig) WithDefaults() ClientConfig {
	if c.DeliveryTimeout == 0 {
		c.DeliveryTimeout = DefaultDeliveryTimeout
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
	return c
}

// Backoff is the wait before retry n (1, 2, …): RetryBackoff doubling up to ten times it.
func (c *ClientConfig) Backoff(n int) time.Duration {
	d := c.WithDefaults()
	return min(d.RetryBackoff<<min(max(n-1, 0), 4), 10*d.RetryBackoff)
}

// insecureWarned makes the unverified-TLS warning appear once per process, not per client.
var insecureWarned sync.Once
