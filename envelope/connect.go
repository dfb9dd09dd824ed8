package envelope

import "strconv"

// Type is a Kafka Connect schema type, named on the wire as JsonConverter names it.
type Type uint8

const (
	Boolean Type = iota + 1
	Int8
	Int16
	Int32
	Int64
	Float32 // "float" on the wire
	Float64 // "double" on the wire
	Bytes
	String
	Array
	Map
	Struct
)

var typeNames = [...]string{"", "boolean", "int8", "int16", "int32", "int64", "float", "double", "bytes", "string", "array", "map", "struct"}

// String returns the JsonConverter type name.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "unknown"
}

// Param is one schema parameter. Parameters keep their order because the JSON bytes depend on it.
type Param struct{ Key, Value string }

// Connect is a Kafka Connect schema. Its JSON form (appendConnect) writes the keys in
// JsonConverter's order: type, fields/items/keys+values, optional, name, version, doc,
// parameters, default, field.
type Connect struct {
	Type     Type
	Optional bool
	Name     string
	Version  int // 0 = not written
	Doc      string
	Params   []Param
	// Default is the default value already encoded as JSON (as a payload would carry it), or
	// nil for none.
	Default []byte
	Fields  []Field  // Struct
	Items   *Connect // Array
	Keys    *Connect // Map
	Values  *Connect // Map
}

// Field is a named member of a Struct schema.
type Field struct {
	Name   string
	Schema *Connect
}

// appendConnect appends the JsonConverter form of a Kafka Connect schema (JsonConverter.asJsonSchema):
// keys type, fields/items/keys+values, optional, name, version, doc, parameters, default, field.
// field is the enclosing struct's field name ("" outside a struct).
func appendConnect(dst []byte, c *Connect, field string) []byte {
	dst = append(dst, `{"type":"`...)
	dst = append(dst, c.Type.String()...)
	dst = append(dst, '"')
	switch c.Type {
	case Struct:
		dst = append(dst, `,"fields":[`...)
		for i := range c.Fields {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendConnect(dst, c.Fields[i].Schema, c.Fields[i].Name)
		}
		dst = append(dst, ']')
	case Array:
		dst = append(dst, `,"items":`...)
		dst = appendConnect(dst, c.Items, "")
	case Map:
		dst = append(dst, `,"keys":`...)
		dst = appendConnect(dst, c.Keys, "")
		dst = append(dst, `,"values":`...)
		dst = appendConnect(dst, c.Values, "")
	}
	dst = append(dst, `,"optional":`...)
	dst = strconv.AppendBool(dst, c.Optional)
	if c.Name != "" {
		dst = append(dst, `,"name":`...)
		dst = AppendJSONString(dst, c.Name)
	}
	if c.Version != 0 {
		dst = append(dst, `,"version":`...)
		dst = strconv.AppendInt(dst, int64(c.Version), 10)
	}
	if c.Doc != "" {
		dst = append(dst, `,"doc":`...)
		dst = AppendJSONString(dst, c.Doc)
	}
	if len(c.Params) > 0 {
		dst = append(dst, `,"parameters":{`...)
		for i, p := range c.Params {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendJSONString(dst, p.Key)
			dst = append(dst, ':')
			dst = AppendJSONString(dst, p.Value)
		}
		dst = append(dst, '}')
	}
	if c.Default != nil {
		dst = append(dst, `,"default":`...)
		dst = append(dst, c.Default...)
	}
	if field != "" {
		dst = append(dst, `,"field":`...)
		dst = AppendJSONString(dst, field)
	}
	return append(dst, '}')
}

// Small constructors for the fixed schemas (source, transaction, heartbeat, …).

func st(name string, version int, optional bool, fields ...Field) *Connect {
	return &Connect{Type: Struct, Name: name, Version: version, Optional: optional, Fields: fields}
}

func fl(name string, t Type, optional bool) Field {
	return Field{Name: name, Schema: &Connect{Type: t, Optional: optional}}
}

func fs(name string, c *Connect) Field { return Field{Name: name, Schema: c} }
