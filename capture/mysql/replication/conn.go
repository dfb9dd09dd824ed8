package replication

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// Capability flags (MySQL client/server protocol).
const (
	capLongPassword     = 1 << 0 // MySQL servers set it; MariaDB servers clear it (CLIENT_MYSQL)
	capLongFlag         = 1 << 2
	capConnectWithDB    = 1 << 3
	capProtocol41       = 1 << 9
	capSSL              = 1 << 11
	capTransactions     = 1 << 13
	capSecureConnection = 1 << 15
	capMultiResults     = 1 << 17
	capPluginAuth       = 1 << 19
	capConnectAttrs     = 1 << 20
	capPluginAuthLenenc = 1 << 21
	capDeprecateEOF     = 1 << 24
)

// Server status flags.
const statusMoreResults = 0x0008

// Commands.
const (
	comQuit           = 0x01
	comQuery          = 0x03
	comPing           = 0x0e
	comBinlogDump     = 0x12
	comRegisterSlave  = 0x15
	comBinlogDumpGTID = 0x1e
)

const charsetUTF8MB4 = 45 // utf8mb4_general_ci: known to MySQL 5.5+ and every MariaDB

// Conn is one connection to a MySQL or MariaDB server. It is not safe for concurrent use,
// except that Close may be called from another goroutine to interrupt a blocked call.
type Conn struct {
	cfg     Config
	addr    string
	log     *slog.Logger
	raw     net.Conn // the TCP connection (deadlines are set here)
	conn    net.Conn // raw or the TLS connection over it
	r       *packetReader
	w       packetWriter
	ctx     context.Context // context of the call in progress, for blocking reads; nil between calls
	timeout time.Duration   // read timeout while dumping

	version string
	connID  uint32
	flavor  Flavor
	caps    uint32 // negotiated capabilities
	tls     bool
	auth    AuthInfo

	interrupted atomic.Bool // a context fired during I/O: the connection is unusable
	closed      atomic.Bool
	idle        atomic.Bool // no call in progress and not streaming: Close may say goodbye
	broken      error       // sticky: the first I/O or stream error

	dumping  bool
	stash    []byte // first dump packet read by StartDump, returned by the first Next
	stashEOF bool   // the stream ended (NonBlocking)
	checksum string
}

// AuthInfo says how the connection authenticated.
type AuthInfo struct {
	Plugin             string // the plugin that finally authenticated, e.g. "caching_sha2_password"
	Switched           bool   // the server asked to switch plugins
	FullAuth           bool   // caching_sha2_password used its full path (password sent, not a hash)
	PublicKeyRequested bool   // the server's RSA public key was fetched over the connection
}

// Dial connects, negotiates TLS and authenticates. The handshake is bounded by ctx and by
// Config.DialTimeout.
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	addr := cfg.Addr
	if _, _, err := net.SplitHostPort(addr); err != nil {
		addr = net.JoinHostPort(addr, "3306")
	}
	timeout := cfg.DialTimeout
	if timeout <= 0 {
		timeout = defaultDialTimeout
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var d net.Dialer
	raw, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, netErr("dial", addr, err)
	}
	c := &Conn{cfg: cfg, addr: addr, log: cfg.logger(), raw: raw, conn: raw, flavor: cfg.Flavor}
	size := cfg.ReadBufferSize
	if size == 0 {
		size = defaultReadBuffer
	}
	c.r = newPacketReader(ioConn{c}, max(size, 4096))
	c.w.w = ioConn{c}

	c.ctx = dctx
	err = c.handshake(dctx)
	c.ctx = nil
	if err != nil {
		_ = raw.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if dctx.Err() != nil {
			return nil, &NetError{Op: "handshake", Addr: addr, Err: fmt.Errorf("timed out after %s", timeout)}
		}
		return nil, err
	}
	c.idle.Store(true)
	c.log = c.log.With("addr", addr, "connection_id", c.connID)
	c.log.Info("connected", "server_version", c.version, "flavor", c.flavor.String(), "tls", c.tls,
		"auth_plugin", c.auth.Plugin)
	return c, nil
}

