package pgoutput

import (
	"encoding/binary"
	"fmt"
)

// Tuple is the TupleData of one row as pgoutput sends it, aliasing the message:
//
//	Int16   number of columns
//	per column:
//	  Byte1   'n' NULL, 'u' unchanged TOASTed value (not sent), 't' text, 'b' binary
//	  Int32   length of the value   ('t' and 'b' only)
//	  ByteN   the value             ('t' and 'b' only)
//
// For example the row (42, NULL) in text format is
//
//	00 02  74 00 00 00 02 34 32  6e
//	 2 col  't' len 2     "42"   'n'
//
// Parse and Decode delimit a tuple but check its columns only where they must walk them to
// find its end (an UPDATE's old tuple); Columns checks them as it reads them, so a row is
// walked once.
type Tuple []byte

// Column kinds of a Tuple.
const (
	TupleNull      = 'n'
	TupleUnchanged = 'u'
	TupleText      = 't'
	TupleBinary    = 'b'
)

// TupleColumn is one column of a Tuple: its kind and where its value lies in the tuple.
//
// It holds offsets rather than a slice so that a buffer of columns holds no pointers: storing
// a slice per column into a reused heap buffer paid a GC write barrier per column while the
// collector ran, and the row decode is the hot path of a source.
type TupleColumn struct {
	Kind     byte   // TupleNull, TupleUnchanged, TupleText or TupleBinary
	Off, Len uint32 // the value of a TupleText or TupleBinary column: t[Off:Off+Len]
}

// Value returns the value of c, a column of t, aliasing t (capacity capped so appends copy);
// nil for a NULL or unchanged column.
func (t Tuple) Value(c TupleColumn) []byte {
	if c.Kind != TupleText && c.Kind != TupleBinary {
		return nil
	}
	end := c.Off + c.Len
	return t[c.Off:end:end]
}

// Columns appends t's columns to dst and returns it; with a reused dst it does not allocate.
// On a malformed or truncated tuple it returns the columns read so far and an error.
//
// It returns a slice rather than iterating because the slice costs less: a per-column call
// into this package is not inlined, and the row decode is the hot path of a source.
func (t Tuple) Columns(dst []TupleColumn) ([]TupleColumn, error) {
	if len(t) < 2 {
		return dst, fmt.Errorf("%w: tuple without a column count", ErrTruncated)
	}
	n := int(binary.BigEndian.Uint16(t))
	b := t[2:]
	for i := 0; i < n; i++ {
		if len(b) == 0 {
			return dst, truncatedAt(i, n)
		}
		switch k := b[0]; k {
		case TupleText, TupleBinary:
			if len(b) < 5 {
				return dst, truncatedAt(i, n)
			}
			l := int(binary.BigEndian.Uint32(b[1:]))
			if l > len(b)-5 {
				return dst, truncatedAt(i, n)
			}
			off := uint32(len(t) - len(b) + 5)
			dst = append(dst, TupleColumn{Kind: k, Off: off, Len: uint32(l)})
			b = b[5+l:]
		case TupleNull, TupleUnchanged:
			dst = append(dst, TupleColumn{Kind: k})
			b = b[1:]
		default:
			return dst, fmt.Errorf("%w: tuple data kind %q in column %d", ErrMalformed, k, i)
		}
	}
	return dst, nil
}

func truncatedAt(i, n int) error {
	return fmt.Errorf("%w: tuple ends in column %d of %d", ErrTruncated, i, n)
}

// tuple reads a tuple that is followed by more of the message (an UPDATE's old row),
// checking its columns only as far as needed to find its end.
func (r *reader) tuple() (Tuple, error) {
	start := r.b
	n := int(r.u16())
	for i := 0; i < n && !r.bad; i++ {
		switch k := r.u8(); k {
		case TupleText, TupleBinary:
			r.bytes(int(int32(r.u32())))
		case TupleNull, TupleUnchanged:
		default:
			if !r.bad {
				return nil, fmt.Errorf("%w: tuple data kind %q in column %d", ErrMalformed, k, i)
			}
		}
	}
	if r.bad {
		return nil, nil
	}
	used := len(start) - len(r.b)
	return Tuple(start[:used:used]), nil
}
