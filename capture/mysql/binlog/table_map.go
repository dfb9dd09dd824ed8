package binlog

import (
	"bytes"
	"fmt"
)

// Optional metadata field types of TABLE_MAP (binlog_row_metadata, MySQL 8.0.1+, MariaDB
// 10.5+).
const (
	metaSignedness            = 1
	metaDefaultCharset        = 2
	metaColumnCharset         = 3
	metaColumnName            = 4
	metaSetStrValue           = 5
	metaEnumStrValue          = 6
	metaGeometryType          = 7
	metaSimplePrimaryKey      = 8
	metaPrimaryKeyWithPrefix  = 9
	metaEnumSetDefaultCharset = 10
	metaEnumSetColumnCharset  = 11
	metaColumnVisibility      = 12
	metaVectorDimensionality  = 13
)

// BinaryCollation is the collation id of the binary character set: string columns with it
// are byte strings (BINARY, VARBINARY, BLOB).
const BinaryCollation = 63

// TableMap is TABLE_MAP_EVENT: the table id → table binding and column types the following
// rows events use, with the optional metadata when the source sends it
// (binlog_row_metadata=FULL gives names, charsets, ENUM/SET members, keys, visibility;
// MINIMAL gives signedness, charsets, geometry types, ENUM/SET charsets and keys).
//
// A TableMap is owned by the Decoder and stays valid while the decoder keeps its table id: a
// later TABLE_MAP with the same id and identical bytes returns the same *TableMap (so hints set
// on it stay), a different one replaces it, and a FORMAT_DESCRIPTION clears all. Treat the
// fields as read-only.
type TableMap struct {
	TableID uint64
	Flags   uint16
	Schema  string
	Table   string
	Types   []ColumnType // binlog type per column (STRING also carries ENUM and SET)
	Meta    []uint16     // type metadata per column, see ColumnMeta
	// Nullable has bit i set when column i may be NULL.
	Nullable Bitmap

	// Optional metadata; nil/empty when not sent. Per-column slices have one entry per column.
	Unsigned         []bool   // SIGNEDNESS (numeric columns only)
	Collations       []uint16 // character and ENUM/SET columns; 0 = unknown
	Names            []string
	Members          [][]string // ENUM/SET member names in DDL order
	GeometryTypes    []uint32
	PrimaryKey       []int // column indexes, key order
	PrimaryKeyPrefix []int // prefix length per PrimaryKey entry, 0 = whole column
	Visible          []bool
	VectorDims       []uint32

	raw   []byte // the event body, to recognise a repeated TABLE_MAP
	hints []ColumnHint
	plan  []colPlan
}

// ColumnCount returns the number of columns.
func (t *TableMap) ColumnCount() int { return len(t.Types) }

// RealType returns the type of column i with STRING resolved to ENUM or SET from its metadata.
func (t *TableMap) RealType(i int) ColumnType {
	typ, _ := realType(t.Types[i], t.Meta[i])
	return typ
}

// realType resolves STRING's metadata: byte 0 is the real type, byte 1 the length; lengths
// over 255 borrow bits 4–5 of byte 0 (inverted).
func realType(typ ColumnType, meta uint16) (ColumnType, int) {
	if typ != TypeString {
		return typ, int(meta)
	}
	b0, b1 := byte(meta>>8), byte(meta)
	if b0 == 0 {
		return TypeString, int(b1)
	}
	if b0&0x30 != 0x30 {
		return ColumnType(b0 | 0x30), int(b1) | int((b0&0x30)^0x30)<<4
	}
	return ColumnType(b0), int(b1)
}

// LogicalType names column types that the binlog does not tell apart and the caller knows
// from its schema.
type LogicalType uint8

const (
	LogicalNone LogicalType = iota
	// LogicalJSON: a MariaDB JSON column (LONGTEXT with a JSON check): decoded as capture.JSON.
	LogicalJSON
	// LogicalUUID: MariaDB UUID (16 bytes) → capture.String "xxxxxxxx-xxxx-…".
	LogicalUUID
	// LogicalINET4 / LogicalINET6: MariaDB INET4 (4 bytes) / INET6 (16 bytes) → capture.String.
	LogicalINET4
	LogicalINET6
)

// ColumnHint is what the caller knows about a column from its own schema, used where the
// TABLE_MAP's optional metadata is absent. Metadata the source sent wins over a hint, except
// Logical which the binlog cannot express.
type ColumnHint struct {
	Unsigned bool
	// Collation is the column's collation id; BinaryCollation makes string and TEXT/BLOB
	// columns capture.Bytes, any other capture.String. 0 = unknown.
	Collation uint16
	// Members are the ENUM or SET member names in DDL order.
	Members []string
	Logical LogicalType
}

// SetHints attaches per-column hints (len = ColumnCount; shorter slices cover the first
// columns). Call it when a TableMap arrives with Hints() == nil (a TABLE_MAP identical to the
// previous one of its table id returns the same *TableMap with its hints kept); later rows
// events of this table use them.
func (t *TableMap) SetHints(h []ColumnHint) {
	t.hints = h
	t.plan = t.plan[:0]
}

// Hints returns the hints set by SetHints.
func (t *TableMap) Hints() []ColumnHint { return t.hints }

func (d *Decoder) decodeTableMap(body []byte, postLen int) (*TableMap, error) {
	r := reader{b: body}
	var id uint64
	if postLen == 6 {
		id = uint64(r.u32())
	} else {
		id = r.u48()
	}
	if old := d.tables[id]; old != nil && bytes.Equal(old.raw, body) {
		return old, nil
	}
	tm := &TableMap{TableID: id, raw: bytes.Clone(body)}
	if err := tm.parse(postLen); err != nil {
		return nil, err
	}
	d.tables[id] = tm
	return tm, nil
}

// ParseTableMap decodes a TABLE_MAP body (after the header, without checksum); postLen is the
// post-header length from FORMAT_DESCRIPTION (8; 6 for 4-byte table ids).
func ParseTableMap(body []byte, postLen int) (*TableMap, error) {
	tm := &TableMap{raw: bytes.Clone(body)}
	return tm, tm.parse(postLen)
}

func (t *TableMap) parse(postLen int) error {
	r := reader{b: t.raw}
	if postLen == 6 {
		t.TableID = uint64(r.u32())
	} else {
		t.TableID = r.u48()
		r.skip(postLen - 8)
	}
	t.Flags = r.u16()
	t.Schema = string(r.bytes(int(r.u8())))
	r.skip(1)
	t.Table = string(r.bytes(int(r.u8())))
	r.skip(1)
	n := r.lenencInt()
	types := r.bytes(n)
	metaBlock := r.lenencBytes()
	t.Nullable = Bitmap(r.bytes((n + 7) / 8))
	if r.bad {
		return truncated("TABLE_MAP")
	}
	t.Types = make([]ColumnType, n)
	t.Meta = make([]uint16, n)
	mr := reader{b: metaBlock}
	for i, c := range types {
		typ := ColumnType(c)
		t.Types[i] = typ
		switch typ.metaSize() {
		case 1:
			t.Meta[i] = uint16(mr.u8())
		case 2:
			switch typ {
			case TypeVarchar, TypeVarString, TypeBit:
				t.Meta[i] = mr.u16()
			default: // NEWDECIMAL (precision, scale), STRING/ENUM/SET (real type, length)
				b0 := mr.u8()
				t.Meta[i] = uint16(b0)<<8 | uint16(mr.u8())
			}
		}
	}
	if mr.bad {
		return truncated("TABLE_MAP column metadata")
	}
	for r.rem() > 0 {
		typ := r.u8()
		v := r.lenencBytes()
		if r.bad {
			return truncated("TABLE_MAP optional metadata")
		}
		if err := t.parseOptional(typ, v); err != nil {
			return err
		}
	}
	return nil
}

// column classes the optional metadata counts over.
func (t *TableMap) isCharCol(i int) bool {
	switch typ, _ := realType(t.Types[i], t.Meta[i]); typ {
	case TypeString, TypeVarString, TypeVarchar, TypeBlob, TypeTinyBlob, TypeMediumBlob, TypeLongBlob:
		return true
	}
	return false
}

func (t *TableMap) isEnumSetCol(i int) bool {
	typ, _ := realType(t.Types[i], t.Meta[i])
	return typ == TypeEnum || typ == TypeSet
}

