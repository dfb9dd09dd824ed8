package binlog

import (
	"fmt"
	"math"

	"golang.org/x/text/encoding"

	"github.com/sluicecdc/sluice/capture"
)

// colPlan is how to decode one column, merged from the TABLE_MAP and the caller's hints once
// per table map.
type colPlan struct {
	typ      ColumnType // real type (STRING resolved to ENUM/SET)
	meta     uint16
	n        int // see buildPlan
	scale    int
	unsigned bool
	binary   bool
	members  []string
	logical  LogicalType
	cs       charsetKind // text columns: how to get UTF-8
	enc      encoding.Encoding
}

// buildPlan returns the decode plan, computing it on first use after SetHints.
//
// n holds: STRING max length (1 or 2 length bytes); VARCHAR max length; ENUM/SET pack length;
// BLOB/TEXT/JSON/GEOMETRY/VECTOR length-prefix size; NEWDECIMAL precision (scale in scale);
// BIT length in bits; TIME2/DATETIME2/TIMESTAMP2 fsp; FLOAT/DOUBLE pack length.
func (t *TableMap) buildPlan() []colPlan {
	if len(t.plan) == len(t.Types) && len(t.Types) > 0 {
		return t.plan
	}
	plan := make([]colPlan, len(t.Types))
	for i, typ := range t.Types {
		p := &plan[i]
		var h ColumnHint
		if i < len(t.hints) {
			h = t.hints[i]
		}
		rt, n := realType(typ, t.Meta[i])
		p.typ, p.meta, p.n = rt, t.Meta[i], n
		switch rt {
		case TypeNewDecimal:
			p.n, p.scale = int(t.Meta[i]>>8), int(t.Meta[i]&0xff)
		case TypeBit:
			p.n = int(t.Meta[i]>>8)*8 + int(t.Meta[i]&0xff)
		case TypeEnum, TypeSet:
			p.n = int(t.Meta[i] & 0xff)
		}
		if t.Unsigned != nil {
			p.unsigned = t.Unsigned[i]
		} else {
			p.unsigned = h.Unsigned
		}
		coll := uint16(0)
		if t.Collations != nil {
			coll = t.Collations[i]
		}
		if coll == 0 {
			coll = h.Collation
		}
		switch rt {
		case TypeBlob, TypeTinyBlob, TypeMediumBlob, TypeLongBlob:
			// Without a collation a BLOB-typed column could be TEXT or BLOB: say bytes.
			p.binary = coll == 0 || coll == BinaryCollation
		default:
			p.binary = coll == BinaryCollation
		}
		if !p.binary {
			p.cs, p.enc = collationCharset(coll)
		}
		if t.Members != nil && t.Members[i] != nil {
			p.members = t.Members[i]
		} else {
			p.members = h.Members
		}
		p.logical = h.Logical
	}
	t.plan = plan
	return plan
}

