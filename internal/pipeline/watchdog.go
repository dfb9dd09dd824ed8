package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

const (
	// defaultStallTimeout is StallTimeout's default: long enough for a slow ClickHouse insert
	// or a Kafka leader election, short enough that an operator hears of a stall.
	defaultStallTimeout = time.Minute
	// defaultStallFailTimeout is --stall-fail-timeout's default: well past the Kafka producer's
	// own retries (about 2 minutes), so a broker error is reported as itself when there is one.
	defaultStallFailTimeout = 5 * time.Minute
)

// StallReporter is implemented by a sink that can say what it is waiting for (e.g. "812
// records (3.1 MB) not acknowledged by Kafka"). The watchdog adds it to its warning and to the
// Stall that /healthz shows. It is called from the watchdog goroutine and must not block.
type StallReporter interface {
	StallReport() string
}

// BufferReporter is implemented by a sink with a bounded buffer: the bytes it holds now and
// its bound (Debezium's CurrentQueueSizeInBytes and MaxQueueSizeInBytes). Called from the
// watchdog goroutine; must not block.
type BufferReporter interface {
	BufferedBytes() (used, limit int64)
}

// Stall describes a pipeline that has work pending (records sent and not durable, or events
// waiting for their records) and has not moved (no record became durable, no position was
// released) since Since.
type Stall struct {
	Since time.Time `json:"since"`
	// InFlight counts records sent to the sink and not yet durable.
	InFlight uint64 `json:"records_in_flight"`
	// OldestToken is the first record token not yet durable (0 when every record is durable
	// and only the release itself is stuck: the offsets store or the source's Ack).
	OldestToken uint64 `json:"oldest_pending_token,omitempty"`
	// Pending counts events whose positions wait to be released; Oldest is the first of them.
	Pending int    `json:"events_pending"`
	Oldest  string `json:"oldest_pending_position,omitempty"`
	// LastReleased is the last position released (saved and acknowledged at the next flush).
	LastReleased string `json:"last_released_position,omitempty"`
	// Sink is the sink's own account (StallReporter), if it gives one.
	Sink string `json:"sink,omitempty"`
}

// Describe says in one sentence what is stuck, as of now.
func (s *Stall) Describe(now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "no progress for %s: %d records sent and not durable", now.Sub(s.Since).Round(time.Second), s.InFlight)
	if s.OldestToken != 0 {
		fmt.Fprintf(&b, " (oldest token %d)", s.OldestToken)
	}
	fmt.Fprintf(&b, ", %d events waiting", s.Pending)
	if s.Oldest != "" {
		fmt.Fprintf(&b, " (oldest position %s)", s.Oldest)
	}
	if s.LastReleased != "" {
		fmt.Fprintf(&b, "; last released position %s", s.LastReleased)
	}
	if s.Sink != "" {
		fmt.Fprintf(&b, "; sink: %s", s.Sink)
	}
	return b.String()
}

// StallError ends Run when the pipeline made no progress for StallFailTimeout while work was
// pending: a lost producer callback or a dead connection that reports no error would otherwise
// hang for ever. It is retryable: the capture commands reopen the source and the sink from the
// last saved offset.
type StallError struct {
	Stall   Stall
	Timeout time.Duration // the StallFailTimeout that was exceeded
	At      time.Time
}

func (e *StallError) Error() string {
	return fmt.Sprintf("pipeline stalled for --stall-fail-timeout (%s), stopping it: %s", e.Timeout, e.Stall.Describe(e.At))
}

// Retryable reports true: reopening gets new connections, and the saved offset loses nothing.
func (e *StallError) Retryable() bool { return true }

// watchStats is what the watchdog publishes at each tick for /healthz and /metrics.
type watchStats struct {
	stall     atomic.Pointer[Stall]
	lastEvent atomic.Int64 // unix ms when the watchdog saw the event count move; 0: never
	behindMs  atomic.Int64 // source lag of the last change event when it was seen; -1: unknown
	lastTs    atomic.Int64 // source timestamp (µs) of the last change event, set by the stream
	inFlight  atomic.Uint64
	pending   atomic.Int64
	bufUsed   atomic.Int64
	bufLimit  atomic.Int64
	sinkBuf   atomic.Bool // the sink reports its buffer
	// lastTick is when the watchdog last ticked (unix ms; 0: no pipeline ran yet), for the
	// liveness check; lastMoved when it last saw progress or nothing to do, for readiness.
	lastTick, lastMoved atomic.Int64
	// active is true while a watchdog runs. When it stops (the pipeline ends) with changes not
	// delivered, undelivered keeps the oldest one's source time (µs) so that the lag goes on
	// growing until a new pipeline delivers them.
	active      atomic.Bool
	undelivered atomic.Int64
	// deliveredLag is the lag (ms) of the last change released, measured when it was
	// released; -1: none since the last tick (the watchdog takes it).
	deliveredLag atomic.Int64
	lag          samples // MilliSecondsBehindSource, one sample a tick while events move or wait
	delivery     samples // from a record's token to its durability, one probe a tick
}

