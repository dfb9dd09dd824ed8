package cli

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/sluicecdc/sluice/internal/properties"
)

// HTTPSecurity is who may read --http-addr (/healthz, /metrics): optional basic auth with a
// user and password from a file, optional TLS. /metrics tells the tables, positions and error
// messages of the pipeline, so it is served on loopback unless the address names a host.
type HTTPSecurity struct {
	// BasicAuthFile holds "user:password" on its first line; every request must carry them.
	BasicAuthFile string
	// TLSCertFile and TLSKeyFile make the endpoint HTTPS (PEM; the key may be in the
	// certificate file).
	TLSCertFile, TLSKeyFile string
}

// RegisterFlags registers --http-basic-auth-file, --http-tls-cert-file and --http-tls-key-file.
func (s *HTTPSecurity) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&s.BasicAuthFile, "http-basic-auth-file", "", "require HTTP basic auth on --http-addr with the user:password on this file's first line")
	fs.StringVar(&s.TLSCertFile, "http-tls-cert-file", "", "serve --http-addr over HTTPS with this PEM certificate (chain)")
	fs.StringVar(&s.TLSKeyFile, "http-tls-key-file", "", "PEM key of --http-tls-cert-file (default: read from the certificate file)")
}

// listenAddr is where addr is served: a port alone (":8080" or "8080") means loopback, so
// that metrics are not offered to the whole network by accident; "0.0.0.0:8080" or a host
// says otherwise.
func listenAddr(addr string) string {
	if !strings.Contains(addr, ":") {
		return "127.0.0.1:" + addr
	}
	if strings.HasPrefix(addr, ":") {
		return "127.0.0.1" + addr
	}
	return addr
}

// apply wraps h in the basic-auth check and ln in TLS, as configured.
func (s HTTPSecurity) apply(h http.Handler, ln net.Listener) (http.Handler, net.Listener, error) {
	if s.TLSKeyFile != "" && s.TLSCertFile == "" {
		return nil, nil, errors.New("--http-tls-key-file needs --http-tls-cert-file")
	}
	if s.BasicAuthFile != "" {
		line, err := properties.ReadSecretFile(s.BasicAuthFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--http-basic-auth-file: %w", err)
		}
		user, pw, ok := strings.Cut(line, ":")
		if !ok || user == "" || pw == "" {
			return nil, nil, fmt.Errorf("--http-basic-auth-file %s: want user:password on its first line", s.BasicAuthFile)
		}
		h = basicAuth(h, user, pw)
	}
	if s.TLSCertFile != "" {
		key := s.TLSKeyFile
		if key == "" {
			key = s.TLSCertFile
		}
		cert, err := tls.LoadX509KeyPair(s.TLSCertFile, key)
		if err != nil {
			return nil, nil, fmt.Errorf("--http-tls-cert-file %s, --http-tls-key-file %s: %w", s.TLSCertFile, key, err)
		}
		ln = tls.NewListener(ln, &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}})
	}
	return h, ln, nil
}

// basicAuth answers 401 unless the request carries user and pw; the comparison takes the same
// time whatever the guess.
func basicAuth(h http.Handler, user, pw string) http.Handler {
	want := sha256.Sum256([]byte(user + ":" + pw))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		got := sha256.Sum256([]byte(u + ":" + p))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="sluice"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}
