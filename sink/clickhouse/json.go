package clickhouse

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
	"unsafe"

	"github.com/sluicecdc/sluice/capture"
)

// A small JSON scanner for the hot path: it walks objects and arrays and hands out the raw bytes
// of each value without building maps. Returned slices alias the input.

var errJSON = errors.New("malformed JSON")

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// Byte classes of the scanner: one table lookup per byte instead of a chain of compares.
const (
	clsStrStop   = 1 << iota // ends the plain run of a string: '"' or '\\'
	clsScalarEnd             // ends a number or literal: ',', '}', ']' or a space
	clsNest                  // matters inside an object or array: '"', '{', '[', '}', ']'
)

var jsonClass = func() (t [256]uint8) {
	t['"'] |= clsStrStop | clsNest
	t['\\'] |= clsStrStop
	for _, c := range ",}] \n\r\t" {
		t[c] |= clsScalarEnd
	}
	for _, c := range "{[}]" {
		t[c] |= clsNest
	}
	return t
}()

// skipValue returns the index just past the JSON value starting at b[i] (after spaces).
func skipValue(b []byte, i int) (int, error) {
	i = skipSpace(b, i)
	if i >= len(b) {
		return 0, errJSON
	}
	switch c := b[i]; {
	case c == '"':
		return skipString(b, i)
	case c == '{' || c == '[':
		depth := 0
		for {
			for i < len(b) && jsonClass[b[i]]&clsNest == 0 {
				i++
			}
			if i >= len(b) {
				return 0, errJSON
			}
			switch b[i] {
			case '"':
				j, err := skipString(b, i)
				if err != nil {
					return 0, err
				}
				i = j
				continue
			case '{', '[':
				depth++
			default: // '}', ']'
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
	default:
		j := i
		for j < len(b) && jsonClass[b[j]]&clsScalarEnd == 0 {
			j++
		}
		if j == i {
			return 0, errJSON
		}
		return j, nil
	}
}

// skipString returns the index past the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	j := i + 1
	for {
		for j < len(b) && jsonClass[b[j]]&clsStrStop == 0 {
			j++
		}
		if j >= len(b) {
			return 0, errJSON
		}
		if b[j] == '"' {
			return j + 1, nil
		}
		j += 2 // a backslash and the byte it escapes
	}
}

// eachField calls fn for each member of the JSON object b with the raw key (without quotes,
// escapes not resolved) and the raw value.
func eachField(b []byte, fn func(key, val []byte) error) error {
	_, err := eachFieldEnd(b, fn)
	return err
}

// eachMember walks the JSON object b like eachFieldEnd, but leaves each member's value to fn:
// fn gets the raw key and the index in b where the value starts, and returns the index just past
// the value (skipValue's answer when fn does not read it itself). It returns the index just past
// the object's '}'.
func eachMember(b []byte, fn func(key []byte, vs int) (int, error)) (int, error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return 0, fmt.Errorf("%w: want an object", errJSON)
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != '"' {
			return 0, errJSON
		}
		ke, err := skipString(b, i)
		if err != nil {
			return 0, err
		}
		key := b[i+1 : ke-1]
		i = skipSpace(b, ke)
		if i >= len(b) || b[i] != ':' {
			return 0, errJSON
		}
		vs := skipSpace(b, i+1)
		if vs >= len(b) {
			return 0, errJSON
		}
		ve, err := fn(key, vs)
		if err != nil {
			return 0, err
		}
		i = skipSpace(b, ve)
		if i >= len(b) {
			return 0, errJSON
		}
		if b[i] == '}' {
			return i + 1, nil
		}
		if b[i] != ',' {
			return 0, errJSON
		}
		i++
	}
}

