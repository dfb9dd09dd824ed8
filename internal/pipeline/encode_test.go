package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/internal/offsets"
)

// workerEncoder is fakeEncoder with a header, a nil key on every other record, an optional
// random delay per event (so batches finish out of order) and a count of the events it encoded.
type workerEncoder struct {
	fakeEncoder
	delay bool
	rnd   *rand.Rand
	n     *atomic.Int64
	gate  chan struct{} // if set, an event with Source.Query "gate" waits for it
}

func (e *workerEncoder) Encode(dst []envelope.Record, ev *capture.Event) ([]envelope.Record, error) {
	if e.n != nil {
		e.n.Add(1)
	}
	if e.gate != nil && ev.Source.Query == "gate" {
		<-e.gate
	}
	if e.delay && e.rnd.IntN(8) == 0 {
		time.Sleep(time.Duration(e.rnd.IntN(200)) * time.Microsecond)
	}
	if ev.Source.Query == "poison" {
		return dst, fmt.Errorf("encode r event of public.t: %w", &envelope.ValueError{Table: "public.t", Column: "flag",
			Type: "bit varying(1)", Kind: "bool", Schema: "bytes io.debezium.data.Bits", Err: errors.New("a bool value does not fit")})
	}
	n := len(dst)
	dst, err := e.fakeEncoder.Encode(dst, ev)
	for i := n; i < len(dst); i++ {
		dst[i].Headers = []envelope.Header{{Key: "k", Value: dst[i].Value}}
		if (i-n)%2 == 1 { // by the event's own records: dst may hold a batch's before them
			dst[i].Key = dst[i].Value
		}
	}
	return dst, err
}

// appendWorkerEncoder is workerEncoder as an appendEncoder and clockHolder, shaped like
// envelope.Encoder's EncodeAppend (and failing any event encoded without a held clock): the records' bytes go into the caller's buffer (which grows under the records
// of earlier calls) and their Headers slices alias one slice the encoder reuses on every call.
type appendWorkerEncoder struct {
	workerEncoder
	hdrs []envelope.Header
	held bool // HoldClock: a batch is encoded under one held clock
}

func (e *appendWorkerEncoder) HoldClock(hold bool) { e.held = hold }

func (e *appendWorkerEncoder) EncodeAppend(buf []byte, dst []envelope.Record, ev *capture.Event) ([]byte, []envelope.Record, error) {
	if !e.held && ev.Kind == capture.Change && ev.Op == capture.OpRead { // a worker batch's read
		return buf, dst, errors.New("EncodeAppend without HoldClock(true)")
	}
	n := len(dst)
	dst, err := e.workerEncoder.Encode(dst, ev)
	if err != nil {
		return buf, dst[:n], err
	}
	put := func(b []byte) []byte {
		if b == nil {
			return nil
		}
		lo := len(buf)
		buf = append(buf, b...)
		return buf[lo:len(buf):len(buf)]
	}
	e.hdrs = e.hdrs[:0]
	for i := n; i < len(dst); i++ {
		r := &dst[i]
		r.Key, r.Value = put(r.Key), put(r.Value)
		k := len(e.hdrs)
		for _, h := range r.Headers {
			e.hdrs = append(e.hdrs, envelope.Header{Key: h.Key, Value: put(h.Value)})
		}
		r.Headers = e.hdrs[k:len(e.hdrs):len(e.hdrs)]
	}
	return buf, dst, nil
}

// newWorkerEncoder returns a workerEncoder, or an appendWorkerEncoder around it.
func newWorkerEncoder(appendTo bool, w workerEncoder) Encoder {
	if appendTo {
		return &appendWorkerEncoder{workerEncoder: w}
	}
	return &w
}

// recSink records every record with its key and headers, and reports durability in reverse
// order in groups, like fakeSink.
type recSink struct {
	fakeSink
}

