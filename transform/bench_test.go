package transform

import (
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
)

// benchApply measures one transform on the records the encoder writes for ev (encoded once,
// outside the loop): the cost a transform adds per record.
func benchApply(b *testing.B, schemas bool, props map[string]string, ev *capture.Event) {
	enc := encoderFor(b, "dbserver1", schemas)
	recs, err := enc.Encode(nil, ev)
	if err != nil {
		b.Fatal(err)
	}
	specs, err := ParseProperties(props)
	if err != nil {
		b.Fatal(err)
	}
	built, err := Build(specs, Env{SchemasEnable: schemas})
	if err != nil {
		b.Fatal(err)
	}
	t := built[0].Transform
	var a Arena
	out := make([]envelope.Record, 0, 4)
	rec := recs[0]
	b.SetBytes(int64(len(rec.Value)))
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	for b.Loop() {
		a.reset()
		if out, err = t.Apply(out[:0], rec, &a); err != nil {
			b.Fatal(err)
		}
	}
	if cpu := threadCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// threadCPU returns the CPU time this OS thread has used (Linux RUSAGE_THREAD): on the shared
// machine wall-clock ns/op swings with load, cpu-ns/op much less (as envelope's benchmarks).
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkUnwrap(b *testing.B) { benchApply(b, false, unwrapProps(), customerUpdate()) }
func BenchmarkUnwrapSchemas(b *testing.B) {
	benchApply(b, true, unwrapProps(), customerUpdate())
}
func BenchmarkUnwrapAddFields(b *testing.B) {
	benchApply(b, false, unwrapProps("add.fields", "op,table,source.ts_ms"), customerUpdate())
}
func BenchmarkUnwrapAddFieldsSchemas(b *testing.B) {
	benchApply(b, true, unwrapProps("add.fields", "op,table,source.ts_ms"), customerUpdate())
}
func BenchmarkOutbox(b *testing.B) { benchApply(b, false, outboxProps(), outboxInsert()) }
func BenchmarkOutboxSchemas(b *testing.B) {
	benchApply(b, true, outboxProps(), outboxInsert())
}
func BenchmarkRegexRouter(b *testing.B) {
	benchApply(b, false, map[string]string{"transforms": "r", "transforms.r.type": "org.apache.kafka.connect.transforms.RegexRouter",
		"transforms.r.regex": `dbserver1\.(.*)`, "transforms.r.replacement": "$1"}, customerUpdate())
}
func BenchmarkReroute(b *testing.B) {
	benchApply(b, false, map[string]string{"transforms": "r", "transforms.r.type": "io.debezium.transforms.ByLogicalTableRouter",
		"transforms.r.topic.regex": `(.*)customers`, "transforms.r.topic.replacement": "$1all"}, customerUpdate())
}
func BenchmarkFilter(b *testing.B) {
	benchApply(b, false, map[string]string{"transforms": "f", "transforms.f.type": "io.debezium.transforms.Filter",
		"transforms.f.condition": "value.op == 'u' && value.after.id == 1004"}, customerUpdate())
}