// ServerVersion is the version string of the handshake (MariaDB's without the "5.5.5-" prefix).
func (c *Conn) ServerVersion() string { return c.version }

// Flavor is the server family (from Config.Flavor, or detected).
func (c *Conn) Flavor() Flavor { return c.flavor }

// ConnectionID is the server's id of this connection (as in SHOW PROCESSLIST).
func (c *Conn) ConnectionID() uint32 { return c.connID }

// LocalAddr is the client end of the connection.
func (c *Conn) LocalAddr() net.Addr { return c.raw.LocalAddr() }

// TLS reports whether the connection is encrypted.
func (c *Conn) TLS() bool { return c.tls }

// Auth says how the connection authenticated.
func (c *Conn) Auth() AuthInfo { return c.auth }

// Close closes the connection. It may be called from another goroutine to interrupt a blocked
// call, which then returns ErrClosed. Closing twice is harmless.
func (c *Conn) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	if c.idle.CompareAndSwap(true, false) && !c.interrupted.Load() {
		// Best effort polite goodbye (no "aborted connection" in the server log); the server
		// would ignore it while streaming a dump, so it is only sent between calls.
		_ = c.raw.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
		var b [5]byte
		b[0], b[4] = 1, comQuit
		_, _ = c.conn.Write(b[:])
	}
	return c.raw.Close()
}

// ioConn is the io.ReadWriter under the packet reader and writer. Every socket read or write
// (and only those, not reads served from the buffer) is bounded by the context of the call in
// progress through context.AfterFunc, and while dumping by the read timeout.
type ioConn struct{ c *Conn }

func (x ioConn) Read(p []byte) (int, error) {
	c := x.c
	switch {
	case c.dumping && c.timeout > 0:
		_ = c.raw.SetReadDeadline(time.Now().Add(c.timeout))
	case !c.dumping && c.cfg.QueryTimeout > 0:
		_ = c.raw.SetReadDeadline(time.Now().Add(c.cfg.QueryTimeout))
	}
	stop, err := c.watch()
	if err != nil {
		return 0, err
	}
	n, err := c.conn.Read(p)
	if err2 := c.unwatch(stop); err2 != nil {
		return n, err2
	}
	return n, err
}

func (x ioConn) Write(p []byte) (int, error) {
	c := x.c
	stop, err := c.watch()
	if err != nil {
		return 0, err
	}
	n, err := c.conn.Write(p)
	if err2 := c.unwatch(stop); err2 != nil {
		return n, err2
	}
	return n, err
}

