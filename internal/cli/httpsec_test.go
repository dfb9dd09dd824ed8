package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/internal/testkit"
)

func TestListenAddr(t *testing.T) {
	for in, want := range map[string]string{":8080": "127.0.0.1:8080", "8080": "127.0.0.1:8080", "0.0.0.0:8080": "0.0.0.0:8080",
		"10.1.2.3:9": "10.1.2.3:9", "[::1]:9": "[::1]:9", "localhost:9": "localhost:9"} {
		if got := listenAddr(in); got != want {
			t.Errorf("listenAddr(%q) = %q, want %q", in, got, want)
		}
	}
}

// serve starts the endpoint on ":0" with sec and returns its address from the log line.
func serve(t *testing.T, sec HTTPSecurity) string {
	t.Helper()
	var logs bytes.Buffer
	stop, err := serveHTTP(context.Background(), ":0", sec, newHealth(time.Now()), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	m := regexp.MustCompile(`addr=(\S+)`).FindStringSubmatch(logs.String())
	if m == nil {
		t.Fatalf("no address logged: %s", logs.String())
	}
	return m[1]
}

// TestHTTPPortOnlyIsLoopback: --http-addr :PORT listens on 127.0.0.1 only. Before, it
// listened on every interface and offered the metrics (tables, positions, errors) to the
// network.
func TestHTTPPortOnlyIsLoopback(t *testing.T) {
	if addr := serve(t, HTTPSecurity{}); !regexp.MustCompile(`^127\.0\.0\.1:\d+$`).MatchString(addr) {
		t.Errorf("--http-addr :0 listens on %s, want 127.0.0.1", addr)
	}
}

// TestHTTPBasicAuthAndTLS: with --http-basic-auth-file every request needs the user and
// password; with --http-tls-cert-file the endpoint is HTTPS.
func TestHTTPBasicAuthAndTLS(t *testing.T) {
	ca := testkit.NewTestCA(t, "http")
	cert, key := ca.ServerFiles(t, "http-server", "127.0.0.1")
	authFile := filepath.Join(t.TempDir(), "auth")
	if err := os.WriteFile(authFile, []byte("prom:Http-S3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := serve(t, HTTPSecurity{BasicAuthFile: authFile, TLSCertFile: cert, TLSKeyFile: key})
	pem, _ := os.ReadFile(ca.CAFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 5 * time.Second}
	get := func(user, pw string) int {
		req, _ := http.NewRequest("GET", "https://"+addr+"/metrics", nil)
		if user != "" {
			req.SetBasicAuth(user, pw)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := get("", ""); c != http.StatusUnauthorized {
		t.Errorf("no credentials: %d, want 401", c)
	}
	if c := get("prom", "wrong"); c != http.StatusUnauthorized {
		t.Errorf("wrong password: %d, want 401", c)
	}
	if c := get("prom", "Http-S3cret"); c != http.StatusOK {
		t.Errorf("right credentials: %d, want 200", c)
	}
	// Plain HTTP to the TLS listener: net/http answers 400, never the metrics.
	if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP answered with the metrics")
		}
	}
}
