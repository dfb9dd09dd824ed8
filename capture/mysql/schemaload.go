package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/sluicecdc/sluice/capture/mysql/mysqlddl"
	"github.com/sluicecdc/sluice/schema"
)

// queryer is what the loaders need: *sql.DB, *sql.Conn and *sql.Tx have it.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

type serverDB struct {
	Name, Charset string
}

// tableDef is a table read from the server with its keys.
type tableDef struct {
	T    *schema.Table
	Idx  []mysqlddl.Index
	Rows int64 // the engine's row estimate (loadEstimates); 0 until it is loaded
	// Opaque says why the model cannot express the table as DDL (a generated column, a
	// functional key part, a sequence, ...): its history record then carries SHOW CREATE TABLE.
	Opaque string
}

func loadDatabases(ctx context.Context, q queryer, f *filter) ([]serverDB, error) {
	rows, err := q.QueryContext(ctx, "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME")
	if err != nil {
		return nil, fmt.Errorf("list databases: %w", err)
	}
	defer rows.Close()
	var out []serverDB
	for rows.Next() {
		var d serverDB
		if err := rows.Scan(&d.Name, &d.Charset); err != nil {
			return nil, err
		}
		if f.database(d.Name) {
			out = append(out, d)
		}
	}
	return out, rows.Err()
}

