package postgres

import (
	"encoding/binary"
	"math"
	"math/big"

	"github.com/sluicecdc/sluice/capture"
)

// Snapshot reads ask for some columns in binary: the server sends the integers, instants and
// numerics as they are stored instead of formatting them (timestamptz_out converts every value
// to the session's time zone), and the reader copies them instead of parsing text. Each binary
// decoder yields exactly the Value its text twin yields for the same datum, so a snapshot row
// and a streamed row (pgoutput sends text) of the same data are equal.

// binary formats of the types that have one here.
const (
	binNone binKind = iota
	binBool
	binInt2
	binInt4
	binInt8
	binUint4 // oid, xid, cid: unsigned on the wire
	binFloat4
	binFloat8
	binDate
	binTime
	binTimestamp
	binNumeric
)

type binKind uint8

// pgEpochDays and pgEpochMicros are 2000-01-01, PostgreSQL's epoch, from the Unix epoch.
const (
	pgEpochDays   = 10957
	pgEpochMicros = pgEpochDays * 86400e6
)

// binaryKind says whether a column decoded by d, of base type typ, is read in binary, and how.
// Only scalar types whose text decoding costs more than a copy; key columns stay text (their
// text form is the resume point stored in the offsets).
func binaryKind(d *decoder, typ string) binKind {
	switch d.kind {
	case decBool:
		return binBool
	case decInt:
		switch typ {
		case "int2":
			return binInt2
		case "int4":
			return binInt4
		case "int8":
			return binInt8
		case "oid", "xid", "cid":
			return binUint4
		}
	case decFloat32:
		return binFloat4
	case decFloat64:
		return binFloat8
	case decDate:
		return binDate
	case decTime:
		return binTime
	case decTimestamp, decTimestampTZ:
		return binTimestamp
	case decNumeric:
		return binNumeric
	}
	return binNone
}

// decodeBinary decodes b, the binary form of a column of kind k decoded as text by d, into *v
// (zero). The Value never aliases b.
func (d *decoder) decodeBinary(k binKind, v *capture.Value, b []byte) error {
	be := binary.BigEndian
	switch k {
	case binBool:
		if len(b) != 1 || b[0] > 1 {
			return errSyntax
		}
		v.Kind, v.Int = capture.Bool, int64(b[0])
	case binInt2:
		if len(b) != 2 {
			return errSyntax
		}
		v.Kind, v.Int = capture.Int, int64(int16(be.Uint16(b)))
	case binInt4:
		if len(b) != 4 {
			return errSyntax
		}
		v.Kind, v.Int = capture.Int, int64(int32(be.Uint32(b)))
	case binUint4:
		if len(b) != 4 {
			return errSyntax
		}
		v.Kind, v.Int = capture.Int, int64(be.Uint32(b))
	case binInt8:
		if len(b) != 8 {
			return errSyntax
		}
		v.Kind, v.Int = capture.Int, int64(be.Uint64(b))
	case binFloat4:
		if len(b) != 4 {
			return errSyntax
		}
		f := math.Float32frombits(be.Uint32(b))
		if f != f {
			f = float32(math.NaN()) // the text path's NaN bits, not the server's
		}
		*v = capture.Float32Value(f)
	case binFloat8:
		if len(b) != 8 {
			return errSyntax
		}
		f := math.Float64frombits(be.Uint64(b))
		if f != f {
			f = math.NaN() // the text path's NaN bits, not the server's
		}
		v.Kind, v.Int = capture.Float64, int64(math.Float64bits(f))
	case binDate:
		if len(b) != 4 {
			return errSyntax
		}
		switch n := int32(be.Uint32(b)); n {
		case math.MaxInt32:
			v.Kind, v.Flag = capture.Date, capture.PosInfinity
		case math.MinInt32:
			v.Kind, v.Flag = capture.Date, capture.NegInfinity
		default:
			v.Kind, v.Int = capture.Date, int64(n)+pgEpochDays
		}
	case binTime:
		if len(b) != 8 {
			return errSyntax
		}
		v.Kind, v.Int, v.Aux = capture.Time, int64(be.Uint64(b)), d.prec
	case binTimestamp:
		if len(b) != 8 {
			return errSyntax
		}
		v.Kind, v.Aux = capture.Timestamp, d.prec
		if d.kind == decTimestampTZ {
			v.Kind = capture.TimestampTZ
		}
		switch n := int64(be.Uint64(b)); n {
		case math.MaxInt64:
			v.Flag = capture.PosInfinity
		case math.MinInt64:
			v.Flag = capture.NegInfinity
		default:
			v.Int = n + pgEpochMicros
		}
	case binNumeric:
		dv, err := numericBinary(b)
		if err != nil {
			return err
		}
		*v = dv
	default:
		return errSyntax
	}
	return nil
}

