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

// parseChange reads the members of before and after in its pass over the payload; they must be
// what a separate read of the row objects finds, for every shape the fast path meets.
func TestParseChangeRowMembers(t *testing.T) {
	cache := &schemaCache{m: map[string]*envSchema{}}
	for _, v := range []string{
		`{"before":{"id":1,"s":"a\"}b"},"after":{"id":1,"s":"x","o":{"k":[1,{"z":"}"}]}},"source":{"table":"t","lsn":1},"op":"u"}`,
		`{"op":"d","before":{ "id" : 2 },"after":null,"source":{"table":"t","lsn":2}}`,
		`{"before":null,"after":{},"source":{"table":"t","lsn":3},"op":"c"}`,
	} {
		c, ok, err := parseChange(cache, nil, []byte(v))
		if err != nil || !ok {
			t.Fatalf("%s: %v %v", v, ok, err)
		}
		for _, row := range []struct {
			raw    []byte
			fields []rawField
		}{{c.before, c.beforeF}, {c.after, c.afterF}} {
			if row.raw == nil {
				if row.fields != nil {
					t.Fatalf("%s: members of a null row", v)
				}
				continue
			}
			var want []rawField
			if err := eachField(row.raw, func(k, v []byte) error { want = append(want, rawField{k, v}); return nil }); err != nil {
				t.Fatal(err)
			}
			if len(want) != len(row.fields) {
				t.Fatalf("%s: %d members, want %d", v, len(row.fields), len(want))
			}
			for j := range want {
				if string(want[j].k) != string(row.fields[j].k) || string(want[j].v) != string(row.fields[j].v) {
					t.Fatalf("%s: member %d = %s:%s, want %s:%s", v, j, row.fields[j].k, row.fields[j].v, want[j].k, want[j].v)
				}
			}
		}
	}
	// A row that is not an object is kept raw, for appendRow to refuse.
	c, ok, err := parseChange(cache, nil, []byte(`{"after":5,"source":{"table":"t","lsn":3},"op":"c"}`))
	if err != nil || !ok || string(c.after) != "5" || c.afterF != nil {
		t.Fatalf("after 5: %q %v %v %v", c.after, c.afterF, ok, err)
	}
}
