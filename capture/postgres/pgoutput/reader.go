package pgoutput

import "encoding/binary"

// reader is a sticky-error big-endian reader over one message: a read past the end returns a
// zero value, marks the reader bad and empties it, so a decoder checks once at the end
// (the shape of franz-go's kbin.Reader).
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) fail() {
	r.bad = true
	r.b = nil
}

func (r *reader) u8() byte {
	if len(r.b) < 1 {
		r.fail()
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) u16() uint16 {
	if len(r.b) < 2 {
		r.fail()
		return 0
	}
	v := binary.BigEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *reader) u32() uint32 {
	if len(r.b) < 4 {
		r.fail()
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) u64() uint64 {
	if len(r.b) < 8 {
		r.fail()
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *reader) lsn() LSN   { return LSN(r.u64()) }
func (r *reader) time() Time { return Time(int64(r.u64())) }

// cstr reads a NUL-terminated string, aliasing the message.
func (r *reader) cstr() []byte {
	for i, c := range r.b {
		if c == 0 {
			s := r.b[:i:i]
			r.b = r.b[i+1:]
			return s
		}
	}
	r.fail()
	return nil
}

// str reads a NUL-terminated string as a copy.
func (r *reader) str() string { return string(r.cstr()) }

// bytes returns the next n bytes, aliasing the message (capacity capped so appends copy).
func (r *reader) bytes(n int) []byte {
	if n < 0 || len(r.b) < n {
		r.fail()
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// rest returns what is left.
func (r *reader) rest() []byte {
	v := r.b
	r.b = nil
	return v
}
