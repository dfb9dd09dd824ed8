package clickhouse

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/envelope"
)

// toastSink is a Sink without a connection whose table of tb already exists and tracks
// unchanged-TOAST values, so that apply never needs a server (nothing is inserted).
func toastSink(t *testing.T, tb ttable, first envelope.Record) (*Sink, *table) {
	t.Helper()
	s := &Sink{cfg: Config{BatchRows: 1 << 30, BatchBytes: 1 << 62, FlushInterval: time.Hour}, log: slog.New(slog.DiscardHandler),
		tables: map[string]*table{}, cache: schemaCache{m: map[string]*envSchema{}}}
	s.cfg.setDefaults()
	c, ok, err := parseChange(&s.cache, first.Key, first.Value)
	if err != nil || !ok {
		t.Fatalf("parse: %v %v", ok, err)
	}
	tt := &table{name: tb.table, exists: true, cols: map[string]string{}, binds: map[*envSchema]*binding{}, toast: true, keys: tb.keys}
	for _, col := range c.schema.cols {
		tt.cols[col.name] = col.chType()
		tt.order = append(tt.order, col.name)
	}
	tt.cols["_version"], tt.cols["_is_deleted"] = "UInt64", "UInt8"
	tt.order = append(tt.order, "_version", "_is_deleted")
	s.tables[tb.table] = tt
	return s, tt
}

