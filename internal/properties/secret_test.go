package properties

import (
	"strings"
	"testing"
)

// TestParseURLHidesPassword: no malformed URL puts its password, or a piece of it, in the
// error; url.Parse's own error quotes the whole URL.
func TestParseURLHidesPassword(t *testing.T) {
	for _, c := range []struct{ raw, secret, want string }{
		{"postgres://repl:Sup3rS3cret@db:bad/app", "Sup3rS3cret", `"postgres://repl:xxxxx@db:bad/app"`},
		{"postgres://repl:pa/ss9w0rd@db/app", "ss9w0rd", `"postgres://repl:xxxxx@db/app"`},
		{"postgres://repl:pa:ss9w0rd@db:5432/app", "ss9w0rd", ""},
		{"mysql://root:Sup3r%zzS3cret@db:3306/", "Sup3r", `"mysql://root:xxxxx@db:3306/"`},
		{"mysql://root:Sup3rS3cret@[::1/", "Sup3rS3cret", `missing ']' in host`},
		{"mysql://root:pa/ss:9w0rd@db/", "9w0rd", "percent-encode"},
	} {
		_, err := ParseURL(c.raw)
		if err == nil {
			if c.want != "" {
				t.Errorf("%s: accepted", c.raw)
			}
			continue
		}
		if strings.Contains(err.Error(), c.secret) {
			t.Errorf("%s: error shows the password: %v", c.raw, err)
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %s", c.raw, err, c.want)
		}
	}
}
