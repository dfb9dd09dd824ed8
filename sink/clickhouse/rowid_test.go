package clickhouse

import "testing"

// TestRowIDReplayOfNewSession: identical rows of one version get different _row_ids; the same
// rows re-sent by a new upstream session (a replay after a restart) get the ids of their first
// copies, even when nothing of another version came between; an unknown session (0) counts on.
func TestRowIDReplayOfNewSession(t *testing.T) {
	var tb table
	ids := func(origin uint64, sums ...uint64) []uint64 {
		var out []uint64
		for _, s := range sums {
			out = append(out, tb.rowID(950, s, origin, 0))
		}
		return out
	}
	first := ids(1, 10, 10, 20)
	if first[0] == first[1] {
		t.Fatalf("identical rows of one version share _row_id %d", first[0])
	}
	if replay := ids(2, 10, 10, 20); replay[0] != first[0] || replay[1] != first[1] || replay[2] != first[2] {
		t.Errorf("replay by a new session: %v, want the first copies' %v", replay, first)
	}
	if replay := ids(2, 20); replay[0] == first[2] {
		t.Errorf("a third row 20 of the same session got the first one's _row_id %d", replay[0])
	}
}

// TestRowIDByBinlogPlace: binlog rows are told apart by their place: read again in the same
// session (this consumer after its partition came back) or in another (a restarted upstream),
// from the start of the run or from between two identical rows, each row gets its first id;
// identical rows at two places keep two ids.
func TestRowIDByBinlogPlace(t *testing.T) {
	var tb table
	at := func(pos uint64) uint64 { return 1<<63 | pos<<16 }
	x1, x2, y := tb.rowID(7, 10, 1, at(100)), tb.rowID(7, 10, 1, at(101)), tb.rowID(7, 20, 1, at(102))
	if x1 == x2 {
		t.Fatalf("identical rows at two places share _row_id %d", x1)
	}
	for _, tt := range []struct {
		name   string
		origin uint64
		from   int
	}{{"same session", 1, 0}, {"same session from the second twin", 1, 1}, {"new session from the second twin", 2, 1}, {"new session", 3, 0}} {
		want := []uint64{x1, x2, y}
		places := []uint64{100, 101, 102}
		sums := []uint64{10, 10, 20}
		for i := tt.from; i < 3; i++ {
			if got := tb.rowID(7, sums[i], tt.origin, at(places[i])); got != want[i] {
				t.Errorf("%s: row at %d got _row_id %d, want %d", tt.name, places[i], got, want[i])
			}
		}
	}
}

// TestRowIDPlaceSurvivesRestart: a sink restarted between two identical rows of one version
// (a new process: nothing counted) gives the second twin, read first now, its own _row_id, not
// the first one's, for binlog places and PostgreSQL places (LSN, ordinal) alike. Before ids
// by place were kept in the table only, the restarted sink counted from zero and the second
// twin collapsed with the first.
func TestRowIDPlaceSurvivesRestart(t *testing.T) {
	for _, tt := range []struct {
		name string
		at   func(i uint64) uint64
	}{
		{"binlog", func(i uint64) uint64 { return 1<<63 | (100+i)<<16 }},
		{"postgres", func(i uint64) uint64 { return pgPlace(0x16B3748, i) }},
	} {
		var before table
		first := []uint64{before.rowID(7, 10, 1, tt.at(1)), before.rowID(7, 10, 1, tt.at(2))}
		if first[0] == first[1] {
			t.Fatalf("%s: identical rows at two places share _row_id %d", tt.name, first[0])
		}
		var after table // restarted, resumed at the second twin
		if got := after.rowID(7, 10, 2, tt.at(2)); got != first[1] {
			t.Errorf("%s: the second twin read again got _row_id %d, want its first copy's %d", tt.name, got, first[1])
		}
	}
}

// TestReadRowIDResumedSnapshot: the reads of a keyless table are counted per image over the
// whole snapshot, not per version: a resumed attempt (a new session) that reads the table in
// another order gives the rows the first attempt delivered the same ids, and twins keep two.
// Rows of other versions between the reads (streamed changes) do not start the count over.
func TestReadRowIDResumedSnapshot(t *testing.T) {
	var tb table
	ids := func(origin uint64, sums ...uint64) map[uint64]int {
		out := map[uint64]int{}
		for _, s := range sums {
			id, ok := tb.readRowID(s, origin)
			if !ok {
				t.Fatalf("read %d not counted", s)
			}
			out[id]++
			tb.rowID(900+s, s, origin, 0) // a streamed change between the reads
		}
		return out
	}
	first := ids(1, 10, 30, 10)
	again := ids(2, 30, 10, 20, 10, 30)
	for id := range first {
		if again[id] == 0 {
			t.Errorf("_row_id %d of the first attempt is not among the resumed attempt's %v", id, again)
		}
	}
	if len(first) != 3 || len(again) != 5 {
		t.Errorf("distinct ids: first %d (want 3), resumed %d (want 5: twins keep two)", len(first), len(again))
	}
}

// TestReadRowIDBounded: past maxReads distinct images, reads of new images are not counted
// (they keep their positions' versions) while images counted already go on counting, so no two
// reads share an id. Before the bound was a reset of the count, which gave a twin far from its
// first copy that copy's id.
func TestReadRowIDBounded(t *testing.T) {
	defer func(n int) { maxReads = n }(maxReads)
	maxReads = 2
	var tb table
	seen := map[uint64]bool{}
	for _, s := range []uint64{10, 20, 30, 10, 30, 20} {
		id, ok := tb.readRowID(s, 1)
		if (s == 30) == ok {
			t.Errorf("image %d counted %v, want %v", s, ok, s != 30)
		}
		if ok && seen[id] {
			t.Errorf("image %d got a _row_id given before", s)
		}
		seen[id] = true
	}
}
