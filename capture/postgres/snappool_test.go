package postgres

import (
	"bytes"
	"testing"

	"github.com/sluicecdc/sluice/capture"
)

// fillBatch takes a batch from p and decodes n rows of the bench table into it, as readUnit does.
func fillBatch(t *testing.T, p *capture.ReadPool[*snapBatch], st *snapTable, n int) *snapBatch {
	t.Helper()
	ncol := len(st.rel.table.Columns)
	b := takeSnapBatch(p, ncol)
	for i := 0; i < n; i++ {
		vals := snapBenchRow()
		if i%2 == 1 {
			vals[1] = nil // a NULL: the reused Value must come out zero
		}
		row := b.row(ncol)
		if err := st.decodeInto(row, b, vals); err != nil {
			t.Fatal(err)
		}
		b.rows = append(b.rows, row)
	}
	return b
}

// TestSnapPool: a batch is reused only once the pipeline reported its last row (ReadsDone),
// reports release every batch before the reported row's, a reused batch's rows come out as a
// fresh batch's (NULLs zero, bytes of their own), and rows of no registered batch release
// nothing.
func TestSnapPool(t *testing.T) {
	st := snapBenchTable()
	s := &Source{}
	p := &s.snapMem
	b1 := fillBatch(t, p, st, 3)
	b2 := fillBatch(t, p, st, 3)
	p.HandOut(b1)
	p.HandOut(b2)

	var other capture.Alloc // an incremental snapshot's row: not the pool's
	s.ReadsDone(&capture.Event{After: other.Row(6)})
	s.ReadsDone(&capture.Event{After: b1.rows[1]})
	if b := takeSnapBatch(p, 6); b == b1 || b == b2 {
		t.Fatal("a batch was reused before its last row was reported")
	}
	s.ReadsDone(&capture.Event{After: b2.rows[0]}) // b1 is done, b2 is not
	b1.rows[0][3].Bytes[0] = '#'                   // a consumer scribbling on a row it is done with
	b1.rows[1][1] = capture.IntValue(1)            // and on the NULL
	if b := takeSnapBatch(p, 6); b != b1 {
		t.Fatalf("take after b1's rows were reported: got a fresh batch")
	}
	if b := takeSnapBatch(p, 6); b == b2 {
		t.Fatal("b2 was reused before its last row was reported")
	}
	s.ReadsDone(&capture.Event{After: b2.rows[2]})
	if b := takeSnapBatch(p, 6); b != b2 {
		t.Fatal("b2 not reused after its last row was reported")
	}
	b1.rows = append(b1.rows, b1.row(6)) // b1 released again
	p.HandOut(b1)
	p.Done(b1.rows[0])
	reused := fillBatch(t, p, st, 2)
	if reused != b1 {
		t.Fatal("fillBatch did not take the released batch")
	}
	for i, row := range reused.rows {
		if i == 1 && row[1].Kind != capture.Null {
			t.Errorf("row %d: a reused Value of a NULL column is %s", i, show(row[1]))
		}
		if got := string(row[3].Bytes); got != "new" {
			t.Errorf("row %d: status %q", i, got)
		}
		if got := string(row[5].Bytes); got != string(snapBenchRow()[6]) {
			t.Errorf("row %d: payload %q", i, got)
		}
	}
	p.Reset()
	if b := takeSnapBatch(p, 6); b == b1 || b == b2 {
		t.Fatal("a batch was reused after reset")
	}
}

// FuzzSnapshotDecodeReused decodes arbitrary column bytes of the bench table (text and binary
// formats) into a fresh row and into a reused batch's row that held another row: errors are
// fine, panics are not, and both rows must be equal.
func FuzzSnapshotDecodeReused(f *testing.F) {
	f.Add([]byte("1234567\x004711\x00123.45\x00new\x0099\x002026-12-05 22:11:14.123456+00\x00{}"), false, uint8(0))
	f.Add([]byte("1234567\x004711\x00123.45\x00new\x0099\x002026-12-05 22:11:14.123456+00\x00{}"), false, uint8(0x6a)) // NULLs
	f.Add([]byte("1\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00{\"a\":1}"), true, uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, bin bool, nulls uint8) {
		st := snapBenchTable()
		if bin {
			st = snapBenchTableBinary()
		}
		vals := bytes.SplitN(data, []byte{0}, 7)
		for len(vals) < 7 {
			vals = append(vals, nil)
		}
		for i := range vals {
			if nulls&(1<<i) != 0 {
				vals[i] = nil
			}
		}
		ncol := len(st.rel.table.Columns)
		var alloc capture.Alloc
		want, werr := st.decodeRow(&alloc, vals, ncol)
		var p capture.ReadPool[*snapBatch]
		b := fillBatch(t, &p, snapBenchTable(), 1) // a batch holding another row
		p.HandOut(b)
		p.Done(b.rows[0])
		b = takeSnapBatch(&p, ncol)
		row := b.row(ncol)
		err := st.decodeInto(row, b, vals)
		if (err == nil) != (werr == nil) {
			t.Fatalf("reused row error %v, fresh row error %v", err, werr)
		}
		if err != nil {
			return
		}
		for i := range want {
			if show(row[i]) != show(want[i]) {
				t.Fatalf("col %d: reused %s, fresh %s", i, show(row[i]), show(want[i]))
			}
		}
	})
}
