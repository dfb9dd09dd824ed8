package binlog

import (
	"syscall"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/internal/testkit"
)

// BenchmarkRowDecode decodes WRITE_ROWS events of the standard orders row (id bigint,
// customer_id bigint, amount decimal(12,2), status varchar, created_at datetime(6), payload
// json), 100 rows per event as a bulk INSERT writes them, CRC32 verified. It reports rows/s;
// ns/op is per event.
func BenchmarkRowDecode(b *testing.B) {
	benchRows(b, testkit.JSONObject{{"sku", "A-123"}, {"qty", 2}, {"gift", true}, {"tags", []any{"x", "y"}}})
}

// BenchmarkRowDecodeSmallJSON is the same row with a one-key JSON payload.
func BenchmarkRowDecodeSmallJSON(b *testing.B) {
	benchRows(b, testkit.JSONObject{{"a", 2}})
}

// BenchmarkRowDecodeBenchJSON is the same row with bench/bench.sh's mysql payload:
// JSON_OBJECT('sku',CONCAT('SKU-',id),'qty',id%10,'note',LEFT(SHA2(CONCAT(id),256),32)).
func BenchmarkRowDecodeBenchJSON(b *testing.B) {
	benchRows(b, testkit.JSONObject{{"qty", 7}, {"sku", "SKU-123457"}, {"note", "6b86b273ff34fce19d6b804eff5a3f57"}})
}

// BenchmarkRowDecodeBenchJSONEscaped is BenchmarkRowDecodeBenchJSON with Config.EscapeJSON, as
// the MySQL source decodes.
func BenchmarkRowDecodeBenchJSONEscaped(b *testing.B) {
	benchRowsCfg(b, Config{EscapeJSON: true},
		testkit.JSONObject{{"qty", 7}, {"sku", "SKU-123457"}, {"note", "6b86b273ff34fce19d6b804eff5a3f57"}})
}

func benchRows(b *testing.B, payload testkit.JSONObject) { benchRowsCfg(b, Config{}, payload) }

func benchRowsCfg(b *testing.B, cfg Config, payload testkit.JSONObject) {
	const perEvent = 100
	s := testkit.NewBinlogStream(1)
	tbl := ordersTable(42)
	var images [][]byte
	for i := range perEvent {
		images = append(images, testkit.RowImage(orderCells(int64(1000+i), "paid", payload)...))
	}
	fde := s.FormatDescription("8.0.36")
	tmap := s.Event(testkit.BinlogTableMap, tbl.Body())
	rows := s.Event(testkit.BinlogWriteRowsV2, testkit.RowsBody(2, 42, 1, 6, testkit.All(6), nil, images...))
	d := NewDecoder(cfg)
	decodeAll(b, d, fde)
	b.SetBytes(int64(len(rows)))
	b.ReportAllocs()
	n := 0
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := d.Decode(tmap); err != nil {
			b.Fatal(err)
		}
		ev, err := d.Decode(rows)
		if err != nil {
			b.Fatal(err)
		}
		re := ev.Data.(*RowsEvent)
		for re.Next() {
			n++
		}
		if re.Err() != nil {
			b.Fatal(re.Err())
		}
	}
	if n != perEvent*b.N {
		b.Fatalf("decoded %d rows", n)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/row")
	// CPU time per row is stable on a shared machine where wall time is not.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(n), "cpu-ns/row")
}

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAppendJSON renders bench.sh's payload as text and (Escaped) as the envelope's JSON
// string body.
func BenchmarkAppendJSON(b *testing.B) {
	doc := testkit.JSONBinary(testkit.JSONObject{{"qty", 7}, {"sku", "SKU-123457"}, {"note", "6b86b273ff34fce19d6b804eff5a3f57"}})
	for _, bc := range []struct {
		name string
		f    func(dst, b []byte) ([]byte, error)
	}{{"text", AppendJSON}, {"escaped", AppendJSONEscaped}} {
		b.Run(bc.name, func(b *testing.B) {
			var dst []byte
			cpu0 := cpuTime()
			for b.Loop() {
				dst, _ = bc.f(dst[:0], doc)
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}
