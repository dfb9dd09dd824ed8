package postgres

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

// TestStreamedVersions: a chunk row of a keyless table is dropped only for a version the
// stream delivered with the same transaction and the same whole image, once per delivery;
// keyed tables, deletes and tables already read are not remembered; past the bound nothing
// more is (logged once), and a table read completely frees its count; a read started again
// from page 0 meets the versions again.
func TestStreamedVersions(t *testing.T) {
	keyless := &snapTable{rel: &relation{table: &schema.Table{ID: schema.TableID{Schema: "public", Table: "k"}}}}
	keyed := &snapTable{rel: &relation{table: &schema.Table{ID: schema.TableID{Schema: "public", Table: "p"}}}, pk: []string{"id"}}
	if newStreamedVersions([]*snapTable{keyed}) != nil {
		t.Fatal("versions watched without a keyless table")
	}
	sv := newStreamedVersions([]*snapTable{keyed, keyless})
	row := func(s string, n int64) capture.Row {
		return capture.Row{{Kind: capture.String, Bytes: []byte(s)}, {Kind: capture.Int, Int: n}}
	}
	ev := func(tab *snapTable, op capture.Op, xid int64, after capture.Row) *capture.Event {
		return &capture.Event{Kind: capture.Change, Op: op, Table: tab.rel.table, After: after,
			Source: capture.Source{TxID: xid, HasTxID: true}}
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	sv.see(log, ev(keyless, capture.OpCreate, 700, row("a", 1)))
	sv.see(log, ev(keyless, capture.OpCreate, 700, row("a", 1))) // the same image twice in one transaction
	sv.see(log, ev(keyless, capture.OpUpdate, 701, row("b", 2)))
	sv.see(log, ev(keyless, capture.OpDelete, 702, nil))
	sv.see(log, ev(keyed, capture.OpCreate, 703, row("c", 3)))
	id := keyless.rel.table.ID
	for _, c := range []struct {
		name string
		xid  uint32
		row  capture.Row
		drop bool
	}{
		{"another transaction's identical row (a snapshot row, a rewrite)", 699, row("a", 1), false},
		{"the version streamed", 700, row("a", 1), true},
		{"its twin in the same transaction", 700, row("a", 1), true},
		{"a third copy: not streamed", 700, row("a", 1), false},
		{"the transaction, another image (a rewritten row)", 701, row("b", 3), false},
		{"an update's new version", 701, row("b", 2), true},
	} {
		if got := sv.drop(id, c.xid, c.row); got != c.drop {
			t.Errorf("%s: drop %v, want %v", c.name, got, c.drop)
		}
	}
	// The table is read again from its start (a rewrite): the versions that dropped rows
	// drop them again, as often.
	sv.restart(id)
	if !sv.drop(id, 700, row("a", 1)) || !sv.drop(id, 700, row("a", 1)) || sv.drop(id, 700, row("a", 1)) || !sv.drop(id, 701, row("b", 2)) {
		t.Error("after a restart of the read: want each version that dropped a row to drop it again")
	}
	if sv.drop(keyed.rel.table.ID, 703, row("c", 3)) {
		t.Error("a keyed table's row dropped")
	}
	if sv.n != 0 {
		t.Errorf("%d versions counted after all were matched", sv.n)
	}

	defer func(n int) { maxStreamedVersions = n }(maxStreamedVersions)
	maxStreamedVersions = 2
	for i := range 4 {
		sv.see(log, ev(keyless, capture.OpCreate, 800, row("d", int64(i))))
	}
	if !sv.drop(id, 800, row("d", 1)) || sv.drop(id, 800, row("d", 2)) {
		t.Error("the bound: want the first two versions remembered, the rest not")
	}
	if n := bytes.Count(logs.Bytes(), []byte("remembers no more")); n != 1 {
		t.Errorf("the bound logged %d times, want once:\n%s", n, logs.String())
	}
	sv.done(id)
	if sv.n != 0 || sv.tables[id] != nil {
		t.Errorf("after the table was read: %d versions, table %v", sv.n, sv.tables[id])
	}
	sv.see(log, ev(keyless, capture.OpCreate, 900, row("e", 1)))
	if sv.drop(id, 900, row("e", 1)) {
		t.Error("a version of a table already read was remembered")
	}
}

// TestSnapVisibility: a pg_snapshot's text parsed, and which xids it saw: those below xmin and
// the permanent ones, not xmax and above nor those in progress (xip), in any order.
func TestSnapVisibility(t *testing.T) {
	v, err := parseSnapVisibility("100:110:107,103")
	if err != nil {
		t.Fatal(err)
	}
	for x, want := range map[uint32]bool{1: true, 2: true, 99: true, 100: true, 102: true, 103: false, 107: false, 109: true, 110: false, 4000000000: false} {
		if got := v.saw(x); got != want {
			t.Errorf("saw(%d) = %v, want %v", x, got, want)
		}
	}
	if v, err := parseSnapVisibility("5:5:"); err != nil || !v.saw(4) || v.saw(5) {
		t.Errorf("empty xip: %v, %v", v, err)
	}
	for _, bad := range []string{"", "1:2", "a:2:", "1:b:", "1:2:x", "3:2:", "1:2:3:4"} {
		if _, err := parseSnapVisibility(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
