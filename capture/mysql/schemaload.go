package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

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
	Rows int64 // information_schema.TABLES.TABLE_ROWS: the engine's estimate
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

// loadTables reads every base table (and MariaDB sequence) of dbs from information_schema.
// only, when set, restricts to one table.
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
	byID := map[schema.TableID]*tableDef{}
	var order []schema.TableID
	rows, err := q.QueryContext(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, IFNULL(TABLE_COLLATION,''), IFNULL(TABLE_COMMENT,''), IFNULL(TABLE_ROWS,0), TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_TYPE IN ('BASE TABLE','SEQUENCE','SYSTEM VERSIONED') AND "+where, args...)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	for rows.Next() {
		var db, name, coll, comment, typ string
		var est int64
		if err := rows.Scan(&db, &name, &coll, &comment, &est, &typ); err != nil {
			rows.Close()
			return nil, err
		}
		id := schema.TableID{DB: db, Table: name}
		byID[id] = &tableDef{T: &schema.Table{ID: id, Dialect: schema.MySQL, DefaultCharset: mysqlddl.CharsetOfCollation(coll), Comment: comment}, Rows: est}
		if typ != "BASE TABLE" {
			byID[id].Opaque = strings.ToLower(typ)
		}
		order = append(order, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = q.QueryContext(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, COLUMN_DEFAULT, IS_NULLABLE, COLUMN_TYPE, IFNULL(CHARACTER_SET_NAME,''), IFNULL(EXTRA,''), IFNULL(COLUMN_COMMENT,'') FROM information_schema.COLUMNS WHERE "+where+" ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION", args...)
	if err != nil {
		return nil, fmt.Errorf("list columns: %w", err)
	}
	for rows.Next() {
		var db, tbl, name, nullable, ctype, cs, extra, comment string
		var def sql.NullString
		if err := rows.Scan(&db, &tbl, &name, &def, &nullable, &ctype, &cs, &extra, &comment); err != nil {
			rows.Close()
			return nil, err
		}
		td := byID[schema.TableID{DB: db, Table: tbl}]
		if td == nil {
			continue
		}
		col, err := mysqlddl.ParseColumnType(ctype)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("table %s.%s column %s: %w", db, tbl, name, err)
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
		if td.Opaque == "" {
			td.Opaque = opaqueColumn(&col, def, lx, mariadb)
		}
		td.T.Columns = append(td.T.Columns, col)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = q.QueryContext(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME FROM information_schema.STATISTICS WHERE "+where+" ORDER BY TABLE_SCHEMA, TABLE_NAME", args...)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	type keyCol struct {
		seq  int
		name sql.NullString
	}
	type key struct {
		name   string
		unique bool
		cols   []keyCol
	}
	keys := map[schema.TableID][]*key{}
	for rows.Next() {
		var db, tbl, idx string
		var nonUnique, seq int
		var col sql.NullString
		if err := rows.Scan(&db, &tbl, &idx, &nonUnique, &seq, &col); err != nil {
			rows.Close()
			return nil, err
		}
		id := schema.TableID{DB: db, Table: tbl}
		var k *key
		for _, x := range keys[id] {
			if x.name == idx {
				k = x
			}
		}
		if k == nil {
			k = &key{name: idx, unique: nonUnique == 0}
			keys[id] = append(keys[id], k)
		}
		k.cols = append(k.cols, keyCol{seq, col})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]tableDef, 0, len(order))
	for _, id := range order {
		td := byID[id]
		// PRIMARY first, then the other keys in the order the server listed them.
		ks := keys[id]
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
		out = append(out, *td)
	}
	return out, nil
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
