// Package tlsconf is the one TLS setting of sluice's database and ClickHouse connections: a
// mode (disable, prefer, require, verify-ca, verify-full), a CA file, a client certificate
// and key, and the name the server's certificate must carry. It parses the modes under their
// libpq and MySQL spellings, registers the flags, builds the crypto/tls configuration and
// warns once per connection kind when a channel is not verified. It does no I/O but reading
// the files it names.
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/sluicecdc/sluice/internal/properties"
)

// Mode says whether a connection is encrypted and what is checked of the server's certificate.
type Mode string

const (
	// Default is the zero Mode: Prefer, or VerifyFull when a CA file is given (the operator
	// who names the CA wants it checked).
	Default Mode = ""
	// Disable never encrypts.
	Disable Mode = "disable"
	// Prefer encrypts when the server offers TLS, without checking its certificate, and falls
	// back to plain text when it does not; either way a warning says so once.
	Prefer Mode = "prefer"
	// Require fails unless the channel is encrypted; the certificate is not checked (a warning
	// says so once) unless a CA file is given, which makes it VerifyCA (as libpq does).
	Require Mode = "require"
	// VerifyCA requires TLS and a certificate chain signed by the CA file (or the system's
	// roots); the host name is not checked.
	VerifyCA Mode = "verify-ca"
	// VerifyFull is VerifyCA plus a certificate that names the server (its host, or
	// Config.ServerName).
	VerifyFull Mode = "verify-full"
)

// ParseMode accepts the libpq names (disable, prefer, require, verify-ca, verify-full) and
// MySQL's (DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY), in any case, with - or _.
func ParseMode(s string) (Mode, error) {
	switch strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "_", "-") {
	case "":
		return Default, nil
	case "disable", "disabled", "false", "off":
		return Disable, nil
	case "prefer", "preferred":
		return Prefer, nil
	case "require", "required", "true", "on":
		return Require, nil
	case "verify-ca":
		return VerifyCA, nil
	case "verify-full", "verify-identity":
		return VerifyFull, nil
	case "allow":
		return "", errors.New(`"allow" (plain text first) is not supported: use prefer, or disable`)
	}
	return "", fmt.Errorf("unknown TLS mode %q: want disable, prefer, require, verify-ca or verify-full", s)
}

// Config is the TLS side of one connection. Files are PEM and are read each time Client runs,
// so a rotated certificate is picked up by the next connection.
type Config struct {
	// Mode (default: Prefer; VerifyFull when CAFile is set).
	Mode Mode
	// CAFile holds the CA certificates that sign the server's certificate; empty means the
	// system's roots.
	CAFile string
	// CertFile and KeyFile are the client certificate (with its chain) and its unencrypted
	// key, for servers that authenticate clients by certificate. KeyFile empty means the key
	// is in CertFile.
	CertFile, KeyFile string
	// ServerName is the name the server's certificate must carry under VerifyFull; empty
	// means the host the client connects to.
	ServerName string
}

// Set reports whether any field is set (the connection's own settings, such as a DSN's
// sslmode, then must not also be given).
func (c Config) Set() bool {
	return c != Config{}
}

// Effective is the mode in force: Default resolves to Prefer, or VerifyFull with a CA file;
// Require with a CA file is VerifyCA.
func (c Config) Effective() Mode {
	switch {
	case c.Mode == Default && c.CAFile != "":
		return VerifyFull
	case c.Mode == Default:
		return Prefer
	case c.Mode == Require && c.CAFile != "":
		return VerifyCA
	}
	return c.Mode
}

// Verified reports whether an encrypted channel has its server's certificate checked.
func (c Config) Verified() bool {
	m := c.Effective()
	return m == VerifyCA || m == VerifyFull
}

// Validate reports every inconsistent field; flag is the flags' prefix ("tls", "clickhouse-tls")
// for the messages.
func (c Config) Validate(flag string) []error {
	var errs []error
	switch c.Mode {
	case Default, Disable, Prefer, Require, VerifyCA, VerifyFull:
	default:
		errs = append(errs, fmt.Errorf("--%s-mode %q: want disable, prefer, require, verify-ca or verify-full", flag, c.Mode))
	}
	if c.Mode == Disable && (c.CAFile != "" || c.CertFile != "" || c.KeyFile != "" || c.ServerName != "") {
		errs = append(errs, fmt.Errorf("--%s-mode disable with --%s-* files or server name: drop them, or choose a mode that uses TLS", flag, flag))
	}
	if c.KeyFile != "" && c.CertFile == "" {
		errs = append(errs, fmt.Errorf("--%s-key-file needs --%s-cert-file", flag, flag))
	}
	return errs
}