// watch arms the interrupt for the context of the call in progress.
func (c *Conn) watch() (func() bool, error) {
	if c.interrupted.Load() {
		return nil, errInterrupted
	}
	ctx := c.ctx
	if ctx == nil || ctx.Done() == nil {
		return nil, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return context.AfterFunc(ctx, c.interrupt), nil
}

func (c *Conn) unwatch(stop func() bool) error {
	if stop != nil && !stop() {
		// The context fired: the deadline is (or will be) in the past.
		c.interrupted.Store(true)
		return c.ctx.Err()
	}
	return nil
}

func (c *Conn) interrupt() {
	c.interrupted.Store(true)
	_ = c.raw.SetDeadline(time.Unix(1, 0))
}

var errInterrupted = errors.New("connection was interrupted by a cancelled context")

// fail records and returns the error of a failed read or write, translated: context errors
// stay context errors, a closed Conn gives ErrClosed, the rest become *NetError.
func (c *Conn) fail(ctx context.Context, op string, err error) error {
	switch {
	case c.closed.Load():
		err = ErrClosed
	case ctx != nil && ctx.Err() != nil && (errors.Is(err, ctx.Err()) || c.interrupted.Load()):
		err = ctx.Err()
	case errors.Is(err, errTooLarge):
		err = &ProtocolError{Op: op, Msg: err.Error()}
	case errors.Is(err, os.ErrDeadlineExceeded) && c.dumping && c.timeout > 0:
		err = &NetError{Op: op, Addr: c.addr, Err: fmt.Errorf("no data from the server for %s (heartbeat period %s); "+
			"the server or the network is gone: %w", c.timeout, c.cfg.heartbeat(), err)}
	case errors.Is(err, os.ErrDeadlineExceeded) && !c.dumping && c.cfg.QueryTimeout > 0:
		err = &NetError{Op: op, Addr: c.addr, Err: fmt.Errorf("no data from the server for %s (query timeout); "+
			"the server or the network is stuck: %w", c.cfg.QueryTimeout, err)}
	default:
		err = netErr(op, c.addr, err)
	}
	if c.broken == nil {
		c.broken = err
	}
	return err
}

func (c *Conn) usable() error {
	if c.closed.Load() {
		return ErrClosed
	}
	if c.broken != nil {
		return fmt.Errorf("%w: %w", ErrClosed, c.broken)
	}
	return nil
}

// readPacket reads one payload under ctx.
func (c *Conn) readPacket(ctx context.Context, op string) ([]byte, error) {
	c.ctx = ctx
	b, err := c.r.next()
	c.ctx = nil
	if err != nil {
		return nil, c.fail(ctx, op, err)
	}
	return b, nil
}

// writePacket sends b (4 reserved bytes + payload) with sequence id seq under ctx.
func (c *Conn) writePacket(ctx context.Context, op string, b []byte, seq uint8) error {
	c.ctx = ctx
	_, err := c.w.write(b, seq)
	c.ctx = nil
	if err != nil {
		return c.fail(ctx, op, err)
	}
	return nil
}

// serverError parses an ERR packet (data[0] == 0xff).
func (c *Conn) serverError(op string, data []byte) *ServerError {
	cur := cursor{b: data[1:]}
	e := &ServerError{Op: op, Code: cur.u16()}
	rest := cur.b[min(cur.off, len(cur.b)):]
	if len(rest) >= 6 && rest[0] == '#' {
		e.State = string(rest[1:6])
		rest = rest[6:]
	}
	e.Message = string(rest)
	e.classify(c.cfg.User, c.flavor)
	return e
}

// handshake reads the server greeting, negotiates TLS and authenticates.
func (c *Conn) handshake(ctx context.Context) error {
	data, err := c.readPacket(ctx, "handshake")
	if err != nil {
		return err
	}
	if len(data) > 0 && data[0] == 0xff {
		return c.serverError("connect", data)
	}
	cur := cursor{b: data}
	if v := cur.u8(); v != 10 {
		return &ProtocolError{Op: "handshake", Msg: fmt.Sprintf("protocol version %d, want 10 (is this a MySQL server?)", v)}
	}
	version := string(cur.nulString())
	c.connID = cur.u32()
	scramble := append([]byte(nil), cur.bytes(8)...)
	cur.u8()
	serverCaps := uint32(cur.u16())
	var authLen int
	if cur.rem() > 0 {
		cur.u8()  // charset
		cur.u16() // status
		serverCaps |= uint32(cur.u16()) << 16
		authLen = int(cur.u8())
		cur.bytes(10)
	}
	if serverCaps&capSecureConnection != 0 {
		part := cur.bytes(max(13, authLen-8))
		if n := len(part); n > 0 && part[n-1] == 0 {
			part = part[:n-1]
		}
		scramble = append(scramble, part...)
	}
	plugin := pluginNative
	if serverCaps&capPluginAuth != 0 {
		plugin = string(cur.nulString())
	}
	if cur.bad {
		return &ProtocolError{Op: "handshake", Msg: "short server greeting"}
	}
	if serverCaps&capProtocol41 == 0 || serverCaps&capSecureConnection == 0 {
		return &ProtocolError{Op: "handshake", Msg: "server does not speak protocol 4.1 (MySQL < 4.1 is not supported)"}
	}
	if strings.Contains(strings.ToLower(version), "mariadb") {
		// MariaDB 10+ prefixes its version with "5.5.5-" for old replication clients.
		version = strings.TrimPrefix(version, "5.5.5-")
		if c.flavor == FlavorAuto {
			c.flavor = FlavorMariaDB
		}
	} else if c.flavor == FlavorAuto {
		c.flavor = FlavorMySQL
	}
	c.version = version

	caps := uint32(capLongPassword | capLongFlag | capProtocol41 | capTransactions | capSecureConnection |
		capMultiResults | capPluginAuth | capPluginAuthLenenc | capDeprecateEOF | capConnectAttrs)
	if c.cfg.Database != "" {
		caps |= capConnectWithDB
	}
	caps &= serverCaps
	seq := c.r.seq

	// TLS.
	useTLS := false
	switch c.cfg.TLS {
	case TLSPreferred:
		useTLS = serverCaps&capSSL != 0
	case TLSRequired, TLSVerifyCA, TLSVerifyFull:
		if serverCaps&capSSL == 0 {
			return fmt.Errorf("connect: %w: TLS mode %s but the server does not offer TLS; configure the "+
				"server's ssl_cert/ssl_key (or use TLS mode preferred/disable)", ErrUnsupported, c.cfg.TLS)
		}
		useTLS = true
	}
	if useTLS {
		caps |= capSSL
		b := c.w.start()
		b = appendU32(b, caps)
		b = appendU32(b, maxPayload)
		b = append(b, charsetUTF8MB4)
		b = append(b, make([]byte, 23)...)
		if err := c.writePacket(ctx, "TLS request", b, seq); err != nil {
			return err
		}
		seq++
		tcfg, err := c.tlsConfig()
		if err != nil {
			return err
		}
		tc := tls.Client(c.raw, tcfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var ve *tls.CertificateVerificationError
			if errors.As(err, &ve) {
				return fmt.Errorf("TLS handshake with %s (mode %s): %w; pass the server's CA (TLSCAFile) or use mode required", c.addr, c.cfg.TLS, err)
			}
			return netErr("TLS handshake", c.addr, err)
		}
		c.conn = tc
		c.tls = true
	}
	c.caps = caps

	// Handshake response.
	c.auth.Plugin = plugin
	resp, err := c.authResponse(plugin, scramble)
	if err != nil {
		return err
	}
	b := c.w.start()
	b = appendU32(b, caps)
	b = appendU32(b, maxPayload)
	b = append(b, charsetUTF8MB4)
	b = append(b, make([]byte, 23)...)
	b = append(append(b, c.cfg.User...), 0)
	if caps&capPluginAuthLenenc != 0 {
		b = appendLenenc(b, uint64(len(resp)))
	} else {
		b = append(b, byte(len(resp)))
	}
	b = append(b, resp...)
	if caps&capConnectWithDB != 0 {
		b = append(append(b, c.cfg.Database...), 0)
	}
	b = append(append(b, plugin...), 0)
	if caps&capConnectAttrs != 0 {
		var attrs []byte
		for _, kv := range [...][2]string{{"_client_name", "sluice"}, {"program_name", "sluice"}} {
			attrs = appendLenenc(attrs, uint64(len(kv[0])))
			attrs = append(attrs, kv[0]...)
			attrs = appendLenenc(attrs, uint64(len(kv[1])))
			attrs = append(attrs, kv[1]...)
		}
		b = appendLenenc(b, uint64(len(attrs)))
		b = append(b, attrs...)
	}
	if err := c.writePacket(ctx, "handshake response", b, seq); err != nil {
		return err
	}
	return c.authLoop(ctx, plugin, scramble)
}

// tlsConfig builds the TLS configuration for the mode.
func (c *Conn) tlsConfig() (*tls.Config, error) {
	var cfg *tls.Config
	if c.cfg.TLSConfig != nil {
		cfg = c.cfg.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if c.cfg.TLSCAFile != "" {
		pem, err := os.ReadFile(c.cfg.TLSCAFile)
		if err != nil {
			return nil, fmt.Errorf("TLS CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TLS CA file %s holds no PEM certificate", c.cfg.TLSCAFile)
		}
		cfg.RootCAs = pool
	}
	host, _, _ := net.SplitHostPort(c.addr)
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	switch c.cfg.TLS {
	case TLSPreferred, TLSRequired:
		cfg.InsecureSkipVerify = true
	case TLSVerifyCA:
		// Verify the chain but not the name: Go has no switch for that, so verify by hand.
		roots := cfg.RootCAs
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("server sent no certificate")
			}
			opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
			for _, ic := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(ic)
			}
			if _, err := cs.PeerCertificates[0].Verify(opts); err != nil {
				return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
			}
			return nil
		}
	case TLSVerifyFull:
		cfg.InsecureSkipVerify = false
	}
	return cfg, nil
}

