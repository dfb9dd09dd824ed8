package mysqlddl

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"

	vtlog "vitess.io/vitess/go/vt/log"
	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/sluicecdc/sluice/schema"
)

// Index is a key of a table: the primary key or a unique key. Non-unique indexes are kept
// too, so DROP INDEX by name works, but they never become the message key.
type Index struct {
	Name    string
	Primary bool
	Unique  bool
	Columns []string
}

type entry struct {
	t   *schema.Table
	idx []Index
}

// Catalog is the set of databases and table definitions the binlog has built so far. It is
// not safe for concurrent use.
type Catalog struct {
	tables map[schema.TableID]*entry
	dbs    map[string]string // database → default charset ("" = unknown)
	// ServerCharset is character_set_server, used for databases whose charset is unknown.
	ServerCharset string
	version       uint64
	parser        *sqlparser.Parser
}

var silenceOnce sync.Once

// NewCatalog returns an empty catalog. serverVersion ("8.4.0", "10.11.9-MariaDB") selects
// the grammar's version-dependent rules; empty means MySQL 8.0.
func NewCatalog(serverVersion string) *Catalog {
	silenceOnce.Do(func() {
		// The grammar logs partially parsed DDL through vitess's logger; we report errors
		// ourselves.
		vtlog.SwapLogger(slog.New(slog.DiscardHandler))
	})
	v := serverVersion
	if strings.Contains(strings.ToLower(v), "mariadb") || v == "" {
		v = "8.0.40" // MariaDB's grammar is closest to MySQL 8.0's
	}
	if i := strings.IndexByte(v, '-'); i > 0 {
		v = v[:i]
	}
	p, err := sqlparser.New(sqlparser.Options{MySQLServerVersion: v})
	if err != nil {
		p = sqlparser.NewTestParser()
	}
	return &Catalog{tables: map[schema.TableID]*entry{}, dbs: map[string]string{}, parser: p, ServerCharset: "utf8mb4"}
}

// Table returns the current definition of id, or nil.
func (c *Catalog) Table(id schema.TableID) *schema.Table {
	if e := c.lookup(id); e != nil {
		return e.t
	}
	return nil
}

// Indexes returns the keys of id (nil when unknown). The slice must not be modified.
func (c *Catalog) Indexes(id schema.TableID) []Index {
	if e := c.lookup(id); e != nil {
		return e.idx
	}
	return nil
}

// Tables returns every table, sorted by database and name.
func (c *Catalog) Tables() []*schema.Table {
	out := make([]*schema.Table, 0, len(c.tables))
	for _, e := range c.tables {
		out = append(out, e.t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ID.DB != out[j].ID.DB {
			return out[i].ID.DB < out[j].ID.DB
		}
		return out[i].ID.Table < out[j].ID.Table
	})
	return out
}

