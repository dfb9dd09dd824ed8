package clickhouse

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/sluicecdc/sluice/envelope"
)

// offlineSink is a Sink without a connection whose table name exists with the given columns
// (name, DESCRIBE type), so that apply never needs the server.
func offlineSink(t *testing.T, name string, cols [][2]string) (*Sink, *table) {
	t.Helper()
	s := &Sink{cfg: Config{BatchRows: 1 << 30, BatchBytes: 1 << 62, FlushInterval: time.Hour}, log: slog.New(slog.DiscardHandler),
		tables: map[string]*table{}, cache: schemaCache{m: map[string]*envSchema{}}}
	s.cfg.setDefaults()
	tb := &table{name: name, exists: true, cols: map[string]string{}, binds: map[*envSchema]*binding{}}
	for _, c := range cols {
		tb.cols[c[0]] = c[1]
		tb.order = append(tb.order, c[0])
	}
	s.tables[name] = tb
	return s, tb
}

// Records without schemas (schemas.enable=false) into a table of the pre-23.2 layout, as sluice
// creates it from the same records with schemas: the timestamptz column is Int64 µs there, and
// the record carries the value as Debezium's ZonedTimestamp string. They were all parked
// ("want an integer").
func TestSchemalessZonedTimestampIntoLegacyInt64(t *testing.T) {
	s, tb := offlineSink(t, "orders", [][2]string{
		{"id", "Int64"}, {"amount", "Nullable(Decimal(12, 2))"}, {"status", "Nullable(String)"},
		{"created_at", "Nullable(Int64)"}, {"_version", "UInt64"}, {"_is_deleted", "UInt8"},
	})
	recs := []envelope.Record{
		{Topic: "bench.public.orders", Key: []byte(`{"id":1}`), Value: []byte(`{"before":null,"after":{"id":1,"amount":"ZQ==",` +
			`"status":"new","created_at":"2026-12-05T13:39:54.131503Z"},"source":{"db":"postgres","schema":"public","table":"orders",` +
			`"lsn":100,"sequence":"[null,\"100\"]","ts_ms":1},"op":"c","ts_ms":2}`)},
		{Topic: "bench.public.orders", Key: []byte(`{"id":2}`), Value: []byte(`{"before":null,"after":{"id":2,"amount":"1.50",` +
			`"status":"new","created_at":1796477994131503},"source":{"db":"postgres","schema":"public","table":"orders",` +
			`"lsn":101,"sequence":"[null,\"101\"]","ts_ms":1},"op":"c","ts_ms":2}`)},
	}
	for i := range recs {
		if err := s.apply(context.Background(), &recs[i], uint64(i+1)); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.parked) > 0 {
		t.Fatalf("parked: %s", s.parked[0].reason)
	}
	b := tb.batch
	if b == nil || b.rows() != 2 {
		t.Fatalf("rows: %v", b)
	}
	i := b.bind.index["created_at"]
	vals := b.bufs[i].(*buf[int64]).vals
	if vals[0] != 1796477994131503 || vals[1] != 1796477994131503 {
		t.Fatalf("created_at = %v, want 1796477994131503 twice", vals)
	}
	if d := b.bufs[b.bind.index["amount"]].(*buf[decimal.Decimal]).vals; d[0].String() != "1.01" || d[1].String() != "1.5" {
		t.Fatalf("amount = %v", d)
	}
}

// A string that is no timestamp in an Int64 column is still refused (parked), not stored as 0.
func TestSchemalessBadStringIntoInt64(t *testing.T) {
	s, _ := offlineSink(t, "t", [][2]string{{"id", "Int64"}, {"n", "Int64"}, {"_version", "UInt64"}, {"_is_deleted", "UInt8"}})
	rec := envelope.Record{Topic: "x.public.t", Key: []byte(`{"id":1}`), Value: []byte(`{"before":null,"after":{"id":1,"n":"12 apples"},` +
		`"source":{"db":"d","schema":"public","table":"t","lsn":5},"op":"c","ts_ms":2}`)}
	if err := s.apply(context.Background(), &rec, 1); err != nil {
		t.Fatal(err)
	}
	if len(s.parked) != 1 {
		t.Fatalf("parked %d records, want 1", len(s.parked))
	}
}
