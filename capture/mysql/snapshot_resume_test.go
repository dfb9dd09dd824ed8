package mysql

import (
	"math/big"
	"reflect"
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

func TestSnapshotQueryFilter(t *testing.T) {
	tab := &schema.Table{ID: schema.TableID{DB: "d", Table: "t"}, PrimaryKey: []int{0},
		Columns: []schema.Column{{Name: "id", Type: "int"}, {Name: "v", Type: "varchar"}}}
	for _, tc := range []struct {
		name   string
		after  [][]byte
		filter string
		want   string
	}{
		{"first chunk", nil, "", "SELECT `id`,`v` FROM `d`.`t` ORDER BY `id` LIMIT 10"},
		{"after a key", [][]byte{[]byte("42")}, "", "SELECT `id`,`v` FROM `d`.`t` WHERE (`id`) > (42) ORDER BY `id` LIMIT 10"},
		{"additional condition", [][]byte{[]byte("42")}, "v <> 'x'", "SELECT `id`,`v` FROM `d`.`t` WHERE (v <> 'x') AND (`id`) > (42) ORDER BY `id` LIMIT 10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := snapshotQuery(tab, nil, tc.after, tc.after == nil, 10, tc.filter); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	keyless := &schema.Table{ID: tab.ID, Columns: tab.Columns}
	if got, want := snapshotQuery(keyless, nil, nil, true, 10, "v = 1"), "SELECT `id`,`v` FROM `d`.`t` WHERE (v = 1)"; got != want {
		t.Errorf("keyless: got %s want %s", got, want)
	}
}

// TestSnapProgress: a batch's position says the tables before its own are done and its own up
// to the batch before, and leaves the snapshot's position alone.
func TestSnapProgress(t *testing.T) {
	base := &Position{File: "b.7", Pos: 99, GTIDs: "0-1-5", Snapshot: true}
	p := snapProgress(base, schema.TableID{DB: "d", Table: "t"}, [][]byte{[]byte("12"), {0xff}})
	want := &Position{File: "b.7", Pos: 99, GTIDs: "0-1-5", Snapshot: true, SnapDB: "d", SnapTable: "t", SnapAfter: []string{"3132", "ff"}}
	if !reflect.DeepEqual(p, want) || base.SnapTable != "" {
		t.Fatalf("got %+v (base %+v)", p, base)
	}
	back, err := ParsePosition(p.AppendOffset(nil))
	if err != nil || !reflect.DeepEqual(back, want) {
		t.Fatalf("round trip: %+v %v", back, err)
	}
	if _, err := ParsePosition([]byte(`{"file":"b.1","pos":4,"snapshot":"INITIAL","snapshot_db":"d","snapshot_table":"t","snapshot_after":["zz"]}`)); err == nil {
		t.Fatal("want an error for a key that is not hex")
	}
}

// TestWatermarkWindow: only this run's watermarks of the current chunk open and close its
// window, in order; changes of the chunk's table inside the window are noted by key.
func TestWatermarkWindow(t *testing.T) {
	tab := &schema.Table{ID: schema.TableID{DB: "d", Table: "t"}, PrimaryKey: []int{0}}
	rs := &resumed{nonce: "n1", seq: 3, state: chunkWaitLow, cur: &resumeChunk{t: tab}}
	row := func(id int64) capture.Row { return capture.Row{capture.IntValue(id), capture.IntValue(0)} }
	rs.see(tab.ID, nil, row(1), tab.PrimaryKey) // before the window: not noted
	rs.watermarkSeen(rs.watermarkID(3, windowClose), windowClose)
	rs.watermarkSeen("sluice:other:3-open", windowOpen)
	rs.watermarkSeen(rs.watermarkID(2, windowOpen), windowOpen)
	if rs.state != chunkWaitLow {
		t.Fatalf("state %d after foreign watermarks", rs.state)
	}
	rs.watermarkSeen(rs.watermarkID(3, windowOpen), windowOpen)
	if rs.state != chunkWindow {
		t.Fatalf("state %d after the low watermark", rs.state)
	}
	rs.see(tab.ID, row(2), row(2), tab.PrimaryKey)
	rs.see(schema.TableID{DB: "d", Table: "other"}, nil, row(3), tab.PrimaryKey)
	rs.see(tab.ID, row(4), nil, tab.PrimaryKey)
	rs.watermarkSeen(rs.watermarkID(3, windowClose), windowClose)
	if rs.state != chunkDue {
		t.Fatalf("state %d after the high watermark", rs.state)
	}
	var buf []byte
	for id, want := range map[int64]bool{1: false, 2: true, 3: false, 4: true} {
		if got := rs.win[string(rowKey(&buf, tab.PrimaryKey, row(id)))]; got != want {
			t.Errorf("key %d noted %v, want %v", id, got, want)
		}
	}
}

// TestValueKey: keys that differ in any part encode differently.
func TestValueKey(t *testing.T) {
	vals := []capture.Value{
		capture.IntValue(1), capture.UintValue(1), capture.IntValue(256),
		{Kind: capture.String, Bytes: []byte("a")}, {Kind: capture.String, Bytes: []byte("a\x00")}, {Kind: capture.Bytes, Bytes: []byte("a")},
		{Kind: capture.Decimal, Big: big.NewInt(5), Aux: 1}, {Kind: capture.Decimal, Big: big.NewInt(5), Aux: 2},
	}
	seen := map[string]int{}
	for i, v := range vals {
		k := string(appendValueKey(nil, v))
		if j, ok := seen[k]; ok {
			t.Errorf("values %d and %d encode alike", j, i)
		}
		seen[k] = i
	}
}
