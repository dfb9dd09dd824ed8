package binlog

import (
	"fmt"
	"math/big"

	"github.com/sluicecdc/sluice/capture"
)

// Packed decimal (NEWDECIMAL), as the server stores DECIMAL(M,D) in rows and in JSON.
//
// The integer part (M-D digits) and the fraction (D digits) are each cut into groups of nine
// decimal digits, stored as 4-byte big-endian integers; the integer part's leftover leading
// digits and the fraction's leftover trailing digits take dig2bytes[n] bytes. The sign is the
// top bit of the first byte, inverted (1 = positive), and a negative number has every byte
// inverted.
//
// Worked example: DECIMAL(12,2) value 1234567890.12 has 10 integer digits = 1 leftover digit
// ("1", 1 byte) + one group ("234567890", 4 bytes), and 2 fraction digits ("12", 1 byte): 6
// bytes 01 0D FB 38 D2 0C; with the sign bit flipped 81 0D FB 38 D2 0C. The value -1234567890.12
// is every byte inverted: 7E F2 04 C7 2D F3. Decoded: unscaled 123456789012, scale 2.
var dig2bytes = [10]int{0, 1, 1, 2, 2, 3, 3, 4, 4, 4}

var pow10u = [...]uint64{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000}

// DecimalSize returns the number of bytes of a packed DECIMAL(precision, scale).
func DecimalSize(precision, scale int) int {
	intg := precision - scale
	return intg/9*4 + dig2bytes[intg%9] + scale/9*4 + dig2bytes[scale%9]
}

// validDecimal reports whether (precision, scale) is a DECIMAL the server can declare.
func validDecimal(precision, scale int) bool {
	return precision >= 1 && precision <= 65 && scale >= 0 && scale <= 30 && scale <= precision
}

// DecodeDecimal decodes a packed DECIMAL(precision, scale) from the start of b. It returns the
// unscaled integer as int64 (big == nil) when it fits, else as big, and the bytes used.
func DecodeDecimal(b []byte, precision, scale int) (unscaled int64, bigv *big.Int, n int, err error) {
	if !validDecimal(precision, scale) {
		return 0, nil, 0, fmt.Errorf("%w: DECIMAL(%d,%d)", ErrUnsupported, precision, scale)
	}
	n = DecimalSize(precision, scale)
	if len(b) < n {
		return 0, nil, 0, fmt.Errorf("%w: DECIMAL(%d,%d) needs %d bytes, have %d", ErrTruncated, precision, scale, n, len(b))
	}
	var buf [40]byte
	copy(buf[:], b[:n])
	neg := buf[0]&0x80 == 0
	buf[0] ^= 0x80
	if neg {
		for i := range n {
			buf[i] ^= 0xff
		}
	}
	intg := precision - scale
	if precision <= 18 {
		return decodeSmallDecimal(&buf, intg, scale, neg, n)
	}
	var acc uint64
	var bacc *big.Int
	pos := 0
	bad := false
	add := func(nbytes, digits int) {
		var v uint64
		for _, c := range buf[pos : pos+nbytes] {
			v = v<<8 | uint64(c)
		}
		pos += nbytes
		if v >= pow10u[digits] {
			bad = true
		}
		m := pow10u[digits]
		if bacc == nil {
			if acc <= (^uint64(0)-v)/m {
				acc = acc*m + v
				return
			}
			bacc = new(big.Int).SetUint64(acc)
		}
		bacc.Mul(bacc, new(big.Int).SetUint64(m))
		bacc.Add(bacc, new(big.Int).SetUint64(v))
	}
	if x := intg % 9; x > 0 {
		add(dig2bytes[x], x)
	}
	for range intg / 9 {
		add(4, 9)
	}
	for range scale / 9 {
		add(4, 9)
	}
	if x := scale % 9; x > 0 {
		add(dig2bytes[x], x)
	}
	if bad {
		return 0, nil, n, fmt.Errorf("%w: DECIMAL(%d,%d) digit group out of range", ErrTruncated, precision, scale)
	}
	if bacc == nil {
		if acc <= 1<<63-1 {
			if neg {
				return -int64(acc), nil, n, nil
			}
			return int64(acc), nil, n, nil
		}
		if neg && acc == 1<<63 {
			return -1 << 63, nil, n, nil
		}
		bacc = new(big.Int).SetUint64(acc)
	}
	if neg {
		bacc.Neg(bacc)
	}
	if bacc.IsInt64() {
		return bacc.Int64(), nil, n, nil
	}
	return 0, bacc, n, nil
}

