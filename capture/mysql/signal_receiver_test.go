package mysql

import (
	"context"
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/signal"
)

// TestKafkaSignalWakesBinlogRead: a signal handed over by the Kafka channel cancels the
// context of the binlog read in progress (an idle database sends nothing until the next
// heartbeat, 15 s away); a message that is no signal to act on does not.
func TestKafkaSignalWakesBinlogRead(t *testing.T) {
	s := &Source{phase: phaseStream}
	ctx := s.wakeable(context.Background())
	s.ReceiveSignal(nil, 4)
	if ctx.Err() != nil {
		t.Fatal("a message with no signal to act on interrupted the binlog read")
	}
	if again := s.wakeable(context.Background()); again != ctx {
		t.Fatal("the read context was made again while it had not fired")
	}
	s.ReceiveSignal(&signal.Signal{ID: "one", Type: signal.Log}, 5)
	if ctx.Err() == nil {
		t.Fatal("a Kafka signal did not interrupt the binlog read")
	}
	s.takeInbox(true)
	// A signal handed over between the loop's look at the inbox and the next read.
	s.Signal(signal.Signal{ID: "two", Type: signal.Log})
	if ctx := s.wakeable(context.Background()); ctx.Err() == nil {
		t.Fatal("a read started after a signal was handed over waits for the next event")
	}
	if len(s.signals) != 1 || s.signals[0].sig.ID != "one" || !s.hasSigNext || s.sigNext != 6 {
		t.Fatalf("taken: %+v, next offset %d (%v), want signal one and offset 6", s.signals, s.sigNext, s.hasSigNext)
	}
}

// TestKafkaSignalOffsetInPositions: every position handed out after a Kafka message was taken
// says where the channel reads next, in a copy (the rows of a chunk share one position);
// during the initial snapshot, which acts on no signal, the offset does not move past one.
func TestKafkaSignalOffsetInPositions(t *testing.T) {
	s := &Source{}
	s.ReceiveSignal(nil, 9)
	s.ReceiveSignal(&signal.Signal{ID: "one", Type: signal.Log}, 10)
	s.ReceiveSignal(nil, 11)
	s.takeInbox(false)
	if !s.hasSigNext || s.sigNext != 10 || len(s.signals) != 0 || s.inboxN.Load() != 2 {
		t.Fatalf("snapshot phase: next offset %d (%v), %d signals taken, %d left; want 10, none, 2", s.sigNext, s.hasSigNext, len(s.signals), s.inboxN.Load())
	}
	shared := &Position{File: "b.1", Pos: 4}
	s.queue = []capture.Event{{Kind: capture.Change, Position: shared}, {Kind: capture.Change, Position: shared}}
	ev, err := s.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p := ev.Position.(*Position); !p.HasSignalOffset || p.SignalOffset != 10 || p == shared || shared.HasSignalOffset {
		t.Fatalf("handed out %s (shared %s): want signal_kafka_offset 10 in a copy", p, shared)
	}
	s.takeInbox(true)
	if ev, _ = s.Next(context.Background()); ev.Position.(*Position).SignalOffset != 12 {
		t.Fatalf("handed out %s after the rest was taken, want signal_kafka_offset 12", ev.Position.(*Position))
	}
}

// TestSignalTableRowsWithoutSourceChannel: with signal.enabled.channels lacking source
// (NoTableSignals) a row inserted into the signal table is emitted as data and not acted on;
// a watermark row is still swallowed.
func TestSignalTableRowsWithoutSourceChannel(t *testing.T) {
	row := func(id, typ, data string) capture.Row {
		return capture.Row{{Kind: capture.String, Bytes: []byte(id)}, {Kind: capture.String, Bytes: []byte(typ)}, {Kind: capture.String, Bytes: []byte(data)}}
	}
	for _, off := range []bool{false, true} {
		s := &Source{cfg: Config{NoTableSignals: off}}
		if !s.signalRow(capture.OpCreate, row("a", "log", `{"message": "hi"}`), nil) {
			t.Fatal("an inserted signal row is not emitted")
		}
		if got := len(s.signals); got != map[bool]int{false: 1, true: 0}[off] {
			t.Fatalf("NoTableSignals %v: %d signals taken from the table", off, got)
		}
		if s.signalRow(capture.OpCreate, row("w1", windowOpen, ""), nil) {
			t.Fatalf("NoTableSignals %v: a watermark row is emitted", off)
		}
	}
}

// TestKafkaSignalHeldDuringResumedSnapshot: while the rest of an initial snapshot runs
// (watermark windows in the stream), a Kafka signal is not taken: an incremental snapshot it
// starts would wait in memory only, while the positions said its offset was read, and a
// restart would lose it. The offset stops before it, and the read is not woken again for it.
func TestKafkaSignalHeldDuringResumedSnapshot(t *testing.T) {
	s := &Source{phase: phaseStream, resumed: &resumed{}}
	s.ReceiveSignal(nil, 2)
	s.ReceiveSignal(&signal.Signal{ID: "one", Type: signal.ExecuteSnapshot, Snapshot: &signal.Snapshot{DataCollections: []string{"d.t"}}}, 3)
	if err := s.handleSignals(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(s.signals) != 0 || s.sigNext != 3 || s.inboxN.Load() != 1 {
		t.Fatalf("%d signals taken, next offset %d, %d held; want none, 3, 1", len(s.signals), s.sigNext, s.inboxN.Load())
	}
	if ctx := s.wakeable(context.Background()); ctx.Err() != nil {
		t.Fatal("a held signal cuts every binlog read short")
	}
	s.resumed = nil // the initial snapshot's rest is done
	s.takeInbox(s.takesSignals())
	if len(s.signals) != 1 || s.sigNext != 4 {
		t.Fatalf("after the snapshot: %d signals taken, next offset %d; want 1, 4", len(s.signals), s.sigNext)
	}
}
