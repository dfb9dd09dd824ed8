package postgres

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluicecdc/sluice/internal/tlsconf"
)

// dsnTLSKeys are the DSN settings that Config.TLS replaces; giving both is an error, so no
// one wonders which won.
var dsnTLSKeys = []string{"sslmode", "sslrootcert", "sslcert", "sslkey"}

// validateTLS reports inconsistent TLS settings.
func (c *Config) validateTLS() []error {
	errs := c.TLS.Validate("tls")
	if c.TLS.Set() {
		for _, k := range dsnTLSKeys {
			if strings.Contains(c.DSN, k+"=") {
				errs = append(errs, fmt.Errorf("the DSN sets %s and --tls-* flags are given: use one of them", k))
				break
			}
		}
	}
	return errs
}

// autoTLS reports whether nothing chose the TLS of the connections: no --tls-* setting, no
// sslmode, sslrootcert, sslcert or sslkey in the DSN, no PGSSLMODE. The source then verifies
// the server when it offers TLS (verify-full against the system's CAs) and uses plain text,
// with a warning, only when the server refuses TLS (connectFirst). libpq's default, prefer,
// would accept any certificate.
func (c *Config) autoTLS() bool {
	if c.TLS.Set() || os.Getenv("PGSSLMODE") != "" {
		return false
	}
	for _, k := range dsnTLSKeys {
		if strings.Contains(c.DSN, k+"=") {
			return false
		}
	}
	return true
}

// applyTLS sets the TLS of every connection the source opens (metadata, replication,
// snapshot readers: all copy cc) from Config.TLS when it is set, or to verify-full when
// nothing chose (autoTLS); otherwise the DSN's own sslmode (libpq's rules) stays.
func (c *Config) applyTLS(cc *pgconn.Config) error {
	t := c.TLS
	switch {
	case c.autoTLS():
		t.Mode = tlsconf.VerifyFull
	case !c.TLS.Set():
		return nil
	}
	type hostPort struct {
		host string
		port uint16
	}
	hosts := []hostPort{{cc.Host, cc.Port}}
	for _, f := range cc.Fallbacks {
		if hp := (hostPort{f.Host, f.Port}); hp != hosts[len(hosts)-1] {
			hosts = append(hosts, hp)
		}
	}
	var all []*pgconn.FallbackConfig
	for _, hp := range hosts {
		if network, _ := pgconn.NetworkAddress(hp.host, hp.port); network == "unix" {
			all = append(all, &pgconn.FallbackConfig{Host: hp.host, Port: hp.port}) // no TLS on a socket, as libpq
			continue
		}
		tc, err := t.Client(hp.host, "tls")
		if err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
		all = append(all, &pgconn.FallbackConfig{Host: hp.host, Port: hp.port, TLSConfig: tc})
		if t.Effective() == tlsconf.Prefer {
			all = append(all, &pgconn.FallbackConfig{Host: hp.host, Port: hp.port})
		}
	}
	cc.Host, cc.Port, cc.TLSConfig = all[0].Host, all[0].Port, all[0].TLSConfig
	cc.Fallbacks = all[1:]
	return nil
}

// ApplyTLS sets the TLS of cc, parsed from dsn, from t as the source sets its connections,
// for tools that read the same server (sluice verify). An unset t leaves the DSN's sslmode
// (libpq's rules); t with an sslmode… in the DSN too is an error.
func ApplyTLS(dsn string, t tlsconf.Config, cc *pgconn.Config) error {
	c := &Config{DSN: dsn, TLS: t}
	if errs := c.validateTLS(); len(errs) > 0 {
		return fmt.Errorf("postgres: %w", errors.Join(errs...))
	}
	if !t.Set() {
		return nil
	}
	return c.applyTLS(cc)
}

// connectFirst opens the metadata connection, the source's first. When nothing chose the TLS
// (autoTLS) and the server refuses TLS, every connection goes in plain text, said once at warn
// level; a certificate that does not verify is an error (tlsError), never a fallback.
func (s *Source) connectFirst(ctx context.Context) (*pgx.Conn, error) {
	meta, err := s.connect(ctx)
	if err == nil || !s.cfg.autoTLS() || !strings.Contains(err.Error(), "server refused TLS connection") {
		return meta, err
	}
	s.connCfg.TLSConfig = nil
	for _, f := range s.connCfg.Fallbacks {
		f.TLSConfig = nil
	}
	tlsconf.WarnUnverified(s.log, "postgres", "tls", "default", false)
	return s.connect(ctx)
}

// checkTLS warns once when the connection nc (opened with cc) is encrypted without a checked
// certificate, or fell back to plain text although TLS was preferred. A DSN with
// sslmode=disable (or a Unix socket) is the operator's explicit choice and is not warned about.
func (c *Config) checkTLS(log *slog.Logger, cc *pgconn.Config, nc net.Conn) {
	mode := string(c.TLS.Effective())
	switch {
	case c.autoTLS():
		return // verified, or plain text already warned about by connectFirst
	case !c.TLS.Set():
		mode = "sslmode of the DSN"
	}
	if _, ok := nc.(*tls.Conn); ok {
		if !verifying(cc.TLSConfig) {
			tlsconf.WarnUnverified(log, "postgres", "tls", tlsconf.Mode(mode), true)
		}
		return
	}
	if cc.TLSConfig != nil {
		tlsconf.WarnUnverified(log, "postgres", "tls", tlsconf.Mode(mode), false)
	}
}

// verifying reports whether tc checks the server's certificate (pgx's verify-ca sets
// VerifyPeerCertificate, ours VerifyConnection).
func verifying(tc *tls.Config) bool {
	return tc != nil && (!tc.InsecureSkipVerify || tc.VerifyPeerCertificate != nil || tc.VerifyConnection != nil)
}

// tlsError adds the fix to a connect error caused by the server's certificate, which no retry
// cures; nil when err is not one.
func tlsError(err error) error {
	var ve *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &hn):
		return fmt.Errorf("%w (the server's certificate does not name the host: connect by a name it carries, set --tls-server-name, or use --tls-mode verify-ca; not retried)", err)
	case errors.As(err, &ve), errors.As(err, &ua), errors.As(err, &ci):
		return fmt.Errorf("%w (the server's certificate is not signed by a trusted CA: set --tls-ca-file to the CA that signed it, or --tls-mode prefer to accept an unverified channel; not retried)", err)
	}
	if strings.Contains(err.Error(), "server refused TLS connection") {
		return fmt.Errorf("%w (the TLS mode requires TLS: enable ssl on the server, or set --tls-mode prefer or disable; not retried)", err)
	}
	return nil
}