// Watched is the state the watchdog saw at its last tick (at most a second old).
type Watched struct {
	// LastEvent is when an event from the source was last seen (zero: none yet), for
	// Debezium's MilliSecondsSinceLastEvent.
	LastEvent time.Time
	// BehindSource is the time between the last change event's source timestamp and its
	// processing (Debezium's MilliSecondsBehindSource); negative when unknown.
	BehindSource time.Duration
	InFlight     uint64 // records sent and not durable
	Pending      int    // events waiting to be released
	// BufferedBytes and MaxBufferedBytes are the sink's buffer when HasBuffer (BufferReporter).
	BufferedBytes, MaxBufferedBytes int64
	HasBuffer                       bool
	// LastTick is the watchdog's last tick (zero: no pipeline ran yet); LastMoved the last
	// tick at which the pipeline moved (a record became durable or a position was released)
	// or had nothing to do. Watching is true while a watchdog runs (a pipeline's Run before
	// its shutdown).
	LastTick, LastMoved time.Time
	Watching            bool
}

// Stall returns the current stall, or nil while the pipeline moves or has nothing to do.
func (s *Stats) Stall() *Stall { return s.watch.stall.Load() }

// Watched returns what the watchdog saw at its last tick.
func (s *Stats) Watched() Watched {
	w := &s.watch
	out := Watched{
		BehindSource: -time.Millisecond, InFlight: w.inFlight.Load(), Pending: int(w.pending.Load()),
		BufferedBytes: w.bufUsed.Load(), MaxBufferedBytes: w.bufLimit.Load(), HasBuffer: w.sinkBuf.Load(),
	}
	out.Watching = w.active.Load()
	if ms := w.lastTick.Load(); ms != 0 {
		out.LastTick = time.UnixMilli(ms)
	}
	if ms := w.lastMoved.Load(); ms != 0 {
		out.LastMoved = time.UnixMilli(ms)
	}
	if ms := w.lastEvent.Load(); ms != 0 {
		out.LastEvent = time.UnixMilli(ms)
		if b := w.behindMs.Load(); b >= 0 {
			out.BehindSource = time.Duration(b) * time.Millisecond
		}
	}
	if ts := w.undelivered.Load(); ts > 0 && !w.active.Load() {
		out.BehindSource = max(0, time.Since(time.UnixMicro(ts)).Truncate(time.Millisecond))
	}
	return out
}

// Lag summarises MilliSecondsBehindSource as the watchdog sampled it (see Watched).
func (s *Stats) Lag() Summary { return s.watch.lag.summary() }

// Delivery summarises the sink's delivery latency: from a record's send to its durability
// (Kafka's acknowledgement, ClickHouse's insert), one record timed per watchdog tick.
func (s *Stats) Delivery() Summary { return s.watch.delivery.summary() }

// count counts an event read from the source (the stream goroutine's only Stats work: atomic
// adds, no clock read; the watchdog samples the rest).
func (s *Stats) count(ev *capture.Event) {
	s.Events.Add(1)
	switch ev.Kind {
	case capture.Change:
		s.Changes.Add(1)
		switch ev.Op {
		case capture.OpRead:
			s.Reads.Add(1)
			s.Creates.Add(1)
		case capture.OpCreate:
			s.Creates.Add(1)
		case capture.OpUpdate:
			s.Updates.Add(1)
		case capture.OpDelete:
			s.Deletes.Add(1)
		}
		if ev.Source.TsMicros > 0 && ev.Op != capture.OpRead { // a snapshot read's time is the snapshot's
			s.watch.lastTs.Store(ev.Source.TsMicros)
		}
	case capture.Commit:
		s.Commits.Add(1)
	}
}