// Client returns the crypto/tls configuration for a server reached as host (a name or an IP
// address), or nil under Disable. Under Prefer and Require without a CA file the certificate
// is not checked; under VerifyCA only the chain is.
func (c Config) Client(host, flag string) (*tls.Config, error) {
	mode := c.Effective()
	if mode == Disable {
		return nil, nil
	}
	name := c.ServerName
	if name == "" {
		name = host
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: name}
	if c.CAFile != "" {
		pool, err := ReadCAs(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--%s-ca-file: %w", flag, err)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" {
		keyFile := c.KeyFile
		if keyFile == "" {
			keyFile = c.CertFile
		}
		cert, err := tls.LoadX509KeyPair(c.CertFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("--%s-cert-file %s, --%s-key-file %s: %w (want a PEM certificate chain and an unencrypted PEM key)", flag, c.CertFile, flag, keyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	switch mode {
	case Prefer, Require:
		tc.InsecureSkipVerify = true // the operator's choice; WarnUnverified says so once
	case VerifyCA:
		// crypto/tls checks chain and name together: skip its check and verify the chain
		// alone with the same roots.
		tc.InsecureSkipVerify = true
		roots := tc.RootCAs
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("the server sent no certificate")
			}
			opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
			for _, ic := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(ic)
			}
			if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
				return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
			}
			return nil
		}
	}
	return tc, nil
}

// ReadCAs reads a PEM bundle of CA certificates; a file without one (a JKS or PKCS12
// truststore) is an error that says how to convert it.
func ReadCAs(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d: %w", path, n+1, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate in it (convert a JKS or PKCS12 truststore to PEM, e.g. keytool -exportcert -rfc)", path)
	}
	return pool, nil
}

// DefaultHelp describes the Default mode of databases for RegisterFlags.
const DefaultHelp = "prefer, which does not check the certificate and warns once; verify-full when a CA file is given"

// RegisterFlags registers --<flag>-mode, --<flag>-ca-file, --<flag>-cert-file,
// --<flag>-key-file and --<flag>-server-name on fs; what names the connections in the help
// ("PostgreSQL", "ClickHouse"); def says what the default mode does.
func (c *Config) RegisterFlags(fs *flag.FlagSet, flag, what, def string) {
	fs.Var(properties.Func(string(c.Mode), func(s string) (err error) {
		c.Mode, err = ParseMode(s)
		return err
	}), flag+"-mode", what+" TLS: disable|prefer|require|verify-ca|verify-full (default: "+def+")")
	fs.StringVar(&c.CAFile, flag+"-ca-file", c.CAFile, "PEM file of the CAs that sign the "+what+" server's certificate (default: the system's)")
	fs.StringVar(&c.CertFile, flag+"-cert-file", c.CertFile, "PEM client certificate for a "+what+" server that requires one (may hold the key too)")
	fs.StringVar(&c.KeyFile, flag+"-key-file", c.KeyFile, "unencrypted PEM key of --"+flag+"-cert-file (default: read from the certificate file)")
	fs.StringVar(&c.ServerName, flag+"-server-name", c.ServerName, "name the "+what+" server's certificate must carry under verify-full (default: the host connected to)")
}

var warned sync.Map // connection kind → struct{}

// WarnUnverified logs, once per process and connection kind (conn: "postgres", "mysql
// replication", ...), that a channel is encrypted but its server not verified, or not
// encrypted at all, and what to set instead.
func WarnUnverified(log *slog.Logger, conn, flag string, mode Mode, encrypted bool) {
	if _, dup := warned.LoadOrStore(conn, struct{}{}); dup {
		return
	}
	if encrypted {
		log.Warn("TLS channel not verified: anyone in the network path can read and change it; set --"+flag+"-ca-file (and --"+flag+"-mode verify-full)",
			"connection", conn, "tls_mode", string(mode))
		return
	}
	log.Warn("connection not encrypted: the server offers no TLS; set --"+flag+"-mode disable to accept that, or enable TLS on the server and set --"+flag+"-mode verify-full",
		"connection", conn, "tls_mode", string(mode))
}

// ResetWarnings forgets which warnings were logged (tests).
func ResetWarnings() { warned.Clear() }
