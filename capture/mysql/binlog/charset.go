package binlog

import (
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"
)

// Column text arrives in the column's character set; capture.String holds UTF-8. The utf8,
// utf8mb4 and ascii collations pass through. latin1 (the server's latin1 is cp1252 with the
// five undefined bytes mapped to C1 controls) is converted with a table, other legacy
// character sets with golang.org/x/text. Collation ids not listed are taken as UTF-8.

// charsetKind says how to turn a column's bytes into UTF-8.
type charsetKind uint8

const (
	csUTF8 charsetKind = iota
	csLatin1
	csOther
)

// latin1High maps bytes 0x80–0x9f of the server's latin1; 0xa0–0xff are U+00A0–U+00FF.
var latin1High = [32]rune{
	0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
	0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
}

// collationCharset returns how collation id's text is encoded.
func collationCharset(id uint16) (charsetKind, encoding.Encoding) {
	switch id {
	case 5, 8, 15, 31, 47, 48, 49, 94:
		return csLatin1, nil
	case 2, 9, 21, 27, 77:
		return csOther, charmap.ISO8859_2
	case 26, 34, 44, 66, 99:
		return csOther, charmap.Windows1250
	case 14, 23, 50, 51, 52:
		return csOther, charmap.Windows1251
	case 57, 67:
		return csOther, charmap.Windows1256
	case 29, 58, 59:
		return csOther, charmap.Windows1257
	case 7, 74:
		return csOther, charmap.KOI8R
	case 22, 75:
		return csOther, charmap.KOI8U
	case 25, 70:
		return csOther, charmap.ISO8859_7
	case 16, 71:
		return csOther, charmap.ISO8859_8
	case 30, 78:
		return csOther, charmap.ISO8859_9
	case 20, 41, 42, 79:
		return csOther, charmap.ISO8859_13
	case 4, 80:
		return csOther, charmap.CodePage850
	case 40, 81:
		return csOther, charmap.CodePage852
	case 36, 68:
		return csOther, charmap.CodePage866
	case 13, 88, 95, 96:
		return csOther, japanese.ShiftJIS
	case 12, 91, 97, 98:
		return csOther, japanese.EUCJP
	case 28, 87, 24, 86:
		return csOther, simplifiedchinese.GBK
	case 248, 249, 250:
		return csOther, simplifiedchinese.GB18030
	case 1, 84:
		return csOther, traditionalchinese.Big5
	case 19, 85:
		return csOther, korean.EUCKR
	case 35, 90, 159, 54, 55:
		return csOther, unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)
	case 56, 62:
		return csOther, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)
	case 60, 61:
		return csOther, utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM)
	}
	switch {
	case id >= 101 && id <= 124, id >= 128 && id <= 151:
		return csOther, unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)
	case id >= 160 && id <= 183:
		return csOther, utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM)
	}
	return csUTF8, nil
}

// appendLatin1 appends the UTF-8 form of latin1 text.
func appendLatin1(dst, src []byte) []byte {
	for _, c := range src {
		switch {
		case c < 0x80:
			dst = append(dst, c)
		case c < 0xa0:
			dst = utf8.AppendRune(dst, latin1High[c-0x80])
		default:
			dst = utf8.AppendRune(dst, rune(c))
		}
	}
	return dst
}

// isASCII reports whether b has only 7-bit bytes (then every supported ASCII-compatible
// charset is already UTF-8).
func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
