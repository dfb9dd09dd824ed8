package kafka

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/internal/testkit"
)

const testPassword = "Tr0ub4dor&3-kafka-secret"

// secureCluster starts a one-broker kfake with opts and returns its addresses.
func secureCluster(t *testing.T, opts ...kfake.Opt) []string {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()
}

// connect builds cc's client and pings the cluster, retrying as the components do; a long
// DeliveryTimeout shows that refused credentials and certificates fail at once instead of being
// retried.
func connect(t *testing.T, cc ClientConfig) (time.Duration, error) {
	t.Helper()
	if cc.DeliveryTimeout == 0 {
		cc.DeliveryTimeout = time.Minute
	}
	start := time.Now()
	err := ping(t, cc, nil)
	return time.Since(start), err
}

// ping connects with cc and pings (a request that needs the login), retried as Retry does.
func ping(t *testing.T, cc ClientConfig, log *slog.Logger) error {
	t.Helper()
	opts, err := cc.Kgo("test", log)
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	return cc.Retry(t.Context(), log, "connect", func() error { return cl.Ping(t.Context()) })
}

// passwordFile writes pw to a file, as an operator would (with a line end).
func passwordFile(t *testing.T, pw string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kafka-password")
	if err := os.WriteFile(p, []byte(pw+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSASL logs in with each mechanism, with the right and wrong credentials: the right ones
// connect; the wrong ones, refused by the broker with SASL_AUTHENTICATION_FAILED, fail within
// seconds (not retried for DeliveryTimeout) with a non-retryable *AuthError naming the
// settings to check, and no password in the text. Before ClientConfig had SASL, no client
// could log in at all.
func TestSASL(t *testing.T) {
	for _, mech := range []string{MechanismPlain, MechanismSCRAMSHA256, MechanismSCRAMSHA512} {
		t.Run(mech, func(t *testing.T) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser(mech, "sluice", testPassword))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(c.Close)
			testkit.KafkaRefuseLikeBroker(c, "sluice", testPassword)
			good := ClientConfig{Brokers: c.ListenAddrs(), SecurityProtocol: ProtocolSASLPlaintext,
				SASL: SASLConfig{Mechanism: mech, Username: "sluice", PasswordFile: passwordFile(t, testPassword)}}
			if _, err := connect(t, good); err != nil {
				t.Fatalf("right password: %v", err)
			}
			bad := good
			if mech == MechanismPlain {
				bad.SASL.PasswordFile = passwordFile(t, "wrong-"+testPassword)
			} else {
				bad.SASL.Username = "mallory"
			}
			took, err := connect(t, bad)
			var aerr *AuthError
			if !errors.As(err, &aerr) {
				t.Fatalf("wrong credentials: got %v (%T), want an *AuthError", err, err)
			}
			if took > 10*time.Second {
				t.Fatalf("wrong credentials failed after %s: must not be retried", took)
			}
			msg := err.Error()
			if !strings.Contains(msg, "--kafka-sasl-password-file") || !strings.Contains(msg, "not retried") {
				t.Fatalf("error does not say what to check: %s", msg)
			}
			if strings.Contains(msg, testPassword) {
				t.Fatalf("error shows the password: %s", msg)
			}
		})
	}
}

// TestSASLConnectionClosed: a broker that closes the connection during the login (kfake does
// so on a wrong SCRAM password) is retried only for DeliveryTimeout, and the error then says
// that the login may be the cause.
func TestSASLConnectionClosed(t *testing.T) {
	brokers := secureCluster(t, kfake.EnableSASL(), kfake.Superuser(MechanismSCRAMSHA256, "sluice", testPassword))
	cc := ClientConfig{Brokers: brokers, SecurityProtocol: ProtocolSASLPlaintext, DeliveryTimeout: time.Second,
		SASL: SASLConfig{Mechanism: MechanismSCRAMSHA256, Username: "sluice", Password: "wrong-" + testPassword}}
	took, err := connect(t, cc)
	var uerr *UnavailableError
	if !errors.As(err, &uerr) || took > 10*time.Second {
		t.Fatalf("got %v (%T) after %s, want an *UnavailableError after about 1s", err, err, took)
	}
	if msg := err.Error(); !strings.Contains(msg, "SASL") || strings.Contains(msg, testPassword) {
		t.Fatalf("error must hint at the login and not show the password: %s", msg)
	}
}

// TestSASLJAAS logs in with Kafka's sasl.jaas.config line instead of separate settings.
func TestSASLJAAS(t *testing.T) {
	brokers := secureCluster(t, kfake.EnableSASL(), kfake.Superuser(MechanismSCRAMSHA512, "alice", testPassword))
	cc := ClientConfig{Brokers: brokers, SecurityProtocol: ProtocolSASLPlaintext, SASL: SASLConfig{Mechanism: MechanismSCRAMSHA512,
		JAAS: `org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="` + testPassword + `";`}}
	if _, err := connect(t, cc); err != nil {
		t.Fatal(err)
	}
}

// TestTLS connects over TLS with the CA that signed the broker's certificate, and fails at
// once with a *TLSError (not retried) with another CA, or when the broker's certificate does
// not carry the name dialled. Before, a certificate error was a network error, retried for
// the whole DeliveryTimeout.
func TestTLS(t *testing.T) {
	ca := testkit.NewTestCA(t, "kafka")
	other := testkit.NewTestCA(t, "other")
	brokers := secureCluster(t, kfake.TLS(ca.ServerTLS(t, false, "127.0.0.1", "broker.test")))
	cases := []struct {
		name string
		tls  TLSConfig
		ok   bool
	}{
		{"right CA", TLSConfig{CAFile: ca.CAFile}, true},
		{"wrong CA", TLSConfig{CAFile: other.CAFile}, false},
		{"system roots", TLSConfig{}, false},
		{"name not in the certificate", TLSConfig{CAFile: ca.CAFile, ServerName: "elsewhere.test"}, false},
		{"server name in the certificate", TLSConfig{CAFile: ca.CAFile, ServerName: "broker.test"}, true},
		{"verify ca: any name", TLSConfig{CAFile: ca.CAFile, ServerName: "elsewhere.test", Verify: VerifyCA}, true},
		{"verify ca: wrong CA", TLSConfig{CAFile: other.CAFile, Verify: VerifyCA}, false},
		{"verify none", TLSConfig{CAFile: other.CAFile, Verify: VerifyNone}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cc := ClientConfig{Brokers: brokers, SecurityProtocol: ProtocolSSL, TLS: c.tls}
			took, err := connect(t, cc)
			if c.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var terr *TLSError
			if !errors.As(err, &terr) {
				t.Fatalf("got %v (%T), want a *TLSError", err, err)
			}
			if took > 10*time.Second {
				t.Fatalf("failed after %s: must not be retried", took)
			}
			if !strings.Contains(err.Error(), "--kafka-tls-ca-file") {
				t.Fatalf("error does not say what to check: %v", err)
			}
		})
	}
}

