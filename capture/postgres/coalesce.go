package postgres

import (
	"io"
	"time"
)

// coalescer sits between the replication connection's socket and pgproto3's chunk reader and
// decides how often the receive loop reads the socket.
//
// The walsender sends (and flushes) every pgoutput message on its own, so a reader that keeps
// up wakes once per row or few rows: a read syscall, a netpoll park, a goroutine wake-up and,
// on an otherwise idle core, a futex and epoll round for ~170 bytes. On a virtual machine that
// costs sluice more CPU per row than decoding the row. Inside a large transaction nothing can
// be delivered sooner than its commit allows anyway, so there the reader waits a moment
// (bulkPause) whenever it has drained the socket, letting the kernel buffer collect the next
// few hundred messages, and then takes them with one read into its own 64 KiB buffer (pgproto3
// reads 8 KiB at a time). Small transactions (the latency path) never pause: bulk is only set
// after bulkAfter messages of one transaction, and cleared at its commit.
//
// It is used by the receive goroutine only (pgconn reads from the goroutine that calls
// ReceiveMessage, and the receive goroutine owns the replication connection).
type coalescer struct {
	r      io.Reader
	buf    []byte
	rp, wp int
	err    error // from the read that filled buf; returned once buf is drained

	bulk  bool          // set by the receive loop: pause when the socket was drained
	pause time.Duration // how long (Go's timers make anything under ~1 ms take ~1 ms)
	short bool          // the last read left the socket drained (returned less than buf/2)
	sleep func(time.Duration)
}

const (
	bulkAfter      = 256 // messages of one transaction before reads start to pause
	bulkPause      = 2 * time.Millisecond
	coalescerBytes = 64 << 10
)

func newCoalescer(r io.Reader) *coalescer {
	return &coalescer{r: r, buf: make([]byte, coalescerBytes), pause: bulkPause, sleep: time.Sleep}
}

func (c *coalescer) Read(p []byte) (int, error) {
	if c.rp == c.wp {
		if c.err != nil {
			err := c.err
			c.err = nil
			return 0, err
		}
		if len(p) >= len(c.buf) {
			n, err := c.r.Read(p) // as large as ours: no point in copying
			c.short = n < len(p)/2
			return n, err
		}
		if c.bulk && c.short && c.pause > 0 {
			c.sleep(c.pause)
		}
		n, err := c.r.Read(c.buf)
		c.short = n < len(c.buf)/2
		c.rp, c.wp = 0, n
		if n == 0 {
			return 0, err
		}
		c.err = err
	}
	n := copy(p, c.buf[c.rp:c.wp])
	c.rp += n
	return n, nil
}
