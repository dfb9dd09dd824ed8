package replication

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
)

// maxPayload is the largest payload of one protocol packet; a payload of exactly this length
// is continued in the next packet.
const maxPayload = 1<<24 - 1

// maxMessage bounds a reassembled payload: 1 GiB is the largest max_allowed_packet (and so the
// largest event) either server allows; beyond it the stream is corrupt or hostile.
const maxMessage = 1 << 30

var errTooLarge = errors.New("a message larger than 1 GiB (max_allowed_packet's limit); the stream is corrupt")

// packetReader reads protocol packets from a buffered stream. A payload that fits in the
// buffer is returned as a slice of the buffer itself (no copy) and consumed at the next call;
// larger or multi-packet payloads are assembled in a reused buffer. Either way the returned
// slice is valid only until the next call.
type packetReader struct {
	br      *bufio.Reader
	pending int    // bytes of the last payload still in br, skipped at the next call
	big     []byte // reassembly buffer, reused
	seq     uint8  // sequence id expected next
}

func newPacketReader(r io.Reader, size int) *packetReader {
	return &packetReader{br: bufio.NewReaderSize(r, size)}
}

// next returns the next logical payload.
func (p *packetReader) next() ([]byte, error) {
	if p.pending > 0 {
		if _, err := p.br.Discard(p.pending); err != nil {
			return nil, err
		}
		p.pending = 0
	}
	n, err := p.header()
	if err != nil {
		return nil, err
	}
	if n < maxPayload && n <= p.br.Size() {
		b, err := p.br.Peek(n)
		if err != nil {
			return nil, unexpected(err)
		}
		p.pending = n
		return b, nil
	}
	// Large payload: copy it out, packet after packet.
	p.big = p.big[:0]
	for {
		if len(p.big)+n > maxMessage {
			return nil, errTooLarge
		}
		p.big = grow(p.big, n)
		if _, err := io.ReadFull(p.br, p.big[len(p.big)-n:]); err != nil {
			return nil, unexpected(err)
		}
		if n < maxPayload {
			return p.big, nil
		}
		if n, err = p.header(); err != nil {
			return nil, unexpected(err)
		}
	}
}

// header reads one 4-byte packet header and returns the payload length.
func (p *packetReader) header() (int, error) {
	h, err := p.br.Peek(4)
	if err != nil {
		if len(h) > 0 {
			err = unexpected(err)
		}
		return 0, err
	}
	n := int(h[0]) | int(h[1])<<8 | int(h[2])<<16
	p.seq = h[3] + 1
	_, _ = p.br.Discard(4)
	return n, nil
}

// grow extends b by n bytes, reallocating with headroom when needed.
func grow(b []byte, n int) []byte {
	l := len(b)
	if cap(b)-l < n {
		nb := make([]byte, l, 2*cap(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:l+n]
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// packetWriter frames payloads. Callers build the payload after 4 reserved bytes (see
// start) so that small packets go out in one write without copying.
type packetWriter struct {
	w   io.Writer
	buf []byte
}

// start returns the reused buffer holding 4 reserved header bytes, to append a payload to.
func (p *packetWriter) start() []byte {
	if cap(p.buf) < 256 {
		p.buf = make([]byte, 4, 256)
	}
	return p.buf[:4]
}

// write sends b (4 header bytes + payload) with sequence id seq, splitting payloads of 16 MiB
// or more. It returns the next sequence id.
func (p *packetWriter) write(b []byte, seq uint8) (uint8, error) {
	p.buf = b[:0]
	payload := b[4:]
	if len(payload) < maxPayload {
		putHeader(b, len(payload), seq)
		_, err := p.w.Write(b)
		return seq + 1, err
	}
	var h [4]byte
	for {
		n := min(len(payload), maxPayload)
		putHeader(h[:], n, seq)
		seq++
		if _, err := p.w.Write(h[:]); err != nil {
			return seq, err
		}
		if _, err := p.w.Write(payload[:n]); err != nil {
			return seq, err
		}
		payload = payload[n:]
		if n < maxPayload {
			return seq, nil
		}
	}
}

func putHeader(h []byte, n int, seq uint8) {
	h[0], h[1], h[2], h[3] = byte(n), byte(n>>8), byte(n>>16), seq
}

// Little-endian and length-encoded helpers for building packets.

func appendU16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }
func appendU32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }
func appendU64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

func appendLenenc(b []byte, v uint64) []byte {
	switch {
	case v < 251:
		return append(b, byte(v))
	case v < 1<<16:
		return append(b, 0xfc, byte(v), byte(v>>8))
	case v < 1<<24:
		return append(b, 0xfd, byte(v), byte(v>>8), byte(v>>16))
	}
	return appendU64(append(b, 0xfe), v)
}

// cursor is a sticky-error reader over a packet payload: reads past the end return zero
// values and set bad.
type cursor struct {
	b   []byte
	off int
	bad bool
}

func (c *cursor) rem() int { return len(c.b) - c.off }

func (c *cursor) bytes(n int) []byte {
	if n < 0 || c.rem() < n {
		c.bad = true
		c.off = len(c.b)
		return nil
	}
	v := c.b[c.off : c.off+n]
	c.off += n
	return v
}

func (c *cursor) u8() uint8 {
	if b := c.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (c *cursor) u16() uint16 {
	if b := c.bytes(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (c *cursor) u32() uint32 {
	if b := c.bytes(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

// nulString reads up to a NUL byte (consumed) or, with no NUL, to the end.
func (c *cursor) nulString() []byte {
	rest := c.b[c.off:]
	for i, x := range rest {
		if x == 0 {
			c.off += i + 1
			return rest[:i]
		}
	}
	c.off = len(c.b)
	return rest
}

// lenenc reads a length-encoded integer; null reports the 0xfb NULL marker.
func (c *cursor) lenenc() (v uint64, null bool) {
	switch x := c.u8(); x {
	case 0xfb:
		return 0, true
	case 0xfc:
		return uint64(c.u16()), false
	case 0xfd:
		b := c.bytes(3)
		if b == nil {
			return 0, false
		}
		return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16, false
	case 0xfe:
		if b := c.bytes(8); b != nil {
			return binary.LittleEndian.Uint64(b), false
		}
		return 0, false
	case 0xff:
		c.bad = true
		return 0, false
	default:
		return uint64(x), false
	}
}

// lenencBytes reads a length-encoded string; nil with null=true for NULL.
func (c *cursor) lenencBytes() (b []byte, null bool) {
	n, null := c.lenenc()
	if null {
		return nil, true
	}
	if n > uint64(c.rem()) {
		c.bad = true
		c.off = len(c.b)
		return nil, false
	}
	return c.bytes(int(n)), false
}
