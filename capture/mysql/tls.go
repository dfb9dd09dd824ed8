package mysql

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql/replication"
	"github.com/sluicecdc/sluice/internal/tlsconf"
)

// dsnTLSParams are the URL DSN parameters that name a TLS mode (the driver DSN's is tls=).
// They are settings of the client, never session variables (mysql://…?tls=true once became
// SET tls = true, and the snapshot went in plain text).
var dsnTLSParams = []string{"tls", "ssl-mode", "ssl_mode", "sslmode"}

// tlsSettings is the TLS of every connection: Config.TLS, or the mode the DSN names (the
// driver's tls=true|skip-verify|preferred|false, or a libpq/MySQL mode name); both is an
// error.
func (c *Config) tlsSettings(dsnMode string) (tlsconf.Config, error) {
	t := c.TLS
	if dsnMode == "" {
		return t, nil
	}
	if t.Mode != tlsconf.Default {
		return t, fmt.Errorf("mysql: the DSN sets tls=%s and --tls-mode is %s: give one", dsnMode, t.Mode)
	}
	var err error
	switch strings.ToLower(dsnMode) {
	case "true": // the driver's: verified
		t.Mode = tlsconf.VerifyFull
	case "skip-verify":
		t.Mode = tlsconf.Require
	default:
		t.Mode, err = tlsconf.ParseMode(dsnMode)
	}
	if err != nil {
		return t, fmt.Errorf("mysql: DSN: %w", err)
	}
	return t, nil
}

// replicationMode maps a mode to the replication client's.
func replicationMode(m tlsconf.Mode) replication.TLSMode {
	switch m {
	case tlsconf.Disable:
		return replication.TLSDisable
	case tlsconf.Require:
		return replication.TLSRequired
	case tlsconf.VerifyCA:
		return replication.TLSVerifyCA
	case tlsconf.VerifyFull:
		return replication.TLSVerifyFull
	}
	return replication.TLSPreferred
}

// setupTLS applies the TLS settings and the server's public key to the query pool's driver
// config and keeps what the replication connections (stream, snapshot readers) need.
func (s *Source) setupTLS(dsnMode string) error {
	t, err := s.cfg.tlsSettings(dsnMode)
	if err != nil {
		return err
	}
	s.tls = t
	host, _, err := net.SplitHostPort(s.dcfg.Addr)
	if err != nil {
		host = s.dcfg.Addr
	}
	if s.tlsBase, err = t.Client(host, "tls"); err != nil {
		return fmt.Errorf("mysql: %w", err)
	}
	s.dcfg.TLS, s.dcfg.TLSConfig = s.tlsBase, ""
	s.dcfg.AllowFallbackToPlaintext = t.Effective() == tlsconf.Prefer
	if f := s.cfg.ServerPublicKeyFile; f != "" {
		if s.pubKey, err = replication.ReadPublicKeyFile(f); err != nil {
			return fmt.Errorf("mysql: --server-public-key-file: %w", err)
		}
		name := "sluice:" + f
		gomysql.RegisterServerPubKey(name, s.pubKey)
		s.dcfg.ServerPubKey = name
	}
	return nil
}

// probeAuth authenticates once with the replication client before the query pool connects.
// The driver of the pool sends the password in clear inside any TLS and fetches the server's
// RSA key unasked when the server wants full authentication; the replication client refuses
// both on an unverified channel (unless AllowPublicKeyRetrieval), and once it has logged in,
// the server's cache (caching_sha2_password) lets the pool's connections take the fast path.
// It also says once when the channel is not verified.
func (s *Source) probeAuth(ctx context.Context) error {
	cfg := s.replicationConfig()
	c, err := replication.Dial(ctx, cfg)
	if err != nil {
		return s.replConnError(err)
	}
	defer c.Close()
	mode := s.tls.Effective()
	switch {
	case c.TLS() && !c.Verified():
		tlsconf.WarnUnverified(s.log, "mysql", "tls", mode, true)
	case !c.TLS() && mode != tlsconf.Disable:
		tlsconf.WarnUnverified(s.log, "mysql", "tls", mode, false)
	}
	return nil
}

// insecureOrCertificate reports a refused password exchange or a server certificate that did
// not verify.
func insecureOrCertificate(err error) bool {
	var ve *tls.CertificateVerificationError
	return errors.Is(err, replication.ErrInsecureAuth) || errors.As(err, &ve)
}

// replConnError classifies an error of connecting with the replication client: a refused
// password exchange or a certificate that does not verify is fatal and says what to set; a
// server's refusal reads as the query connection's (connError); anything else is retried.
func (s *Source) replConnError(err error) error {
	var ve *tls.CertificateVerificationError
	var se *replication.ServerError
	switch {
	case errors.Is(err, context.Canceled):
		return err
	case errors.Is(err, replication.ErrInsecureAuth):
		return errorf("connect to %s as %q: %w", s.dcfg.Addr, s.dcfg.User, err)
	case errors.As(err, &ve):
		return errorf("connect to %s: %w (set --tls-ca-file to the CA that signed the server's certificate; with a certificate that does not name the host, --tls-mode verify-ca or --tls-server-name; not retried)", s.dcfg.Addr, err)
	case errors.Is(err, replication.ErrUnsupported):
		return errorf("connect to %s: %w", s.dcfg.Addr, err)
	case errors.As(err, &se):
		if transientCodes[se.Code] {
			return &retryableError{errorf("connect to %s: %w", s.dcfg.Addr, err)}
		}
		return s.connError(&gomysql.MySQLError{Number: se.Code, Message: se.Message})
	case capture.Retryable(err):
		return &retryableError{errorf("connect to %s: %w", s.dcfg.Addr, err)}
	}
	return errorf("connect to %s: %w", s.dcfg.Addr, err)
}
