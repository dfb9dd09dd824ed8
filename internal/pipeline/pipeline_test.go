package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/internal/offsets"
	"github.com/sluicecdc/sluice/schema"
)

// fakeSource emits events then either io.EOF or blocks until ctx ends.
type fakeSource struct {
	events []capture.Event
	block  bool // after the events, block instead of io.EOF
	i      int

	mu    sync.Mutex
	acked []int
}

func (s *fakeSource) Next(ctx context.Context) (capture.Event, error) {
	if s.i < len(s.events) {
		s.i++
		return s.events[s.i-1], nil
	}
	if s.block {
		<-ctx.Done()
		return capture.Event{}, ctx.Err()
	}
	return capture.Event{}, io.EOF
}

func (s *fakeSource) Ack(_ context.Context, p capture.Position) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acked = append(s.acked, int(p.(numPos)))
	return nil
}

func (s *fakeSource) Close() error { return nil }

func (s *fakeSource) lastAck() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.acked) == 0 {
		return 0
	}
	return s.acked[len(s.acked)-1]
}

// fakeEncoder makes Source.Pos records per change event, topic "t", value "<event>.<i>".
type fakeEncoder struct{ buf []byte }

func (e *fakeEncoder) Encode(dst []envelope.Record, ev *capture.Event) ([]envelope.Record, error) {
	if ev.Source.Query == "fail" {
		return dst, errors.New("cannot encode")
	}
	e.buf = e.buf[:0]
	for i := range int(ev.Source.Pos) {
		n := len(e.buf)
		e.buf = fmt.Appendf(e.buf, "%d.%d", ev.Source.Row, i)
		dst = append(dst, envelope.Record{Topic: "t", Value: e.buf[n:]})
	}
	return dst, nil
}

func (e *fakeEncoder) Heartbeat(dst []envelope.Record, now time.Time) []envelope.Record {
	return append(dst, envelope.Record{Topic: "hb", Value: []byte(now.UTC().Format(time.RFC3339))})
}

// fakeSink keeps copies of the records; durability is reported in reverse order at Flush (or
// never for tokens listed in fail, which also make the next Send fail).
type fakeSink struct {
	durable Durable
	fail    map[uint64]bool

	mu      sync.Mutex
	recs    []string
	pending []uint64
	err     error
	closed  bool
}

func (s *fakeSink) Send(_ context.Context, rec *envelope.Record, token uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.recs = append(s.recs, rec.Topic+":"+string(rec.Value))
	if s.fail[token] {
		s.err = fmt.Errorf("record %d rejected", token)
		return nil
	}
	s.pending = append(s.pending, token)
	if len(s.pending) >= 7 {
		s.flushLocked()
	}
	return nil
}

func (s *fakeSink) flushLocked() {
	for i := len(s.pending) - 1; i >= 0; i-- {
		s.durable(s.pending[i])
	}
	s.pending = s.pending[:0]
}

func (s *fakeSink) Flush(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushLocked()
	return s.err
}