func (t *TableMap) parseOptional(typ byte, v []byte) error {
	r := reader{b: v}
	n := len(t.Types)
	switch typ {
	case metaSignedness:
		t.Unsigned = make([]bool, n)
		bit := 0
		for i, c := range t.Types {
			if !c.isNumeric() {
				continue
			}
			if bit/8 >= len(v) {
				return truncated("SIGNEDNESS metadata")
			}
			t.Unsigned[i] = v[bit/8]&(0x80>>(bit%8)) != 0
			bit++
		}
	case metaDefaultCharset, metaEnumSetDefaultCharset:
		isCol := t.isCharCol
		if typ == metaEnumSetDefaultCharset {
			isCol = t.isEnumSetCol
		}
		if t.Collations == nil {
			t.Collations = make([]uint16, n)
		}
		def := uint16(r.lenenc())
		var cols []int
		for i := range t.Types {
			if isCol(i) {
				cols = append(cols, i)
				t.Collations[i] = def
			}
		}
		for r.rem() > 0 {
			idx, coll := r.lenenc(), uint16(r.lenenc())
			if r.bad || idx >= uint64(len(cols)) {
				return truncated("DEFAULT_CHARSET metadata")
			}
			t.Collations[cols[idx]] = coll
		}
	case metaColumnCharset, metaEnumSetColumnCharset:
		isCol := t.isCharCol
		if typ == metaEnumSetColumnCharset {
			isCol = t.isEnumSetCol
		}
		if t.Collations == nil {
			t.Collations = make([]uint16, n)
		}
		for i := range t.Types {
			if isCol(i) {
				t.Collations[i] = uint16(r.lenenc())
			}
		}
	case metaColumnName:
		t.Names = make([]string, 0, n)
		for r.rem() > 0 && len(t.Names) < n {
			t.Names = append(t.Names, string(r.lenencBytes()))
		}
	case metaSetStrValue, metaEnumStrValue:
		want := TypeSet
		if typ == metaEnumStrValue {
			want = TypeEnum
		}
		if t.Members == nil {
			t.Members = make([][]string, n)
		}
		for i := range t.Types {
			if r.rem() == 0 {
				break
			}
			if rt, _ := realType(t.Types[i], t.Meta[i]); rt != want {
				continue
			}
			k := r.lenencInt()
			m := make([]string, 0, k)
			for j := 0; j < k && !r.bad; j++ {
				m = append(m, string(r.lenencBytes()))
			}
			t.Members[i] = m
		}
	case metaGeometryType:
		t.GeometryTypes = make([]uint32, n)
		for i, c := range t.Types {
			if c == TypeGeometry && r.rem() > 0 {
				t.GeometryTypes[i] = uint32(r.lenenc())
			}
		}
	case metaSimplePrimaryKey:
		t.PrimaryKey, t.PrimaryKeyPrefix = t.PrimaryKey[:0], t.PrimaryKeyPrefix[:0]
		for r.rem() > 0 {
			c := r.lenenc()
			if c >= uint64(n) {
				return truncated("SIMPLE_PRIMARY_KEY metadata")
			}
			t.PrimaryKey = append(t.PrimaryKey, int(c))
			t.PrimaryKeyPrefix = append(t.PrimaryKeyPrefix, 0)
		}
	case metaPrimaryKeyWithPrefix:
		t.PrimaryKey, t.PrimaryKeyPrefix = t.PrimaryKey[:0], t.PrimaryKeyPrefix[:0]
		for r.rem() > 0 {
			c, p := r.lenenc(), r.lenenc()
			if c >= uint64(n) || p > 1<<32 {
				return truncated("PRIMARY_KEY_WITH_PREFIX metadata")
			}
			t.PrimaryKey = append(t.PrimaryKey, int(c))
			t.PrimaryKeyPrefix = append(t.PrimaryKeyPrefix, int(p))
		}
	case metaColumnVisibility:
		t.Visible = make([]bool, n)
		for i := range t.Visible {
			if i/8 >= len(v) {
				return truncated("COLUMN_VISIBILITY metadata")
			}
			t.Visible[i] = v[i/8]&(0x80>>(i%8)) != 0
		}
	case metaVectorDimensionality:
		t.VectorDims = make([]uint32, n)
		for i, c := range t.Types {
			if c == TypeVector && r.rem() > 0 {
				t.VectorDims[i] = uint32(r.lenenc())
			}
		}
	default:
		// Unknown metadata from a newer server: skip it (it is length-prefixed).
	}
	if r.bad {
		return fmt.Errorf("%w: optional metadata type %d", ErrTruncated, typ)
	}
	return nil
}

// Bitmap is a column bitmap as the rows and table-map events carry it: bit i is bit i%8 of
// byte i/8 (least significant first).
type Bitmap []byte

// Bit reports whether bit i is set; bits past the end are unset.
func (b Bitmap) Bit(i int) bool { return i/8 < len(b) && b[i/8]&(1<<(i%8)) != 0 }
