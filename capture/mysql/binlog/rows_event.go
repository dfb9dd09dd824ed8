package binlog

import (
	"fmt"

	"github.com/sluicecdc/sluice/capture"
)

// Rows event flags.
const (
	RowsFlagStmtEnd             uint16 = 0x0001
	RowsFlagNoForeignKeyChecks  uint16 = 0x0002
	RowsFlagRelaxedUniqueChecks uint16 = 0x0004
	RowsFlagCompleteRows        uint16 = 0x0008
)

// RowsEvent is a WRITE/UPDATE/DELETE_ROWS event (v0–v2, MariaDB compressed ones after
// decompression) or PARTIAL_UPDATE_ROWS. Iterate its rows with Next:
//
//	for rows.Next() {
//		before, after := rows.Before(), rows.After()
//	}
//	if err := rows.Err(); err != nil { … }
//
// Write rows have only After, delete rows only Before, updates both. Each row has one Value per
// table column; a column the image does not carry (binlog_row_image=MINIMAL/NOBLOB) is
// capture.Unavailable. The Row slices are reused by the next Next; byte slices inside values
// stay valid until the decoder's next Decode/NextInPayload.
type RowsEvent struct {
	Type      EventType
	Kind      RowsKind
	Version   int
	TableID   uint64
	Table     *TableMap
	Flags     uint16
	ExtraData []byte // v2 extra row info (NDB info, partition ids), raw
	// Columns is the column count of the event; BeforeColumns/AfterColumns say which columns
	// each image carries.
	Columns       int
	BeforeColumns Bitmap
	AfterColumns  Bitmap

	data          []byte // row images
	off           int
	row           int
	err           error
	before, after capture.Row
	partial       Bitmap // PARTIAL_UPDATE_ROWS: JSON columns whose after value is a diff
	jsonDiffs     [][]byte
	beforeJSON    [][]byte // PARTIAL_UPDATE_ROWS: binary JSON of the before image per column
	arena         []byte
	elems         []capture.Value
	plan          []colPlan
	nJSON         int
	escJSON       bool  // Config.EscapeJSON
	lastDay       int64 // ym<<5|day of the last DATETIME2 decoded, to skip the calendar math
	// The number of columns each image carries and whether that is all of them, counted
	// once per event (per row it was ~2% of the MySQL → Kafka CPU).
	beforeCnt, afterCnt int
	beforeAll, afterAll bool
	lastDays            int64
}

// StmtEnd reports whether this is the last rows event of its statement.
func (e *RowsEvent) StmtEnd() bool { return e.Flags&RowsFlagStmtEnd != 0 }

// Before returns the before image of the current row (update and delete), else nil.
func (e *RowsEvent) Before() capture.Row {
	if e.Kind == RowsWrite {
		return nil
	}
	return e.before
}

// After returns the after image of the current row (write and update), else nil.
func (e *RowsEvent) After() capture.Row {
	if e.Kind == RowsDelete {
		return nil
	}
	return e.after
}

// More reports whether rows are left to decode (Next may still fail on them).
func (e *RowsEvent) More() bool { return e.err == nil && e.off < len(e.data) }

// Row returns the 0-based index of the current row within the event.
func (e *RowsEvent) Row() int { return e.row - 1 }

// Err returns the error that stopped Next, if any.
func (e *RowsEvent) Err() error { return e.err }

// JSONDiff returns, for PARTIAL_UPDATE_ROWS, the raw JSON diff list of column i of the
// current row's after image when the source sent a diff instead of the value (the after Value
// is then capture.Unavailable), else nil. Layout per diff: operation (0 replace, 1 insert,
// 2 remove), path (variable-length length + text), and except for remove the value
// (variable-length length + binary JSON).
func (e *RowsEvent) JSONDiff(i int) []byte {
	if i < len(e.jsonDiffs) {
		return e.jsonDiffs[i]
	}
	return nil
}

