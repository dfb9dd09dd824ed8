//go:build integration

package binlog

import (
	"os"
	"strings"
	"testing"
)

// BenchmarkBinlogFiles decodes whole binlog files (SLUICE_BINLOG_FILES, comma-separated, as
// the server wrote them) from memory: every event, every row, every value. Compare with
// mariadb-binlog --base64-output=decode-rows -v over the same files.
func BenchmarkBinlogFiles(b *testing.B) {
	env := os.Getenv("SLUICE_BINLOG_FILES")
	if env == "" {
		b.Skip("Skipping due to missing environment variable SLUICE_BINLOG_FILES")
	}
	var files [][]byte
	size := 0
	for _, p := range strings.Split(env, ",") {
		raw, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, raw)
		size += len(raw)
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	rows, events := 0, 0
	cpu0 := cpuTime()
	for b.Loop() {
		for _, raw := range files {
			d := NewDecoder(Config{})
			for off := 4; off < len(raw); {
				h, err := ParseHeader(raw[off:])
				if err != nil {
					b.Fatal(err)
				}
				ev, err := d.Decode(raw[off : off+int(h.EventSize)])
				if err != nil {
					b.Fatal(err)
				}
				events++
				switch x := ev.Data.(type) {
				case *TableMap:
					if x.Hints() == nil {
						// MariaDB sends no charsets by default: call BLOB columns text, as a
						// connector does from its schema.
						h := make([]ColumnHint, x.ColumnCount())
						for i := range h {
							h[i].Collation = 45
						}
						x.SetHints(h)
					}
				case *RowsEvent:
					for x.Next() {
						rows++
					}
					if x.Err() != nil {
						b.Fatal(x.Err())
					}
				}
				for {
					inner, ok, err := d.NextInPayload()
					if err != nil {
						b.Fatal(err)
					}
					if !ok {
						break
					}
					if x, isRows := inner.Data.(*RowsEvent); isRows {
						for x.Next() {
							rows++
						}
					}
				}
				off += int(h.EventSize)
			}
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows)/float64(b.N), "rows/op")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(rows), "cpu-ns/row")
}
