package main

import (
	"io"
	"net"
	"testing"
	"time"
)

// echoServer echoes every connection back.
func echoServer(t *testing.T) string {
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
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(c net.Conn, deadline time.Duration) error {
	c.SetDeadline(time.Now().Add(deadline))
	if _, err := c.Write([]byte("ping")); err != nil {
		return err
	}
	buf := make([]byte, 4)
	_, err := io.ReadFull(c, buf)
	return err
}

func TestProxyCutAndStall(t *testing.T) {
	p, err := newProxy(echoServer(t))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := roundTrip(c, 2*time.Second); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}

	// A stall holds the bytes without an error, then lets them through.
	p.Stall(300 * time.Millisecond)
	if err := roundTrip(c, 100*time.Millisecond); err == nil {
		t.Fatal("round trip during a stall succeeded")
	}
	time.Sleep(300 * time.Millisecond)
	c.SetDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("after the stall: %q, %v", buf, err)
	}

	// A cut closes the connection and refuses new ones until it ends.
	p.Cut(300 * time.Millisecond)
	if err := roundTrip(c, time.Second); err == nil {
		t.Fatal("round trip over a cut connection succeeded")
	}
	if c2, err := net.Dial("tcp", p.Addr()); err == nil {
		if roundTrip(c2, 200*time.Millisecond) == nil {
			t.Fatal("a new connection during the cut worked")
		}
		c2.Close()
	}
	time.Sleep(300 * time.Millisecond)
	c3, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	if err := roundTrip(c3, 2*time.Second); err != nil {
		t.Fatalf("after the cut: %v", err)
	}
}
