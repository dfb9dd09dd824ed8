package envelope

import (
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// threadCPU returns the CPU time this OS thread has used (Linux RUSAGE_THREAD). The machine the
// benchmarks run on is shared, so wall-clock ns/op swings with load; cpu-ns/op does much less.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchEncode(b *testing.B, cfg Config, ev *capture.Event) {
	enc, err := NewEncoder(cfg)
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]Record, 0, 4)
	var n int
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	for b.Loop() {
		recs, err := enc.Encode(dst[:0], ev)
		if err != nil {
			b.Fatal(err)
		}
		n = len(recs[0].Key) + len(recs[0].Value)
	}
	if cpu := threadCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
	b.SetBytes(int64(n))
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkEncodeInsert is the §12.1 MySQL insert with schemas disabled.
func BenchmarkEncodeInsert(b *testing.B) {
	b.ReportAllocs()
	benchEncode(b, Config{TopicPrefix: "dbserver1", TombstonesOnDelete: true}, ordersInsert(ordersTable()))
}

// BenchmarkEncodeInsertWithSchema is the same event with schemas enabled (cached schema JSON).
func BenchmarkEncodeInsertWithSchema(b *testing.B) {
	b.ReportAllocs()
	benchEncode(b, Config{TopicPrefix: "dbserver1", SchemasEnable: true, TombstonesOnDelete: true}, ordersInsert(ordersTable()))
}

// BenchmarkEncodeUpdate is the §12.4 PostgreSQL update under REPLICA IDENTITY FULL (before and
// after), schemas disabled.
func BenchmarkEncodeUpdate(b *testing.B) {
	b.ReportAllocs()
	ev := &capture.Event{Kind: capture.Change, Op: capture.OpUpdate, Table: accountsTable(),
		Before: accountsRow(1999), After: accountsRow(2000), Source: accountsSource(768, 24023300, 24023200, 1705314660000000)}
	benchEncode(b, Config{TopicPrefix: "pgserver1", TombstonesOnDelete: true}, ev)
}