// decodeValue reads one non-NULL value of column plan p.
func (e *RowsEvent) decodeValue(r *reader, p *colPlan, v *capture.Value) {
	switch p.typ {
	case TypeTiny:
		if p.unsigned {
			*v = capture.Value{Kind: capture.Int, Int: int64(r.u8())}
		} else {
			*v = capture.Value{Kind: capture.Int, Int: int64(int8(r.u8()))}
		}
	case TypeShort:
		if p.unsigned {
			*v = capture.Value{Kind: capture.Int, Int: int64(r.u16())}
		} else {
			*v = capture.Value{Kind: capture.Int, Int: int64(int16(r.u16()))}
		}
	case TypeInt24:
		x := r.u24()
		if p.unsigned {
			*v = capture.Value{Kind: capture.Int, Int: int64(x)}
		} else {
			*v = capture.Value{Kind: capture.Int, Int: int64(int32(x<<8) >> 8)}
		}
	case TypeLong:
		if p.unsigned {
			*v = capture.Value{Kind: capture.Int, Int: int64(r.u32())}
		} else {
			*v = capture.Value{Kind: capture.Int, Int: int64(int32(r.u32()))}
		}
	case TypeLongLong:
		if p.unsigned {
			*v = capture.Value{Kind: capture.Uint, Int: int64(r.u64())}
		} else {
			*v = capture.Value{Kind: capture.Int, Int: int64(r.u64())}
		}
	case TypeFloat:
		f := r.f32()
		*v = capture.Value{Kind: capture.Float32, Int: int64(math.Float64bits(float64(f)))}
	case TypeDouble:
		*v = capture.Value{Kind: capture.Float64, Int: int64(r.u64())}
	case TypeNewDecimal:
		e.decodeDecimalValue(r, p, v)
	case TypeYear:
		y := int64(r.u8())
		if y != 0 {
			y += 1900
		}
		*v = capture.Value{Kind: capture.Int, Int: y}
	case TypeDate, TypeNewDate:
		x := r.u24()
		*v = dateValue(int(x>>9), int(x>>5&15), int(x&31))
	case TypeTime:
		x := int64(int32(r.u24()<<8) >> 8) // HHMMSS, signed
		neg := x < 0
		if neg {
			x = -x
		}
		us := ((x/10000)*3600 + (x/100%100)*60 + x%100) * 1e6
		if neg {
			us = -us
		}
		*v = capture.Value{Kind: capture.Time, Int: us}
	case TypeTime2:
		*v = time2Value(r, p.n)
	case TypeDateTime:
		x := r.u64() // YYYYMMDDhhmmss
		d, t := x/1000000, x%1000000
		*v = datetimeValue(int(d/10000), int(d/100%100), int(d%100), int(t/10000), int(t/100%100), int(t%100), 0, 0)
	case TypeDateTime2:
		*v = e.datetime2Value(r, p.n)
	case TypeTimestamp:
		s := int64(r.u32())
		*v = capture.Value{Kind: capture.TimestampTZ, Int: s * 1e6}
		if s == 0 {
			v.Flag = capture.Zero
		}
	case TypeTimestamp2:
		s := int64(r.beN(4))
		us := fracMicros(r, p.n)
		*v = capture.Value{Kind: capture.TimestampTZ, Int: s*1e6 + us, Aux: int32(p.n)}
		if s == 0 && us == 0 {
			v.Flag = capture.Zero
		}
	case TypeBit:
		nb := (p.n + 7) / 8
		src := r.bytes(nb)
		start := len(e.arena)
		for i := len(src) - 1; i >= 0; i-- {
			e.arena = append(e.arena, src[i])
		}
		*v = capture.Value{Kind: capture.Bits, Bytes: e.arena[start:len(e.arena):len(e.arena)], Aux: int32(p.n)}
	case TypeEnum:
		idx := r.uintN(p.n)
		if p.members == nil {
			*v = capture.Value{Kind: capture.Int, Int: int64(idx)}
		} else if idx == 0 || idx > uint64(len(p.members)) {
			// Index 0 is the error value '' stored for invalid input in non-strict mode.
			*v = capture.Value{Kind: capture.String, Bytes: e.arena[len(e.arena):len(e.arena):len(e.arena)]}
		} else {
			start := len(e.arena)
			e.arena = append(e.arena, p.members[idx-1]...)
			*v = capture.Value{Kind: capture.String, Bytes: e.arena[start:len(e.arena):len(e.arena)]}
		}
	case TypeSet:
		bits := r.uintN(p.n)
		if p.members == nil {
			*v = capture.Value{Kind: capture.Uint, Int: int64(bits)}
			break
		}
		start := len(e.arena)
		for i, m := range p.members {
			if i < 64 && bits&(1<<i) != 0 {
				if len(e.arena) > start {
					e.arena = append(e.arena, ',')
				}
				e.arena = append(e.arena, m...)
			}
		}
		*v = capture.Value{Kind: capture.String, Bytes: e.arena[start:len(e.arena):len(e.arena)]}
	case TypeString:
		var n int
		if p.n > 255 {
			n = int(r.u16())
		} else {
			n = int(r.u8())
		}
		e.stringValue(r.bytes(n), p, v)
	case TypeVarchar, TypeVarString:
		var n int
		if p.meta > 255 {
			n = int(r.u16())
		} else {
			n = int(r.u8())
		}
		e.stringValue(r.bytes(n), p, v)
	case TypeBlob, TypeTinyBlob, TypeMediumBlob, TypeLongBlob:
		n := r.uintN(p.n)
		b := r.bytes(int(min(n, uint64(r.rem())+1)))
		e.stringValue(b, p, v)
	case TypeJSON:
		n := r.uintN(p.n)
		b := r.bytes(int(min(n, uint64(r.rem())+1)))
		if r.bad {
			return
		}
		start := len(e.arena)
		kind := capture.JSON
		var err error
		if e.escJSON {
			kind = capture.EscapedJSON
			e.arena, err = AppendJSONEscaped(e.arena, b)
		} else {
			e.arena, err = AppendJSON(e.arena, b)
		}
		if err != nil {
			e.err = fmt.Errorf("column %d: %w", e.colIndex(p), err)
			return
		}
		*v = capture.Value{Kind: kind, Bytes: e.arena[start:len(e.arena):len(e.arena)]}
	case TypeGeometry:
		n := r.uintN(p.n)
		b := r.bytes(int(min(n, uint64(r.rem())+1)))
		if r.bad {
			return
		}
		*v = GeometryValue(b)
	case TypeVector:
		n := r.uintN(p.n)
		b := r.bytes(int(min(n, uint64(r.rem())+1)))
		if r.bad {
			return
		}
		start := len(e.elems)
		for i := 0; i+4 <= len(b); i += 4 {
			bits := uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16 | uint32(b[i+3])<<24
			e.elems = append(e.elems, capture.Value{Kind: capture.Float32,
				Int: int64(math.Float64bits(float64(math.Float32frombits(bits))))})
		}
		*v = capture.Value{Kind: capture.Vector, Elems: e.elems[start:len(e.elems):len(e.elems)]}
	default:
		e.err = fmt.Errorf("%w: column %d type %s", ErrUnsupported, e.colIndex(p), p.typ)
	}
}

