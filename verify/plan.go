package verify

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Class is what a source column holds, as far as the comparison cares; a source Side
// derives it from its own type name (and the Debezium mapping of that type).
type Class int

const (
	ClassOther     Class = iota // no canonical form: the column is not compared
	ClassInteger                // integers of any width, signed or not (also YEAR)
	ClassBool                   // a boolean written as 0/1 (PostgreSQL bool → UInt8)
	ClassDecimal                // a fixed-point number with Scale (and Precision, 0 when unbounded)
	ClassText                   // character data stored as text (varchar, text, enum, uuid, json …)
	ClassBytes                  // binary data
	ClassDate                   // a calendar date
	ClassTimestamp              // a point in time or a local date-time (epoch microseconds in the sink)
	ClassTime                   // a time of day (microseconds of the day in the sink)
)

// Form is the canonical text both sides compute for a column, identical byte for byte when
// the values are equal.
type Form int

const (
	FormInt         Form = iota + 1 // decimal integer: -12
	FormDecimal                     // fixed-point with exactly the column's scale: 12.50
	FormDecimalTrim                 // plain decimal without trailing zeros: 12.5 (the sink's String decimals)
	FormText                        // <byte length>:<bytes>, so that no separator can be forged
	FormHex                         // lowercase hex of the bytes
	FormDate                        // YYYY-MM-DD
	FormMicros                      // decimal integer microseconds (since the epoch, or of the day)
)

func (f Form) String() string {
	switch f {
	case FormInt:
		return "int"
	case FormDecimal:
		return "decimal"
	case FormDecimalTrim:
		return "decimal-trim"
	case FormText:
		return "text"
	case FormHex:
		return "hex"
	case FormDate:
		return "date"
	case FormMicros:
		return "micros"
	}
	return "form(" + strconv.Itoa(int(f)) + ")"
}

// SourceColumn is a column of a source table as its Side describes it.
type SourceColumn struct {
	Name      string
	Type      string // the source's own type name, for messages and for the Side's SQL
	Class     Class
	Scale     int    // ClassDecimal
	Precision int    // ClassDecimal; 0: unbounded
	Reason    string // ClassOther: why there is no canonical form (optional)
}

// SourceTable is a source table: its columns in order and its primary key.
type SourceTable struct {
	Schema, Name string // Schema: the PostgreSQL schema or the MySQL database
	Columns      []SourceColumn
	Key          []string // primary key columns in key order; empty: no primary key
}

// String is schema.name.
func (t SourceTable) String() string { return t.Schema + "." + t.Name }

// Column is a compared column as one side computes it: its name and type on that side and
// the canonical form.
type Column struct {
	Name  string
	Type  string // the side's own type (e.g. Nullable(Decimal(12, 2)) in ClickHouse)
	Class Class  // the source's class (a sink Side may ignore it)
	Form  Form
	Scale int // FormDecimal
}

// Table is one table as a Side reads it: where it is, which columns are hashed, and how the
// rows are partitioned.
type Table struct {
	Schema, Name string
	Key          []Column // the primary key: canonical key text is the key columns joined by ','
	Columns      []Column // compared columns in order (key columns included)
	// Ranged: partition by the first key column's integer value (range scans on the key's
	// index). Otherwise by the first 60 bits of SHA-256 of the key text, as an integer
	// in [0, 2^60): source and sink order text differently (collations), hashes they agree on.
	Ranged bool
}

// Excluded is a column that is not compared, with the reason.
type Excluded struct {
	Column string
	Reason string
}

// Plan is the comparison of one table: the table as each side reads it, the columns left
// out, and, when the table cannot be compared at all, why.
type Plan struct {
	Source, Sink Table
	Excluded     []Excluded
	Skip         string // not empty: the table is not compared (e.g. no primary key)
	SinkMissing  bool   // the sink has no such table: every source row is missing
}

// Name is the source table's schema.name.
func (p *Plan) Name() string { return p.Source.Schema + "." + p.Source.Name }

// isMeta reports the sink's own columns (sink/clickhouse: _version, _is_deleted, _row_id).
func isMeta(name string) bool {
	return name == "_version" || name == "_is_deleted" || name == "_row_id"
}

