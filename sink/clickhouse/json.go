package clickhouse

import (
	"bytes"
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
		for i < len(b) {
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
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, errJSON
	default:
		j := i
		for j < len(b) {
			c := b[j]
			if c == ',' || c == '}' || c == ']' || isSpace(c) {
				break
			}
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
	// short strings (keys, most values): a plain loop beats the IndexByte call
	for end := min(j+24, len(b)); j < end; j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	if j >= len(b) {
		return 0, errJSON
	}
	for {
		q := bytes.IndexByte(b[j:], '"')
		if q < 0 {
			return 0, errJSON
		}
		j += q
		// the quote ends the string unless an odd number of backslashes precede it
		bs := 0
		for k := j - 1; k > i && b[k] == '\\'; k-- {
			bs++
		}
		if bs%2 == 0 {
			return j + 1, nil
		}
		j++
	}
}

// eachField calls fn for each member of the JSON object b with the raw key (without quotes,
// escapes not resolved) and the raw value.
func eachField(b []byte, fn func(key, val []byte) error) error {
	_, err := eachFieldEnd(b, fn)
	return err
}

// eachFieldEnd is eachField that also returns the index just past the object's '}'.
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

func isNull(raw []byte) bool { return len(raw) == 4 && string(raw) == "null" }

// jsonString decodes a JSON string value; the fast paths copy bytes without escapes, or resolve
// the simple escapes (\" \\ \/ \b \f \n \r \t) of valid UTF-8 text in one pass; \u escapes and
// invalid UTF-8 go through encoding/json (which replaces invalid bytes with U+FFFD).
func jsonString(raw []byte) (string, error) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", fmt.Errorf("%w: want a string, got %.40s", errJSON, raw)
	}
	inner := raw[1 : len(raw)-1]
	plain := true
	for _, c := range inner {
		if c == '\\' || c < 0x20 {
			plain = false
			break
		}
	}
	if plain && utf8.Valid(inner) {
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
		return 0, fmt.Errorf("%w: want an integer, got %.40s", errJSON, raw)
	}
	var n uint64
	for ; i < len(raw); i++ {
		c := raw[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: want an integer, got %.40s", errJSON, raw)
		}
		n = n*10 + uint64(c-'0')
	}
	if neg {
		if n > 1<<63 {
			return 0, fmt.Errorf("integer %s out of range", raw)
		}
		return -int64(n), nil
	}
	if n > 1<<63-1 {
		return 0, fmt.Errorf("integer %s out of range", raw)
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
