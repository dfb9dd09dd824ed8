package mysql

import (
	"context"
	"fmt"
	"strings"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql/binlog"
	"github.com/sluicecdc/sluice/capture/mysql/mysqlddl"
	"github.com/sluicecdc/sluice/schema"
)

// checkTableMap compares a TABLE_MAP with the catalog's definition of its table, records the
// table version rows events of this map decode with, and gives the decoder the column hints
// the map lacks. A mismatch stops the source (or, with SchemaRepair, reloads the table).
func (s *Source) checkTableMap(ctx context.Context, h binlog.Header, tm *binlog.TableMap) error {
	if !s.f.table(tm.Schema, tm.Table) {
		delete(s.st.checked, tm)
		return nil
	}
	id := schema.TableID{DB: tm.Schema, Table: tm.Table}
	t := s.cat.Table(id)
	if t != nil && s.st.checked[tm] == t {
		return nil
	}
	at := fmt.Sprintf("%s:%d", s.st.file, s.evStart(h))
	var why string
	if t == nil {
		why = "the table is not in the schema history"
	} else {
		why = mismatch(t, tm)
	}
	if why != "" {
		// A table created while sluice was stopped without its CREATE in the binlog
		// (newtables.go) that has changes in it: read from the server, like --schema-repair.
		unseen := t == nil && s.unseen.has(id)
		if !s.cfg.SchemaRepair && !unseen {
			return fmt.Errorf("mysql: table %s at %s (gtid %q): %w: %s. Fix: restart with --schema-repair to rebuild the definition from the server (works when the server's current definition matches this event), or --snapshot-mode recovery", id, at, s.st.gtid, ErrSchemaMismatch, why)
		}
		nt, err := s.repair(ctx, h, id, tm)
		if capture.Retryable(err) {
			return err
		}
		if err != nil {
			return fmt.Errorf("mysql: table %s at %s: %w: %s; schema repair failed: %v", id, at, ErrSchemaMismatch, why, err)
		}
		t = nt
		if unseen {
			if err := s.snapshotUnseen(ctx, t, at); err != nil {
				return err
			}
		} else {
			s.log.Warn("schema repaired from the server", "table", id.String(), "at", at, "reason", why)
		}
	}
	tm.SetHints(hints(t, s.info.MariaDB))
	s.st.checked[tm] = t
	return nil
}

func (s *Source) repair(ctx context.Context, h binlog.Header, id schema.TableID, tm *binlog.TableMap) (*schema.Table, error) {
	var defs []tableDef
	if err := s.bounded(ctx, "read the definition of "+id.String()+" from the server", func(ctx context.Context) (err error) {
		defs, err = loadTables(ctx, s.db, []string{id.DB}, &id, s.info.MariaDB)
		return err
	}); err != nil {
		return nil, err
	}
	if len(defs) != 1 {
		return nil, fmt.Errorf("the server has no table %s", id)
	}
	if why := mismatch(defs[0].T, tm); why != "" {
		return nil, fmt.Errorf("the server's current definition does not match either: %s", why)
	}
	typ := "ALTER"
	if s.cat.Table(id) == nil {
		typ = "CREATE"
	}
	t := s.cat.Put(defs[0].T, defs[0].Idx)
	pos := &Position{File: s.st.txnFile, Pos: s.st.txnPos, GTIDs: s.st.gtidsStr, Event: s.st.evIdx, TsSec: int64(h.Timestamp), ServerID: h.ServerID}
	var ddl string
	err := s.bounded(ctx, "SHOW CREATE TABLE "+id.String(), func(ctx context.Context) (err error) {
		ddl, err = showCreate(ctx, s.db, id)
		return err
	})
	if capture.Retryable(err) {
		return nil, err
	}
	if err != nil {
		ddl = "/* sluice schema repair */"
	} else {
		ddl = "/* sluice schema repair */ " + ddl
	}
	if err := s.appendHistory(ctx, pos, id.DB, ddl, []mysqlddl.Change{{Type: typ, Table: t}}); err != nil {
		return nil, err
	}
	return t, nil
}

