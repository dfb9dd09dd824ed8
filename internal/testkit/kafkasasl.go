package testkit

import (
	"bytes"
	"strings"

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
