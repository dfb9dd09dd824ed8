package postgres

import (
	"reflect"
	"testing"
)

// TestBlockingQueuedAfter: a blocking snapshot asked for while another runs is named after the
// running one's tables left, once each, with its filters; the running one's filters are not
// changed in place (positions handed out share them).
func TestBlockingQueuedAfter(t *testing.T) {
	running := map[string]string{"public.a": "id > 1"}
	for _, tc := range []struct {
		name        string
		left        []string
		queued      blockReq
		wantTables  []string
		wantFilters map[string]string
	}{
		{"after", []string{"public.a"}, blockReq{tables: []string{"public.b"}},
			[]string{"public.a", "public.b"}, running},
		{"once", []string{"public.a", "public.b"}, blockReq{tables: []string{"public.b", "public.c"}, filters: map[string]string{"public.c": "v = 2"}},
			[]string{"public.a", "public.b", "public.c"}, map[string]string{"public.a": "id > 1", "public.c": "v = 2"}},
		{"a table done is read again", []string{"public.b"}, blockReq{tables: []string{"public.a"}},
			[]string{"public.b", "public.a"}, running},
	} {
		t.Run(tc.name, func(t *testing.T) {
			left := append([]string(nil), tc.left...)
			tables, filters := tc.queued.queuedAfter(left, running)
			if !reflect.DeepEqual(tables, tc.wantTables) || !reflect.DeepEqual(filters, tc.wantFilters) {
				t.Errorf("got %v %v, want %v %v", tables, filters, tc.wantTables, tc.wantFilters)
			}
			if !reflect.DeepEqual(left, tc.left) || len(running) != 1 {
				t.Errorf("changed in place: left %v, running filters %v", left, running)
			}
		})
	}
}
