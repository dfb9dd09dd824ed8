package postgres

import (
	"context"
	"encoding/binary"
	"log/slog"
	"runtime"
	"slices"
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

// snapBenchTable is the bench's snap table (bigint key, bigint, numeric(12,2), text,
// timestamptz, jsonb) with a dropped-from-output column in the middle, and snapBenchRow a
// result row of it as the server sends it (text format).
func snapBenchTable() *snapTable {
	decs := []*decoder{{kind: decInt}, {kind: decInt}, {kind: decNumeric}, {kind: decString}, {kind: decInt}, {kind: decTimestampTZ, prec: 6}, {kind: decJSON}}
	tab := &schema.Table{ID: schema.TableID{Schema: "public", Table: "snap"}, PrimaryKey: []int{0}}
	for _, n := range []string{"id", "customer_id", "amount", "status", "created_at", "payload"} {
		tab.Columns = append(tab.Columns, schema.Column{Name: n})
	}
	rel := &relation{table: tab, decs: decs, out: []int{0, 1, 2, 3, -1, 4, 5}, included: true}
	return &snapTable{rel: rel, name: `"public"."snap"`, pk: []string{`"id"`}, pkIdx: []int{0}, intPK: true, progress: &capture.TableProgress{}}
}

func snapBenchRow() [][]byte {
	return [][]byte{[]byte("1234567"), []byte("4711"), []byte("123.45"), []byte("new"), []byte("99"), []byte("2026-12-05 22:11:14.123456+00"),
		[]byte(`{"qty": 7, "sku": "SKU-1234567", "note": "fcea920f7412b5da7be0cf42b8c93759"}`)}
}

// TestSnapshotDecodeRow: a result row decodes into values of its own (the connection's buffer
// is reused for the next row), skipping the columns left out of the output and NULLs.
func TestSnapshotDecodeRow(t *testing.T) {
	st := snapBenchTable()
	vals := snapBenchRow()
	vals[1] = nil
	var alloc capture.Alloc
	row, err := st.decodeRow(&alloc, vals, len(st.rel.table.Columns))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vals {
		for i := range v {
			v[i] = '#' // the next row overwrites the buffer
		}
	}
	want := []capture.Value{capture.IntValue(1234567), {}, capture.DecimalValue(12345, 2), capture.StringValue([]byte("new")),
		capture.TimestampTZValue(1796508674123456, 6), capture.JSONValue([]byte(`{"qty": 7, "sku": "SKU-1234567", "note": "fcea920f7412b5da7be0cf42b8c93759"}`))}
	if len(row) != len(want) {
		t.Fatalf("%d values, want %d", len(row), len(want))
	}
	for i := range want {
		if show(row[i]) != show(want[i]) {
			t.Errorf("col %d: %s, want %s", i, show(row[i]), show(want[i]))
		}
	}
	bad := snapBenchRow()
	bad[5] = []byte("2026-13-05 22:11:14+00")
	if _, err := st.decodeRow(&alloc, bad, len(st.rel.table.Columns)); err == nil {
		t.Error("a bad timestamp decoded")
	}
}

// BenchmarkSnapshotDecodeRow: a snapshot reader's cost per result row (decode into values of
// its own), without the network.
func BenchmarkSnapshotDecodeRow(b *testing.B) {
	benchDecodeRow(b, snapBenchTable(), snapBenchRow())
}

// BenchmarkSnapshotNext: Next's cost per snapshot row (batches handed over by the readers,
// events with their markers and positions), the readers' decoding left out: batches of decoded
// rows come from another goroutine, whose CPU time is not counted.
func BenchmarkSnapshotNext(b *testing.B) {
	st := snapBenchTable()
	var alloc capture.Alloc
	rows := make([]capture.Row, snapBatchRows)
	for i := range rows {
		r, err := st.decodeRow(&alloc, snapBenchRow(), len(st.rel.table.Columns))
		if err != nil {
			b.Fatal(err)
		}
		rows[i] = r
	}
	s := &Source{log: slog.New(slog.DiscardHandler), dbName: "postgres", cfg: Config{Stats: &capture.Stats{}}}
	u := &unit{t: st, rows: make(chan *snapBatch, 4)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			select {
			case u.rows <- &snapBatch{rows: rows, ts: 1, after: []string{"1"}}:
			case <-ctx.Done():
				return
			}
		}
	}()
	s.snap = &snapshot{s: s, lsn: 1 << 32, units: []*unit{u}, stats: &s.cfg.Stats.Snapshot}
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	n := 0
	for b.Loop() {
		ev, err := s.Next(ctx)
		if err != nil || ev.Op != capture.OpRead {
			b.Fatal(ev.Kind, err)
		}
		n++
	}
	b.ReportMetric(float64((threadCPU()-cpu0).Nanoseconds())/float64(n), "cpu-ns/op")
}

