package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// UnavailableError is an operation that kept failing transiently for the whole
// DeliveryTimeout. It is retryable (capture.Retryable): the brokers may come back, and a caller
// that restarts from its last saved position loses nothing.
type UnavailableError struct {
	Op     string        // what was tried, e.g. "save offset to sluice-offsets"
	Waited time.Duration // how long it was retried
	Err    error         // the last failure
	Hint   string        // a likely cause beyond an outage, if any
}

func (e *UnavailableError) Error() string {
	msg := fmt.Sprintf("kafka: %s: still failing after %s (--kafka-delivery-timeout, delivery.timeout.ms): %v",
		e.Op, e.Waited.Round(time.Millisecond), e.Err)
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

func (e *UnavailableError) Unwrap() error   { return e.Err }
func (e *UnavailableError) Retryable() bool { return true }

// AuthError is a failure to authenticate or an authorization the brokers refused. It is not
// retried and not retryable: it lasts until an operator changes credentials or ACLs.
type AuthError struct {
	Op  string
	Err error
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("kafka: %s: %v (not retried: check --kafka-sasl-mechanism, --kafka-sasl-username and the password "+
		"(--kafka-sasl-password-file, SLUICE_KAFKA_SASL_PASSWORD or sasl.jaas.config), and the ACLs the client needs)", e.Op, e.Err)
}

func (e *AuthError) Unwrap() error   { return e.Err }
func (e *AuthError) Retryable() bool { return false }

// TLSError is a TLS handshake with a broker that failed on the certificates: the broker's is
// not signed by a trusted CA or does not carry its name, the broker refused ours, or it does
// not speak TLS on that port. It is not retried and not retryable: it lasts until an operator
// changes the TLS settings or the broker's certificate.
type TLSError struct {
	Op  string
	Err error
}

func (e *TLSError) Error() string {
	return fmt.Sprintf("kafka: %s: TLS handshake failed: %v (not retried: check --kafka-tls-ca-file (ssl.truststore.location), "+
		"--kafka-tls-server-name, the client certificate (--kafka-tls-cert-file) and that the brokers listen for TLS on these ports "+
		"(--kafka-security-protocol))", e.Op, e.Err)
}

func (e *TLSError) Unwrap() error   { return e.Err }
func (e *TLSError) Retryable() bool { return false }

// TLSFailure reports whether err is a TLS handshake failure no retry can cure (see TLSError).
func TLSFailure(err error) bool {
	var (
		verr *tls.CertificateVerificationError
		uerr x509.UnknownAuthorityError
		herr x509.HostnameError
		cerr x509.CertificateInvalidError
		rerr tls.RecordHeaderError
		aerr tls.AlertError
	)
	return errors.As(err, &verr) || errors.As(err, &uerr) || errors.As(err, &herr) || errors.As(err, &cerr) ||
		errors.As(err, &rerr) || errors.As(err, &aerr)
}

// Auth reports whether err is an authentication or authorization failure.
func Auth(err error) bool {
	for _, k := range []error{kerr.SaslAuthenticationFailed, kerr.TopicAuthorizationFailed, kerr.GroupAuthorizationFailed,
		kerr.ClusterAuthorizationFailed, kerr.TransactionalIDAuthorizationFailed, kerr.DelegationTokenAuthorizationFailed,
		kerr.UnsupportedSaslMechanism, kerr.IllegalSaslState} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// Transient reports errors a later attempt may not meet: no reachable broker, leadership
// moves, timeouts, too few in-sync replicas, network failures (the broker error codes Kafka
// marks retriable, and what the client calls a retryable connection error). Authentication
// and authorization failures are never transient.
func Transient(err error) bool {
	// context.DeadlineExceeded is a net.Error too, but it is the caller's deadline.
	if err == nil || Auth(err) || TLSFailure(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ferr *kerr.Error
	if errors.As(err, &ferr) {
		return ferr.Retriable
	}
	if kgo.IsRetryableBrokerErr(err) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var nerr net.Error
	return errors.As(err, &nerr)
}

// retryLogEvery spaces the warnings of one Retry: the first failure, then one per interval.
const retryLogEvery = 10 * time.Second

// Retry calls fn until it returns nil, an error that is not Transient (returned as is, or as
// an *AuthError), ctx ends (ctx.Err()), or DeliveryTimeout has passed since the first failure
// (an *UnavailableError with the last error). It waits Backoff between attempts and logs a
// warning (log may be nil) at the first failure and every 10 s after, naming op.
func (c *ClientConfig) Retry(ctx context.Context, log *slog.Logger, op string, fn func() error) error {
	d := c.WithDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var start, logged time.Time
	for n := 1; ; n++ {
		err := fn()
		if err == nil {
			if n > 1 {
				log.Info("kafka reachable again", "op", op, "attempts", n, "waited", time.Since(start).Round(time.Millisecond))
			}
			return nil
		}
		if Auth(err) {
			return &AuthError{Op: op, Err: err}
		}
		if TLSFailure(err) {
			return &TLSError{Op: op, Err: err}
		}
		if !Transient(err) {
			return err
		}
		now := time.Now()
		if n == 1 {
			start = now
		}
		waited := now.Sub(start)
		if waited >= d.DeliveryTimeout {
			return &UnavailableError{Op: op, Waited: waited, Err: err, Hint: c.closedHint(err)}
		}
		if logged.IsZero() || now.Sub(logged) >= retryLogEvery {
			logged = now
			log.Warn("kafka unavailable; retrying", "op", op, "err", err, "waited", waited.Round(time.Millisecond),
				"gives_up_in", (d.DeliveryTimeout - waited).Round(time.Second))
		}
		t := time.NewTimer(min(c.Backoff(n), d.DeliveryTimeout-waited))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// closedHint names the likely causes of connections the brokers close at once, beyond an
// outage: some brokers close instead of answering a refused SASL login, and a broker that
// expects TLS closes a plain-text client.
func (c *ClientConfig) closedHint(err error) string {
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, syscall.ECONNRESET) {
		return ""
	}
	if saslOn(c.protocol()) {
		return "the brokers closed the connection: if they are up, check the SASL login (--kafka-sasl-mechanism, --kafka-sasl-username, the password) and --kafka-security-protocol"
	}
	return "the brokers closed the connection: if they are up, check that --kafka-security-protocol matches their listener (SSL, SASL_SSL, SASL_PLAINTEXT)"
}
