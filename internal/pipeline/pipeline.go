package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/internal/offsets"
	"github.com/sluicecdc/sluice/schema"
)

// Encoder turns events into records. *envelope.Encoder implements it. The returned records alias
// the encoder's buffer until its next call; the pipeline calls it from one goroutine.
type Encoder interface {
	Encode(dst []envelope.Record, ev *capture.Event) ([]envelope.Record, error)
	Heartbeat(dst []envelope.Record, now time.Time) []envelope.Record
}

// Config wires one pipeline: NewSink and either Source and Encoder, or Records.
type Config struct {
	Source  Source
	Encoder Encoder
	// EncodeWorkers is how many goroutines encode snapshot reads (encode.go): 0 or 1 encodes
	// every event on the stream goroutine; EncodeWorkersAuto uses GOMAXPROCS. More than one
	// needs NewEncoder. Records, positions and failures keep the source's order either way.
	EncodeWorkers int
	// NewEncoder builds one more Encoder like Encoder, for each encode worker: an Encoder is not
	// safe for concurrent use, so every worker has its own. nil keeps one goroutine.
	NewEncoder func() (Encoder, error)
	// Records, instead of Source and Encoder, is a source of encoded records; the pipeline
	// sends them as they are. It calls Records.Mark, when implemented, with every released
	// position.
	Records RecordSource
	// NewSink builds the sink with the Durable func the pipeline's acker listens on. Run closes
	// the sink it returns.
	NewSink func(d Durable) (Sink, error)
	// Offsets receives released positions (the source's offset JSON); nil keeps none. Run does
	// not close it.
	Offsets offsets.Store
	// FlushInterval is how often released positions are saved to Offsets and then acknowledged
	// to the Source (saved first, as Debezium confirms a PostgreSQL slot only after the offsets
	// are committed). Defaults to 1s.
	FlushInterval time.Duration
	// SnapshotFlushInterval is how often they are saved and acknowledged while snapshot reads
	// flow (events of op r, any snapshot): a restart re-reads every row published after the
	// last save, so at a snapshot's hundreds of thousands of rows a second FlushInterval would
	// cost a second of rows per crash. Never longer than FlushInterval; defaults to 50ms.
	SnapshotFlushInterval time.Duration
	// HeartbeatInterval emits Encoder.Heartbeat records this often; 0 disables heartbeats.
	HeartbeatInterval time.Duration
	// SkippedOps lists the Debezium op codes not to publish (skipped.operations): letters of
	// "cudrtm", or "none". Defaults to "t". Skipped events still move the position.
	SkippedOps string
	// FailureMode is event.processing.failure.handling.mode: whether an event that cannot be
	// processed (an envelope.ValueError from the encoder, or a sink error whose Skippable()
	// is true) stops the pipeline (FailureFail, the default) or is logged, counted in
	// Stats.ErroneousEvents and skipped with its position still released in order.
	FailureMode FailureMode
	// ShutdownTimeout bounds the final flush of the sink and the final offsets save after the
	// context ends or a stage fails. Defaults to 30s.
	ShutdownTimeout time.Duration
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Now defaults to time.Now; used for heartbeats.
	Now func() time.Time
	// Stats, if set, is updated as the pipeline runs (for metrics).
	Stats *Stats
	// StallTimeout: when work is pending (records not durable, events not released) and nothing
	// moved for this long, the watchdog logs what is stuck and Stats.Stall reports it. Defaults
	// to 1m. See watchdog.go.
	StallTimeout time.Duration
	// StallFailTimeout, if > 0 (at least StallTimeout), fails Run with a retryable *StallError
	// after a stall this long, for a caller that reopens the pipeline (the capture commands'
	// --stall-fail-timeout, 5m by default). 0 never fails: the stall is only reported.
	StallFailTimeout time.Duration

	// serialSend sends on the stream goroutine, as without the stream sender (encode.go),
	// also for a source that implements ReadyReporter: for the tests and benchmarks that
	// compare the two.
	serialSend bool
}