func inList(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// countTables counts the base tables f captures (names only: no table is opened).
func countTables(ctx context.Context, q queryer, f *filter) (int, error) {
	rows, err := q.QueryContext(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE IN ('BASE TABLE','SEQUENCE','SYSTEM VERSIONED')")
	if err != nil {
		return 0, fmt.Errorf("count tables: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var db, t string
		if err := rows.Scan(&db, &t); err != nil {
			return 0, fmt.Errorf("count tables: %w", err)
		}
		if f.database(db) && f.table(db, t) {
			n++
		}
	}
	return n, rows.Err()
}

// loadTables reads every base table (and MariaDB sequence) of dbs from information_schema.
// only, when set, restricts to one table. Its three queries (tables, columns, keys) run at once
// when q is a pool (*sql.DB): each costs the server a pass over every table's definition
// (10,000 tables on MariaDB 10.11: ~0.4 s each).
func loadTables(ctx context.Context, q queryer, dbs []string, only *schema.TableID, mariadb bool) ([]tableDef, error) {
	if len(dbs) == 0 {
		return nil, nil
	}
	args := make([]any, len(dbs))
	for i, d := range dbs {
		args[i] = d
	}
	where := "TABLE_SCHEMA IN (" + inList(len(dbs)) + ")"
	if only != nil {
		where += " AND TABLE_NAME = ?"
		args = append(args, only.Table)
	}
	var (
		tabs []tableDef
		cols []colRow
		keys map[schema.TableID][]*keyDef
	)
	fetch := []func() error{
		func() (err error) { tabs, err = fetchTables(ctx, q, where, args); return err },
		func() (err error) { cols, err = fetchColumns(ctx, q, where, args, mariadb); return err },
		func() (err error) { keys, err = fetchKeys(ctx, q, where, args); return err },
	}
	if _, pool := q.(*sql.DB); pool {
		errs := make([]error, len(fetch))
		var wg sync.WaitGroup
		for i, f := range fetch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = f()
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	} else {
		for _, f := range fetch {
			if err := f(); err != nil {
				return nil, err
			}
		}
	}
	byID := make(map[schema.TableID]*tableDef, len(tabs))
	for i := range tabs {
		byID[tabs[i].T.ID] = &tabs[i]
	}
	for i := range cols {
		c := &cols[i]
		td := byID[c.id]
		if td == nil {
			continue // a table created between the queries: not in the list
		}
		if c.err != nil {
			return nil, c.err
		}
		if td.Opaque == "" {
			td.Opaque = c.opaque
		}
		td.T.Columns = append(td.T.Columns, c.col)
	}
	for i := range tabs {
		td := &tabs[i]
		// PRIMARY first, then the other keys in the order the server listed them.
		ks := keys[td.T.ID]
		sort.SliceStable(ks, func(i, j int) bool { return ks[i].name == "PRIMARY" && ks[j].name != "PRIMARY" })
		for _, k := range ks {
			sort.Slice(k.cols, func(i, j int) bool { return k.cols[i].seq < k.cols[j].seq })
			ix := mysqlddl.Index{Name: k.name, Primary: k.name == "PRIMARY", Unique: k.unique}
			for _, c := range k.cols {
				if !c.name.Valid { // functional key part
					if td.Opaque == "" {
						td.Opaque = "functional key part in " + k.name
					}
					ix.Unique, ix.Primary = false, false
					continue
				}
				ix.Columns = append(ix.Columns, c.name.String)
			}
			td.Idx = append(td.Idx, ix)
		}
		mysqlddl.Finish(td.T, td.Idx)
	}
	return tabs, nil
}

func fetchTables(ctx context.Context, q queryer, where string, args []any) ([]tableDef, error) {
	// No TABLE_ROWS here: it opens every table in the engine (loadEstimates).
	rows, err := q.QueryContext(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, IFNULL(TABLE_COLLATION,''), IFNULL(TABLE_COMMENT,''), TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_TYPE IN ('BASE TABLE','SEQUENCE','SYSTEM VERSIONED') AND "+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	var out []tableDef
	for rows.Next() {
		var db, name, coll, comment, typ string
		if err := rows.Scan(&db, &name, &coll, &comment, &typ); err != nil {
			return nil, fmt.Errorf("list tables: %w", err)
		}
		id := schema.TableID{DB: db, Table: name}
		td := tableDef{T: &schema.Table{ID: id, Dialect: schema.MySQL, DefaultCharset: mysqlddl.CharsetOfCollation(coll), Comment: comment}}
		if typ != "BASE TABLE" {
			td.Opaque = strings.ToLower(typ)
		}
		out = append(out, td)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	return out, nil
}

// colRow is a column as information_schema lists it; opaque says why the model cannot write it
// back as DDL (opaqueColumn).
type colRow struct {
	id     schema.TableID
	col    schema.Column
	opaque string
	err    error // a type the parser does not read: fails only a table that is listed (not a view)
}

func fetchColumns(ctx context.Context, q queryer, where string, args []any, mariadb bool) ([]colRow, error) {
	rows, err := q.QueryContext(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_DEFAULT, IS_NULLABLE, COLUMN_TYPE, IFNULL(CHARACTER_SET_NAME,''), IFNULL(EXTRA,''), IFNULL(COLUMN_COMMENT,'') FROM information_schema.COLUMNS WHERE "+where+" ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION", args...)
	if err != nil {
		return nil, fmt.Errorf("list columns: %w", err)
	}
	defer rows.Close()
	var out []colRow
	for rows.Next() {
		var db, tbl, name, nullable, ctype, cs, extra, comment string
		var def sql.NullString
		if err := rows.Scan(&db, &tbl, &name, &def, &nullable, &ctype, &cs, &extra, &comment); err != nil {
			return nil, fmt.Errorf("list columns: %w", err)
		}
		id := schema.TableID{DB: db, Table: tbl}
		col, err := mysqlddl.ParseColumnType(ctype)
		if err != nil {
			out = append(out, colRow{id: id, err: fmt.Errorf("table %s.%s column %s: %w", db, tbl, name, err)})
			continue
		}
		col.Name = name
		col.Nullable = nullable == "YES"
		col.Comment = comment
		if col.Type == "char" || col.Type == "varchar" || strings.HasSuffix(col.Type, "text") || col.Type == "enum" || col.Type == "set" {
			col.Charset = strings.ToLower(cs)
		}
		lx := strings.ToLower(extra)
		col.AutoIncrement = strings.Contains(lx, "auto_increment")
		col.Generated = strings.Contains(lx, "generated") && !strings.Contains(lx, "default_generated")
		col.Default, col.HasDefault = serverDefault(def, lx, mariadb)
		out = append(out, colRow{id: id, col: col, opaque: opaqueColumn(&col, def, lx, mariadb)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list columns: %w", err)
	}
	return out, nil
}

type keyCol struct {
	seq  int
	name sql.NullString
}

type keyDef struct {
	name   string
	unique bool
	cols   []keyCol
}

func fetchKeys(ctx context.Context, q queryer, where string, args []any) (map[schema.TableID][]*keyDef, error) {
	rows, err := q.QueryContext(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME FROM information_schema.STATISTICS WHERE "+where+" ORDER BY TABLE_SCHEMA, TABLE_NAME", args...)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	defer rows.Close()
	keys := map[schema.TableID][]*keyDef{}
	for rows.Next() {
		var db, tbl, idx string
		var nonUnique, seq int
		var col sql.NullString
		if err := rows.Scan(&db, &tbl, &idx, &nonUnique, &seq, &col); err != nil {
			return nil, fmt.Errorf("list keys: %w", err)
		}
		id := schema.TableID{DB: db, Table: tbl}
		var k *keyDef
		for _, x := range keys[id] {
			if x.name == idx {
				k = x
			}
		}
		if k == nil {
			k = &keyDef{name: idx, unique: nonUnique == 0}
			keys[id] = append(keys[id], k)
		}
		k.cols = append(k.cols, keyCol{seq, col})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return keys, nil
}

// estimateNames is how many table names one TABLE_ROWS query of loadEstimates lists.
const estimateNames = 500

// loadEstimates sets each table's Rows, the engine's row estimate. It only plans the snapshot
// (a table estimated empty is checked with others in one statement, a big one is split into key
// ranges) and is never trusted for what is read. information_schema.TABLES.TABLE_ROWS opens
// every table in the engine (10,000 empty tables on MariaDB 10.11: 4.4 s of a 5.1 s schema
// read, 0.4 s without it), so the estimates come from InnoDB's persistent statistics
// (mysql.innodb_table_stats, one cheap read), and TABLE_ROWS is asked, by name, only for the
// tables the statistics do not know (other engines, STATS_PERSISTENT=0, partitions) or say have
// rows: the statistics lag up to ~10 s behind inserts, and those tables are opened to be read
// anyway. A table the statistics still count as empty is checked in the snapshot like any.
// Without access to the statistics it asks TABLE_ROWS for every table, as before.
//
// mysql is false on MariaDB: MySQL 8+ serves TABLE_ROWS from a cache kept up to a day unless
// the session's information_schema_stats_expiry is 0.
func loadEstimates(ctx context.Context, db *sql.DB, tables []tableDef, mysql bool) error {
	if len(tables) == 0 {
		return nil
	}
	c, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("row estimates: %w", err)
	}
	defer c.Close()
	if mysql {
		_, _ = c.ExecContext(ctx, "SET SESSION information_schema_stats_expiry = 0") // absent before 8.0: ignored
	}
	byDB := map[string][]int{}
	var dbs []string
	for i, td := range tables {
		if byDB[td.T.ID.DB] == nil {
			dbs = append(dbs, td.T.ID.DB)
		}
		byDB[td.T.ID.DB] = append(byDB[td.T.ID.DB], i)
	}
	type key struct{ db, table string }
	stats := map[key]int64{}
	args := make([]any, len(dbs))
	for i, d := range dbs {
		args[i] = d
	}
	rows, err := c.QueryContext(ctx, "SELECT database_name, table_name, n_rows FROM mysql.innodb_table_stats WHERE database_name IN ("+inList(len(dbs))+")", args...)
	if err == nil {
		for rows.Next() {
			var k key
			var n int64
			if err = rows.Scan(&k.db, &k.table, &n); err != nil {
				break
			}
			stats[k] = n
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	statsOK := err == nil
	for _, d := range dbs {
		var ask []int
		for _, i := range byDB[d] {
			n, ok := stats[key{d, tables[i].T.ID.Table}]
			tables[i].Rows = n
			if !statsOK || !ok || n > 0 {
				ask = append(ask, i)
			}
		}
		if !statsOK && len(ask) > 0 {
			// Every table of d: one query without a name list.
			if err := tableRows(ctx, c, d, nil, tables, ask); err != nil {
				return err
			}
			continue
		}
		for len(ask) > 0 {
			n := min(len(ask), estimateNames)
			if err := tableRows(ctx, c, d, ask[:n], tables, ask[:n]); err != nil {
				return err
			}
			ask = ask[n:]
		}
	}
	return nil
}

// tableRows sets Rows of tables[idx] (all in database d) from information_schema's TABLE_ROWS,
// asking for the tables of names only (nil: every table of d).
func tableRows(ctx context.Context, q queryer, d string, names []int, tables []tableDef, idx []int) error {
	query := "SELECT TABLE_NAME, IFNULL(TABLE_ROWS,0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?"
	args := []any{d}
	if names != nil {
		// A condition on the names alone is checked before a table is opened.
		query += " AND TABLE_NAME IN (" + inList(len(names)) + ")"
		for _, i := range names {
			args = append(args, tables[i].T.ID.Table)
		}
	}
	pos := make(map[string]int, len(idx))
	for _, i := range idx {
		pos[tables[i].T.ID.Table] = i
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("row estimates of %s: %w", d, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return fmt.Errorf("row estimates of %s: %w", d, err)
		}
		if i, ok := pos[name]; ok {
			tables[i].Rows = n
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("row estimates of %s: %w", d, err)
	}
	return nil
}

// serverDefault normalises information_schema.COLUMNS.COLUMN_DEFAULT: MariaDB quotes string
// literals and writes NULL as the text NULL; MySQL writes literals bare and marks expressions
// with DEFAULT_GENERATED in EXTRA.
func serverDefault(def sql.NullString, extra string, mariadb bool) (string, bool) {
	if !def.Valid {
		return "", false
	}
	v := def.String
	if mariadb {
		if v == "NULL" {
			return "", false
		}
		if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
			return unquoteSQL(v[1 : len(v)-1]), true
		}
		return normExpr(v), true
	}
	if strings.Contains(extra, "default_generated") {
		return normExpr(v), true
	}
	return v, true
}

// normExpr writes CURRENT_TIMESTAMP as the DDL parser does: current_timestamp() or
// current_timestamp(3).
func normExpr(v string) string {
	l := strings.ToLower(v)
	if strings.HasPrefix(l, "current_timestamp") {
		if l == "current_timestamp" {
			return "current_timestamp()"
		}
		return l
	}
	return v
}

func unquoteSQL(s string) string {
	if !strings.ContainsAny(s, `'\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\'' && i+1 < len(s) && s[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		if c == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// showCreate returns SHOW CREATE TABLE's text (for history records and schema change events).
func showCreate(ctx context.Context, q queryer, id schema.TableID) (string, error) {
	rows, err := q.QueryContext(ctx, "SHOW CREATE TABLE "+quoteID(id.DB)+"."+quoteID(id.Table))
	if err != nil {
		return "", fmt.Errorf("show create table %s: %w", id, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		return "", fmt.Errorf("show create table %s: no row", id)
	}
	vals := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return "", err
	}
	if len(vals) < 2 {
		return "", fmt.Errorf("show create table %s: unexpected columns %v", id, cols)
	}
	return string(vals[1]), nil
}

func quoteID(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }
