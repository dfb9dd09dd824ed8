package postgrescmd

import (
	"strings"
	"testing"
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
