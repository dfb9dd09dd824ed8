package clickhouse

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/ch-go/proto"
	chcol "github.com/ClickHouse/clickhouse-go/v2/lib/column"

	"github.com/sluicecdc/sluice/envelope"
)

// The column-append hot path without a server: Debezium records as sluice's PostgreSQL
// connector writes them for the bench workload's orders table (JsonConverter with schemas, ~3.6
// kB each: testdata/pg_orders_records.txt holds a create, an update and a delete, key line then
// value line) are parsed and appended to the table's column buffers (BenchmarkColumnAppend), and
// those columns are handed to clickhouse-go and encoded into a native block as an INSERT does
// (BenchmarkColumnEncode). `make bench-micro` runs both.

func benchRecords(b *testing.B) []envelope.Record {
	raw, err := os.ReadFile("testdata/pg_orders_records.txt")
	if err != nil {
		b.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(raw), []byte("\n"))
	var recs []envelope.Record
	for i := 0; i+1 < len(lines); i += 2 {
		recs = append(recs, envelope.Record{Topic: "bench.public.orders", Key: lines[i], Value: lines[i+1]})
	}
	return recs
}

// benchSink is a Sink without a connection whose orders table already exists with the columns
// the records map to, so that apply never needs the server.
func benchSink(b *testing.B, recs []envelope.Record) (*Sink, *table) {
	s := &Sink{cfg: Config{BatchRows: 1 << 30, BatchBytes: 1 << 62, FlushInterval: time.Hour}, log: slog.New(slog.DiscardHandler),
		tables: map[string]*table{}, cache: schemaCache{m: map[string]*envSchema{}}}
	s.cfg.setDefaults()
	c, ok, err := parseChange(&s.cache, recs[0].Key, recs[0].Value)
	if err != nil || !ok {
		b.Fatalf("parse: %v %v", ok, err)
	}
	t := &table{name: "orders", exists: true, cols: map[string]string{}, binds: map[*envSchema]*binding{}}
	for _, col := range c.schema.cols {
		t.cols[col.name] = col.chType()
		t.order = append(t.order, col.name)
	}
	t.cols["_version"], t.cols["_is_deleted"] = "UInt64", "UInt8"
	t.order = append(t.order, "_version", "_is_deleted")
	s.tables["orders"] = t
	return s, t
}

func BenchmarkColumnAppend(b *testing.B) {
	recs := benchRecords(b)
	s, t := benchSink(b, recs)
	ctx := context.Background()
	var size int
	for _, r := range recs {
		size += len(r.Key) + len(r.Value)
	}
	b.SetBytes(int64(size / len(recs)))
	b.ReportAllocs()
	const batch = 20000
	n := 0
	cpu0 := cpuTime()
	for b.Loop() {
		r := &recs[n%len(recs)]
		if err := s.apply(ctx, r, uint64(n)); err != nil {
			b.Fatal(err)
		}
		n++
		if t.batch.rows() >= batch {
			t.batch = newBatch(t.batch.bind) // as detach does
			s.rows, s.bytes, s.order = 0, 0, s.order[:0]
			t.queued = false
		}
	}
	if len(s.parked) > 0 {
		b.Fatalf("parked: %s", s.parked[0].reason)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/row")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(n), "cpu-ns/row")
}

// BenchmarkColumnAppendNoSchemas: the same records as Debezium writes them with
// schemas.enable=false (key and value payloads only), into the table the schemas made.
func BenchmarkColumnAppendNoSchemas(b *testing.B) {
	recs := benchRecords(b)
	s, t := benchSink(b, recs)
	for i := range recs {
		for _, kv := range []*[]byte{&recs[i].Key, &recs[i].Value} {
			_, p, err := splitConnect(*kv)
			if err != nil {
				b.Fatal(err)
			}
			*kv = p
		}
	}
	ctx := context.Background()
	b.ReportAllocs()
	const batch = 20000
	n := 0
	cpu0 := cpuTime()
	for b.Loop() {
		r := &recs[n%len(recs)]
		if err := s.apply(ctx, r, uint64(n)); err != nil {
			b.Fatal(err)
		}
		n++
		if t.batch.rows() >= batch {
			t.batch = newBatch(t.batch.bind)
			s.rows, s.bytes, s.order = 0, 0, s.order[:0]
			t.queued = false
		}
	}
	if len(s.parked) > 0 {
		b.Fatalf("parked: %s", s.parked[0].reason)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/row")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(n), "cpu-ns/row")
}

func BenchmarkColumnEncode(b *testing.B) {
	recs := benchRecords(b)
	s, t := benchSink(b, recs)
	ctx := context.Background()
	const batch = 20000
	for i := 0; i < batch; i++ {
		if err := s.apply(ctx, &recs[i%len(recs)], uint64(i)); err != nil {
			b.Fatal(err)
		}
	}
	bt := t.batch
	types := make([]chcol.Type, 0, len(bt.bufs)+2)
	for _, c := range bt.bind.cols {
		types = append(types, chcol.Type(c.chType()))
	}
	types = append(types, "UInt64", "UInt8")
	sc := &chcol.ServerContext{Revision: 54412, VersionMajor: 18, VersionMinor: 16, VersionPatch: 1, Timezone: time.UTC}
	var buf proto.Buffer
	b.ReportAllocs()
	rows := 0
	cpu0 := cpuTime()
	for b.Loop() {
		data := make([]any, 0, len(types))
		for _, cb := range bt.bufs {
			data = append(data, cb.data(0, cb.len()))
		}
		data = append(data, bt.versions, bt.deleted)
		buf.Reset()
		for i, ty := range types {
			col, err := ty.Column("c", sc)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := col.Append(data[i]); err != nil {
				b.Fatalf("column %s: %v", ty, err)
			}
			col.Encode(&buf)
		}
		rows += batch
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/row")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(rows), "cpu-ns/row")
}

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRecordToColumns is the record → columns path alone in its steady state: the bench
// table's records (with schemas, and as schemas.enable=false writes them) parsed and appended
// into a batch whose buffers are reused once full, as Sink.recycle reuses an inserted batch's.
// ns/op is per record.
func BenchmarkRecordToColumns(b *testing.B) {
	for _, schemas := range []bool{true, false} {
		name := "schemas"
		if !schemas {
			name = "noschemas"
		}
		b.Run(name, func(b *testing.B) {
			recs := benchRecords(b)
			s, t := benchSink(b, recs)
			if !schemas {
				for i := range recs {
					for _, kv := range []*[]byte{&recs[i].Key, &recs[i].Value} {
						_, p, err := splitConnect(*kv)
						if err != nil {
							b.Fatal(err)
						}
						*kv = p
					}
				}
			}
			var size int
			for _, r := range recs {
				size += len(r.Key) + len(r.Value)
			}
			b.SetBytes(int64(size / len(recs)))
			ctx := context.Background()
			b.ReportAllocs()
			const batch = 20000
			n := 0
			cpu0 := cpuTime()
			for b.Loop() {
				if err := s.apply(ctx, &recs[n%len(recs)], uint64(n)); err != nil {
					b.Fatal(err)
				}
				n++
				if t.batch.rows() >= batch {
					t.batch.reset()
					s.rows, s.bytes, s.order = 0, 0, s.order[:0]
					t.queued = false
				}
			}
			if len(s.parked) > 0 {
				b.Fatalf("parked: %s", s.parked[0].reason)
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(n), "cpu-ns/row")
		})
	}
}
