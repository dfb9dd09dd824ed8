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
// Decode delimits a tuple but does not check its columns; a TupleReader checks them as it
// reads them, so a row is walked once.
type Tuple []byte

// Column kinds of a Tuple.
const (
	TupleNull      = 'n'
	TupleUnchanged = 'u'
	TupleText      = 't'
	TupleBinary    = 'b'
)

// TupleReader reads the columns of a Tuple in order, without allocating:
//
//	tr := t.Reader()
//	for tr.Next() {
//		kind, data := tr.Column()
//	}
//	if err := tr.Err(); err != nil {
//
// Like a Tuple, the data it returns aliases the message.
type TupleReader struct {
	b    []byte // the columns not read yet
	n, i int
	kind byte
	data []byte
	err  error
}

// Reader returns a reader at t's first column.
func (t Tuple) Reader() TupleReader {
	if len(t) < 2 {
		return TupleReader{err: fmt.Errorf("%w: tuple without a column count", ErrTruncated)}
	}
	return TupleReader{b: t[2:], n: int(binary.BigEndian.Uint16(t))}
}

// Len returns the number of columns the tuple announces (0 when it is too short to say; Err
// then reports it).
func (tr *TupleReader) Len() int { return tr.n }

// Next reads the next column. It returns false after the last one or at a malformed or
// truncated column (Err tells which).
func (tr *TupleReader) Next() bool {
	// The common case, a whole text column, is kept small enough to inline into the
	// caller's loop; everything else takes next.
	if b := tr.b; len(b) >= 5 && b[0] == TupleText && tr.i < tr.n {
		if l := int(binary.BigEndian.Uint32(b[1:])); l <= len(b)-5 {
			tr.data, tr.b = b[5:5+l], b[5+l:]
			tr.kind = TupleText
			tr.i++
			return true
		}
	}
	return tr.next()
}

func (tr *TupleReader) next() bool {
	if tr.i >= tr.n || tr.err != nil {
		return false
	}
	r := reader{b: tr.b}
	switch tr.kind = r.u8(); tr.kind {
	case TupleText, TupleBinary:
		tr.data = r.bytes(int(int32(r.u32())))
	case TupleNull, TupleUnchanged:
		tr.data = nil
	default:
		if !r.bad {
			tr.err = fmt.Errorf("%w: tuple data kind %q in column %d", ErrMalformed, tr.kind, tr.i)
			return false
		}
	}
	if r.bad {
		tr.err = fmt.Errorf("%w: tuple ends in column %d of %d", ErrTruncated, tr.i, tr.n)
		return false
	}
	tr.b = r.b
	tr.i++
	return true
}

// Column returns the kind and the value bytes (nil for TupleNull and TupleUnchanged) of the
// column Next read.
func (tr *TupleReader) Column() (kind byte, data []byte) { return tr.kind, tr.data }

// Err returns why Next stopped early, or nil.
func (tr *TupleReader) Err() error { return tr.err }

// tuple reads a tuple that is followed by more of the message (an UPDATE's old row).
func (r *reader) tuple() (Tuple, error) {
	start := r.b
	tr := Tuple(start).Reader()
	for tr.Next() {
	}
	if err := tr.Err(); err != nil {
		return nil, err
	}
	n := len(start) - len(tr.b)
	r.b = tr.b
	return Tuple(start[:n:n]), nil
}
