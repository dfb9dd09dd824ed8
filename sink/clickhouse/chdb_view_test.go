//go:build chdb && integration

package clickhouse

import (
	"context"
	"strings"
	"testing"

	"github.com/sluicecdc/sluice/envelope"
)

// TestChdbView: the view statement the sink issues on the modern layout (CREATE OR REPLACE
// VIEW over the data table with FINAL and _is_deleted = 0) shows the current rows without
// FINAL, is replaced in place after ADD COLUMN, and is recognised as the sink's own from the
// statement the server keeps.
func TestChdbView(t *testing.T) {
	q := chdbQuery(t)
	cols := []tfield{{name: "id", typ: "int32"}, {name: "name", typ: "string"}}
	tb := ttable{topic: "srv.public.acct", db: "shop", schema: "public", table: "acct", pg: true, fields: cols, keys: []string{"id"}}
	db, data := "cdc_view", "acct"+DataSuffix
	s := chdbTable(t, q, db, data, tb.record("c", nil, row{"id", 1, "name", "a"}, 10, true))
	// the records name the table acct; its rows go to acct__versions (Sink.layout's choice)
	s.tables["acct"], s.tables[data].view = s.tables[data], "acct"
	insert := func(recs ...envelope.Record) {
		t.Helper()
		for i := range recs {
			if err := s.apply(context.Background(), &recs[i], uint64(i)); err != nil {
				t.Fatal(err)
			}
		}
		b := s.tables["acct"].batch
		q(insertSQL(db, data, b, ""))
		s.tables["acct"].batch = newBatch(b.bind)
		s.rows, s.bytes, s.order, s.tokens = 0, 0, s.order[:0], nil
	}
	insert(tb.record("c", nil, row{"id", 1, "name", "a"}, 10, true), tb.record("c", nil, row{"id", 2, "name", "b"}, 20, true))
	insert(tb.record("u", nil, row{"id", 1, "name", "a2"}, 30, true), tb.record("d", row{"id", 2, "name", "b"}, nil, 40, true))
	names := func() []string {
		return strings.Split(strings.TrimSpace(q("SELECT name FROM system.columns WHERE database = '"+db+"' AND table = '"+data+"' ORDER BY position")), "\n")
	}
	q(createViewSQL(db, "acct", data, names(), true))
	if got := strings.ReplaceAll(strings.TrimSpace(q("SELECT concat(toString(id), ' ', name) FROM "+db+".acct ORDER BY id")), "\n", "|"); got != "1 a2" {
		t.Fatalf("view: %q, want the current rows", got)
	}
	q("ALTER TABLE " + db + "." + quoteIdent(data) + " ADD COLUMN `qty` Nullable(Int32) AFTER `name`")
	q(createViewSQL(db, "acct", data, names(), true)) // CREATE OR REPLACE: no gap
	if got := strings.TrimSpace(q("SELECT concat(toString(id), ' ', ifNull(toString(qty), 'NULL')) FROM " + db + ".acct")); got != "1 NULL" {
		t.Fatalf("view after ADD COLUMN: %q", got)
	}
	create := q("SELECT create_table_query FROM system.tables WHERE database = '" + db + "' AND name = 'acct'")
	if !ownView(create, data) {
		t.Fatalf("the sink does not recognise its own view: %s", create)
	}
	if ownView("CREATE VIEW cdc_view.acct AS SELECT 1", data) {
		t.Fatal("a foreign view taken for the sink's")
	}
}
