package binlog

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"unicode/utf8"
)

// MySQL binary JSON (json_binary.h), rendered as text the way Debezium's binlog reader does:
// compact (no spaces: {"a":2,"b":[1,2]}), keys in stored order (the server sorts them by
// length, then bytes), strings escaped with \" \\ \b \f \n \r \t and \u00XX for other control
// characters, doubles as Java's Double.toString within [1e-3, 1e7) and otherwise as the exact
// decimal expansion, DECIMAL with its scale ("1.50"), DATE/TIME/DATETIME quoted with trailing
// fractional zeros trimmed, and other opaque values as quoted Base64.
//
// Layout: a value is a type byte then its data. Objects and arrays (small: 2-byte counts and
// offsets; large: 4-byte) hold element count, byte size, for objects key entries (offset,
// 2-byte length), then value entries (type, offset or inlined literal/int16/uint16 — and
// int32/uint32 when large); offsets count from the start of the object's data.

const (
	jsonSmallObject = 0x00
	jsonLargeObject = 0x01
	jsonSmallArray  = 0x02
	jsonLargeArray  = 0x03
	jsonLiteral     = 0x04
	jsonInt16       = 0x05
	jsonUint16      = 0x06
	jsonInt32       = 0x07
	jsonUint32      = 0x08
	jsonInt64       = 0x09
	jsonUint64      = 0x0a
	jsonDouble      = 0x0b
	jsonString      = 0x0c
	jsonOpaque      = 0x0f

	jsonMaxDepth = 150
)

// ErrJSON reports malformed binary JSON.
var ErrJSON = fmt.Errorf("%w: bad binary JSON", ErrTruncated)

// AppendJSON appends the text of the binary JSON document b to dst. An empty document is
// JSON null.
func AppendJSON(dst, b []byte) ([]byte, error) {
	return appendJSONDoc(dst, b, false)
}

// AppendJSONEscaped appends the text of the binary JSON document b escaped as the body of a
// JSON string (capture.EscapedJSON): byte for byte what envelope.AppendJSONString writes between
// its quotes for AppendJSON's text, in one pass instead of two. The JSON's own quotes become \"
// and a string's escapes are escaped again (a quote in a string is \\\", a newline \\n).
func AppendJSONEscaped(dst, b []byte) ([]byte, error) {
	return appendJSONDoc(dst, b, true)
}

func appendJSONDoc(dst, b []byte, esc bool) ([]byte, error) {
	if len(b) == 0 {
		return append(dst, "null"...), nil
	}
	start := len(dst)
	dst, ok := appendJSONValue(dst, b[0], b[1:], 0, esc)
	if !ok {
		return dst[:start], ErrJSON
	}
	return dst, nil
}

// appendQuote appends a quote of the JSON text: " or, escaped, \".
func appendQuote(dst []byte, esc bool) []byte {
	if esc {
		return append(dst, '\\', '"')
	}
	return append(dst, '"')
}

func appendJSONValue(dst []byte, typ byte, b []byte, depth int, esc bool) ([]byte, bool) {
	if depth > jsonMaxDepth {
		return dst, false
	}
	switch typ {
	case jsonSmallObject, jsonLargeObject, jsonSmallArray, jsonLargeArray:
		return appendJSONContainer(dst, typ, b, depth, esc)
	case jsonLiteral:
		if len(b) < 1 {
			return dst, false
		}
		return appendJSONLiteral(dst, b[0])
	case jsonInt16:
		if len(b) < 2 {
			return dst, false
		}
		return strconv.AppendInt(dst, int64(int16(binary.LittleEndian.Uint16(b))), 10), true
	case jsonUint16:
		if len(b) < 2 {
			return dst, false
		}
		return strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint16(b)), 10), true
	case jsonInt32:
		if len(b) < 4 {
			return dst, false
		}
		return strconv.AppendInt(dst, int64(int32(binary.LittleEndian.Uint32(b))), 10), true
	case jsonUint32:
		if len(b) < 4 {
			return dst, false
		}
		return strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint32(b)), 10), true
	case jsonInt64:
		if len(b) < 8 {
			return dst, false
		}
		return strconv.AppendInt(dst, int64(binary.LittleEndian.Uint64(b)), 10), true
	case jsonUint64:
		if len(b) < 8 {
			return dst, false
		}
		return strconv.AppendUint(dst, binary.LittleEndian.Uint64(b), 10), true
	case jsonDouble:
		if len(b) < 8 {
			return dst, false
		}
		return appendJavaDouble(dst, math.Float64frombits(binary.LittleEndian.Uint64(b))), true
	case jsonString:
		n, k, ok := jsonVarLen(b)
		if !ok || n > len(b)-k {
			return dst, false
		}
		return appendJSONString(dst, b[k:k+n], esc), true
	case jsonOpaque:
		if len(b) < 1 {
			return dst, false
		}
		n, k, ok := jsonVarLen(b[1:])
		if !ok || n > len(b)-1-k {
			return dst, false
		}
		return appendJSONOpaque(dst, ColumnType(b[0]), b[1+k:1+k+n], esc)
	}
	return dst, false
}

