//go:build integration

package clickhouse

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/envelope"
)

// TestSinkToastAcrossPartitions: unchanged-TOAST values carried in the batch shapes a Kafka
// consumer sees, where versions of different keys do not grow together (the partitions of a
// consumer group are read at different points; one may still be in the snapshot):
//
//   - the key's earlier version is in ClickHouse and the batch also holds an older version of
//     another key (a lagging partition): the lookup must be bounded by the row's own version,
//     not by the batch's smallest;
//   - two unchanged-TOAST updates of one key in one batch whose earlier version is in
//     ClickHouse: the second must get the value the first is given, not the first's empty slot.
func TestSinkToastAcrossPartitions(t *testing.T) {
	addr := chAddr(t)
	conn := chConn(t, addr)
	db := freshDB(t, conn)
	ctx := context.Background()
	var d durables
	s, err := New(ctx, Config{Addr: []string{addr}, Database: db, FlushInterval: time.Hour, Logger: testLogger(t)}, d.add)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	v1 := ordersTable(ordersV1)
	long1 := strings.Repeat("first long note ", 300)
	long3 := strings.Repeat("third long note ", 300)
	batches := [][]envelope.Record{
		{ // snapshot rows of partition A (one version), the stream started on the way
			v1.record("r", nil, orderRow(1, "anne", 1, long1), 1000, true),
			v1.record("r", nil, orderRow(3, "carl", 3, long3), 1000, true),
			v1.record("u", nil, orderRow(3, "carl", 3, Placeholder), 3000, true), // turns TOAST tracking on
		},
		{
			v1.record("r", nil, orderRow(2, "bob", 2, nil), 1000, true), // partition B, still in the snapshot
			v1.record("u", nil, orderRow(1, "anne2", 1, Placeholder), 2000, true),
			v1.record("u", nil, orderRow(3, "carl2", 3, Placeholder), 4000, true),
			v1.record("u", nil, orderRow(3, "carl3", 3, Placeholder), 5000, true),
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
	got := query(t, conn, "SELECT toString(id), customer, ifNull(note, 'NULL') FROM "+db+".orders FINAL WHERE _is_deleted = 0 ORDER BY id")
	want := []string{"1\tanne2\t" + long1, "2\tbob\tNULL", "3\tcarl3\t" + long3}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		short := func(rows []string) string {
			return strings.NewReplacer(long1, "<long1>", long3, "<long3>").Replace(strings.Join(rows, "\n"))
		}
		t.Fatalf("got\n%s\nwant\n%s", short(got), short(want))
	}
	if st := s.Stats(); st.ToastMissing != 0 || st.Parked != 0 {
		t.Fatalf("stats %+v", st)
	}
}
