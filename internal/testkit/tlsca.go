package testkit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestCA is a certificate authority made for one test: it signs server and client
// certificates, and its PEM file is what a client trusts.
type TestCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	// CAFile is the CA certificate as a PEM file in the test's temporary directory.
	CAFile string
	dir    string
}

// NewTestCA generates a CA valid for the test's duration (and a day around it).
func NewTestCA(t testing.TB, name string) *TestCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-24 * time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca := &TestCA{cert: cert, key: key, CAFile: filepath.Join(dir, name+"-ca.pem"), dir: dir}
	writePEM(t, ca.CAFile, "CERTIFICATE", der)
	return ca
}

// ServerTLS returns a server configuration whose certificate, signed by the CA, names hosts
// (DNS names or IP addresses); requireClientCert makes the server demand a client certificate
// signed by the CA.
func (ca *TestCA) ServerTLS(t testing.TB, requireClientCert bool, hosts ...string) *tls.Config {
	t.Helper()
	cert := ca.issue(t, x509.ExtKeyUsageServerAuth, hosts...)
	c := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if requireClientCert {
		pool := x509.NewCertPool()
		pool.AddCert(ca.cert)
		c.ClientCAs, c.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return c
}

// ClientFiles issues a client certificate and writes it and its key as PEM files.
func (ca *TestCA) ClientFiles(t testing.TB, name string) (certFile, keyFile string) {
	t.Helper()
	cert := ca.issue(t, x509.ExtKeyUsageClientAuth, name)
	certFile, keyFile = filepath.Join(ca.dir, name+".pem"), filepath.Join(ca.dir, name+"-key.pem")
	writePEM(t, certFile, "CERTIFICATE", cert.Certificate[0])
	der, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, keyFile, "PRIVATE KEY", der)
	return certFile, keyFile
}

// ServerFiles issues a server certificate naming hosts (DNS names or IP addresses) and writes
// it and its key as PEM files, for servers started by a test (PostgreSQL's ssl_cert_file,
// MySQL's --ssl-cert, ClickHouse's certificateFile). The files are world-readable, as is
// the directory: the server may run as another user (a key for PostgreSQL must then be
// chowned to it and made 0600 by the caller).
func (ca *TestCA) ServerFiles(t testing.TB, name string, hosts ...string) (certFile, keyFile string) {
	t.Helper()
	cert := ca.issue(t, x509.ExtKeyUsageServerAuth, hosts...)
	certFile, keyFile = filepath.Join(ca.dir, name+".pem"), filepath.Join(ca.dir, name+"-key.pem")
	writePEM(t, certFile, "CERTIFICATE", cert.Certificate[0])
	der, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, keyFile, "PRIVATE KEY", der)
	for _, f := range []string{ca.CAFile, certFile, keyFile} {
		os.Chmod(f, 0o644)
	}
	for d := ca.dir; d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	return certFile, keyFile
}

var serial = big.NewInt(1)

func (ca *TestCA) issue(t testing.TB, usage x509.ExtKeyUsage, hosts ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(serial, 62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: n,
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