func appendJSONLiteral(dst []byte, c byte) ([]byte, bool) {
	switch c {
	case 0:
		return append(dst, "null"...), true
	case 1:
		return append(dst, "true"...), true
	case 2:
		return append(dst, "false"...), true
	}
	return dst, false
}

// jsonVarLen reads the variable-length length: 7 bits per byte, low first, high bit = more,
// at most 5 bytes.
func jsonVarLen(b []byte) (n, used int, ok bool) {
	var v uint64
	for i := 0; i < 5 && i < len(b); i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			if v > math.MaxInt32 {
				return 0, 0, false
			}
			return int(v), i + 1, true
		}
	}
	return 0, 0, false
}

func appendJSONContainer(dst []byte, typ byte, b []byte, depth int, esc bool) ([]byte, bool) {
	large := typ == jsonLargeObject || typ == jsonLargeArray
	isObj := typ == jsonSmallObject || typ == jsonLargeObject
	w := 2
	if large {
		w = 4
	}
	count, ok1 := jsonOff(b, large, 0)
	size, ok2 := jsonOff(b, large, w)
	if !ok1 || !ok2 || size > len(b) {
		return dst, false
	}
	b = b[:size]
	keyEntry := w + 2
	valEntry := 1 + w
	hdr := 2 * w
	if isObj {
		if count > (size-hdr)/(keyEntry+valEntry) {
			return dst, false
		}
	} else if count > (size-hdr)/valEntry {
		return dst, false
	}
	valBase := hdr
	if isObj {
		valBase += count * keyEntry
		dst = append(dst, '{')
	} else {
		dst = append(dst, '[')
	}
	for i := 0; i < count; i++ {
		if i > 0 {
			dst = append(dst, ',')
		}
		if isObj {
			ko, ok := jsonOff(b, large, hdr+i*keyEntry)
			if !ok || hdr+i*keyEntry+w+2 > len(b) {
				return dst, false
			}
			kl := int(binary.LittleEndian.Uint16(b[hdr+i*keyEntry+w:]))
			if ko+kl > len(b) {
				return dst, false
			}
			dst = appendJSONString(dst, b[ko:ko+kl], esc)
			dst = append(dst, ':')
		}
		ve := valBase + i*valEntry
		if ve+valEntry > len(b) {
			return dst, false
		}
		vt := b[ve]
		inl := b[ve+1 : ve+1+w]
		var ok bool
		switch {
		case vt == jsonLiteral:
			dst, ok = appendJSONLiteral(dst, inl[0])
		case vt == jsonInt16:
			dst, ok = strconv.AppendInt(dst, int64(int16(binary.LittleEndian.Uint16(inl))), 10), true
		case vt == jsonUint16:
			dst, ok = strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint16(inl)), 10), true
		case large && vt == jsonInt32:
			dst, ok = strconv.AppendInt(dst, int64(int32(binary.LittleEndian.Uint32(inl))), 10), true
		case large && vt == jsonUint32:
			dst, ok = strconv.AppendUint(dst, uint64(binary.LittleEndian.Uint32(inl)), 10), true
		default:
			off, okr := jsonOff(b, large, ve+1)
			// A value lies after the entries; pointing back into the header would loop.
			if !okr || off < valBase+count*valEntry || off >= len(b) {
				return dst, false
			}
			dst, ok = appendJSONValue(dst, vt, b[off:], depth+1, esc)
		}
		if !ok {
			return dst, false
		}
	}
	if isObj {
		return append(dst, '}'), true
	}
	return append(dst, ']'), true
}

