package mysqlddl

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sluicecdc/sluice/schema"
)

// typeSpec is a column type as declared, before normalisation.
type typeSpec struct {
	name     string // lower case, possibly an alias ("integer", "numeric", "bool")
	length   int    // -1 when not declared
	scale    int    // -1 when not declared
	unsigned bool
	enum     []string
	charset  string // explicit CHARACTER SET, lower case
	collate  string // explicit COLLATE, lower case
}

var typeAliases = map[string]string{
	"int1": "tinyint", "int2": "smallint", "int3": "mediumint", "middleint": "mediumint",
	"integer": "int", "int4": "int", "int8": "bigint",
	"bool": "boolean",
	"dec":  "decimal", "numeric": "decimal", "fixed": "decimal",
	"real": "double", "double precision": "double", "float8": "double", "float4": "float",
	"character": "char", "nchar": "char", "national char": "char", "national character": "char",
	"character varying": "varchar", "nvarchar": "varchar", "national varchar": "varchar",
	"national character varying": "varchar", "nchar varchar": "varchar", "char varying": "varchar",
	"long varbinary": "mediumblob", "long varchar": "mediumtext", "long": "mediumtext",
	"geomcollection": "geometrycollection",
}

var textTypes = map[string]bool{
	"char": true, "varchar": true, "tinytext": true, "text": true, "mediumtext": true,
	"longtext": true, "enum": true, "set": true,
}

// normalize turns a declared type into the schema model's canonical column fields: Type,
// Length, Scale, Unsigned, Enum, Charset (only when declared; the caller fills table
// defaults) and TypeExpr.
func normalize(ts typeSpec) schema.Column {
	name := strings.Join(strings.Fields(strings.ToLower(ts.name)), " ")
	if a, ok := typeAliases[name]; ok {
		name = a
	}
	if strings.HasPrefix(ts.name, "n") && (name == "char" || name == "varchar") && ts.charset == "" {
		ts.charset = "utf8mb3" // NCHAR / NVARCHAR use the national character set
	}
	c := schema.Column{Type: name, Length: ts.length, Scale: ts.scale, Unsigned: ts.unsigned, Nullable: true}
	switch name {
	case "decimal":
		if c.Length < 0 {
			c.Length, c.Scale = 10, 0
		} else if c.Scale < 0 {
			c.Scale = 0
		}
	case "float":
		// FLOAT(p) with p > 24 is a DOUBLE; FLOAT(p) with p ≤ 24 is a plain FLOAT.
		if c.Scale < 0 && c.Length >= 0 {
			if c.Length > 24 {
				c.Type = "double"
			}
			c.Length = -1
		}
	case "char", "binary", "bit":
		if c.Length < 0 {
			c.Length = 1
		}
	case "datetime", "timestamp", "time":
		if c.Length >= 0 && c.Scale < 0 {
			c.Scale = c.Length
		}
		if c.Scale < 0 {
			c.Scale = 0
		}
		c.Length = -1
	case "year":
		c.Length = -1
	case "text", "blob":
		// TEXT(n) / BLOB(n) pick the smallest type that holds n bytes.
		if c.Length >= 0 {
			prefix := ""
			switch {
			case c.Length < 256:
				prefix = "tiny"
			case c.Length < 65536:
			case c.Length < 1<<24:
				prefix = "medium"
			default:
				prefix = "long"
			}
			c.Type = prefix + name
			c.Length = -1
		}
	case "enum", "set":
		c.Enum = ts.enum
		c.Length, c.Scale = -1, -1
	}
	cs := ts.charset
	if cs == "" && ts.collate != "" {
		cs = charsetOfCollation(ts.collate)
	}
	if cs == "binary" {
		switch c.Type {
		case "char":
			c.Type = "binary"
		case "varchar":
			c.Type = "varbinary"
		case "tinytext", "text", "mediumtext", "longtext":
			c.Type = strings.TrimSuffix(c.Type, "text") + "blob"
		}
		cs = ""
	}
	if textTypes[c.Type] {
		c.Charset = cs
	}
	c.TypeExpr = TypeExpr(c)
	return c
}

