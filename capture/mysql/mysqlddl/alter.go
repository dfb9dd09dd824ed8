package mysqlddl

import (
	"fmt"
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"

	"github.com/sluicecdc/sluice/schema"
)

func (c *Catalog) alterTable(s *sqlparser.AlterTable, defaultDB string) (Result, error) {
	id := c.id(s.Table, defaultDB)
	r := Result{DDL: true, Databases: []string{id.DB}}
	e := c.lookup(id)
	if e == nil {
		return r, fmt.Errorf("ALTER TABLE %s: %w", id, ErrUnknownTable)
	}
	t := e.t.Clone()
	idx := cloneIdx(e.idx)
	var renameTo *schema.TableID
	changed := false
	for _, op := range s.AlterOptions {
		switch o := op.(type) {
		case *sqlparser.AddColumns:
			for k, cd := range o.Columns {
				if t.ColumnIndex(cd.Name.String()) >= 0 {
					continue // ADD COLUMN IF NOT EXISTS of an existing column
				}
				col, ix := c.column(cd, t.DefaultCharset)
				pos := len(t.Columns)
				if k == 0 {
					pos = position(t, o.First, o.After, pos)
				}
				t.Columns = insertCol(t.Columns, pos, col)
				idx = append(idx, ix...)
				changed = true
			}
		case *sqlparser.DropColumn:
			name := o.Name.Name.String()
			i := t.ColumnIndex(name)
			if i < 0 {
				continue
			}
			name = t.Columns[i].Name
			t.Columns = append(t.Columns[:i], t.Columns[i+1:]...)
			idx = dropFromIdx(idx, name)
			changed = true
		case *sqlparser.ModifyColumn:
			name := o.NewColDefinition.Name.String()
			i := t.ColumnIndex(name)
			if i < 0 {
				continue
			}
			col, ix := c.column(o.NewColDefinition, t.DefaultCharset)
			t.Columns = append(t.Columns[:i], t.Columns[i+1:]...)
			t.Columns = insertCol(t.Columns, position(t, o.First, o.After, i), col)
			idx = append(idx, ix...)
			changed = true
		case *sqlparser.ChangeColumn:
			old := o.OldColumn.Name.String()
			i := t.ColumnIndex(old)
			if i < 0 {
				continue
			}
			old = t.Columns[i].Name
			col, ix := c.column(o.NewColDefinition, t.DefaultCharset)
			t.Columns = append(t.Columns[:i], t.Columns[i+1:]...)
			t.Columns = insertCol(t.Columns, position(t, o.First, o.After, i), col)
			idx = renameInIdx(idx, old, col.Name)
			idx = append(idx, ix...)
			changed = true
		case *sqlparser.RenameColumn:
			old := o.OldName.Name.String()
			i := t.ColumnIndex(old)
			if i < 0 {
				continue
			}
			old = t.Columns[i].Name
			t.Columns[i].Name = o.NewName.Name.String()
			idx = renameInIdx(idx, old, t.Columns[i].Name)
			changed = true
		case *sqlparser.AlterColumn:
			i := t.ColumnIndex(o.Column.Name.String())
			if i < 0 {
				continue
			}
			switch {
			case o.DropDefault:
				t.Columns[i].Default, t.Columns[i].HasDefault = "", false
				changed = true
			case o.DefaultVal != nil:
				t.Columns[i].Default, t.Columns[i].HasDefault = defaultOf(o.DefaultVal)
				changed = true
			}
		case *sqlparser.AddIndexDefinition:
			ix := indexOf(o.IndexDefinition)
			if ix.Primary {
				idx = dropIdx(idx, func(x Index) bool { return x.Primary })
			} else if hasIdx(idx, ix.Name) {
				continue // ADD INDEX IF NOT EXISTS
			}
			idx = append(idx, ix)
			changed = true
		case *sqlparser.DropKey:
			switch o.Type {
			case sqlparser.PrimaryKeyType:
				idx = dropIdx(idx, func(x Index) bool { return x.Primary })
				changed = true
			case sqlparser.NormalKeyType:
				n := o.Name.String()
				idx = dropIdx(idx, func(x Index) bool { return strings.EqualFold(x.Name, n) })
				changed = true
			}
		case *sqlparser.RenameIndex:
			for k := range idx {
				if strings.EqualFold(idx[k].Name, o.OldName.String()) {
					idx[k].Name = o.NewName.String()
				}
			}
		case *sqlparser.AlterCharset:
			// CONVERT TO CHARACTER SET: the table default and every text column change.
			cs := strings.ToLower(o.CharacterSet)
			if cs == "" || cs == "default" {
				cs = charsetOfCollation(o.Collate)
			}
			if cs == "" || cs == "default" {
				cs = c.tableCharset(t.ID.DB)
			}
			t.DefaultCharset = cs
			for k := range t.Columns {
				if t.Columns[k].Charset != "" {
					t.Columns[k].Charset = cs
				}
			}
			changed = true
		case sqlparser.TableOptions:
			before := *t
			applyTableOptions(t, o, false)
			changed = changed || before.DefaultCharset != t.DefaultCharset || before.Comment != t.Comment
		case *sqlparser.RenameTableName:
			to := c.id(o.Table, t.ID.DB)
			renameTo = &to
		}
	}
	if renameTo != nil && *renameTo != t.ID {
		prev := t.ID
		delete(c.tables, e.t.ID)
		t.ID = *renameTo
		finish(t, idx)
		t = c.Put(t, idx)
		addDB(&r, renameTo.DB)
		r.Changes = append(r.Changes, Change{Type: "ALTER", Table: t, PrevID: &prev})
		return r, nil
	}
	if !changed {
		return r, nil
	}
	finish(t, idx)
	t = c.Put(t, idx)
	r.Changes = append(r.Changes, Change{Type: "ALTER", Table: t})
	return r, nil
}

func position(t *schema.Table, first bool, after *sqlparser.ColName, def int) int {
	if first {
		return 0
	}
	if after != nil {
		if i := t.ColumnIndex(after.Name.String()); i >= 0 {
			return i + 1
		}
	}
	return def
}

func insertCol(cols []schema.Column, pos int, c schema.Column) []schema.Column {
	if pos > len(cols) {
		pos = len(cols)
	}
	cols = append(cols, schema.Column{})
	copy(cols[pos+1:], cols[pos:])
	cols[pos] = c
	return cols
}

func cloneIdx(idx []Index) []Index {
	out := make([]Index, len(idx))
	for i, x := range idx {
		x.Columns = append([]string(nil), x.Columns...)
		out[i] = x
	}
	return out
}

func hasIdx(idx []Index, name string) bool {
	for _, x := range idx {
		if strings.EqualFold(x.Name, name) {
			return true
		}
	}
	return false
}

func dropIdx(idx []Index, f func(Index) bool) []Index {
	out := idx[:0]
	for _, x := range idx {
		if !f(x) {
			out = append(out, x)
		}
	}
	return out
}

// dropFromIdx removes a dropped column from every key; a key left without columns goes.
func dropFromIdx(idx []Index, col string) []Index {
	out := idx[:0]
	for _, x := range idx {
		cols := x.Columns[:0]
		for _, n := range x.Columns {
			if !strings.EqualFold(n, col) {
				cols = append(cols, n)
			}
		}
		x.Columns = cols
		if len(cols) > 0 {
			out = append(out, x)
		}
	}
	return out
}

func renameInIdx(idx []Index, old, neu string) []Index {
	for k := range idx {
		for j, n := range idx[k].Columns {
			if strings.EqualFold(n, old) {
				idx[k].Columns[j] = neu
			}
		}
	}
	return idx
}
