//go:build integration

package replication

import (
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestMySQLCachingSHA2 covers the three caching_sha2_password paths on MySQL 9: full
// authentication over plain TCP with the server's RSA key, the fast path once the server has
// cached the password, and full authentication over TLS (cleartext password in the tunnel).
// FLUSH PRIVILEGES empties the server's cache, forcing the full path.
func TestMySQLCachingSHA2(t *testing.T) {
	s := mySQL(t)
	s.createUser(t, "sluice_t_sha2", "IDENTIFIED WITH caching_sha2_password BY 'pw-sha2'", s.replGrants())
	admin := s.admin(t)
	cfg := s.config("sluice_t_sha2", "pw-sha2")
	cfg.AllowPublicKeyRetrieval = true // the unverified paths are the point here

	mustExec(t, admin, "FLUSH PRIVILEGES")
	c := s.dial(t, cfg)
	want := AuthInfo{Plugin: "caching_sha2_password", FullAuth: true, PublicKeyRequested: true}
	if got := c.Auth(); got != want || c.TLS() {
		t.Errorf("plain TCP after FLUSH PRIVILEGES: auth %+v tls %v, want %+v without TLS", got, c.TLS(), want)
	}
	mustQuery(t, c, "SELECT 1")

	c = s.dial(t, cfg)
	if got, want := c.Auth(), (AuthInfo{Plugin: "caching_sha2_password"}); got != want {
		t.Errorf("second connection: auth %+v, want the fast path %+v", got, want)
	}

	mustExec(t, admin, "FLUSH PRIVILEGES")
	cfg.TLS = TLSRequired
	c = s.dial(t, cfg)
	if got, want := c.Auth(), (AuthInfo{Plugin: "caching_sha2_password", FullAuth: true}); got != want || !c.TLS() {
		t.Errorf("TLS after FLUSH PRIVILEGES: auth %+v tls %v, want %+v over TLS", got, c.TLS(), want)
	}
	mustQuery(t, c, "SELECT 1")

	// The server's key given in the config: no key request.
	mustExec(t, admin, "FLUSH PRIVILEGES")
	key := mustValue(t, mustQuery(t, admin, "SHOW STATUS LIKE 'Caching_sha2_password_rsa_public_key'"), "Value")
	pub, err := parsePublicKey([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	cfg.TLS = TLSDisable
	cfg.ServerPublicKey = pub
	c = s.dial(t, cfg)
	if got, want := c.Auth(), (AuthInfo{Plugin: "caching_sha2_password", FullAuth: true}); got != want {
		t.Errorf("configured public key: auth %+v, want %+v", got, want)
	}

	// Wrong password, on both paths.
	for _, mode := range []TLSMode{TLSDisable, TLSRequired} {
		cfg := s.config("sluice_t_sha2", "wrong")
		cfg.TLS, cfg.AllowPublicKeyRetrieval = mode, true
		_, err := Dial(testCtx(t), cfg)
		checkAccessDenied(t, err)
	}
}

func checkAccessDenied(t *testing.T, err error) {
	t.Helper()
	var se *ServerError
	if !errors.As(err, &se) || se.Code != 1045 || !errors.Is(err, ErrAccessDenied) {
		t.Fatalf("wrong password: got %v, want server error 1045 (ErrAccessDenied)", err)
	}
	if !strings.Contains(err.Error(), "check the user name and password") {
		t.Errorf("error lacks the hint: %v", err)
	}
	if se.Retryable() {
		t.Errorf("access denied must not be retryable")
	}
}

// TestMySQLSHA256Password: sha256_password over TLS (cleartext) and over plain TCP (RSA key).
func TestMySQLSHA256Password(t *testing.T) {
	s := mySQL(t)
	admin := s.admin(t)
	if r := mustQuery(t, admin, "SELECT COUNT(*) AS n FROM information_schema.plugins WHERE plugin_name = 'sha256_password' AND plugin_status = 'ACTIVE'"); mustValue(t, r, "n") != "1" {
		t.Skip("sha256_password is not active on this server")
	}
	s.createUser(t, "sluice_t_sha256", "IDENTIFIED WITH sha256_password BY 'pw-256'", s.replGrants())
	for _, mode := range []TLSMode{TLSDisable, TLSRequired} {
		cfg := s.config("sluice_t_sha256", "pw-256")
		cfg.TLS, cfg.AllowPublicKeyRetrieval = mode, true
		c := s.dial(t, cfg)
		want := AuthInfo{Plugin: "sha256_password", Switched: true, PublicKeyRequested: mode == TLSDisable}
		if got := c.Auth(); got != want {
			t.Errorf("TLS %s: auth %+v, want %+v", mode, got, want)
		}
		mustQuery(t, c, "SELECT 1")
		cfg.Password = "wrong"
		_, err := Dial(testCtx(t), cfg)
		checkAccessDenied(t, err)
	}
}

// TestMySQLTLSModes: every TLS mode against MySQL 9's auto-generated certificates, whose
// server certificate is signed by the auto-generated CA but names no host.
func TestMySQLTLSModes(t *testing.T) {
	s := mySQL(t)
	admin := s.admin(t)
	datadir := mustValue(t, mustQuery(t, admin, "SELECT @@datadir AS d"), "d")
	caName := mustValue(t, mustQuery(t, admin, "SELECT @@ssl_ca AS ca"), "ca")
	if !filepath.IsAbs(caName) {
		caName = filepath.Join(datadir, caName)
	}
	_, err := os.Stat(caName)
	testkit.Require(t, "CA file of SLUICE_TEST_MYSQL_DSN (a remote server's is not readable here)", err)
	s.createUser(t, "sluice_t_tls", "IDENTIFIED WITH caching_sha2_password BY 'pw-tls'", s.replGrants())
	for _, tc := range []struct {
		mode    TLSMode
		ca      string
		wantTLS bool
		wantErr string
	}{
		{mode: TLSDisable},
		{mode: TLSPreferred, wantTLS: true},
		{mode: TLSRequired, wantTLS: true},
		{mode: TLSVerifyCA, ca: caName, wantTLS: true},
		{mode: TLSVerifyCA, wantErr: "certificate signed by unknown authority"}, // system roots
		{mode: TLSVerifyFull, ca: caName, wantErr: "certificate"},               // no SAN for 127.0.0.1
	} {
		t.Run(tc.mode.String()+map[bool]string{true: "-ca", false: ""}[tc.ca != ""], func(t *testing.T) {
			cfg := s.config("sluice_t_tls", "pw-tls")
			cfg.TLS, cfg.TLSCAFile = tc.mode, tc.ca
			cfg.AllowPublicKeyRetrieval = true // the first connection of the new user authenticates in full
			c, err := Dial(testCtx(t), cfg)
			if tc.wantErr != "" {
				if err == nil {
					_ = c.Close()
					t.Fatalf("connected, want an error containing %q", tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want an error containing %q", err, tc.wantErr)
				}
				var ve *tls.CertificateVerificationError
				if !errors.As(err, &ve) {
					t.Errorf("error %v is not a certificate verification error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = c.Close() }()
			if c.TLS() != tc.wantTLS {
				t.Errorf("TLS() = %v, want %v", c.TLS(), tc.wantTLS)
			}
			r := mustQuery(t, c, "SHOW SESSION STATUS LIKE 'Ssl_version'")
			v, _ := r.Get(0, "Value")
			if tc.wantTLS != strings.HasPrefix(v, "TLS") {
				t.Errorf("server reports Ssl_version %q, want TLS %v", v, tc.wantTLS)
			}
		})
	}
}

// TestMariaDBAuth: mysql_native_password and client_ed25519 on MariaDB, wrong passwords.
func TestMariaDBAuth(t *testing.T) {
	s := mariaDB(t)
	admin := s.admin(t)
	if mustValue(t, mustQuery(t, admin, "SELECT COUNT(*) AS n FROM information_schema.plugins WHERE plugin_name = 'ed25519'"), "n") == "0" {
		mustExec(t, admin, "INSTALL SONAME 'auth_ed25519'")
	}
	s.createUser(t, "sluice_t_native", "IDENTIFIED VIA mysql_native_password USING PASSWORD('pw-native')", s.replGrants())
	s.createUser(t, "sluice_t_ed", "IDENTIFIED VIA ed25519 USING PASSWORD('pw-ed')", s.replGrants())
	for _, tc := range []struct {
		user, pass string
		want       AuthInfo
	}{
		{"sluice_t_native", "pw-native", AuthInfo{Plugin: "mysql_native_password"}},
		{"sluice_t_ed", "pw-ed", AuthInfo{Plugin: "client_ed25519", Switched: true}},
	} {
		t.Run(tc.want.Plugin, func(t *testing.T) {
			c := s.dial(t, s.config(tc.user, tc.pass))
			if got := c.Auth(); got != tc.want {
				t.Errorf("auth %+v, want %+v", got, tc.want)
			}
			if u := mustValue(t, mustQuery(t, c, "SELECT CURRENT_USER() AS u"), "u"); u != tc.user+"@%" {
				t.Errorf("CURRENT_USER() = %q", u)
			}
			_, err := Dial(testCtx(t), s.config(tc.user, "wrong"))
			checkAccessDenied(t, err)
		})
	}
}

// TestMariaDBTLS: TLS modes on MariaDB when it runs with certificates (scripts/mariadb.sh
// makes a CA and a certificate for 127.0.0.1).
func TestMariaDBTLS(t *testing.T) {
	s := mariaDB(t)
	admin := s.admin(t)
	if v := mustValue(t, mustQuery(t, admin, "SELECT @@have_ssl AS s"), "s"); v != "YES" {
		t.Skipf("MariaDB runs without TLS (have_ssl=%s); start it with scripts/mariadb.sh", v)
	}
	ca := mustValue(t, mustQuery(t, admin, "SELECT @@ssl_ca AS ca"), "ca")
	s.createUser(t, "sluice_t_tls", "IDENTIFIED BY 'pw-tls'", s.replGrants())
	for _, mode := range []TLSMode{TLSPreferred, TLSRequired, TLSVerifyCA, TLSVerifyFull} {
		cfg := s.config("sluice_t_tls", "pw-tls")
		cfg.TLS, cfg.TLSCAFile = mode, ca
		c := s.dial(t, cfg)
		if !c.TLS() {
			t.Errorf("%s: not encrypted", mode)
		}
		mustQuery(t, c, "SELECT 1")
	}
}

// TestMariaDBTLSUnavailable: required TLS against a server without it fails with a clear error.
func TestMariaDBTLSUnavailable(t *testing.T) {
	s := mariaDB(t)
	admin := s.admin(t)
	if v := mustValue(t, mustQuery(t, admin, "SELECT @@have_ssl AS s"), "s"); v == "YES" {
		t.Skip("MariaDB runs with TLS")
	}
	cfg := s.config(s.user, s.pass)
	cfg.TLS = TLSRequired
	_, err := Dial(testCtx(t), cfg)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "does not offer TLS") {
		t.Fatalf("got %v, want ErrUnsupported saying the server does not offer TLS", err)
	}
}
