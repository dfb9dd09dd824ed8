package binlog

import (
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// decodeAll decodes raw events in order and fails on any error.
func decodeAll(t testing.TB, d *Decoder, evs ...[]byte) []Event {
	t.Helper()
	var out []Event
	for i, raw := range evs {
		ev, err := d.Decode(raw)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		out = append(out, ev)
	}
	return out
}

// rowsOf decodes a stream FDE + TABLE_MAP + rows event and returns the images of every row
// (cloned): for writes the after images, for deletes the before images, for updates
// before/after pairs.
func rowsOf(t testing.TB, tbl testkit.BinlogTable, hints []ColumnHint, rowsType byte, rowsBody []byte) [][]capture.Row {
	t.Helper()
	s := testkit.NewBinlogStream(1)
	d := NewDecoder(Config{Checksum: ChecksumCRC32})
	evs := decodeAll(t, d, s.FormatDescription("8.0.36"), s.Event(testkit.BinlogTableMap, tbl.Body()))
	tm := evs[1].Data.(*TableMap)
	if hints != nil {
		tm.SetHints(hints)
	}
	ev, err := d.Decode(s.Event(rowsType, rowsBody))
	if err != nil {
		t.Fatalf("rows: %v", err)
	}
	re := ev.Data.(*RowsEvent)
	var out [][]capture.Row
	for re.Next() {
		out = append(out, []capture.Row{re.Before().Clone(), re.After().Clone()})
	}
	if err := re.Err(); err != nil {
		t.Fatalf("rows next: %v", err)
	}
	return out
}
