package replication

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// memConn is a net.Conn reading a fixed byte stream (cyclically when loop is set) and
// discarding writes.
type memConn struct {
	data []byte
	off  int
	loop bool
}

func (m *memConn) Read(p []byte) (int, error) {
	if m.off == len(m.data) {
		if !m.loop {
			return 0, io.EOF
		}
		m.off = 0
	}
	n := copy(p, m.data[m.off:])
	m.off += n
	return n, nil
}
func (m *memConn) Write(p []byte) (int, error)      { return len(p), nil }
func (m *memConn) Close() error                     { return nil }
func (m *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (m *memConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (m *memConn) SetDeadline(time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(time.Time) error { return nil }

// dumpConn returns a Conn in the dumping state over nc.
func dumpConn(nc net.Conn, bufSize int) *Conn {
	c := &Conn{cfg: Config{User: "u"}, addr: "test", log: (&Config{}).logger(), raw: nc, conn: nc, dumping: true}
	c.r = newPacketReader(ioConn{c}, bufSize)
	c.w.w = ioConn{c}
	return c
}

// packets frames payload as protocol packets (splitting at 16 MiB - 1), sequence ids from seq.
func packets(payload []byte, seq uint8) []byte {
	var out []byte
	for {
		n := min(len(payload), maxPayload)
		out = append(out, byte(n), byte(n>>8), byte(n>>16), seq)
		out = append(out, payload[:n]...)
		payload = payload[n:]
		seq++
		if n < maxPayload {
			return out
		}
	}
}

// event builds a binlog event of the given total size: a v4 header and filler body.
func event(typ byte, size int, fill byte) []byte {
	ev := bytes.Repeat([]byte{fill}, size)
	binary.LittleEndian.PutUint32(ev[0:], 1700000000)
	ev[4] = typ
	binary.LittleEndian.PutUint32(ev[5:], 1)
	binary.LittleEndian.PutUint32(ev[9:], uint32(size))
	binary.LittleEndian.PutUint32(ev[13:], 0)
	return ev
}

func okPacket(ev []byte) []byte { return packets(append([]byte{0}, ev...), 1) }

func TestNextStream(t *testing.T) {
	small := event(30, 100, 1)
	exact := event(31, maxPayload-1, 2) // OK byte + event = exactly 16 MiB - 1: an empty packet follows
	huge := event(32, maxPayload+10, 3)
	atBuf := event(33, 4096-1, 4) // OK + event = the buffer size: served from the buffer
	var stream []byte
	for _, ev := range [][]byte{small, exact, small, huge, atBuf, small} {
		stream = append(stream, okPacket(ev)...)
	}
	errPkt := append([]byte{0xff, 0xd4, 0x04}, "#HY000Could not find first log file name in binary log index file"...)
	stream = append(stream, packets(errPkt, 9)...)

	c := dumpConn(&memConn{data: stream}, 4096)
	ctx := context.Background()
	for i, want := range [][]byte{small, exact, small, huge, atBuf, small} {
		got, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("event %d: %d bytes (type %d), want %d bytes (type %d)", i, len(got), got[4], len(want), want[4])
		}
	}
	_, err := c.Next(ctx)
	var se *ServerError
	if !errors.As(err, &se) || se.Code != 1236 || !errors.Is(err, ErrBinlogPurged) || se.State != "HY000" {
		t.Fatalf("got %v (%#v), want the purged-binlog server error", err, se)
	}
	if _, err := c.Next(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("after the error: %v, want ErrClosed", err)
	}
}

func TestNextEOF(t *testing.T) {
	stream := append(okPacket(event(4, 50, 0)), packets([]byte{0xfe, 0, 0, 2, 0}, 2)...)
	c := dumpConn(&memConn{data: stream}, 4096)
	c.cfg.NonBlocking = true
	if _, err := c.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := c.Next(context.Background()); !errors.Is(err, io.EOF) {
			t.Fatalf("got %v, want io.EOF", err)
		}
	}

	// Without NonBlocking the server only ends a dump when it shuts down: retryable.
	c = dumpConn(&memConn{data: stream}, 4096)
	if _, err := c.Next(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := c.Next(context.Background())
	if !capture.Retryable(err) || errors.Is(err, io.EOF) {
		t.Fatalf("got %v, want a retryable error", err)
	}
}

func TestNextServerGone(t *testing.T) {
	stream := okPacket(event(4, 50, 0))
	c := dumpConn(&memConn{data: stream[:len(stream)-10]}, 4096)
	_, err := c.Next(context.Background())
	var ne *NetError
	if !errors.As(err, &ne) || !errors.Is(err, io.ErrUnexpectedEOF) || !capture.Retryable(err) {
		t.Fatalf("got %v, want a retryable *NetError wrapping io.ErrUnexpectedEOF", err)
	}
}

// TestNextCancelPipe: a Next blocked on a silent server returns the context's error.
func TestNextCancelPipe(t *testing.T) {
	client, server := net.Pipe()
	defer func() { _ = server.Close() }()
	blocked := &readSignal{Conn: client, entered: make(chan struct{})}
	c := dumpConn(blocked, 4096)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := c.Next(ctx)
		done <- err
	}()
	<-blocked.entered
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if _, err := c.Next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("after cancel: %v, want ErrClosed", err)
	}
}

