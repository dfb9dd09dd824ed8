package postgres

import (
	"encoding/binary"
	"fmt"

	"github.com/sluicecdc/sluice/capture"
)

// reader is a sticky-error reader over one pgoutput message: reads past the end return zero
// values and mark it bad; callers check ok once.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) u8() byte {
	if len(r.b) < 1 {
		r.bad = true
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) u16() uint16 {
	if len(r.b) < 2 {
		r.bad = true
		r.b = nil
		return 0
	}
	v := binary.BigEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *reader) u32() uint32 {
	if len(r.b) < 4 {
		r.bad = true
		r.b = nil
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) u64() uint64 {
	if len(r.b) < 8 {
		r.bad = true
		r.b = nil
		return 0
	}
	v := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

// cstr reads a NUL-terminated string (aliasing the message).
func (r *reader) cstr() []byte {
	for i, c := range r.b {
		if c == 0 {
			s := r.b[:i]
			r.b = r.b[i+1:]
			return s
		}
	}
	r.bad = true
	r.b = nil
	return nil
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || len(r.b) < n {
		r.bad = true
		r.b = nil
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// pgEpochMicros is 2000-01-01 in µs since the Unix epoch.
const pgEpochMicros = 946684800000000

// Message types of the pgoutput protocol (PostgreSQL docs, "Logical Replication Message Formats").
const (
	msgBegin        = 'B'
	msgCommit       = 'C'
	msgOrigin       = 'O'
	msgRelation     = 'R'
	msgType         = 'Y'
	msgInsert       = 'I'
	msgUpdate       = 'U'
	msgDelete       = 'D'
	msgTruncate     = 'T'
	msgMessage      = 'M'
	msgStreamStart  = 'S'
	msgStreamStop   = 'E'
	msgStreamCommit = 'c'
	msgStreamAbort  = 'A'
)

// relColumn is one column of a Relation message.
type relColumn struct {
	flags  byte // 1 = part of the replica identity
	name   string
	typOID uint32
	typmod int32
}

// relationMsg is a decoded Relation message.
type relationMsg struct {
	id        uint32
	namespace string
	name      string
	identity  byte // d(efault), n(othing), f(ull), i(ndex)
	columns   []relColumn
}

func parseRelation(r *reader) (relationMsg, error) {
	var m relationMsg
	m.id = r.u32()
	m.namespace = string(r.cstr())
	m.name = string(r.cstr())
	m.identity = r.u8()
	n := int(r.u16())
	if r.bad || n > 1664 {
		return m, fmt.Errorf("relation message: truncated or %d columns", n)
	}
	m.columns = make([]relColumn, n)
	for i := range m.columns {
		c := &m.columns[i]
		c.flags = r.u8()
		c.name = string(r.cstr())
		c.typOID = r.u32()
		c.typmod = int32(r.u32())
	}
	if r.bad {
		return m, fmt.Errorf("relation message %d: truncated", m.id)
	}
	return m, nil
}

// decodeTuple decodes TupleData into a Row of the relation's current table version. Values
// alias r's buffer (text values are decoded in place where the kind needs it).
func (rel *relation) decodeTuple(r *reader, slab *rowSlab) (capture.Row, error) {
	n := int(r.u16())
	if r.bad {
		return nil, fmt.Errorf("tuple of %s: truncated", rel.table.ID)
	}
	if n != len(rel.decs) {
		return nil, fmt.Errorf("tuple of %s has %d columns, relation has %d", rel.table.ID, n, len(rel.decs))
	}
	row := slab.get(len(rel.table.Columns))
	for i := 0; i < n; i++ {
		kind := r.u8()
		var data []byte
		switch kind {
		case 'n':
			continue
		case 'u':
			if o := rel.out[i]; o >= 0 {
				row[o] = capture.Value{Kind: capture.Unavailable}
			}
			continue
		case 't':
			l := int(int32(r.u32()))
			data = r.bytes(l)
		case 'b':
			return nil, fmt.Errorf("column %d of %s: binary tuple data not requested", i, rel.table.ID)
		default:
			return nil, fmt.Errorf("column %d of %s: unknown tuple data kind %q", i, rel.table.ID, kind)
		}
		if r.bad {
			return nil, fmt.Errorf("tuple of %s: truncated at column %d", rel.table.ID, i)
		}
		o := rel.out[i]
		if o < 0 {
			continue
		}
		v, err := rel.decs[i].decode(data)
		if err != nil {
			return nil, fmt.Errorf("column %s.%s (%s) value %q: %w", rel.table.ID, rel.table.Columns[o].Name, rel.table.Columns[o].TypeExpr, data, err)
		}
		row[o] = v
	}
	return row, nil
}
