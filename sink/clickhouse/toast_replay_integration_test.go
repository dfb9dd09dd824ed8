//go:build integration

package clickhouse

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/sluicecdc/sluice/envelope"
)

// toastReplay is a sink on a fresh database of the shared ClickHouse, and a function that sends
// one batch (the records, then a flush).
func toastReplay(t *testing.T) (driver.Conn, string, *Sink, func(...envelope.Record)) {
	t.Helper()
	addr := chAddr(t)
	conn := chConn(t, addr)
	db := freshDB(t, conn)
	ctx := context.Background()
	var d durables
	s, err := New(ctx, Config{Addr: []string{addr}, Database: db, BatchRows: 1000, FlushInterval: time.Hour, Logger: testLogger(t)}, d.add)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	tok := uint64(0)
	send := func(recs ...envelope.Record) {
		t.Helper()
		for i := range recs {
			if err := s.Send(ctx, &recs[i], tok); err != nil {
				t.Fatal(err)
			}
			tok++
		}
		if err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return conn, db, s, send
}

// TestSinkToastReplayedChainAfterMerge: two unchanged-TOAST updates of one key replayed in one
// batch (a restart of `sluice clickhouse` after kill -9 re-reads from its committed offset)
// after a merge kept only the key's newest version, the second of them. The lookup was bounded
// by the first one's version, below which the merge had left nothing, so both were stored
// empty, and the empty copy of the newest version, inserted last, replaced the right one
// (make torture, seed 1796507202533874886: t_toast id 2724 empty in ClickHouse, "no earlier
// version in ClickHouse" logged twice for the key). The chain of updates shares one value, and
// the key's newest row, which merges keep, is one of them: the lookup is bounded by the
// chain's newest version.
func TestSinkToastReplayedChainAfterMerge(t *testing.T) {
	conn, db, s, send := toastReplay(t)
	tb := ordersTable(ordersV1)
	a := strings.Repeat("a", 3000)
	send(tb.record("c", nil, orderRow(7, "gus", 7, Placeholder), 90, true), tb.record("c", nil, orderRow(5, "emil", 7, a), 100, true))
	send(tb.record("u", nil, orderRow(5, "emil", 8, Placeholder), 200, true), tb.record("u", nil, orderRow(5, "emil", 9, Placeholder), 300, true))
	optimize(t, conn, db, "orders")
	missing := s.Stats().ToastMissing
	// The replay, both updates in one batch.
	send(tb.record("u", nil, orderRow(5, "emil", 8, Placeholder), 200, true), tb.record("u", nil, orderRow(5, "emil", 9, Placeholder), 300, true))
	got := query(t, conn, "SELECT toString(_version), toString(length(ifNull(note, ''))) FROM "+db+".orders FINAL WHERE id = 5")
	if want := "300\t3000"; strings.Join(got, "\n") != want {
		t.Fatalf("id 5 after the replay (version, length of the note): %s, want %s", strings.Join(got, "\n"), want)
	}
	if n := s.Stats().ToastMissing - missing; n != 0 {
		t.Fatalf("ToastMissing grew by %d in the replay", n)
	}
}

// TestSinkToastReplayStaleRow: a replayed chain of unchanged-TOAST updates whose own
// predecessor is merged away while an older version of the key is still in an unmerged part
// (a replayed record inserted after the merge; merges pick their parts). Bounded by the chain's
// first version, the lookup found that older version and stored its value in the key's newest
// row: a wrong value, not an empty one.
func TestSinkToastReplayStaleRow(t *testing.T) {
	conn, db, _, send := toastReplay(t)
	tb := ordersTable(ordersV1)
	a, b := strings.Repeat("a", 3000), strings.Repeat("b", 4000)
	send(tb.record("c", nil, orderRow(7, "gus", 7, Placeholder), 90, true), tb.record("c", nil, orderRow(5, "emil", 7, a), 100, true))
	send(tb.record("u", nil, orderRow(5, "emil", 8, b), 150, true))
	send(tb.record("u", nil, orderRow(5, "emil", 9, Placeholder), 200, true), tb.record("u", nil, orderRow(5, "emil", 10, Placeholder), 250, true))
	optimize(t, conn, db, "orders") // id 5: only version 250 (b) is left
	// A replay from version 100 on, of which the merge took the rows of 150 but not of 100.
	send(tb.record("c", nil, orderRow(5, "emil", 7, a), 100, true))
	send(tb.record("u", nil, orderRow(5, "emil", 9, Placeholder), 200, true), tb.record("u", nil, orderRow(5, "emil", 10, Placeholder), 250, true))
	got := query(t, conn, "SELECT toString(_version), toString(length(ifNull(note, ''))) FROM "+db+".orders FINAL WHERE id = 5")
	if want := "250\t4000"; strings.Join(got, "\n") != want {
		t.Fatalf("id 5 after the replay (version, length of the note): %s, want %s", strings.Join(got, "\n"), want)
	}
}

// TestSinkToastResentOlderRecord: the source re-sent an older stretch of a key's changes (a
// restart after kill -9 or a database restart re-sends from the last confirmed position), so
// one batch holds the key's versions out of order: 400 (the consumer's replay), then 200 (the
// re-send). The record before a row in the batch is its predecessor only if it is not newer:
// 200 chained to 400, and 400 then took 200's value (or 200 took 400's).
func TestSinkToastResentOlderRecord(t *testing.T) {
	conn, db, _, send := toastReplay(t)
	tb := ordersTable(ordersV1)
	a, b := strings.Repeat("a", 3000), strings.Repeat("b", 4000)
	send(tb.record("c", nil, orderRow(7, "gus", 7, Placeholder), 90, true), tb.record("c", nil, orderRow(5, "emil", 7, a), 100, true))
	execCH(t, conn, "SYSTEM STOP MERGES "+db+".orders"+DataSuffix) // the rows of every version stay
	send(tb.record("u", nil, orderRow(5, "emil", 8, Placeholder), 200, true))
	send(tb.record("u", nil, orderRow(5, "emil", 9, b), 300, true))
	send(tb.record("u", nil, orderRow(5, "emil", 10, Placeholder), 400, true))
	send(tb.record("u", nil, orderRow(5, "emil", 10, Placeholder), 400, true), tb.record("u", nil, orderRow(5, "emil", 8, Placeholder), 200, true))
	got := query(t, conn, "SELECT toString(_version), toString(length(ifNull(note, ''))) FROM "+db+".orders"+DataSuffix+" WHERE id = 5 ORDER BY _version, length(ifNull(note, ''))")
	want := []string{"100\t3000", "200\t3000", "200\t3000", "300\t4000", "400\t4000", "400\t4000"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows of id 5 (version, length of the note):\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// moved is a create of a primary-key change: the old key in its __debezium.oldkey header.
func moved(r envelope.Record, old string) envelope.Record {
	r.Headers = []envelope.Header{{Key: envelope.HeaderOldKey, Value: []byte(old)}}
	return r
}

// TestSinkToastKeyChangeFromClickHouse: the create of a primary-key change whose old key's
// rows are all in ClickHouse (its delete in an earlier batch, as when the two keys' records are
// on different Kafka partitions) takes the old key's value below the change; replayed after a
// merge left only the old key's delete, it takes its own first copy's. Stored empty before.
// A create whose old key's delete was not seen yet (its partition read later) stores empty and
// counts it, rather than the old key's newest row, which may be older than the change's value.
func TestSinkToastKeyChangeFromClickHouse(t *testing.T) {
	conn, db, s, send := toastReplay(t)
	tb := ordersTable(ordersV1)
	a, b := strings.Repeat("a", 3000), strings.Repeat("b", 4000)
	send(tb.record("c", nil, orderRow(5, "emil", 7, a), 100, true), tb.record("c", nil, orderRow(6, "finn", 7, b), 110, true))
	send(tb.record("d", orderRow(5, "emil", 7, nil), nil, 200, true))
	send(moved(tb.record("c", nil, orderRow(50, "emil", 7, Placeholder), 200, true), `{"id":5}`))
	note := func(id string) string {
		got := query(t, conn, "SELECT toString(_version), toString(length(ifNull(note, ''))) FROM "+db+".orders FINAL WHERE id = "+id)
		return strings.Join(got, "\n")
	}
	if got, want := note("50"), "200\t3000"; got != want {
		t.Fatalf("id 50 (version, length of the note): %s, want %s", got, want)
	}
	optimize(t, conn, db, "orders") // id 5: only its delete is left
	send(moved(tb.record("c", nil, orderRow(50, "emil", 7, Placeholder), 200, true), `{"id":5}`))
	if got, want := note("50"), "200\t3000"; got != want {
		t.Fatalf("id 50 after the replay: %s, want %s", got, want)
	}
	if n := s.Stats().ToastMissing; n != 0 {
		t.Fatalf("ToastMissing %d", n)
	}
	// id 6 → 60, the create read before the delete of id 6.
	send(moved(tb.record("c", nil, orderRow(60, "finn", 7, Placeholder), 300, true), `{"id":6}`))
	if got, want := note("60"), "300\t0"; got != want {
		t.Fatalf("id 60 (version, length of the note): %s, want %s", got, want)
	}
	if n := s.Stats().ToastMissing; n != 1 {
		t.Fatalf("ToastMissing %d, want 1", n)
	}
}

// movedAway is the delete of a primary-key change: the new key in its __debezium.newkey header.
func movedAway(r envelope.Record, newKey string) envelope.Record {
	r.Headers = []envelope.Header{{Key: envelope.HeaderNewKey, Value: []byte(newKey)}}
	return r
}

// TestSinkToastKeyChangeAfterMergedDelete: the delete of a primary-key change is in ClickHouse,
// the create is not yet (the batch ended between them, and sluice was killed; or the new key's
// records are on another Kafka partition), and a merge leaves the old key only its delete. The
// create then found no old value below the change and stored the TOAST value empty (make
// torture, seed 1796518340962399808: t_toast id 9692, old key 9104, "no earlier version in
// ClickHouse" right after a kill -9; its key change to 9949 carried the empty value on). The
// delete row of a key change carries the old key's values, so the value survives the merge.
func TestSinkToastKeyChangeAfterMergedDelete(t *testing.T) {
	conn, db, s, send := toastReplay(t)
	tb := ordersTable(ordersV1)
	a := strings.Repeat("a", 3000)
	send(tb.record("c", nil, orderRow(5, "emil", 7, a), 100, true))
	send(movedAway(tb.record("d", orderRow(5, "emil", 7, nil), nil, 200, true), `{"id":50}`))
	optimize(t, conn, db, "orders") // id 5: only its delete is left
	send(moved(tb.record("c", nil, orderRow(50, "emil", 7, Placeholder), 200, true), `{"id":5}`),
		tb.record("u", nil, orderRow(50, "emil", 8, Placeholder), 300, true))
	got := query(t, conn, "SELECT toString(_version), toString(length(ifNull(note, ''))) FROM "+db+".orders FINAL WHERE id = 50")
	if want := "300\t3000"; strings.Join(got, "\n") != want {
		t.Fatalf("id 50 (version, length of the note): %s, want %s", strings.Join(got, "\n"), want)
	}
	if n := s.Stats().ToastMissing; n != 0 {
		t.Fatalf("ToastMissing %d", n)
	}
	// The view still hides the old key.
	if got := query(t, conn, "SELECT toString(count()) FROM "+db+".orders WHERE id = 5"); strings.Join(got, "") != "0" {
		t.Fatalf("id 5 visible in the view: %v", got)
	}
}

// TestSinkToastReplayOutranked: a replayed unchanged-TOAST update whose predecessor a merge
// removed, while a newer version of the key is in ClickHouse, is stored empty under a version
// that is never the key's current one: no loss, so no warning and no ToastMissing (before: one
// of each per replayed key, the noise of every torture run). A key with nothing newer still
// counts.
func TestSinkToastReplayOutranked(t *testing.T) {
	conn, db, s, send := toastReplay(t)
	tb := ordersTable(ordersV1)
	a, b := strings.Repeat("a", 3000), strings.Repeat("b", 2000)
	send(tb.record("c", nil, orderRow(5, "emil", 7, a), 100, true))
	send(tb.record("u", nil, orderRow(5, "emil", 8, Placeholder), 200, true), tb.record("u", nil, orderRow(5, "emil", 9, b), 300, true))
	optimize(t, conn, db, "orders")
	missing := s.Stats().ToastMissing
	// The replay of id 5's update: its predecessor merged away, version 300 outranks it.
	send(tb.record("u", nil, orderRow(5, "emil", 8, Placeholder), 200, true))
	if n := s.Stats().ToastMissing - missing; n != 0 {
		t.Errorf("ToastMissing grew by %d for a replay outranked by a newer version", n)
	}
	got := query(t, conn, "SELECT toString(_version), toString(length(ifNull(note, ''))) FROM "+db+".orders FINAL WHERE id = 5")
	if want := "300\t2000"; strings.Join(got, "\n") != want {
		t.Fatalf("id 5 after the replay (version, length of the note): %s, want %s", strings.Join(got, "\n"), want)
	}
	// id 7: an update with nothing before it and nothing after: still a loss, still counted.
	missing = s.Stats().ToastMissing
	send(tb.record("u", nil, orderRow(7, "gus", 8, Placeholder), 400, true))
	if n := s.Stats().ToastMissing - missing; n != 1 {
		t.Errorf("ToastMissing grew by %d for an update with no version before or after, want 1", n)
	}
}