// Stats are counters a metrics endpoint can read while Run runs.
type Stats struct {
	Events   atomic.Uint64 // events read from the source
	Records  atomic.Uint64 // records sent to the sink
	Released atomic.Uint64 // events whose positions were released
	Saves    atomic.Uint64 // successful offsets saves
	// ErroneousEvents counts events and records skipped under FailureWarn or FailureSkip
	// (Debezium's NumberOfErroneousEvents).
	ErroneousEvents atomic.Uint64

	Creates, Updates, Deletes atomic.Uint64 // change events by op (snapshot reads count as creates)
	Commits                   atomic.Uint64 // transaction commits read from the source
	// Changes counts every change event (any op, snapshot reads included); Reads the snapshot
	// reads among them (Debezium counts those in its snapshot metrics, the rest in streaming).
	Changes, Reads atomic.Uint64
	watch          watchStats // sampled by the watchdog (watchdog.go)
}

// Validate reports every missing or bad field.
func (c *Config) Validate() error {
	var errs []error
	switch {
	case c.Source != nil && c.Records != nil:
		errs = append(errs, errors.New("pipeline: Source and Records are exclusive"))
	case c.Source == nil && c.Records == nil:
		errs = append(errs, errors.New("pipeline: Source (or Records) is required"))
	case c.Source != nil && c.Encoder == nil:
		errs = append(errs, errors.New("pipeline: Encoder is required"))
	}
	if c.HeartbeatInterval > 0 && c.Encoder == nil {
		errs = append(errs, errors.New("pipeline: heartbeats need an Encoder"))
	}
	if c.NewSink == nil {
		errs = append(errs, errors.New("pipeline: NewSink is required"))
	}
	if c.FlushInterval < 0 || c.SnapshotFlushInterval < 0 || c.HeartbeatInterval < 0 || c.ShutdownTimeout < 0 || c.StallTimeout < 0 || c.StallFailTimeout < 0 {
		errs = append(errs, errors.New("pipeline: intervals must not be negative"))
	}
	if c.EncodeWorkers < EncodeWorkersAuto {
		errs = append(errs, fmt.Errorf("pipeline: encode workers %d: want ≥ 0, or auto", c.EncodeWorkers))
	}
	if c.FailureMode > FailureSkip {
		errs = append(errs, fmt.Errorf("pipeline: failure mode %d is unknown", c.FailureMode))
	}
	if st, sf := cmp.Or(c.StallTimeout, defaultStallTimeout), c.StallFailTimeout; sf > 0 && sf < st {
		errs = append(errs, fmt.Errorf("pipeline: the stall fail timeout (%s) must not be shorter than the stall timeout (%s)", sf, st))
	}
	if _, err := capture.ParseSkippedOps(c.SkippedOps); err != nil {
		errs = append(errs, fmt.Errorf("pipeline: %w", err))
	}
	return errors.Join(errs...)
}