// Verified reports whether the connection is TLS with the server's certificate checked
// (TLSVerifyCA or TLSVerifyFull).
func (c *Conn) Verified() bool {
	return c.tls && (c.cfg.TLS == TLSVerifyCA || c.cfg.TLS == TLSVerifyFull)
}

// sendPasswordOK says whether full authentication may send the password now: over verified
// TLS always; otherwise (unverified TLS, or a key the server would send on plain TCP) only
// with AllowPublicKeyRetrieval, since a man in the middle would learn it.
func (c *Conn) sendPasswordOK(plugin string) error {
	if c.Verified() || c.cfg.AllowPublicKeyRetrieval {
		return nil
	}
	if c.tls {
		return fmt.Errorf("connect: %w: the server asks for full authentication (%s, e.g. after a restart), which sends "+
			"the password in clear inside TLS, and the server's certificate is not verified (TLS mode %s): set the TLS mode "+
			"to verify-ca or verify-full with the server's CA file, or allow it (--allow-public-key-retrieval); a wrong password also ends here, since it is never sent", ErrInsecureAuth, plugin, c.cfg.TLS)
	}
	return fmt.Errorf("connect: %w: the server asks for full authentication (%s, e.g. after a restart) on a connection "+
		"without TLS, which needs the server's RSA key, and a key the server sends could be a man in the middle's: use TLS "+
		"mode verify-ca or verify-full with the server's CA file, give the key (--server-public-key-file), or allow "+
		"fetching it (--allow-public-key-retrieval); a wrong password also ends here, since it is never sent", ErrInsecureAuth, plugin)
}