// TypeExpr renders the canonical declared type of a MySQL column from its Type, Length,
// Scale, Enum and Unsigned, e.g. "decimal(10,2) unsigned". The schema history rebuilds
// Column.TypeExpr with it, so a replayed table reads exactly as the parsed one did.
func TypeExpr(c schema.Column) string {
	var b strings.Builder
	b.WriteString(c.Type)
	switch {
	case c.Type == "enum" || c.Type == "set":
		b.WriteByte('(')
		for i, e := range c.Enum {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(quote(e))
		}
		b.WriteByte(')')
	case c.Type == "datetime" || c.Type == "timestamp" || c.Type == "time":
		if c.Scale > 0 {
			fmt.Fprintf(&b, "(%d)", c.Scale)
		}
	case c.Length >= 0 && c.Scale >= 0:
		fmt.Fprintf(&b, "(%d,%d)", c.Length, c.Scale)
	case c.Length >= 0:
		fmt.Fprintf(&b, "(%d)", c.Length)
	}
	if c.Unsigned {
		b.WriteString(" unsigned")
	}
	return b.String()
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// charsetOfCollation returns the character set a collation belongs to ("utf8mb4_bin" →
// "utf8mb4"). No MySQL character set name contains an underscore.
func charsetOfCollation(coll string) string {
	coll = strings.ToLower(coll)
	if coll == "binary" {
		return "binary"
	}
	if i := strings.IndexByte(coll, '_'); i > 0 {
		return coll[:i]
	}
	return coll
}

// CharsetOfCollation is charsetOfCollation for callers outside the package.
func CharsetOfCollation(coll string) string { return charsetOfCollation(coll) }

// ParseColumnType reads a column type as information_schema.COLUMNS.COLUMN_TYPE prints it
// ("decimal(10,2) unsigned zerofill", "enum('a','b”c')", "datetime(3)", "uuid") and returns a
// Column with the canonical Type, Length, Scale, Unsigned, Enum and TypeExpr. Charset is left
// empty.
func ParseColumnType(s string) (schema.Column, error) {
	ts := typeSpec{length: -1, scale: -1}
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (isWordByte(s[i]) || s[i] == ' ') && s[i] != '(' {
		i++
	}
	words := strings.Fields(strings.ToLower(s[:i]))
	// trailing attribute words are not part of the name
	for len(words) > 1 {
		w := words[len(words)-1]
		if w == "unsigned" || w == "zerofill" || w == "signed" {
			ts.unsigned = ts.unsigned || w != "signed"
			words = words[:len(words)-1]
			continue
		}
		break
	}
	if len(words) == 0 {
		return schema.Column{}, fmt.Errorf("column type %q: no type name", s)
	}
	ts.name = strings.Join(words, " ")
	rest := s[i:]
	if strings.HasPrefix(rest, "(") {
		args, n, err := parseArgs(rest)
		if err != nil {
			return schema.Column{}, fmt.Errorf("column type %q: %w", s, err)
		}
		rest = rest[n:]
		if ts.name == "enum" || ts.name == "set" {
			ts.enum = args
		} else {
			if len(args) > 0 {
				v, err := strconv.Atoi(strings.TrimSpace(args[0]))
				if err != nil {
					return schema.Column{}, fmt.Errorf("column type %q: length %q", s, args[0])
				}
				ts.length = v
			}
			if len(args) > 1 {
				v, err := strconv.Atoi(strings.TrimSpace(args[1]))
				if err != nil {
					return schema.Column{}, fmt.Errorf("column type %q: scale %q", s, args[1])
				}
				ts.scale = v
			}
		}
	}
	for _, w := range strings.Fields(strings.ToLower(rest)) {
		switch w {
		case "unsigned", "zerofill":
			ts.unsigned = true
		}
	}
	return normalize(ts), nil
}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// parseArgs reads "(a,b,…)" where each item is a number or a quoted string; it returns the
// items (quoted strings unquoted) and the bytes consumed.
func parseArgs(s string) ([]string, int, error) {
	var out []string
	i := 1
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == ',') {
			i++
		}
		if i >= len(s) {
			break
		}
		if s[i] == ')' {
			return out, i + 1, nil
		}
		if s[i] == '\'' || s[i] == '"' {
			q := s[i]
			var b strings.Builder
			i++
			for i < len(s) {
				if s[i] == '\\' && i+1 < len(s) {
					b.WriteByte(unescape(s[i+1]))
					i += 2
					continue
				}
				if s[i] == q {
					if i+1 < len(s) && s[i+1] == q {
						b.WriteByte(q)
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(s[i])
				i++
			}
			out = append(out, b.String())
			continue
		}
		j := i
		for j < len(s) && s[j] != ',' && s[j] != ')' {
			j++
		}
		out = append(out, strings.TrimSpace(s[i:j]))
		i = j
	}
	return nil, 0, fmt.Errorf("unterminated argument list")
}

func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 't':
		return '\t'
	case 'r':
		return '\r'
	case '0':
		return 0
	case 'Z':
		return 26
	}
	return c
}
