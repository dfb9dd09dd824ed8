package envelope

import (
	"strconv"

	"github.com/sluicecdc/sluice/schema"
)

// appendConnect appends the JsonConverter form of a Kafka Connect schema (JsonConverter.asJsonSchema):
// keys type, fields/items/keys+values, optional, name, version, doc, parameters, default, field.
// field is the enclosing struct's field name ("" outside a struct).
func appendConnect(dst []byte, c *schema.Connect, field string) []byte {
	dst = append(dst, `{"type":"`...)
	dst = append(dst, c.Type.String()...)
	dst = append(dst, '"')
	switch c.Type {
	case schema.Struct:
		dst = append(dst, `,"fields":[`...)
		for i := range c.Fields {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendConnect(dst, c.Fields[i].Schema, c.Fields[i].Name)
		}
		dst = append(dst, ']')
	case schema.Array:
		dst = append(dst, `,"items":`...)
		dst = appendConnect(dst, c.Items, "")
	case schema.Map:
		dst = append(dst, `,"keys":`...)
		dst = appendConnect(dst, c.Keys, "")
		dst = append(dst, `,"values":`...)
		dst = appendConnect(dst, c.Values, "")
	}
	dst = append(dst, `,"optional":`...)
	dst = strconv.AppendBool(dst, c.Optional)
	if c.Name != "" {
		dst = append(dst, `,"name":`...)
		dst = schema.AppendJSONString(dst, c.Name)
	}
	if c.Version != 0 {
		dst = append(dst, `,"version":`...)
		dst = strconv.AppendInt(dst, int64(c.Version), 10)
	}
	if c.Doc != "" {
		dst = append(dst, `,"doc":`...)
		dst = schema.AppendJSONString(dst, c.Doc)
	}
	if len(c.Params) > 0 {
		dst = append(dst, `,"parameters":{`...)
		for i, p := range c.Params {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = schema.AppendJSONString(dst, p.Key)
			dst = append(dst, ':')
			dst = schema.AppendJSONString(dst, p.Value)
		}
		dst = append(dst, '}')
	}
	if c.Default != nil {
		dst = append(dst, `,"default":`...)
		dst = append(dst, c.Default...)
	}
	if field != "" {
		dst = append(dst, `,"field":`...)
		dst = schema.AppendJSONString(dst, field)
	}
	return append(dst, '}')
}

// Small constructors for the fixed schemas (source, transaction, heartbeat, …).

func st(name string, version int, optional bool, fields ...schema.Field) *schema.Connect {
	return &schema.Connect{Type: schema.Struct, Name: name, Version: version, Optional: optional, Fields: fields}
}

func fl(name string, t schema.Type, optional bool) schema.Field {
	return schema.Field{Name: name, Schema: &schema.Connect{Type: t, Optional: optional}}
}

func fs(name string, c *schema.Connect) schema.Field { return schema.Field{Name: name, Schema: c} }
