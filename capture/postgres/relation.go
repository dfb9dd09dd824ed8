package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/postgres/pgoutput"
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
	signal   bool // the signal table (incremental.go)
	sigOnly  bool // the signal table, not captured: its rows are read as signals only
	msg      pgoutput.RelationMessage
	cols     []pgoutput.TupleColumn // decodeTuple's buffer (Next's goroutine only)
}

// buildRelation makes the relation state for a Relation message. prev is the previous state of
// the same relation (nil if none): when the columns are unchanged it is returned as is, so the
// table version only moves when the definition does.
func (s *Source) buildRelation(ctx context.Context, m pgoutput.RelationMessage, prev *relation) (*relation, error) {
	return s.buildRelationMeta(ctx, m, prev, nil)
}

// buildRelationMeta is buildRelation with the table's catalog metadata already read (the
// snapshot reads that of all tables at once); nil reads it.
func (s *Source) buildRelationMeta(ctx context.Context, m pgoutput.RelationMessage, prev *relation, known *tableMeta) (*relation, error) {
	if prev != nil && sameRelation(prev.msg, m) {
		if known != nil || !prev.included {
			prev.identity = m.ReplicaIdentity
			return prev, nil
		}
		// The same columns: PostgreSQL resends a Relation message after the table's cache
		// entry is invalidated, as ALTER TABLE … DROP CONSTRAINT, ADD PRIMARY KEY, SET NOT
		// NULL or SET DEFAULT do without touching the columns. Re-read the key, NOT NULL and
		// defaults; a stale key would give records the dropped key (Debezium: null).
		meta, err := s.cat.tableMeta(ctx, m.RelationID)
		if err != nil {
			return nil, err
		}
		if sameMeta(prev.table, meta) {
			prev.identity = m.ReplicaIdentity
			return prev, nil
		}
		known = &meta
	}
	rel := &relation{id: m.RelationID, identity: m.ReplicaIdentity, msg: m, included: s.filter.table(m.Namespace, m.RelationName)}
	if s.isSignalTable(m.Namespace, m.RelationName) {
		rel.signal, rel.sigOnly, rel.included = true, !rel.included, true
	}
	t := &schema.Table{ID: schema.TableID{DB: s.dbName, Schema: m.Namespace, Table: m.RelationName}, Dialect: schema.Postgres, Version: 1}
	if prev != nil {
		t.Version = prev.table.Version + 1
	} else if v, ok := s.versions[t.ID]; ok {
		t.Version = v + 1
	}
	s.versions[t.ID] = t.Version
	var meta tableMeta
	if known != nil {
		meta = *known
	} else if rel.included {
		var err error
		if meta, err = s.cat.tableMeta(ctx, m.RelationID); err != nil {
			return nil, err
		}
	}
	rel.decs = make([]*decoder, len(m.Columns))
	rel.out = make([]int, len(m.Columns))
	for i, c := range m.Columns {
		ct, err := s.cat.resolve(ctx, c.DataType, c.TypeModifier)
		if err != nil {
			return nil, fmt.Errorf("column %s.%s.%s: %w", m.Namespace, m.RelationName, c.Name, err)
		}
		rel.decs[i] = ct.dec
		if !s.filter.column(m.Namespace, m.RelationName, c.Name) && !slices.Contains(meta.pk, c.Name) {
			rel.out[i] = -1
			continue
		}
		col := ct.col
		col.Name = c.Name
		col.Nullable = !meta.notNull[c.Name]
		if def, ok := meta.defaults[c.Name]; ok {
			// The pg_get_expr text as it is: the encoder reads it as Debezium's
			// PostgresDefaultValueConverter does, a function call (nextval(…) of a serial,
			// now()) giving the type's placeholder (0, the epoch).
			col.Default, col.HasDefault = def, true
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
func sameRelation(a, b pgoutput.RelationMessage) bool {
	if a.RelationID != b.RelationID || a.Namespace != b.Namespace || a.RelationName != b.RelationName || len(a.Columns) != len(b.Columns) {
		return false
	}
	for i := range a.Columns {
		x, y := a.Columns[i], b.Columns[i]
		if x.Name != y.Name || x.DataType != y.DataType || x.TypeModifier != y.TypeModifier {
			return false
		}
	}
	return true
}

// sameMeta reports whether t has meta's primary key, NOT NULL columns and defaults.
func sameMeta(t *schema.Table, meta tableMeta) bool {
	var pk []string
	for _, k := range meta.pk {
		if t.ColumnIndex(k) >= 0 {
			pk = append(pk, k)
		}
	}
	if len(pk) != len(t.PrimaryKey) {
		return false
	}
	for i, k := range pk {
		if t.Columns[t.PrimaryKey[i]].Name != k {
			return false
		}
	}
	for _, c := range t.Columns {
		def, ok := meta.defaults[c.Name]
		if c.Nullable == meta.notNull[c.Name] || c.HasDefault != ok || c.Default != def {
			return false
		}
	}
	return true
}

// decodeTuple decodes a tuple into a Row of the relation's current table version. Values
// alias t (text values are decoded in place where the kind needs it).
func (rel *relation) decodeTuple(t pgoutput.Tuple, slab *rowSlab) (capture.Row, error) {
	cols, err := t.Columns(rel.cols[:0])
	rel.cols = cols
	if err != nil {
		return nil, fmt.Errorf("tuple of %s: %w", rel.table.ID, err)
	}
	if len(cols) != len(rel.decs) {
		return nil, fmt.Errorf("tuple of %s has %d columns, relation has %d", rel.table.ID, len(cols), len(rel.decs))
	}
	row := slab.get(len(rel.table.Columns))
	for i, c := range cols {
		switch c.Kind {
		case pgoutput.TupleNull:
			continue
		case pgoutput.TupleUnchanged:
			if o := rel.out[i]; o >= 0 {
				row[o] = capture.Value{Kind: capture.Unavailable}
			}
			continue
		case pgoutput.TupleBinary:
			return nil, fmt.Errorf("column %d of %s: binary tuple data not requested", i, rel.table.ID)
		}
		o := rel.out[i]
		if o < 0 {
			continue
		}
		data := t.Value(c)
		if err := rel.decs[i].decodeTo(&row[o], data); err != nil { // row comes zeroed from the slab
			return nil, fmt.Errorf("column %s.%s (%s) value %q: %w", rel.table.ID, rel.table.Columns[o].Name, rel.table.Columns[o].TypeExpr, data, err)
		}
	}
	return row, nil
}
