package clickhousecmd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/sluicecdc/sluice/internal/cli"
)

var _ cli.Pinger = (*sink)(nil)

// Ping logs in to ClickHouse once (SELECT 1), so that a capture command with --sink
// clickhouse does not open its source (a slot, a snapshot) while the server is unreachable,
// as --sink kafka does not: an unreachable server is retryable (the run loop waits it out
// within --errors-retry-timeout), a refused login or certificate is not.
func (s *sink) Ping(ctx context.Context) error {
	opts, err := s.cfg.Options()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	addr := strings.Join(opts.Addr, ",")
	conn, err := ch.Open(opts)
	if err == nil {
		defer conn.Close()
		err = conn.Exec(ctx, "SELECT 1")
	}
	if err == nil {
		return nil
	}
	var ex *ch.Exception
	var ve *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	switch {
	case errors.As(err, &ex) && (ex.Code == 192 || ex.Code == 193 || ex.Code == 194 || ex.Code == 516):
		return fmt.Errorf("clickhouse: log in to %s: %w (not retried: check --clickhouse-user and the password: --clickhouse-password-file or SLUICE_CLICKHOUSE_PASSWORD)", addr, err)
	case errors.As(err, &ve) || errors.As(err, &ua) || errors.As(err, &hn):
		return fmt.Errorf("clickhouse: connect to %s: %w (not retried: set --clickhouse-tls-ca-file to the CA that signed the server's certificate, or --clickhouse-tls-server-name to a name it carries)", addr, err)
	}
	return retryable{fmt.Errorf("clickhouse: connect to %s: %w (is the server up? --clickhouse-addr is its native-protocol port, 9000; 9440 with TLS)", addr, err)}
}

// retryable marks a failure a later attempt may not meet (capture.Retryable).
type retryable struct{ error }

func (retryable) Retryable() bool { return true }
func (e retryable) Unwrap() error { return e.error }
