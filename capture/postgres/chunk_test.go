package postgres

import (
	"math/big"
	"testing"

	"github.com/sluicecdc/sluice/capture"
)

func TestResumable(t *testing.T) {
	progress := &Position{LSN: 5, Snapshot: true, SnapSchema: "public", SnapTable: "t", SnapAfter: []string{"7"}}
	for _, c := range []struct {
		name    string
		version int
		mode    SnapshotMode
		p       *Position
		want    bool
	}{
		{"progress stored", 150000, SnapshotInitial, progress, true},
		{"initial_only", 170000, SnapshotInitialOnly, progress, true},
		{"when_needed", 140000, SnapshotWhenNeeded, progress, true},
		{"always takes a new one", 150000, SnapshotAlways, progress, false},
		{"no messages in pgoutput before 14", 130000, SnapshotInitial, progress, false},
		{"no progress (older offset): from the first table", 150000, SnapshotInitial, &Position{LSN: 5, Snapshot: true}, true},
		{"snapshot completed", 150000, SnapshotInitial, &Position{LSN: 5, CommitLSN: 5, SnapshotCompleted: true}, false},
		{"streaming offset", 150000, SnapshotInitial, &Position{LSN: 5, CommitLSN: 5}, false},
		{"no offset", 150000, SnapshotInitial, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &Source{cfg: Config{SnapshotMode: c.mode}, version: c.version}
			if got, why := s.resumable(c.p); got != c.want {
				t.Errorf("resumable = %v (%s), want %v", got, why, c.want)
			}
		})
	}
}

// TestValueKey: keys equal exactly when the values are, whatever their kinds.
func TestValueKey(t *testing.T) {
	vals := []capture.Value{
		{},
		{Kind: capture.Int, Int: 1},
		{Kind: capture.Int, Int: 256},
		{Kind: capture.String, Bytes: []byte("1")},
		{Kind: capture.String, Bytes: []byte("1\x00")},
		{Kind: capture.Decimal, Int: 10, Aux: 1},
		{Kind: capture.Decimal, Int: 1},
		{Kind: capture.Decimal, Big: big.NewInt(1)},
		{Kind: capture.Array, Elems: []capture.Value{{Kind: capture.Int, Int: 1}}},
		{Kind: capture.Array, Elems: []capture.Value{{Kind: capture.Int, Int: 1}, {}}},
	}
	seen := map[string]int{}
	for i, v := range vals {
		k := string(appendValueKey(nil, v))
		if j, ok := seen[k]; ok {
			t.Errorf("values %d and %d have the same key", j, i)
		}
		seen[k] = i
		if k2 := string(appendValueKey(nil, v)); k2 != k {
			t.Errorf("value %d: key not stable", i)
		}
	}
	// Two-column keys do not run into each other.
	a := append(appendValueKey(nil, capture.Value{Kind: capture.String, Bytes: []byte("ab")}), appendValueKey(nil, capture.Value{Kind: capture.String, Bytes: []byte("c")})...)
	b := append(appendValueKey(nil, capture.Value{Kind: capture.String, Bytes: []byte("a")}), appendValueKey(nil, capture.Value{Kind: capture.String, Bytes: []byte("bc")})...)
	if string(a) == string(b) {
		t.Error("(ab, c) and (a, bc) have the same key")
	}
}

// TestStampAfterLastTable: the stream events between the resumed snapshot's last chunk and
// its done event (which waits for the stream to be between transactions) carry a position
// that says the snapshot is complete. Before, they said "snapshot, no table", which a restart
// reads as an older offset without progress: it resumed from the first table and read every
// row again (with --exactly-once, committed duplicates).
func TestStampAfterLastTable(t *testing.T) {
	s := &Source{cfg: Config{SnapshotMode: SnapshotInitial}, version: 150000, resumed: &resumed{}}
	p := s.stamp(&Position{LSN: 9, CommitLSN: 8})
	if ok, _ := s.resumable(p); ok || !p.SnapshotCompleted {
		t.Fatalf("position after the last table %s (snapshot %v, completed %v): a restart resumes the snapshot", p.AppendOffset(nil), p.Snapshot, p.SnapshotCompleted)
	}
}
