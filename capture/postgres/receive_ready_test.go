package postgres

import (
	"context"
	"log/slog"
	"testing"

	"github.com/sluicecdc/sluice/capture"
)

// TestReady: the stream sender lets events gather while Ready says the next one needs no
// input from the server: through a transaction the receive loop handed over whole, until its
// COMMIT was returned; not while a snapshot runs.
func TestReady(t *testing.T) {
	s := &Source{log: slog.New(slog.DiscardHandler), dbName: "postgres", rels: map[uint32]*relation{1: benchRelation()},
		streaming: true, skipped: map[byte]bool{}}
	if s.Ready() {
		t.Fatal("ready with nothing received")
	}
	s.batch = benchTx(3)
	var kinds []capture.EventKind
	var ready []bool
	for len(kinds) == 0 || kinds[len(kinds)-1] != capture.Commit {
		ev, err := s.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		kinds, ready = append(kinds, ev.Kind), append(ready, s.Ready())
	}
	// BEGIN, 3 changes, COMMIT: ready after each but the COMMIT, the transaction's last event.
	want := []bool{true, true, true, true, false}
	if len(ready) != len(want) {
		t.Fatalf("events %v, want BEGIN, 3 changes, COMMIT", kinds)
	}
	for i := range want {
		if ready[i] != want[i] {
			t.Fatalf("Ready after event %d (%v) = %v, want %v", i, kinds[i], ready[i], want[i])
		}
	}
	s.batch = benchTx(1)
	s.snap = &snapshot{}
	if s.Ready() {
		t.Fatal("ready while a snapshot runs: its reads query the server")
	}
}
