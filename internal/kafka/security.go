package kafka

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"

	"github.com/sluicecdc/sluice/internal/properties"
	"github.com/sluicecdc/sluice/internal/tlsconf"
)

// Kafka's security.protocol values: whether the connection is TLS and whether it authenticates
// with SASL.
const (
	ProtocolPlaintext     = "PLAINTEXT"
	ProtocolSSL           = "SSL"
	ProtocolSASLPlaintext = "SASL_PLAINTEXT"
	ProtocolSASLSSL       = "SASL_SSL"
)

// SASL mechanisms (Kafka's sasl.mechanism) sluice speaks.
const (
	MechanismPlain       = "PLAIN"
	MechanismSCRAMSHA256 = "SCRAM-SHA-256"
	MechanismSCRAMSHA512 = "SCRAM-SHA-512"
)

// TLS verification modes (TLSConfig.Verify).
const (
	VerifyFull = "full" // the chain and the broker's name (Kafka's default, ssl.endpoint.identification.algorithm=https)
	VerifyCA   = "ca"   // the chain only (ssl.endpoint.identification.algorithm empty)
	VerifyNone = "none" // nothing: encrypted, but anyone in the path may read it; logs a warning
)

// TLSConfig is the TLS side of a Kafka connection, used when SecurityProtocol is SSL or
// SASL_SSL. Files are PEM and are read each time a client is built, so a rotated certificate is
// picked up by the next connection.
type TLSConfig struct {
	// CAFile holds the CA certificates that sign the brokers' certificates (Kafka's
	// ssl.truststore.location with ssl.truststore.type=PEM); empty means the system roots.
	CAFile string
	// CertFile holds the client certificate (and its chain) for brokers that require client
	// authentication (ssl.keystore.location with ssl.keystore.type=PEM); it may hold the
	// private key too.
	CertFile string
	// KeyFile holds the client's private key (unencrypted PEM); empty means it is in CertFile.
	KeyFile string
	// ServerName is the name the brokers' certificates must carry; empty means the host of
	// each broker address.
	ServerName string
	// Verify is VerifyFull (the default), VerifyCA or VerifyNone.
	Verify string
}

// SASLConfig is the SASL login of a Kafka connection, used when SecurityProtocol is
// SASL_PLAINTEXT or SASL_SSL.
type SASLConfig struct {
	// Mechanism is MechanismPlain (the default), MechanismSCRAMSHA256 or MechanismSCRAMSHA512.
	Mechanism string
	Username  string
	// Password is the password itself; PasswordFile (its first line) is read instead when set.
	// It never appears in an error or a log line.
	Password     string
	PasswordFile string
	// JAAS is Kafka's sasl.jaas.config line (PlainLoginModule or ScramLoginModule with
	// username and password), an alternative to Username and Password.
	JAAS string
}

// login returns the user name and the password (a file's name when fromFile), from the JAAS
// line or the fields; a JAAS line and fields that disagree are an error.
func (s *SASLConfig) login() (user, pw string, fromFile bool, module string, err error) {
	user, pw = s.Username, s.Password
	if s.PasswordFile != "" {
		pw, fromFile = s.PasswordFile, true
	}
	if s.JAAS == "" {
		return user, pw, fromFile, "", nil
	}
	j, err := parseJAAS(s.JAAS)
	if err != nil {
		return "", "", false, "", err
	}
	if user != "" && user != j.username {
		return "", "", false, "", errors.New("kafka: --kafka-sasl-username differs from the username of sasl.jaas.config: give one")
	}
	if pw != "" {
		return "", "", false, "", errors.New("kafka: a password is given both in sasl.jaas.config and as --kafka-sasl-password-file or SLUICE_KAFKA_SASL_PASSWORD: give one")
	}
	return j.username, j.password, false, j.module, nil
}

// tlsOn and saslOn tell what the protocol asks for.
func tlsOn(p string) bool  { return p == ProtocolSSL || p == ProtocolSASLSSL }
func saslOn(p string) bool { return p == ProtocolSASLPlaintext || p == ProtocolSASLSSL }

