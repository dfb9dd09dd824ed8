package schema

import "strings"

// Dialect says which source's type system a Table's columns use.
type Dialect uint8

const (
	MySQL Dialect = iota + 1 // MySQL and MariaDB
	Postgres
)

// TableID names a table. For MySQL Schema is empty and DB is the database; for PostgreSQL DB is
// the database and Schema the namespace.
type TableID struct {
	DB     string
	Schema string
	Table  string
}

// String returns the Debezium data-collection name: db.table (MySQL) or schema.table (PostgreSQL).
func (id TableID) String() string {
	if id.Schema != "" {
		return id.Schema + "." + id.Table
	}
	return id.DB + "." + id.Table
}

// Column is one column of a table version.
type Column struct {
	Name string
	// Type is the source type name, lower case, without length or modifiers: "int", "varchar",
	// "decimal", "timestamptz", "_int4" is written as Array=true with Type "int4".
	Type string
	// Array is true for PostgreSQL array columns; Type is then the element type.
	Array bool
	// Length is the declared length or precision (varchar(255) → 255, decimal(10,2) → 10,
	// bit(8) → 8); -1 when not declared.
	Length int
	// Scale is the declared scale (decimal(10,2) → 2) or fractional-second precision
	// (datetime(3), timestamptz(6) → 3, 6); -1 when not declared.
	Scale int
	// Unsigned marks MySQL UNSIGNED integer and decimal columns.
	Unsigned bool
	// Nullable is false for NOT NULL columns.
	Nullable bool
	// Default is the default as the server reports it: MySQL information_schema.COLUMNS.
	// COLUMN_DEFAULT without quotes for string literals; PostgreSQL the pg_get_expr text as is
	// ('abc'::text, nextval('t_id_seq'::regclass)). HasDefault tells an empty string default
	// from none.
	Default    string
	HasDefault bool
	// Enum holds ENUM/SET members (MySQL) or enum labels (PostgreSQL) in declared order.
	Enum []string
	// Charset is the column character set (MySQL), empty when not a text column.
	Charset string
	// AutoIncrement, Generated and Comment feed the schema history records.
	AutoIncrement bool
	Generated     bool
	Comment       string
	// TypeExpr is the full declared type as written, e.g. "decimal(10,2) unsigned"; informational.
	TypeExpr string
	// OID is the PostgreSQL type OID (element OID for arrays); 0 for MySQL.
	OID uint32
}

// Table is one version of a table definition. A Table is immutable once published to an Event:
// a schema change makes a new *Table with a higher Version, so events carry the definition that
// was in force when their row was written.
type Table struct {
	ID      TableID
	Dialect Dialect
	Columns []Column
	// PrimaryKey lists the key columns by index into Columns, in key order. Empty means the
	// table has no key and its events carry a null key.
	PrimaryKey []int
	// Version increases with every change of this table's definition within one process.
	Version uint64
	// DefaultCharset is the table's default character set (MySQL).
	DefaultCharset string
	// Comment is the table comment.
	Comment string
}

// ColumnIndex returns the index of the named column, or -1.
func (t *Table) ColumnIndex(name string) int {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return i
		}
	}
	for i := range t.Columns {
		if strings.EqualFold(t.Columns[i].Name, name) {
			return i
		}
	}
	return -1
}

// IsKey reports whether column i is part of the primary key.
func (t *Table) IsKey(i int) bool {
	for _, k := range t.PrimaryKey {
		if k == i {
			return true
		}
	}
	return false
}

// PrimaryKeyNames returns the key column names in key order.
func (t *Table) PrimaryKeyNames() []string {
	names := make([]string, len(t.PrimaryKey))
	for i, k := range t.PrimaryKey {
		names[i] = t.Columns[k].Name
	}
	return names
}

// Clone returns a deep copy with the same Version, for building the next version.
func (t *Table) Clone() *Table {
	c := *t
	c.Columns = make([]Column, len(t.Columns))
	copy(c.Columns, t.Columns)
	for i := range c.Columns {
		if c.Columns[i].Enum != nil {
			c.Columns[i].Enum = append([]string(nil), c.Columns[i].Enum...)
		}
	}
	c.PrimaryKey = append([]int(nil), t.PrimaryKey...)
	return &c
}
