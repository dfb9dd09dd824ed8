package transform

import (
	"errors"
	"slices"

	"github.com/sluicecdc/sluice/envelope"
)

// Connect schemas as the JsonConverter writes them: objects whose members come in the order
// type, fields/items/keys/values, optional, name, version, doc, parameters, default, field.
// These helpers edit them on the slow path (once per distinct schema; results are cached).

var schemaKeyOrder = []string{"type", "fields", "items", "keys", "values", "optional", "name", "version", "doc", "parameters", "default", "field"}

// setMember returns ms with key set to val (nil val removes it), placed in JsonConverter order.
func setMember(ms []member, key string, val []byte) []member {
	out := make([]member, 0, len(ms)+1)
	done := false
	rank := slices.Index(schemaKeyOrder, key)
	for _, m := range ms {
		if string(m.key) == key {
			if val != nil {
				out = append(out, member{m.key, val})
			}
			done = true
			continue
		}
		if !done && val != nil && rank >= 0 {
			if r := slices.Index(schemaKeyOrder, string(m.key)); r > rank {
				out = append(out, member{[]byte(key), val})
				done = true
			}
		}
		out = append(out, m)
	}
	if !done && val != nil {
		out = append(out, member{[]byte(key), val})
	}
	return out
}

// editSchema returns schema s with each key of set replaced (nil removes it).
func editSchema(s []byte, set map[string][]byte) ([]byte, error) {
	ms, err := members(s)
	if err != nil {
		return nil, err
	}
	for _, k := range schemaKeyOrder {
		if v, ok := set[k]; ok {
			ms = setMember(ms, k, v)
		}
	}
	return appendObject(nil, ms), nil
}

// schemaFieldOf returns the schema of field name in the struct schema s (with its "field"
// member), or nil when s has no such field.
func schemaFieldOf(s []byte, name string) ([]byte, error) {
	fields, err := get(s, "fields")
	if err != nil {
		return nil, err
	}
	if fields == nil {
		return nil, nil
	}
	var out []byte
	stop := errors.New("found")
	err = eachElement(fields, func(f []byte) error {
		n, err := get(f, "field")
		if err != nil {
			return err
		}
		if s, ok := unquote(n); ok && s == name {
			out = f
			return stop
		}
		return nil
	})
	if err != nil && err != stop {
		return nil, err
	}
	return out, nil
}

// schemaFields lists the field schemas of the struct schema s.
func schemaFields(s []byte) ([][]byte, error) {
	fields, err := get(s, "fields")
	if err != nil {
		return nil, err
	}
	var out [][]byte
	if fields == nil {
		return nil, nil
	}
	err = eachElement(fields, func(f []byte) error {
		out = append(out, f)
		return nil
	})
	return out, err
}

// schemaNameOf returns the "name" of schema s ("" when unnamed).
func schemaNameOf(s []byte) string {
	v, err := get(s, "name")
	if err != nil {
		return ""
	}
	n, _ := unquote(v)
	return n
}

// asField returns the field schema f renamed to name ("field" member set), or, with name "",
// as a schema of its own (no "field" member).
func asField(f []byte, name string) ([]byte, error) {
	if name == "" {
		return editSchema(f, map[string][]byte{"field": nil})
	}
	return editSchema(f, map[string][]byte{"field": quoted(name)})
}

func quoted(s string) []byte { return envelope.AppendJSONString(nil, s) }

// structWithFields returns the struct schema s with its fields replaced by fields.
func structWithFields(s []byte, fields [][]byte) ([]byte, error) {
	arr := []byte{'['}
	for i, f := range fields {
		if i > 0 {
			arr = append(arr, ',')
		}
		arr = append(arr, f...)
	}
	arr = append(arr, ']')
	return editSchema(s, map[string][]byte{"fields": arr})
}
