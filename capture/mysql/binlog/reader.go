package binlog

import (
	"encoding/binary"
	"math"
)

// reader is a sticky-error little-endian reader over a byte slice: a read past the end returns
// zero values, sets bad and leaves the position at the end, so callers check once at the end.
type reader struct {
	b   []byte
	off int
	bad bool
}

func (r *reader) rem() int { return len(r.b) - r.off }

func (r *reader) fail() {
	r.bad = true
	r.off = len(r.b)
}

// bytes returns the next n bytes (aliasing the input) or nil after marking bad.
func (r *reader) bytes(n int) []byte {
	if n < 0 || n > len(r.b)-r.off {
		r.fail()
		return nil
	}
	s := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return s
}

func (r *reader) skip(n int) {
	if n < 0 || n > len(r.b)-r.off {
		r.fail()
		return
	}
	r.off += n
}

func (r *reader) rest() []byte {
	s := r.b[r.off:]
	r.off = len(r.b)
	return s
}

func (r *reader) u8() uint8 {
	if r.off >= len(r.b) {
		r.fail()
		return 0
	}
	v := r.b[r.off]
	r.off++
	return v
}

func (r *reader) u16() uint16 {
	if len(r.b)-r.off < 2 {
		r.fail()
		return 0
	}
	v := binary.LittleEndian.Uint16(r.b[r.off:])
	r.off += 2
	return v
}

func (r *reader) u24() uint32 {
	if len(r.b)-r.off < 3 {
		r.fail()
		return 0
	}
	b := r.b[r.off:]
	r.off += 3
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16
}

func (r *reader) u32() uint32 {
	if len(r.b)-r.off < 4 {
		r.fail()
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v
}

func (r *reader) u48() uint64 {
	if len(r.b)-r.off < 6 {
		r.fail()
		return 0
	}
	b := r.b[r.off:]
	r.off += 6
	return uint64(binary.LittleEndian.Uint32(b)) | uint64(binary.LittleEndian.Uint16(b[4:]))<<32
}

func (r *reader) u64() uint64 {
	if len(r.b)-r.off < 8 {
		r.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b[r.off:])
	r.off += 8
	return v
}

// uintN reads an n-byte (0–8) little-endian unsigned integer.
func (r *reader) uintN(n int) uint64 {
	if n < 0 || n > 8 || len(r.b)-r.off < n {
		r.fail()
		return 0
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(r.b[r.off+i])
	}
	r.off += n
	return v
}

// beN reads an n-byte (0–8) big-endian unsigned integer.
func (r *reader) beN(n int) uint64 {
	if n < 0 || n > 8 || len(r.b)-r.off < n {
		r.fail()
		return 0
	}
	var v uint64
	for _, c := range r.b[r.off : r.off+n] {
		v = v<<8 | uint64(c)
	}
	r.off += n
	return v
}

func (r *reader) f32() float32 { return math.Float32frombits(r.u32()) }
func (r *reader) f64() float64 { return math.Float64frombits(r.u64()) }

// lenenc reads a length-encoded integer (net_field_length): <0xfb one byte, 0xfc 2 bytes,
// 0xfd 3 bytes, 0xfe 8 bytes. 0xfb (NULL) and 0xff read as 0 and mark bad.
func (r *reader) lenenc() uint64 {
	c := r.u8()
	switch {
	case c < 0xfb:
		return uint64(c)
	case c == 0xfc:
		return uint64(r.u16())
	case c == 0xfd:
		return uint64(r.u24())
	case c == 0xfe:
		return r.u64()
	}
	r.fail()
	return 0
}

// lenencInt reads a length-encoded integer bounded to a non-negative int count; larger values
// mark the reader bad (no count in an event can exceed its length).
func (r *reader) lenencInt() int {
	v := r.lenenc()
	if v > uint64(r.rem()) {
		r.fail()
		return 0
	}
	return int(v)
}

// lenencBytes reads a length-encoded byte string.
func (r *reader) lenencBytes() []byte { return r.bytes(r.lenencInt()) }

// varUint reads an unsigned integer of MySQL's serialization library (tagged GTIDs): the
// number of trailing one bits of the first byte plus one is the byte count (1–8), the value
// is the little-endian integer of those bytes shifted right by the count; a first byte 0xff
// is followed by the 8-byte value.
func (r *reader) varUint() uint64 {
	c := r.u8()
	if r.bad {
		return 0
	}
	if c == 0xff {
		return r.u64()
	}
	n := 1
	for c&(1<<(n-1)) != 0 {
		n++
	}
	r.off--
	return r.uintN(n) >> n
}

// varInt reads a zig-zag signed integer of the serialization library.
func (r *reader) varInt() int64 {
	u := r.varUint()
	if u&1 != 0 {
		return -int64(u>>1) - 1
	}
	return int64(u >> 1)
}
