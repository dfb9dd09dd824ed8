package properties

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
)

// ReadSecretFile returns the first line of the file at path (a password file), without its
// line end. Its error names the file, never its content.
func ReadSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimRight(line, "\r"), nil
}

// ParseURL is url.Parse for connection URLs that may carry a password: its error shows the
// URL with the password replaced by xxxxx and drops the quoted fragments url.Parse adds (in
// a malformed URL they may be pieces of the password, e.g. an unescaped '/' in it makes the
// rest look like a port or a path).
func ParseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err == nil {
		return u, nil
	}
	var uerr *url.Error
	msg := err.Error()
	if errors.As(err, &uerr) {
		msg = quoted.ReplaceAllString(uerr.Err.Error(), `"…"`)
	}
	return nil, fmt.Errorf("malformed URL %q: %s (percent-encode special characters in the user and password, e.g. / as %%2F, or give the password in a file)",
		RedactURL(raw), msg)
}

var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// RedactURL returns raw with the password of its user info (between the first ':' after the
// scheme and the last '@') replaced by xxxxx; it works on malformed URLs too.
func RedactURL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	at := strings.LastIndexByte(rest, '@')
	if at < 0 {
		return raw
	}
	user, _, hasPW := strings.Cut(rest[:at], ":")
	if !hasPW {
		return raw
	}
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}
