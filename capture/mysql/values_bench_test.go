package mysql

import (
	"syscall"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

// BenchmarkSnapshotRowParse is the snapshot readers' per-row work (readUnit's callback) on a
// row of the bench's mysnapshot table (bench/bench.sh): text values to a capture.Row.
func BenchmarkSnapshotRowParse(b *testing.B) {
	t := &schema.Table{Columns: []schema.Column{
		{Name: "id", Type: "bigint"}, {Name: "customer_id", Type: "bigint"}, {Name: "amount", Type: "decimal", Length: 12, Scale: 2},
		{Name: "status", Type: "varchar"}, {Name: "created_at", Type: "timestamp", Scale: 6}, {Name: "payload", Type: "json"}}}
	vals := [][]byte{[]byte("1234567"), []byte("3456"), []byte("345.67"), []byte("new"), []byte("2026-12-05 22:26:38.123456"),
		[]byte(`{"qty": 7, "sku": "SKU-1234567", "note": "5d41402abc4b2a76b9719d911017c592"}`)}
	kinds := make([]textKind, len(t.Columns))
	for i := range t.Columns {
		kinds[i] = textKindOf(&t.Columns[i])
	}
	var alloc capture.Alloc
	rows := make([]capture.Row, 0, snapBatchRows)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		row := alloc.Row(len(vals))
		for i, raw := range vals {
			if err := parseTextTo(&row[i], &t.Columns[i], kinds[i], raw, &alloc); err != nil {
				b.Fatal(err)
			}
		}
		if rows = append(rows, row); len(rows) == cap(rows) {
			rows = make([]capture.Row, 0, snapBatchRows)
		}
	}
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// processCPU is the CPU time the process has used, garbage collection included (the machine
// is shared: cpu-ns/op, run with -cpu 1, is steadier than wall-clock ns/op).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