func (s *recSink) Send(ctx context.Context, rec *envelope.Record, token uint64) error {
	var h string
	for _, x := range rec.Headers {
		h += x.Key + "=" + string(x.Value)
	}
	r := *rec
	r.Value = fmt.Appendf(nil, "%s|key=%q|%s", rec.Value, rec.Key, h)
	if rec.Key == nil {
		r.Value = fmt.Appendf(nil, "%s|nokey|%s", rec.Value, h)
	}
	return s.fakeSink.Send(ctx, &r, token)
}

// mixedEvents is a stream like a snapshot met by the log: runs of reads of many lengths (below,
// at and above the batch sizes) between stream changes, transactions, a schema change,
// keepalives and SnapshotDone. Positions are 1..n.
func mixedEvents() []capture.Event {
	var evs []capture.Event
	add := func(ev capture.Event) {
		n := len(evs) + 1
		ev.Position = numPos(n)
		ev.Source.Row = int32(n)
		if ev.Kind == capture.Change {
			ev.Source.Pos = uint64(n % 4)
		}
		evs = append(evs, ev)
	}
	reads := func(k int) {
		for range k {
			add(capture.Event{Kind: capture.Change, Op: capture.OpRead})
		}
	}
	reads(1)
	add(capture.Event{Kind: capture.Keepalive})
	for _, k := range []int{encodeMinBatch - 1, encodeMinBatch, encodeBatch - 1, encodeBatch, encodeBatch + 1, 5 * encodeBatch, 3} {
		reads(k)
		add(capture.Event{Kind: capture.Begin, TxID: "tx"})
		add(capture.Event{Kind: capture.Change, Op: capture.OpUpdate})
		add(capture.Event{Kind: capture.Commit})
	}
	reads(40 * encodeBatch)
	add(capture.Event{Kind: capture.SchemaChange})
	reads(2*encodeBatch + 7)
	add(capture.Event{Kind: capture.SnapshotDone})
	add(capture.Event{Kind: capture.Change, Op: capture.OpCreate})
	reads(encodeBatch + 5) // ends at EOF: the last batch must be sent before Run returns
	return evs
}

// runEncode runs evs through the pipeline with workers encode workers and returns the records
// the sink got, the acknowledged positions, the stored offset and Run's error.
func runEncode(t *testing.T, evs []capture.Event, workers int, mode FailureMode, newEnc func() Encoder) (*recSink, *fakeSource, string, error) {
	t.Helper()
	src := &fakeSource{events: evs}
	sink := &recSink{}
	store := new(offsets.Memory)
	err := Run(context.Background(), Config{
		Source: src, Encoder: newEnc(), EncodeWorkers: workers, FailureMode: mode, Offsets: store,
		NewEncoder: func() (Encoder, error) { return newEnc(), nil },
		NewSink:    func(d Durable) (Sink, error) { sink.durable = d; return sink, nil },
	})
	v, _ := store.Load(context.Background())
	return sink, src, string(v), err
}

// TestParallelEncodeOrder: with 4 workers whose batches finish out of order, the sink gets the
// very records (keys, nil keys, headers) in the very order one goroutine sends them, and
// positions are acknowledged in order up to the last event.
func TestParallelEncodeOrder(t *testing.T) {
	for _, appendTo := range []bool{false, true} {
		t.Run(map[bool]string{false: "copy", true: "append"}[appendTo], func(t *testing.T) { testParallelEncodeOrder(t, appendTo) })
	}
}

