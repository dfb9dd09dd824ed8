package postgres

import (
	"bytes"
	"io"
	"reflect"
	"testing"
)

func TestPositionRoundTrip(t *testing.T) {
	for _, p := range []Position{
		{LSN: 24023128, ProcLSN: 24023128, CommitLSN: 24023119, TxID: 767, TsMicros: 1705314600000123, Type: "INSERT", Events: 2},
		{LSN: 40, ProcLSN: 40, CommitLSN: 40, LastCommit: 31, Type: "HEARTBEAT"}, // an idle position after the commit ending at 31
		{LSN: 5, CommitLSN: 5, ProcLSN: 5, Type: "COMMIT", TxID: 9},
		{LSN: 7, Snapshot: true, LastSnapshotRow: true, TsMicros: 1},
		{LSN: 8, ProcLSN: 8, CommitLSN: 8, SnapshotCompleted: true},
		{LSN: 9, Snapshot: true, TsMicros: 2, SnapSchema: "public", SnapTable: "t.\"1\"", SnapAfter: []string{"42", "a\u00e9\"\x01"}},
		{LSN: 10, CommitLSN: 11, Snapshot: true, TsMicros: 2, SnapSchema: "s", SnapTable: "t"},
		{LSN: 12, CommitLSN: 12, Snapshot: true, TsMicros: 3, SnapSlot: "sluice_1"},
		{LSN: 19, CommitLSN: 19, Snapshot: true, TsMicros: 3, SnapSchema: "s", SnapTable: "k", SnapXids: "928100:928104:928100,928102"},
		{LSN: 13, CommitLSN: 13, TsMicros: 4, SignalOffset: 0, HasSignalOffset: true},
		{LSN: 16, CommitLSN: 16, TsMicros: 6, Filters: &TableFilters{TableInclude: []string{`public\.a`, "x"}}},
		{LSN: 17, CommitLSN: 17, TsMicros: 6, Filters: &TableFilters{}},
		{LSN: 15, ProcLSN: 15, CommitLSN: 15, TsMicros: 5, Blocking: &BlockingProgress{Tables: []string{"public.a", "s.b"}, Filters: map[string]string{"s.b": "id > 2"}}},
		{LSN: 15, ProcLSN: 15, CommitLSN: 15, TsMicros: 5, Blocking: &BlockingProgress{Tables: []string{"public.a"}, After: []string{"7", "it's"}}},
		{LSN: 14, CommitLSN: 14, TsMicros: 4, SignalOffset: 7, HasSignalOffset: true, IncrTables: []string{"public.t"}},
		{LSN: 18, CommitLSN: 18, TsMicros: 7, IncrTables: []string{"public.t"}, IncrAfter: []string{"5"}, IncrPaused: true},
	} {
		b := p.AppendOffset(nil)
		q, err := ParseOffset(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(*q, p) {
			t.Errorf("%s: got %+v", b, *q)
		}
	}
	want := `{"lsn":24023128,"lsn_proc":24023128,"lsn_commit":24023119,"txId":767,"ts_usec":1705314600000123,"messageType":"INSERT","lsn_events_processed":2}`
	p := Position{LSN: 24023128, ProcLSN: 24023128, CommitLSN: 24023119, TxID: 767, TsMicros: 1705314600000123, Type: "INSERT", Events: 2}
	if got := string(p.AppendOffset(nil)); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	// Debezium's own offsets (3.0.2+ snapshot string, older boolean).
	for _, s := range []string{`{"lsn_proc":100,"lsn":100,"txId":3,"ts_usec":1,"lsn_commit":90}`, `{"lsn":7,"snapshot":true,"last_snapshot_record":false}`} {
		if _, err := ParseOffset([]byte(s)); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	for _, s := range []string{`{}`, `[1]`, `{"lsn":"x"}`} {
		if _, err := ParseOffset([]byte(s)); err == nil {
			t.Errorf("%s: no error", s)
		}
	}
}

func TestSpool(t *testing.T) {
	for _, big := range []bool{false, true} {
		sp := newSpool(t.TempDir())
		payload := func(i int) []byte {
			n := 10
			if big {
				n = 1 << 20 // pushes the spool past its memory part into the file
			}
			return bytes.Repeat([]byte{byte(i)}, n)
		}
		// Top-level xid 1 writes 0..2, subtransaction 2 writes 3..5, subtransaction 3 writes 6..7.
		xids := []uint32{1, 1, 1, 2, 2, 2, 3, 3}
		for i, x := range xids {
			if err := sp.add(uint64(i), x, payload(i)); err != nil {
				t.Fatal(err)
			}
		}
		if big && sp.f == nil {
			t.Fatal("big spool stayed in memory")
		}
		// Aborting subtransaction 2 drops it and everything after it.
		if err := sp.abortSub(2); err != nil {
			t.Fatal(err)
		}
		if err := sp.add(8, 4, payload(8)); err != nil {
			t.Fatal(err)
		}
		r, err := sp.reader()
		if err != nil {
			t.Fatal(err)
		}
		var got []uint64
		for {
			lsn, data, err := r.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(data, payload(int(lsn))) {
				t.Fatalf("record %d: wrong data", lsn)
			}
			got = append(got, lsn)
		}
		if len(got) != 4 || got[0] != 0 || got[2] != 2 || got[3] != 8 {
			t.Errorf("big=%v: records %v, want [0 1 2 8]", big, got)
		}
		sp.close()
	}
}