// snapBenchTableBinary is snapBenchTable with its column types, so that binary picks the
// formats a reader asks for, and snapBenchRowBinary the same row as the server then sends it.
func snapBenchTableBinary() *snapTable {
	st := snapBenchTable()
	for i, typ := range []string{"int8", "int8", "numeric", "text", "timestamptz", "jsonb"} {
		st.rel.table.Columns[i].Type = typ
	}
	st.binary()
	return st
}

func snapBenchRowBinary() [][]byte {
	row := snapBenchRow()
	row[1] = binary.BigEndian.AppendUint64(nil, 4711)
	row[2] = numericBytes(0, numericPos, 2, 123, 4500)
	// 2026-12-05 22:11:14.123456 UTC in µs since 2000-01-01.
	row[5] = binary.BigEndian.AppendUint64(nil, uint64(1796508674123456-pgEpochMicros))
	return row
}

// TestSnapshotDecodeRowBinary: the key and the text-only columns are read as text, the others
// in binary, and a row decodes to the values of its text form.
func TestSnapshotDecodeRowBinary(t *testing.T) {
	st := snapBenchTableBinary()
	if want := []int16{0, 1, 1, 0, 0, 1, 0}; !slices.Equal(st.formats, want) {
		t.Fatalf("formats %v, want %v (key and left-out columns text)", st.formats, want)
	}
	var alloc capture.Alloc
	got, err := st.decodeRow(&alloc, snapBenchRowBinary(), len(st.rel.table.Columns))
	if err != nil {
		t.Fatal(err)
	}
	want, err := snapBenchTable().decodeRow(&alloc, snapBenchRow(), len(st.rel.table.Columns))
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if show(got[i]) != show(want[i]) {
			t.Errorf("col %d: binary %s, text %s", i, show(got[i]), show(want[i]))
		}
	}
	bad := snapBenchRowBinary()
	bad[5] = bad[5][:7]
	if _, err := st.decodeRow(&alloc, bad, len(st.rel.table.Columns)); err == nil {
		t.Error("a 7-byte timestamp decoded")
	}
}

// BenchmarkSnapshotDecodeRowBinary: BenchmarkSnapshotDecodeRow with the formats a reader asks
// for (decode_binary.go).
func BenchmarkSnapshotDecodeRowBinary(b *testing.B) {
	benchDecodeRow(b, snapBenchTableBinary(), snapBenchRowBinary())
}

// benchDecodeRow measures st's decodeRow of vals in CPU-ns on the benchmark's thread.
func benchDecodeRow(b *testing.B, st *snapTable, vals [][]byte) {
	b.Helper()
	ncol := len(st.rel.table.Columns)
	var alloc capture.Alloc
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	n := 0
	for b.Loop() {
		if _, err := st.decodeRow(&alloc, vals, ncol); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64((threadCPU()-cpu0).Nanoseconds())/float64(n), "cpu-ns/op")
}
