package binlog

import (
	"bytes"
	"errors"
	"strconv"

	"github.com/sluicecdc/sluice/capture"
)

// Partial JSON updates (PARTIAL_UPDATE_ROWS_EVENT, binlog_row_value_options=PARTIAL_JSON):
// the after value of a JSON column may be a list of diffs against the before value. Each diff
// is an operation byte (0 replace, 1 insert, 2 remove), a path (variable-length length + text,
// e.g. $.a[2]."b c"), and for replace/insert a value (variable-length length + binary JSON).
// ApplyJSONDiff applies such a list to the binary before value and renders the result as text,
// ordering object keys as the server stores them (by length, then bytes), so the text equals
// what a full after image would have given.

var errJSONDiff = errors.New("binlog: cannot apply JSON diff")

// jnode is a parsed binary JSON value: containers are expanded, scalars keep their binary
// form (type byte and data) for rendering.
type jnode struct {
	typ  byte
	data []byte   // scalar: the value's data
	keys [][]byte // object member names (UTF-8, unescaped)
	vals []*jnode // object member values or array elements
}

func parseJNode(typ byte, b []byte, depth int) (*jnode, bool) {
	if depth > jsonMaxDepth {
		return nil, false
	}
	switch typ {
	case jsonSmallObject, jsonLargeObject, jsonSmallArray, jsonLargeArray:
	default:
		// Validate the scalar by rendering it once.
		if _, ok := appendJSONValue(nil, typ, b, depth, false); !ok {
			return nil, false
		}
		return &jnode{typ: typ, data: b}, true
	}
	large := typ == jsonLargeObject || typ == jsonLargeArray
	isObj := typ == jsonSmallObject || typ == jsonLargeObject
	w := 2
	if large {
		w = 4
	}
	count, ok1 := jsonOff(b, large, 0)
	size, ok2 := jsonOff(b, large, w)
	if !ok1 || !ok2 || size > len(b) || count > size {
		return nil, false
	}
	b = b[:size]
	n := &jnode{typ: typ}
	hdr, keyEntry, valEntry := 2*w, w+2, 1+w
	valBase := hdr
	if isObj {
		valBase += count * keyEntry
	}
	for i := 0; i < count; i++ {
		if isObj {
			ko, ok := jsonOff(b, large, hdr+i*keyEntry)
			if !ok || hdr+i*keyEntry+w+2 > len(b) {
				return nil, false
			}
			kl := int(b[hdr+i*keyEntry+w]) | int(b[hdr+i*keyEntry+w+1])<<8
			if ko+kl > len(b) {
				return nil, false
			}
			n.keys = append(n.keys, b[ko:ko+kl])
		}
		ve := valBase + i*valEntry
		if ve+valEntry > len(b) {
			return nil, false
		}
		vt := b[ve]
		inl := b[ve+1 : ve+1+w]
		var child *jnode
		switch {
		case vt == jsonLiteral, vt == jsonInt16, vt == jsonUint16, large && (vt == jsonInt32 || vt == jsonUint32):
			child = &jnode{typ: vt, data: inl}
		default:
			off, ok := jsonOff(b, large, ve+1)
			if !ok || off < valBase+count*valEntry || off >= len(b) {
				return nil, false
			}
			if child, ok = parseJNode(vt, b[off:], depth+1); !ok {
				return nil, false
			}
		}
		n.vals = append(n.vals, child)
	}
	return n, true
}

func (n *jnode) isObj() bool { return n.typ == jsonSmallObject || n.typ == jsonLargeObject }
func (n *jnode) isArr() bool { return n.typ == jsonSmallArray || n.typ == jsonLargeArray }

func keyLess(a, b []byte) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return bytes.Compare(a, b) < 0
}

func (n *jnode) find(key []byte) int {
	for i, k := range n.keys {
		if bytes.Equal(k, key) {
			return i
		}
	}
	return -1
}

func (n *jnode) render(dst []byte) ([]byte, bool) {
	switch {
	case n.isObj():
		// Keys in the server's storage order.
		idx := make([]int, len(n.keys))
		for i := range idx {
			idx[i] = i
		}
		for i := 1; i < len(idx); i++ {
			for j := i; j > 0 && keyLess(n.keys[idx[j]], n.keys[idx[j-1]]); j-- {
				idx[j], idx[j-1] = idx[j-1], idx[j]
			}
		}
		dst = append(dst, '{')
		for c, i := range idx {
			if c > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, n.keys[i], false)
			dst = append(dst, ':')
			var ok bool
			if dst, ok = n.vals[i].render(dst); !ok {
				return dst, false
			}
		}
		return append(dst, '}'), true
	case n.isArr():
		dst = append(dst, '[')
		for i, v := range n.vals {
			if i > 0 {
				dst = append(dst, ',')
			}
			var ok bool
			if dst, ok = v.render(dst); !ok {
				return dst, false
			}
		}
		return append(dst, ']'), true
	}
	if n.typ == jsonLiteral {
		if len(n.data) == 0 {
			return dst, false
		}
		return appendJSONLiteral(dst, n.data[0])
	}
	return appendJSONValue(dst, n.typ, n.data, 0, false)
}

