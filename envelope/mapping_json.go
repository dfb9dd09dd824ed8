package envelope

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"math/big"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/sluicecdc/sluice/capture"
)

// JSON primitives shared by the column-default encoder here and the envelope's value encoder, so a
// default in a field schema and the same value in a payload are the same bytes. They write JSON the
// way Kafka Connect's JsonConverter (Jackson) does.

const hexUpper = "0123456789ABCDEF"

// jsonEsc[b] is 0 for bytes copied as is, 'u' for \u00XX escapes and the letter of short escapes.
var jsonEsc = func() (t [256]byte) {
	for i := 0; i < 0x20; i++ {
		t[i] = 'u'
	}
	t['"'], t['\\'] = '"', '\\'
	t['\b'], t['\t'], t['\n'], t['\f'], t['\r'] = 'b', 't', 'n', 'f', 'r'
	for i := 0x80; i < 0x100; i++ {
		t[i] = 1 // non-ASCII: check UTF-8 validity
	}
	return
}()

// appendEscaped appends an EscapedJSON value's body, already escaped as AppendJSONString
// escapes its text, between quotes: one copy instead of a second escaping pass.
func appendEscaped(dst, body []byte) []byte {
	dst = append(dst, '"')
	dst = append(dst, body...)
	return append(dst, '"')
}

// AppendJSONString appends s as a quoted JSON string escaped as Jackson escapes it: `"` and `\`
// backslashed, \b \t \n \f \r short, other control characters as \u00XX (upper-case hex); '/',
// DEL and non-ASCII characters are written as is (UTF-8). Invalid UTF-8 bytes become U+FFFD, as
// a Java String decoded from them would hold.
func AppendJSONString[S ~string | ~[]byte](dst []byte, s S) []byte {
	// dst is written through its whole capacity with w the write index; the plain bytes of each
	// 8-byte word are stored as one word (the bytes after a flagged one are overwritten next),
	// so a text with a quote every few bytes, as JSON in a json column, costs no copy call per
	// run. Invariant: cap(dst)-w >= len(s)-i+jsonSlack, so a word store (8 bytes), an escape (6
	// bytes for 1) and the closing quote always fit; an escape re-checks it.
	const jsonSlack = 10
	n := len(dst)
	if cap(dst)-n < len(s)+jsonSlack+1 {
		dst = growBytes(dst, len(s)+jsonSlack+1)
	}
	dst = dst[:cap(dst)]
	dst[n] = '"'
	w, i := n+1, 0
	for i < len(s) {
		if i+8 <= len(s) {
			x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
			binary.LittleEndian.PutUint64(dst[w:w+8], x)
			m := escapeMask8(x)
			if m == 0 {
				w += 8
				i += 8
				continue
			}
			k := bits.TrailingZeros64(m) >> 3
			w += k
			i += k
		}
		c := s[i]
		e := jsonEsc[c]
		if e == 0 {
			dst[w] = c
			w++
			i++
			continue
		}
		if e == 1 {
			var buf [4]byte
			k := copy(buf[:], s[i:min(i+4, len(s))])
			if r, size := utf8.DecodeRune(buf[:k]); r != utf8.RuneError || size != 1 {
				w += copy(dst[w:], buf[:size])
				i += size
				continue
			}
		}
		if cap(dst)-w < len(s)-i+jsonSlack+6 {
			dst = growBytes(dst[:w], len(s)-i+jsonSlack+6)
			dst = dst[:cap(dst)]
		}
		switch e {
		case 1:
			w += copy(dst[w:], "\uFFFD") // an invalid byte: U+FFFD, as a Java String holds it
		case 'u':
			dst[w], dst[w+1], dst[w+2], dst[w+3], dst[w+4], dst[w+5] = '\\', 'u', '0', '0', hexUpper[c>>4], hexUpper[c&0xf]
			w += 6
		default:
			dst[w], dst[w+1] = '\\', e
			w += 2
		}
		i++
	}
	dst[w] = '"'
	return dst[:w+1]
}

// growBytes returns b with room for at least n more bytes.
func growBytes(b []byte, n int) []byte { return slices.Grow(b, n) }

const (
	lsb8 = 0x0101010101010101
	msb8 = 0x8080808080808080
)

