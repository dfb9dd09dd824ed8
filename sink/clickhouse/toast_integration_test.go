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
	got := query(t, conn, "SELECT toString(_version), customer, toString(length(ifNull(note, ''))) FROM "+db+".orders"+DataSuffix+" ORDER BY _version")
	n := fmt.Sprint(len(long))
	want := []string{"100\temil\t" + n, "110\temil2\t" + n, "120\temil3\t" + n, "130\temil4\t" + n}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows (version, customer, length of the note):\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if st := s.Stats(); st.ToastMissing != 0 {
		t.Fatalf("ToastMissing = %d", st.ToastMissing)
	}
}

// TestSinkToastAfterReplayedRecord: a batch that holds a record older than rows already in
// ClickHouse (a replay after a restart; a topic with a producer's re-sent records) and an
// unchanged-TOAST update. The update gets the newest value below its own version, not below
// the oldest version of the batch: that bound skipped the key's real predecessor and carried
// an older value, or none (found by make torture: t_toast values older than the source's, or
// empty, in ClickHouse, seed 12).
func TestSinkToastAfterReplayedRecord(t *testing.T) {
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
	// One table keyed by id, one by (id, customer): the lookup matches composite keys too.
	byID := ordersTable(ordersV1)
	byTwo := ttable{topic: "srv.public.lines", db: "shop", schema: "public", table: "lines", fields: ordersV1, keys: []string{"id", "customer"}, pg: true}
	a, b := strings.Repeat("a", 3000), strings.Repeat("b", 4000)
	tok := uint64(0)
	for _, tb := range []ttable{byID, byTwo} {
		batches := [][]envelope.Record{
			{
				// A placeholder first, so that the table tracks unchanged-TOAST values from
				// here on (before the first one, the sink flushes instead).
				tb.record("c", nil, orderRow(7, "gus", 7, Placeholder), 90, true),
				tb.record("c", nil, orderRow(5, "emil", 7, a), 100, true),
				tb.record("c", nil, orderRow(6, "finn", 7, "six"), 150, true),
				tb.record("u", nil, orderRow(5, "emil", 8, b), 200, true),
			},
			{
				tb.record("c", nil, orderRow(6, "finn", 7, "six"), 150, true), // replayed
				tb.record("u", nil, orderRow(5, "emil", 9, Placeholder), 300, true),
			},
		}
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
		got := query(t, conn, "SELECT toString(_version), toString(amount), toString(length(ifNull(note, ''))) FROM "+db+"."+tb.table+DataSuffix+" WHERE id = 5 ORDER BY _version")
		want := []string{"100\t0.07\t3000", "200\t0.08\t4000", "300\t0.09\t4000"}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("%s: rows of id 5 (version, amount, length of the note):\n%s\nwant:\n%s", tb.table, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// TestSinkToastReplayAfterMerge: records sent again after the table merged (a consumer restart
// from its committed offset, a producer's re-sent records in a topic). The merge kept only the
// newest version of the key, so a replayed unchanged-TOAST update finds no predecessor; its
// own first copy is the answer when it is still there. Before, the replay of the newest
// version took the (empty) value of the replayed version before it and, inserted last at the
// same version, replaced the right row (found by make torture: t_toast values empty after
// duplicates in the topic, seed 12); and in a Nullable column that empty value was a NULL,
// which the next lookup could not scan: the sink retried it for ever.
func TestSinkToastReplayAfterMerge(t *testing.T) {
	conn, db, _, send := toastReplay(t)
	tb := ordersTable(ordersV1)
	a := strings.Repeat("a", 3000)
	send(tb.record("c", nil, orderRow(7, "gus", 7, Placeholder), 90, true), tb.record("c", nil, orderRow(5, "emil", 7, a), 100, true))
	send(tb.record("u", nil, orderRow(5, "emil", 8, Placeholder), 200, true))
	send(tb.record("u", nil, orderRow(5, "emil", 9, Placeholder), 300, true))
	optimize(t, conn, db, "orders")
	// The replay, one record a batch as a slow consumer would see it.
	send(tb.record("u", nil, orderRow(5, "emil", 8, Placeholder), 200, true))
	send(tb.record("u", nil, orderRow(5, "emil", 9, Placeholder), 300, true))
	got := query(t, conn, "SELECT toString(_version), toString(length(ifNull(note, ''))) FROM "+db+".orders FINAL WHERE id = 5")
	if want := "300\t3000"; strings.Join(got, "\n") != want {
		t.Fatalf("id 5 after the replay (version, length of the note): %s, want %s", strings.Join(got, "\n"), want)
	}
}
