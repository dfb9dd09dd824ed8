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
			out = append(out, tb.rowID(950, s, origin))
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
