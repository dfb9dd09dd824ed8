package postgres

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluicecdc/sluice/internal/tlsconf"
)

// TestApplyTLS: the TLS settings become every host's connection attempts: prefer tries TLS
// then plain text per host, verify modes TLS only, a Unix socket never TLS; with nothing
// chosen the server is verified (no plain fallback); a DSN's sslmode stays libpq's.
func TestApplyTLS(t *testing.T) {
	t.Setenv("PGSSLMODE", "")
	type attempt struct {
		host string
		tls  bool
	}
	for _, c := range []struct {
		name string
		dsn  string
		tls  tlsconf.Config
		want []attempt
	}{
		{"prefer", "postgres://u@h1:5432,h2:5433/db", tlsconf.Config{Mode: tlsconf.Prefer}, []attempt{{"h1", true}, {"h1", false}, {"h2", true}, {"h2", false}}},
		{"verify-full", "postgres://u@h1:5432,h2:5433/db", tlsconf.Config{Mode: tlsconf.VerifyFull}, []attempt{{"h1", true}, {"h2", true}}},
		{"socket", "host=/tmp user=u dbname=db", tlsconf.Config{Mode: tlsconf.Require}, []attempt{{"/tmp", false}}},
		{"nothing chosen", "postgres://u@h1:5432/db", tlsconf.Config{}, []attempt{{"h1", true}}},
		{"sslmode=disable", "postgres://u@h1:5432/db?sslmode=disable", tlsconf.Config{}, []attempt{{"h1", false}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := Config{DSN: c.dsn, TLS: c.tls}
			cc, err := pgconn.ParseConfig(c.dsn)
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.applyTLS(cc); err != nil {
				t.Fatal(err)
			}
			got := []attempt{{cc.Host, cc.TLSConfig != nil}}
			for _, f := range cc.Fallbacks {
				got = append(got, attempt{f.Host, f.TLSConfig != nil})
			}
			if len(got) != len(c.want) {
				t.Fatalf("attempts %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("attempts %v, want %v", got, c.want)
				}
			}
			if cc.TLSConfig != nil && c.name != "prefer" && !verifying(cc.TLSConfig) {
				t.Errorf("%s: the certificate is not checked", c.name)
			}
		})
	}
	bad := Config{DSN: "postgres://u@h/db?sslmode=require", TLS: tlsconf.Config{Mode: tlsconf.VerifyFull}}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "sslmode") {
		t.Errorf("sslmode in the DSN and --tls-mode: %v", err)
	}
}
