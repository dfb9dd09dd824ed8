package mysqlddl

import (
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/sluicecdc/sluice/schema"
)

// WrittenTables reports whether stmt changes rows (INSERT, REPLACE, UPDATE, DELETE, LOAD
// DATA) and which tables it may write, unqualified names in defaultDB. A row change in a
// QUERY event was logged as a statement (binlog_format STATEMENT or MIXED in the writing
// session): a replica that reads row events never sees its rows. A statement the grammar
// cannot read names the tables a word scan finds, so the caller errs on the side of
// reporting it.
func (c *Catalog) WrittenTables(stmt, defaultDB string) ([]schema.TableID, bool) {
	w := leadingWords(stmt, 2)
	if len(w) == 0 {
		return nil, false
	}
	switch w[0] {
	case "INSERT", "REPLACE", "UPDATE", "DELETE":
	case "LOAD":
		if len(w) < 2 || w[1] != "DATA" && w[1] != "XML" {
			return nil, false
		}
	case "WITH": // WITH … UPDATE/DELETE: the grammar below tells
	default:
		return nil, false
	}
	var ids []schema.TableID
	add := func(tn sqlparser.TableName) {
		if !tn.Name.IsEmpty() {
			ids = append(ids, c.id(tn, defaultDB))
		}
	}
	// every table of the FROM/UPDATE clause: a multi-table UPDATE or DELETE may write any
	var walk func(exprs ...sqlparser.TableExpr)
	walk = func(exprs ...sqlparser.TableExpr) {
		for _, e := range exprs {
			switch e := e.(type) {
			case *sqlparser.AliasedTableExpr:
				if tn, ok := e.Expr.(sqlparser.TableName); ok {
					add(tn)
				}
			case *sqlparser.JoinTableExpr:
				walk(e.LeftExpr, e.RightExpr)
			case *sqlparser.ParenTableExpr:
				walk(e.Exprs...)
			}
		}
	}
	st, err := c.parser.Parse(stmt)
	if err == nil {
		switch s := st.(type) {
		case *sqlparser.Insert:
			if s.Table != nil {
				if tn, ok := s.Table.Expr.(sqlparser.TableName); ok {
					add(tn)
				}
			}
			return ids, true
		case *sqlparser.Update:
			walk(s.TableExprs...)
			return ids, true
		case *sqlparser.Delete:
			if len(s.Targets) > 0 {
				for _, tn := range s.Targets {
					add(tn)
				}
			} else {
				walk(s.TableExprs...)
			}
			return ids, true
		case *sqlparser.Load:
			// the grammar keeps no table for LOAD DATA: scan the words below
		default:
			return nil, false
		}
	} else if w[0] == "WITH" {
		return nil, false
	}
	for _, n := range guessTables(stmt) {
		id := schema.TableID{DB: defaultDB, Table: n}
		if i := strings.IndexByte(n, '.'); i > 0 {
			id = schema.TableID{DB: n[:i], Table: n[i+1:]}
		}
		ids = append(ids, id)
	}
	return ids, true
}
