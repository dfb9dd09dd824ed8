package main

import (
	"io"
	"net"
	"sync"
	"time"
)

// proxy is a loopback TCP proxy between sluice and one server. The harness cuts it (every open
// connection closed, new ones refused) or stalls it (bytes held, connections kept open, as a
// black-holed network does) to test the link without touching the server.
type proxy struct {
	ln       net.Listener
	upstream string

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	cutTill time.Time
	stall   chan struct{} // closed while traffic flows; replaced by an open one during a stall
}

func newProxy(upstream string) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, upstream: upstream, conns: map[net.Conn]struct{}{}, stall: make(chan struct{})}
	close(p.stall)
	go p.serve()
	return p, nil
}

// Addr is the address sluice connects to instead of the server's.
func (p *proxy) Addr() string { return p.ln.Addr().String() }

func (p *proxy) Close() { p.ln.Close(); p.closeAll() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		cut := time.Now().Before(p.cutTill)
		p.mu.Unlock()
		if cut {
			c.Close() // refused: the client sees a reset/EOF at once
			continue
		}
		go p.pipe(c)
	}
}

func (p *proxy) pipe(c net.Conn) {
	u, err := net.DialTimeout("tcp", p.upstream, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns[c], p.conns[u] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { p.copy(u, c); done <- struct{}{} }()
	go func() { p.copy(c, u); done <- struct{}{} }()
	<-done
	c.Close()
	u.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, u)
	p.mu.Unlock()
}

// copy forwards src to dst; while the proxy is stalled it holds what it read, so the peers'
// socket buffers fill and both ends block, with no error, until the stall ends.
func (p *proxy) copy(dst io.Writer, src io.Reader) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			gate := p.stall
			p.mu.Unlock()
			<-gate
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *proxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

// Cut closes every connection and refuses new ones for d.
func (p *proxy) Cut(d time.Duration) {
	p.mu.Lock()
	p.cutTill = time.Now().Add(d)
	p.mu.Unlock()
	p.closeAll()
}

// Stall holds all traffic for d; connections stay open.
func (p *proxy) Stall(d time.Duration) {
	p.mu.Lock()
	gate := make(chan struct{})
	p.stall = gate
	p.mu.Unlock()
	time.AfterFunc(d, func() {
		p.mu.Lock()
		close(gate)
		p.stall = closedChan
		p.mu.Unlock()
	})
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()
