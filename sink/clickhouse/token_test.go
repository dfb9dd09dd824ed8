package clickhouse

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/envelope"
)

// memSink is a Sink without a connection whose table already exists with the columns of recs'
// schema (and meta columns meta), so that apply never needs the server.
func memSink(t *testing.T, name string, recs []envelope.Record, meta ...string) *Sink {
	t.Helper()
	s := &Sink{cfg: Config{BatchRows: 1 << 30, BatchBytes: 1 << 62, FlushInterval: time.Hour}, log: slog.New(slog.DiscardHandler),
		tables: map[string]*table{}, cache: schemaCache{m: map[string]*envSchema{}}}
	s.cfg.setDefaults()
	c, ok, err := parseChange(&s.cache, recs[0].Key, recs[0].Value)
	if err != nil || !ok {
		t.Fatalf("parse: %v %v", ok, err)
	}
	tb := &table{name: name, exists: true, cols: map[string]string{}, binds: map[*envSchema]*binding{}}
	for _, col := range c.schema.cols {
		tb.cols[col.name] = col.chType()
		tb.order = append(tb.order, col.name)
	}
	for _, m := range append([]string{"_version", "_is_deleted"}, meta...) {
		tb.cols[m] = "UInt64"
		tb.order = append(tb.order, m)
	}
	s.tables[name] = tb
	return s
}

// batchToken applies recs to a fresh batch of table name and returns its dedup token.
func batchToken(t *testing.T, s *Sink, name string, recs []envelope.Record) string {
	t.Helper()
	tb := s.tables[name]
	for i := range recs {
		if err := s.apply(context.Background(), &recs[i], uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if tb.batch.rows() == 0 {
		t.Fatal("no rows appended")
	}
	tok := tb.batch.token(name)
	tb.batch = newBatch(tb.batch.bind) // as detach does
	s.rows, s.bytes, s.order, s.tokens = 0, 0, s.order[:0], nil
	return tok
}

// TestBatchTokenIsContent: two different batches of one snapshot (every row at the same source
// position) must get different insert_deduplication_tokens, or ClickHouse ≥ 23.2 drops the
// second one; the same batch again (a retry) must get the same token.
func TestBatchTokenIsContent(t *testing.T) {
	tb := ttable{topic: "srv.public.orders", db: "shop", schema: "public", table: "orders", pg: true,
		fields: []tfield{{name: "id", typ: "int32"}, {name: "note", typ: "string", optional: true}}, keys: []string{"id"}}
	snap := func(from, to int) []envelope.Record {
		var recs []envelope.Record
		for id := from; id < to; id++ {
			recs = append(recs, tb.record("r", nil, row{"id", id, "note", "n"}, 5000, true))
		}
		return recs
	}
	first, second := snap(1, 4), snap(4, 7)
	s := memSink(t, "orders", first)
	a := batchToken(t, s, "orders", first)
	b := batchToken(t, s, "orders", second)
	again := batchToken(t, s, "orders", first)
	if a == b {
		t.Fatalf("two different snapshot batches share the token %s: the server would drop the second", a)
	}
	if a != again {
		t.Fatalf("a retried batch got another token: %s then %s", a, again)
	}
	// the same rows in another table are another block
	other := tb
	other.table = "orders2"
	recs2 := []envelope.Record{other.record("r", nil, row{"id", 1, "note", "n"}, 5000, true),
		other.record("r", nil, row{"id", 2, "note", "n"}, 5000, true), other.record("r", nil, row{"id", 3, "note", "n"}, 5000, true)}
	if o := batchToken(t, memSink(t, "orders2", recs2), "orders2", recs2); o == a {
		t.Fatalf("same token %s for two tables", o)
	}
}