// escapeMask8 flags (0x80 in its byte) the bytes of x that are < 0x20, '"', '\\' or >= 0x80.
// A borrow can flag a byte above a flagged one too, so only the lowest flag is exact: the
// first byte (little-endian) to look at.
func escapeMask8(x uint64) uint64 {
	less := (x - lsb8*0x20) & ^x // bytes < 0x20 (or >= 0x80, caught below)
	q := x ^ (lsb8 * '"')        // zero bytes where '"'
	bs := x ^ (lsb8 * '\\')      // zero bytes where '\\'
	zq := (q - lsb8) & ^q
	zb := (bs - lsb8) & ^bs
	return (less | zq | zb | x) & msb8
}

// AppendJavaDouble appends f as Jackson writes a Java double: Double.toString (JDK 19+), i.e. the
// shortest digits that round-trip (at least two: with one, the closest two-digit decimal), in plain notation with at least one fraction digit when
// 10^-3 <= |f| < 10^7 ("1.0", "0.001", "1234567.0") and in computerized scientific notation
// otherwise ("1.0E7", "1.0E-4", "1.2345E10"); NaN and ±Infinity as the JSON strings "NaN",
// "Infinity", "-Infinity" (Jackson's QUOTE_NON_NUMERIC_NUMBERS default).
func AppendJavaDouble(dst []byte, f float64) []byte { return appendJava(dst, f, 64) }

// AppendJavaFloat is AppendJavaDouble for a Java float (Float.toString: shortest float32 digits).
func AppendJavaFloat(dst []byte, f float32) []byte { return appendJava(dst, float64(f), 32) }

func appendJava(dst []byte, f float64, bits int) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	var tmp [32]byte
	b := strconv.AppendFloat(tmp[:0], f, 'e', -1, bits)
	if len(b) > 1 && (b[1] == 'e' || b[0] == '-' && b[2] == 'e') {
		// One significant digit: Java (JDK 19+) picks the two-digit decimal closest to the
		// exact value, which differs from "d.0" only for subnormals (4.9E-324, 1.4E-45).
		b = strconv.AppendFloat(tmp[:0], f, 'e', 1, bits)
	}
	if b[0] == '-' {
		dst = append(dst, '-')
		b = b[1:]
	}
	// b = d[.ddd]e±XX
	var digits [24]byte
	nd := 0
	i := 0
	for ; i < len(b) && b[i] != 'e'; i++ {
		if b[i] != '.' {
			digits[nd] = b[i]
			nd++
		}
	}
	for nd > 1 && digits[nd-1] == '0' {
		nd--
	}
	exp, _ := strconv.Atoi(string(b[i+1:]))
	abs := math.Abs(f)
	if abs >= 1e-3 && abs < 1e7 {
		if exp >= 0 {
			for k := 0; k <= exp; k++ {
				if k < nd {
					dst = append(dst, digits[k])
				} else {
					dst = append(dst, '0')
				}
			}
			dst = append(dst, '.')
			if nd > exp+1 {
				dst = append(dst, digits[exp+1:nd]...)
			} else {
				dst = append(dst, '0')
			}
			return dst
		}
		dst = append(dst, '0', '.')
		for k := 0; k < -exp-1; k++ {
			dst = append(dst, '0')
		}
		return append(dst, digits[:nd]...)
	}
	dst = append(dst, digits[0], '.')
	if nd > 1 {
		dst = append(dst, digits[1:nd]...)
	} else {
		dst = append(dst, '0')
	}
	dst = append(dst, 'E')
	return strconv.AppendInt(dst, int64(exp), 10)
}

// AppendTwosComplement appends the minimal big-endian two's-complement bytes of u (Java
// BigInteger.toByteArray): 0 → 00, 255 → 00 FF, -1 → FF.
func AppendTwosComplement(dst []byte, u int64) []byte {
	x := uint64(u)
	if u < 0 {
		x = ^x
	}
	n := bits.Len64(x)/8 + 1 // magnitude bits plus the sign bit
	if n > 8 {
		n = 8
	}
	for k := n - 1; k >= 0; k-- {
		dst = append(dst, byte(u>>(8*k)))
	}
	return dst
}

