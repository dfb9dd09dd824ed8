package history

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/sluicecdc/sluice/capture/mysql/mysqlddl"
	"github.com/sluicecdc/sluice/schema"
)

// Record is one schema history record.
type Record struct {
	// Server is the source partition's "server" (topic.prefix).
	Server string
	// Position is the offset JSON object at this DDL (spec §8.1): where a restart would
	// resume right after it.
	Position     json.RawMessage
	TsMs         int64
	DatabaseName string
	SchemaName   string // written only when set
	DDL          string
	TableChanges []TableChange
}

// TableChange is one entry of tableChanges.
type TableChange struct {
	Type   string // CREATE, ALTER, DROP
	ID     schema.TableID
	PrevID *schema.TableID
	Table  *schema.Table
	// UniqueKeys are the table's unique keys other than the primary key, kept as the
	// attribute "sluice.unique_keys" so a later DROP PRIMARY KEY can fall back to one.
	UniqueKeys [][]string
}

// AppendJSON appends the record as Debezium writes it (keys in Debezium's order).
func (r *Record) AppendJSON(b []byte) []byte {
	b = append(b, `{"source":{"server":`...)
	b = appendString(b, r.Server)
	b = append(b, `},"position":`...)
	if len(r.Position) == 0 {
		b = append(b, "{}"...)
	} else {
		b = append(b, r.Position...)
	}
	b = append(b, `,"ts_ms":`...)
	b = strconv.AppendInt(b, r.TsMs, 10)
	b = append(b, `,"databaseName":`...)
	b = appendString(b, r.DatabaseName)
	if r.SchemaName != "" {
		b = append(b, `,"schemaName":`...)
		b = appendString(b, r.SchemaName)
	}
	b = append(b, `,"ddl":`...)
	b = appendString(b, r.DDL)
	b = append(b, `,"tableChanges":[`...)
	for i := range r.TableChanges {
		if i > 0 {
			b = append(b, ',')
		}
		b = r.TableChanges[i].appendJSON(b)
	}
	return append(b, "]}"...)
}

// QuotedID is Debezium's table id text: "db"."table".
func QuotedID(id schema.TableID) string {
	return `"` + id.DB + `"."` + id.Table + `"`
}

func parseQuotedID(s string) (schema.TableID, error) {
	parts := strings.Split(s, `"."`)
	if len(parts) != 2 || !strings.HasPrefix(parts[0], `"`) || !strings.HasSuffix(parts[1], `"`) {
		// also accept db.table
		if i := strings.IndexByte(s, '.'); i > 0 && !strings.Contains(s, `"`) {
			return schema.TableID{DB: s[:i], Table: s[i+1:]}, nil
		}
		return schema.TableID{}, fmt.Errorf("table id %q: want \"db\".\"table\"", s)
	}
	return schema.TableID{DB: parts[0][1:], Table: parts[1][:len(parts[1])-1]}, nil
}

func (c *TableChange) appendJSON(b []byte) []byte {
	b = append(b, `{"type":`...)
	b = appendString(b, c.Type)
	b = append(b, `,"id":`...)
	b = appendString(b, QuotedID(c.ID))
	if c.PrevID != nil {
		b = append(b, `,"previousId":`...)
		b = appendString(b, QuotedID(*c.PrevID))
	}
	b = append(b, `,"table":`...)
	t := c.Table
	if t == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, `{"defaultCharsetName":`...)
		b = appendNullString(b, t.DefaultCharset)
		b = append(b, `,"primaryKeyColumnNames":[`...)
		for i, n := range t.PrimaryKeyNames() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, n)
		}
		b = append(b, `],"columns":[`...)
		for i := range t.Columns {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendColumn(b, &t.Columns[i], i+1)
		}
		b = append(b, `],"attributes":[`...)
		if len(c.UniqueKeys) > 0 {
			var v []string
			for _, k := range c.UniqueKeys {
				v = append(v, strings.Join(k, ","))
			}
			b = append(b, `{"name":"sluice.unique_keys","value":`...)
			b = appendString(b, strings.Join(v, ";"))
			b = append(b, '}')
		}
		b = append(b, "]}"...)
	}
	b = append(b, `,"comment":`...)
	if t != nil {
		b = appendNullString(b, t.Comment)
	} else {
		b = append(b, "null"...)
	}
	return append(b, '}')
}

