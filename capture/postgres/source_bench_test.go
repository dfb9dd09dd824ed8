package postgres

import (
	"context"
	"log/slog"
	"runtime"
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// benchTx builds one transaction of pgoutput messages: BEGIN, n INSERTs of benchTuple into
// relation 1, COMMIT.
func benchTx(n int) []wireMsg {
	lsn := uint64(1 << 32)
	end := lsn + uint64(n)*200
	const ts = 700000000000000
	msgs := []wireMsg{{lsn: lsn, data: testkit.PgoutputBegin(end, ts, 4711)}}
	for i := 0; i < n; i++ {
		msgs = append(msgs, wireMsg{lsn: lsn + uint64(i)*200, data: testkit.PgoutputInsert(0, 1, benchTuple)})
	}
	return append(msgs, wireMsg{lsn: end, data: testkit.PgoutputCommit(end, end+8, ts)})
}

// BenchmarkSourceNext: the streaming decode path per event (message dispatch, tuple decode,
// event and position), without the network: Next over in-memory pgoutput messages, keeping
// every row (as a direct caller) or reusing rows (as the pipeline).
func BenchmarkSourceNext(b *testing.B) {
	for _, reuse := range []bool{false, true} {
		name := "keep"
		if reuse {
			name = "reuse"
		}
		b.Run(name, func(b *testing.B) {
			s := &Source{log: slog.New(slog.DiscardHandler), dbName: "postgres", rels: map[uint32]*relation{1: benchRelation()},
				streaming: true, skipped: map[byte]bool{}, reuse: reuse}
			tx := benchTx(1000)
			ctx := context.Background()
			b.ReportAllocs()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu0 := threadCPU()
			n := 0
			for b.Loop() {
				if len(s.batch) == 0 && s.pendHead == len(s.pending) {
					s.batch = append(s.batch[:0], tx...)
				}
				if _, err := s.Next(ctx); err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64((threadCPU()-cpu0).Nanoseconds())/float64(n), "cpu-ns/op")
		})
	}
}

// TestNextReuseBuffers: rows stay valid for good by default; with ReuseBuffers the next event
// reuses the memory, and NULL columns still come out as NULL.
func TestNextReuseBuffers(t *testing.T) {
	for _, reuse := range []bool{false, true} {
		s := &Source{log: slog.New(slog.DiscardHandler), dbName: "postgres", rels: map[uint32]*relation{1: benchRelation()},
			streaming: true, skipped: map[byte]bool{}}
		if reuse {
			s.ReuseBuffers()
		}
		s.batch = benchTx(3)
		var rows [][]capture.Value
		for len(rows) < 3 {
			ev, err := s.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind == capture.Change {
				if ev.After[0].Int != 1234567 || ev.After[7].Kind != capture.Null {
					t.Fatalf("reuse %v: row %d: %s / %s", reuse, len(rows), show(ev.After[0]), show(ev.After[7]))
				}
				ev.After[7] = capture.IntValue(1) // a caller scribbling on its row
				rows = append(rows, ev.After)
			}
		}
		same := &rows[0][0] == &rows[2][0]
		if same != reuse {
			t.Errorf("reuse %v: first and last rows share memory: %v", reuse, same)
		}
	}
}
