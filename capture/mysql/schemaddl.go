package mysql

import (
	"database/sql"
	"strconv"
	"strings"

	"github.com/sluicecdc/sluice/capture/mysql/mysqlddl"
	"github.com/sluicecdc/sluice/schema"
)

// The snapshot's history records carry a CREATE TABLE built from the model read from
// information_schema (createTableDDL), not each table's SHOW CREATE TABLE: one statement per
// table cost the server 1-3 ms a table, most of a 10,000-table snapshot. Replay reads the
// records' tableChanges; the DDL text parses back to the same model (TestCreateTableDDLRoundTrip)
// for readers that prefer the DDL. What the model does not hold (storage engine, row format,
// ON UPDATE, key prefix lengths, index types, partitions) is left out. Tables the model cannot
// express at all (tableDef.Opaque) keep SHOW CREATE TABLE.

// capturedChange says whether a DDL statement's change of one table goes on the
// schema-change topic: the table is captured (a rename: either name is). Debezium's topic
// describes the captured tables' schema changes (include.schema.changes); a statement that
// changes only tables the filters leave out is recorded in the schema history alone (which
// keeps every table of the included databases, as Debezium's default
// schema.history.internal.store.only.captured.tables.ddl=false does), so a table added to the
// include lists later has its definition.
func (s *Source) capturedChange(c mysqlddl.Change) bool {
	if c.Table != nil && s.f.table(c.Table.ID.DB, c.Table.ID.Table) {
		return true
	}
	return c.PrevID != nil && s.f.table(c.PrevID.DB, c.PrevID.Table)
}

// opaqueColumn says why a column as information_schema reports it cannot be written back as
// DDL from the model ("" when it can): its generation expression or an expression default is
// not in the model, and a bit or binary default's literal is not a quoted string.
func opaqueColumn(c *schema.Column, def sql.NullString, extra string, mariadb bool) string {
	if c.Generated {
		return "generated column " + c.Name
	}
	if !c.HasDefault {
		return ""
	}
	switch c.Type {
	case "bit", "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return "default of " + c.Type + " column " + c.Name
	}
	if isTimestampFunc(c.Default) {
		return ""
	}
	expr := strings.Contains(extra, "default_generated")
	if mariadb {
		v := def.String
		expr = !(len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'') && !isNumber(v)
	}
	if expr {
		return "expression default of column " + c.Name
	}
	return ""
}

func isTimestampFunc(v string) bool { return strings.HasPrefix(v, "current_timestamp(") }

func isNumber(v string) bool {
	_, err := strconv.ParseFloat(v, 64)
	return err == nil
}

// createTableDDL writes t with its keys as a CREATE TABLE statement that the history's DDL
// parser reads back to the same model.
func createTableDDL(t *schema.Table, idx []mysqlddl.Index) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE ")
	b.WriteString(quoteID(t.ID.Table))
	b.WriteString(" (\n")
	for i := range t.Columns {
		c := &t.Columns[i]
		if i > 0 {
			b.WriteString(",\n")
		}
		b.WriteString("  ")
		b.WriteString(quoteID(c.Name))
		b.WriteByte(' ')
		if c.Type == "enum" || c.Type == "set" {
			// TypeExpr doubles quotes only; a member's backslash must be escaped too.
			b.WriteString(c.Type)
			b.WriteByte('(')
			for i, m := range c.Enum {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(quoteLiteral(m))
			}
			b.WriteByte(')')
		} else {
			b.WriteString(mysqlddl.TypeExpr(*c))
		}
		if c.Charset != "" {
			b.WriteString(" CHARACTER SET ")
			b.WriteString(c.Charset)
		}
		if c.Nullable {
			b.WriteString(" NULL")
		} else {
			b.WriteString(" NOT NULL")
		}
		if c.HasDefault {
			b.WriteString(" DEFAULT ")
			if isTimestampFunc(c.Default) {
				b.WriteString(c.Default)
			} else {
				b.WriteString(quoteLiteral(c.Default))
			}
		}
		if c.AutoIncrement {
			b.WriteString(" AUTO_INCREMENT")
		}
		if c.Comment != "" {
			b.WriteString(" COMMENT ")
			b.WriteString(quoteLiteral(c.Comment))
		}
	}
	for _, ix := range idx {
		if len(ix.Columns) == 0 {
			continue
		}
		b.WriteString(",\n  ")
		switch {
		case ix.Primary:
			b.WriteString("PRIMARY KEY (")
		case ix.Unique:
			b.WriteString("UNIQUE KEY " + quoteID(ix.Name) + " (")
		default:
			b.WriteString("KEY " + quoteID(ix.Name) + " (")
		}
		for i, n := range ix.Columns {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(quoteID(n))
		}
		b.WriteByte(')')
	}
	b.WriteString("\n)")
	if t.DefaultCharset != "" {
		b.WriteString(" DEFAULT CHARSET=")
		b.WriteString(t.DefaultCharset)
	}
	if t.Comment != "" {
		b.WriteString(" COMMENT=")
		b.WriteString(quoteLiteral(t.Comment))
	}
	return b.String()
}

// quoteLiteral writes s as a MySQL string literal: quotes doubled, backslashes escaped (the
// server's default sql_mode reads '\' as an escape).
func quoteLiteral(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			b.WriteString("''")
		case '\\':
			b.WriteString(`\\`)
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}
