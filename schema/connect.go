package schema

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

// Connect is a Kafka Connect schema. Its JSON form (envelope package) writes the keys in
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