// authResponse computes the auth data for plugin.
func (c *Conn) authResponse(plugin string, scramble []byte) ([]byte, error) {
	pw := c.cfg.Password
	switch plugin {
	case pluginNative:
		return scrambleNative(scramble, pw), nil
	case pluginCachingSHA2:
		return scrambleSHA256(scramble, pw), nil
	case pluginSHA256:
		switch {
		case pw == "":
			return []byte{0}, nil
		case c.tls:
			if err := c.sendPasswordOK(plugin); err != nil {
				return nil, err
			}
			return append([]byte(pw), 0), nil
		case c.cfg.ServerPublicKey != nil:
			return encryptPassword(pw, scramble, c.cfg.ServerPublicKey)
		}
		if err := c.sendPasswordOK(plugin); err != nil {
			return nil, err
		}
		c.auth.PublicKeyRequested = true
		return []byte{1}, nil // ask for the server's public key
	case pluginEd25519:
		return signEd25519(scramble, pw)
	case pluginClear:
		if !c.tls {
			return nil, fmt.Errorf("connect: %w: the server asks for the cleartext password (mysql_clear_password) "+
				"over an unencrypted connection; use TLS", ErrUnsupported)
		}
		if err := c.sendPasswordOK(plugin); err != nil {
			return nil, err
		}
		return append([]byte(pw), 0), nil
	}
	if c.auth.Switched {
		return nil, fmt.Errorf("connect: %w: auth plugin %q of user %q; use caching_sha2_password, "+
			"mysql_native_password, sha256_password or ed25519", ErrUnsupported, plugin, c.cfg.User)
	}
	// The server's default plugin is one we do not know: answer as mysql_native_password
	// and let the server switch us to the user's plugin.
	c.auth.Plugin = pluginNative
	return scrambleNative(scramble, pw), nil
}