// watch is the watchdog goroutine. Every tick it samples the acker: while work is pending and
// nothing moved (no position released, no record durable) for StallTimeout it publishes a Stall
// and logs a warning (again every StallTimeout); after StallFailTimeout (if set) it fails Run with a
// StallError. Sampling keeps the hot path free of clock reads; a stall is seen to within a
// tick.
func (p *run) watch(ctx context.Context) error {
	st, log := p.cfg.Stats, p.cfg.Logger
	tick := max(time.Millisecond, min(time.Second, p.cfg.StallTimeout/4))
	t := time.NewTicker(tick)
	defer t.Stop()
	st.watch.behindMs.Store(-1)
	st.watch.stall.Store(nil) // a stall that failed the previous Run on these Stats
	reporter, _ := p.sink.(StallReporter)
	buffer, _ := p.sink.(BufferReporter)
	st.watch.sinkBuf.Store(buffer != nil)
	var (
		lastWater  uint64
		lastRel    = st.Released.Load() // Stats may count across Runs (the capture commands')
		lastEvents = st.Events.Load()
		since      = time.Now()
		warned     time.Time
	)
	if st.watch.lastEvent.Load() == 0 {
		lastEvents = 0 // the stream may have counted events before this goroutine ran
	}
	st.watch.lastTick.Store(since.UnixMilli())
	st.watch.lastMoved.Store(since.UnixMilli())
	st.watch.undelivered.Store(0)
	st.watch.deliveredLag.Store(-1)
	st.watch.active.Store(true)
	defer func() {
		var ts int64
		if a := p.ack.state(); a.pending > 0 {
			ts = a.oldest.ts0
		}
		st.watch.undelivered.Store(ts)
		st.watch.active.Store(false)
	}()
	for {
		select {
		case <-ctx.Done():
			st.watch.stall.Store(nil) // (after a StallError, returned below, it stays shown)
			return nil
		case <-t.C:
		}
		now := time.Now()
		st.watch.lastTick.Store(now.UnixMilli())
		a := p.ack.state()
		rel := st.Released.Load()
		busy := a.next > a.water || a.pending > 0
		moved := false
		if n := st.Events.Load(); n != lastEvents {
			lastEvents, moved = n, true
			st.watch.lastEvent.Store(now.UnixMilli())
		}
		// The lag (Debezium's MilliSecondsBehindSource) is the age of the oldest change not yet
		// delivered: unlike Debezium's, measured when an event is read, it grows while the sink
		// is stalled (the source may read on into the sink's buffer for a while). With nothing
		// waiting, it is the last delivered change's age when it was delivered (else, when
		// read); idle, it keeps that.
		behind := int64(-1)
		delivered := st.watch.deliveredLag.Swap(-1)
		switch {
		case a.pending > 0 && a.oldest.ts0 > 0:
			behind = max(0, now.UnixMilli()-a.oldest.ts0/1000)
		case delivered >= 0:
			behind = delivered
		case moved && st.watch.lastTs.Load() > 0:
			behind = max(0, now.UnixMilli()-st.watch.lastTs.Load()/1000)
		}
		if behind >= 0 {
			st.watch.behindMs.Store(behind)
			st.watch.lag.add(time.Duration(behind) * time.Millisecond)
		}
		p.ack.probe() // times the next record sent, now or after an idle spell
		st.watch.inFlight.Store(a.next - a.water)
		st.watch.pending.Store(int64(a.pending))
		if buffer != nil {
			used, limit := buffer.BufferedBytes()
			st.watch.bufUsed.Store(used)
			st.watch.bufLimit.Store(limit)
		}
		// Records becoming durable is progress (a big transaction may release nothing for a
		// while), unless positions are already releasable: then the release itself (the acker
		// loop, the offsets store, the source's Ack) is stuck, whatever the sink does.
		releasable := a.pending > 0 && a.oldest.last <= a.water
		if !busy || rel != lastRel || (a.water != lastWater && !releasable) {
			if old := st.watch.stall.Swap(nil); old != nil {
				log.Info("pipeline moving again", "stalled_for", now.Sub(old.Since).Round(time.Second))
			}
			lastWater, lastRel, since = a.water, rel, now
			st.watch.lastMoved.Store(now.UnixMilli())
			continue
		}
		stalled := now.Sub(since)
		if stalled < p.cfg.StallTimeout {
			continue
		}
		s := &Stall{Since: since, InFlight: a.next - a.water, Pending: a.pending}
		if a.next > a.water {
			s.OldestToken = a.water + 1
		}
		if a.oldest.pos0 != nil {
			s.Oldest = describe(a.oldest.pos0)
		}
		if a.last != nil {
			s.LastReleased = describe(a.last)
		}
		if reporter != nil {
			s.Sink = reporter.StallReport()
		}
		if p.cfg.StallFailTimeout > 0 && stalled >= p.cfg.StallFailTimeout {
			st.watch.stall.Store(s)
			return &StallError{Stall: *s, Timeout: p.cfg.StallFailTimeout, At: now}
		}
		first := st.watch.stall.Swap(s) == nil
		if first || now.Sub(warned) >= p.cfg.StallTimeout {
			warned = now
			log.Warn("pipeline stalled: work is pending and nothing moved", stallAttrs(s, now, p.cfg.StallFailTimeout)...)
		}
	}
}

func stallAttrs(s *Stall, now time.Time, fail time.Duration) []any {
	attrs := []any{
		slog.Duration("stalled_for", now.Sub(s.Since).Round(time.Second)),
		slog.Uint64("records_in_flight", s.InFlight),
		slog.Uint64("oldest_pending_token", s.OldestToken),
		slog.Int("events_pending", s.Pending),
		slog.String("oldest_pending_position", s.Oldest),
		slog.String("last_released_position", s.LastReleased),
	}
	if fail > 0 {
		attrs = append(attrs, slog.Duration("fails_after", fail))
	}
	if s.Sink != "" {
		attrs = append(attrs, slog.String("sink", s.Sink))
	}
	return attrs
}
