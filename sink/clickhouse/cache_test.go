package clickhouse

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/envelope"
)

// TestManyTablesKeepTheirBindings: with more tables (each its own record schema) than the
// schema cache holds, records of a table whose schema did not change must go on into the
// table's pending batch: no new binding per record (which grew without bound) and no flush
// forced by a "changed" binding (which made one tiny INSERT per record).
func TestManyTablesKeepTheirBindings(t *testing.T) {
	defer func(n int) { maxSchemas = n }(maxSchemas)
	maxSchemas = 300 // the production bound is 10,000: 12,000 tables showed the thrash
	const tables = 360
	s := &Sink{cfg: Config{BatchRows: 1 << 30, BatchBytes: 1 << 62, FlushInterval: time.Hour}, log: slog.New(slog.DiscardHandler),
		tables: map[string]*table{}, cache: schemaCache{m: map[string]*envSchema{}}}
	s.cfg.setDefaults()
	recs := make([]envelope.Record, tables)
	for i := range recs {
		tb := ttable{topic: fmt.Sprintf("srv.public.t%d", i), db: "shop", schema: "public", table: fmt.Sprintf("t%d", i), pg: true,
			fields: []tfield{{name: "id", typ: "int32"}, {name: "v", typ: "string", optional: true}}, keys: []string{"id"}}
		recs[i] = tb.record("c", nil, row{"id", 1, "v", "x"}, int64(100+i), true)
		tt := &table{name: tb.table, exists: true, binds: map[*envSchema]*binding{},
			cols:  map[string]string{"id": "Int32", "v": "Nullable(String)", "_version": "UInt64", "_is_deleted": "UInt8"},
			order: []string{"id", "v", "_version", "_is_deleted"}}
		s.tables[tb.table] = tt
	}
	ctx := context.Background()
	send := func(round int) {
		t.Helper()
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("round %d: the sink tried to flush (%v): a table's unchanged schema got a new binding", round, r)
			}
		}()
		for i := range recs {
			if err := s.Send(ctx, &recs[i], uint64(round*tables+i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for round := 0; round < 3; round++ {
		send(round)
	}
	if s.rows != 3*tables {
		t.Fatalf("%d rows pending, want %d", s.rows, 3*tables)
	}
	for _, tt := range s.tables {
		if len(tt.binds) != 1 {
			t.Fatalf("table %s has %d bindings for one schema", tt.name, len(tt.binds))
		}
	}
	if n := len(s.cache.m); n > maxSchemas {
		t.Fatalf("schema cache holds %d schemas, more than %d", n, maxSchemas)
	}
}