// mismatch explains why t cannot decode rows of tm ("" when it can).
func mismatch(t *schema.Table, tm *binlog.TableMap) string {
	if len(t.Columns) != tm.ColumnCount() {
		return fmt.Sprintf("the event has %d columns, the history %d (%s)", tm.ColumnCount(), len(t.Columns), colNames(t))
	}
	for i := range t.Columns {
		c := &t.Columns[i]
		rt := tm.RealType(i)
		if !typeMatches(c, rt, tm.Meta[i]) {
			return fmt.Sprintf("column %d %q is %s in the history but %s in the event", i+1, c.Name, c.TypeExpr, rt)
		}
		if len(tm.Names) == len(t.Columns) && !strings.EqualFold(tm.Names[i], c.Name) {
			return fmt.Sprintf("column %d is %q in the history but %q in the event", i+1, c.Name, tm.Names[i])
		}
		if len(tm.Unsigned) == len(t.Columns) && isNumeric(c.Type) && tm.Unsigned[i] != c.Unsigned {
			return fmt.Sprintf("column %q signedness differs (history unsigned=%v)", c.Name, c.Unsigned)
		}
	}
	if len(tm.Members) > 0 {
		k := 0
		for i := range t.Columns {
			c := &t.Columns[i]
			if c.Type != "enum" && c.Type != "set" {
				continue
			}
			if k >= len(tm.Members) {
				break
			}
			m := tm.Members[k]
			k++
			if !equalStrings(m, c.Enum) {
				return fmt.Sprintf("column %q members %v in the history but %v in the event", c.Name, c.Enum, m)
			}
		}
	}
	return ""
}

func colNames(t *schema.Table) string {
	n := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		n[i] = c.Name
	}
	return strings.Join(n, ",")
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func isNumeric(t string) bool {
	switch t {
	case "tinyint", "smallint", "mediumint", "int", "bigint", "boolean":
		return true
	}
	return false
}

func typeMatches(c *schema.Column, rt binlog.ColumnType, meta uint16) bool {
	switch c.Type {
	case "tinyint", "boolean":
		return rt == binlog.TypeTiny
	case "smallint":
		return rt == binlog.TypeShort
	case "mediumint":
		return rt == binlog.TypeInt24
	case "int":
		return rt == binlog.TypeLong
	case "bigint":
		return rt == binlog.TypeLongLong
	case "float":
		return rt == binlog.TypeFloat
	case "double":
		return rt == binlog.TypeDouble
	case "decimal":
		return rt == binlog.TypeNewDecimal || rt == binlog.TypeDecimal
	case "date":
		return rt == binlog.TypeDate || rt == binlog.TypeNewDate
	case "datetime":
		return rt == binlog.TypeDateTime || rt == binlog.TypeDateTime2
	case "timestamp":
		return rt == binlog.TypeTimestamp || rt == binlog.TypeTimestamp2
	case "time":
		return rt == binlog.TypeTime || rt == binlog.TypeTime2
	case "year":
		return rt == binlog.TypeYear
	case "bit":
		return rt == binlog.TypeBit
	case "char", "binary", "uuid", "inet4", "inet6":
		return rt == binlog.TypeString || rt == binlog.TypeVarchar || rt == binlog.TypeVarString
	case "varchar", "varbinary":
		return rt == binlog.TypeVarchar || rt == binlog.TypeVarString || rt == binlog.TypeString
	case "tinytext", "tinyblob", "text", "blob", "mediumtext", "mediumblob", "longtext", "longblob":
		return rt == binlog.TypeBlob || rt == binlog.TypeTinyBlob || rt == binlog.TypeMediumBlob || rt == binlog.TypeLongBlob
	case "enum":
		return rt == binlog.TypeEnum || rt == binlog.TypeString
	case "set":
		return rt == binlog.TypeSet || rt == binlog.TypeString
	case "json":
		return rt == binlog.TypeJSON || rt == binlog.TypeBlob
	case "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection":
		return rt == binlog.TypeGeometry
	case "vector":
		return rt == binlog.TypeVector || rt == binlog.TypeVarchar
	}
	return true
}

// hints tells the decoder what the TABLE_MAP may not: signedness, binary or text, ENUM/SET
// members and MariaDB's logical types.
func hints(t *schema.Table, mariadb bool) []binlog.ColumnHint {
	h := make([]binlog.ColumnHint, len(t.Columns))
	for i := range t.Columns {
		c := &t.Columns[i]
		h[i].Unsigned = c.Unsigned
		switch c.Type {
		case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
			h[i].Collation = binlog.BinaryCollation
		case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set":
			h[i].Collation = 45 // utf8mb4_general_ci: any text collation
		case "json":
			if mariadb {
				h[i].Logical = binlog.LogicalJSON
				h[i].Collation = 45
			}
		case "uuid":
			h[i].Logical = binlog.LogicalUUID
		case "inet4":
			h[i].Logical = binlog.LogicalINET4
		case "inet6":
			h[i].Logical = binlog.LogicalINET6
		}
		if c.Type == "enum" || c.Type == "set" {
			h[i].Members = c.Enum
		}
	}
	return h
}
