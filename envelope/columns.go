package envelope

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/sluicecdc/sluice/capture"
)

// ColumnOptions are Debezium's per-column options, applied as the encoder writes a column (in
// keys too) and in its schema:
//
//   - column.truncate.to.<n>.chars=<regexes>: strings longer than n characters (UTF-16 units,
//     as Java counts) are cut, binary values longer than n bytes too; schema parameter
//     truncateLength (only on columns declared longer than n, or without length).
//   - column.mask.with.<n>.chars=<regexes>: the values of character columns become n '*'
//     (a NULL too, as Debezium's MaskingValueConverter writes); schema parameter masked=true.
//   - column.mask.hash.[v2.]<algorithm>.with.salt.<salt>=<regexes>: the values of character
//     columns become the hex digest of salt + the value, cut to the column's length; v1
//     (Debezium's default) hashes the value's Java serialization (ObjectOutputStream: AC ED 00
//     05 74, a two-byte length, modified UTF-8), v2 its UTF-8 bytes; schema parameter
//     masked=true. Algorithms: MD5, SHA-1, SHA-224, SHA-256, SHA-384, SHA-512, SHA-512/224,
//     SHA-512/256, SHA3-224 … SHA3-512 (Java's names, any case).
//   - column.propagate.source.type=<regexes>: schema parameters __debezium.source.column.type
//     (upper case), .length, .scale, .comment and .name.
//   - message.key.columns=<table regex>:<col>,<col>;…: the record key's columns for the
//     matching tables, in place of the primary key.
//
// Regexes are comma-separated, matched case-insensitively against the whole
// <db>.<table>.<column> (MySQL) or <schema>.<table>.<column> (PostgreSQL). As in Debezium
// (ColumnMappers), one rule applies to a column: the first that matches, truncate rules before
// mask, propagate and hash rules.
type ColumnOptions struct {
	rules []columnRule
	// KeyColumns is message.key.columns.
	KeyColumns string
	keys       []keyColumns
}

type ruleKind uint8

const (
	ruleTruncate ruleKind = iota
	ruleMask
	rulePropagate
	ruleHash
	ruleHashV2
)

type columnRule struct {
	kind    ruleKind
	key     string // the property, for ordering and errors
	columns []*regexp.Regexp
	n       int
	algo    string
	salt    []byte
}

type keyColumns struct {
	columns []*regexp.Regexp // <table regex>.<column>
}

var (
	truncateKey = regexp.MustCompile(`^column\.truncate\.to\.(\d+)\.chars$`)
	maskKey     = regexp.MustCompile(`^column\.mask\.with\.(\d+)\.chars$`)
	hashKey     = regexp.MustCompile(`^column\.mask\.hash\.(v2\.)?([^.]+)\.with\.salt\.(.+)$`)
)

// IsColumnOption reports whether key is one of the column options ColumnOptions.Set reads.
func IsColumnOption(key string) bool {
	return key == "column.propagate.source.type" || key == "message.key.columns" ||
		truncateKey.MatchString(key) || maskKey.MatchString(key) || hashKey.MatchString(key)
}

// Set reads one column option property.
func (o *ColumnOptions) Set(key, value string) error {
	if key == "message.key.columns" {
		return o.SetKeyColumns(value)
	}
	r := columnRule{key: key}
	switch {
	case key == "column.propagate.source.type":
		r.kind = rulePropagate
	case truncateKey.MatchString(key):
		r.kind = ruleTruncate
		r.n, _ = strconv.Atoi(truncateKey.FindStringSubmatch(key)[1])
	case maskKey.MatchString(key):
		r.kind = ruleMask
		r.n, _ = strconv.Atoi(maskKey.FindStringSubmatch(key)[1])
	case hashKey.MatchString(key):
		m := hashKey.FindStringSubmatch(key)
		r.kind, r.algo, r.salt = ruleHash, strings.ToUpper(m[2]), []byte(m[3])
		if m[1] != "" {
			r.kind = ruleHashV2
		}
		if newHash(r.algo) == nil {
			return fmt.Errorf("%s: hash algorithm %q: want MD5, SHA-1, SHA-224, SHA-256, SHA-384, SHA-512, SHA-512/224, SHA-512/256 or SHA3-224/256/384/512", key, m[2])
		}
	default:
		return fmt.Errorf("%s: not a column option", key)
	}
	var err error
	if r.columns, err = regexList(value); err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	o.rules = append(o.rules, r)
	sort.SliceStable(o.rules, func(i, j int) bool {
		if o.rules[i].kind != o.rules[j].kind {
			return o.rules[i].kind < o.rules[j].kind
		}
		return o.rules[i].key < o.rules[j].key
	})
	return nil
}

