package replication

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// fakeServer accepts one connection on loopback and runs script on it.
func fakeServer(t *testing.T, script func(rw *bufio.ReadWriter) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		nc, err := ln.Accept()
		_ = ln.Close()
		if err != nil {
			errc <- err
			return
		}
		defer func() { _ = nc.Close() }()
		_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
		errc <- script(bufio.NewReadWriter(bufio.NewReader(nc), bufio.NewWriter(nc)))
	}()
	t.Cleanup(func() {
		if err := <-errc; err != nil {
			t.Errorf("fake server: %v", err)
		}
	})
	return ln.Addr().String()
}

func sendPacket(rw *bufio.ReadWriter, seq uint8, payload []byte) error {
	_, _ = rw.Write([]byte{byte(len(payload)), byte(len(payload) >> 8), byte(len(payload) >> 16), seq})
	_, _ = rw.Write(payload)
	return rw.Flush()
}

func recvPacket(rw *bufio.ReadWriter) (uint8, []byte, error) {
	var h [4]byte
	if _, err := rw.Read(h[:1]); err != nil {
		return 0, nil, err
	}
	if _, err := rw.Read(h[1:4]); err != nil {
		return 0, nil, err
	}
	n := int(h[0]) | int(h[1])<<8 | int(h[2])<<16
	b := make([]byte, n)
	_, err := readFull(rw, b)
	return h[3], b, err
}

