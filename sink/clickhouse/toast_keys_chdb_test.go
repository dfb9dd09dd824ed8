//go:build chdb && integration

package clickhouse

import (
	"strings"
	"testing"

	"github.com/sluicecdc/sluice/envelope"
)

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