// jsonLeg is one step of a path: a member name or an array index.
type jsonLeg struct {
	key   []byte
	index int
	isKey bool
}

// parseJSONPath parses the paths the server writes in diffs: $ followed by .name, ."quoted
// name" and [index] legs.
func parseJSONPath(p []byte) ([]jsonLeg, bool) {
	if len(p) == 0 || p[0] != '$' {
		return nil, false
	}
	var legs []jsonLeg
	i := 1
	for i < len(p) {
		switch p[i] {
		case ' ':
			i++
		case '.':
			i++
			if i < len(p) && p[i] == '"' {
				// JSON string syntax (the server escapes as JSON does: json_dom.cc double_quote).
				j := i + 1
				for j < len(p) && p[j] != '"' {
					if p[j] == '\\' {
						j++
					}
					j++
				}
				if j >= len(p) {
					return nil, false
				}
				key, ok := capture.AppendUnescapedJSON(nil, p[i+1:j])
				if !ok {
					return nil, false
				}
				legs = append(legs, jsonLeg{key: key, isKey: true})
				i = j + 1
				continue
			}
			j := i
			for j < len(p) && p[j] != '.' && p[j] != '[' {
				j++
			}
			if j == i {
				return nil, false
			}
			legs = append(legs, jsonLeg{key: p[i:j], isKey: true})
			i = j
		case '[':
			j := i + 1
			for j < len(p) && p[j] != ']' {
				j++
			}
			if j >= len(p) {
				return nil, false
			}
			v, err := strconv.Atoi(string(bytes.TrimSpace(p[i+1 : j])))
			if err != nil || v < 0 {
				return nil, false
			}
			legs = append(legs, jsonLeg{index: v})
			i = j + 1
		default:
			return nil, false
		}
	}
	return legs, true
}

// ApplyJSONDiff applies a PARTIAL_UPDATE_ROWS diff list to the binary JSON before value and
// appends the resulting text to dst.
func ApplyJSONDiff(dst, before, diff []byte) ([]byte, error) {
	if len(before) == 0 {
		return dst, errJSONDiff
	}
	root, ok := parseJNode(before[0], before[1:], 0)
	if !ok {
		return dst, ErrJSON
	}
	for len(diff) > 0 {
		op := diff[0]
		pl, k, ok := jsonVarLen(diff[1:])
		if !ok || op > 2 || pl > len(diff)-1-k {
			return dst, errJSONDiff
		}
		path := diff[1+k : 1+k+pl]
		diff = diff[1+k+pl:]
		var val *jnode
		if op != 2 {
			vl, k, ok := jsonVarLen(diff)
			if !ok || vl < 1 || vl > len(diff)-k {
				return dst, errJSONDiff
			}
			v := diff[k : k+vl]
			diff = diff[k+vl:]
			if val, ok = parseJNode(v[0], v[1:], 0); !ok {
				return dst, ErrJSON
			}
		}
		legs, ok := parseJSONPath(path)
		if !ok {
			return dst, errJSONDiff
		}
		if len(legs) == 0 {
			if op != 0 {
				return dst, errJSONDiff
			}
			root = val
			continue
		}
		parent := root
		for _, l := range legs[:len(legs)-1] {
			if parent = parent.child(l); parent == nil {
				return dst, errJSONDiff
			}
		}
		if !parent.apply(op, legs[len(legs)-1], val) {
			return dst, errJSONDiff
		}
	}
	start := len(dst)
	dst, ok = root.render(dst)
	if !ok {
		return dst[:start], ErrJSON
	}
	return dst, nil
}

func (n *jnode) child(l jsonLeg) *jnode {
	if l.isKey {
		if !n.isObj() {
			return nil
		}
		if i := n.find(l.key); i >= 0 {
			return n.vals[i]
		}
		return nil
	}
	if !n.isArr() || l.index >= len(n.vals) {
		return nil
	}
	return n.vals[l.index]
}

// apply performs op (0 replace, 1 insert, 2 remove) at leg l of n.
func (n *jnode) apply(op byte, l jsonLeg, val *jnode) bool {
	if l.isKey {
		if !n.isObj() {
			return false
		}
		i := n.find(l.key)
		switch {
		case op == 0 && i >= 0:
			n.vals[i] = val
		case op == 1 && i < 0:
			n.keys = append(n.keys, l.key)
			n.vals = append(n.vals, val)
		case op == 2 && i >= 0:
			n.keys = append(n.keys[:i], n.keys[i+1:]...)
			n.vals = append(n.vals[:i], n.vals[i+1:]...)
		default:
			return false
		}
		return true
	}
	if !n.isArr() {
		return false
	}
	i := l.index
	switch {
	case op == 0 && i < len(n.vals):
		n.vals[i] = val
	case op == 1:
		i = min(i, len(n.vals))
		n.vals = append(n.vals, nil)
		copy(n.vals[i+1:], n.vals[i:])
		n.vals[i] = val
	case op == 2 && i < len(n.vals):
		n.vals = append(n.vals[:i], n.vals[i+1:]...)
	default:
		return false
	}
	return true
}