// Run reads events from the Source, encodes them, sends the records to the sink and releases
// positions in source order as the sink reports records durable. It returns when ctx ends (nil),
// when the source ends with io.EOF (nil, after everything sent is durable) or when a stage fails
// (that error). In every case it first flushes the sink, saves the last released position and
// acknowledges it to the source (bounded by ShutdownTimeout), then closes the sink. It does not
// close the Source or Offsets.
//
// Goroutines: the stream goroutine calls Source.Next, encodes the event and sends its records
// before calling Next again (so events may alias the source's buffers); a heartbeat goroutine
// (when HeartbeatInterval > 0) emits heartbeat records, taking turns with the stream on the
// encoder; the acker loop saves and acknowledges released positions every FlushInterval. Sink
// result goroutines call the acker's durable func.
//
// With Records instead of Source the stream goroutine sends each record as the source returned
// it (no encoder, no heartbeats) and queues the record's position behind it; the one acker
// releases those positions in the order the source returned them, exactly as events'.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	p := &run{cfg: cfg, ack: newAcker()}
	if cfg.Stats != nil {
		p.ack.delivered = cfg.Stats.watch.delivery.add
	}
	skipped, _ := capture.ParseSkippedOps(cfg.SkippedOps) // checked by Validate
	p.skipped = &skipped
	if cfg.Records != nil {
		p.ackSrc = cfg.Records.Ack
		p.marker, _ = cfg.Records.(Marker)
	} else {
		p.ackSrc = cfg.Source.Ack
	}
	p.ack.coalesce = p.marker == nil // a Marker needs every position (releaseAll)
	if p.cfg.FlushInterval == 0 {
		p.cfg.FlushInterval = defaultFlushInterval
	}
	p.cfg.SnapshotFlushInterval = min(cmp.Or(p.cfg.SnapshotFlushInterval, defaultSnapshotFlushInterval), p.cfg.FlushInterval)
	if p.cfg.ShutdownTimeout == 0 {
		p.cfg.ShutdownTimeout = 30 * time.Second
	}
	if p.cfg.Logger == nil {
		p.cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if p.cfg.Now == nil {
		p.cfg.Now = time.Now
	}
	if p.cfg.Stats == nil {
		p.cfg.Stats = new(Stats)
		p.ack.delivered = p.cfg.Stats.watch.delivery.add
	}
	p.cfg.StallTimeout = cmp.Or(p.cfg.StallTimeout, defaultStallTimeout)
	sink, err := cfg.NewSink(p.ack.durable)
	if err != nil {
		return fmt.Errorf("open sink: %w", err)
	}
	p.sink = sink
	p.boundary, _ = sink.(EventBoundary)

	if n := encodeWorkers(cfg.EncodeWorkers); n > 1 && cfg.Source != nil && cfg.NewEncoder != nil {
		encs := make([]Encoder, n)
		for i := range encs {
			if encs[i], err = cfg.NewEncoder(); err != nil {
				sink.Close()
				return fmt.Errorf("encode worker %d: %w", i, err)
			}
		}
		p.pool = p.newEncoderPool(encs)
		defer p.pool.stop()
	}
	if _, ready := cfg.Source.(ReadyReporter); ready && !cfg.serialSend {
		// Only for a source that says when its next event is ready: without it an idle
		// sender would be woken per event, a goroutine wake-up (µs of CPU) each.
		p.sq = newStreamQueue(cfg.Encoder, cfg.Source)
	}
	if r, ok := cfg.Source.(BufferReuser); ok {
		r.ReuseBuffers()
	}
	p.readRel, _ = cfg.Source.(ReadReleaser)
	g, gctx := errgroup.WithContext(ctx)
	eof := errors.New("source ended")
	if cfg.Records != nil {
		g.Go(func() error { return p.streamRecords(gctx, eof) })
	} else {
		g.Go(func() error { return p.stream(gctx, eof) })
	}
	if p.pool != nil {
		g.Go(func() error { return p.sendLoop(gctx) })
	}
	if p.sq != nil {
		g.Go(func() error { return p.streamSendLoop(gctx) })
	}
	if p.cfg.HeartbeatInterval > 0 {
		g.Go(func() error { return p.heartbeats(gctx) })
	}
	g.Go(func() error { return p.loop(gctx) })
	g.Go(func() error { return p.watch(gctx) })
	if f, ok := sink.(FailureNotifier); ok {
		g.Go(func() error {
			select {
			case <-gctx.Done():
				return nil
			case <-f.Failed():
				return sink.Flush(gctx) // the sticky error
			}
		})
	}
	runErr := g.Wait()
	if errors.Is(runErr, eof) || (ctx.Err() != nil && errors.Is(runErr, context.Canceled)) {
		runErr = nil
	}

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	if runErr != nil {
		errs = append(errs, runErr)
	}
	// A stalled sink did not move for StallFailTimeout: waiting ShutdownTimeout more is no use.
	if _, stalled := errors.AsType[*StallError](runErr); !stalled {
		if err := sink.Flush(sctx); err != nil && runErr == nil {
			errs = append(errs, fmt.Errorf("flush sink: %w", err))
		}
	}
	p.releaseNow()
	if err := p.commit(sctx); err != nil {
		errs = append(errs, err)
	}
	if err := sink.Close(); err != nil && runErr == nil {
		errs = append(errs, fmt.Errorf("close sink: %w", err))
	}
	err = errors.Join(errs...)
	st := p.cfg.Stats
	p.cfg.Logger.Info("pipeline stopped", "events", st.Events.Load(), "records", st.Records.Load(),
		"acknowledged_events", st.Released.Load(), "position", describe(p.latest), "err", err)
	return err
}

