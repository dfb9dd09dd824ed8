package testkit

import (
	"encoding/binary"
	"math"
	"sort"
)

// JSONObject is a JSON object for JSONBinary: members {key string, value}. They are sorted as
// the server sorts keys (by length, then bytes) when encoded.
type JSONObject [][2]any

// JSONOpaque is a MySQL opaque JSON scalar (DECIMAL, DATE, TIME, DATETIME, BLOB…): the field
// type code and its binary data.
type JSONOpaque struct {
	Type byte
	Data []byte
}

// JSONBinary encodes v in MySQL's binary JSON: nil, bool, int, int64, uint64, float64,
// string, []any, JSONObject, JSONOpaque. Containers are small unless they do not fit.
func JSONBinary(v any) []byte {
	t, d := jsonEnc(v, false)
	return append([]byte{t}, d...)
}

// JSONBinaryLarge is JSONBinary with large (4-byte offset) containers throughout.
func JSONBinaryLarge(v any) []byte {
	t, d := jsonEnc(v, true)
	return append([]byte{t}, d...)
}

func jsonVarLen(dst []byte, n int) []byte {
	for {
		c := byte(n & 0x7f)
		n >>= 7
		if n == 0 {
			return append(dst, c)
		}
		dst = append(dst, c|0x80)
	}
}

func jsonEnc(v any, large bool) (byte, []byte) {
	switch x := v.(type) {
	case nil:
		return 4, []byte{0}
	case bool:
		if x {
			return 4, []byte{1}
		}
		return 4, []byte{2}
	case int:
		return jsonInt(int64(x))
	case int64:
		return jsonInt(x)
	case uint64:
		switch {
		case x <= math.MaxUint16:
			return 6, binary.LittleEndian.AppendUint16(nil, uint16(x))
		case x <= math.MaxUint32:
			return 8, binary.LittleEndian.AppendUint32(nil, uint32(x))
		}
		return 10, binary.LittleEndian.AppendUint64(nil, x)
	case float64:
		return 11, binary.LittleEndian.AppendUint64(nil, math.Float64bits(x))
	case string:
		return 12, append(jsonVarLen(nil, len(x)), x...)
	case JSONOpaque:
		return 15, append(jsonVarLen([]byte{x.Type}, len(x.Data)), x.Data...)
	case []any:
		if !large {
			if t, d, ok := jsonContainer(nil, x, false); ok {
				return t, d
			}
		}
		t, d, _ := jsonContainer(nil, x, true)
		return t, d
	case JSONObject:
		m := append(JSONObject(nil), x...)
		keys := make([]string, len(m))
		vals := make([]any, len(m))
		sort.SliceStable(m, func(i, j int) bool {
			a, b := m[i][0].(string), m[j][0].(string)
			if len(a) != len(b) {
				return len(a) < len(b)
			}
			return a < b
		})
		for i, e := range m {
			keys[i], vals[i] = e[0].(string), e[1]
		}
		if !large {
			if t, d, ok := jsonContainer(keys, vals, false); ok {
				return t, d
			}
		}
		t, d, _ := jsonContainer(keys, vals, true)
		return t, d
	}
	panic("testkit: JSONBinary: unsupported value")
}

func jsonInt(x int64) (byte, []byte) {
	switch {
	case x >= math.MinInt16 && x <= math.MaxInt16:
		return 5, binary.LittleEndian.AppendUint16(nil, uint16(x))
	case x >= math.MinInt32 && x <= math.MaxInt32:
		return 7, binary.LittleEndian.AppendUint32(nil, uint32(x))
	}
	return 9, binary.LittleEndian.AppendUint64(nil, uint64(x))
}

// jsonContainer encodes an object (keys != nil) or array. ok is false when a small container
// cannot hold it.
func jsonContainer(keys []string, vals []any, large bool) (byte, []byte, bool) {
	w := 2
	if large {
		w = 4
	}
	isObj := keys != nil
	n := len(vals)
	hdr := 2 * w
	entries := n * (1 + w)
	if isObj {
		entries += n * (w + 2)
	}
	body := make([]byte, hdr+entries)
	put := func(off, v int) {
		if large {
			binary.LittleEndian.PutUint32(body[off:], uint32(v))
		} else {
			binary.LittleEndian.PutUint16(body[off:], uint16(v))
		}
	}
	fits := func(v int) bool { return large || v <= math.MaxUint16 }
	if !fits(n) {
		return 0, nil, false
	}
	put(0, n)
	if isObj {
		for i, k := range keys {
			ko := hdr + i*(w+2)
			if !fits(len(body)) {
				return 0, nil, false
			}
			put(ko, len(body))
			binary.LittleEndian.PutUint16(body[ko+w:], uint16(len(k)))
			body = append(body, k...)
		}
	}
	vbase := hdr
	if isObj {
		vbase += n * (w + 2)
	}
	for i, v := range vals {
		t, d := jsonEnc(v, large)
		ve := vbase + i*(1+w)
		body[ve] = t
		inline := t == 4 || t == 5 || t == 6 || (large && (t == 7 || t == 8))
		if inline {
			copy(body[ve+1:ve+1+w], d)
			continue
		}
		if !fits(len(body)) {
			return 0, nil, false
		}
		put(ve+1, len(body))
		body = append(body, d...)
	}
	if !fits(len(body)) {
		return 0, nil, false
	}
	put(w, len(body))
	typ := byte(2)
	if isObj {
		typ = 0
	}
	if large {
		typ++
	}
	return typ, body, true
}