// TestTLSClientCertAndSCRAM is the full setup: SASL_SSL with SCRAM-SHA-512 to a broker that
// also requires a client certificate.
func TestTLSClientCertAndSCRAM(t *testing.T) {
	ca := testkit.NewTestCA(t, "kafka")
	brokers := secureCluster(t, kfake.TLS(ca.ServerTLS(t, true, "127.0.0.1")), kfake.EnableSASL(),
		kfake.Superuser(MechanismSCRAMSHA512, "sluice", testPassword))
	cert, key := ca.ClientFiles(t, "sluice")
	cc := ClientConfig{Brokers: brokers, SecurityProtocol: ProtocolSASLSSL,
		TLS:  TLSConfig{CAFile: ca.CAFile, CertFile: cert, KeyFile: key},
		SASL: SASLConfig{Mechanism: MechanismSCRAMSHA512, Username: "sluice", Password: testPassword}}
	if _, err := connect(t, cc); err != nil {
		t.Fatal(err)
	}
	// The key may sit in the certificate file, as in a PEM keystore.
	both := filepath.Join(t.TempDir(), "keystore.pem")
	cb, _ := os.ReadFile(cert)
	kb, _ := os.ReadFile(key)
	if err := os.WriteFile(both, append(cb, kb...), 0o600); err != nil {
		t.Fatal(err)
	}
	cc.TLS.CertFile, cc.TLS.KeyFile = both, ""
	if _, err := connect(t, cc); err != nil {
		t.Fatalf("key in the certificate file: %v", err)
	}
}

