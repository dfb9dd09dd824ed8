package replication

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"filippo.io/edwards25519"
)

// Auth plugin names.
const (
	pluginNative      = "mysql_native_password"
	pluginCachingSHA2 = "caching_sha2_password"
	pluginSHA256      = "sha256_password"
	pluginEd25519     = "client_ed25519"
	pluginClear       = "mysql_clear_password"
)

// scrambleNative computes SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password))), the
// mysql_native_password response. An empty password answers with nothing.
func scrambleNative(scramble []byte, password string) []byte {
	if password == "" {
		return nil
	}
	h1 := sha1.Sum([]byte(password))
	h2 := sha1.Sum(h1[:])
	h := sha1.New()
	h.Write(scramble[:min(20, len(scramble))])
	h.Write(h2[:])
	out := h.Sum(nil)
	for i := range out {
		out[i] ^= h1[i]
	}
	return out
}

// scrambleSHA256 computes the caching_sha2_password fast-path response:
// SHA256(password) XOR SHA256(SHA256(SHA256(password)) + scramble).
func scrambleSHA256(scramble []byte, password string) []byte {
	if password == "" {
		return nil
	}
	h1 := sha256.Sum256([]byte(password))
	h2 := sha256.Sum256(h1[:])
	h := sha256.New()
	h.Write(h2[:])
	h.Write(scramble[:min(20, len(scramble))])
	out := h.Sum(nil)
	for i := range out {
		out[i] ^= h1[i]
	}
	return out
}

// signEd25519 answers MariaDB's client_ed25519 challenge. MariaDB's plugin is Ed25519 (RFC 8032)
// with the password in place of the 32-byte seed: the expanded key is SHA-512(password), its
// first half clamped is the secret scalar a, its second half is the nonce prefix; the signature
// of the 32-byte scramble m is R = rB with r = SHA-512(prefix || m) mod L and
// S = r + SHA-512(R || A || m)·a mod L, sent as R || S (64 bytes).
func signEd25519(scramble []byte, password string) ([]byte, error) {
	expanded := sha512.Sum512([]byte(password))
	a, err := edwards25519.NewScalar().SetBytesWithClamping(expanded[:32])
	if err != nil {
		return nil, err
	}
	pub := new(edwards25519.Point).ScalarBaseMult(a).Bytes()

	h := sha512.New()
	h.Write(expanded[32:])
	h.Write(scramble)
	r, err := edwards25519.NewScalar().SetUniformBytes(h.Sum(nil))
	if err != nil {
		return nil, err
	}
	R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()

	h.Reset()
	h.Write(R)
	h.Write(pub)
	h.Write(scramble)
	k, err := edwards25519.NewScalar().SetUniformBytes(h.Sum(nil))
	if err != nil {
		return nil, err
	}
	S := edwards25519.NewScalar().MultiplyAdd(k, a, r)
	return append(R, S.Bytes()...), nil
}

// encryptPassword encrypts (password + NUL) XOR scramble (repeated) with the server's RSA key,
// OAEP padding with SHA-1, as caching_sha2_password and sha256_password expect without TLS.
func encryptPassword(password string, scramble []byte, pub *rsa.PublicKey) ([]byte, error) {
	if len(scramble) == 0 {
		return nil, errors.New("empty scramble")
	}
	plain := make([]byte, len(password)+1)
	copy(plain, password)
	for i := range plain {
		plain[i] ^= scramble[i%len(scramble)]
	}
	return rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, plain, nil)
}

// parsePublicKey parses the PEM public key a server sends (PKIX or PKCS#1).
// ReadPublicKeyFile reads the server's RSA public key (PEM, as the server's
// caching_sha2_password_public_key_path or SHOW STATUS LIKE 'Caching_sha2_password_rsa_public_key').
func ReadPublicKeyFile(path string) (*rsa.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := parsePublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

func parsePublicKey(data []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("server public key is not PEM (%d bytes)", len(data))
	}
	if k, err := x509.ParsePKIXPublicKey(block.Bytes); err == nil {
		if rk, ok := k.(*rsa.PublicKey); ok {
			return rk, nil
		}
		return nil, fmt.Errorf("server public key is %T, want RSA", k)
	}
	return x509.ParsePKCS1PublicKey(block.Bytes)
}
