package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sluicecdc/sluice/schema"
)

// pgType is one pg_type row.
type pgType struct {
	oid      uint32
	name     string
	typtype  byte // b base, d domain, e enum, r range, m multirange, c composite, p pseudo
	category byte
	elem     uint32
	base     uint32
	basemod  int32
	delim    byte
	enum     []string
}

// catalog looks up types and table metadata over a regular connection. It is used from one
// goroutine at a time.
type catalog struct {
	conn    *pgx.Conn
	types   map[uint32]*pgType
	timeout time.Duration // Config.QueryTimeout: each lookup is bounded by it
}

const typeQuery = `SELECT t.oid, t.typname, t.typtype, t.typcategory, t.typelem, t.typbasetype, t.typtypmod, t.typdelim,
  (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid)
FROM pg_type t`

func (c *catalog) loadTypes(ctx context.Context, where string, args ...any) error {
	return bound(ctx, c.timeout, "read pg_type", func(ctx context.Context) error { return c.readTypes(ctx, where, args...) })
}

func (c *catalog) readTypes(ctx context.Context, where string, args ...any) error {
	rows, err := c.conn.Query(ctx, typeQuery+" WHERE "+where, args...)
	if err != nil {
		return fmt.Errorf("read pg_type: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t pgType
		var typtype, cat, delim string
		if err := rows.Scan(&t.oid, &t.name, &typtype, &cat, &t.elem, &t.base, &t.basemod, &delim, &t.enum); err != nil {
			return fmt.Errorf("read pg_type: %w", err)
		}
		t.typtype, t.category, t.delim = typtype[0], cat[0], delim[0]
		if c.types == nil {
			c.types = map[uint32]*pgType{}
		}
		c.types[t.oid] = &t
	}
	return rows.Err()
}

func (c *catalog) typ(ctx context.Context, oid uint32) (*pgType, error) {
	if t, ok := c.types[oid]; ok {
		return t, nil
	}
	if err := c.loadTypes(ctx, "t.oid = $1", oid); err != nil {
		return nil, err
	}
	t, ok := c.types[oid]
	if !ok {
		return nil, fmt.Errorf("type oid %d not in pg_type", oid)
	}
	return t, nil
}

// colType is a resolved column type.
type colType struct {
	col schema.Column // Type, Array, Length, Scale, Enum, OID, TypeExpr
	dec *decoder
}

// resolve maps a type OID and typmod (domains resolved to their base type) to the column
// description and its text decoder.
func (c *catalog) resolve(ctx context.Context, oid uint32, typmod int32) (colType, error) {
	t, err := c.typ(ctx, oid)
	if err != nil {
		return colType{}, err
	}
	for depth := 0; t.typtype == 'd' && depth < 16; depth++ {
		if t.basemod >= 0 && typmod < 0 {
			typmod = t.basemod
		}
		if t, err = c.typ(ctx, t.base); err != nil {
			return colType{}, err
		}
	}
	if t.category == 'A' && t.elem != 0 && t.name != "int2vector" && t.name != "oidvector" {
		et, err := c.resolve(ctx, t.elem, typmod)
		if err != nil {
			return colType{}, err
		}
		ct := et
		ct.col.Array = true
		ct.col.TypeExpr = et.col.TypeExpr + "[]"
		ct.dec = &decoder{kind: decArray, delim: t.delim, elem: et.dec}
		return ct, nil
	}
	col := schema.Column{Type: t.name, Length: -1, Scale: -1, OID: t.oid, TypeExpr: t.name}
	d := &decoder{kind: decString, typmod: typmod, delim: ','}
	switch t.name {
	case "bool":
		d.kind = decBool
	case "int2", "int4", "int8", "oid", "xid", "cid", "regclass", "regtype", "regproc":
		if strings.HasPrefix(t.name, "reg") {
			d.kind = decString
		} else {
			d.kind = decInt
		}
	case "float4":
		d.kind = decFloat32
	case "float8":
		d.kind = decFloat64
	case "numeric":
		d.kind = decNumeric
		if typmod >= 4 {
			p, s := numericTypmod(typmod)
			col.TypeExpr = fmt.Sprintf("numeric(%d,%d)", p, s)
			if s < 0 {
				// PostgreSQL 15+ allows a negative scale: numeric(5,-2) holds integers rounded
				// to hundreds, up to 7 digits. Describe it as numeric(7,0), the values it holds
				// (a Scale < 0 means unconstrained numeric to the mapping).
				p, s = p-s, 0
			}
			col.Length, col.Scale = p, s
		}
	case "money":
		d.kind = decMoney
	case "bytea":
		d.kind = decBytea
	case "bit", "varbit":
		d.kind = decBit
		if typmod > 0 {
			col.Length = int(typmod)
			col.TypeExpr = fmt.Sprintf("%s(%d)", t.name, typmod)
		}
	case "varchar", "bpchar":
		if typmod >= 4 {
			col.Length = int(typmod - 4)
			col.TypeExpr = fmt.Sprintf("%s(%d)", t.name, col.Length)
		}
	case "date":
		d.kind = decDate
	case "time", "timetz", "timestamp", "timestamptz":
		d.kind = map[string]decKind{"time": decTime, "timetz": decTimeTZ, "timestamp": decTimestamp, "timestamptz": decTimestampTZ}[t.name]
		d.prec = 6
		if typmod >= 0 {
			col.Scale = int(typmod)
			d.prec = typmod
			col.TypeExpr = fmt.Sprintf("%s(%d)", t.name, typmod)
		}
	case "interval":
		d.kind = decInterval
	case "json", "jsonb":
		d.kind = decJSON
	case "hstore":
		d.kind = decHstore
	case "point":
		d.kind = decPoint
	case "geometry", "geography":
		d.kind = decGeometry
	case "vector":
		d.kind = decVector
	case "halfvec":
		d.kind, d.half = decVector, true
	}
	if t.typtype == 'e' {
		col.Enum = t.enum
	}
	return colType{col: col, dec: d}, nil
}

// tableMeta is what the catalog knows about a table beyond the relation message.
type tableMeta struct {
	pk       []string
	notNull  map[string]bool
	defaults map[string]string
	comment  string
}

func (c *catalog) tableMeta(ctx context.Context, relid uint32) (m tableMeta, err error) {
	err = bound(ctx, c.timeout, fmt.Sprintf("read columns and key of relation %d", relid), func(ctx context.Context) (err error) {
		m, err = c.readTableMeta(ctx, relid)
		return err
	})
	return m, err
}

func (c *catalog) readTableMeta(ctx context.Context, relid uint32) (tableMeta, error) {
	m := tableMeta{notNull: map[string]bool{}, defaults: map[string]string{}}
	rows, err := c.conn.Query(ctx, `SELECT a.attname, a.attnotnull, pg_get_expr(d.adbin, d.adrelid)
FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped`, relid)
	if err != nil {
		return m, fmt.Errorf("read columns of relation %d: %w", relid, err)
	}
	for rows.Next() {
		var name string
		var nn bool
		var def *string
		if err := rows.Scan(&name, &nn, &def); err != nil {
			rows.Close()
			return m, err
		}
		m.notNull[name] = nn
		if def != nil {
			m.defaults[name] = *def
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return m, err
	}
	rows, err = c.conn.Query(ctx, `SELECT a.attname FROM pg_index i
JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = $1 AND `+KeyIndexSQL+` ORDER BY k.ord`, relid)
	if err != nil {
		return m, fmt.Errorf("read primary key of relation %d: %w", relid, err)
	}
	m.pk, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return m, err
	}
	return m, nil
}

// KeyIndexSQL selects, in a query over pg_index i, the index whose columns are the table's key:
// its primary key, else the index of REPLICA IDENTITY USING INDEX (unique, not partial, on
// NOT NULL columns: what the table's updates and deletes carry as the old key), as Debezium
// keys a table without a primary key by its unique key. Without it such a table's records
// had no key at all. sluice verify keys the table the same way.
const KeyIndexSQL = `(i.indisprimary OR i.indisreplident AND NOT EXISTS (SELECT 1 FROM pg_index p WHERE p.indrelid = i.indrelid AND p.indisprimary)
  AND (SELECT c.relreplident FROM pg_class c WHERE c.oid = i.indrelid) = 'i')`

// numericTypmod splits a numeric column's typmod into precision and scale. The scale is an
// 11-bit signed number (PostgreSQL 15+ allows -1000…1000; reading the low 16 bits made
// numeric(5,-2) a numeric(5,2046)).
func numericTypmod(typmod int32) (precision, scale int) {
	v := typmod - 4
	return int(v >> 16 & 0xffff), int((v&0x7ff)^1024) - 1024
}