// TestSecurityConfigErrors: settings that cannot work are refused before any connection, each
// error naming the flag to fix, and none shows the password.
func TestSecurityConfigErrors(t *testing.T) {
	ca := testkit.NewTestCA(t, "kafka")
	notPEM := filepath.Join(t.TempDir(), "truststore.jks")
	if err := os.WriteFile(notPEM, []byte{0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2}, 0o600); err != nil {
		t.Fatal(err)
	}
	empty := passwordFile(t, "")
	jaas := func(module, rest string) string { return module + " required " + rest + ";" }
	cases := []struct {
		name string
		cc   ClientConfig
		want string
	}{
		{"unknown protocol", ClientConfig{SecurityProtocol: "TLS"}, "want PLAINTEXT, SSL"},
		{"CA with PLAINTEXT", ClientConfig{TLS: TLSConfig{CAFile: ca.CAFile}}, "set it to SSL or SASL_SSL"},
		{"SASL with SSL", ClientConfig{SecurityProtocol: ProtocolSSL, SASL: SASLConfig{Username: "u", Password: testPassword}}, "set it to SASL_SSL or SASL_PLAINTEXT"},
		{"no user", ClientConfig{SecurityProtocol: ProtocolSASLSSL, SASL: SASLConfig{Password: testPassword}}, "needs --kafka-sasl-username"},
		{"no password", ClientConfig{SecurityProtocol: ProtocolSASLSSL, SASL: SASLConfig{Username: "u"}}, "needs a password"},
		{"two passwords", ClientConfig{SecurityProtocol: ProtocolSASLSSL, SASL: SASLConfig{Username: "u", Password: testPassword, PasswordFile: empty}}, "not both"},
		{"unknown mechanism", ClientConfig{SecurityProtocol: ProtocolSASLSSL, SASL: SASLConfig{Mechanism: "GSSAPI", Username: "u", Password: testPassword}}, "want PLAIN, SCRAM-SHA-256"},
		{"jaas module vs mechanism", ClientConfig{SecurityProtocol: ProtocolSASLSSL, SASL: SASLConfig{Mechanism: MechanismSCRAMSHA256,
			JAAS: jaas(jaasPlain, `username="u" password="`+testPassword+`"`)}}, "use org.apache.kafka.common.security.scram.ScramLoginModule for SCRAM"},
		{"jaas without password", ClientConfig{SecurityProtocol: ProtocolSASLSSL, SASL: SASLConfig{JAAS: jaas(jaasPlain, `username="u"`)}}, "needs username"},
		{"jaas and password", ClientConfig{SecurityProtocol: ProtocolSASLSSL, SASL: SASLConfig{Password: testPassword,
			JAAS: jaas(jaasPlain, `username="u" password="`+testPassword+`"`)}}, "give one"},
		{"jaas unterminated", ClientConfig{SecurityProtocol: ProtocolSASLSSL, SASL: SASLConfig{JAAS: jaasPlain + ` required password="` + testPassword + `"`}}, "must end with ';'"},
		{"jaas open quote", ClientConfig{SecurityProtocol: ProtocolSASLSSL, SASL: SASLConfig{JAAS: jaasPlain + ` required password="` + testPassword + `;`}}, "missing closing quote"},
		{"empty password file", ClientConfig{SecurityProtocol: ProtocolSASLSSL, SASL: SASLConfig{Username: "u", PasswordFile: empty}}, "first line is empty"},
		{"truststore not PEM", ClientConfig{SecurityProtocol: ProtocolSSL, TLS: TLSConfig{CAFile: notPEM}}, "convert"},
		{"CA file missing", ClientConfig{SecurityProtocol: ProtocolSSL, TLS: TLSConfig{CAFile: notPEM + ".missing"}}, "--kafka-tls-ca-file"},
		{"key without cert", ClientConfig{SecurityProtocol: ProtocolSSL, TLS: TLSConfig{KeyFile: notPEM}}, "needs --kafka-tls-cert-file"},
		{"bad verify", ClientConfig{SecurityProtocol: ProtocolSSL, TLS: TLSConfig{Verify: "maybe"}}, "want full, ca or none"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cc.Brokers = []string{"127.0.0.1:9"}
			_, err := c.cc.Kgo("test", nil)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want it to say %q", err, c.want)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Fatalf("error shows the password: %v", err)
			}
		})
	}
}

// TestInsecureWarnsOnce: --kafka-tls-verify none connects, and says once per process that the
// brokers are not verified, however many clients connect.
func TestInsecureWarnsOnce(t *testing.T) {
	ca := testkit.NewTestCA(t, "kafka")
	brokers := secureCluster(t, kfake.TLS(ca.ServerTLS(t, false, "127.0.0.1")))
	insecureWarned = sync.Once{} // a process's first insecure client warns; this test's is the first
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	cc := ClientConfig{Brokers: brokers, SecurityProtocol: ProtocolSSL, TLS: TLSConfig{Verify: VerifyNone}}
	for range 2 {
		if err := ping(t, cc, log); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(buf.String(), "not verified"); n != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", n, buf.String())
	}
}