type run struct {
	cfg      Config
	ack      *acker
	sink     Sink
	boundary EventBoundary                                 // sink, when it commits at event boundaries
	ackSrc   func(context.Context, capture.Position) error // Ack of Source or Records
	marker   Marker                                        // Records, if it marks each position
	skipped  *capture.OpSet
	encMu    sync.Mutex // the encoder's buffer and the order of tokens and sends
	ev       capture.Event
	recs     []envelope.Record // encodeSend's records
	pool     *encoderPool      // the workers when encoding in parallel, else nil
	sq       *streamQueue      // the stream sender's queue (encode.go), nil when sends are serial
	readRel  ReadReleaser      // Source, when it reuses encoded reads' memory
	rec      envelope.Record   // streamRecords' record (a local's address would escape per record)

	// reads is set by the stream goroutine when it reads a snapshot read (op r) and cleared
	// by the acker loop, which then saves at SnapshotFlushInterval instead of FlushInterval.
	reads atomic.Bool

	lastTable *schema.Table             // the table of the last event noteOmitted saw
	omitSeen  map[schema.TableID]uint64 // the table versions noteOmitted checked

	// owned by the acker loop (and Run after it ends)
	latest   capture.Position // last released position
	dirty    bool             // latest not yet saved and acknowledged
	scratch  []byte
	released []capture.Position // releaseNow's buffer when marking
	relTs    int64              // source time (µs) of the last released change seen by releaseNow
}

