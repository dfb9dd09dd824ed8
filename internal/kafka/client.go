package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// DefaultVersion is the Kafka protocol version spoken when ClientConfig.Version is not set.
var DefaultVersion = sarama.V3_6_0_0

// Defaults of ClientConfig's timeouts, Kafka's producer defaults.
const (
	DefaultDeliveryTimeout = 2 * time.Minute        // delivery.timeout.ms
	DefaultRequestTimeout  = 30 * time.Second       // request.timeout.ms
	DefaultRetryBackoff    = 100 * time.Millisecond // retry.backoff.ms
	// DialTimeout bounds one TCP (and TLS) connection attempt, Kafka's
	// socket.connection.setup.timeout.ms; RequestTimeout lowers it when smaller.
	DialTimeout = 10 * time.Second
)

// ClientConfig holds the settings every sarama client of one process shares. Zero values mean
// the defaults written beside each field. Each component that talks to Kafka takes one and
// builds its sarama configuration from Sarama, so a connection setting added here (TLS, SASL)
// reaches all of them, and so do the retry bound and the timeouts: the data producer, the
// offsets store and the schema history ride out the same broker outage.
type ClientConfig struct {
	// Brokers is the bootstrap list, host:port each. Required.
	Brokers []string
	// ClientID is Kafka's client.id; empty means the component's own default ("sluice",
	// "sluice-offsets", …), so that broker logs and quotas tell the clients apart.
	ClientID string
	// Version is the Kafka protocol version to speak; defaults to DefaultVersion.
	Version sarama.KafkaVersion
	// DeliveryTimeout bounds how long one operation is retried while the brokers are
	// unreachable or fail transiently before it fails (Kafka's delivery.timeout.ms, default
	// 2m): connecting (at start too), creating a topic, reading an offsets or history topic,
	// saving an offset, and a produced record until it is acknowledged. Authentication and
	// authorization errors are not retried.
	DeliveryTimeout time.Duration
	// RequestTimeout bounds each request on the wire (Kafka's request.timeout.ms, default
	// 30s): sarama's network read and write timeouts and a whole metadata refresh. A broker
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
	if c.Version == (sarama.KafkaVersion{}) {
		c.Version = DefaultVersion
	}
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

// MaxProducerRetries bounds sarama's per-partition retry bookkeeping (a slice of Retry.Max+1
// entries per partition producer).
const MaxProducerRetries = 500

// ProducerRetries is how many of sarama's retries, waited as Backoff says, span
// DeliveryTimeout (at most 500): what Sarama sets. An asynchronous producer with a deadline
// of its own may allow more, since sarama counts a retry against every record of a partition
// whose batch failed, queued or not, so under partial failures the count runs ahead of the
// attempts.
func (c *ClientConfig) ProducerRetries() int {
	d := c.WithDefaults()
	n, waited := 0, time.Duration(0)
	for waited < d.DeliveryTimeout && n < MaxProducerRetries {
		n++
		waited += c.Backoff(n)
	}
	return n
}

// Sarama returns a new sarama configuration carrying the client settings; defaultClientID is
// used when ClientID is empty. The caller adds its producer or consumer settings. It fails
// when a security setting is bad or a file it names (CA, certificate, key, password) cannot
// be read; such errors are not retryable.
//
// Every request is bounded: a connection attempt by DialTimeout, a read or write by
// RequestTimeout, a whole metadata refresh (sarama's own retries included) by RequestTimeout,
// and the broker's wait for acks=all, for admin operations and for fetch data by half of it at
// most (sarama's defaults are 10s, 3s and 500ms).
// Producer retries wait as Backoff says, often enough to span DeliveryTimeout.
func (c *ClientConfig) Sarama(defaultClientID string) (*sarama.Config, error) {
	d := c.WithDefaults()
	sc := sarama.NewConfig()
	sc.ClientID = d.ClientID
	if sc.ClientID == "" {
		sc.ClientID = defaultClientID
	}
	sc.Version = d.Version
	sc.Net.DialTimeout = min(DialTimeout, d.RequestTimeout)
	sc.Net.ReadTimeout = d.RequestTimeout
	sc.Net.WriteTimeout = d.RequestTimeout
	sc.Metadata.Timeout = d.RequestTimeout
	sc.Metadata.Retry.Backoff = d.RetryBackoff
	sc.Admin.Timeout = min(sc.Admin.Timeout, d.RequestTimeout/2)
	sc.Producer.Timeout = min(sc.Producer.Timeout, d.RequestTimeout/2)
	sc.Consumer.MaxWaitTime = min(sc.Consumer.MaxWaitTime, d.RequestTimeout/2) // a fetch the broker holds
	sc.Producer.Retry.Max = d.ProducerRetries()
	sc.Producer.Retry.Backoff = d.RetryBackoff
	sc.Producer.Retry.BackoffFunc = func(retries, _ int) time.Duration { return d.Backoff(retries) }
	if err := d.applySecurity(sc); err != nil {
		return nil, err
	}
	return sc, nil
}

// insecureWarned makes the unverified-TLS warning appear once per process, not per client.
var insecureWarned sync.Once

// Connect opens a client to the brokers with sc (from Sarama, completed by the caller),
// retrying as Retry does: a cluster that is down at start is waited for up to
// DeliveryTimeout. log (nil: discard) gets the retry warnings.
func (c *ClientConfig) Connect(ctx context.Context, log *slog.Logger, sc *sarama.Config) (sarama.Client, error) {
	if c.Insecure() && log != nil {
		insecureWarned.Do(func() {
			log.Warn("kafka: TLS certificates of the brokers are not verified (--kafka-tls-verify none): anyone in the network path can read and change the data; give --kafka-tls-ca-file instead")
		})
	}
	var client sarama.Client
	err := c.Retry(ctx, log, "connect to "+strings.Join(c.Brokers, ","), func() error {
		var err error
		client, err = sarama.NewClient(c.Brokers, sc)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", strings.Join(c.Brokers, ","), err)
	}
	return client, nil
}
