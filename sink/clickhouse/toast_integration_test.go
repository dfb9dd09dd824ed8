//go:build integration

package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/envelope"
)

// TestSinkToastChainInOneBatch: two unchanged-TOAST updates of one key in one batch whose
// earlier value is only in ClickHouse. The first is filled from ClickHouse at insert time; the
// second, which copies the first within the batch, must get the same value, not the first
// row's empty slot (found by make torture: t_toast rows empty in ClickHouse after a run of
// quick updates, seed 12).
func TestSinkToastChainInOneBatch(t *testing.T) {
	addr := chAddr(t)
	conn := chConn(t, addr)
	db := freshDB(t, conn)
	ctx := context.Background()
	var d durables
	s, err := New(ctx, Config{Addr: []string{addr}, Database: db, BatchRows: 1000, FlushInterval: time.Hour, Logger: testLogger(t)}, d.add)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tb := ordersTable(ordersV1)
	long := strings.Repeat("long note ", 300)
	batches := [][]envelope.Record{
		{tb.record("c", nil, orderRow(5, "emil", 7, long), 100, true)},
		{
			tb.record("u", nil, orderRow(5, "emil2", 8, Placeholder), 110, true),
			tb.record("u", nil, orderRow(5, "emil3", 9, Placeholder), 120, true),
			tb.record("u", nil, orderRow(5, "emil4", 10, Placeholder), 130, true),
		},
	}
	tok := uint64(0)
	for _, b := range batches {
		for i := range b {
			if err := s.Send(ctx, &b[i], tok); err != nil {
				t.Fatal(err)
			}
			tok++
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := query(t, conn, "SELECT toString(_version), customer, toString(length(ifNull(note, ''))) FROM "+db+".orders ORDER BY _version")
	n := fmt.Sprint(len(long))
	want := []string{"100\temil\t" + n, "110\temil2\t" + n, "120\temil3\t" + n, "130\temil4\t" + n}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows (version, customer, length of the note):\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if st := s.Stats(); st.ToastMissing != 0 {
		t.Fatalf("ToastMissing = %d", st.ToastMissing)
	}
}