// NewPlan plans the comparison of src with the sink table sinkName (schema: its database)
// whose columns and types are sinkCols (name → ClickHouse type, nil when the table does not
// exist). A column is compared when both sides can compute one canonical form of it;
// every other column is listed in Excluded with the reason.
func NewPlan(src SourceTable, sinkSchema, sinkName string, sinkCols map[string]string) *Plan {
	p := &Plan{
		Source: Table{Schema: src.Schema, Name: src.Name},
		Sink:   Table{Schema: sinkSchema, Name: sinkName},
	}
	if len(src.Key) == 0 {
		p.Skip = "no primary key: the ClickHouse table keeps a log of changes, not the current rows"
		return p
	}
	if sinkCols == nil {
		p.SinkMissing = true
	}
	byName := map[string]SourceColumn{}
	for _, c := range src.Columns {
		byName[c.Name] = c
	}
	isKey := map[string]bool{}
	for _, k := range src.Key {
		isKey[k] = true
	}
	plan := func(c SourceColumn) (Column, Column, string) {
		sinkType, ok := sinkCols[c.Name]
		if !ok && !p.SinkMissing {
			return Column{}, Column{}, "not in the ClickHouse table (column.exclude.list, or not created yet)"
		}
		form, scale, why := formOf(c, sinkType, p.SinkMissing)
		if why != "" {
			return Column{}, Column{}, why
		}
		return Column{Name: c.Name, Type: c.Type, Class: c.Class, Form: form, Scale: scale},
			Column{Name: c.Name, Type: sinkType, Class: c.Class, Form: form, Scale: scale}, ""
	}
	for _, k := range src.Key {
		c, ok := byName[k]
		if !ok {
			p.Skip = fmt.Sprintf("key column %s not found", k)
			return p
		}
		sc, kc, why := plan(c)
		if why != "" {
			p.Skip = fmt.Sprintf("key column %s (%s) cannot be compared: %s", k, c.Type, why)
			return p
		}
		p.Source.Key = append(p.Source.Key, sc)
		p.Sink.Key = append(p.Sink.Key, kc)
	}
	first := src.Key[0]
	p.Source.Ranged = byName[first].Class == ClassInteger
	p.Sink.Ranged = p.Source.Ranged
	for _, c := range src.Columns {
		sc, kc, why := plan(c)
		if why != "" {
			p.Excluded = append(p.Excluded, Excluded{Column: c.Name, Reason: why})
			continue
		}
		p.Source.Columns = append(p.Source.Columns, sc)
		p.Sink.Columns = append(p.Sink.Columns, kc)
	}
	var only []string
	for n := range sinkCols {
		if _, ok := byName[n]; !ok && !isMeta(n) {
			only = append(only, n)
		}
	}
	sort.Strings(only)
	for _, n := range only {
		p.Excluded = append(p.Excluded, Excluded{Column: n, Reason: "only in the ClickHouse table"})
	}
	return p
}

// formOf picks the canonical form of a source column stored in a sink column of type
// sinkType (sink/clickhouse's mapping, docs/clickhouse.md), or says why there is none.
func formOf(c SourceColumn, sinkType string, sinkMissing bool) (Form, int, string) {
	base := sinkBase(sinkType)
	if strings.HasPrefix(sinkType, "Array(") {
		return 0, 0, "arrays have no canonical text both servers compute"
	}
	want := func(ok bool, f Form, scale int) (Form, int, string) {
		if ok || sinkMissing {
			return f, scale, ""
		}
		return 0, 0, fmt.Sprintf("source type %s is stored as %s in ClickHouse, not the sink's mapping", c.Type, sinkType)
	}
	isInt := strings.HasPrefix(base, "Int") || strings.HasPrefix(base, "UInt")
	switch c.Class {
	case ClassInteger, ClassBool:
		return want(isInt, FormInt, 0)
	case ClassDecimal:
		if c.Scale < 0 {
			return 0, 0, "negative decimal scale"
		}
		if c.Precision > 0 && c.Precision <= 38 {
			var p, s int
			_, err := fmt.Sscanf(base, "Decimal(%d, %d)", &p, &s)
			return want(err == nil && s == c.Scale, FormDecimal, c.Scale)
		}
		return want(base == "String", FormDecimalTrim, 0)
	case ClassText:
		return want(base == "String", FormText, 0)
	case ClassBytes:
		return want(base == "String", FormHex, 0)
	case ClassDate:
		return want(base == "Date" || base == "Date32", FormDate, 0)
	case ClassTimestamp, ClassTime:
		return want(base == "Int64" || strings.HasPrefix(base, "DateTime64("), FormMicros, 0)
	}
	if c.Reason != "" {
		return 0, 0, c.Reason
	}
	return 0, 0, fmt.Sprintf("no canonical form of %s computed the same in SQL on both servers", c.Type)
}

// sinkBase strips Nullable(…) and LowCardinality(…) from a ClickHouse type.
func sinkBase(t string) string {
	for {
		switch {
		case strings.HasPrefix(t, "Nullable(") && strings.HasSuffix(t, ")"):
			t = t[len("Nullable(") : len(t)-1]
		case strings.HasPrefix(t, "LowCardinality(") && strings.HasSuffix(t, ")"):
			t = t[len("LowCardinality(") : len(t)-1]
		default:
			return t
		}
	}
}

// Exclude leaves column out of the comparison with the reason (a column the sink side cannot
// read back on this server); a key column skips the whole table.
func (p *Plan) Exclude(column, reason string) {
	for i, c := range p.Sink.Key {
		if c.Name == column {
			p.Skip = fmt.Sprintf("key column %s (%s) cannot be compared: %s", column, p.Source.Key[i].Type, reason)
			return
		}
	}
	for i, c := range p.Sink.Columns {
		if c.Name == column {
			p.Source.Columns = append(p.Source.Columns[:i:i], p.Source.Columns[i+1:]...)
			p.Sink.Columns = append(p.Sink.Columns[:i:i], p.Sink.Columns[i+1:]...)
			p.Excluded = append(p.Excluded, Excluded{Column: column, Reason: reason})
			return
		}
	}
}