func (d *Decoder) decodeRows(t EventType, body []byte, postLen int) error {
	e := &d.rows
	kind, version, compressed := t.rowsInfo()
	*e = RowsEvent{Type: t, Kind: kind, Version: version,
		before: e.before[:0], after: e.after[:0], arena: e.arena[:0], elems: e.elems[:0],
		jsonDiffs: e.jsonDiffs[:0], beforeJSON: e.beforeJSON[:0], plan: e.plan, escJSON: d.cfg.EscapeJSON}
	r := reader{b: body}
	if postLen == 6 {
		e.TableID = uint64(r.u32())
	} else {
		e.TableID = r.u48()
	}
	e.Flags = r.u16()
	if version == 2 {
		n := int(r.u16())
		e.ExtraData = r.bytes(n - 2)
	}
	// Each column takes at least one bit of the column bitmap.
	if nc := r.lenenc(); nc <= uint64(r.rem())*8 {
		e.Columns = int(nc)
	} else {
		r.fail()
	}
	nb := (e.Columns + 7) / 8
	e.BeforeColumns = Bitmap(r.bytes(nb))
	if kind == RowsUpdate || kind == RowsPartialUpdate {
		e.AfterColumns = Bitmap(r.bytes(nb))
	} else if kind == RowsWrite {
		e.AfterColumns, e.BeforeColumns = e.BeforeColumns, nil
	}
	if r.bad {
		return truncated(t.String())
	}
	e.data = r.rest()
	if compressed {
		var err error
		d.zbuf, err = d.inflate.mariaDecompress(d.zbuf[:0], e.data, d.cfg.MaxDecompressed)
		if err != nil {
			return err
		}
		e.data = d.zbuf
	}
	tm := d.tables[e.TableID]
	if tm == nil {
		return fmt.Errorf("%w: table id %d", ErrUnknownTable, e.TableID)
	}
	if tm.ColumnCount() != e.Columns {
		return fmt.Errorf("%w: %s event has %d columns, TABLE_MAP of %s.%s has %d",
			ErrTruncated, t, e.Columns, tm.Schema, tm.Table, tm.ColumnCount())
	}
	e.Table = tm
	e.plan = tm.buildPlan()
	if kind == RowsPartialUpdate {
		for i := range e.plan {
			if e.plan[i].typ == TypeJSON {
				e.nJSON++
			}
		}
	}
	if cap(e.before) < e.Columns {
		e.before = make(capture.Row, e.Columns)
		e.after = make(capture.Row, e.Columns)
	}
	e.before, e.after = e.before[:e.Columns], e.after[:e.Columns]
	e.beforeCnt, e.beforeAll = countBits(e.BeforeColumns, e.Columns)
	e.afterCnt, e.afterAll = countBits(e.AfterColumns, e.Columns)
	return nil
}

// Next decodes the next row; it returns false at the end or on error (see Err).
func (e *RowsEvent) Next() bool {
	if e.err != nil || e.off >= len(e.data) {
		return false
	}
	r := reader{b: e.data, off: e.off}
	switch e.Kind {
	case RowsWrite:
		e.decodeImage(&r, e.AfterColumns, e.afterCnt, e.afterAll, e.after, false)
	case RowsDelete:
		e.decodeImage(&r, e.BeforeColumns, e.beforeCnt, e.beforeAll, e.before, false)
	case RowsUpdate:
		e.decodeImage(&r, e.BeforeColumns, e.beforeCnt, e.beforeAll, e.before, false)
		e.decodeImage(&r, e.AfterColumns, e.afterCnt, e.afterAll, e.after, false)
	case RowsPartialUpdate:
		clear(e.jsonDiffs)
		clear(e.beforeJSON)
		e.decodeImage(&r, e.BeforeColumns, e.beforeCnt, e.beforeAll, e.before, false)
		opts := r.lenenc()
		e.partial = nil
		if opts&1 != 0 { // PARTIAL_JSON_UPDATES
			e.partial = Bitmap(r.bytes((e.nJSON + 7) / 8))
		}
		e.decodeImage(&r, e.AfterColumns, e.afterCnt, e.afterAll, e.after, true)
	}
	if r.bad && e.err == nil {
		e.err = fmt.Errorf("%w: row %d of %s on %s.%s", ErrTruncated, e.row, e.Type, e.Table.Schema, e.Table.Table)
	}
	if e.err == nil && r.off == e.off {
		// A row that takes no bytes (no column present) would repeat forever.
		e.err = fmt.Errorf("%w: empty row image in %s on %s.%s", ErrTruncated, e.Type, e.Table.Schema, e.Table.Table)
	}
	if e.err != nil {
		return false
	}
	e.off = r.off
	e.row++
	return true
}