func (s *fakeSink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// events makes n change events; event i has i%4 records and position i.
func events(n int) []capture.Event {
	evs := make([]capture.Event, n)
	for i := range evs {
		evs[i] = capture.Event{Kind: capture.Change, Op: capture.OpCreate, Position: numPos(i + 1),
			Source: capture.Source{Row: int32(i + 1), Pos: uint64((i + 1) % 4)}}
	}
	return evs
}

func TestRunDeliversAllAndAcksLast(t *testing.T) {
	src := &fakeSource{events: events(1000)}
	sink := &fakeSink{}
	store := new(offsets.Memory)
	stats := new(Stats)
	err := Run(context.Background(), Config{
		Source: src, Encoder: &fakeEncoder{}, Offsets: store, Stats: stats,
		NewSink: func(d Durable) (Sink, error) { sink.durable = d; return sink, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Events.Load() != 1000 || stats.Released.Load() != 1000 || stats.Saves.Load() < 1 || stats.Records.Load() != uint64(len(sink.recs)) {
		t.Fatalf("stats: events %d, released %d, saves %d, records %d (sink got %d)", stats.Events.Load(),
			stats.Released.Load(), stats.Saves.Load(), stats.Records.Load(), len(sink.recs))
	}
	want := 0
	for i := 1; i <= 1000; i++ {
		want += i % 4
	}
	if len(sink.recs) != want {
		t.Fatalf("%d records, want %d", len(sink.recs), want)
	}
	if sink.recs[0] != "t:1.0" || sink.recs[len(sink.recs)-1] != "t:999.2" {
		t.Fatalf("first/last record %q %q", sink.recs[0], sink.recs[len(sink.recs)-1])
	}
	if got := src.lastAck(); got != 1000 {
		t.Fatalf("last ack %d, want 1000", got)
	}
	if !slices.IsSorted(src.acked) {
		t.Fatalf("acks out of order: %v", src.acked)
	}
	v, _ := store.Load(context.Background())
	if string(v) != `{"n":1000}` {
		t.Fatalf("stored offset %s, want {\"n\":1000}", v)
	}
	if !sink.closed {
		t.Fatal("sink not closed")
	}
}

// TestRunFailedRecordStopsAcks: a record the sink never makes durable stops the pipeline with
// the sink's error, and no position at or after its event is acknowledged or saved.
func TestRunFailedRecordStopsAcks(t *testing.T) {
	src := &fakeSource{events: events(100), block: true}
	// tokens: event i has i%4 records; token 20 belongs to event 13 (records so far: 1+2+3+0+1+2+3+0+1+2+3+0 = 18 after event 12; event 13 has 1 → token 19; event 14 has 2 → 20, 21).
	sink := &fakeSink{fail: map[uint64]bool{20: true}}
	store := new(offsets.Memory)
	err := Run(context.Background(), Config{
		Source: src, Encoder: &fakeEncoder{}, Offsets: store,
		NewSink: func(d Durable) (Sink, error) { sink.durable = d; return sink, nil },
	})
	if err == nil || err.Error() != "send to t: record 20 rejected" {
		t.Fatalf("Run error %v, want the sink's", err)
	}
	if got := src.lastAck(); got != 13 {
		t.Fatalf("last ack %d, want 13 (event 14 holds the failed record)", got)
	}
	v, _ := store.Load(context.Background())
	if string(v) != `{"n":13}` {
		t.Fatalf("stored offset %s, want {\"n\":13}", v)
	}
}

func TestRunEncodeError(t *testing.T) {
	evs := events(10)
	evs[5].Source.Query = "fail"
	src := &fakeSource{events: evs, block: true}
	sink := &fakeSink{}
	err := Run(context.Background(), Config{
		Source: src, Encoder: &fakeEncoder{},
		NewSink: func(d Durable) (Sink, error) { sink.durable = d; return sink, nil },
	})
	if err == nil || err.Error() != `encode event at {"n":6}: cannot encode` {
		t.Fatalf("Run error %v", err)
	}
	if got := src.lastAck(); got != 5 {
		t.Fatalf("last ack %d, want 5", got)
	}
}

func TestRunSkippedOps(t *testing.T) {
	evs := events(4) // records: 1, 2, 3, 0
	evs[1].Op = capture.OpTruncate
	evs[2].Kind = capture.Keepalive
	for _, c := range []struct {
		skipped string
		want    int
	}{{"", 1}, {"none", 3}, {"c", 2}, {"c,t", 0}} {
		t.Run(c.skipped, func(t *testing.T) {
			src := &fakeSource{events: slices.Clone(evs)}
			sink := &fakeSink{}
			err := Run(context.Background(), Config{
				Source: src, Encoder: &fakeEncoder{}, SkippedOps: c.skipped,
				NewSink: func(d Durable) (Sink, error) { sink.durable = d; return sink, nil },
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(sink.recs) != c.want {
				t.Fatalf("%d records (%v), want %d", len(sink.recs), sink.recs, c.want)
			}
			if src.lastAck() != 4 {
				t.Fatalf("last ack %d, want 4 (skipped and keepalive events still move the position)", src.lastAck())
			}
		})
	}
	if err := (&Config{SkippedOps: "x"}).Validate(); err == nil {
		t.Fatal("SkippedOps x accepted")
	}
}

// TestRunSkippedTruncateWarns: a truncate skipped by skipped.operations (Debezium's default)
// leaves downstream copies with the table's rows, so each one is logged at warn with its table.
func TestRunSkippedTruncateWarns(t *testing.T) {
	evs := events(3)
	evs[1].Op = capture.OpTruncate
	evs[1].Table = &schema.Table{ID: schema.TableID{DB: "inv", Schema: "public", Table: "orders"}}
	var logs bytes.Buffer
	src := &fakeSource{events: evs}
	sink := &fakeSink{}
	err := Run(context.Background(), Config{
		Source: src, Encoder: &fakeEncoder{}, SkippedOps: "t", Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		NewSink: func(d Durable) (Sink, error) { sink.durable = d; return sink, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "level=WARN msg=\"TRUNCATE not published") || !strings.Contains(out, "orders") ||
		!strings.Contains(out, "--skipped-operations none") {
		t.Fatalf("no warning naming the table and the fix:\n%s", out)
	}
}

// TestRunHeartbeatAndFlushInterval: heartbeats every HeartbeatInterval while the source is
// idle, offsets saved and acknowledged on FlushInterval, and a clean stop on cancel.
func TestRunHeartbeatAndFlushInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &fakeSource{events: events(3), block: true}
		sink := &fakeSink{}
		store := new(offsets.Memory)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, Config{
				Source: src, Encoder: &fakeEncoder{}, Offsets: store,
				HeartbeatInterval: 10 * time.Second, FlushInterval: 5 * time.Second,
				NewSink: func(d Durable) (Sink, error) { sink.durable = d; return sink, nil },
			})
		}()
		synctest.Wait()
		if v, _ := store.Load(ctx); v != nil {
			t.Fatalf("offset saved before the first flush interval: %s", v)
		}
		time.Sleep(35 * time.Second)
		synctest.Wait()
		sink.mu.Lock()
		hb := 0
		for _, r := range sink.recs {
			if r[:3] == "hb:" {
				hb++
			}
		}
		pending := len(sink.pending)
		sink.mu.Unlock()
		if hb != 3 {
			t.Fatalf("%d heartbeats after 35s, want 3", hb)
		}
		// 6 data records + 3 heartbeats = 9 sent; the fake makes them durable 7 at a time, so
		// the first 7 are durable and events 1..3 (tokens 1..6) are released.
		if pending != 2 {
			t.Fatalf("%d records pending, want 2", pending)
		}
		if v, _ := store.Load(ctx); string(v) != `{"n":3}` {
			t.Fatalf("stored offset %s, want {\"n\":3}", v)
		}
		if src.lastAck() != 3 {
			t.Fatalf("last ack %d, want 3", src.lastAck())
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run after cancel: %v", err)
		}
	})
}

// notifyingSink fails a record after Send accepted it and says so through Failed, as an
// asynchronous producer does.
type notifyingSink struct {
	fakeSink
	failed context.Context
	fail   context.CancelCauseFunc
}

func (s *notifyingSink) Send(ctx context.Context, rec *envelope.Record, token uint64) error {
	if err := s.fakeSink.Send(ctx, rec, token); err != nil {
		return err
	}
	s.fail(fmt.Errorf("record %d rejected by the broker", token))
	return nil
}

func (s *notifyingSink) Failed() <-chan struct{} { return s.failed.Done() }

// Flush returns the sticky failure, as the Kafka sink's does.
func (s *notifyingSink) Flush(ctx context.Context) error {
	if err := context.Cause(s.failed); err != nil {
		return err
	}
	return s.fakeSink.Flush(ctx)
}

// TestRunStopsAtAsyncSinkFailure: a record the sink fails after Send returned stops Run with
// that error even when the source then stays idle (no further Send or Flush to return it).
func TestRunStopsAtAsyncSinkFailure(t *testing.T) {
	src := &fakeSource{events: events(1), block: true}
	sink := &notifyingSink{}
	sink.failed, sink.fail = context.WithCancelCause(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := Run(ctx, Config{
		Source: src, Encoder: &fakeEncoder{}, ShutdownTimeout: time.Second,
		NewSink: func(d Durable) (Sink, error) { sink.durable = d; return sink, nil },
	})
	if err == nil || !strings.Contains(err.Error(), "rejected by the broker") {
		t.Fatalf("Run: %v, want the sink's failure", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Run waited for its context instead of stopping at the failure")
	}
}

// eofFailSource returns its events, then err.
type eofFailSource struct {
	fakeSource
	err error
}

func (s *eofFailSource) Next(ctx context.Context) (capture.Event, error) {
	if s.i < len(s.events) {
		return s.fakeSource.Next(ctx)
	}
	return capture.Event{}, s.err
}

type retryErr struct{ error }

func (e retryErr) Unwrap() error   { return e.error }
func (e retryErr) Retryable() bool { return true }

// TestRunRetryableEOFIsAFailure: a database that shuts down mid-read gives the source a
// connection EOF, which it reports wrapped as retryable. That is a failure to reopen from the
// saved offset, not the end of the source: Run returned nil and sluice mysql exited 0 halfway
// through its snapshot when MariaDB restarted.
func TestRunRetryableEOFIsAFailure(t *testing.T) {
	src := &eofFailSource{fakeSource: fakeSource{events: events(3)},
		err: retryErr{fmt.Errorf("snapshot read: %w", io.EOF)}}
	sink := &fakeSink{}
	err := Run(context.Background(), Config{
		Source: src, Encoder: &fakeEncoder{},
		NewSink: func(d Durable) (Sink, error) { sink.durable = d; return sink, nil },
	})
	if err == nil || !capture.Retryable(err) {
		t.Fatalf("Run: %v, want the source's retryable failure", err)
	}
	// io.EOF itself, bare or wrapped without Retryable, still ends the source normally.
	src = &eofFailSource{fakeSource: fakeSource{events: events(3)}, err: fmt.Errorf("snapshot only: %w", io.EOF)}
	if err := Run(context.Background(), Config{
		Source: src, Encoder: &fakeEncoder{},
		NewSink: func(d Durable) (Sink, error) { sink.durable = d; return sink, nil },
	}); err != nil {
		t.Fatalf("Run with a wrapped io.EOF: %v", err)
	}
}

// TestRunWarnsOmittedColumns: a column whose type has no Debezium mapping (a composite type) is
// left out of the records; the operator is told once per table version, naming it.
func TestRunWarnsOmittedColumns(t *testing.T) {
	tbl := &schema.Table{ID: schema.TableID{DB: "inv", Schema: "public", Table: "odd"}, Dialect: schema.Postgres, Version: 1,
		Columns: []schema.Column{{Name: "id", Type: "int4"}, {Name: "p", Type: "pair"}, {Name: "v", Type: "text"}}}
	evs := events(3)
	for i := range evs {
		evs[i].Table = tbl
	}
	var logs bytes.Buffer
	err := Run(context.Background(), Config{
		Source: &fakeSource{events: evs}, Encoder: &fakeEncoder{}, Logger: slog.New(slog.NewTextHandler(&logs, nil)),
		NewSink: func(d Durable) (Sink, error) { s := &fakeSink{durable: d}; return s, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if strings.Count(out, "columns left out") != 1 || !strings.Contains(out, `columns="p (pair)"`) || !strings.Contains(out, "public.odd") {
		t.Fatalf("want one warning naming public.odd's column p:\n%s", out)
	}
}

// pacedReads emits one snapshot read (op r) every 10ms of its clock, n in all, then blocks.
type pacedReads struct {
	fakeSource
	n, sent int
}

func (s *pacedReads) Next(ctx context.Context) (capture.Event, error) {
	if s.sent == s.n {
		<-ctx.Done()
		return capture.Event{}, ctx.Err()
	}
	select {
	case <-time.After(10 * time.Millisecond):
	case <-ctx.Done():
		return capture.Event{}, ctx.Err()
	}
	s.sent++
	return capture.Event{Kind: capture.Change, Op: capture.OpRead, Position: numPos(s.sent), Source: capture.Source{Row: int32(s.sent), Pos: 1}}, nil
}

// instantSink makes every record durable as it is sent.
type instantSink struct{ durable Durable }

func (s *instantSink) Send(_ context.Context, _ *envelope.Record, token uint64) error {
	s.durable(token)
	return nil
}
func (s *instantSink) Flush(context.Context) error { return nil }
func (s *instantSink) Close() error                { return nil }

// savesStore records when each offset was saved.
type savesStore struct {
	offsets.Memory
	mu  sync.Mutex
	at  []time.Time
	val []string
}

func (s *savesStore) Save(ctx context.Context, v []byte) error {
	s.mu.Lock()
	s.at, s.val = append(s.at, time.Now()), append(s.val, string(v))
	s.mu.Unlock()
	return s.Memory.Save(ctx, v)
}

// TestRunSnapshotFlushInterval: while snapshot reads flow, released positions are saved
// every SnapshotFlushInterval (50ms by default), not only every FlushInterval (1s), since a
// crash re-reads every row published after the last save; once the reads stop, saves go
// back to FlushInterval.
func TestRunSnapshotFlushInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &pacedReads{n: 200} // 2s of reads
		store := new(savesStore)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		start := time.Now()
		go func() {
			done <- Run(ctx, Config{
				Source: src, Encoder: &fakeEncoder{}, Offsets: store, FlushInterval: time.Second,
				NewSink: func(d Durable) (Sink, error) { return &instantSink{durable: d}, nil },
			})
		}()
		for range 30 { // each 100ms: the read released 100ms ago is saved
			time.Sleep(100 * time.Millisecond)
			synctest.Wait()
			now := time.Since(start)
			if now < 300*time.Millisecond || now > 2*time.Second {
				continue
			}
			v, _ := store.Load(ctx)
			want := int((now - 100*time.Millisecond) / (10 * time.Millisecond))
			var got int
			fmt.Sscanf(string(v), `{"n":%d}`, &got)
			if got < want {
				t.Errorf("at %s the saved offset is %q: the read of %s ago is not saved yet, want saves within 0.1s of a read's release",
					now, v, now-time.Duration(got)*10*time.Millisecond)
				break
			}
		}
		// Reads ended at 2s: from then on saves come every FlushInterval.
		store.mu.Lock()
		n := 0
		for _, at := range store.at {
			if at.Sub(start) > 2200*time.Millisecond {
				n++
			}
		}
		store.mu.Unlock()
		if n > 1 {
			t.Errorf("%d saves in the second after the reads ended, want at most 1 (FlushInterval)", n)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