func (e *RowsEvent) colIndex(p *colPlan) int {
	for i := range e.plan {
		if &e.plan[i] == p {
			return i
		}
	}
	return -1
}

// stringValue makes a string-typed value: bytes for the binary charset, text otherwise, or a
// MariaDB logical type.
func (e *RowsEvent) stringValue(b []byte, p *colPlan, v *capture.Value) {
	switch p.logical {
	case LogicalJSON:
		*v = capture.Value{Kind: capture.JSON, Bytes: b}
		return
	case LogicalUUID, LogicalINET4, LogicalINET6:
		start := len(e.arena)
		var ok bool
		e.arena, ok = appendLogical(e.arena, b, p.logical)
		if ok {
			*v = capture.Value{Kind: capture.String, Bytes: e.arena[start:len(e.arena):len(e.arena)]}
			return
		}
		e.arena = e.arena[:start]
	}
	switch {
	case p.binary:
		*v = capture.Value{Kind: capture.Bytes, Bytes: b}
	case p.cs == csUTF8 || isASCII(b):
		*v = capture.Value{Kind: capture.String, Bytes: b}
	case p.cs == csLatin1:
		start := len(e.arena)
		e.arena = appendLatin1(e.arena, b)
		*v = capture.Value{Kind: capture.String, Bytes: e.arena[start:len(e.arena):len(e.arena)]}
	default:
		out, err := p.enc.NewDecoder().Bytes(b)
		if err != nil {
			e.err = fmt.Errorf("column %d: text not in its character set: %w", e.colIndex(p), err)
			return
		}
		*v = capture.Value{Kind: capture.String, Bytes: out}
	}
}

// GeometryValue splits MySQL's internal geometry format (a 4-byte little-endian SRID, then
// WKB), as the binlog and the text protocol both carry it. SRID 0 (none given) sets no
// HasSRID, so the envelope writes "srid":null as Debezium does (BinlogGeometry.fromBytes maps
// 0 to null). The value aliases b.
func GeometryValue(b []byte) capture.Value {
	if len(b) < 4 {
		return capture.Value{Kind: capture.Geometry, Bytes: b}
	}
	v := capture.Value{Kind: capture.Geometry, Bytes: b[4:]}
	if srid := uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24; srid != 0 {
		v.Flag, v.Aux = capture.HasSRID, int32(srid)
	}
	return v
}
