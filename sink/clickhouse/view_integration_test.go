//go:build integration

package clickhouse

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestSinkViews: on 18.16 each table is a view of its current rows under the table's own name,
// the rows in <name>__versions: a plain SELECT (no FINAL, no _is_deleted filter) shows the
// source, also after ALTER TABLE ADD/DROP COLUMN (the view is re-created: 18.16 keeps a view's
// column list from its CREATE). A table an older sluice made under the plain name keeps
// receiving the rows, with a warning saying how to move to the view; after the RENAME it
// names, the view appears. A view sluice did not make stops the sink with an error.
func TestSinkViews(t *testing.T) {
	addr := chAddr(t)
	conn := chConn(t, addr)
	db := freshDB(t, conn)
	ctx := context.Background()
	var logs testkit.SyncBuffer
	newSink := func() *Sink {
		t.Helper()
		s, err := New(ctx, Config{Addr: []string{addr}, Database: db, FlushInterval: time.Hour,
			Logger: slog.New(slog.NewTextHandler(&logs, nil))}, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	send := func(s *Sink, recs ...envelope.Record) error {
		t.Helper()
		for i := range recs {
			if err := s.Send(ctx, &recs[i], uint64(i)); err != nil {
				return err
			}
		}
		return s.Flush(ctx)
	}
	engine := func(name string) string {
		got := query(t, conn, "SELECT any(engine) FROM system.tables WHERE database = '"+db+"' AND name = '"+name+"'")
		return got[0]
	}
	rows := func(q string) string { return strings.Join(query(t, conn, q), "|") }

	s := newSink()
	v1 := ordersTable(ordersV1)
	if err := send(s,
		v1.record("c", nil, orderRow(1, "anne", 100, nil), 10, true),
		v1.record("c", nil, orderRow(2, "bob", 200, "hi"), 20, true),
		v1.record("c", nil, orderRow(3, "carl", 300, nil), 30, true),
		v1.record("u", nil, orderRow(1, "anne2", 110, nil), 40, true),
		v1.record("d", orderRow(3, "carl", 300, nil), nil, 50, true),
	); err != nil {
		t.Fatal(err)
	}
	if e, d := engine("orders"), engine("orders"+DataSuffix); e != "View" || d != "ReplacingMergeTree" {
		t.Fatalf("orders is %q, orders%s is %q; want a View over a ReplacingMergeTree", e, DataSuffix, d)
	}
	if got := rows("SELECT concat(toString(id), ' ', customer) FROM " + db + ".orders ORDER BY id"); got != "1 anne2|2 bob" {
		t.Fatalf("view before any merge: %q", got)
	}
	// queries written for the data table still run against the view
	if got := rows("SELECT toString(count()) FROM " + db + ".orders FINAL WHERE _is_deleted = 0"); got != "2" {
		t.Fatalf("FINAL WHERE _is_deleted = 0 on the view: %q", got)
	}

	// ADD COLUMN: the view lists the new column
	v2 := ordersTable(append(append([]tfield{}, ordersV1...), tfield{name: "qty", typ: "int32", optional: true}))
	if err := send(s, v2.record("u", nil, orderRow(2, "bob", 200, "hi", "qty", 7), 60, true)); err != nil {
		t.Fatal(err)
	}
	if got := rows("SELECT concat(toString(id), ' ', ifNull(toString(qty), 'NULL')) FROM " + db + ".orders ORDER BY id"); got != "1 NULL|2 7" {
		t.Fatalf("view after ADD COLUMN: %q", got)
	}
	// DROP COLUMN (note goes): the view no longer reads it
	var noNote []tfield
	for _, f := range v2.fields {
		if f.name != "note" {
			noNote = append(noNote, f)
		}
	}
	v3 := ordersTable(noNote)
	r := orderRow(1, "anne3", 120, nil, "qty", 1)
	r = append(r[:8:8], r[10:]...) // without note
	if err := send(s, v3.record("u", nil, r, 70, true)); err != nil {
		t.Fatal(err)
	}
	if got := rows("SELECT concat(toString(id), ' ', customer, ' ', ifNull(toString(qty), 'NULL')) FROM " + db + ".orders ORDER BY id"); got != "1 anne3 1|2 bob 7" {
		t.Fatalf("view after DROP COLUMN: %q", got)
	}
	cols := rows("SELECT name FROM system.columns WHERE database = '" + db + "' AND table = 'orders'")
	if want := strings.Join([]string{"id", "customer", "amount", "created_at", "tags", "qty", "_version", "_is_deleted"}, "|"); cols != want {
		t.Fatalf("view columns %q, want %q", cols, want)
	}

	// A stale view (a crash between an ALTER and the view's re-creation) is re-created when a
	// sink first sees the table.
	execCH(t, conn, "DROP TABLE "+db+".orders")
	execCH(t, conn, "CREATE VIEW "+db+".orders AS SELECT id, customer FROM "+db+".orders"+DataSuffix+" FINAL WHERE _is_deleted = 0")
	s2 := newSink()
	if err := send(s2, v3.record("c", nil, row{"id", 8, "customer", "hal", "amount", dec(1), "created_at", int64(1), "tags", nil, "qty", nil}, 80, true)); err != nil {
		t.Fatal(err)
	}
	if got := rows("SELECT name FROM system.columns WHERE database = '" + db + "' AND table = 'orders'"); got != cols {
		t.Fatalf("stale view not re-created: columns %q", got)
	}

	// An existing table under the plain name (an older sluice's layout): written into as before.
	legacy := ttable{topic: "srv.public.legacy", db: "shop", schema: "public", table: "legacy", pg: true,
		fields: []tfield{{name: "id", typ: "int32"}, {name: "v", typ: "string"}}, keys: []string{"id"}}
	execCH(t, conn, "CREATE TABLE "+db+".legacy (id Int32, v String, _version UInt64, _is_deleted UInt8) ENGINE = ReplacingMergeTree(_version) ORDER BY id")
	execCH(t, conn, "INSERT INTO "+db+".legacy SELECT 1, 'old', 5, 0") // INSERT … VALUES hangs on 18.16's native protocol
	if err := send(s2, legacy.record("c", nil, row{"id", 2, "v", "new"}, 90, true)); err != nil {
		t.Fatal(err)
	}
	if got := rows("SELECT concat(toString(id), ' ', v) FROM " + db + ".legacy FINAL WHERE _is_deleted = 0 ORDER BY id"); got != "1 old|2 new" {
		t.Fatalf("legacy table: %q", got)
	}
	if e := engine("legacy" + DataSuffix); e != "" {
		t.Fatalf("legacy%s created (%s) although legacy holds the rows", DataSuffix, e)
	}
	rename := "RENAME TABLE `" + db + "`.`legacy` TO `" + db + "`.`legacy" + DataSuffix + "`"
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), rename) {
		t.Fatalf("no warning naming %q:\n%s", rename, logs.String())
	}
	// ... and after the RENAME the warning gives, a new sink makes the view.
	execCH(t, conn, rename)
	s3 := newSink()
	if err := send(s3, legacy.record("u", nil, row{"id", 1, "v", "old2"}, 100, true)); err != nil {
		t.Fatal(err)
	}
	if got := rows("SELECT concat(toString(id), ' ', v) FROM " + db + ".legacy ORDER BY id"); engine("legacy") != "View" || got != "1 old2|2 new" {
		t.Fatalf("after the RENAME: legacy is %q with %q", engine("legacy"), got)
	}

	// A view sluice did not make is never dropped: the sink stops with what to do.
	execCH(t, conn, "CREATE VIEW "+db+".alien AS SELECT 1 AS id")
	alien := legacy
	alien.topic, alien.table = "srv.public.alien", "alien"
	err := send(s3, alien.record("c", nil, row{"id", 1, "v", "x"}, 110, true))
	if err == nil || !strings.Contains(err.Error(), "did not create") {
		t.Fatalf("foreign view: error %v", err)
	}
}