// SetKeyColumns reads message.key.columns.
func (o *ColumnOptions) SetKeyColumns(value string) error {
	o.KeyColumns, o.keys = value, nil
	if strings.TrimSpace(value) == "" {
		return nil
	}
	for _, entry := range strings.Split(value, ";") {
		table, cols, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok || strings.TrimSpace(table) == "" || strings.TrimSpace(cols) == "" {
			return fmt.Errorf("message.key.columns %q: want <table regex>:<column>,<column>;…", entry)
		}
		var k keyColumns
		for _, c := range strings.Split(cols, ",") {
			re, err := regexp.Compile(`(?i)^(?:` + strings.TrimSpace(table) + `\.` + regexp.QuoteMeta(strings.TrimSpace(c)) + `)$`)
			if err != nil {
				return fmt.Errorf("message.key.columns %q: %w", entry, err)
			}
			k.columns = append(k.columns, re)
		}
		o.keys = append(o.keys, k)
	}
	return nil
}

func regexList(value string) ([]*regexp.Regexp, error) {
	var out []*regexp.Regexp
	for _, s := range strings.Split(value, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		re, err := regexp.Compile(`(?i)^(?:` + s + `)$`)
		if err != nil {
			return nil, fmt.Errorf("regex %q: %w", s, err)
		}
		out = append(out, re)
	}
	if len(out) == 0 {
		return nil, errors.New("no column regex given")
	}
	return out, nil
}

func newHash(algo string) hash.Hash {
	switch algo {
	case "MD5":
		return md5.New()
	case "SHA-1", "SHA1", "SHA":
		return sha1.New()
	case "SHA-224":
		return sha256.New224()
	case "SHA-256":
		return sha256.New()
	case "SHA-384":
		return sha512.New384()
	case "SHA-512":
		return sha512.New()
	case "SHA-512/224":
		return sha512.New512_224()
	case "SHA-512/256":
		return sha512.New512_256()
	case "SHA3-224":
		return sha3.New224()
	case "SHA3-256":
		return sha3.New256()
	case "SHA3-384":
		return sha3.New384()
	case "SHA3-512":
		return sha3.New512()
	}
	return nil
}

// characterTypes are the source types Debezium's MaskStrings masks (JDBC CHAR, VARCHAR,
// LONGVARCHAR, CLOB and their N forms).
var characterTypes = map[string]bool{"char": true, "varchar": true, "text": true, "tinytext": true, "mediumtext": true,
	"longtext": true, "bpchar": true, "character": true, "character varying": true, "nchar": true, "nvarchar": true,
	"national char": true, "national varchar": true, "name": true}

// colRule is a rule compiled for one column of one table version. It holds the scratch
// buffers of the value it writes (the encoder is not concurrent).
type colRule struct {
	r      *columnRule
	length int // the column's declared length, or -1
	h      hash.Hash
	buf    []byte
	v      capture.Value
}

// applyColumnOptions picks each column's rule, adds its schema parameters and overrides the
// key columns (message.key.columns). It runs once per table version, before the column plans
// are compiled; te.rules[i] is nil for columns without a rule.
func (e *Encoder) applyColumnOptions(te *tableEnc) {
	o := &e.cfg.Columns
	if len(o.rules) == 0 && len(o.keys) == 0 {
		return
	}
	t := te.t
	te.rules = make([]*colRule, len(t.Columns))
	for i := range t.Columns {
		c := &t.Columns[i]
		id := t.ID.String() + "." + c.Name
		var r *columnRule
		for k := range o.rules {
			if matchAny(o.rules[k].columns, id) {
				r = &o.rules[k]
				break
			}
		}
		if r == nil || te.maps[i].Omitted() {
			continue
		}
		m := &te.maps[i]
		s := *m.Schema // the mapping's schema may be shared: change a copy
		s.Params = append([]Param(nil), s.Params...)
		cr := &colRule{r: r, length: c.Length}
		switch r.kind {
		case ruleTruncate:
			if c.Length < 0 || c.Length > r.n {
				s.Params = append(s.Params, Param{"truncateLength", strconv.Itoa(r.n)})
				te.rules[i] = cr
			}
		case ruleMask, ruleHash, ruleHashV2:
			s.Params = append(s.Params, Param{"masked", "true"})
			if characterTypes[c.Type] && !c.Array {
				if r.kind != ruleMask {
					cr.h = newHash(r.algo)
				}
				te.rules[i] = cr
			}
		case rulePropagate:
			typ := strings.ToUpper(c.Type)
			if c.Unsigned {
				typ += " UNSIGNED"
			}
			s.Params = append(s.Params, Param{"__debezium.source.column.type", typ})
			if c.Length >= 0 {
				s.Params = append(s.Params, Param{"__debezium.source.column.length", strconv.Itoa(c.Length)})
			}
			if c.Scale >= 0 {
				s.Params = append(s.Params, Param{"__debezium.source.column.scale", strconv.Itoa(c.Scale)})
			}
			if c.Comment != "" {
				s.Params = append(s.Params, Param{"__debezium.source.column.comment", c.Comment})
			}
			s.Params = append(s.Params, Param{"__debezium.source.column.name", c.Name})
		}
		m.Schema = &s
	}
	for _, k := range o.keys {
		for _, re := range k.columns {
			for i := range t.Columns {
				if re.MatchString(t.ID.String()+"."+t.Columns[i].Name) && !containsInt(te.keyCols, i) {
					te.keyCols = append(te.keyCols, i)
				}
			}
		}
	}
}

func matchAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// apply returns the value to write in place of v.
func (c *colRule) apply(v *capture.Value) *capture.Value {
	switch c.r.kind {
	case ruleMask:
		c.buf = c.buf[:0]
		for range c.r.n {
			c.buf = append(c.buf, '*')
		}
		c.v = capture.StringValue(c.buf)
		return &c.v
	case ruleTruncate:
		switch v.Kind {
		case capture.String:
			if cut := utf16Prefix(v.Bytes, c.r.n); cut < len(v.Bytes) {
				c.v = *v
				c.v.Bytes = v.Bytes[:cut]
				return &c.v
			}
		case capture.Bytes:
			if len(v.Bytes) > c.r.n {
				c.v = *v
				c.v.Bytes = v.Bytes[:c.r.n]
				return &c.v
			}
		}
		return v
	case ruleHash, ruleHashV2:
		if v.Kind != capture.String {
			return v // null stays null (Debezium hashes only Serializable values)
		}
		c.h.Reset()
		c.h.Write(c.r.salt)
		if c.r.kind == ruleHashV2 {
			c.h.Write(v.Bytes)
		} else {
			c.buf = appendJavaSerializedString(c.buf[:0], v.Bytes)
			c.h.Write(c.buf)
		}
		sum := c.h.Sum(nil)
		c.buf = hex.AppendEncode(c.buf[:0], sum)
		if c.length > 0 && len(c.buf) > c.length {
			c.buf = c.buf[:c.length]
		}
		c.v = capture.StringValue(c.buf)
		return &c.v
	}
	return v
}

// utf16Prefix returns the byte length of the longest prefix of the UTF-8 text s that is at most
// n UTF-16 units (Java's String.substring(0, n); a character outside the BMP counts two and is
// not split).
func utf16Prefix(s []byte, n int) int {
	units := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRune(s[i:])
		u := 1
		if r >= 0x10000 {
			u = 2
		}
		if units+u > n {
			return i
		}
		units += u
		i += size
	}
	return len(s)
}

// appendJavaSerializedString appends what java.io.ObjectOutputStream writes for a String:
// the stream header AC ED 00 05, then TC_STRING (74) with a two-byte length, or TC_LONGSTRING
// (7C) with an eight-byte length past 65535 bytes, and the text in Java's modified UTF-8
// (U+0000 as C0 80, characters outside the BMP as two three-byte surrogates).
func appendJavaSerializedString(dst, s []byte) []byte {
	var mu []byte
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRune(s[i:])
		i += size
		switch {
		case r == 0:
			mu = append(mu, 0xC0, 0x80)
		case r < 0x80:
			mu = append(mu, byte(r))
		case r < 0x800:
			mu = append(mu, 0xC0|byte(r>>6), 0x80|byte(r&0x3F))
		case r < 0x10000:
			mu = append(mu, 0xE0|byte(r>>12), 0x80|byte(r>>6&0x3F), 0x80|byte(r&0x3F))
		default:
			hi, lo := utf16.EncodeRune(r)
			for _, u := range []rune{hi, lo} {
				mu = append(mu, 0xE0|byte(u>>12), 0x80|byte(u>>6&0x3F), 0x80|byte(u&0x3F))
			}
		}
	}
	dst = append(dst, 0xAC, 0xED, 0x00, 0x05)
	if len(mu) <= 0xFFFF {
		dst = append(dst, 0x74)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(mu)))
	} else {
		dst = append(dst, 0x7C)
		dst = binary.BigEndian.AppendUint64(dst, uint64(len(mu)))
	}
	return append(dst, mu...)
}

// keyColumns returns the key column indexes te uses: message.key.columns' for a
// matching table, else the primary key.
func (te *tableEnc) keyColumns() []int {
	if len(te.keyCols) > 0 {
		return te.keyCols
	}
	return te.t.PrimaryKey
}

// rule returns column i's compiled rule, or nil.
func (te *tableEnc) rule(i int) *colRule {
	if i < len(te.rules) {
		return te.rules[i]
	}
	return nil
}