// decodeSmallDecimal decodes (sign already removed from buf) a decimal of at most 18 digits,
// which always fits an int64.
func decodeSmallDecimal(buf *[40]byte, intg, scale int, neg bool, n int) (int64, *big.Int, int, error) {
	var acc uint64
	pos := 0
	ok := true
	// Digit counts of the groups in order: leftover integer digits, 9-digit integer groups,
	// 9-digit fraction groups, leftover fraction digits.
	var groups [6]int8
	ng := 0
	if x := intg % 9; x > 0 {
		groups[ng] = int8(x)
		ng++
	}
	for range intg / 9 {
		groups[ng] = 9
		ng++
	}
	for range scale / 9 {
		groups[ng] = 9
		ng++
	}
	if x := scale % 9; x > 0 {
		groups[ng] = int8(x)
		ng++
	}
	for _, g := range groups[:ng] {
		digits := int(g)
		nb := dig2bytes[digits]
		var v uint64
		for _, c := range buf[pos : pos+nb] {
			v = v<<8 | uint64(c)
		}
		pos += nb
		ok = ok && v < pow10u[digits]
		acc = acc*pow10u[digits] + v
	}
	if !ok {
		return 0, nil, n, fmt.Errorf("%w: DECIMAL digit group out of range", ErrTruncated)
	}
	if neg {
		return -int64(acc), nil, n, nil
	}
	return int64(acc), nil, n, nil
}

// AppendDecimalBinary appends the packed form of unscaled × 10^-scale as DECIMAL(precision,
// scale) (used by tests and builders). The value must fit the precision.
func AppendDecimalBinary(dst []byte, unscaled *big.Int, precision, scale int) ([]byte, error) {
	if !validDecimal(precision, scale) {
		return dst, fmt.Errorf("%w: DECIMAL(%d,%d)", ErrUnsupported, precision, scale)
	}
	neg := unscaled.Sign() < 0
	digits := new(big.Int).Abs(unscaled).String()
	if len(digits) > precision {
		return dst, fmt.Errorf("binlog: %s does not fit DECIMAL(%d,%d)", unscaled, precision, scale)
	}
	for len(digits) < precision {
		digits = "0" + digits
	}
	intg := precision - scale
	start := len(dst)
	put := func(s string, nbytes int) {
		var v uint64
		for i := 0; i < len(s); i++ {
			v = v*10 + uint64(s[i]-'0')
		}
		for i := nbytes - 1; i >= 0; i-- {
			dst = append(dst, byte(v>>(8*i)))
		}
	}
	ip, fp := digits[:intg], digits[intg:]
	if x := intg % 9; x > 0 {
		put(ip[:x], dig2bytes[x])
		ip = ip[x:]
	}
	for ; len(ip) > 0; ip = ip[9:] {
		put(ip[:9], 4)
	}
	for len(fp) >= 9 {
		put(fp[:9], 4)
		fp = fp[9:]
	}
	if len(fp) > 0 {
		put(fp, dig2bytes[len(fp)])
	}
	dst[start] ^= 0x80
	if neg {
		for i := start; i < len(dst); i++ {
			dst[i] ^= 0xff
		}
	}
	return dst, nil
}

func (e *RowsEvent) decodeDecimalValue(r *reader, p *colPlan, v *capture.Value) {
	if !validDecimal(p.n, p.scale) {
		e.err = fmt.Errorf("%w: column %d DECIMAL(%d,%d)", ErrUnsupported, e.colIndex(p), p.n, p.scale)
		return
	}
	b := r.bytes(DecimalSize(p.n, p.scale))
	if r.bad {
		return
	}
	u, bg, _, err := DecodeDecimal(b, p.n, p.scale)
	if err != nil {
		e.err = fmt.Errorf("column %d: %w", e.colIndex(p), err)
		return
	}
	*v = capture.Value{Kind: capture.Decimal, Int: u, Big: bg, Aux: int32(p.scale)}
}

// appendDecimalText appends unscaled × 10^-scale in plain notation keeping every scale digit
// ("12.50", "-0.01", "0.00"), as Java's BigDecimal.toPlainString prints it.
func appendDecimalText(dst []byte, unscaled int64, bg *big.Int, scale int) []byte {
	var digits []byte
	neg := false
	if bg != nil {
		neg = bg.Sign() < 0
		digits = new(big.Int).Abs(bg).Append(nil, 10)
	} else {
		u := uint64(unscaled)
		if unscaled < 0 {
			neg, u = true, uint64(-unscaled)
		}
		digits = appendUint(make([]byte, 0, 20), u)
	}
	if neg {
		dst = append(dst, '-')
	}
	if scale <= 0 {
		return append(dst, digits...)
	}
	if len(digits) <= scale {
		dst = append(dst, '0', '.')
		for i := len(digits); i < scale; i++ {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	}
	dst = append(dst, digits[:len(digits)-scale]...)
	dst = append(dst, '.')
	return append(dst, digits[len(digits)-scale:]...)
}
