package testkit

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// echoServer answers every line with the same line, until the test ends.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(t *testing.T, c net.Conn, r *bufio.Reader, msg string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(msg + "\n")); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
	got, err := r.ReadString('\n')
	if err != nil || got != msg+"\n" {
		t.Fatalf("echo of %q: %q, %v", msg, got, err)
	}
}

func TestProxyForwardsCutsStallsRestores(t *testing.T) {
	p := StartProxy(t, echoServer(t))

	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	roundTrip(t, c, r, "hello")
	if n := p.Conns(); n != 1 {
		t.Fatalf("Conns = %d, want 1", n)
	}

	// Stall: the connection stays open, nothing comes back; Restore delivers what was held.
	p.Stall()
	if _, err := c.Write([]byte("held\n")); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := r.ReadString('\n'); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read while stalled: %v, want a timeout", err)
	}
	if err := p.Restore(); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if got, err := r.ReadString('\n'); err != nil || got != "held\n" {
		t.Fatalf("after restore: %q, %v", got, err)
	}
	roundTrip(t, c, r, "again")

	// Cut: the open connection ends and a new dial is refused.
	p.Cut()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.ReadString('\n'); err == nil {
		t.Fatal("read after Cut succeeded")
	}
	if c2, err := net.DialTimeout("tcp", p.Addr(), time.Second); err == nil {
		c2.Close()
		t.Fatal("dial after Cut succeeded")
	}

	// Restore: same address, working again.
	if err := p.Restore(); err != nil {
		t.Fatal(err)
	}
	c3, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	roundTrip(t, c3, bufio.NewReader(c3), "back")
}

func TestProxyCutWhileStalled(t *testing.T) {
	p := StartProxy(t, echoServer(t))
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	roundTrip(t, c, r, "one")
	p.Stall()
	c.Write([]byte("held\n"))
	time.Sleep(50 * time.Millisecond)
	p.Cut() // must not hang on the held chunk
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.ReadString('\n'); err == nil {
		t.Fatal("read after Cut succeeded")
	}
	if err := p.Restore(); err != nil {
		t.Fatal(err)
	}
	c2, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	roundTrip(t, c2, bufio.NewReader(c2), "two")
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if n := p.Conns(); n != 0 {
		t.Fatalf("Conns after Close = %d", n)
	}
}

// TestProxyStallWhere: only the chosen connection (open or accepted later) is held; the
// others go on, and Restore delivers what was held.
func TestProxyStallWhere(t *testing.T) {
	p := StartProxy(t, echoServer(t))
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}
	side, sr := dial()
	main, mr := dial()
	roundTrip(t, side, sr, "a")
	roundTrip(t, main, mr, "b")
	target := side.LocalAddr().String()
	if n := p.StallWhere(func(a net.Addr) bool { return a.String() == target }); n != 1 {
		t.Fatalf("stalled %d connections, want 1", n)
	}
	roundTrip(t, main, mr, "still")
	if _, err := side.Write([]byte("held\n")); err != nil {
		t.Fatal(err)
	}
	side.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := sr.ReadString('\n'); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read of the stalled connection: %v, want a timeout", err)
	}
	// A connection accepted later that f accepts is held from the start.
	p.StallWhere(func(net.Addr) bool { return true })
	late, lr := dial()
	late.Write([]byte("late\n"))
	late.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if _, err := lr.ReadString('\n'); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read of a later stalled connection: %v, want a timeout", err)
	}
	if err := p.Restore(); err != nil {
		t.Fatal(err)
	}
	for _, x := range []struct {
		c   net.Conn
		r   *bufio.Reader
		msg string
	}{{side, sr, "held\n"}, {late, lr, "late\n"}} {
		x.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if got, err := x.r.ReadString('\n'); err != nil || got != x.msg {
			t.Fatalf("after restore: %q, %v; want %q", got, err, x.msg)
		}
	}
	roundTrip(t, main, mr, "end")
}