// numeric sign words (numeric.c).
const (
	numericPos  = 0x0000
	numericNeg  = 0x4000
	numericNaN  = 0xC000
	numericPInf = 0xD000
	numericNInf = 0xF000
)

// numericBinary decodes numeric_send's form: ndigits, weight, sign, dscale (16 bits each),
// then ndigits base-10,000 digits, the first worth 10000^weight. The Value is the one
// parseNumeric gives for numeric_out's text: dscale digits after the point (digits beyond it
// cut, as numeric_out cuts them).
func numericBinary(b []byte) (capture.Value, error) {
	be := binary.BigEndian
	if len(b) < 8 {
		return capture.Value{}, errSyntax
	}
	n := int(be.Uint16(b))
	weight := int(int16(be.Uint16(b[2:])))
	sign := be.Uint16(b[4:])
	dscale := int(be.Uint16(b[6:]))
	if n > 0x7FFF || len(b) != 8+2*n || dscale > 0x3FFF {
		return capture.Value{}, errSyntax
	}
	switch sign {
	case numericNaN:
		return capture.Value{Kind: capture.Decimal, Flag: capture.NaN}, nil
	case numericPInf:
		return capture.Value{Kind: capture.Decimal, Flag: capture.PosInfinity}, nil
	case numericNInf:
		return capture.Value{Kind: capture.Decimal, Flag: capture.NegInfinity}, nil
	case numericPos, numericNeg:
	default:
		return capture.Value{}, errSyntax
	}
	// The unscaled integer is A × 10^e, A the digits read as one integer.
	e := 4*(weight-n+1) + dscale
	digits := b[8:]
	var u uint64
	fast := true
	for i := 0; i < n; i++ {
		dg := uint64(be.Uint16(digits[2*i:]))
		if dg > 9999 {
			return capture.Value{}, errSyntax
		}
		if u > (math.MaxUint64-9999)/10000 {
			fast = false
			break
		}
		u = u*10000 + dg
	}
	if fast {
		for ; e > 0 && fast; e-- {
			if u > math.MaxUint64/10 {
				fast = false
			} else {
				u *= 10
			}
		}
		for ; e < 0 && fast; e++ {
			u /= 10
		}
	}
	// Within int64 the text path's Value has the int64 form too (BigDecimalValue).
	if fast && u <= math.MaxInt64 {
		x := int64(u)
		if sign == numericNeg {
			x = -x
		}
		return capture.DecimalValue(x, int32(dscale)), nil
	}
	bi := new(big.Int)
	t := new(big.Int)
	tenK := big.NewInt(10000)
	for i := 0; i < n; i++ {
		bi.Mul(bi, tenK)
		bi.Add(bi, t.SetUint64(uint64(be.Uint16(digits[2*i:]))))
	}
	e = 4*(weight-n+1) + dscale
	if e > 0 {
		bi.Mul(bi, t.Exp(big.NewInt(10), big.NewInt(int64(e)), nil))
	} else if e < 0 {
		bi.Quo(bi, t.Exp(big.NewInt(10), big.NewInt(int64(-e)), nil))
	}
	if sign == numericNeg {
		bi.Neg(bi)
	}
	return capture.BigDecimalValue(bi, int32(dscale)), nil
}