// jsonOff reads a 2-byte (small) or 4-byte (large) count or offset at off.
func jsonOff(b []byte, large bool, off int) (int, bool) {
	if large {
		if off < 0 || off+4 > len(b) {
			return 0, false
		}
		v := binary.LittleEndian.Uint32(b[off:])
		return int(v), v <= math.MaxInt32
	}
	if off < 0 || off+2 > len(b) {
		return 0, false
	}
	return int(binary.LittleEndian.Uint16(b[off:])), true
}

const hexUpper = "0123456789ABCDEF"

// jsonPlain marks bytes copied into JSON strings without escaping.
var jsonPlain = func() (t [256]bool) {
	for i := range t {
		t[i] = i >= 0x20 && i != '"' && i != '\\'
	}
	return t
}()

// appendJSONString appends s quoted and escaped, or with esc as appendJSONStringEscaped does.
func appendJSONString(dst, s []byte, esc bool) []byte {
	if esc {
		return appendJSONStringEscaped(dst, s)
	}
	dst = append(dst, '"')
	last := 0
	for i := plainPrefix(s); i < len(s); i++ {
		c := s[i]
		if jsonPlain[c] {
			continue
		}
		dst = append(dst, s[last:i]...)
		last = i + 1
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexUpper[c>>4], hexUpper[c&15])
		}
	}
	dst = append(dst, s[last:]...)
	return append(dst, '"')
}

// plainPrefix returns the length of s's leading whole 8-byte words whose bytes need no escape
// in either form (printable ASCII other than '"' and '\\'), tested a word at a time: the hex
// digests and codes JSON documents are full of cost one test per 8 bytes instead of 8.
func plainPrefix(s []byte) int {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := binary.LittleEndian.Uint64(s[i:])
		q, b := x^(lo*'"'), x^(lo*'\\')
		// A byte below 0x20, a zero byte of q or b (a quote or backslash), or a high bit.
		if ((x-lo*0x20)&^x|(q-lo)&^q|(b-lo)&^b|x)&hi != 0 {
			break
		}
	}
	return i
}

// jsonPlainASCII marks bytes a string's text keeps in both escapings: printable ASCII other
// than the quote and the backslash (DEL included, as Jackson keeps it).
var jsonPlainASCII = func() (t [256]bool) {
	for i := 0x20; i < 0x80; i++ {
		t[i] = i != '"' && i != '\\'
	}
	return t
}()

// appendJSONStringEscaped appends s as AppendJSON quotes and escapes it, escaped once more as
// envelope.AppendJSONString escapes that text: the quotes are \", the string's own escapes have
// their backslash doubled (\\\" \\\\ \\n \\u001F), and a byte that is not valid UTF-8 becomes
// U+FFFD, as the envelope's second pass makes it.
func appendJSONStringEscaped(dst, s []byte) []byte {
	dst = append(dst, '\\', '"')
	last := 0
	for i := plainPrefix(s); i < len(s); {
		c := s[i]
		if jsonPlainASCII[c] {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			if r, size := utf8.DecodeRune(s[i:]); r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
			dst = append(dst, s[last:i]...)
			dst = append(dst, "\uFFFD"...)
			i++
			last = i
			continue
		}
		dst = append(dst, s[last:i]...)
		switch c {
		case '"':
			dst = append(dst, '\\', '\\', '\\', '"')
		case '\\':
			dst = append(dst, '\\', '\\', '\\', '\\')
		case '\b':
			dst = append(dst, '\\', '\\', 'b')
		case '\t':
			dst = append(dst, '\\', '\\', 't')
		case '\f':
			dst = append(dst, '\\', '\\', 'f')
		case '\n':
			dst = append(dst, '\\', '\\', 'n')
		case '\r':
			dst = append(dst, '\\', '\\', 'r')
		default:
			dst = append(dst, '\\', '\\', 'u', '0', '0', hexUpper[c>>4], hexUpper[c&15])
		}
		i++
		last = i
	}
	dst = append(dst, s[last:]...)
	return append(dst, '\\', '"')
}