// Databases returns the known databases, sorted.
func (c *Catalog) Databases() []string {
	out := make([]string, 0, len(c.dbs))
	for d := range c.dbs {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// DatabaseCharset returns the default charset of db ("" when unknown).
func (c *Catalog) DatabaseCharset(db string) string { return c.dbs[db] }

// SetDatabase records a database and its default charset.
func (c *Catalog) SetDatabase(db, charset string) { c.dbs[db] = charset }

// Put stores t (a new version: its Version is set) with its keys. If idx is nil and t has a
// primary key, a primary index is made from it.
func (c *Catalog) Put(t *schema.Table, idx []Index) *schema.Table {
	t = t.Clone()
	c.version++
	t.Version = c.version
	if idx == nil && len(t.PrimaryKey) > 0 {
		idx = []Index{{Name: "PRIMARY", Primary: true, Unique: true, Columns: t.PrimaryKeyNames()}}
	}
	if _, ok := c.dbs[t.ID.DB]; !ok {
		c.dbs[t.ID.DB] = ""
	}
	c.tables[t.ID] = &entry{t: t, idx: idx}
	return t
}

// Drop removes a table.
func (c *Catalog) Drop(id schema.TableID) {
	if e := c.lookup(id); e != nil {
		delete(c.tables, e.t.ID)
	}
}

func (c *Catalog) lookup(id schema.TableID) *entry {
	if e, ok := c.tables[id]; ok {
		return e
	}
	for k, e := range c.tables {
		if strings.EqualFold(k.DB, id.DB) && strings.EqualFold(k.Table, id.Table) {
			return e
		}
	}
	return nil
}

// Change is one table a statement created, altered, renamed, truncated or dropped.
type Change struct {
	// Type is CREATE, ALTER or DROP (Debezium's tableChanges types); a rename is an ALTER with
	// PrevID set. TRUNCATE TABLE gives Truncate = true and Type "".
	Type     string
	Table    *schema.Table // the new version; for DROP and TRUNCATE the current one
	PrevID   *schema.TableID
	Truncate bool
}

// Result is what a statement did.
type Result struct {
	// DDL is false for statements that do not change table or database definitions (GRANT,
	// CREATE USER, FLUSH, views, routines, …); the caller may log and skip them.
	DDL bool
	// Databases are the databases the statement concerns, in order (the first is the one
	// Debezium's history record names).
	Databases []string
	Changes   []Change
}

// Apply parses one statement (as a QUERY event carries it) with defaultDB as the current
// database and applies it. A statement the grammar cannot read returns a *ParseError and
// changes nothing; non-DDL statements return a Result with DDL false.
func (c *Catalog) Apply(stmt, defaultDB string) (Result, error) {
	w := leadingWords(stmt, 5)
	if len(w) == 0 {
		return Result{}, nil
	}
	if !isTableDDL(w) {
		return Result{}, nil
	}
	// MariaDB forms the grammar does not know.
	replace := false
	if len(w) >= 3 && w[0] == "CREATE" && w[1] == "OR" && w[2] == "REPLACE" {
		rest := w[3:]
		if len(rest) > 0 && rest[0] == "TEMPORARY" {
			return Result{}, nil
		}
		if len(rest) > 0 && rest[0] == "SEQUENCE" {
			return c.createSequence(stmt, defaultDB, true)
		}
		if len(rest) == 0 || rest[0] != "TABLE" {
			return Result{}, nil
		}
		replace = true
		stmt = removeOrReplace(stmt)
	}
	if w[0] == "CREATE" && len(w) > 1 && (w[1] == "SEQUENCE" || w[1] == "TEMPORARY" && len(w) > 2 && w[2] == "SEQUENCE") {
		if w[1] == "TEMPORARY" {
			return Result{}, nil
		}
		return c.createSequence(stmt, defaultDB, false)
	}
	if w[0] == "DROP" && len(w) > 1 && (w[1] == "SEQUENCE" || w[1] == "TEMPORARY" && len(w) > 2 && w[2] == "SEQUENCE") {
		if w[1] == "TEMPORARY" {
			return Result{DDL: true}, nil
		}
		stmt = replaceFirstWord(stmt, "SEQUENCE", "TABLE")
	}
	if w[0] == "ALTER" && len(w) > 1 && w[1] == "SEQUENCE" {
		return Result{DDL: true, Databases: []string{defaultDB}}, nil
	}
	if w[0] == "CREATE" {
		// MySQL 8 logs CREATE TABLE … SELECT as the table definition followed by
		// START TRANSACTION (atomic DDL); the rows follow as row events.
		stmt = stripStartTransaction(stmt)
	}
	sql := rewrite(stmt)
	st, err := c.parser.ParseStrictDDL(sql)
	if err != nil {
		return Result{}, &ParseError{Stmt: stmt, Err: err, Tables: guessTables(stmt)}
	}
	switch s := st.(type) {
	case *sqlparser.CreateTable:
		if s.Temp {
			return Result{}, nil
		}
		return c.createTable(s, defaultDB, replace)
	case *sqlparser.AlterTable:
		return c.alterTable(s, defaultDB)
	case *sqlparser.DropTable:
		if s.Temp {
			return Result{DDL: true}, nil
		}
		var r Result
		r.DDL = true
		for _, tn := range s.FromTables {
			id := c.id(tn, defaultDB)
			addDB(&r, id.DB)
			if e := c.lookup(id); e != nil {
				r.Changes = append(r.Changes, Change{Type: "DROP", Table: e.t})
				delete(c.tables, e.t.ID)
			}
		}
		return r, nil
	case *sqlparser.RenameTable:
		var r Result
		r.DDL = true
		for _, p := range s.TablePairs {
			from, to := c.id(p.FromTable, defaultDB), c.id(p.ToTable, defaultDB)
			addDB(&r, from.DB)
			addDB(&r, to.DB)
			if ch, ok := c.rename(from, to); ok {
				r.Changes = append(r.Changes, ch)
			}
		}
		return r, nil
	case *sqlparser.TruncateTable:
		id := c.id(s.Table, defaultDB)
		r := Result{DDL: true, Databases: []string{id.DB}}
		if e := c.lookup(id); e != nil {
			r.Changes = append(r.Changes, Change{Table: e.t, Truncate: true})
		}
		return r, nil
	case *sqlparser.CreateDatabase:
		db := s.DBName.String()
		cs := ""
		for _, o := range s.CreateOptions {
			switch o.Type {
			case sqlparser.CharacterSetType:
				cs = strings.ToLower(o.Value)
			case sqlparser.CollateType:
				if cs == "" {
					cs = charsetOfCollation(o.Value)
				}
			}
		}
		if cs == "" {
			cs = c.ServerCharset
		}
		if _, ok := c.dbs[db]; !ok || !s.IfNotExists {
			c.dbs[db] = cs
		}
		return Result{DDL: true, Databases: []string{db}}, nil
	case *sqlparser.AlterDatabase:
		db := s.DBName.String()
		if db == "" {
			db = defaultDB
		}
		for _, o := range s.AlterOptions {
			switch o.Type {
			case sqlparser.CharacterSetType:
				c.dbs[db] = strings.ToLower(o.Value)
			case sqlparser.CollateType:
				c.dbs[db] = charsetOfCollation(o.Value)
			}
		}
		return Result{DDL: true, Databases: []string{db}}, nil
	case *sqlparser.DropDatabase:
		db := s.DBName.String()
		r := Result{DDL: true, Databases: []string{db}}
		for _, t := range c.Tables() {
			if t.ID.DB == db {
				r.Changes = append(r.Changes, Change{Type: "DROP", Table: t})
				delete(c.tables, t.ID)
			}
		}
		delete(c.dbs, db)
		return r, nil
	}
	return Result{}, nil
}

// isTableDDL reports whether the leading words start a statement that can change table or
// database definitions.
func isTableDDL(w []string) bool {
	i := 1
	switch w[0] {
	case "CREATE":
		for i < len(w) && (w[i] == "OR" || w[i] == "REPLACE" || w[i] == "TEMPORARY" || w[i] == "UNIQUE" || w[i] == "FULLTEXT" || w[i] == "SPATIAL" || w[i] == "ONLINE" || w[i] == "OFFLINE") {
			i++
		}
		return i < len(w) && (w[i] == "TABLE" || w[i] == "DATABASE" || w[i] == "SCHEMA" || w[i] == "INDEX" || w[i] == "SEQUENCE")
	case "ALTER":
		for i < len(w) && (w[i] == "ONLINE" || w[i] == "IGNORE" || w[i] == "OFFLINE") {
			i++
		}
		return i < len(w) && (w[i] == "TABLE" || w[i] == "DATABASE" || w[i] == "SCHEMA" || w[i] == "SEQUENCE")
	case "DROP":
		for i < len(w) && (w[i] == "TEMPORARY" || w[i] == "ONLINE" || w[i] == "OFFLINE") {
			i++
		}
		return i < len(w) && (w[i] == "TABLE" || w[i] == "TABLES" || w[i] == "DATABASE" || w[i] == "SCHEMA" || w[i] == "INDEX" || w[i] == "SEQUENCE")
	case "RENAME":
		return i < len(w) && (w[i] == "TABLE" || w[i] == "TABLES")
	case "TRUNCATE":
		return true
	}
	return false
}

func addDB(r *Result, db string) {
	for _, d := range r.Databases {
		if d == db {
			return
		}
	}
	r.Databases = append(r.Databases, db)
}

func (c *Catalog) id(tn sqlparser.TableName, defaultDB string) schema.TableID {
	db := tn.Qualifier.String()
	if db == "" {
		db = defaultDB
	}
	return schema.TableID{DB: db, Table: tn.Name.String()}
}

func (c *Catalog) tableCharset(db string) string {
	if cs := c.dbs[db]; cs != "" {
		return cs
	}
	return c.ServerCharset
}

func (c *Catalog) rename(from, to schema.TableID) (Change, bool) {
	e := c.lookup(from)
	if e == nil {
		return Change{}, false
	}
	delete(c.tables, e.t.ID)
	t := e.t.Clone()
	t.ID = to
	prev := e.t.ID
	t = c.Put(t, e.idx)
	return Change{Type: "ALTER", Table: t, PrevID: &prev}, true
}

func (c *Catalog) createTable(s *sqlparser.CreateTable, defaultDB string, replace bool) (Result, error) {
	id := c.id(s.Table, defaultDB)
	r := Result{DDL: true, Databases: []string{id.DB}}
	old := c.lookup(id)
	if old != nil && s.IfNotExists && !replace {
		return r, nil
	}
	var t *schema.Table
	var idx []Index
	switch {
	case s.OptLike != nil:
		src := c.lookup(c.id(s.OptLike.LikeTable, defaultDB))
		if src == nil {
			return r, fmt.Errorf("CREATE TABLE %s LIKE %s: %w", id, c.id(s.OptLike.LikeTable, defaultDB), ErrUnknownTable)
		}
		t = src.t.Clone()
		idx = append([]Index(nil), src.idx...)
	case s.TableSpec != nil:
		t = &schema.Table{ID: id, Dialect: schema.MySQL}
		t.DefaultCharset = c.tableCharset(id.DB)
		applyTableOptions(t, s.TableSpec.Options, false)
		for _, cd := range s.TableSpec.Columns {
			col, ix := c.column(cd, t.DefaultCharset)
			t.Columns = append(t.Columns, col)
			idx = append(idx, ix...)
		}
		for _, id := range s.TableSpec.Indexes {
			idx = append(idx, indexOf(id))
		}
		if s.Select != nil {
			return r, &DefinitionError{ID: id, Why: "CREATE TABLE … SELECT: the column types of the SELECT part are not in the statement"}
		}
	default:
		return r, fmt.Errorf("CREATE TABLE %s: no column definitions", id)
	}
	t.ID = id
	finish(t, idx)
	typ := "CREATE"
	t = c.Put(t, idx)
	r.Changes = append(r.Changes, Change{Type: typ, Table: t})
	return r, nil
}

func (c *Catalog) createSequence(stmt, defaultDB string, replace bool) (Result, error) {
	toks := tokenize(stmt)
	var names []string
	seen := false
	for k := 0; k < len(toks); k++ {
		t := toks[k]
		if t.kind == 'c' {
			continue
		}
		v := stmt[t.start:t.end]
		if !seen {
			if t.kind == 'w' && strings.EqualFold(v, "SEQUENCE") {
				seen = true
			}
			continue
		}
		if t.kind == 'w' && (strings.EqualFold(v, "IF") || strings.EqualFold(v, "NOT") || strings.EqualFold(v, "EXISTS")) && len(names) == 0 {
			continue
		}
		if t.kind == 'b' {
			v = strings.ReplaceAll(v[1:len(v)-1], "``", "`")
		} else if t.kind == 'p' && v == "." {
			continue
		} else if t.kind != 'w' {
			break
		}
		names = append(names, v)
		if k+1 < len(toks) && toks[k+1].kind == 'p' && stmt[toks[k+1].start] == '.' {
			continue
		}
		break
	}
	if len(names) == 0 {
		return Result{}, &ParseError{Stmt: stmt, Err: fmt.Errorf("no sequence name")}
	}
	id := schema.TableID{DB: defaultDB, Table: names[len(names)-1]}
	if len(names) > 1 {
		id.DB = names[0]
	}
	r := Result{DDL: true, Databases: []string{id.DB}}
	if c.lookup(id) != nil && !replace {
		return r, nil
	}
	// The columns MariaDB gives every sequence table.
	t := &schema.Table{ID: id, Dialect: schema.MySQL, DefaultCharset: c.tableCharset(id.DB)}
	mk := func(name, typ string) schema.Column {
		col, _ := ParseColumnType(typ)
		col.Name = name
		col.Nullable = false
		return col
	}
	t.Columns = []schema.Column{
		mk("next_not_cached_value", "bigint(21)"), mk("minimum_value", "bigint(21)"),
		mk("maximum_value", "bigint(21)"), mk("start_value", "bigint(21)"),
		mk("increment", "bigint(21)"), mk("cache_size", "bigint(21) unsigned"),
		mk("cycle_option", "tinyint(1) unsigned"), mk("cycle_count", "bigint(21)"),
	}
	t = c.Put(t, []Index{})
	r.Changes = append(r.Changes, Change{Type: "CREATE", Table: t})
	return r, nil
}

func removeOrReplace(stmt string) string {
	toks := tokenize(stmt)
	n := 0
	for _, t := range toks {
		if t.kind == 'c' {
			continue
		}
		n++
		if n == 2 { // OR
			for _, u := range toks {
				if u.start > t.start && u.kind == 'w' { // REPLACE
					return stmt[:t.start] + stmt[u.end:]
				}
			}
		}
	}
	return stmt
}

func replaceFirstWord(stmt, word, repl string) string {
	for _, t := range tokenize(stmt) {
		if t.kind == 'w' && strings.EqualFold(stmt[t.start:t.end], word) {
			return stmt[:t.start] + repl + stmt[t.end:]
		}
	}
	return stmt
}

// column converts a column definition; the returned indexes come from inline PRIMARY KEY /
// UNIQUE attributes.
func (c *Catalog) column(cd *sqlparser.ColumnDefinition, tableCharset string) (schema.Column, []Index) {
	ct := cd.Type
	ts := typeSpec{name: ct.Type, length: -1, scale: -1, unsigned: ct.Unsigned || ct.Zerofill, charset: strings.ToLower(ct.Charset.Name)}
	if ct.Length != nil {
		ts.length = *ct.Length
	}
	if ct.Scale != nil {
		ts.scale = *ct.Scale
	}
	for _, e := range ct.EnumValues {
		ts.enum = append(ts.enum, unquoteLit(e))
	}
	marker := ""
	if strings.HasPrefix(ts.charset, markerPrefix) {
		marker = strings.TrimPrefix(ts.charset, markerPrefix)
		ts.charset = ""
	}
	o := ct.Options
	if o != nil && o.Collate != "" {
		ts.collate = strings.ToLower(o.Collate)
	}
	col := normalize(ts)
	if marker != "" {
		col = schema.Column{Type: marker, Length: -1, Scale: -1, Nullable: true, TypeExpr: marker}
	}
	col.Name = cd.Name.String()
	if textTypes[col.Type] && col.Charset == "" {
		col.Charset = tableCharset
	}
	var idx []Index
	if o != nil {
		if o.Null != nil {
			col.Nullable = *o.Null
		}
		col.AutoIncrement = o.Autoincrement
		col.Generated = o.As != nil
		if o.Comment != nil {
			col.Comment = o.Comment.Val
		}
		if o.Default != nil {
			col.Default, col.HasDefault = defaultOf(o.Default)
		}
		switch o.KeyOpt {
		case sqlparser.ColKeyPrimary:
			idx = append(idx, Index{Name: "PRIMARY", Primary: true, Unique: true, Columns: []string{col.Name}})
		case sqlparser.ColKeyUnique, sqlparser.ColKeyUniqueKey:
			idx = append(idx, Index{Name: col.Name, Unique: true, Columns: []string{col.Name}})
		}
	}
	if col.Type == "timestamp" && !col.HasDefault && o != nil && o.Null == nil {
		// explicit_defaults_for_timestamp=ON (the default since MySQL 8.0 / MariaDB 10.10)
	}
	return col, idx
}

func defaultOf(e sqlparser.Expr) (string, bool) {
	switch v := e.(type) {
	case *sqlparser.NullVal:
		return "", false
	case *sqlparser.Literal:
		return v.Val, true
	case *sqlparser.UnaryExpr:
		if l, ok := v.Expr.(*sqlparser.Literal); ok && v.Operator == sqlparser.UMinusOp {
			return "-" + l.Val, true
		}
	}
	return sqlparser.String(e), true
}

func unquoteLit(s string) string {
	if len(s) >= 2 && (s[0] == '\'' || s[0] == '"') && s[len(s)-1] == s[0] {
		args, _, err := parseArgs("(" + s + ")")
		if err == nil && len(args) == 1 {
			return args[0]
		}
	}
	return s
}

func indexOf(d *sqlparser.IndexDefinition) Index {
	ix := Index{Name: d.Info.Name.String(), Primary: d.Info.Type == sqlparser.IndexTypePrimary, Unique: d.Info.IsUnique()}
	if ix.Primary {
		ix.Name = "PRIMARY"
	}
	for _, col := range d.Columns {
		if col.Expression != nil {
			// functional key parts cannot serve as a message key
			ix.Unique = false
			ix.Primary = ix.Primary && false
			continue
		}
		ix.Columns = append(ix.Columns, col.Column.String())
	}
	if ix.Name == "" && len(ix.Columns) > 0 {
		ix.Name = ix.Columns[0]
	}
	return ix
}

func applyTableOptions(t *schema.Table, opts sqlparser.TableOptions, convert bool) {
	for _, o := range opts {
		name := strings.ToUpper(strings.Join(strings.Fields(o.Name), " "))
		val := o.String
		if o.Value != nil {
			val = o.Value.Val
		}
		switch name {
		case "CHARSET", "CHARACTER SET", "DEFAULT CHARSET", "DEFAULT CHARACTER SET":
			t.DefaultCharset = strings.ToLower(val)
		case "COLLATE", "DEFAULT COLLATE":
			if !hasCharsetOption(opts) {
				t.DefaultCharset = charsetOfCollation(val)
			}
		case "COMMENT":
			t.Comment = val
		}
	}
}

func hasCharsetOption(opts sqlparser.TableOptions) bool {
	for _, o := range opts {
		if strings.Contains(strings.ToUpper(o.Name), "CHARSET") || strings.Contains(strings.ToUpper(o.Name), "CHARACTER") {
			return true
		}
	}
	return false
}

// finish makes primary-key columns NOT NULL and picks the message key: the primary key, or
// the first unique key whose columns all exist and are NOT NULL.
func finish(t *schema.Table, idx []Index) {
	for _, ix := range idx {
		if ix.Primary {
			for _, n := range ix.Columns {
				if i := t.ColumnIndex(n); i >= 0 {
					t.Columns[i].Nullable = false
				}
			}
		}
	}
	t.PrimaryKey = nil
	pick := func(ix Index) bool {
		var key []int
		for _, n := range ix.Columns {
			i := t.ColumnIndex(n)
			if i < 0 || (!ix.Primary && t.Columns[i].Nullable) {
				return false
			}
			key = append(key, i)
		}
		if len(key) == 0 {
			return false
		}
		t.PrimaryKey = key
		return true
	}
	for _, ix := range idx {
		if ix.Primary && pick(ix) {
			return
		}
	}
	for _, ix := range idx {
		if ix.Unique && !ix.Primary && pick(ix) {
			return
		}
	}
}

// Finish is finish for callers that build tables outside the catalog (the server loader): it
// sets PrimaryKey from the keys.
func Finish(t *schema.Table, idx []Index) { finish(t, idx) }

func stripStartTransaction(stmt string) string {
	toks := tokenize(stmt)
	var ws []tok
	for _, t := range toks {
		if t.kind != 'c' {
			ws = append(ws, t)
		}
	}
	n := len(ws)
	if n >= 2 && ws[n-1].kind == 'w' && ws[n-2].kind == 'w' &&
		strings.EqualFold(stmt[ws[n-1].start:ws[n-1].end], "TRANSACTION") && strings.EqualFold(stmt[ws[n-2].start:ws[n-2].end], "START") {
		return stmt[:ws[n-2].start]
	}
	return stmt
}