// eachFieldEnd is eachField that also returns the index just past the object's '}'. It repeats
// eachMember's walk instead of calling it: the extra closure per member cost 3–4 % of
// BenchmarkColumnAppend, the sink's hot path.
func eachFieldEnd(b []byte, fn func(key, val []byte) error) (int, error) {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return 0, fmt.Errorf("%w: want an object", errJSON)
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		i = skipSpace(b, i)
		if i >= len(b) || b[i] != '"' {
			return 0, errJSON
		}
		ke, err := skipString(b, i)
		if err != nil {
			return 0, err
		}
		key := b[i+1 : ke-1]
		i = skipSpace(b, ke)
		if i >= len(b) || b[i] != ':' {
			return 0, errJSON
		}
		vs := skipSpace(b, i+1)
		ve, err := skipValue(b, vs)
		if err != nil {
			return 0, err
		}
		if err := fn(key, b[vs:ve]); err != nil {
			return 0, err
		}
		i = skipSpace(b, ve)
		if i >= len(b) {
			return 0, errJSON
		}
		if b[i] == '}' {
			return i + 1, nil
		}
		if b[i] != ',' {
			return 0, errJSON
		}
		i++
	}
}

// eachElem calls fn for each element of the JSON array b.
func eachElem(b []byte, fn func(val []byte) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '[' {
		return fmt.Errorf("%w: want an array", errJSON)
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return nil
	}
	for {
		vs := skipSpace(b, i)
		ve, err := skipValue(b, vs)
		if err != nil {
			return err
		}
		if err := fn(b[vs:ve]); err != nil {
			return err
		}
		i = skipSpace(b, ve)
		if i >= len(b) {
			return errJSON
		}
		if b[i] == ']' {
			return nil
		}
		if b[i] != ',' {
			return errJSON
		}
		i++
	}
}

// describeJSON names the kind and size of a JSON value for an error, never its content: errors
// are logged, and a row's values may be personal data.
func describeJSON(raw []byte) string {
	kind := "a number or literal"
	if len(raw) > 0 {
		switch raw[0] {
		case '"':
			kind = "a string"
		case '{':
			kind = "an object"
		case '[':
			kind = "an array"
		}
	}
	return fmt.Sprintf("%s of %d bytes", kind, len(raw))
}

func isNull(raw []byte) bool { return len(raw) == 4 && string(raw) == "null" }

// jsonString decodes a JSON string value; the fast paths copy bytes without escapes, or resolve
// the simple escapes (\" \\ \/ \b \f \n \r \t) of valid UTF-8 text in one pass; \u escapes and
// invalid UTF-8 go through encoding/json (which replaces invalid bytes with U+FFFD).
func jsonString(raw []byte) (string, error) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", fmt.Errorf("%w: want a string, got %s", errJSON, describeJSON(raw))
	}
	inner := raw[1 : len(raw)-1]
	// One pass over the usual ASCII text without escapes (no utf8.Valid pass after it).
	plain, ascii := true, true
	for _, c := range inner {
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			plain, ascii = c >= utf8.RuneSelf, false
			break
		}
	}
	if !ascii && plain {
		for _, c := range inner {
			if c == '\\' || c < 0x20 {
				plain = false
				break
			}
		}
	}
	if plain && (ascii || utf8.Valid(inner)) {
		return string(inner), nil
	}
	if !plain && utf8.Valid(inner) {
		if b, ok := capture.AppendUnescapedJSON(make([]byte, 0, len(inner)), inner); ok {
			return unsafe.String(unsafe.SliceData(b), len(b)), nil
		}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	return s, nil
}

// jsonInt parses a JSON integer without allocating.
func jsonInt(raw []byte) (int64, error) {
	if len(raw) == 0 {
		return 0, errJSON
	}
	neg := false
	i := 0
	if raw[0] == '-' {
		neg = true
		i = 1
	}
	if i == len(raw) || len(raw)-i > 19 {
		return 0, fmt.Errorf("%w: want an integer, got %s", errJSON, describeJSON(raw))
	}
	var n uint64
	for ; i < len(raw); i++ {
		c := raw[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: want an integer, got %s", errJSON, describeJSON(raw))
		}
		n = n*10 + uint64(c-'0')
	}
	if neg {
		if n > 1<<63 {
			return 0, fmt.Errorf("integer of %d digits out of range", len(raw))
		}
		return -int64(n), nil
	}
	if n > 1<<63-1 {
		return 0, fmt.Errorf("integer of %d digits out of range", len(raw))
	}
	return int64(n), nil
}

// fieldOf returns the raw value of key in object b, or nil.
func fieldOf(b []byte, key string) ([]byte, error) {
	var out []byte
	err := eachField(b, func(k, v []byte) error {
		if out == nil && string(k) == key {
			out = v
		}
		return nil
	})
	return out, err
}
