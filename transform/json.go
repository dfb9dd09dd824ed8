package transform

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
)

// The transforms read and rewrite records as the encoder wrote them: compact JSON. They do not
// decode a record into a tree: a scanner finds the members they need (skipping the rest at
// memory speed, strings 8 bytes at a time) and the new record is put together from slices of
// the old one. Schemas, which repeat record after record, are rewritten once and cached.

var errJSON = errors.New("malformed JSON")

// skipSpace returns the index of the first non-space byte at or after i.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string whose opening quote is at b[i]. It reads 8
// bytes at a time (SWAR: a word test finds the first quote or backslash in them), then the
// last few one by one; an escape skips the byte after its backslash.
func skipString(b []byte, i int) (int, error) {
	i++
	for i+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i:])
		m := quoteOrBackslash(x)
		if m == 0 {
			i += 8
			continue
		}
		// The lowest flagged byte is exact (the borrow of the zero-byte test only runs upward);
		// it is read from x, not loaded again.
		t := bits.TrailingZeros64(m)
		if byte(x>>(t&^7)) == '"' {
			return i + t>>3 + 1, nil
		}
		i += t>>3 + 2
	}
	for i < len(b) {
		switch b[i] {
		case '"':
			return i + 1, nil
		case '\\':
			i += 2
		default:
			i++
		}
	}
	return 0, errJSON
}

const (
	lsb8 = 0x0101010101010101
	msb8 = 0x8080808080808080
)

// quoteOrBackslash has the high bit set in (at least) the lowest byte of x that is '"' or
// '\\' (little-endian: the first in memory), zero when there is none.
func quoteOrBackslash(x uint64) uint64 {
	q := x ^ (lsb8 * '"')
	e := x ^ (lsb8 * '\\')
	return ((q-lsb8)&^q | (e-lsb8)&^e) & msb8
}

var structural = [256]bool{'"': true, '{': true, '[': true, '}': true, ']': true}

// skipValue returns the index after the JSON value that starts at b[i] (no leading space).
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errJSON
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		return skipNested(b, i, 0)
	}
	// number, true, false, null
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ' ', '\n', '\t', '\r':
			if j == i {
				return 0, errJSON
			}
			return j, nil
		}
		j++
	}
	if j == i {
		return 0, errJSON
	}
	return j, nil
}

// member is one member of a JSON object: its key as written (without quotes, still escaped)
// and its value's bytes.
type member struct {
	key []byte
	val []byte
}

// eachMember calls f for every member of the object obj (compact or not) in order; f returns
// false to stop.
func eachMember(obj []byte, f func(key, val []byte) bool) error {
	_, err := eachMemberAt(obj, skipSpace(obj, 0), f, nil, false)
	return err
}

// eachMemberAt is eachMember over the object at obj[i]; it returns the index after the object
// (after the member f stopped at, if it did). inner, if not nil, is asked for each key: a
// visitor it returns is called for every member of that member's value (an object) in the same
// pass that finds its end, so a nested block is not scanned twice (once to skip it, once to
// read it); once the visitor returns false the rest of the block is skipped without reading
// its members. toEnd makes a stop by f return the index after the object, not after the member.
func eachMemberAt(obj []byte, i int, f func(key, val []byte) bool, inner func(key []byte) func(k, v []byte) bool, toEnd bool) (int, error) {
	if i >= len(obj) || obj[i] != '{' {
		return 0, errJSON
	}
	i = skipSpace(obj, i+1)
	if i < len(obj) && obj[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(obj) || obj[i] != '"' {
			return 0, errJSON
		}
		ke, err := skipString(obj, i)
		if err != nil {
			return 0, err
		}
		key := obj[i+1 : ke-1]
		i = skipSpace(obj, ke)
		if i >= len(obj) || obj[i] != ':' {
			return 0, errJSON
		}
		i = skipSpace(obj, i+1)
		var ve int
		if g := visitor(inner, key); g != nil && i < len(obj) && obj[i] == '{' {
			ve, err = eachMemberAt(obj, i, g, nil, true)
		} else {
			ve, err = skipValue(obj, i)
		}
		if err != nil {
			return 0, err
		}
		if !f(key, obj[i:ve]) {
			if toEnd {
				return skipRest(obj, ve)
			}
			return ve, nil
		}
		i = skipSpace(obj, ve)
		if i >= len(obj) {
			return 0, errJSON
		}
		if obj[i] == '}' {
			return i + 1, nil
		}
		if obj[i] != ',' {
			return 0, errJSON
		}
		i = skipSpace(obj, i+1)
	}
}

// skipRest returns the index after the object whose members continue at obj[i] (inside it,
// after a member).
func skipRest(obj []byte, i int) (int, error) { return skipNested(obj, i, 1) }

