package transform

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/sluicecdc/sluice/envelope"
)

// table.expand.json.payload: Debezium parses the payload text with Jackson, infers a Connect
// schema from it (JsonSchemaData) and writes the struct it builds, so the output is not the
// text as stored: null members and empty arrays are left out (their type is unknown), numbers
// become int32, int64 or double (written as Java prints a double), and an array of objects
// takes the union of its elements' fields.

// jnode is a parsed JSON value that keeps member order.
type jnode struct {
	kind byte // 's' string, 'b' bool, 'i' int32, 'l' int64, 'd' double, 'a' array, 'o' object, 'n' null
	raw  []byte
	num  float64
	keys []string
	vals []*jnode
}

func parseJSON(b []byte) (*jnode, error) {
	i := skipSpace(b, 0)
	n, end, err := parseNode(b, i, 0)
	if err != nil {
		return nil, err
	}
	if skipSpace(b, end) != len(b) {
		return nil, errJSON
	}
	return n, nil
}

func parseNode(b []byte, i, depth int) (*jnode, int, error) {
	if depth > 200 {
		return nil, 0, errors.New("JSON nested too deep")
	}
	if i >= len(b) {
		return nil, 0, errJSON
	}
	switch b[i] {
	case '{':
		n := &jnode{kind: 'o'}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			return n, i + 1, nil
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return nil, 0, errJSON
			}
			ke, err := skipString(b, i)
			if err != nil {
				return nil, 0, err
			}
			key, _ := unquote(b[i:ke])
			i = skipSpace(b, ke)
			if i >= len(b) || b[i] != ':' {
				return nil, 0, errJSON
			}
			v, e, err := parseNode(b, skipSpace(b, i+1), depth+1)
			if err != nil {
				return nil, 0, err
			}
			n.keys, n.vals = append(n.keys, key), append(n.vals, v)
			i = skipSpace(b, e)
			if i < len(b) && b[i] == '}' {
				return n, i + 1, nil
			}
			if i >= len(b) || b[i] != ',' {
				return nil, 0, errJSON
			}
			i = skipSpace(b, i+1)
		}
	case '[':
		n := &jnode{kind: 'a'}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == ']' {
			return n, i + 1, nil
		}
		for {
			v, e, err := parseNode(b, i, depth+1)
			if err != nil {
				return nil, 0, err
			}
			n.vals = append(n.vals, v)
			i = skipSpace(b, e)
			if i < len(b) && b[i] == ']' {
				return n, i + 1, nil
			}
			if i >= len(b) || b[i] != ',' {
				return nil, 0, errJSON
			}
			i = skipSpace(b, i+1)
		}
	case '"':
		e, err := skipString(b, i)
		if err != nil {
			return nil, 0, err
		}
		return &jnode{kind: 's', raw: b[i:e]}, e, nil
	}
	e, err := skipValue(b, i)
	if err != nil {
		return nil, 0, err
	}
	lit := string(b[i:e])
	switch lit {
	case "true", "false":
		return &jnode{kind: 'b', raw: b[i:e]}, e, nil
	case "null":
		return &jnode{kind: 'n'}, e, nil
	}
	if !strings.ContainsAny(lit, ".eE") {
		if v, err := strconv.ParseInt(lit, 10, 64); err == nil {
			if v >= math.MinInt32 && v <= math.MaxInt32 {
				return &jnode{kind: 'i', raw: b[i:e]}, e, nil
			}
			return &jnode{kind: 'l', raw: b[i:e]}, e, nil
		}
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return nil, 0, errJSON
	}
	return &jnode{kind: 'd', num: f}, e, nil
}

// jschema is an inferred Connect schema.
type jschema struct {
	typ    string // string, boolean, int32, int64, double, array, struct
	name   string
	items  *jschema
	fields []string
	types  []*jschema
}

