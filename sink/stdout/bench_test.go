package stdout

import (
	"context"
	"io"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/envelope"
)

// benchValue is a schemaless envelope of the bench workload's orders table as the encoder writes
// it (about 600 bytes).
const benchValue = `{"before":null,"after":{"id":123456,"customer_id":4242,"amount":"AQID","status":"shipped",` +
	`"created_at":"2026-11-25T00:35:12.123456Z","payload":"{\"sku\": \"A-1234\", \"qty\": 3, \"note\": \"gift wrap\"}"},` +
	`"source":{"version":"3.0.0.Final","connector":"postgresql","name":"bench","ts_ms":1764030912123,` +
	`"snapshot":"false","db":"bench","sequence":"[\"24023128\",\"24023300\"]","ts_us":1764030912123456,` +
	`"ts_ns":1764030912123456000,"schema":"public","table":"orders","txId":768,"lsn":24023300,"xmin":null},` +
	`"transaction":null,"op":"c","ts_ms":1764030912200,"ts_us":1764030912200123,"ts_ns":1764030912200123000}`

// BenchmarkAppendLine is the sink's per-record cost for one encoder record.
func BenchmarkAppendLine(b *testing.B) {
	benchAppendLine(b, envelope.Record{Topic: "bench.public.orders", Key: []byte(`{"id":123456}`), Value: []byte(benchValue), Compact: true})
}

// BenchmarkAppendLineUnmarked is the same record without the encoder's Compact mark.
func BenchmarkAppendLineUnmarked(b *testing.B) {
	benchAppendLine(b, envelope.Record{Topic: "bench.public.orders", Key: []byte(`{"id":123456}`), Value: []byte(benchValue)})
}

func benchAppendLine(b *testing.B, rec envelope.Record) {
	var line []byte
	b.ReportAllocs()
	b.SetBytes(int64(len(rec.Key) + len(rec.Value)))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	for b.Loop() {
		line = AppendLine(line[:0], &rec, 1)
	}
	if cpu := threadCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// threadCPU returns the CPU time this OS thread has used (Linux RUSAGE_THREAD): the machine is
// shared, so cpu-ns/op is steadier than wall-clock ns/op.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSend is the sink's whole per-record cost: format, buffer, write out (to io.Discard)
// and report durable.
func BenchmarkSend(b *testing.B) {
	rec := envelope.Record{Topic: "bench.public.orders", Key: []byte(`{"id":123456}`), Value: []byte(benchValue), Compact: true}
	var durable int
	s := New(Config{Writer: io.Discard}, func(uint64) { durable++ })
	b.ReportAllocs()
	b.SetBytes(int64(len(rec.Key) + len(rec.Value)))
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	var tok uint64
	for b.Loop() {
		tok++
		if err := s.Send(context.Background(), &rec, tok); err != nil {
			b.Fatal(err)
		}
	}
	if cpu := threadCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
}
