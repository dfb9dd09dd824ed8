package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/internal/offsets"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// lostSink accepts every record and reports none durable until release is called: a producer
// whose callbacks were lost (or a broker connection that died without an error).
type lostSink struct {
	durable Durable

	mu     sync.Mutex
	tokens []uint64
}

func (s *lostSink) Send(_ context.Context, _ *envelope.Record, token uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = append(s.tokens, token)
	return nil
}

// release reports every record sent so far durable.
func (s *lostSink) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		s.durable(t)
	}
	s.tokens = nil
}

// Flush blocks while records are pending, as a sink whose callbacks were lost would.
func (s *lostSink) Flush(ctx context.Context) error {
	s.mu.Lock()
	n := len(s.tokens)
	s.mu.Unlock()
	if n == 0 {
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}

func (s *lostSink) Close() error        { return nil }
func (s *lostSink) StallReport() string { return "3 records not acknowledged by the broker" }

// Before the watchdog a sink that never acknowledged left Run hanging for ever with nothing in
// the log but the sink's own messages and /healthz answering ok. Now the stall is published
// (Stats.Stall) and logged after StallTimeout, cleared when records become durable again.
func TestWatchdogReportsStallAndRecovery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{events: events(3), block: true} // events 1, 2, 3: 1, 2 and 3 records
		sink := &lostSink{}
		stats := new(Stats)
		var logs testkit.SyncBuffer
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, Config{
				Source: src, Encoder: &fakeEncoder{}, Stats: stats,
				NewSink:      func(d Durable) (Sink, error) { sink.durable = d; return sink, nil },
				StallTimeout: 10 * time.Second, StallFailTimeout: time.Hour,
				Logger: slog.New(slog.NewTextHandler(&logs, nil)),
			})
		}()
		time.Sleep(9 * time.Second)
		synctest.Wait()
		if s := stats.Stall(); s != nil {
			t.Fatalf("stall reported before the stall timeout: %+v", s)
		}
		time.Sleep(3 * time.Second)
		synctest.Wait()
		s := stats.Stall()
		if s == nil {
			t.Fatal("no stall reported after 12 s without progress")
		}
		want := Stall{InFlight: 6, OldestToken: 1, Pending: 3, Oldest: `{"n":1}`, Sink: "3 records not acknowledged by the broker"}
		got := *s
		got.Since = time.Time{}
		if got != want {
			t.Errorf("stall = %+v, want %+v", got, want)
		}
		if !strings.Contains(logs.String(), "level=WARN msg=\"pipeline stalled") ||
			!strings.Contains(logs.String(), "records_in_flight=6") {
			t.Errorf("no stall warning with the records in flight in the log:\n%s", logs.String())
		}
		if w := stats.Watched(); w.InFlight != 6 || w.Pending != 3 || w.LastEvent.IsZero() {
			t.Errorf("watched = %+v", w)
		}

		sink.release()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if s := stats.Stall(); s != nil {
			t.Errorf("stall still reported after the records became durable: %+v", s)
		}
		if !strings.Contains(logs.String(), "pipeline moving again") {
			t.Errorf("no recovery message in the log:\n%s", logs.String())
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
		if got := src.lastAck(); got != 3 {
			t.Errorf("last ack = %d, want 3", got)
		}
	})
}

// Before, a lost producer callback hung the pipeline for ever (here: until the test's hour
// ran out, and Run then returned nil). Now Run fails after StallFailTimeout with a retryable
// StallError that says what was stuck, so the capture command reopens source and sink.
func TestWatchdogFailsStalledPipeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{events: events(3), block: true}
		sink := &lostSink{}
		ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
		defer cancel()
		start := time.Now()
		err := Run(ctx, Config{
			Source: src, Encoder: &fakeEncoder{}, Offsets: new(offsets.Memory),
			NewSink: func(d Durable) (Sink, error) { sink.durable = d; return sink, nil },
			// The default ShutdownTimeout (30 s): the final flush of the stalled sink is skipped.
			StallTimeout: 10 * time.Second, StallFailTimeout: time.Minute,
		})
		var se *StallError
		if !errors.As(err, &se) {
			t.Fatalf("Run = %v, want a StallError", err)
		}
		if !capture.Retryable(err) {
			t.Error("a stall is not retryable")
		}
		if d := time.Since(start); d < time.Minute || d > time.Minute+5*time.Second {
			t.Errorf("Run failed after %s, want about StallFailTimeout (1m)", d)
		}
		for _, want := range []string{"--stall-fail-timeout (1m0s)", "6 records sent and not durable", `oldest position {"n":1}`, "sink: 3 records"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	})
}