func testParallelEncodeOrder(t *testing.T, appendTo bool) {
	evs := mixedEvents()
	want, wantSrc, wantOff, err := runEncode(t, evs, 1, FailureFail, func() Encoder { return &workerEncoder{} })
	if err != nil {
		t.Fatalf("one worker: %v", err)
	}
	var seed atomic.Uint64
	var workerEvents atomic.Int64
	made := 0
	got, gotSrc, gotOff, err := runEncode(t, evs, 4, FailureFail, func() Encoder {
		made++
		if made == 1 { // the pipeline's own encoder
			return &workerEncoder{}
		}
		return newWorkerEncoder(appendTo, workerEncoder{delay: true, rnd: rand.New(rand.NewPCG(seed.Add(1), 7)), n: &workerEvents})
	})
	if err != nil {
		t.Fatalf("four workers: %v", err)
	}
	if made != 5 || workerEvents.Load() < int64(40*encodeBatch) {
		t.Fatalf("%d encoders made, workers encoded %d events: the parallel path did not run", made, workerEvents.Load())
	}
	if !slices.Equal(got.recs, want.recs) {
		for i := range min(len(got.recs), len(want.recs)) {
			if got.recs[i] != want.recs[i] {
				t.Fatalf("record %d: got %q, want %q (of %d, want %d)", i, got.recs[i], want.recs[i], len(got.recs), len(want.recs))
			}
		}
		t.Fatalf("got %d records, want %d", len(got.recs), len(want.recs))
	}
	if !slices.IsSorted(gotSrc.acked) || gotSrc.lastAck() != len(evs) || gotOff != wantOff || wantSrc.lastAck() != len(evs) {
		t.Fatalf("acks %v (last %d), offset %s; want sorted up to %d, offset %s", gotSrc.acked, gotSrc.lastAck(), gotOff, len(evs), wantOff)
	}
}

// TestParallelEncodeFailureModes: a read that cannot be encoded, in the middle of a batch a
// worker encodes, stops the pipeline in fail mode with nothing from it on released, and is
// skipped in warn/skip mode with every later position released, exactly as with one goroutine.
func TestParallelEncodeFailureModes(t *testing.T) {
	evs := mixedEvents()
	poison := 3*encodeBatch + 100 // inside a long run of reads
	for evs[poison-1].Op != capture.OpRead || evs[poison-1].Kind != capture.Change {
		poison++
	}
	evs[poison-1].Source.Query = "poison"
	for _, c := range []struct {
		mode     FailureMode
		appendTo bool
	}{{FailureFail, false}, {FailureWarn, false}, {FailureSkip, false}, {FailureFail, true}, {FailureWarn, true}} {
		mode := c.mode
		t.Run(fmt.Sprintf("%s/append=%v", mode, c.appendTo), func(t *testing.T) {
			want, wantSrc, wantOff, wantErr := runEncode(t, evs, 1, mode, func() Encoder { return &workerEncoder{} })
			got, gotSrc, gotOff, gotErr := runEncode(t, evs, 4, mode, func() Encoder { return newWorkerEncoder(c.appendTo, workerEncoder{}) })
			if (wantErr == nil) != (mode != FailureFail) || (gotErr == nil) != (wantErr == nil) {
				t.Fatalf("errors: one worker %v, four %v", wantErr, gotErr)
			}
			if gotErr != nil && (gotErr.Error() != wantErr.Error() || !strings.Contains(gotErr.Error(), fmt.Sprintf(`event at {"n":%d}`, poison))) {
				t.Fatalf("error %q, want %q", gotErr, wantErr)
			}
			last := len(evs)
			if mode == FailureFail {
				last = poison - 1
			}
			if gotSrc.lastAck() != last || gotOff != wantOff || wantSrc.lastAck() != last || !slices.IsSorted(gotSrc.acked) {
				t.Fatalf("last ack %d (one worker %d), offset %s (one worker %s); want %d", gotSrc.lastAck(), wantSrc.lastAck(), gotOff, wantOff, last)
			}
			if mode != FailureFail && !slices.Equal(got.recs, want.recs) {
				t.Fatalf("records differ from one worker's: %d vs %d", len(got.recs), len(want.recs))
			}
			if mode == FailureFail {
				prefix := fmt.Sprintf("t:%d.", poison)
				for _, r := range got.recs {
					var n int
					if _, err := fmt.Sscanf(r, "t:%d.", &n); err == nil && n >= poison {
						t.Fatalf("record %q of an event at or after the poison %s was sent", r, prefix)
					}
				}
			}
		})
	}
}

