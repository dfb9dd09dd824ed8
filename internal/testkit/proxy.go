package testkit

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// Proxy is a loopback TCP proxy for fault tests: it forwards every connection made to Addr to
// a target, and can cut or stall the link on demand, the way a network partition or a hung
// switch would, without touching the server behind it.
//
//   - Cut closes every open connection and refuses new ones (the port is closed, so a dial
//     gets "connection refused", as from a server that is down).
//   - Stall stops forwarding in both directions without closing anything: bytes already sent
//     are held, the peers see silence (and, once the socket buffers fill, a blocked write).
//   - StallWhere stalls only some connections, chosen by their client end: the side
//     connection of a source whose main stream must go on, say.
//   - Restore undoes either: a cut proxy listens again on the same address, a stalled one
//     forwards the held bytes and carries on.
//
// All methods are safe for concurrent use. Close (or the test's cleanup, with StartProxy)
// ends every goroutine the proxy started.
type Proxy struct {
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener // nil while cut or closed
	conns map[*proxyConn]struct{}
	gate  chan struct{} // closed while forwarding; open (blocking) while stalled
	// stallIf chooses, by client address, the connections StallWhere holds, also those
	// accepted after it (nil: none).
	stallIf func(client net.Addr) bool
	closed  bool
	wg      sync.WaitGroup
}

// proxyConn is one forwarded connection: the accepted client side and the dialled server side.
type proxyConn struct {
	client, server net.Conn
	once           sync.Once
	done           chan struct{}
	gate           chan struct{} // this connection's own stall (StallWhere); guarded by Proxy.mu
}

func (c *proxyConn) close() {
	c.once.Do(func() {
		close(c.done)
		c.client.Close()
		c.server.Close()
	})
}

// ListenProxy starts a proxy on a free loopback port forwarding to target (host:port).
func ListenProxy(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: target, addr: ln.Addr().String(), conns: map[*proxyConn]struct{}{}, gate: make(chan struct{})}
	close(p.gate)
	p.serve(ln)
	return p, nil
}

// StartProxy is ListenProxy for a test: it fails the test on error and closes the proxy in
// the test's cleanup.
func StartProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := ListenProxy(target)
	if err != nil {
		t.Fatalf("proxy to %s: %v", target, err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// Addr is the proxy's address (127.0.0.1:port); it stays the same across Cut and Restore.
func (p *Proxy) Addr() string { return p.addr }

// Target is the address the proxy forwards to.
func (p *Proxy) Target() string { return p.target }

// Conns returns how many connections are open through the proxy.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Cut closes every forwarded connection and the listening port: new connections are refused
// until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.close()
		delete(p.conns, c)
	}
}

// Stall stops forwarding without closing anything: connections stay open (new ones are
// accepted too) but no byte passes in either direction until Restore.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.gate:
		p.gate = make(chan struct{})
	default: // already stalled
	}
}

// StallWhere stalls, as Stall does, only the connections whose client end (the address the
// proxied client dialled from, its net.Conn's LocalAddr) f accepts: those open now and those
// accepted later, until Restore. It returns how many open connections it stalled.
func (p *Proxy) StallWhere(f func(client net.Addr) bool) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stallIf = f
	n := 0
	for c := range p.conns {
		if f(c.client.RemoteAddr()) {
			stallGate(&c.gate)
			n++
		}
	}
	return n
}

// stallGate makes a forwarding (closed) gate block (p.mu held).
func stallGate(g *chan struct{}) {
	select {
	case <-*g:
		*g = make(chan struct{})
	default: // already stalled
	}
}

// Restore ends a Cut (listening again on the same address) or a Stall or StallWhere
// (forwarding what was held). It fails only when the address cannot be listened on again.
func (p *Proxy) Restore() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("proxy closed")
	}
	select {
	case <-p.gate:
	default:
		close(p.gate)
	}
	p.stallIf = nil
	for c := range p.conns {
		select {
		case <-c.gate:
		default:
			close(c.gate)
		}
	}
	if p.ln != nil {
		return nil
	}
	var err error
	// The port was ours a moment ago; a client's late SYN may still be in flight, so allow
	// a few tries before giving up.
	for range 50 {
		var ln net.Listener
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.serve(ln)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("proxy: listen again on %s: %w", p.addr, err)
}

// Close stops the proxy, closing every connection, and waits for its goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.Cut()
	p.wg.Wait()
	return nil
}

// serve starts the accept loop on ln (p.mu held, or before p is shared).
func (p *Proxy) serve(ln net.Listener) {
	p.ln = ln
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed by Cut or Close
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.forward(ln, c)
			}()
		}
	}()
}

// forward dials the target for the accepted client and copies both ways until either side
// ends or the proxy cuts the connection.
func (p *Proxy) forward(ln net.Listener, client net.Conn) {
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		client.Close()
		return
	}
	c := &proxyConn{client: client, server: server, done: make(chan struct{}), gate: make(chan struct{})}
	p.mu.Lock()
	if p.ln != ln { // cut while dialling
		p.mu.Unlock()
		c.close()
		return
	}
	if p.stallIf == nil || !p.stallIf(client.RemoteAddr()) {
		close(c.gate)
	}
	p.conns[c] = struct{}{}
	p.mu.Unlock()
	var both sync.WaitGroup
	both.Add(2)
	go func() { defer both.Done(); p.copy(c, server, client) }()
	go func() { defer both.Done(); p.copy(c, client, server) }()
	both.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// copy forwards src to dst, holding each chunk while the proxy is stalled. When either
// direction ends, the whole connection is closed (a half-closed link is not a fault we model).
func (p *Proxy) copy(c *proxyConn, dst, src net.Conn) {
	defer c.close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			gate, own := p.gate, c.gate
			p.mu.Unlock()
			for _, g := range []chan struct{}{gate, own} {
				select {
				case <-g:
				case <-c.done:
					return
				}
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil { // EOF, a reset by either peer, or closed by Cut
			return
		}
	}
}
