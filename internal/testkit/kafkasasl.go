package testkit

import (
	"bytes"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// KafkaRefuseLikeBroker makes kfake refuse a SASL login the way a Kafka broker does: it
// answers SaslAuthenticate with SASL_AUTHENTICATION_FAILED (58) where kfake only closes the
// connection. It refuses PLAIN logins of any other user or password, and SCRAM logins of any
// other user (at their first message; kfake checks the SCRAM proof of user itself).
func KafkaRefuseLikeBroker(c *kfake.Cluster, user, password string) {
	c.ControlKey(int16(kmsg.SASLAuthenticate), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := kreq.(*kmsg.SASLAuthenticateRequest)
		b := req.SASLAuthBytes
		refuse := false
		switch {
		case bytes.Count(b, []byte{0}) == 2: // PLAIN: authzid NUL user NUL password
			parts := bytes.Split(b, []byte{0})
			refuse = string(parts[1]) != user || string(parts[2]) != password
		case bytes.HasPrefix(b, []byte("n,")): // SCRAM client-first: n,[a=…],n=user,r=nonce
			for _, attr := range strings.Split(string(b), ",") {
				if u, ok := strings.CutPrefix(attr, "n="); ok {
					refuse = u != user
				}
			}
		}
		if !refuse {
			return nil, nil, false
		}
		resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
		resp.ErrorCode = 58
		msg := "Authentication failed: Invalid username or password"
		resp.ErrorMessage = &msg
		return resp, nil, true
	})
}

// SecureKafka is a one-broker kfake that speaks TLS only (certificate from CA, for 127.0.0.1)
// and requires a SASL login of User with Password over Mechanism, refusing others as a Kafka
// broker does (KafkaRefuseLikeBroker).
type SecureKafka struct {
	Cluster   *kfake.Cluster
	Brokers   []string
	CA        *TestCA // signs the broker's certificate; CA.CAFile is what clients trust
	Mechanism string  // PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512
	User      string
	Password  string
}

// NewSecureKafka starts a SecureKafka (opts added) and closes it when the test ends.
func NewSecureKafka(t testing.TB, mechanism string, opts ...kfake.Opt) *SecureKafka {
	t.Helper()
	k := &SecureKafka{CA: NewTestCA(t, "kafka"), Mechanism: mechanism, User: "sluice", Password: "kafka-pw-" + rand.Text()}
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.TLS(k.CA.ServerTLS(t, false, "127.0.0.1")),
		kfake.EnableSASL(), kfake.Superuser(mechanism, k.User, k.Password)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	KafkaRefuseLikeBroker(c, k.User, k.Password)
	k.Cluster, k.Brokers = c, c.ListenAddrs()
	return k
}