// TestParallelEncodeSlowWorker: while the worker holding the oldest batch is stuck, later
// batches finish but nothing of theirs is sent or released; once it goes on, everything is sent
// and released in order.
func TestParallelEncodeSlowWorker(t *testing.T) {
	var evs []capture.Event
	for i := range 6 * encodeBatch {
		evs = append(evs, capture.Event{Kind: capture.Change, Op: capture.OpRead, Position: numPos(i + 1),
			Source: capture.Source{Row: int32(i + 1), Pos: 1}})
	}
	evs[10].Source.Query = "gate" // in the first batch
	gate := make(chan struct{})
	var encoded atomic.Int64
	src := &fakeSource{events: evs, block: true}
	sink := &recSink{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	var runErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		runErr = Run(ctx, Config{
			Source: src, Encoder: &workerEncoder{}, EncodeWorkers: 3, FlushInterval: time.Millisecond,
			NewEncoder: func() (Encoder, error) { return &workerEncoder{gate: gate, n: &encoded}, nil },
			NewSink:    func(d Durable) (Sink, error) { sink.durable = d; return sink, nil },
		})
	}()
	// The other workers encode batches 2 and 3 (and more as they free up) meanwhile.
	deadline := time.Now().Add(10 * time.Second)
	for encoded.Load() < 2*encodeBatch+11 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
	sink.mu.Lock()
	n := len(sink.recs)
	sink.mu.Unlock()
	if n != 0 || src.lastAck() != 0 {
		t.Fatalf("with the first batch stuck: %d records sent, acks %v; want none", n, src.acked)
	}
	once.Do(func() { close(gate) })
	for src.lastAck() != len(evs) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if runErr != nil {
		t.Fatalf("Run: %v", runErr)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if !slices.IsSorted(src.acked) || src.acked[len(src.acked)-1] != len(evs) {
		t.Fatalf("acks %v: want in order up to %d", src.acked, len(evs))
	}
	for i, r := range sink.recs {
		if !strings.HasPrefix(r, fmt.Sprintf("t:%d.0|", i+1)) {
			t.Fatalf("record %d is %q: out of order", i, r)
		}
	}
}

func TestEncodeWorkersValidate(t *testing.T) {
	if err := (&Config{EncodeWorkers: -2}).Validate(); err == nil || !strings.Contains(err.Error(), "encode workers") {
		t.Fatalf("Validate of EncodeWorkers -2: %v", err)
	}
	if encodeWorkers(0) != 1 || encodeWorkers(3) != 3 || encodeWorkers(EncodeWorkersAuto) < 1 {
		t.Fatal("encodeWorkers")
	}
}

// releaserSource is fakeSource with ReadsDone: it checks each report against the records the
// sink has already got.
type releaserSource struct {
	fakeSource
	sink    *recSink
	want    []int // want[r]: records of events 1..r
	reports []int
	bad     []string
}

func (s *releaserSource) ReadsDone(last *capture.Event) {
	r := int(last.Source.Row)
	s.sink.mu.Lock()
	sent := len(s.sink.recs)
	s.sink.mu.Unlock()
	switch {
	case last.Kind != capture.Change || last.Op != capture.OpRead:
		s.bad = append(s.bad, fmt.Sprintf("event %d reported, not a read", r))
	case len(s.reports) > 0 && r <= s.reports[len(s.reports)-1]:
		s.bad = append(s.bad, fmt.Sprintf("event %d reported after %d", r, s.reports[len(s.reports)-1]))
	case sent < s.want[r]:
		s.bad = append(s.bad, fmt.Sprintf("event %d reported with %d records sent, want ≥ %d", r, sent, s.want[r]))
	}
	s.reports = append(s.reports, r)
}

// TestReadsDone: a ReadReleaser source hears of its reads in source order, each only after its
// records reached the sink, and of the last read before Run returns, with one encoding
// goroutine and with several.
func TestReadsDone(t *testing.T) {
	evs := mixedEvents()
	want := make([]int, len(evs)+1)
	lastRead := 0
	for i, ev := range evs {
		want[i+1] = want[i] + int(ev.Source.Pos)
		if ev.Kind == capture.Change && ev.Op == capture.OpRead {
			lastRead = i + 1
		}
	}
	for _, workers := range []int{1, 4} {
		sink := &recSink{}
		src := &releaserSource{fakeSource: fakeSource{events: evs}, sink: sink, want: want}
		err := Run(context.Background(), Config{
			Source: src, Encoder: &workerEncoder{}, EncodeWorkers: workers,
			NewEncoder: func() (Encoder, error) { return &workerEncoder{}, nil },
			NewSink:    func(d Durable) (Sink, error) { sink.durable = d; return sink, nil },
		})
		if err != nil {
			t.Fatalf("%d workers: %v", workers, err)
		}
		if len(src.bad) > 0 {
			t.Fatalf("%d workers: %s", workers, strings.Join(src.bad, "; "))
		}
		if n := len(src.reports); n == 0 || src.reports[n-1] != lastRead {
			t.Fatalf("%d workers: last report %v, want event %d (the last read)", workers, src.reports[max(n-1, 0):], lastRead)
		}
	}
}

// streamEvents is a log met by a short snapshot: transactions of many sizes (below, at and
// above streamWake) with runs of reads, keepalives and a schema change between them.
// Positions are 1..n.
func streamEvents() []capture.Event {
	var evs []capture.Event
	add := func(ev capture.Event) {
		n := len(evs) + 1
		ev.Position = numPos(n)
		ev.Source.Row = int32(n)
		if ev.Kind == capture.Change {
			ev.Source.Pos = uint64(n % 4)
		}
		evs = append(evs, ev)
	}
	for i, k := range []int{1, 3, streamWake - 1, streamWake, streamWake + 1, 2, 5 * streamWake, 1, 7} {
		add(capture.Event{Kind: capture.Begin, TxID: "tx"})
		for range k {
			add(capture.Event{Kind: capture.Change, Op: capture.OpUpdate})
		}
		add(capture.Event{Kind: capture.Commit})
		add(capture.Event{Kind: capture.Keepalive})
		if i == 4 {
			add(capture.Event{Kind: capture.SchemaChange})
		}
		for range []int{0, encodeMinBatch - 1, 1, encodeBatch + 3}[i%4] {
			add(capture.Event{Kind: capture.Change, Op: capture.OpRead})
		}
	}
	return evs
}

// readySource is fakeSource with Ready: it says the next event is ready for runs of
// pseudo-random length, as a MySQL rows event's rows are.
type readySource struct {
	fakeSource
	rnd *rand.Rand
}

func (s *readySource) Ready() bool { return s.i < len(s.events) && s.rnd.IntN(8) != 0 }

// slowSink is recSink with a pause every few records, so that events gather in the stream
// sender's open batch while it sends.
type slowSink struct {
	recSink
	n int
}

func (s *slowSink) Send(ctx context.Context, rec *envelope.Record, token uint64) error {
	if s.n++; s.n%97 == 0 {
		time.Sleep(time.Millisecond)
	}
	return s.recSink.Send(ctx, rec, token)
}

// runSend is runEncode with the stream sender on or off (serial) and a slowSink.
func runSend(t *testing.T, evs []capture.Event, workers int, mode FailureMode, serial bool, newEnc func() Encoder) (*slowSink, *readySource, string, error) {
	t.Helper()
	src := &readySource{fakeSource: fakeSource{events: evs}, rnd: rand.New(rand.NewPCG(1, 2))}
	sink := &slowSink{}
	store := new(offsets.Memory)
	err := Run(context.Background(), Config{
		Source: src, Encoder: newEnc(), EncodeWorkers: workers, FailureMode: mode, Offsets: store, serialSend: serial,
		NewEncoder: func() (Encoder, error) { return newEnc(), nil },
		NewSink:    func(d Durable) (Sink, error) { sink.durable = d; return sink, nil },
	})
	v, _ := store.Load(context.Background())
	return sink, src, string(v), err
}

// TestStreamSender: with the stream sender (encode.go) the sink gets the very records (keys,
// headers) in the very order the stream goroutine sent them itself, positions are acknowledged
// in order up to the same last one, and an event that cannot be encoded stops the run (fail)
// or is skipped (warn) at the same place: with one encoding goroutine and with workers for the
// reads, with an Encoder that appends to the batch and one whose records are copied in.
func TestStreamSender(t *testing.T) {
	base := streamEvents()
	poisoned := slices.Clone(base)
	poison := len(poisoned) / 2
	for poisoned[poison-1].Kind != capture.Change || poisoned[poison-1].Op == capture.OpRead {
		poison++
	}
	poisoned[poison-1].Source.Query = "poison"
	for _, workers := range []int{1, 4} {
		for _, appendTo := range []bool{false, true} {
			for _, c := range []struct {
				mode FailureMode
				evs  []capture.Event
				last int
			}{{FailureFail, base, len(base)}, {FailureFail, poisoned, poison - 1}, {FailureWarn, poisoned, len(base)}} {
				name := fmt.Sprintf("workers=%d/append=%v/%s/poison=%v", workers, appendTo, c.mode, len(c.evs) != 0 && &c.evs[0] == &poisoned[0])
				t.Run(name, func(t *testing.T) {
					enc := func() Encoder { return newWorkerEncoder(appendTo, workerEncoder{}) }
					want, wantSrc, wantOff, wantErr := runSend(t, c.evs, workers, c.mode, true, enc)
					got, gotSrc, gotOff, gotErr := runSend(t, c.evs, workers, c.mode, false, enc)
					if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
						t.Fatalf("error %v, want %v", gotErr, wantErr)
					}
					if !slices.Equal(got.recs, want.recs) {
						for i := range min(len(got.recs), len(want.recs)) {
							if got.recs[i] != want.recs[i] {
								t.Fatalf("record %d: got %q, want %q (of %d, want %d)", i, got.recs[i], want.recs[i], len(got.recs), len(want.recs))
							}
						}
						t.Fatalf("got %d records, want %d", len(got.recs), len(want.recs))
					}
					if !slices.IsSorted(gotSrc.acked) || gotSrc.lastAck() != c.last || wantSrc.lastAck() != c.last || gotOff != wantOff {
						t.Fatalf("last ack %d (serial %d), offset %s (serial %s); want sorted up to %d", gotSrc.lastAck(), wantSrc.lastAck(), gotOff, wantOff, c.last)
					}
				})
			}
		}
	}
}