// skipNested returns the index after the object or array that closes when the nesting depth,
// depth at b[i], falls to 0; strings are skipped whole, so brackets inside them do not count.
func skipNested(b []byte, i, depth int) (int, error) {
	for i < len(b) {
		if !structural[b[i]] {
			i++
			continue
		}
		switch b[i] {
		case '"':
			e, err := skipString(b, i)
			if err != nil {
				return 0, err
			}
			i = e
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1, nil
			}
		}
		i++
	}
	return 0, errJSON
}

func visitor(inner func(key []byte) func(k, v []byte) bool, key []byte) func(k, v []byte) bool {
	if inner == nil {
		return nil
	}
	return inner(key)
}

// members returns every member of obj.
func members(obj []byte) ([]member, error) {
	var ms []member
	err := eachMember(obj, func(k, v []byte) bool {
		ms = append(ms, member{k, v})
		return true
	})
	return ms, err
}

// get returns the value of key in obj (nil when absent).
func get(obj []byte, key string) ([]byte, error) {
	var out []byte
	err := eachMember(obj, func(k, v []byte) bool {
		if string(k) == key {
			out = v
			return false
		}
		return true
	})
	return out, err
}

// eachElement calls f for every element of the array arr.
func eachElement(arr []byte, f func(val []byte) error) error {
	i := skipSpace(arr, 0)
	if i >= len(arr) || arr[i] != '[' {
		return errJSON
	}
	i = skipSpace(arr, i+1)
	if i < len(arr) && arr[i] == ']' {
		return nil
	}
	for {
		ve, err := skipValue(arr, i)
		if err != nil {
			return err
		}
		if err := f(arr[i:ve]); err != nil {
			return err
		}
		i = skipSpace(arr, ve)
		if i >= len(arr) {
			return errJSON
		}
		if arr[i] == ']' {
			return nil
		}
		if arr[i] != ',' {
			return errJSON
		}
		i = skipSpace(arr, i+1)
	}
}

// isNull reports whether v is absent or the JSON null.
func isNull(v []byte) bool { return len(v) == 0 || string(v) == "null" }

// unquote returns the text of the JSON string v as encoding/json reads it (a surrogate pair is
// one character); ok is false when v is not a well-formed string.
func unquote(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	inner := v[1 : len(v)-1]
	if bytes.IndexByte(inner, '\\') < 0 {
		return string(inner), true
	}
	out, ok := capture.AppendUnescapedJSON(make([]byte, 0, len(inner)), inner)
	if !ok {
		return "", false
	}
	return string(out), true
}

// headerText is a value as Kafka Connect's SimpleHeaderConverter writes a header: a string
// without quotes, other values as their JSON text, null as a null header value.
func headerText(v []byte) []byte {
	if isNull(v) {
		return nil
	}
	if v[0] == '"' {
		s, _ := unquote(v)
		return []byte(s)
	}
	return v
}

// appendObject appends {"k":v,...} of ms.
func appendObject(dst []byte, ms []member) []byte {
	dst = append(dst, '{')
	for i, m := range ms {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, m.key...)
		dst = append(dst, '"', ':')
		dst = append(dst, m.val...)
	}
	return append(dst, '}')
}

// appendKey appends "key": with key escaped.
func appendKey(dst []byte, key string) []byte {
	dst = envelope.AppendJSONString(dst, key)
	return append(dst, ':')
}

// split is a record's value (or key) as the JsonConverter wrote it: with schemas enabled
// {"schema":S,"payload":P}, else P alone.
type split struct {
	schema  []byte // nil without schemas
	payload []byte
}

// splitRecord splits v; withSchema says whether the converter wrote schemas. A value that is
// not such an object (a tombstone) gives a zero split.
func splitRecord(v []byte, withSchema bool) (split, error) {
	if v == nil {
		return split{}, nil
	}
	if !withSchema {
		return split{payload: v}, nil
	}
	var s split
	err := eachMember(v, func(k, val []byte) bool {
		switch string(k) {
		case "schema":
			s.schema = val
		case "payload":
			s.payload = val
		}
		return true
	})
	if err != nil {
		return split{}, fmt.Errorf("record with schema: %w", err)
	}
	if s.schema == nil {
		return split{}, errors.New("record with schema: no schema member (is schemas.enable right?)")
	}
	return s, nil
}

// appendWithSchema appends {"schema":schema,"payload":payload}, or payload alone when schema
// is nil.
func appendWithSchema(dst, schema, payload []byte) []byte {
	if schema == nil {
		return append(dst, payload...)
	}
	dst = append(dst, `{"schema":`...)
	dst = append(dst, schema...)
	dst = append(dst, `,"payload":`...)
	dst = append(dst, payload...)
	return append(dst, '}')
}