// authLoop handles the server's answers until OK or ERR.
func (c *Conn) authLoop(ctx context.Context, plugin string, scramble []byte) error {
	plugin = c.auth.Plugin
	for {
		data, err := c.readPacket(ctx, "authentication")
		if err != nil {
			return err
		}
		if len(data) == 0 {
			return &ProtocolError{Op: "authentication", Msg: "empty packet"}
		}
		seq := c.r.seq
		var resp []byte
		switch data[0] {
		case 0x00:
			return nil
		case 0xff:
			return c.serverError("connect", data)
		case 0xfe: // auth switch request
			if len(data) == 1 {
				return fmt.Errorf("connect: %w: the server asks for the pre-4.1 password hash; "+
					"set a modern password for %q", ErrUnsupported, c.cfg.User)
			}
			cur := cursor{b: data[1:]}
			plugin = string(cur.nulString())
			scramble = append([]byte(nil), cur.b[cur.off:]...)
			if n := len(scramble); n > 0 && scramble[n-1] == 0 {
				scramble = scramble[:n-1]
			}
			c.auth.Switched = true
			c.auth.Plugin = plugin
			if resp, err = c.authResponse(plugin, scramble); err != nil {
				return err
			}
		case 0x01: // auth more data
			more := data[1:]
			switch plugin {
			case pluginCachingSHA2:
				switch {
				case len(more) == 1 && more[0] == 3: // fast auth success; OK follows
					continue
				case len(more) == 1 && more[0] == 4: // full authentication
					c.auth.FullAuth = true
					switch {
					case c.tls:
						if err := c.sendPasswordOK(plugin); err != nil {
							return err
						}
						resp = append([]byte(c.cfg.Password), 0)
					case c.cfg.ServerPublicKey != nil:
						if resp, err = encryptPassword(c.cfg.Password, scramble, c.cfg.ServerPublicKey); err != nil {
							return err
						}
					default:
						if err := c.sendPasswordOK(plugin); err != nil {
							return err
						}
						c.auth.PublicKeyRequested = true
						resp = []byte{2} // request the public key
					}
				default: // the public key
					if resp, err = c.encryptWithKey(more, scramble); err != nil {
						return err
					}
				}
			case pluginSHA256:
				if resp, err = c.encryptWithKey(more, scramble); err != nil {
					return err
				}
			default:
				return &ProtocolError{Op: "authentication", Msg: fmt.Sprintf("unexpected auth data for plugin %s", plugin)}
			}
		default:
			return &ProtocolError{Op: "authentication", Msg: fmt.Sprintf("unexpected packet 0x%02x", data[0])}
		}
		b := append(c.w.start(), resp...)
		if err := c.writePacket(ctx, "authentication", b, seq); err != nil {
			return err
		}
	}
}

func (c *Conn) encryptWithKey(pemData, scramble []byte) ([]byte, error) {
	pub, err := parsePublicKey(pemData)
	if err != nil {
		return nil, &ProtocolError{Op: "authentication", Msg: err.Error()}
	}
	return encryptPassword(c.cfg.Password, scramble, pub)
}

// Result is the outcome of a text-protocol statement.
type Result struct {
	Columns      []string
	Rows         [][]sql.NullString
	AffectedRows uint64
	LastInsertID uint64
	Warnings     uint16
}

// Get returns the value of column name in row i, and false if it is NULL or absent.
func (r *Result) Get(i int, name string) (string, bool) {
	if i < 0 || i >= len(r.Rows) {
		return "", false
	}
	for j, col := range r.Columns {
		if strings.EqualFold(col, name) && j < len(r.Rows[i]) {
			v := r.Rows[i][j]
			return v.String, v.Valid
		}
	}
	return "", false
}

// Exec runs a statement and discards any rows.
func (c *Conn) Exec(ctx context.Context, query string) error {
	_, err := c.query(ctx, query, false)
	return err
}

// Query runs a statement with the text protocol and returns its first result set (and
// drains any further ones). Values are strings as the server sent them; NULL is Valid=false.
func (c *Conn) Query(ctx context.Context, query string) (*Result, error) {
	return c.query(ctx, query, true)
}

func (c *Conn) query(ctx context.Context, query string, keep bool) (*Result, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	if c.dumping {
		return nil, errors.New("replication: the connection is streaming a binlog dump; use another connection for queries")
	}
	idle := c.idle.Swap(false)
	defer func() { c.idle.Store(idle && c.broken == nil) }()
	op := "query " + abbreviate(query)
	b := append(append(c.w.start(), comQuery), query...)
	if err := c.writePacket(ctx, op, b, 0); err != nil {
		return nil, err
	}
	res := &Result{}
	first := true
	for {
		more, err := c.readResult(ctx, op, res, keep && first)
		if err != nil {
			return nil, err
		}
		if !more {
			return res, nil
		}
		first = false
	}
}