// stream reads, encodes and sends events on one goroutine: the event (which may alias the
// source's buffers until the next Next) is fully encoded before Next is called again, and no
// per-event channel handoff is paid. encMu serialises the encoder and the sends with the
// heartbeat goroutine.
func (p *run) stream(ctx context.Context, eof error) error {
	for {
		var err error
		ev := &p.ev // reused: passing a local's address to the encoder would allocate per event
		slot := p.readSlot()
		if slot != nil {
			ev = slot
		}
		*ev, err = p.cfg.Source.Next(ctx)
		if slot != nil && (err != nil || ev.Kind != capture.Change || ev.Op != capture.OpRead) {
			p.ev, *slot = *slot, capture.Event{} // not a read after all: it takes the usual path
			ev, slot = &p.ev, nil
		}
		if err != nil {
			if sourceEnded(err) {
				if p.pool != nil {
					if err := p.drainReads(ctx); err != nil {
						return err
					}
				}
				if p.sq != nil {
					if err := p.flushQueue(ctx); err != nil {
						return err
					}
				}
				return eof
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read source: %w", err)
		}
		p.cfg.Stats.count(ev)
		if ev.Op == capture.OpRead && ev.Kind == capture.Change && !p.reads.Load() {
			p.reads.Store(true)
		}
		if ev.Table != nil && ev.Table != p.lastTable {
			p.noteOmitted(ev.Table)
		}
		if p.pool != nil {
			if ev.Kind == capture.Change && ev.Op == capture.OpRead {
				if err := p.addRead(ctx, ev, slot != nil); err != nil {
					return err
				}
				continue
			}
			if err := p.drainReads(ctx); err != nil {
				return err
			}
		}
		switch {
		case p.sq == nil:
			err = p.encodeSend(ctx, ev)
		case ev.Kind != capture.Change || ev.Op != capture.OpRead:
			err = p.queue(ctx, ev)
		default: // a read on this goroutine (encode.go): after the events queued before it
			if err = p.flushQueue(ctx); err == nil {
				err = p.encodeSend(ctx, ev)
			}
		}
		if err != nil {
			return err
		}
		if p.readRel != nil && ev.Kind == capture.Change && ev.Op == capture.OpRead {
			p.readRel.ReadsDone(ev)
		}
	}
}

// encodeSend encodes ev with the pipeline's Encoder, sends its records and queues its position.
// encMu serialises the encoder and the sends with the heartbeat goroutine (and the stream
// sender's queue lock, when there is one, the Encoder: lock order encMu, then sq.mu).
func (p *run) encodeSend(ctx context.Context, ev *capture.Event) error {
	p.encMu.Lock()
	if p.sq != nil {
		// With a stream sender, heartbeats use the Encoder under the queue's lock.
		p.sq.mu.Lock()
		defer p.sq.mu.Unlock()
	}
	recs := p.recs[:0]
	var err error
	if p.publishes(ev) {
		recs, err = p.cfg.Encoder.Encode(recs, ev)
		if err != nil {
			// A skipped event sends nothing; its position is still queued below, so it is
			// released in order and nothing after it waits for it.
			recs = recs[:0]
			err = p.onFailure(ctx, fmt.Errorf("encode event at %s: %w", describe(ev.Position), err), ev.Position)
		}
	}
	if err == nil {
		err = p.sendAll(ctx, recs, ev.Position)
	}
	if err == nil {
		err = p.eventDone(ctx, ev.Position)
	}
	p.recs = recs
	p.encMu.Unlock()
	if err != nil {
		return err
	}
	if ev.Position != nil {
		// A keepalive carries no change and a snapshot read's time is the snapshot's: neither
		// age is a lag behind the log.
		var ts int64
		if ev.Kind == capture.Change && ev.Op != capture.OpRead || ev.Kind == capture.Commit {
			ts = ev.Source.TsMicros
		}
		p.ack.eventAt(ev.Position, ts)
	}
	return nil
}

// eventDone tells a sink that commits at event boundaries (EventBoundary) that all records of
// the event at pos were sent.
func (p *run) eventDone(ctx context.Context, pos capture.Position) error {
	if p.boundary == nil || pos == nil || capture.Rereads(pos) {
		// A position that does not cover its event is no boundary: a transaction committed
		// there would hold records a restart from it sends again (the sink treats what
		// follows as the same event, until a position that covers it all).
		return nil
	}
	if err := p.boundary.EventDone(ctx, pos); err != nil {
		return fmt.Errorf("sink: %w", err)
	}
	return nil
}

// streamRecords is stream for a RecordSource: each record is sent as it is, with its own
// position queued behind it.
func (p *run) streamRecords(ctx context.Context, eof error) error {
	drainer, _ := p.sink.(InputDrainer)
	for {
		var (
			pos capture.Position
			err error
		)
		p.rec, pos, err = p.cfg.Records.Next(ctx)
		if err != nil {
			if sourceEnded(err) {
				return eof
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read source: %w", err)
		}
		if p.rec.Topic == "" {
			if drainer != nil {
				if err := drainer.InputDrained(ctx); err != nil {
					return fmt.Errorf("sink: %w", err)
				}
			}
			continue
		}
		p.cfg.Stats.Events.Add(1)
		p.cfg.Stats.Changes.Add(1) // a record of a change (Debezium's TotalNumberOfEventsSeen)
		if err := p.send(ctx, &p.rec, pos); err != nil {
			return err
		}
		if pos != nil {
			p.ack.event(pos)
		}
	}
}

// heartbeats emits heartbeat records every HeartbeatInterval.
func (p *run) heartbeats(ctx context.Context) error {
	t := time.NewTicker(p.cfg.HeartbeatInterval)
	defer t.Stop()
	var recs []envelope.Record
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if p.sq != nil {
			if err := p.queueHeartbeat(p.cfg.Now()); err != nil {
				return err
			}
			continue
		}
		p.encMu.Lock()
		recs = p.cfg.Encoder.Heartbeat(recs[:0], p.cfg.Now())
		var err error
		if he, ok := p.cfg.Encoder.(HeartbeatErrer); ok {
			if err = he.HeartbeatErr(); err != nil {
				err = fmt.Errorf("heartbeat record: %w", err)
			}
		}
		if err == nil {
			err = p.sendAll(ctx, recs, nil)
		}
		p.encMu.Unlock()
		if err != nil {
			return err
		}
	}
}

// noteOmitted warns, once per table version, about the columns whose type has no Debezium
// mapping: they are left out of every record (Debezium without include.unknown.datatypes does
// the same), so a copy downstream lacks them, which should not go unnoticed.
func (p *run) noteOmitted(t *schema.Table) {
	p.lastTable = t
	if v, ok := p.omitSeen[t.ID]; ok && v == t.Version {
		return
	}
	if p.omitSeen == nil {
		p.omitSeen = map[schema.TableID]uint64{}
	}
	p.omitSeen[t.ID] = t.Version
	var cols []string
	for i := range t.Columns {
		c := &t.Columns[i]
		if m := envelope.MapColumn(t.Dialect, c, envelope.Options{}); m.Omitted() {
			typ := c.Type
			if c.Array {
				typ += "[]"
			}
			cols = append(cols, c.Name+" ("+typ+")")
		}
	}
	if len(cols) > 0 {
		p.cfg.Logger.Warn("columns left out of the records: sluice, like Debezium, has no mapping for their types",
			"table", t.ID.String(), "columns", strings.Join(cols, ", "))
	}
}

// sourceEnded reports whether a Next error means the source ended normally: io.EOF, bare or
// wrapped (a snapshot-only run), but not a retryable failure whose cause is a connection's EOF
// (a database that shut down mid-read): that one must reopen the source, not end the run as done.
func sourceEnded(err error) bool {
	return errors.Is(err, io.EOF) && !capture.Retryable(err)
}

func (p *run) publishes(ev *capture.Event) bool {
	switch ev.Kind {
	case capture.Keepalive, capture.SnapshotDone:
		return false
	case capture.Change:
		if !p.skipped[ev.Op] {
			return true
		}
		if ev.Op == capture.OpTruncate {
			// Debezium's default skips truncates, which leaves every copy downstream (ClickHouse
			// tables, consumers' stores) with rows the source no longer has: say so each time.
			table := "(unknown table)"
			if ev.Table != nil {
				table = ev.Table.ID.String()
			}
			attrs := []any{"table", table, "skipped_operations", p.cfg.SkippedOps}
			if ev.Position != nil { // MySQL's truncate is positioned by the schema change after it
				attrs = append(attrs, "position", describe(ev.Position))
			}
			p.cfg.Logger.Warn("TRUNCATE not published: copies downstream keep the table's rows; "+
				"set --skipped-operations none (skipped.operations) to publish truncates", attrs...)
		}
		return false
	}
	return true
}

// sendAll sends the records of the event at pos (nil for heartbeats).
func (p *run) sendAll(ctx context.Context, recs []envelope.Record, pos capture.Position) error {
	for i := range recs {
		if err := p.send(ctx, &recs[i], pos); err != nil {
			return err
		}
	}
	return nil
}

// send sends one record of the event at pos with the next token. A record the sink refuses
// synchronously as skippable (under FailureWarn/FailureSkip) is skipped: its token is marked
// durable at once, as no sink will ever do it, so the positions after it are not held back.
func (p *run) send(ctx context.Context, rec *envelope.Record, pos capture.Position) error {
	tok := p.ack.token()
	err := p.sink.Send(ctx, rec, tok)
	if err == nil {
		p.cfg.Stats.Records.Add(1)
		return nil
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return err
	}
	if skippable(err) { // the operator needs the event's position to find the record
		err = fmt.Errorf("send record of the event at %s to %s: %w", describe(pos), rec.Topic, err)
	} else {
		err = fmt.Errorf("send to %s: %w", rec.Topic, err)
	}
	if err = p.onFailure(ctx, err, pos); err != nil {
		return err
	}
	p.ack.durable(tok)
	return nil
}

// releaseGap is the least time between two releases prompted by the acker: each wake-up of
// the loop costs a goroutine switch (and, on an idle core, a futex and an epoll round), which
// at one per sink flush was a visible share of the CPU per row. Releases only free the queue
// of pending positions early; positions are saved and acknowledged at FlushInterval anyway.
const releaseGap = 20 * time.Millisecond

// loop releases positions as they become durable and commits them every FlushInterval, and
// every SnapshotFlushInterval while snapshot reads flow: the first release after a read arms
// a timer that commits what is released by then (no timer runs while only the stream flows).
func (p *run) loop(ctx context.Context) error {
	t := time.NewTicker(p.cfg.FlushInterval)
	defer t.Stop()
	gap := min(releaseGap, p.cfg.FlushInterval)
	wake := p.ack.wake
	var rearm, snap <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-wake:
			p.releaseNow()
			wake, rearm = nil, time.After(gap)
			if snap == nil && p.cfg.SnapshotFlushInterval < p.cfg.FlushInterval && p.reads.Swap(false) {
				snap = time.After(p.cfg.SnapshotFlushInterval)
			}
		case <-rearm:
			wake, rearm = p.ack.wake, nil
		case <-snap:
			snap = nil
			p.releaseNow()
			if err := p.commit(ctx); err != nil {
				return err
			}
		case <-t.C:
			p.releaseNow()
			if err := p.commit(ctx); err != nil {
				return err
			}
		}
	}
}