// Without StallFailTimeout (sluice clickhouse, whose sink retries ClickHouse for ever) a stall
// is reported for as long as it lasts and never fails Run.
func TestWatchdogWithoutFailTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &lostSink{}
		stats := new(Stats)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, Config{
				Source: &fakeSource{events: events(3), block: true}, Encoder: &fakeEncoder{}, Stats: stats,
				NewSink:      func(d Durable) (Sink, error) { sink.durable = d; return sink, nil },
				StallTimeout: 10 * time.Second,
			})
		}()
		time.Sleep(24 * time.Hour)
		synctest.Wait()
		if s := stats.Stall(); s == nil || time.Since(s.Since) < 23*time.Hour {
			t.Errorf("stall after a day: %+v", s)
		}
		sink.release()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
}

// A pipeline with nothing to do, and one that moves slowly, are not stalled.
func TestWatchdogQuietWhenIdleOrMoving(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &lostSink{}
		stats := new(Stats)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, Config{
				Source: &slowSource{every: 3 * time.Second}, Encoder: &fakeEncoder{}, Stats: stats,
				NewSink:      func(d Durable) (Sink, error) { sink.durable = d; return sink, nil },
				StallTimeout: 10 * time.Second, StallFailTimeout: 20 * time.Second,
			})
		}()
		// The sink acknowledges every 8 s: slower than new records arrive, faster than the
		// stall timeout.
		for range 20 {
			time.Sleep(8 * time.Second)
			synctest.Wait()
			if s := stats.Stall(); s != nil {
				t.Fatalf("moving pipeline reported stalled: %+v", s)
			}
			sink.release()
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run: %v", err)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		stats := new(Stats)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(time.Hour, cancel)
		err := Run(ctx, Config{
			Source: &fakeSource{block: true}, Encoder: &fakeEncoder{}, Stats: stats,
			NewSink:      func(d Durable) (Sink, error) { return &lostSink{durable: d}, nil },
			StallTimeout: 10 * time.Second, StallFailTimeout: 20 * time.Second,
		})
		if err != nil {
			t.Fatalf("idle pipeline: %v", err)
		}
	})
}

// blockingStore blocks every Save until its context ends: an offsets store on a hung disk or
// an unreachable offsets topic.
type blockingStore struct{ offsets.Memory }

func (s *blockingStore) Save(ctx context.Context, _ []byte) error { <-ctx.Done(); return ctx.Err() }

// A release that cannot finish (offsets store hung) is a stall even while the sink keeps
// acknowledging records.
func TestWatchdogSeesStuckRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sink := &fakeSink{}
		stats := new(Stats)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, Config{
				Source: &slowSource{every: time.Second}, Encoder: &fakeEncoder{}, Stats: stats, Offsets: &blockingStore{},
				NewSink:      func(d Durable) (Sink, error) { sink.durable = d; return sink, nil },
				StallTimeout: 10 * time.Second, StallFailTimeout: time.Minute, ShutdownTimeout: time.Second,
			})
		}()
		// The first release (7 records durable at 7 s) is saved at 8 s and blocks there; from
		// then on the sink's acknowledgements do not count as progress.
		time.Sleep(25 * time.Second)
		synctest.Wait()
		s := stats.Stall()
		if s == nil || s.Pending == 0 {
			t.Fatalf("stuck release not reported: %+v", s)
		}
		var se *StallError
		if err := <-done; !errors.As(err, &se) {
			t.Fatalf("Run = %v, want a StallError", err)
		}
	})
}

// slowSource emits a change event with one record every `every`.
type slowSource struct {
	every time.Duration
	i     int
}

func (s *slowSource) Next(ctx context.Context) (capture.Event, error) {
	select {
	case <-ctx.Done():
		return capture.Event{}, ctx.Err()
	case <-time.After(s.every):
	}
	s.i++
	return capture.Event{Kind: capture.Change, Op: capture.OpCreate, Position: numPos(s.i),
		Source: capture.Source{Row: int32(s.i), Pos: 1}}, nil
}