// decodeImage reads one row image: a NULL bitmap over the present columns (cnt of them; all:
// every column), then the values.
func (e *RowsEvent) decodeImage(r *reader, present Bitmap, cnt int, all bool, row capture.Row, partial bool) {
	n := e.Columns
	nulls := Bitmap(r.bytes((cnt + 7) / 8))
	if r.bad {
		return
	}
	if all && e.Kind != RowsPartialUpdate {
		// Every column present (binlog_row_image=FULL): the common, fast case.
		for i := 0; i < n; i++ {
			if nulls[i>>3]&(1<<(i&7)) != 0 {
				row[i] = capture.Value{}
				continue
			}
			e.decodeValue(r, &e.plan[i], &row[i])
			if r.bad || e.err != nil {
				return
			}
		}
		return
	}
	k, j := 0, 0 // index among present columns, among JSON columns
	for i := 0; i < n; i++ {
		p := &e.plan[i]
		isJSON := p.typ == TypeJSON
		if !present.Bit(i) {
			row[i] = capture.Value{Kind: capture.Unavailable}
			if isJSON {
				j++
			}
			continue
		}
		if nulls.Bit(k) {
			row[i] = capture.Value{}
		} else if partial && isJSON && e.partial.Bit(j) {
			e.partialJSON(r, p, i, row)
		} else {
			o := r.off
			e.decodeValue(r, p, &row[i])
			if isJSON && e.Kind == RowsPartialUpdate && !partial && !r.bad && r.off-o >= p.n {
				for len(e.beforeJSON) <= i {
					e.beforeJSON = append(e.beforeJSON, nil)
				}
				e.beforeJSON[i] = r.b[o+p.n : r.off]
			}
		}
		if isJSON {
			j++
		}
		k++
		if r.bad || e.err != nil {
			return
		}
	}
}

// countBits returns how many of the first n bits are set and whether all are.
func countBits(b Bitmap, n int) (int, bool) {
	c := 0
	for i := 0; i < n; i++ {
		if b.Bit(i) {
			c++
		}
	}
	return c, c == n
}

// partialJSON handles a PARTIAL_UPDATE_ROWS JSON after value sent as a diff. An empty diff
// means the column did not change: the before value is kept. With the before value in the
// event (binlog_row_image=FULL) the diff is applied. Otherwise (MINIMAL image) the value is
// Unavailable and the diff is kept for JSONDiff.
func (e *RowsEvent) partialJSON(r *reader, p *colPlan, i int, row capture.Row) {
	n := int(r.uintN(p.n))
	diff := r.bytes(n)
	if r.bad {
		return
	}
	if len(diff) == 0 && e.before != nil && e.BeforeColumns.Bit(i) {
		row[i] = e.before[i]
		return
	}
	if i < len(e.beforeJSON) && e.beforeJSON[i] != nil {
		start := len(e.arena)
		out, err := ApplyJSONDiff(e.arena, e.beforeJSON[i], diff)
		if err == nil {
			e.arena = out
			row[i] = capture.Value{Kind: capture.JSON, Bytes: e.arena[start:len(e.arena):len(e.arena)]}
			return
		}
	}
	for len(e.jsonDiffs) <= i {
		e.jsonDiffs = append(e.jsonDiffs, nil)
	}
	e.jsonDiffs[i] = diff
	row[i] = capture.Value{Kind: capture.Unavailable}
}
