package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/sluicecdc/sluice/schema"
)

// relation is the decoding state of one table: its current schema version and, per column of
// the pgoutput tuple, the decoder and the index in the table (-1 = excluded column).
type relation struct {
	id       uint32
	table    *schema.Table
	decs     []*decoder
	out      []int
	identity byte
	included bool
	msg      relationMsg
}

// buildRelation makes the relation state for a Relation message. prev is the previous state of
// the same relation (nil if none): when the columns are unchanged it is returned as is, so the
// table version only moves when the definition does.
func (s *Source) buildRelation(ctx context.Context, m relationMsg, prev *relation) (*relation, error) {
	if prev != nil && sameRelation(prev.msg, m) {
		prev.identity = m.identity
		return prev, nil
	}
	rel := &relation{id: m.id, identity: m.identity, msg: m, included: s.filter.table(m.namespace, m.name)}
	t := &schema.Table{ID: schema.TableID{DB: s.dbName, Schema: m.namespace, Table: m.name}, Dialect: schema.Postgres, Version: 1}
	if prev != nil {
		t.Version = prev.table.Version + 1
	} else if v, ok := s.versions[t.ID]; ok {
		t.Version = v + 1
	}
	s.versions[t.ID] = t.Version
	var meta tableMeta
	if rel.included {
		var err error
		if meta, err = s.cat.tableMeta(ctx, m.id); err != nil {
			return nil, err
		}
	}
	rel.decs = make([]*decoder, len(m.columns))
	rel.out = make([]int, len(m.columns))
	for i, c := range m.columns {
		ct, err := s.cat.resolve(ctx, c.typOID, c.typmod)
		if err != nil {
			return nil, fmt.Errorf("column %s.%s.%s: %w", m.namespace, m.name, c.name, err)
		}
		rel.decs[i] = ct.dec
		if !s.filter.column(m.namespace, m.name, c.name) && !slices.Contains(meta.pk, c.name) {
			rel.out[i] = -1
			continue
		}
		col := ct.col
		col.Name = c.name
		col.Nullable = !meta.notNull[c.name]
		if def, ok := meta.defaults[c.name]; ok {
			if v, lit := literalDefault(def); lit {
				col.Default, col.HasDefault = v, true
			}
		}
		rel.out[i] = len(t.Columns)
		t.Columns = append(t.Columns, col)
	}
	for _, k := range meta.pk {
		if i := t.ColumnIndex(k); i >= 0 {
			t.PrimaryKey = append(t.PrimaryKey, i)
		}
	}
	rel.table = t
	if prev != nil {
		s.log.Info("table definition changed", "table", t.ID.String(), "version", t.Version, "columns", len(t.Columns))
	}
	return rel, nil
}

// sameRelation compares what the table version depends on: names and types (not the replica
// identity flags, which the snapshot's catalog read does not know).
func sameRelation(a, b relationMsg) bool {
	if a.id != b.id || a.namespace != b.namespace || a.name != b.name || len(a.columns) != len(b.columns) {
		return false
	}
	for i := range a.columns {
		x, y := a.columns[i], b.columns[i]
		if x.name != y.name || x.typOID != y.typOID || x.typmod != y.typmod {
			return false
		}
	}
	return true
}
