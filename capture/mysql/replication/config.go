package replication

import (
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// TLSMode says whether and how the connection is encrypted. The zero value is TLSPreferred.
type TLSMode uint8

const (
	// TLSPreferred encrypts when the server offers TLS, without verifying its certificate
	// (MySQL's default, --ssl-mode=PREFERRED).
	TLSPreferred TLSMode = iota
	// TLSDisable never encrypts.
	TLSDisable
	// TLSRequired fails unless the server offers TLS; the certificate is not verified.
	TLSRequired
	// TLSVerifyCA requires TLS and a certificate chain signed by Config.TLSCAFile (or the
	// system roots, or Config.TLSConfig.RootCAs); the host name is not checked.
	TLSVerifyCA
	// TLSVerifyFull is TLSVerifyCA plus a certificate that names the host of Config.Addr
	// (or Config.TLSConfig.ServerName).
	TLSVerifyFull
)

var tlsModeNames = [...]string{"preferred", "disable", "required", "verify-ca", "verify-full"}

func (m TLSMode) String() string {
	if int(m) < len(tlsModeNames) {
		return tlsModeNames[m]
	}
	return fmt.Sprintf("TLSMode(%d)", m)
}

// ParseTLSMode parses disable|preferred|required|verify-ca|verify-full (MySQL's --ssl-mode
// spellings in upper case and with underscores are accepted too).
func ParseTLSMode(s string) (TLSMode, error) {
	for i, n := range tlsModeNames {
		if equalFoldDash(s, n) {
			return TLSMode(i), nil
		}
	}
	if equalFoldDash(s, "disabled") {
		return TLSDisable, nil
	}
	if equalFoldDash(s, "verify-identity") {
		return TLSVerifyFull, nil
	}
	return 0, fmt.Errorf("unknown TLS mode %q (want disable, preferred, required, verify-ca or verify-full)", s)
}

func equalFoldDash(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == '_' {
			x = '-'
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// Flavor is the server family. The zero value FlavorAuto detects it from the handshake.
type Flavor uint8

const (
	FlavorAuto Flavor = iota
	FlavorMySQL
	FlavorMariaDB
)

func (f Flavor) String() string {
	switch f {
	case FlavorAuto:
		return "auto"
	case FlavorMySQL:
		return "mysql"
	case FlavorMariaDB:
		return "mariadb"
	}
	return fmt.Sprintf("Flavor(%d)", f)
}

// ParseFlavor parses auto|mysql|mariadb.
func ParseFlavor(s string) (Flavor, error) {
	switch {
	case s == "" || equalFoldDash(s, "auto"):
		return FlavorAuto, nil
	case equalFoldDash(s, "mysql"):
		return FlavorMySQL, nil
	case equalFoldDash(s, "mariadb"):
		return FlavorMariaDB, nil
	}
	return 0, fmt.Errorf("unknown flavor %q (want auto, mysql or mariadb)", s)
}

// Config holds the connection and replica settings. Zero values mean the documented defaults.
type Config struct {
	Addr     string // host:port; port defaults to 3306
	User     string // required
	Password string
	Database string // optional default schema for the session

	// ServerID is this replica's server id: required, non-zero, unique among all replicas of the
	// server (and different from the server's own id).
	ServerID uint32
	// ReportHost/ReportPort are what SHOW REPLICAS shows for this replica; default empty/0.
	ReportHost string
	ReportPort uint16

	TLS       TLSMode     // defaults to TLSPreferred
	TLSConfig *tls.Config // optional base config (certificates, RootCAs, ServerName); cloned
	TLSCAFile string      // optional PEM file of CAs for verify-ca / verify-full

	// ServerPublicKey is the server's RSA key for caching_sha2_password / sha256_password full
	// authentication without TLS.
	ServerPublicKey *rsa.PublicKey
	// AllowPublicKeyRetrieval lets full authentication (caching_sha2_password after a server
	// restart or FLUSH PRIVILEGES, sha256_password, mysql_clear_password) send the password
	// over a channel whose server is not verified: in clear inside TLS under TLSPreferred or
	// TLSRequired, or RSA-encrypted with a key the server sends on plain TCP. A man in the
	// middle can then learn the password. Off (the default), full authentication needs
	// TLSVerifyCA/TLSVerifyFull or ServerPublicKey on plain TCP, and otherwise fails with
	// ErrInsecureAuth. (Connector/J's allowPublicKeyRetrieval.)
	AllowPublicKeyRetrieval bool

	Flavor Flavor // defaults to FlavorAuto (from the server version)

	// HeartbeatPeriod asks the server for a heartbeat event after this much idle time.
	// Zero means 15s; negative disables heartbeats.
	HeartbeatPeriod time.Duration
	// ReadTimeout fails Next with a retryable error when nothing (not even a heartbeat) arrived
	// for this long. Zero means 3×HeartbeatPeriod + 5s (no timeout when heartbeats are off);
	// negative disables it.
	ReadTimeout time.Duration
	// QueryTimeout bounds each socket read of a query (Exec, Query, QueryRows, and the
	// statements StartDump runs before the dump): no byte for this long fails the call with a
	// retryable *NetError, so a stalled link cannot hang it for ever. A long result set is
	// fine as long as its bytes keep coming. Zero means no limit.
	QueryTimeout time.Duration
	// DialTimeout bounds the TCP connect and the handshake. Zero means 10s.
	DialTimeout time.Duration
	// NonBlocking asks the server to end the dump with io.EOF at the end of the binlog instead
	// of waiting for new events (BINLOG_DUMP_NON_BLOCK).
	NonBlocking bool
	// AnnotateRows asks MariaDB for ANNOTATE_ROWS events (the SQL text of row events).
	AnnotateRows bool
	// ReadBufferSize is the socket read buffer. Zero means 1 MiB.
	ReadBufferSize int

	Logger *slog.Logger // nil means discard
}

// DefaultHeartbeat is HeartbeatPeriod's default.
const DefaultHeartbeat = 15 * time.Second

const (
	defaultDialTimeout = 10 * time.Second
	defaultReadBuffer  = 1 << 20
)

// Validate reports every bad field.
func (c *Config) Validate() error {
	var errs []error
	if c.Addr == "" {
		errs = append(errs, errors.New("replication: Addr is required (host:port)"))
	}
	if c.User == "" {
		errs = append(errs, errors.New("replication: User is required"))
	}
	if c.ServerID == 0 {
		errs = append(errs, errors.New("replication: ServerID is required: a non-zero id unique among the server's replicas"))
	}
	if c.TLS > TLSVerifyFull {
		errs = append(errs, fmt.Errorf("replication: bad TLS mode %d", c.TLS))
	}
	if c.Flavor > FlavorMariaDB {
		errs = append(errs, fmt.Errorf("replication: bad flavor %d", c.Flavor))
	}
	if c.ReadBufferSize < 0 {
		errs = append(errs, errors.New("replication: ReadBufferSize must not be negative"))
	}
	return errors.Join(errs...)
}

func (c *Config) heartbeat() time.Duration {
	switch {
	case c.HeartbeatPeriod < 0:
		return 0
	case c.HeartbeatPeriod == 0:
		return DefaultHeartbeat
	}
	return c.HeartbeatPeriod
}

func (c *Config) readTimeout() time.Duration {
	switch {
	case c.ReadTimeout < 0:
		return 0
	case c.ReadTimeout > 0:
		return c.ReadTimeout
	}
	if hb := c.heartbeat(); hb > 0 {
		return 3*hb + 5*time.Second
	}
	return 0
}

func (c *Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}