// appendJavaDouble formats f as Java's Double.toString when that has no exponent
// (1e-3 ≤ |f| < 1e7, and zero), else as the exact decimal value (BigDecimal.toPlainString).
func appendJavaDouble(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	a := math.Abs(f)
	if f == 0 || (a >= 1e-3 && a < 1e7) {
		start := len(dst)
		dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
		for _, c := range dst[start:] {
			if c == '.' {
				return dst
			}
		}
		return append(dst, '.', '0')
	}
	s := new(big.Float).SetFloat64(f).Text('f', 1100)
	// Trim the zeros past the exact expansion, and a bare point.
	i := len(s)
	for i > 0 && s[i-1] == '0' {
		i--
	}
	if i > 0 && s[i-1] == '.' {
		i--
	}
	return append(dst, s[:i]...)
}

func appendJSONOpaque(dst []byte, typ ColumnType, b []byte, esc bool) ([]byte, bool) {
	switch typ {
	case TypeNewDecimal, TypeDecimal:
		if len(b) < 2 {
			return dst, false
		}
		u, bg, _, err := DecodeDecimal(b[2:], int(b[0]), int(b[1]))
		if err != nil {
			return dst, false
		}
		return appendDecimalText(dst, u, bg, int(b[1])), true
	case TypeDate, TypeTime, TypeTime2, TypeDateTime, TypeDateTime2, TypeTimestamp, TypeTimestamp2:
		if len(b) < 8 {
			return dst, false
		}
		raw := int64(binary.LittleEndian.Uint64(b))
		dst = appendQuote(dst, esc)
		if typ == TypeTime || typ == TypeTime2 {
			if raw < 0 {
				dst = append(dst, '-')
				raw = -raw
			}
			hms, frac := raw>>24, raw&(1<<24-1)
			dst = appendHMS(dst, int(hms>>12&1023), int(hms>>6&63), int(hms&63), frac)
		} else {
			if raw < 0 {
				raw = -raw
			}
			v, frac := raw>>24, raw&(1<<24-1)
			ymd := v >> 17
			ym := ymd >> 5
			dst = appendYMD(dst, int(ym/13), int(ym%13), int(ymd&31))
			if typ != TypeDate {
				hms := v & (1<<17 - 1)
				dst = append(dst, ' ')
				dst = appendHMS(dst, int(hms>>12), int(hms>>6&63), int(hms&63), frac)
			}
		}
		return appendQuote(dst, esc), true
	}
	dst = appendQuote(dst, esc)
	dst = base64.StdEncoding.AppendEncode(dst, b)
	return appendQuote(dst, esc), true
}

func append2(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/10%10), byte('0'+v%10))
}

func appendYMD(dst []byte, y, m, d int) []byte {
	if y < 1000 {
		dst = append(dst, byte('0'+y/1000%10), byte('0'+y/100%10))
		dst = append2(dst, y%100)
	} else {
		dst = strconv.AppendInt(dst, int64(y), 10)
	}
	dst = append(dst, '-')
	dst = append2(dst, m)
	dst = append(dst, '-')
	return append2(dst, d)
}

// appendHMS appends hh:mm:ss and, for a non-zero fraction, "." and the six-digit fraction
// with trailing zeros trimmed.
func appendHMS(dst []byte, h, m, s int, us int64) []byte {
	if h < 100 {
		dst = append2(dst, h)
	} else {
		dst = strconv.AppendInt(dst, int64(h), 10)
	}
	dst = append(dst, ':')
	dst = append2(dst, m)
	dst = append(dst, ':')
	dst = append2(dst, s)
	if us <= 0 || us >= 1e6 {
		return dst
	}
	var f [6]byte
	for i := 5; i >= 0; i-- {
		f[i] = byte('0' + us%10)
		us /= 10
	}
	n := 6
	for n > 0 && f[n-1] == '0' {
		n--
	}
	dst = append(dst, '.')
	return append(dst, f[:n]...)
}
