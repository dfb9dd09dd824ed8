package kafka

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	kscram "github.com/twmb/franz-go/pkg/sasl/scram"
)

// Kgo returns the franz-go client options carrying the client settings: brokers, client id (defaultClientID when ClientID is empty), timeouts, retry bound
// and backoff, TLS and SASL. log (nil: discard) receives the client's warnings and errors. The
// caller adds its consumer or producer options. It fails when a security setting is bad or a
// file it names (CA, certificate, key, password) cannot be read; such errors are not
// retryable. franz-go asks each broker which request versions it speaks.
func (c *ClientConfig) Kgo(defaultClientID string, log *slog.Logger) ([]kgo.Opt, error) {
	d := c.WithDefaults()
	if errs := c.validateSecurity(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	id := d.ClientID
	if id == "" {
		id = defaultClientID
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(d.Brokers...),
		kgo.ClientID(id),
		kgo.DialTimeout(min(DialTimeout, d.RequestTimeout)),
		// franz-go bounds a request by its own timeout (a fetch's wait, a join's rebalance
		// timeout) plus this overhead.
		kgo.RequestTimeoutOverhead(d.RequestTimeout),
		kgo.RetryTimeout(d.DeliveryTimeout),
		kgo.RetryBackoffFn(func(n int) time.Duration { return d.Backoff(n) }),
		// A leader move (NOT_LEADER) waits for new metadata; franz-go spaces metadata loads by
		// 5s by default, the Java client by retry.backoff.ms: a produce stream would stall
		// for seconds at every leader change.
		kgo.MetadataMinAge(max(d.RetryBackoff, 10*time.Millisecond)),
		kgo.WithLogger(kgoLogger{log}),
	}
	p := c.protocol()
	if tlsOn(p) {
		tc, err := c.TLS.config()
		if err != nil {
			return nil, err
		}
		if c.Insecure() {
			insecureWarned.Do(func() {
				log.Warn("kafka: TLS certificates of the brokers are not verified (--kafka-tls-verify none): anyone in the network path can read and change the data; give --kafka-tls-ca-file instead")
			})
		}
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if saslOn(p) {
		user, pw, err := c.SASL.credentials()
		if err != nil {
			return nil, err
		}
		switch c.SASL.mechanism() {
		case MechanismPlain:
			opts = append(opts, kgo.SASL(plain.Auth{User: user, Pass: pw}.AsMechanism()))
		case MechanismSCRAMSHA256:
			opts = append(opts, kgo.SASL(kscram.Auth{User: user, Pass: pw}.AsSha256Mechanism()))
		case MechanismSCRAMSHA512:
			opts = append(opts, kgo.SASL(kscram.Auth{User: user, Pass: pw}.AsSha512Mechanism()))
		}
	}
	return opts, nil
}

// kgoLogger routes franz-go's log lines into slog: its warnings and errors as such, its info
// (every join, every assignment) and debug lines at Debug.
type kgoLogger struct{ l *slog.Logger }

func (k kgoLogger) Level() kgo.LogLevel {
	switch {
	case k.l.Enabled(context.Background(), slog.LevelDebug):
		return kgo.LogLevelDebug
	case k.l.Enabled(context.Background(), slog.LevelWarn):
		return kgo.LogLevelWarn
	}
	return kgo.LogLevelError
}

func (k kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	l := slog.LevelDebug
	switch level {
	case kgo.LogLevelError:
		l = slog.LevelError
	case kgo.LogLevelWarn:
		l = slog.LevelWarn
	}
	k.l.Log(context.Background(), l, "kafka client: "+msg, keyvals...)
}
