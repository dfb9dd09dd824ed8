package postgres

import (
	"reflect"
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

// The incremental snapshot's progress survives the offset round trip, and an offset without
// it (Debezium's, or one written between snapshots) has none.
func TestOffsetIncrementalProgress(t *testing.T) {
	p := &Position{LSN: 100, CommitLSN: 90, TsMicros: 1,
		IncrTables:  []string{"public.orders", "public.items"},
		IncrAfter:   []string{"42", "b"},
		IncrFilters: map[string]string{"public.orders": "color = 'blue'"}}
	off := p.AppendOffset(nil)
	q, err := ParseOffset(off)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(q.IncrTables, p.IncrTables) || !reflect.DeepEqual(q.IncrAfter, p.IncrAfter) || !reflect.DeepEqual(q.IncrFilters, p.IncrFilters) {
		t.Errorf("round trip of %s: %+v", off, q)
	}
	q, err = ParseOffset([]byte(`{"lsn":100,"lsn_commit":90,"ts_usec":1}`))
	if err != nil || q.IncrTables != nil || q.IncrAfter != nil || q.IncrFilters != nil {
		t.Errorf("plain offset: %+v, %v", q, err)
	}
	if got := string((&Position{LSN: 1, IncrAfter: []string{"x"}}).AppendOffset(nil)); got != `{"lsn":1,"ts_usec":0}` {
		t.Errorf("progress without tables written: %s", got)
	}
}

// stampIncrWait names the queued tables (with their conditions) after those a position names
// already, on a copy: the position handed out before may be one the pipeline is saving.
func TestStampIncrWait(t *testing.T) {
	tab := func(name, where string) *snapTable {
		return &snapTable{rel: &relation{table: &schema.Table{ID: schema.TableID{Schema: "public", Table: name}}}, where: where}
	}
	s := &Source{incrWait: []*snapTable{tab("a", ""), tab("b", "id > 3")}}
	orig := &Position{LSN: 5, Snapshot: true, IncrTables: []string{"public.x"}, IncrAfter: []string{"7"}, IncrFilters: map[string]string{"public.x": "v = 1"}}
	ev := capture.Event{Position: orig}
	s.stampIncrWait(&ev)
	p := ev.Position.(*Position)
	if p == orig || !reflect.DeepEqual(p.IncrTables, []string{"public.x", "public.a", "public.b"}) || !reflect.DeepEqual(p.IncrAfter, []string{"7"}) ||
		!reflect.DeepEqual(p.IncrFilters, map[string]string{"public.x": "v = 1", "public.b": "id > 3"}) {
		t.Fatalf("stamped %+v", p)
	}
	if !reflect.DeepEqual(orig.IncrTables, []string{"public.x"}) || len(orig.IncrFilters) != 1 {
		t.Fatalf("the original changed: %+v", orig)
	}
	// Named already: the same position.
	ev = capture.Event{Position: p}
	if s.stampIncrWait(&ev); ev.Position != p {
		t.Fatal("a position naming the tables was copied")
	}
	// A position without progress gets the tables from the start.
	ev = capture.Event{Position: &Position{LSN: 6, SnapshotCompleted: true}}
	s.stampIncrWait(&ev)
	if p := ev.Position.(*Position); !reflect.DeepEqual(p.IncrTables, []string{"public.a", "public.b"}) || p.IncrAfter != nil {
		t.Fatalf("stamped %+v", p)
	}
}