func (s *slowSource) Ack(context.Context, capture.Position) error { return nil }
func (s *slowSource) Close() error                                { return nil }

func TestStatsCountsDebeziumStreamingMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		evs := []capture.Event{
			{Kind: capture.Begin, Position: numPos(1)},
			{Kind: capture.Change, Op: capture.OpCreate, Position: numPos(2), Source: capture.Source{TsMicros: now.Add(-3 * time.Second).UnixMicro()}},
			{Kind: capture.Change, Op: capture.OpUpdate, Position: numPos(3)},
			{Kind: capture.Change, Op: capture.OpDelete, Position: numPos(4)},
			{Kind: capture.Commit, Position: numPos(5)},
		}
		stats := new(Stats)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, Config{
				Source: &fakeSource{events: evs, block: true}, Encoder: &fakeEncoder{}, Stats: stats,
				NewSink: func(d Durable) (Sink, error) { return &fakeSink{durable: d}, nil },
			})
		}()
		time.Sleep(time.Second + time.Millisecond)
		synctest.Wait()
		if c, u, d, tx := stats.Creates.Load(), stats.Updates.Load(), stats.Deletes.Load(), stats.Commits.Load(); c != 1 || u != 1 || d != 1 || tx != 1 {
			t.Errorf("creates, updates, deletes, commits = %d, %d, %d, %d; want 1 each", c, u, d, tx)
		}
		w := stats.Watched()
		if w.LastEvent.IsZero() || w.BehindSource < 3*time.Second || w.BehindSource > 5*time.Second {
			t.Errorf("watched = %+v, want a last event and about 4 s behind the source", w)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// TestLagGrowsWhileSinkStalled: with the sink not acknowledging, MilliSecondsBehindSource is
// the age of the oldest change not delivered and grows; once delivered and idle it keeps the
// last change's lag at its read. Before, it was measured only when an event was read, so a
// source that read on into the sink's buffer (or stopped reading) showed a small, frozen lag.
func TestLagGrowsWhileSinkStalled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		evs := []capture.Event{{Kind: capture.Change, Op: capture.OpCreate, Position: numPos(1),
			Source: capture.Source{Row: 1, Pos: 1, TsMicros: now.UnixMicro()}}}
		stats := new(Stats)
		sink := &lostSink{}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, Config{Source: &fakeSource{events: evs, block: true}, Encoder: &fakeEncoder{}, Stats: stats,
				NewSink: func(d Durable) (Sink, error) { sink.durable = d; return sink, nil }, ShutdownTimeout: time.Second})
		}()
		time.Sleep(time.Second + time.Millisecond)
		synctest.Wait()
		if b := stats.Watched().BehindSource; b < 0 || b > time.Second {
			t.Errorf("lag after 1 s: %s, want ≤ 1s", b)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if b := stats.Watched().BehindSource; b < 6*time.Second {
			t.Errorf("lag 6 s into a stalled sink: %s, want ≥ 6s", b)
		}
		if s := stats.Lag(); s.Count < 6 || s.Max < 6*time.Second {
			t.Errorf("lag summary %+v, want ≥ 6 samples up to ≥ 6s", s)
		}
		sink.release()
		time.Sleep(3 * time.Second)
		synctest.Wait()
		before := stats.Watched().BehindSource
		time.Sleep(3 * time.Second)
		synctest.Wait()
		if after := stats.Watched().BehindSource; after != before {
			t.Errorf("lag moved from %s to %s while delivered and idle", before, after)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// TestSnapshotReadsNoLag: a snapshot read's source time is the snapshot's, so it is no lag
// behind the log (Debezium keeps MilliSecondsBehindSource for streaming too).
func TestSnapshotReadsNoLag(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		evs := []capture.Event{{Kind: capture.Change, Op: capture.OpRead, Position: numPos(1),
			Source: capture.Source{Row: 1, Pos: 1, TsMicros: time.Now().Add(-time.Hour).UnixMicro()}}}
		stats := new(Stats)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, Config{Source: &fakeSource{events: evs, block: true}, Encoder: &fakeEncoder{}, Stats: stats,
				NewSink: func(d Durable) (Sink, error) { return &fakeSink{durable: d}, nil }})
		}()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if w := stats.Watched(); w.BehindSource >= 0 || w.LastEvent.IsZero() {
			t.Errorf("after a snapshot read: %+v, want an event seen and no lag", w)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