func appendColumn(b []byte, c *schema.Column, pos int) []byte {
	b = append(b, `{"name":`...)
	b = appendString(b, c.Name)
	b = append(b, `,"jdbcType":`...)
	b = strconv.AppendInt(b, int64(JDBCType(c)), 10)
	b = append(b, `,"typeName":`...)
	tn := strings.ToUpper(c.Type)
	if c.Unsigned {
		tn += " UNSIGNED"
	}
	b = appendString(b, tn)
	b = append(b, `,"typeExpression":`...)
	b = appendString(b, tn)
	b = append(b, `,"charsetName":`...)
	b = appendNullString(b, c.Charset)
	if c.Length >= 0 {
		b = append(b, `,"length":`...)
		b = strconv.AppendInt(b, int64(c.Length), 10)
	}
	if c.Scale >= 0 {
		b = append(b, `,"scale":`...)
		b = strconv.AppendInt(b, int64(c.Scale), 10)
	}
	b = append(b, `,"position":`...)
	b = strconv.AppendInt(b, int64(pos), 10)
	b = append(b, `,"optional":`...)
	b = strconv.AppendBool(b, c.Nullable)
	b = append(b, `,"autoIncremented":`...)
	b = strconv.AppendBool(b, c.AutoIncrement)
	b = append(b, `,"generated":`...)
	b = strconv.AppendBool(b, c.Generated)
	b = append(b, `,"comment":`...)
	b = appendNullString(b, c.Comment)
	b = append(b, `,"hasDefaultValue":`...)
	b = strconv.AppendBool(b, c.HasDefault)
	if c.HasDefault {
		b = append(b, `,"defaultValueExpression":`...)
		b = appendString(b, c.Default)
	}
	if len(c.Enum) > 0 {
		b = append(b, `,"enumValues":[`...)
		for i, e := range c.Enum {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, "'"+strings.ReplaceAll(e, "'", "''")+"'")
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// JDBC type codes (java.sql.Types) Debezium's MySQL type resolver assigns.
const (
	jdbcBit          = -7
	jdbcTinyint      = -6
	jdbcSmallint     = 5
	jdbcInteger      = 4
	jdbcBigint       = -5
	jdbcFloat        = 6
	jdbcReal         = 7
	jdbcDouble       = 8
	jdbcDecimal      = 3
	jdbcChar         = 1
	jdbcVarchar      = 12
	jdbcDate         = 91
	jdbcTime         = 92
	jdbcTimestamp    = 93
	jdbcBinary       = -2
	jdbcVarbinary    = -3
	jdbcBlob         = 2004
	jdbcBoolean      = 16
	jdbcOther        = 1111
	jdbcTimestampTZ  = 2014
	jdbcLongVarchar  = -1
	jdbcLongVarbinar = -4
)

// JDBCType returns the java.sql.Types code Debezium gives a MySQL column type.
func JDBCType(c *schema.Column) int {
	switch c.Type {
	case "bit":
		return jdbcBit
	case "tinyint":
		return jdbcTinyint
	case "smallint":
		return jdbcSmallint
	case "mediumint", "int", "year":
		return jdbcInteger
	case "bigint":
		return jdbcBigint
	case "float":
		return jdbcFloat
	case "double":
		return jdbcDouble
	case "decimal":
		return jdbcDecimal
	case "boolean":
		return jdbcBoolean
	case "char", "enum", "set":
		return jdbcChar
	case "varchar", "tinytext", "text", "mediumtext", "longtext", "uuid", "inet4", "inet6":
		return jdbcVarchar
	case "date":
		return jdbcDate
	case "time":
		return jdbcTime
	case "datetime":
		return jdbcTimestamp
	case "timestamp":
		return jdbcTimestampTZ
	case "binary":
		return jdbcBinary
	case "varbinary":
		return jdbcVarbinary
	case "tinyblob", "blob", "mediumblob", "longblob":
		return jdbcBlob
	}
	return jdbcOther
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}

func appendNullString(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendString(b, s)
}

// wire types for decoding
type wireRecord struct {
	Source       map[string]any  `json:"source"`
	Position     json.RawMessage `json:"position"`
	TsMs         int64           `json:"ts_ms"`
	DatabaseName string          `json:"databaseName"`
	SchemaName   string          `json:"schemaName"`
	DDL          string          `json:"ddl"`
	TableChanges []struct {
		Type       string `json:"type"`
		ID         string `json:"id"`
		PreviousID string `json:"previousId"`
		Table      *struct {
			DefaultCharsetName    *string    `json:"defaultCharsetName"`
			PrimaryKeyColumnNames []string   `json:"primaryKeyColumnNames"`
			Columns               []wireCol  `json:"columns"`
			Attributes            []wireAttr `json:"attributes"`
		} `json:"table"`
		Comment *string `json:"comment"`
	} `json:"tableChanges"`
}

type wireAttr struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type wireCol struct {
	Name                   string   `json:"name"`
	TypeName               string   `json:"typeName"`
	CharsetName            *string  `json:"charsetName"`
	Length                 *int     `json:"length"`
	Scale                  *int     `json:"scale"`
	Position               int      `json:"position"`
	Optional               bool     `json:"optional"`
	AutoIncremented        bool     `json:"autoIncremented"`
	Generated              bool     `json:"generated"`
	Comment                *string  `json:"comment"`
	HasDefaultValue        bool     `json:"hasDefaultValue"`
	DefaultValueExpression *string  `json:"defaultValueExpression"`
	EnumValues             []string `json:"enumValues"`
}

// Parse reads a record written by AppendJSON (or by Debezium's MySQL connector).
func Parse(data []byte) (Record, error) {
	var w wireRecord
	if err := json.Unmarshal(data, &w); err != nil {
		return Record{}, fmt.Errorf("schema history record: %w", err)
	}
	r := Record{Position: w.Position, TsMs: w.TsMs, DatabaseName: w.DatabaseName, SchemaName: w.SchemaName, DDL: w.DDL}
	if s, ok := w.Source["server"].(string); ok {
		r.Server = s
	}
	for _, tc := range w.TableChanges {
		id, err := parseQuotedID(tc.ID)
		if err != nil {
			return Record{}, fmt.Errorf("schema history record: %w", err)
		}
		c := TableChange{Type: tc.Type, ID: id}
		if tc.PreviousID != "" {
			p, err := parseQuotedID(tc.PreviousID)
			if err != nil {
				return Record{}, fmt.Errorf("schema history record: %w", err)
			}
			c.PrevID = &p
		}
		if tc.Table != nil {
			t := &schema.Table{ID: id, Dialect: schema.MySQL}
			if tc.Table.DefaultCharsetName != nil {
				t.DefaultCharset = *tc.Table.DefaultCharsetName
			}
			if tc.Comment != nil {
				t.Comment = *tc.Comment
			}
			for _, wc := range tc.Table.Columns {
				col := schema.Column{Name: wc.Name, Length: -1, Scale: -1, Nullable: wc.Optional,
					AutoIncrement: wc.AutoIncremented, Generated: wc.Generated, HasDefault: wc.HasDefaultValue}
				tn := strings.ToLower(wc.TypeName)
				if strings.HasSuffix(tn, " unsigned") {
					col.Unsigned = true
					tn = strings.TrimSuffix(tn, " unsigned")
				}
				col.Type = tn
				if wc.CharsetName != nil {
					col.Charset = *wc.CharsetName
				}
				if wc.Length != nil {
					col.Length = *wc.Length
				}
				if wc.Scale != nil {
					col.Scale = *wc.Scale
				}
				if wc.Comment != nil {
					col.Comment = *wc.Comment
				}
				if wc.DefaultValueExpression != nil {
					col.Default = *wc.DefaultValueExpression
				}
				for _, e := range wc.EnumValues {
					if len(e) >= 2 && e[0] == '\'' && e[len(e)-1] == '\'' {
						e = strings.ReplaceAll(e[1:len(e)-1], "''", "'")
					}
					col.Enum = append(col.Enum, e)
				}
				col.TypeExpr = mysqlddl.TypeExpr(col)
				t.Columns = append(t.Columns, col)
			}
			for _, n := range tc.Table.PrimaryKeyColumnNames {
				if i := t.ColumnIndex(n); i >= 0 {
					t.PrimaryKey = append(t.PrimaryKey, i)
				}
			}
			for _, a := range tc.Table.Attributes {
				if a.Name == "sluice.unique_keys" && a.Value != "" {
					for _, k := range strings.Split(a.Value, ";") {
						c.UniqueKeys = append(c.UniqueKeys, strings.Split(k, ","))
					}
				}
			}
			c.Table = t
		}
		r.TableChanges = append(r.TableChanges, c)
	}
	return r, nil
}
