//go:build chdb && integration

package clickhouse

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicecdc/sluice/envelope"
)

// chdbToast is a sink over the chDB table db.name (created by chdbTable with first) whose
// unchanged-TOAST lookups run in chDB, and a function that applies records, fills their
// placeholders as an insert does and inserts them with the sink's token.
func chdbToast(t *testing.T, q func(string) string, db, name string, first envelope.Record) (*Sink, func(...envelope.Record)) {
	t.Helper()
	s := chdbTable(t, q, db, name, first)
	s.db = quoteIdent(db)
	s.toastLookup = func(_ context.Context, _, query string) (map[int]string, error) {
		found := map[int]string{}
		for _, l := range strings.Split(strings.TrimRight(q(query), "\n"), "\n") {
			f := strings.SplitN(l, "\t", 2)
			i, err := strconv.Atoi(f[0])
			if len(f) != 2 || err != nil || f[1] == `\N` {
				continue
			}
			found[i] = f[1]
		}
		return found, nil
	}
	send := func(recs ...envelope.Record) {
		t.Helper()
		for i := range recs {
			if err := s.apply(context.Background(), &recs[i], uint64(i)); err != nil {
				t.Fatal(err)
			}
		}
		b := s.tables[name].batch
		if err := s.resolveToast(context.Background(), name, b); err != nil {
			t.Fatal(err)
		}
		q(insertSQL(db, name, b, "SETTINGS insert_deduplication_token = "+quoteString(b.token(name))))
		s.tables[name].batch = newBatch(b.bind)
		s.rows, s.bytes, s.order, s.tokens = 0, 0, s.order[:0], nil
	}
	return s, send
}

// TestChdbToastReplayedChainAfterMerge is TestSinkToastReplayedChainAfterMerge on the modern
// layout (ReplacingMergeTree(_version, _is_deleted), insert deduplication tokens): the
// unchanged-TOAST lookup runs in chDB. The replay is split into batches unlike the first pass,
// as a restart's replay usually is, so its blocks are new to the server's deduplication (an
// identical block would be dropped and hide what the sink stored).
func TestChdbToastReplayedChainAfterMerge(t *testing.T) {
	q := chdbQuery(t)
	const db, name = "cdc_toast", "docs"
	tb := ttable{topic: "srv.public.docs", db: "shop", schema: "public", table: name, pg: true, keys: []string{"id"},
		fields: []tfield{{name: "id", typ: "int32"}, {name: "n", typ: "int32", optional: true}, {name: "body", typ: "string", optional: true}}}
	a := strings.Repeat("a", 3000)
	s, send := chdbToast(t, q, db, name, tb.record("c", nil, row{"id", 5, "n", 1, "body", a}, 100, true))
	send(tb.record("c", nil, row{"id", 7, "n", 1, "body", Placeholder}, 90, true), tb.record("c", nil, row{"id", 5, "n", 1, "body", a}, 100, true))
	send(tb.record("u", nil, row{"id", 5, "n", 2, "body", Placeholder}, 200, true))
	send(tb.record("u", nil, row{"id", 5, "n", 3, "body", Placeholder}, 300, true))
	q("SYSTEM START MERGES " + db + "." + name)
	q("OPTIMIZE TABLE " + db + "." + name + " FINAL")
	if got := strings.TrimSpace(q("SELECT count() FROM " + db + "." + name + " WHERE id = 5")); got != "1" {
		t.Fatalf("id 5 has %s rows after OPTIMIZE FINAL, want the newest only", got)
	}
	missing := s.Stats().ToastMissing
	send(tb.record("u", nil, row{"id", 5, "n", 2, "body", Placeholder}, 200, true), tb.record("u", nil, row{"id", 5, "n", 3, "body", Placeholder}, 300, true))
	got := strings.TrimSpace(q("SELECT _version, length(ifNull(body, '')) FROM " + db + "." + name + " FINAL WHERE id = 5"))
	if want := "300\t3000"; got != want {
		t.Fatalf("id 5 after the replay (version, length of the body): %q, want %q", got, want)
	}
	if n := s.Stats().ToastMissing - missing; n != 0 {
		t.Fatalf("ToastMissing grew by %d in the replay", n)
	}
}

