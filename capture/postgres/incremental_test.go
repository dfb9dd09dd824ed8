package postgres

import (
	"reflect"
	"testing"
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