// readResult reads one OK, ERR or result set; it reports whether more results follow.
func (c *Conn) readResult(ctx context.Context, op string, res *Result, keep bool) (bool, error) {
	data, err := c.readPacket(ctx, op)
	if err != nil {
		return false, err
	}
	switch {
	case len(data) == 0:
		return false, &ProtocolError{Op: op, Msg: "empty packet"}
	case data[0] == 0x00:
		cur := cursor{b: data[1:]}
		aff, _ := cur.lenenc()
		id, _ := cur.lenenc()
		status := cur.u16()
		warn := cur.u16()
		if keep || res.Columns == nil {
			res.AffectedRows, res.LastInsertID, res.Warnings = aff, id, warn
		}
		return status&statusMoreResults != 0, nil
	case data[0] == 0xff:
		return false, c.serverError(op, data)
	case data[0] == 0xfb:
		return false, &ProtocolError{Op: op, Msg: "LOCAL INFILE requests are not supported"}
	}
	cur := cursor{b: data}
	n, _ := cur.lenenc()
	if cur.bad || n == 0 || n > 4096 {
		return false, &ProtocolError{Op: op, Msg: "bad column count"}
	}
	cols := make([]string, 0, n)
	for range n {
		data, err := c.readPacket(ctx, op)
		if err != nil {
			return false, err
		}
		if len(data) > 0 && data[0] == 0xff {
			return false, c.serverError(op, data)
		}
		cur := cursor{b: data}
		for range 4 { // catalog, schema, table, org_table
			cur.lenencBytes()
		}
		name, _ := cur.lenencBytes()
		if cur.bad {
			return false, &ProtocolError{Op: op, Msg: "bad column definition"}
		}
		cols = append(cols, string(name))
	}
	if c.caps&capDeprecateEOF == 0 {
		if _, err := c.readPacket(ctx, op); err != nil { // EOF after the column definitions
			return false, err
		}
	}
	if keep {
		res.Columns = cols
	}
	for {
		data, err := c.readPacket(ctx, op)
		if err != nil {
			return false, err
		}
		if len(data) > 0 && data[0] == 0xff {
			return false, c.serverError(op, data)
		}
		if len(data) > 0 && data[0] == 0xfe && len(data) < maxPayload {
			return c.endStatus(data)&statusMoreResults != 0, nil
		}
		if !keep {
			continue
		}
		cur := cursor{b: data}
		row := make([]sql.NullString, len(cols))
		for i := range row {
			v, null := cur.lenencBytes()
			if !null {
				row[i] = sql.NullString{String: string(v), Valid: true}
			}
		}
		if cur.bad {
			return false, &ProtocolError{Op: op, Msg: "bad row"}
		}
		res.Rows = append(res.Rows, row)
	}
}

func abbreviate(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) > 60 {
		q = q[:57] + "..."
	}
	return q
}

// Ping checks that the server answers.
func (c *Conn) Ping(ctx context.Context) error {
	if err := c.usable(); err != nil {
		return err
	}
	idle := c.idle.Swap(false)
	defer func() { c.idle.Store(idle && c.broken == nil) }()
	b := append(c.w.start(), comPing)
	if err := c.writePacket(ctx, "ping", b, 0); err != nil {
		return err
	}
	data, err := c.readPacket(ctx, "ping")
	if err != nil {
		return err
	}
	if len(data) > 0 && data[0] == 0xff {
		return c.serverError("ping", data)
	}
	return nil
}

var _ io.ReadWriter = ioConn{}

// endStatus is the server status of the packet that ends a result set: an EOF packet, or under
// DEPRECATE_EOF an OK packet with the EOF header (affected rows, last insert id, status).
func (c *Conn) endStatus(data []byte) uint16 {
	if c.caps&capDeprecateEOF != 0 {
		cur := cursor{b: data[1:]}
		cur.lenenc()
		cur.lenenc()
		return cur.u16()
	}
	if len(data) >= 5 {
		return uint16(data[3]) | uint16(data[4])<<8
	}
	return 0
}
