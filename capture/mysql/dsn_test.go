package mysql

import (
	"strings"
	"testing"

	"github.com/sluicecdc/sluice/internal/tlsconf"
)

// TestDSNErrorHidesPassword: a malformed DSN, in either form, is reported without its
// password; url.Parse's error used to quote the whole mysql:// URL.
func TestDSNErrorHidesPassword(t *testing.T) {
	const secret = "Sup3rS3cret"
	for _, dsn := range []string{
		"mysql://root:" + secret + "@db:port/",
		"mysql://root:" + secret + "/x@db:3306/",
		"mariadb://root:" + secret + "%zz@db:3306/",
		"root:" + secret + "@tcp(db:3306",
	} {
		err := (&Config{DSN: dsn, ServerID: 1}).Validate()
		if err == nil {
			t.Errorf("%s: accepted", dsn)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows the password: %v", err)
		}
	}
}

// TestDSNTLSMode: a DSN's tls= (either form) or ssl-mode= is the TLS mode of every connection,
// never a session variable; given with --tls-mode too it is an error. Before,
// mysql://…?tls=true became SET tls = true and the query connection went in plain text.
func TestDSNTLSMode(t *testing.T) {
	for dsn, want := range map[string]tlsconf.Mode{
		"mysql://u@h:3306/?tls=true":                 tlsconf.VerifyFull,
		"mysql://u@h:3306/?ssl-mode=VERIFY_IDENTITY": tlsconf.VerifyFull,
		"mysql://u@h:3306/?sslmode=require":          tlsconf.Require,
		"u@tcp(h:3306)/?tls=skip-verify":             tlsconf.Require,
		"u@tcp(h:3306)/?tls=preferred":               tlsconf.Prefer,
		"mysql://u@h:3306/":                          tlsconf.Default,
	} {
		cfg, mode, err := parseDSN(dsn, "")
		if err != nil {
			t.Fatalf("%s: %v", dsn, err)
		}
		if _, ok := cfg.Params["tls"]; ok {
			t.Errorf("%s: tls kept as a session variable", dsn)
		}
		c := Config{DSN: dsn}
		got, err := c.tlsSettings(mode)
		if err != nil || got.Mode != want {
			t.Errorf("%s: mode %q, %v; want %q", dsn, got.Mode, err, want)
		}
	}
	c := Config{DSN: "mysql://u@h:3306/?tls=true", ServerID: 1, TLS: tlsconf.Config{Mode: tlsconf.Disable}}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "give one") {
		t.Errorf("tls= and --tls-mode: %v", err)
	}
}