// TestChdbToastKeyChangeAfterMergedDelete is TestSinkToastKeyChangeAfterMergedDelete on the
// modern layout: the delete of a primary-key change is in the table and merged with the old
// key's earlier rows before the create arrives; the delete carries the old key's value.
func TestChdbToastKeyChangeAfterMergedDelete(t *testing.T) {
	q := chdbQuery(t)
	const db, name = "cdc_toast_moved", "docs"
	tb := ttable{topic: "srv.public.docs", db: "shop", schema: "public", table: name, pg: true, keys: []string{"id"},
		fields: []tfield{{name: "id", typ: "int32"}, {name: "n", typ: "int32", optional: true}, {name: "body", typ: "string", optional: true}}}
	a := strings.Repeat("a", 3000)
	s, send := chdbToast(t, q, db, name, tb.record("c", nil, row{"id", 5, "n", 1, "body", a}, 100, true))
	send(tb.record("c", nil, row{"id", 7, "n", 1, "body", Placeholder}, 90, true), tb.record("c", nil, row{"id", 5, "n", 1, "body", a}, 100, true))
	del := tb.record("d", row{"id", 5, "n", nil, "body", nil}, nil, 200, true)
	del.Headers = []envelope.Header{{Key: envelope.HeaderNewKey, Value: []byte(`{"id":50}`)}}
	missing := s.Stats().ToastMissing // id 7's placeholder has no earlier value
	send(del)
	q("SYSTEM START MERGES " + db + "." + name)
	q("OPTIMIZE TABLE " + db + "." + name + " FINAL")
	if got := strings.TrimSpace(q("SELECT count() FROM " + db + "." + name + " WHERE id = 5")); got != "1" {
		t.Fatalf("id 5 has %s rows after OPTIMIZE FINAL, want its delete only", got)
	}
	cre := tb.record("c", nil, row{"id", 50, "n", 1, "body", Placeholder}, 200, true)
	cre.Headers = []envelope.Header{{Key: envelope.HeaderOldKey, Value: []byte(`{"id":5}`)}}
	send(cre)
	got := strings.TrimSpace(q("SELECT _version, length(ifNull(body, '')) FROM " + db + "." + name + " FINAL WHERE id = 50"))
	if want := "200\t3000"; got != want {
		t.Fatalf("id 50 (version, length of the body): %q, want %q", got, want)
	}
	if n := s.Stats().ToastMissing - missing; n != 0 {
		t.Fatalf("ToastMissing grew by %d", n)
	}
}

// TestChdbToastTypedKeys: unchanged-TOAST chains whose key is not text in its JSON: a
// Decimal(38, 2) sent as Connect's Base64 bytes, and a key of a Date (days) and a
// Decimal(20, 4). (A DateTime64 key is left to TestKeyLiteral: chDB hangs reading
// system.columns of such a table once its merges are stopped.) The lookup compared toString of the key columns with the key's JSON,
// which never matched for these: the value was stored empty (ToastMissing). On ClickHouse 18.16
// the toString of the Decimal128 also crashed the server (see TestSinkToastDecimal128Key).
func TestChdbToastTypedKeys(t *testing.T) {
	q := chdbQuery(t)
	a := strings.Repeat("a", 3000)
	for _, c := range []struct {
		name   string
		keys   []string
		fields []tfield
		key    func(i int) row
	}{
		{"dec_key", []string{"id"}, []tfield{{name: "id", typ: "bytes", semantic: nameDecimal, params: map[string]string{"scale": "2", "connect.decimal.precision": "38"}}},
			func(i int) row { return row{"id", dec(int64(i)*100 + 50)} }},
		{"date_dec_key", []string{"day", "amount"}, []tfield{
			{name: "day", typ: "int32", semantic: nameDate},
			{name: "amount", typ: "bytes", semantic: nameDecimal, params: map[string]string{"scale": "4", "connect.decimal.precision": "20"}}},
			func(i int) row { return row{"day", 19700 + i, "amount", dec(-int64(i)*10007 - 1)} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			db, name := "cdc_toast_"+c.name, "docs"
			tb := ttable{topic: "srv.public.docs", db: "shop", schema: "public", table: name, pg: true, keys: c.keys,
				fields: append(append([]tfield{}, c.fields...), tfield{name: "n", typ: "int32", optional: true}, tfield{name: "body", typ: "string", optional: true})}
			rec := func(op string, i, n int, body string, pos int64) envelope.Record {
				return tb.record(op, nil, append(c.key(i), "n", n, "body", body), pos, true)
			}
			s, send := chdbToast(t, q, db, name, rec("c", 1, 1, a, 100))
			send(rec("c", 1, 1, a, 100), rec("c", 2, 1, a+"b", 110))
			// Two keys in one round; key 2 twice (a second round).
			send(rec("u", 1, 2, Placeholder, 200), rec("u", 2, 2, Placeholder, 210))
			send(rec("u", 2, 3, Placeholder, 300))
			got := strings.TrimSpace(q("SELECT n, _version, length(ifNull(body, '')) FROM " + db + "." + name + " FINAL ORDER BY n, _version"))
			if want := "2\t200\t3000\n3\t300\t3001"; got != want {
				t.Fatalf("rows (n, version, length of the body):\n%s\nwant:\n%s", got, want)
			}
			if n := s.Stats().ToastMissing; n != 0 {
				t.Fatalf("ToastMissing = %d", n)
			}
		})
	}
}