// AppendBigTwosComplement is AppendTwosComplement for a big.Int.
func AppendBigTwosComplement(dst []byte, u *big.Int) []byte {
	if u.IsInt64() {
		return AppendTwosComplement(dst, u.Int64())
	}
	if u.Sign() > 0 {
		b := u.Bytes()
		if b[0]&0x80 != 0 {
			dst = append(dst, 0)
		}
		return append(dst, b...)
	}
	// Negative: bytes of 2^(8n) + u with n = bitlen(^u)/8 + 1.
	not := new(big.Int).Not(u)
	n := not.BitLen()/8 + 1
	m := new(big.Int).Lsh(big.NewInt(1), uint(8*n))
	m.Add(m, u)
	start := len(dst)
	dst = append(dst, make([]byte, n)...)
	m.FillBytes(dst[start:])
	return dst
}

// AppendBase64 appends b as a quoted standard Base64 JSON string (Connect bytes).
func AppendBase64(dst []byte, b []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return append(dst, '"')
}

// AppendDecimal appends the Connect Decimal encoding (quoted Base64 of the unscaled two's
// complement) of unscaled (big when non-nil).
func AppendDecimal(dst []byte, unscaled int64, b *big.Int) []byte {
	if b != nil {
		return AppendBase64(dst, AppendBigTwosComplement(nil, b))
	}
	// The minimal two's complement of an int64 is at most 8 bytes: Base64 them inline (this is
	// every numeric(p≤18) value, so it runs once per decimal column of every row).
	x := uint64(unscaled)
	if unscaled < 0 {
		x = ^x
	}
	n := bits.Len64(x)/8 + 1
	if n > 8 {
		n = 8
	}
	var raw [8]byte
	binary.BigEndian.PutUint64(raw[:], uint64(unscaled))
	r := raw[8-n:]
	dst = append(dst, '"')
	for len(r) >= 3 {
		v := uint(r[0])<<16 | uint(r[1])<<8 | uint(r[2])
		dst = append(dst, b64Std[v>>18], b64Std[v>>12&63], b64Std[v>>6&63], b64Std[v&63])
		r = r[3:]
	}
	switch len(r) {
	case 2:
		v := uint(r[0])<<16 | uint(r[1])<<8
		dst = append(dst, b64Std[v>>18], b64Std[v>>12&63], b64Std[v>>6&63], '=')
	case 1:
		v := uint(r[0]) << 16
		dst = append(dst, b64Std[v>>18], b64Std[v>>12&63], '=', '=')
	}
	return append(dst, '"')
}

const b64Std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// AppendPlainDecimal appends unscaled×10^-scale as BigDecimal.toPlainString writes it.
func AppendPlainDecimal(dst []byte, unscaled int64, b *big.Int, scale int) []byte {
	var digits []byte
	var tmp [24]byte
	neg := false
	if b != nil {
		neg = b.Sign() < 0
		digits = new(big.Int).Abs(b).Append(nil, 10)
	} else {
		if unscaled < 0 {
			neg = true
			digits = strconv.AppendUint(tmp[:0], uint64(-unscaled), 10)
			if unscaled == math.MinInt64 {
				digits = strconv.AppendUint(tmp[:0], 1<<63, 10)
			}
		} else {
			digits = strconv.AppendUint(tmp[:0], uint64(unscaled), 10)
		}
	}
	if neg {
		dst = append(dst, '-')
	}
	if scale <= 0 {
		dst = append(dst, digits...)
		for k := 0; k < -scale; k++ {
			dst = append(dst, '0')
		}
		return dst
	}
	if len(digits) > scale {
		dst = append(dst, digits[:len(digits)-scale]...)
		dst = append(dst, '.')
		return append(dst, digits[len(digits)-scale:]...)
	}
	dst = append(dst, '0', '.')
	for k := len(digits); k < scale; k++ {
		dst = append(dst, '0')
	}
	return append(dst, digits...)
}