func readFull(rw *bufio.ReadWriter, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := rw.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// greeting builds a handshake v10 packet offering plugin with a 20-byte scramble.
func greeting(version, plugin string, scramble []byte, caps uint32) []byte {
	b := []byte{10}
	b = append(append(b, version...), 0)
	b = appendU32(b, 77)
	b = append(b, scramble[:8]...)
	b = append(b, 0)
	b = appendU16(b, uint16(caps))
	b = append(b, charsetUTF8MB4)
	b = appendU16(b, 2)
	b = appendU16(b, uint16(caps>>16))
	b = append(b, 21)
	b = append(b, make([]byte, 10)...)
	b = append(append(b, scramble[8:]...), 0)
	return append(append(b, plugin...), 0)
}

const fakeCaps = capLongPassword | capProtocol41 | capSecureConnection | capPluginAuth | capPluginAuthLenenc |
	capTransactions | capMultiResults | capDeprecateEOF

// parseResponse returns user, auth data and plugin of a handshake response.
func parseResponse(b []byte) (user string, auth []byte, plugin string) {
	c := cursor{b: b}
	caps := c.u32()
	c.bytes(4 + 1 + 23)
	user = string(c.nulString())
	if caps&capPluginAuthLenenc != 0 {
		auth, _ = c.lenencBytes()
	} else {
		auth = c.bytes(int(c.u8()))
	}
	if caps&capConnectWithDB != 0 {
		c.nulString()
	}
	return user, auth, string(c.nulString())
}

var okPayload = []byte{0, 0, 0, 2, 0, 0, 0}

// TestCachingSHA2FullAuthRSA plays a server whose cache is empty: it asks for full
// authentication, hands out its public key on request and checks the decrypted password.
func TestCachingSHA2FullAuthRSA(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	scramble := []byte("abcdefghijklmnopqrst")
	addr := fakeServer(t, func(rw *bufio.ReadWriter) error {
		_ = sendPacket(rw, 0, greeting("9.7.4", pluginCachingSHA2, scramble, fakeCaps))
		seq, resp, err := recvPacket(rw)
		if err != nil {
			return err
		}
		user, auth, plugin := parseResponse(resp)
		if user != "repl" || plugin != pluginCachingSHA2 || !bytes.Equal(auth, scrambleSHA256(scramble, "s3cret")) {
			return errors.New("bad handshake response")
		}
		_ = sendPacket(rw, seq+1, []byte{1, 4}) // perform full authentication
		seq, req, err := recvPacket(rw)
		if err != nil || !bytes.Equal(req, []byte{2}) {
			return errors.New("client did not request the public key")
		}
		_ = sendPacket(rw, seq+1, append([]byte{1}, pemKey...))
		seq, enc, err := recvPacket(rw)
		if err != nil {
			return err
		}
		plain, err := rsa.DecryptOAEP(sha1.New(), nil, key, enc, nil)
		if err != nil {
			return err
		}
		for i := range plain {
			plain[i] ^= scramble[i%len(scramble)]
		}
		if string(plain) != "s3cret\x00" {
			return errors.New("wrong decrypted password")
		}
		return sendPacket(rw, seq+1, okPayload)
	})
	c, err := Dial(context.Background(), Config{Addr: addr, User: "repl", Password: "s3cret", ServerID: 9, TLS: TLSPreferred, AllowPublicKeyRetrieval: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if got, want := c.Auth(), (AuthInfo{Plugin: pluginCachingSHA2, FullAuth: true, PublicKeyRequested: true}); got != want {
		t.Errorf("auth %+v, want %+v", got, want)
	}
	if c.Flavor() != FlavorMySQL || c.ServerVersion() != "9.7.4" || c.ConnectionID() != 77 || c.TLS() {
		t.Errorf("flavor %s version %s id %d tls %v", c.Flavor(), c.ServerVersion(), c.ConnectionID(), c.TLS())
	}
}

// TestFullAuthRefusedUnverified: without a verified channel, a configured key or
// AllowPublicKeyRetrieval, full authentication stops with ErrInsecureAuth before the client
// asks for the key or sends anything derived from the password. Before, the client fetched
// the key from whoever answered and sent the password encrypted with it.
func TestFullAuthRefusedUnverified(t *testing.T) {
	scramble := []byte("abcdefghijklmnopqrst")
	addr := fakeServer(t, func(rw *bufio.ReadWriter) error {
		_ = sendPacket(rw, 0, greeting("9.7.4", pluginCachingSHA2, scramble, fakeCaps))
		seq, _, err := recvPacket(rw)
		if err != nil {
			return err
		}
		_ = sendPacket(rw, seq+1, []byte{1, 4}) // perform full authentication
		if _, req, err := recvPacket(rw); err == nil {
			return fmt.Errorf("client sent %x after the full-authentication request, want it to hang up", req)
		}
		return nil
	})
	_, err := Dial(context.Background(), Config{Addr: addr, User: "repl", Password: "s3cret", ServerID: 9, TLS: TLSPreferred})
	if !errors.Is(err, ErrInsecureAuth) || !strings.Contains(err.Error(), "--allow-public-key-retrieval") || !strings.Contains(err.Error(), "verify-ca") {
		t.Fatalf("got %v, want ErrInsecureAuth naming the ways out", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("the error shows the password: %v", err)
	}
}

// TestAuthSwitchEd25519 plays MariaDB switching the client to client_ed25519.
func TestAuthSwitchEd25519(t *testing.T) {
	scramble := []byte("abcdefghijklmnopqrst")
	challenge := bytes.Repeat([]byte{7}, 32)
	addr := fakeServer(t, func(rw *bufio.ReadWriter) error {
		_ = sendPacket(rw, 0, greeting("5.5.5-10.11.19-MariaDB", pluginNative, scramble, fakeCaps&^capLongPassword))
		seq, _, err := recvPacket(rw)
		if err != nil {
			return err
		}
		_ = sendPacket(rw, seq+1, append(append([]byte{0xfe}, pluginEd25519+"\x00"...), challenge...))
		seq, sig, err := recvPacket(rw)
		if err != nil {
			return err
		}
		want, _ := signEd25519(challenge, "pw")
		if !bytes.Equal(sig, want) {
			return errors.New("bad signature")
		}
		return sendPacket(rw, seq+1, okPayload)
	})
	c, err := Dial(context.Background(), Config{Addr: addr, User: "u", Password: "pw", ServerID: 9})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if c.Flavor() != FlavorMariaDB || c.ServerVersion() != "10.11.19-MariaDB" || c.Auth().Plugin != pluginEd25519 || !c.Auth().Switched {
		t.Errorf("flavor %s version %q auth %+v", c.Flavor(), c.ServerVersion(), c.Auth())
	}
}

// TestGreetingError: a server refusing at once (too many connections) gives a retryable
// *ServerError; a cleartext-password switch without TLS is refused by the client.
func TestGreetingError(t *testing.T) {
	addr := fakeServer(t, func(rw *bufio.ReadWriter) error {
		return sendPacket(rw, 0, append([]byte{0xff, 0x10, 0x04}, "Too many connections"...))
	})
	_, err := Dial(context.Background(), Config{Addr: addr, User: "u", ServerID: 9})
	var se *ServerError
	if !errors.As(err, &se) || se.Code != 1040 || !se.Retryable() || se.Message != "Too many connections" {
		t.Fatalf("got %v, want retryable server error 1040", err)
	}

	addr = fakeServer(t, func(rw *bufio.ReadWriter) error {
		_ = sendPacket(rw, 0, greeting("8.0.40", pluginNative, []byte("abcdefghijklmnopqrst"), fakeCaps))
		seq, _, err := recvPacket(rw)
		if err != nil {
			return err
		}
		_ = sendPacket(rw, seq+1, append([]byte{0xfe}, pluginClear+"\x00"...))
		_, _, _ = recvPacket(rw) // the client hangs up
		return nil
	})
	_, err = Dial(context.Background(), Config{Addr: addr, User: "u", Password: "p", ServerID: 9, TLS: TLSDisable})
	if !errors.Is(err, ErrUnsupported) {
		t.Fatalf("got %v, want ErrUnsupported for a cleartext password without TLS", err)
	}
}

// TestDialRefused: nothing listening is a retryable *NetError.
func TestDialRefused(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	_ = ln.Close()
	_, err := Dial(context.Background(), Config{Addr: addr, User: "u", ServerID: 9})
	var ne *NetError
	if !errors.As(err, &ne) || !ne.Retryable() {
		t.Fatalf("got %v, want a retryable *NetError", err)
	}
}