// TestToastAfterRolledBackKeyChange: an update that changes the key appends a delete of the old
// key, and when its new row then fails (the record is parked) that delete is dropped again. The
// key still pointed at the dropped row, so a later unchanged-TOAST update of the old key copied
// the value of whatever row took its place: another key's.
func TestToastAfterRolledBackKeyChange(t *testing.T) {
	tb := ttable{topic: "srv.public.docs", db: "shop", schema: "public", table: "docs", keys: []string{"id"}, pg: true,
		fields: []tfield{{name: "id", typ: "int32"}, {name: "n", typ: "int32", optional: true}, {name: "body", typ: "string", optional: true}}}
	other := strings.Repeat("other ", 500)
	recs := []envelope.Record{
		// id 1 → 10, with a value its column cannot take: parked, nothing of it appended
		tb.record("u", row{"id", 1, "n", 1, "body", "x"}, row{"id", 10, "n", "not a number", "body", "x"}, 100, true),
		tb.record("c", nil, row{"id", 2, "n", 2, "body", other}, 110, true),
		tb.record("u", nil, row{"id", 1, "n", 3, "body", Placeholder}, 120, true),
	}
	s, tt := toastSink(t, tb, recs[1])
	for i := range recs {
		if err := s.apply(context.Background(), &recs[i], uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if st := s.Stats(); st.Parked != 1 {
		t.Fatalf("parked %d records, want the key change", st.Parked)
	}
	b := tt.batch
	if b.rows() != 2 {
		t.Fatalf("%d rows in the batch, want 2", b.rows())
	}
	if len(b.fixups) != 1 || b.fixups[0].row != 1 {
		t.Fatalf("fixups %+v: the body of id 1 must wait for ClickHouse, not copy id 2's", b.fixups)
	}
}

// TestToastPredecessorOutOfOrder: a batch that holds a key's versions out of order (a source
// re-sent an older stretch) carries each unchanged-TOAST value from the first row back that
// is not newer, and chains a placeholder only to such a row.
func TestToastPredecessorOutOfOrder(t *testing.T) {
	tb := ttable{topic: "srv.public.docs", db: "shop", schema: "public", table: "docs", keys: []string{"id"}, pg: true,
		fields: []tfield{{name: "id", typ: "int32"}, {name: "n", typ: "int32", optional: true}, {name: "body", typ: "string", optional: true}}}
	a, b := strings.Repeat("a", 3000), strings.Repeat("b", 3000)
	recs := []envelope.Record{
		tb.record("u", nil, row{"id", 1, "n", 4, "body", Placeholder}, 400, true), // 0: waits for ClickHouse (chain 0)
		tb.record("u", nil, row{"id", 1, "n", 5, "body", b}, 500, true),           // 1
		tb.record("u", nil, row{"id", 1, "n", 6, "body", Placeholder}, 600, true), // 2: b (row 1)
		tb.record("u", nil, row{"id", 1, "n", 2, "body", a}, 200, true),           // 3: a re-sent stretch
		tb.record("u", nil, row{"id", 1, "n", 3, "body", Placeholder}, 300, true), // 4: a (row 3)
		tb.record("u", nil, row{"id", 1, "n", 4, "body", Placeholder}, 400, true), // 5: a (row 4)
		tb.record("u", nil, row{"id", 1, "n", 5, "body", b}, 500, true),           // 6
		tb.record("u", nil, row{"id", 1, "n", 1, "body", Placeholder}, 100, true), // 7: another stretch: waits (chain 1)
		tb.record("u", nil, row{"id", 1, "n", 1, "body", Placeholder}, 100, true), // 8: read again: joins chain 1
	}
	s, tt := toastSink(t, tb, recs[1])
	for i := range recs {
		if err := s.apply(context.Background(), &recs[i], uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	bt := tt.batch
	col := bt.bind.index["body"]
	type rowRoot struct{ row, col, root int }
	var fix []rowRoot
	for _, f := range bt.fixups {
		fix = append(fix, rowRoot{f.row, f.col, f.root})
	}
	want := []rowRoot{{0, col, 0}, {7, col, 1}, {8, col, 1}}
	if fmt.Sprint(fix) != fmt.Sprint(want) {
		t.Fatalf("fixups (row, column, root) %v, want %v", fix, want)
	}
	body := func(r int) string {
		d, ok := bt.bufs[col].data(r, r+1).([]*string)
		if !ok || d[0] == nil {
			return "<nil>"
		}
		return (*d[0])[:1]
	}
	for r, w := range map[int]string{2: "b", 4: "a", 5: "a"} {
		if got := body(r); got != w {
			t.Errorf("row %d: body %q…, want %q…", r, got, w)
		}
	}
}

// TestToastKeyChangeInBatch: a primary-key change arrives as a delete of the old key and a
// create of the new one whose unchanged-TOAST values are placeholders (header
// __debezium.oldkey). The create carries the old key's value from its row before the change,
// never from the old key's delete (no values) nor from an earlier life of the new key; an
// update that changes the key in one record does the same; a create without the header
// waits for ClickHouse as before.
func TestToastKeyChangeInBatch(t *testing.T) {
	tb := ttable{topic: "srv.public.docs", db: "shop", schema: "public", table: "docs", keys: []string{"id"}, pg: true,
		fields: []tfield{{name: "id", typ: "int32"}, {name: "n", typ: "int32", optional: true}, {name: "body", typ: "string", optional: true}}}
	a, z := strings.Repeat("a", 3000), strings.Repeat("z", 3000)
	moved := func(r envelope.Record, old string) envelope.Record {
		r.Headers = []envelope.Header{{Key: envelope.HeaderOldKey, Value: []byte(old)}}
		return r
	}
	recs := []envelope.Record{
		tb.record("c", nil, row{"id", 2, "n", 0, "body", z}, 50, true),            // 0: an earlier life of id 2
		tb.record("d", row{"id", 2, "n", nil, "body", nil}, nil, 60, true),        // 1
		tb.record("c", nil, row{"id", 1, "n", 1, "body", a}, 100, true),           // 2
		tb.record("u", nil, row{"id", 1, "n", 2, "body", Placeholder}, 200, true), // 3: a (row 2)
		tb.record("d", row{"id", 1, "n", nil, "body", nil}, nil, 300, true),       // 4: id 1 → 2
		tb.tombstone(row{"id", 1}), // (no row)
		moved(tb.record("c", nil, row{"id", 2, "n", 2, "body", Placeholder}, 300, true), `{"id":1}`),            // 5: a (row 3)
		tb.record("u", row{"id", 2, "n", 2, "body", nil}, row{"id", 3, "n", 2, "body", Placeholder}, 400, true), // 6: delete of id 2; 7: a (row 5)
		tb.record("c", nil, row{"id", 4, "n", 4, "body", Placeholder}, 500, true),                               // 8: no header: waits
		moved(tb.record("c", nil, row{"id", 5, "n", 5, "body", Placeholder}, 600, true), `{"id":9}`),            // 9: old key not in the batch: waits
	}
	s, tt := toastSink(t, tb, recs[0])
	for i := range recs {
		if err := s.apply(context.Background(), &recs[i], uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	bt := tt.batch
	if bt.rows() != 10 {
		t.Fatalf("%d rows, want 10", bt.rows())
	}
	col := bt.bind.index["body"]
	body := func(r int) string {
		d, ok := bt.bufs[col].data(r, r+1).([]*string)
		if !ok || d[0] == nil {
			return "<nil>"
		}
		if *d[0] == "" {
			return "<empty>"
		}
		return (*d[0])[:1]
	}
	for r, w := range map[int]string{3: "a", 5: "a", 7: "a"} {
		if got := body(r); got != w {
			t.Errorf("row %d: body %s…, want %s…", r, got, w)
		}
	}
	type fix struct {
		row int
		old []string
	}
	var got []fix
	for _, f := range bt.fixups {
		got = append(got, fix{f.row, f.old})
	}
	want := []fix{{8, nil}, {9, []string{"9"}}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("fixups (row, old key) %v, want %v", got, want)
	}
}

// TestKeyLiteral: a key member's JSON as a literal the server converts to its column's type,
// for the unchanged-TOAST lookup (lookupToast compares typed values, never a key's text).
func TestKeyLiteral(t *testing.T) {
	for _, c := range []struct {
		field tfield
		raw   string
		want  string
	}{
		{tfield{name: "k", typ: "int32"}, `-5`, `-5`},
		{tfield{name: "k", typ: "string"}, `"it's"`, `'it\'s'`},
		{tfield{name: "k", typ: "bytes", semantic: nameDecimal, params: map[string]string{"scale": "2", "connect.decimal.precision": "38"}}, `"AJY="`, `'1.5'`},
		{tfield{name: "k", typ: "int32", semantic: nameDate}, `19737`, `'2024-01-15'`},
		{tfield{name: "k", typ: "int64", semantic: nameMicroTimestamp}, `1705314600123456`, `'2024-01-15 10:30:00.123456'`},
		{tfield{name: "k", typ: "double"}, `0.1`, `0.1`},
	} {
		s := connectSchema{Type: c.field.typ, Name: c.field.semantic, Parameters: c.field.params, Field: c.field.name}
		col, err := connectColumn(&s, true)
		if err != nil {
			t.Fatalf("%s: %v", c.raw, err)
		}
		got, err := col.keyLiteral([]byte(c.raw))
		if err != nil || got != c.want {
			t.Errorf("%s (%s): %s, %v; want %s", c.raw, col.chType(), got, err, c.want)
		}
	}
	// A DateTime (the layout of older servers, or a table made by hand) is read from epoch
	// seconds: a text would be read in the server's time zone.
	got, err := column{name: "k", codec: mkCodec("DateTime", convEpochIn(3, "DateTime", time.Unix(0, 0).UTC(), time.Unix(math.MaxUint32, 0).UTC()))}.keyLiteral([]byte(`1705314600000`))
	if want := `1705314600`; err != nil || got != want {
		t.Errorf("DateTime: %s, %v; want %s", got, err, want)
	}
	// A DateTime64 without a time zone (a table made by hand): its text would be read in the
	// server's, and could name another key.
	if got, err := (column{name: "k", codec: mkCodec("DateTime64(6)", convEpoch(6))}).keyLiteral([]byte(`1705314600123456`)); err == nil {
		t.Errorf("DateTime64(6): %s, want an error", got)
	}
}