// validateSecurity reports every inconsistent security setting. Settings that the protocol
// would ignore are errors, not silently unused: a CA file with PLAINTEXT means the operator
// expected TLS and would get plain text.
func (c *ClientConfig) validateSecurity() []error {
	var errs []error
	p := c.protocol()
	switch p {
	case ProtocolPlaintext, ProtocolSSL, ProtocolSASLPlaintext, ProtocolSASLSSL:
	default:
		return []error{fmt.Errorf("kafka: --kafka-security-protocol %q: want PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (security.protocol)", c.SecurityProtocol)}
	}
	t, s := c.TLS, c.SASL
	if !tlsOn(p) && (t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != "" || t.Verify != "") {
		errs = append(errs, fmt.Errorf("kafka: TLS settings given but --kafka-security-protocol is %s: set it to SSL or SASL_SSL (security.protocol), or drop the --kafka-tls-* settings", p))
	}
	switch t.Verify {
	case "", VerifyFull, VerifyCA, VerifyNone:
	default:
		errs = append(errs, fmt.Errorf("kafka: --kafka-tls-verify %q: want full, ca or none", t.Verify))
	}
	if t.KeyFile != "" && t.CertFile == "" {
		errs = append(errs, errors.New("kafka: --kafka-tls-key-file needs --kafka-tls-cert-file"))
	}
	sasl := s.Mechanism != "" || s.Username != "" || s.Password != "" || s.PasswordFile != "" || s.JAAS != ""
	if !saslOn(p) {
		if sasl {
			errs = append(errs, fmt.Errorf("kafka: SASL settings given but --kafka-security-protocol is %s: set it to SASL_SSL or SASL_PLAINTEXT (security.protocol), or drop the --kafka-sasl-* settings", p))
		}
		return errs
	}
	user, pw, _, module, err := s.login()
	if err != nil {
		return append(errs, err)
	}
	switch s.mechanism() {
	case MechanismPlain, MechanismSCRAMSHA256, MechanismSCRAMSHA512:
		if module != "" && (module == jaasPlain) != (s.mechanism() == MechanismPlain) {
			errs = append(errs, fmt.Errorf("kafka: sasl.jaas.config uses %s but --kafka-sasl-mechanism is %s: use %s for SCRAM-SHA-*, %s for PLAIN",
				module, s.mechanism(), jaasScram, jaasPlain))
		}
	default:
		errs = append(errs, fmt.Errorf("kafka: --kafka-sasl-mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (sasl.mechanism)", s.Mechanism))
	}
	if user == "" {
		errs = append(errs, fmt.Errorf("kafka: --kafka-security-protocol %s needs --kafka-sasl-username (or sasl.jaas.config)", p))
	}
	if s.Password != "" && s.PasswordFile != "" {
		errs = append(errs, errors.New("kafka: give --kafka-sasl-password-file or SLUICE_KAFKA_SASL_PASSWORD, not both"))
	} else if pw == "" {
		errs = append(errs, fmt.Errorf("kafka: --kafka-security-protocol %s needs a password: --kafka-sasl-password-file, SLUICE_KAFKA_SASL_PASSWORD or sasl.jaas.config", p))
	}
	return errs
}

func (c *ClientConfig) protocol() string {
	if c.SecurityProtocol == "" {
		return ProtocolPlaintext
	}
	return strings.ToUpper(c.SecurityProtocol)
}

func (s *SASLConfig) mechanism() string {
	if s.Mechanism == "" {
		return MechanismPlain
	}
	return strings.ToUpper(s.Mechanism)
}

// Insecure reports whether connections skip the verification of the brokers' certificates
// (--kafka-tls-verify none).
func (c *ClientConfig) Insecure() bool { return tlsOn(c.protocol()) && c.TLS.Verify == VerifyNone }

// credentials returns the user name and the password, read from the password file when one is
// named.
func (s *SASLConfig) credentials() (user, pw string, err error) {
	user, pw, fromFile, _, err := s.login()
	if err != nil {
		return "", "", err
	}
	if fromFile {
		if pw, err = properties.ReadSecretFile(pw); err != nil {
			return "", "", fmt.Errorf("kafka: --kafka-sasl-password-file: %w", err)
		}
		if pw == "" {
			return "", "", fmt.Errorf("kafka: --kafka-sasl-password-file %s: its first line is empty", s.PasswordFile)
		}
	}
	return user, pw, nil
}

// config builds the crypto/tls configuration with the TLS setting every other connection
// uses (internal/tlsconf): full is verify-full, ca is verify-ca, none encrypts without a check
// (the CA file then plays no part).
func (t *TLSConfig) config() (*tls.Config, error) {
	c := tlsconf.Config{Mode: tlsconf.VerifyFull, CAFile: t.CAFile, CertFile: t.CertFile, KeyFile: t.KeyFile, ServerName: t.ServerName}
	switch t.Verify {
	case VerifyCA:
		c.Mode = tlsconf.VerifyCA
	case VerifyNone:
		c.Mode, c.CAFile = tlsconf.Require, "" // the operator asked for it; Kgo logs a warning once
	}
	tc, err := c.Client(t.ServerName, "kafka-tls")
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	return tc, nil
}