func (p *run) releaseNow() {
	if p.marker != nil {
		p.released = p.ack.releaseAll(p.released[:0])
		if n := len(p.released); n > 0 {
			p.marker.Mark(p.released)
			p.latest, p.dirty = p.released[n-1], true
			p.cfg.Stats.Released.Add(uint64(n))
			clear(p.released) // do not keep the positions alive until the next release
		}
		return
	}
	if pos, n := p.ack.release(); n > 0 {
		p.latest, p.dirty = pos, true
		p.cfg.Stats.Released.Add(uint64(n))
		// The lag at delivery, for MilliSecondsBehindSource once nothing waits: one clock
		// read per release (at most one each releaseGap), none per event.
		if ts := p.ack.releasedTs(); ts > 0 && ts != p.relTs {
			p.relTs = ts
			p.cfg.Stats.watch.deliveredLag.Store(max(0, time.Now().UnixMilli()-ts/1000))
		}
	}
}

// commit saves the latest released position and then acknowledges it to the source.
func (p *run) commit(ctx context.Context) error {
	if !p.dirty {
		return nil
	}
	if p.cfg.Offsets != nil {
		p.scratch = p.latest.AppendOffset(p.scratch[:0])
		if err := p.cfg.Offsets.Save(ctx, p.scratch); err != nil {
			return fmt.Errorf("save offsets: %w", err)
		}
		p.cfg.Stats.Saves.Add(1)
	}
	if err := p.ackSrc(ctx, p.latest); err != nil {
		return fmt.Errorf("acknowledge position %s to source: %w", describe(p.latest), err)
	}
	p.dirty = false
	return nil
}

func describe(p capture.Position) string {
	if p == nil {
		return "(none)"
	}
	if s, ok := p.(fmt.Stringer); ok {
		return s.String()
	}
	return string(p.AppendOffset(nil))
}
