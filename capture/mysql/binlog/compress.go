package binlog

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/klauspost/compress/zstd"
)

// Transaction payload compression types.
const (
	PayloadZstd uint64 = 0
	PayloadNone uint64 = 255
)

// TransactionPayload is TRANSACTION_PAYLOAD_EVENT (MySQL 8.0.20+,
// binlog_transaction_compression=ON): a whole transaction's events, compressed. Its inner
// events come from Decoder.NextInPayload.
type TransactionPayload struct {
	CompressionType  uint64
	PayloadSize      uint64
	UncompressedSize uint64
	// Compressed is the compressed payload (aliases the event).
	Compressed []byte

	zd   *zstd.Decoder
	buf  []byte // decompressed events
	off  int
	live bool
}

func (p *TransactionPayload) reset() { p.live, p.off, p.buf = false, 0, p.buf[:0] }

// parse decodes the header fields — (type, length, value) triples with length-encoded
// integers, ended by type 0 — and decompresses the payload.
func (p *TransactionPayload) parse(body []byte, max int) error {
	p.CompressionType, p.PayloadSize, p.UncompressedSize = PayloadNone, 0, 0
	r := reader{b: body}
	for {
		typ := r.lenenc()
		if r.bad {
			return truncated("TRANSACTION_PAYLOAD header")
		}
		if typ == 0 {
			break
		}
		v := fieldUint(r.bytes(r.lenencInt()))
		switch typ {
		case 1:
			p.PayloadSize = v
		case 2:
			p.CompressionType = v
		case 3:
			p.UncompressedSize = v
		}
		if r.bad {
			return truncated("TRANSACTION_PAYLOAD header")
		}
	}
	p.Compressed = r.rest()
	if p.UncompressedSize > uint64(max) {
		return fmt.Errorf("%w: transaction payload of %d bytes exceeds the %d-byte limit", ErrDecompress, p.UncompressedSize, max)
	}
	switch p.CompressionType {
	case PayloadNone:
		p.buf = append(p.buf[:0], p.Compressed...)
	case PayloadZstd:
		if p.zd == nil {
			zd, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(max)))
			if err != nil {
				return fmt.Errorf("%w: %v", ErrDecompress, err)
			}
			p.zd = zd
		}
		// Trust the announced size only so far: a corrupt header must not allocate a GiB.
		if want := min(int(p.UncompressedSize), 16<<20); cap(p.buf) < want {
			p.buf = make([]byte, 0, want)
		}
		out, err := p.zd.DecodeAll(p.Compressed, p.buf[:0])
		if err != nil {
			return fmt.Errorf("%w: zstd: %v", ErrDecompress, err)
		}
		if len(out) > max {
			return fmt.Errorf("%w: transaction payload exceeds %d bytes", ErrDecompress, max)
		}
		p.buf = out
	default:
		return fmt.Errorf("%w: transaction payload compression type %d", ErrUnsupported, p.CompressionType)
	}
	p.off, p.live = 0, true
	return nil
}

// fieldUint reads a payload header value: a length-encoded integer when the field bytes are
// one (the server writes net_store_length), else little-endian.
func fieldUint(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	if (b[0] == 0xfc && len(b) == 3) || (b[0] == 0xfd && len(b) == 4) || (b[0] == 0xfe && len(b) == 9) {
		r := reader{b: b}
		return r.lenenc()
	}
	r := reader{b: b}
	return r.uintN(min(len(b), 8))
}

// next returns the next inner event's bytes.
func (p *TransactionPayload) next() ([]byte, bool, error) {
	if !p.live || p.off >= len(p.buf) {
		return nil, false, nil
	}
	rest := p.buf[p.off:]
	h, err := ParseHeader(rest)
	if err != nil || int(h.EventSize) > len(rest) {
		p.live = false
		return nil, false, fmt.Errorf("%w: inner event at payload offset %d", ErrTruncated, p.off)
	}
	p.off += int(h.EventSize)
	return rest[:h.EventSize], true, nil
}

// inflater decompresses MariaDB's compressed query and rows events.
type inflater struct {
	zr  io.ReadCloser
	src bytes.Reader
}

// mariaDecompress decodes MariaDB's compressed-event layout: one byte 0x80|lenlen (bits 4–6:
// algorithm, 0 = zlib), lenlen (1–4) bytes of uncompressed length big-endian, then a zlib
// stream. It appends the result to dst.
func (z *inflater) mariaDecompress(dst, src []byte, max int) ([]byte, error) {
	if len(src) < 1 || src[0]&0x80 == 0 || (src[0]>>4)&7 != 0 {
		return dst, fmt.Errorf("%w: bad MariaDB compressed header", ErrDecompress)
	}
	ll := int(src[0] & 7)
	if ll < 1 || ll > 4 || len(src) < 1+ll {
		return dst, fmt.Errorf("%w: bad MariaDB compressed length", ErrDecompress)
	}
	var lb [4]byte
	copy(lb[4-ll:], src[1:1+ll])
	n := int(binary.BigEndian.Uint32(lb[:]))
	if n > max {
		return dst, fmt.Errorf("%w: compressed event of %d bytes exceeds the %d-byte limit", ErrDecompress, n, max)
	}
	z.src.Reset(src[1+ll:])
	var err error
	if z.zr == nil {
		z.zr, err = zlib.NewReader(&z.src)
	} else {
		err = z.zr.(zlib.Resetter).Reset(&z.src, nil)
	}
	if err != nil {
		return dst, fmt.Errorf("%w: zlib: %v", ErrDecompress, err)
	}
	// Grow with the data actually inflated, not with the announced length.
	start := len(dst)
	for len(dst)-start < n {
		chunk := min(n-(len(dst)-start), 64<<10)
		dst = slices.Grow(dst, chunk)
		m, err := io.ReadFull(z.zr, dst[len(dst):len(dst)+chunk])
		dst = dst[:len(dst)+m]
		if err != nil {
			return dst[:start], fmt.Errorf("%w: zlib: %v", ErrDecompress, err)
		}
	}
	return dst, nil
}
