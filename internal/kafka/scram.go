package kafka

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// scram is a SCRAM client (RFC 5802, no channel binding) for sarama's SASL/SCRAM-SHA-256 and
// -512. sarama leaves the client to its user; the protocol is three messages and the standard
// library has every primitive, so sluice carries its own instead of another dependency.
type scram struct {
	h        func() hash.Hash
	user     string
	password string
	authzID  string

	step        int
	nonce       string
	clientFirst string // client-first-message-bare
	serverSig   []byte
	done        bool
}

var (
	sha256Hash = sha256.New
	sha512Hash = sha512.New
)

func newSCRAM(h func() hash.Hash) *scram { return &scram{h: h} }

func (s *scram) Begin(user, password, authzID string) error {
	s.user, s.password, s.authzID = user, password, authzID
	s.step, s.done = 0, false
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return err
	}
	s.nonce = base64.RawStdEncoding.EncodeToString(b)
	return nil
}

// gs2 is the GS2 header: no channel binding, optional authorization identity.
func (s *scram) gs2() string {
	if s.authzID == "" {
		return "n,,"
	}
	return "n,a=" + scramName(s.authzID) + ","
}

// scramName escapes a user name: ',' and '=' are the only special characters.
func scramName(n string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(n)
}

// Step answers the server's challenge; the first call (empty challenge) sends the client's
// first message. Errors never include the password.
func (s *scram) Step(challenge string) (string, error) {
	s.step++
	switch s.step {
	case 1:
		s.clientFirst = "n=" + scramName(s.user) + ",r=" + s.nonce
		return s.gs2() + s.clientFirst, nil
	case 2:
		return s.final(challenge)
	case 3:
		s.done = true
		attrs := scramAttrs(challenge)
		if e, ok := attrs["e"]; ok {
			return "", fmt.Errorf("scram: server refused the login: %s", e)
		}
		v, err := base64.StdEncoding.DecodeString(attrs["v"])
		if err != nil || subtle.ConstantTimeCompare(v, s.serverSig) != 1 {
			return "", errors.New("scram: the server's signature does not match: it does not know this user's credentials (or is not the server it claims)")
		}
		return "", nil
	}
	return "", errors.New("scram: unexpected extra challenge")
}

func (s *scram) final(serverFirst string) (string, error) {
	attrs := scramAttrs(serverFirst)
	if e, ok := attrs["e"]; ok {
		return "", fmt.Errorf("scram: server refused the login: %s", e)
	}
	nonce := attrs["r"]
	if !strings.HasPrefix(nonce, s.nonce) || len(nonce) == len(s.nonce) {
		return "", errors.New("scram: server nonce does not extend the client's")
	}
	salt, err := base64.StdEncoding.DecodeString(attrs["s"])
	if err != nil || len(salt) == 0 {
		return "", errors.New("scram: bad salt from the server")
	}
	iter, err := strconv.Atoi(attrs["i"])
	if err != nil || iter < 1 || iter > 1<<20 {
		return "", fmt.Errorf("scram: bad iteration count %q from the server", attrs["i"])
	}
	salted, err := pbkdf2.Key(s.h, s.password, salt, iter, s.h().Size())
	if err != nil {
		return "", fmt.Errorf("scram: %w", err)
	}
	clientKey := s.hmac(salted, "Client Key")
	h := s.h()
	h.Write(clientKey)
	storedKey := h.Sum(nil)
	withoutProof := "c=" + base64.StdEncoding.EncodeToString([]byte(s.gs2())) + ",r=" + nonce
	authMsg := s.clientFirst + "," + serverFirst + "," + withoutProof
	proof := s.hmac(storedKey, authMsg)
	for i := range proof {
		proof[i] ^= clientKey[i]
	}
	s.serverSig = s.hmac(s.hmac(salted, "Server Key"), authMsg)
	return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof), nil
}

func (s *scram) hmac(key []byte, msg string) []byte {
	m := hmac.New(s.h, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

func (s *scram) Done() bool { return s.done }

// scramAttrs splits "a=x,b=y" into its attributes (values may contain '=').
func scramAttrs(msg string) map[string]string {
	out := map[string]string{}
	for _, kv := range strings.Split(msg, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok && len(k) == 1 {
			out[k] = v
		}
	}
	return out
}
