package postgrescmd

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluicecdc/sluice/internal/cli"
)

// TestDSNErrorHidesPassword: a malformed --dsn URL is reported without its password (or a
// piece of it); url.Parse's error used to quote the whole URL.
func TestDSNErrorHidesPassword(t *testing.T) {
	const secret = "Sup3rS3cret"
	for _, dsn := range []string{
		"postgres://repl:" + secret + "@db:port/app",
		"postgres://repl:pa/" + secret + "@db:5432/app",
		"postgresql://repl:" + secret + "%zz@db/app",
	} {
		_, _, err := parse("sluice postgres", []string{"--topic-prefix", "p", "--dsn", dsn}, sinks)
		if err == nil {
			t.Errorf("%s: accepted", dsn)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows the password: %v", err)
		}
		if !strings.Contains(err.Error(), "--dsn") {
			t.Errorf("error does not name --dsn: %v", err)
		}
	}
}

// TestDSNWrongScheme: a MySQL DSN given to sluice postgres is a configuration error (exit 2)
// that says what a PostgreSQL DSN looks like, not a parse failure at connect time (exit 1).
func TestDSNWrongScheme(t *testing.T) {
	_, _, err := parse("sluice postgres", []string{"--topic-prefix", "p", "--dsn", "mysql://repl:pw@db:3306"}, sinks)
	if err == nil || !strings.Contains(err.Error(), "postgres://user@host:port/dbname") || strings.Contains(err.Error(), "pw@") {
		t.Fatalf("error %v", err)
	}
	if ce := new(cli.ConfigError); !errors.As(err, &ce) {
		t.Fatalf("%T is not a configuration error (exit 2)", err)
	}
}

// TestDSNMalformedKeyValue: a key=value --dsn that does not parse is a configuration error
// (exit 2) naming --dsn, without its password. Before, it failed at the start (exit 1).
func TestDSNMalformedKeyValue(t *testing.T) {
	const secret = "Sup3rS3cret"
	for _, dsn := range []string{"not a dsn at all", "host=db password=" + secret + " user", "host=db port=abc password=" + secret} {
		_, _, err := parse("sluice postgres", []string{"--topic-prefix", "p", "--dsn", dsn}, sinks)
		if ce := new(cli.ConfigError); err == nil || !errors.As(err, &ce) || !strings.Contains(err.Error(), "--dsn") {
			t.Errorf("%q: %v (%T), want a configuration error naming --dsn", dsn, err, err)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows the password: %v", err)
		}
	}
}
