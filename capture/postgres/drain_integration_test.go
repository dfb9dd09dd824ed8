//go:build integration

package postgres

import (
	"context"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestDrain measures the source alone (decode, no envelope or sink) on an existing slot:
// SLUICE_PG_DRAIN_DSN, SLUICE_PG_DRAIN_SLOT, SLUICE_PG_DRAIN_PUB and SLUICE_PG_DRAIN_XID (stop
// after that transaction's commit). Used with scripts/pg-throughput.sh's database; skipped
// otherwise.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestDrain(t *testing.T) {
	dsn := os.Getenv("SLUICE_PG_DRAIN_DSN")
	if dsn == "" {
		t.Skip("SLUICE_PG_DRAIN_DSN not set")
	}
	xid, _ := strconv.ParseInt(os.Getenv("SLUICE_PG_DRAIN_XID"), 10, 64)
	ctx := context.Background()
	s, err := Open(ctx, Config{DSN: dsn, Slot: os.Getenv("SLUICE_PG_DRAIN_SLOT"), Publication: os.Getenv("SLUICE_PG_DRAIN_PUB"), SnapshotMode: SnapshotNoData})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	cpu0 := processCPU()
	n := 0
	for {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == capture.Change {
			n++
		}
		if ev.Kind == capture.Commit && ev.Source.TxID == xid {
			break
		}
	}
	el := time.Since(start)
	cpu := processCPU() - cpu0
	t.Logf("%d changes in %v: %.0f rows/s; sluice CPU %v = %.2f µs/row", n, el, float64(n)/el.Seconds(), cpu, float64(cpu.Microseconds())/float64(n))
}