// rendezvousSink blocks in its first Send until the source has been asked for the events after
// the record's: only a sink sent to beside the stream goroutine gets past it.
type rendezvousSink struct {
	fakeSink
	asked chan struct{} // closed by the source at its third Next
	first bool
}

func (s *rendezvousSink) Send(ctx context.Context, rec *envelope.Record, token uint64) error {
	if !s.first {
		s.first = true
		select {
		case <-s.asked:
		case <-time.After(300 * time.Millisecond):
			return errors.New("the source was not read while a record was being sent")
		}
	}
	return s.fakeSink.Send(ctx, rec, token)
}

// askedSource closes asked at its third Next; its events are never ready ahead.
type askedSource struct {
	fakeSource
	calls int
	asked chan struct{}
}

func (s *askedSource) Ready() bool { return false }

func (s *askedSource) Next(ctx context.Context) (capture.Event, error) {
	if s.calls++; s.calls == 3 {
		close(s.asked)
	}
	return s.fakeSource.Next(ctx)
}

// TestStreamSenderOverlap: the stream goroutine reads and encodes the next events while the
// sink is still busy with a record of an earlier one (the serial pipeline waited for every
// Send before its next Next, the MySQL → Kafka bound).
func TestStreamSenderOverlap(t *testing.T) {
	for _, serial := range []bool{false, true} {
		asked := make(chan struct{})
		src := &askedSource{fakeSource: fakeSource{events: events(9)}, asked: asked}
		sink := &rendezvousSink{asked: asked}
		err := Run(context.Background(), Config{
			Source: src, Encoder: &fakeEncoder{}, serialSend: serial,
			NewSink: func(d Durable) (Sink, error) { sink.durable = d; return sink, nil },
		})
		switch {
		case serial && err == nil:
			t.Fatal("serial sends: the first Send returned before the source was read again")
		case !serial && err != nil:
			t.Fatalf("stream sender: %v", err)
		case !serial && (src.lastAck() != 9 || len(sink.recs) != 13):
			t.Fatalf("stream sender: last ack %d, %d records; want 9, 13", src.lastAck(), len(sink.recs))
		}
	}
}