// inferSchema is JsonSchemaData.toConnectSchema (null and empty arrays: no schema).
func inferSchema(key string, n *jnode) (*jschema, error) {
	switch n.kind {
	case 's':
		return &jschema{typ: "string"}, nil
	case 'b':
		return &jschema{typ: "boolean"}, nil
	case 'i':
		return &jschema{typ: "int32"}, nil
	case 'l':
		return &jschema{typ: "int64"}, nil
	case 'd':
		return &jschema{typ: "double"}, nil
	case 'a':
		if len(n.vals) == 0 {
			return nil, nil
		}
		var items *jschema
		var ref *jnode
		for _, v := range n.vals {
			if v.kind == 'n' {
				continue
			}
			if ref == nil {
				ref = v
			}
			same := v.kind == ref.kind || (v.kind == 'i' || v.kind == 'l' || v.kind == 'd') && (ref.kind == 'i' || ref.kind == 'l' || ref.kind == 'd')
			if !same || v.kind != ref.kind && (ref.kind == 'i' || ref.kind == 'l' || ref.kind == 'd') {
				return nil, fmt.Errorf("field %s is not a homogenous array", key)
			}
		}
		if ref == nil {
			return nil, fmt.Errorf("array %s has unrecognized member schema", key)
		}
		if ref.kind == 'o' {
			for _, v := range n.vals {
				if v.kind != 'o' {
					continue
				}
				s, err := inferSchema(key, v)
				if err != nil {
					return nil, err
				}
				items = mergeSchema(items, s)
			}
		} else {
			s, err := inferSchema("", ref)
			if err != nil {
				return nil, err
			}
			if s == nil {
				return nil, fmt.Errorf("array %s has unrecognized member schema", key)
			}
			items = s
		}
		return &jschema{typ: "array", items: items}, nil
	case 'o':
		s := &jschema{typ: "struct", name: key}
		for i, k := range n.keys {
			fk := k
			if key != "" {
				fk = key + "." + k
			}
			fs, err := inferSchema(fk, n.vals[i])
			if err != nil {
				return nil, err
			}
			if fs != nil && !containsStr(s.fields, k) {
				s.fields, s.types = append(s.fields, k), append(s.types, fs)
			}
		}
		return s, nil
	}
	return nil, nil
}

func containsStr(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func mergeSchema(l, r *jschema) *jschema {
	if l == nil {
		return r
	}
	out := &jschema{typ: l.typ, name: l.name, fields: append([]string(nil), l.fields...), types: append([]*jschema(nil), l.types...)}
	for i, f := range r.fields {
		if !containsStr(out.fields, f) {
			out.fields, out.types = append(out.fields, f), append(out.types, r.types[i])
		}
	}
	return out
}

// appendSchema writes s as the JsonConverter writes an optional schema; field names it as a
// struct member.
func appendSchema(dst []byte, s *jschema, field string) []byte {
	dst = append(dst, `{"type":"`...)
	dst = append(dst, s.typ...)
	dst = append(dst, '"')
	switch s.typ {
	case "struct":
		dst = append(dst, `,"fields":[`...)
		for i, f := range s.fields {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendSchema(dst, s.types[i], f)
		}
		dst = append(dst, ']')
	case "array":
		dst = append(dst, `,"items":`...)
		dst = appendSchema(dst, s.items, "")
	}
	dst = append(dst, `,"optional":true`...)
	if s.name != "" {
		dst = append(dst, `,"name":`...)
		dst = envelope.AppendJSONString(dst, s.name)
	}
	if field != "" {
		dst = append(dst, `,"field":`...)
		dst = envelope.AppendJSONString(dst, field)
	}
	return append(dst, '}')
}

// appendValue writes n under schema s as the JsonConverter writes the struct Debezium builds.
func appendValue(dst []byte, n *jnode, s *jschema) []byte {
	if n == nil || n.kind == 'n' || s == nil {
		return append(dst, "null"...)
	}
	switch s.typ {
	case "struct":
		if n.kind != 'o' {
			return append(dst, "null"...)
		}
		dst = append(dst, '{')
		for i, f := range s.fields {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendKey(dst, f)
			var v *jnode
			for j, k := range n.keys {
				if k == f {
					v = n.vals[j]
				}
			}
			dst = appendValue(dst, v, s.types[i])
		}
		return append(dst, '}')
	case "array":
		dst = append(dst, '[')
		for i, v := range n.vals {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendValue(dst, v, s.items)
		}
		return append(dst, ']')
	case "double":
		if n.kind == 'd' {
			return envelope.AppendJavaDouble(dst, n.num)
		}
	}
	if n.kind == 's' {
		return append(dst, n.raw...)
	}
	return append(dst, n.raw...)
}