// AppendJavaDecimalString appends unscaled×10^-scale as Java's BigDecimal.toString writes it:
// plain notation when scale >= 0 and the adjusted exponent (digits-1-scale) is >= -6, otherwise
// scientific with one integer digit ("1E-7", "1.23E-8", "0E-10", "1E+3").
// decimal.handling.mode=string does not use it: Debezium writes toPlainString there since
// DBZ-4730 (SpecialValueDecimal.fromLogical), which is AppendPlainDecimal.
func AppendJavaDecimalString(dst []byte, unscaled int64, b *big.Int, scale int) []byte {
	var tmp [24]byte
	var digits []byte
	neg := false
	switch {
	case b != nil:
		neg = b.Sign() < 0
		digits = new(big.Int).Abs(b).Append(tmp[:0], 10)
	case unscaled < 0:
		neg = true
		digits = strconv.AppendUint(tmp[:0], uint64(-(unscaled+1))+1, 10)
	default:
		digits = strconv.AppendUint(tmp[:0], uint64(unscaled), 10)
	}
	adjusted := len(digits) - 1 - scale
	if scale >= 0 && adjusted >= -6 {
		return AppendPlainDecimal(dst, unscaled, b, scale)
	}
	if neg {
		dst = append(dst, '-')
	}
	dst = append(dst, digits[0])
	if len(digits) > 1 {
		dst = append(dst, '.')
		dst = append(dst, digits[1:]...)
	}
	dst = append(dst, 'E')
	if adjusted > 0 {
		dst = append(dst, '+')
	}
	return strconv.AppendInt(dst, int64(adjusted), 10)
}

func append2(dst []byte, v int) []byte { return append(dst, byte('0'+v/10), byte('0'+v%10)) }

// AppendISODate appends yyyy-MM-dd as java.time formats it (years beyond 9999 get a '+').
func AppendISODate(dst []byte, days int64) []byte {
	y, m, d := capture.CivilFromDays(days)
	switch {
	case y > 9999:
		dst = append(dst, '+')
		dst = strconv.AppendInt(dst, y, 10)
	case y < 0:
		dst = append(dst, '-')
		ay := -y
		if ay < 1000 {
			dst = append(dst, byte('0'+ay/1000%10), byte('0'+ay/100%10), byte('0'+ay/10%10), byte('0'+ay%10))
		} else {
			dst = strconv.AppendInt(dst, ay, 10)
		}
	default:
		dst = append(dst, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10))
	}
	dst = append(dst, '-')
	dst = append2(dst, m)
	dst = append(dst, '-')
	return append2(dst, d)
}

// AppendFraction appends '.' and the first digits of the 6-digit micros when digits > 0.
// digits < 0 means java.time's minimal form: no fraction when zero, else as many digits as
// needed without trailing zeros (ISO_LOCAL_TIME).
func AppendFraction(dst []byte, micros int64, digits int) []byte {
	if digits < 0 {
		if micros == 0 {
			return dst
		}
		digits = 6
		for digits > 1 && micros%10 == 0 {
			micros /= 10
			digits--
		}
		dst = append(dst, '.')
		var buf [6]byte
		for k := digits - 1; k >= 0; k-- {
			buf[k] = byte('0' + micros%10)
			micros /= 10
		}
		return append(dst, buf[:digits]...)
	}
	if digits == 0 {
		return dst
	}
	dst = append(dst, '.')
	var buf [9]byte
	v := micros
	for k := 5; k >= 0; k-- {
		buf[k] = byte('0' + v%10)
		v /= 10
	}
	buf[6], buf[7], buf[8] = '0', '0', '0'
	if digits > 9 {
		digits = 9
	}
	return append(dst, buf[:digits]...)
}

// AppendISOTime appends HH:mm:ss of micros since midnight (taken modulo one day) followed by the
// fraction per AppendFraction.
func AppendISOTime(dst []byte, micros int64, digits int) []byte {
	const day = 86400_000_000
	micros %= day
	if micros < 0 {
		micros += day
	}
	s := micros / 1_000_000
	dst = append2(dst, int(s/3600))
	dst = append(dst, ':')
	dst = append2(dst, int(s/60%60))
	dst = append(dst, ':')
	dst = append2(dst, int(s%60))
	return AppendFraction(dst, micros%1_000_000, digits)
}

// SplitMicros splits epoch micros into days and micros of day (floor division).
func SplitMicros(us int64) (days, micros int64) {
	const day = 86400_000_000
	days = us / day
	micros = us % day
	if micros < 0 {
		micros += day
		days--
	}
	return
}

// AppendISOTimestamp appends yyyy-MM-ddTHH:mm:ss[.f]Z of epoch micros (UTC), with the fraction
// per AppendFraction.
func AppendISOTimestamp(dst []byte, us int64, digits int) []byte {
	days, micros := SplitMicros(us)
	dst = AppendISODate(dst, days)
	dst = append(dst, 'T')
	dst = AppendISOTime(dst, micros, digits)
	return append(dst, 'Z')
}

// FloorDiv returns a/b rounded toward negative infinity.
func FloorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

var base64URL = base64.URLEncoding