// readSignal closes entered when a Read starts.
type readSignal struct {
	net.Conn
	entered chan struct{}
	once    bool
}

func (r *readSignal) Read(p []byte) (int, error) {
	if !r.once {
		r.once = true
		close(r.entered)
	}
	return r.Conn.Read(p)
}

// TestCloseInterruptsNext: Close from another goroutine ends a blocked Next with ErrClosed.
func TestCloseInterruptsNext(t *testing.T) {
	client, server := net.Pipe()
	defer func() { _ = server.Close() }()
	blocked := &readSignal{Conn: client, entered: make(chan struct{})}
	c := dumpConn(blocked, 4096)
	done := make(chan error)
	go func() {
		_, err := c.Next(context.Background())
		done <- err
	}()
	<-blocked.entered
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v, want ErrClosed", err)
	}
}

// TestNextReadTimeout: silence longer than the read timeout is a retryable error.
func TestNextReadTimeout(t *testing.T) {
	client, server := net.Pipe()
	defer func() { _ = server.Close() }()
	c := dumpConn(client, 4096)
	c.timeout = 20 * time.Millisecond
	_, err := c.Next(context.Background())
	var ne *NetError
	if !errors.As(err, &ne) || !ne.Retryable() {
		t.Fatalf("got %v, want a retryable *NetError", err)
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		op   string
		code uint16
		msg  string
		want error
	}{
		{"connect", 1045, "Access denied for user 'x'@'h' (using password: YES)", ErrAccessDenied},
		{"register replica (COM_REGISTER_SLAVE)", 1045, "Access denied for user", ErrMissingPrivilege},
		{"query SHOW BINARY LOG STATUS", 1227, "Access denied; you need (at least one of) the SUPER, REPLICATION CLIENT privilege(s)", ErrMissingPrivilege},
		{"binlog dump", 1236, "Could not find first log file name in binary log index file", ErrBinlogPurged},
		{"binlog dump", 1236, "Cannot replicate because the source purged required binary logs.", ErrBinlogPurged},
		{"binlog dump", 1236, "Could not find GTID state requested by slave in any binlog files. Probably the slave state is too old and required binlog files have been purged.", ErrBinlogPurged},
		{"binlog dump", 1236, "A replica with the same server_uuid/server_id as this replica has connected to the source", ErrServerIDConflict},
		{"binlog dump", 4052, "A slave with the same server_uuid/server_id is already connected", ErrServerIDConflict},
		{"binlog dump", 1236, "Replica has more GTIDs than the source has, using the source's SERVER_UUID.", ErrInvalidPosition},
		{"binlog dump", 1236, "Error: connecting slave requested to start from GTID 0-1-9, which is not in the master's binlog", ErrInvalidPosition},
		// MySQL < 8.3 sent a tagged GTID set (an offset from a newer server): not worth retrying.
		{"binlog dump (COM_BINLOG_DUMP_GTID)", 1773, "Malformed GTID set encoding.", ErrInvalidPosition},
		{"query SELECT 1", 1064, "You have an error in your SQL syntax", nil},
	} {
		e := &ServerError{Op: tc.op, Code: tc.code, Message: tc.msg}
		e.classify("u", FlavorMySQL)
		if tc.want != nil && !errors.Is(e, tc.want) || tc.want == nil && e.Unwrap() != nil {
			t.Errorf("%d %q: classified %v, want %v", tc.code, tc.msg, e.Unwrap(), tc.want)
		}
		if tc.want != nil && e.Hint == "" {
			t.Errorf("%d %q: no hint", tc.code, tc.msg)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	err := (&Config{}).Validate()
	for _, want := range []string{"Addr", "User", "ServerID"} {
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(want)) {
			t.Errorf("Validate of an empty config: %v, want it to name %s", err, want)
		}
	}
	if err := (&Config{Addr: "h:1", User: "u", ServerID: 7}).Validate(); err != nil {
		t.Error(err)
	}
	for s, want := range map[string]TLSMode{"disable": TLSDisable, "DISABLED": TLSDisable, "preferred": TLSPreferred,
		"required": TLSRequired, "verify-ca": TLSVerifyCA, "VERIFY_CA": TLSVerifyCA, "verify-full": TLSVerifyFull,
		"VERIFY_IDENTITY": TLSVerifyFull} {
		if got, err := ParseTLSMode(s); err != nil || got != want {
			t.Errorf("ParseTLSMode(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseTLSMode("on"); err == nil {
		t.Error("ParseTLSMode(on) accepted")
	}
}

// BenchmarkNext measures the client's per-event overhead on an in-memory stream of 8 KiB rows
// events (the typical size), without the kernel.
func BenchmarkNext(b *testing.B) {
	var stream []byte
	for range 64 {
		stream = append(stream, okPacket(event(30, 8192, 7))...)
	}
	c := dumpConn(&memConn{data: stream, loop: true}, defaultReadBuffer)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.SetBytes(8192)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Next(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzPacketReader(f *testing.F) {
	f.Add(okPacket(event(4, 40, 1)))
	f.Add([]byte{0xff, 0xff, 0xff, 0, 1, 2, 3})
	f.Add(packets([]byte{0xff, 1, 2, '#'}, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := dumpConn(&memConn{data: data}, 4096)
		for range 100 {
			if _, err := c.Next(context.Background()); err != nil {
				return
			}
		}
	})
}