// blockingReadySource emits its events, then blocks; Ready is true while events are left. Its
// first Next waits a little, so that the sender is idle by then.
type blockingReadySource struct{ fakeSource }

func (s *blockingReadySource) Ready() bool { return s.i < len(s.events) }

func (s *blockingReadySource) Next(ctx context.Context) (capture.Event, error) {
	if s.i == 0 {
		time.Sleep(20 * time.Millisecond)
	}
	return s.fakeSource.Next(ctx)
}

// TestStreamSenderNoWait: the records of an event the source had no successor ready for go to
// the sink while the source waits for input, not when a batch fills or the next event comes.
func TestStreamSenderNoWait(t *testing.T) {
	for _, n := range []int{1, 3, streamWake + 5} {
		src := &blockingReadySource{fakeSource{events: events(n), block: true}}
		want := 0
		for _, ev := range src.events {
			want += int(ev.Source.Pos)
		}
		sink := &recSink{}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- Run(ctx, Config{Source: src, Encoder: &fakeEncoder{},
				NewSink: func(d Durable) (Sink, error) { sink.durable = d; return sink, nil }})
		}()
		deadline := time.Now().Add(5 * time.Second)
		for {
			sink.mu.Lock()
			got := len(sink.recs)
			sink.mu.Unlock()
			if got == want {
				break
			}
			if time.Now().After(deadline) {
				cancel()
				<-done
				t.Fatalf("%d events: %d of %d records sent while the source waits", n, got, want)
			}
			time.Sleep(time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// batchSizeEncoder records how many reads each worker batch held (HoldClock brackets a batch).
type batchSizeEncoder struct {
	appendWorkerEncoder
	mu   *sync.Mutex
	n    int
	most *int
}

func (e *batchSizeEncoder) HoldClock(hold bool) {
	e.appendWorkerEncoder.HoldClock(hold)
	if hold {
		e.n = 0
		return
	}
	e.mu.Lock()
	*e.most = max(*e.most, e.n)
	e.mu.Unlock()
}

func (e *batchSizeEncoder) EncodeAppend(buf []byte, dst []envelope.Record, ev *capture.Event) ([]byte, []envelope.Record, error) {
	e.n++
	return e.appendWorkerEncoder.EncodeAppend(buf, dst, ev)
}

// TestParallelEncodeWideRows: a worker batch of wide reads ends at encodeBatchBytes, not at
// encodeBatch events: the batches in flight hold their rows and records, and 256 rows of
// 4 MB blobs held GBs (a snapshot of one such table peaked at 6.6 GB RSS).
func TestParallelEncodeWideRows(t *testing.T) {
	wide := make([]byte, 256<<10)
	var evs []capture.Event
	for i := range 3 * encodeBatch {
		evs = append(evs, capture.Event{Kind: capture.Change, Op: capture.OpRead, Position: numPos(i + 1),
			Source: capture.Source{Row: int32(i + 1), Pos: 1}, After: capture.Row{{Kind: capture.Bytes, Bytes: wide}}})
	}
	var mu sync.Mutex
	most := 0
	sink, src, _, err := runEncode(t, evs, 2, FailureFail, func() Encoder {
		return &batchSizeEncoder{mu: &mu, most: &most}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(sink.recs) != len(evs) || src.lastAck() != len(evs) {
		t.Fatalf("%d records, last ack %d; want %d", len(sink.recs), src.lastAck(), len(evs))
	}
	if want := encodeBatchBytes / len(wide); most == 0 || most > want {
		t.Fatalf("a worker batch held %d reads of %d KiB, want 1–%d", most, len(wide)>>10, want)
	}
}
