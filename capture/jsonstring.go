package capture

import (
	"unicode/utf16"
	"unicode/utf8"
)

// AppendUnescapedJSON appends the body of a JSON string (the bytes between its quotes) with
// its escapes resolved, as encoding/json decodes them: \" \\ \/ \b \f \n \r \t, \uXXXX, a
// surrogate pair as one character and a lone surrogate as U+FFFD. ok is false for an unknown
// or truncated escape, a raw control character or a raw quote; other bytes are copied as they
// are (UTF-8 is not validated). The binlog's JSON-diff paths and the ClickHouse sink's record
// reader share this one copy.
func AppendUnescapedJSON(dst, s []byte) (_ []byte, ok bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' {
			return dst, false
		}
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		if i+1 == len(s) {
			return dst, false
		}
		switch s[i+1] {
		case '"', '\\', '/':
			dst = append(dst, s[i+1])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := escapedRune(s[i:])
			if r < 0 {
				return dst, false
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if dec := utf16.DecodeRune(r, escapedRune(s[i+2:])); dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
		default:
			return dst, false
		}
		i++
	}
	return dst, true
}

// escapedRune reads \uXXXX at the start of s; -1 when s does not start with one.
func escapedRune(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// EscapedJSONValue returns an EscapedJSON value of the escaped JSON text b.
func EscapedJSONValue(b []byte) Value { return Value{Kind: EscapedJSON, Bytes: b} }

// JSONText appends the JSON text of a JSON or EscapedJSON value to dst (an EscapedJSON's
// escapes resolved) and reports whether v is one of the two with a well-formed body. Readers of
// JSON column text (the signal table's data) use it so that both kinds read alike.
func (v Value) JSONText(dst []byte) ([]byte, bool) {
	switch v.Kind {
	case JSON:
		return append(dst, v.Bytes...), true
	case EscapedJSON:
		return AppendUnescapedJSON(dst, v.Bytes)
	}
	return dst, false
}
