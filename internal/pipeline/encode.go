package pipeline

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
)

// Parallel encoding (EncodeWorkers > 1): the stream goroutine gathers runs of snapshot reads
// into batches of encodeBatch events and hands each batch to a pool of workers, each with its
// own Encoder (an Encoder is not safe for concurrent use). Batches come back to the stream
// goroutine in the order they were read, and it sends their records and queues their positions
// exactly as it would have encoded them itself: tokens, sends and position releases keep the
// source's order. Only snapshot reads are shared out: they carry no transaction metadata (an
// Encoder's only order-dependent state) and they are the bulk of a snapshot, where one
// goroutine encoding was the bound. Every other event (stream changes, transaction markers,
// schema changes, keepalives, SnapshotDone) first waits for the batches before it and is then
// encoded on the stream goroutine as before, so it keeps its place and streaming latency is
// unchanged. A short run of reads (fewer than encodeMinBatch when a non-read event ends it) is
// encoded on the stream goroutine too: handing it out would cost more than it saves.

const (
	// encodeBatch is the events per batch: large enough that a handoff (~µs) is a small share
	// of encoding it, small enough that N workers have work early in a snapshot.
	encodeBatch = 256
	// encodeMinBatch is the least run of reads handed to a worker when a non-read event ends it.
	encodeMinBatch = 32
	// encodeBatchBytes ends a batch of wide rows before encodeBatch events: the batches in
	// flight hold their rows and their records, and 256 rows of 4 MB blobs were GBs.
	encodeBatchBytes = 1 << 20
)

// EncodeWorkersAuto is the Config.EncodeWorkers value that picks the worker count from
// GOMAXPROCS.
const EncodeWorkersAuto = -1

// encodeWorkers resolves Config.EncodeWorkers: 0 and 1 are one goroutine, auto is GOMAXPROCS.
func encodeWorkers(n int) int {
	if n == EncodeWorkersAuto {
		n = runtime.GOMAXPROCS(0)
	}
	return max(n, 1)
}

// encBatch is a run of snapshot reads and, once a worker is done, their records. The events'
// records are recs[ends[i-1]:ends[i]] with their bytes in buf; errs[i] is event i's encode error.
type encBatch struct {
	events []capture.Event
	recs   []envelope.Record
	ends   []int
	errs   []error
	buf    []byte
	offs   []int         // Key, Value and header value bounds in buf, 2 per slice, while encoding
	done   chan struct{} // closed when encoded (a barrier: when every batch before it is sent)
	bytes  int           // the events' value bytes (encodeBatchBytes)

	barrier bool
}

func (b *encBatch) reset() {
	clear(b.events) // do not keep rows alive in the pool
	b.events = b.events[:0]
	clear(b.recs)
	b.recs, b.ends, b.errs, b.buf, b.offs = b.recs[:0], b.ends[:0], b.errs[:0], b.buf[:0], b.offs[:0]
	b.bytes = 0
	if cap(b.buf) > 8*encodeBatchBytes {
		b.buf = nil // a batch of huge rows: do not keep its buffer in the pool
	}
}

// encoderPool runs the workers of a parallel encode stage and the sender goroutine that sends
// their batches in order.
type encoderPool struct {
	work    chan *encBatch // to the workers
	order   chan *encBatch // to the sender, in source order
	free    chan *encBatch
	wg      sync.WaitGroup
	cur     *encBatch // being filled (owned by the stream goroutine)
	queued  bool      // a batch was handed out since the last drain (stream goroutine)
	reading bool      // the last event was a read: the next is read into cur (readSlot)
}

// newEncoderPool starts n workers with the encoders encs (one each). The caller runs sendLoop.
func (p *run) newEncoderPool(encs []Encoder) *encoderPool {
	n := len(encs)
	depth := 2 * n // batches in flight: every worker busy, one batch more each waiting
	ep := &encoderPool{
		work:  make(chan *encBatch, depth),
		order: make(chan *encBatch, depth),
		free:  make(chan *encBatch, depth+2),
	}
	ep.wg.Add(n) // before the goroutines start: see STYLE §6 on Add after Wait
	for _, enc := range encs {
		go func() {
			defer ep.wg.Done()
			var scratch []envelope.Record
			for b := range ep.work {
				scratch = p.encodeBatch(enc, b, scratch)
				close(b.done)
			}
		}()
	}
	return ep
}

// stop ends the workers once the batches handed to them are done and waits for them.
func (ep *encoderPool) stop() {
	close(ep.work)
	ep.wg.Wait()
}

// appendEncoder is an Encoder that can write records straight into the caller's buffer
// (envelope.Encoder.EncodeAppend): a batch's records then need no copy out of the encoder's.
type appendEncoder interface {
	EncodeAppend(buf []byte, dst []envelope.Record, ev *capture.Event) ([]byte, []envelope.Record, error)
}

// clockHolder is an Encoder that can stamp a batch's records with one processing time
// (envelope.Encoder.HoldClock) instead of reading the clock per event.
type clockHolder interface {
	HoldClock(hold bool)
}

var (
	_ appendEncoder = (*envelope.Encoder)(nil)
	_ clockHolder   = (*envelope.Encoder)(nil)
)

// encodeBatch encodes b's events with enc into b's own buffer: straight into it when enc is an
// appendEncoder, else by copying each event's records there (enc's records alias its buffer
// only until its next call).
func (p *run) encodeBatch(enc Encoder, b *encBatch, scratch []envelope.Record) []envelope.Record {
	if ae, ok := enc.(appendEncoder); ok {
		p.encodeBatchAppend(ae, b)
		return scratch
	}
	for i := range b.events {
		ev := &b.events[i]
		var err error
		scratch = scratch[:0]
		if p.publishes(ev) {
			scratch, err = enc.Encode(scratch, ev)
		}
		if err != nil {
			scratch = scratch[:0]
		}
		b.errs = append(b.errs, err)
		for j := range scratch {
			r := scratch[j]
			r.Key = nil
			r.Value = nil
			r.Headers = nil
			b.offs = b.appendBytes(b.offs, scratch[j].Key)
			b.offs = b.appendBytes(b.offs, scratch[j].Value)
			if h := scratch[j].Headers; len(h) > 0 {
				r.Headers = make([]envelope.Header, len(h))
				for k := range h {
					r.Headers[k].Key = h[k].Key
					b.offs = b.appendBytes(b.offs, h[k].Value)
				}
			}
			b.recs = append(b.recs, r)
		}
		b.ends = append(b.ends, len(b.recs))
	}
	clear(scratch)
	// Point the records into buf now that it no longer grows; nil stays nil (a Kafka null).
	o := 0
	slice := func() []byte {
		lo, hi := b.offs[o], b.offs[o+1]
		o += 2
		if lo < 0 {
			return nil
		}
		return b.buf[lo:hi:hi]
	}
	for i := range b.recs {
		r := &b.recs[i]
		r.Key = slice()
		r.Value = slice()
		for k := range r.Headers {
			r.Headers[k].Value = slice()
		}
	}
	return scratch
}

// encodeBatchAppend is encodeBatch for an appendEncoder. The records alias b.buf's array, or
// an earlier one where b.buf grew: append leaves the old array as it was, and the records keep
// it alive until the batch is reset.
func (p *run) encodeBatchAppend(enc appendEncoder, b *encBatch) {
	if h, ok := enc.(clockHolder); ok {
		// The batch's reads were read together and are encoded back to back: one processing
		// time for all of them, not a clock read each.
		h.HoldClock(true)
		defer h.HoldClock(false)
	}
	for i := range b.events {
		ev := &b.events[i]
		n := len(b.recs)
		var err error
		if p.publishes(ev) {
			b.buf, b.recs, err = enc.EncodeAppend(b.buf, b.recs, ev)
		}
		if err != nil {
			clear(b.recs[n:])
			b.recs = b.recs[:n]
		}
		for j := n; j < len(b.recs); j++ {
			if h := b.recs[j].Headers; len(h) > 0 { // the encoder reuses its header slice
				b.recs[j].Headers = append([]envelope.Header(nil), h...)
			}
		}
		b.errs = append(b.errs, err)
		b.ends = append(b.ends, len(b.recs))
	}
}

// appendBytes copies v into b.buf and appends its bounds to offs (-1, -1 for nil).
func (b *encBatch) appendBytes(offs []int, v []byte) []int {
	if v == nil {
		return append(offs, -1, -1)
	}
	lo := len(b.buf)
	b.buf = append(b.buf, v...)
	return append(offs, lo, len(b.buf))
}

func (ep *encoderPool) newBatch() *encBatch {
	select {
	case b := <-ep.free:
		b.reset()
		b.done = make(chan struct{})
		return b
	default:
		return &encBatch{events: make([]capture.Event, 0, encodeBatch), done: make(chan struct{})}
	}
}

// readSlot returns where the stream goroutine should read the next event: the next free slot
// of the current batch while reads are coming (the last event was one), so a read lands in its
// batch without a copy of the event (368 bytes with pointers); nil otherwise.
func (p *run) readSlot() *capture.Event {
	ep := p.pool
	if ep == nil || !ep.reading {
		return nil
	}
	if ep.cur == nil {
		ep.cur = ep.newBatch()
	}
	n := len(ep.cur.events) // < encodeBatch = cap: a full batch is handed out at once
	return &ep.cur.events[:n+1][n]
}

// addRead queues a snapshot read, handing the batch out when it is full. inSlot says ev is
// the batch's readSlot; any other ev is copied (the pipeline does not let the source reuse its
// buffers when it encodes in parallel).
func (p *run) addRead(ctx context.Context, ev *capture.Event, inSlot bool) error {
	ep := p.pool
	if !ep.reading && p.sq != nil {
		// The events queued before this read are sent before it (the workers' batches go
		// to the sink through sendLoop, not the stream sender).
		if err := p.flushQueue(ctx); err != nil {
			return err
		}
	}
	ep.reading = true
	if ep.cur == nil {
		ep.cur = ep.newBatch()
	}
	if inSlot {
		ep.cur.events = ep.cur.events[:len(ep.cur.events)+1]
	} else {
		ep.cur.events = append(ep.cur.events, *ev)
	}
	for _, v := range ep.cur.events[len(ep.cur.events)-1].After {
		ep.cur.bytes += len(v.Bytes)
	}
	if len(ep.cur.events) < encodeBatch && ep.cur.bytes < encodeBatchBytes {
		return nil
	}
	return p.dispatch(ctx)
}

// dispatch hands the current batch to the workers and to the sender. It blocks while 2×workers
// batches are in flight (memory stays bounded) until the sender has sent one.
func (p *run) dispatch(ctx context.Context) error {
	ep := p.pool
	b := ep.cur
	ep.cur = nil
	select {
	case ep.order <- b:
	case <-ctx.Done():
		return ctx.Err()
	}
	ep.work <- b // the workers always take from work: this waits at most for one to finish
	ep.queued = true
	return nil
}

// drainReads sends every read queued so far, in order: the batches handed out, then the
// current batch (on this goroutine when it is short). Call it before an event that is not a read.
func (p *run) drainReads(ctx context.Context) error {
	ep := p.pool
	ep.reading = false
	if b := ep.cur; b != nil && len(b.events) >= encodeMinBatch {
		if err := p.dispatch(ctx); err != nil {
			return err
		}
	}
	if ep.queued {
		// A barrier through the sender: once it is closed, every batch before it is sent.
		bar := &encBatch{done: make(chan struct{}), barrier: true}
		select {
		case ep.order <- bar:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case <-bar.done:
		case <-ctx.Done():
			return ctx.Err()
		}
		ep.queued = false
	}
	b := ep.cur
	if b == nil {
		return nil
	}
	ep.cur = nil
	defer p.recycle(b)
	for i := range b.events {
		if err := p.encodeSend(ctx, &b.events[i]); err != nil {
			return err
		}
	}
	p.readsDone(b)
	return nil
}

// readsDone tells a ReadReleaser source that b's reads are encoded and sent.
func (p *run) readsDone(b *encBatch) {
	if p.readRel != nil && len(b.events) > 0 {
		p.readRel.ReadsDone(&b.events[len(b.events)-1])
	}
}

// sendLoop is the sender goroutine: it takes the batches in the order they were read, waits
// for each to be encoded, then sends its records and queues its positions exactly as
// encodeSend would have, event by event.
func (p *run) sendLoop(ctx context.Context) error {
	ep := p.pool
	for {
		var b *encBatch
		select {
		case b = <-ep.order:
		case <-ctx.Done():
			return nil
		}
		if b.barrier {
			close(b.done)
			continue
		}
		select {
		case <-b.done:
		case <-ctx.Done():
			return nil
		}
		if err := p.sendBatch(ctx, b); err != nil {
			return err
		}
		p.readsDone(b)
		p.recycle(b)
	}
}

// sendBatch sends b's records and queues its positions. It holds encMu for the whole batch
// (one lock, not one per event): a heartbeat waits at most for one batch's sends.
func (p *run) sendBatch(ctx context.Context, b *encBatch) error {
	p.encMu.Lock()
	defer p.encMu.Unlock()
	start := 0
	for i := range b.events {
		ev := &b.events[i]
		recs := b.recs[start:b.ends[i]]
		start = b.ends[i]
		var err error
		if b.errs[i] != nil {
			err = p.onFailure(ctx, fmt.Errorf("encode event at %s: %w", describe(ev.Position), b.errs[i]), ev.Position)
		} else {
			err = p.sendAll(ctx, recs, ev.Position)
		}
		if err == nil {
			err = p.eventDone(ctx, ev.Position)
		}
		if err != nil {
			return err
		}
		if ev.Position != nil {
			p.ack.eventAt(ev.Position, 0) // a snapshot read's time is not a lag behind the log
		}
	}
	return nil
}

func (p *run) recycle(b *encBatch) {
	select {
	case p.pool.free <- b:
	default:
	}
}

// Pipelined sends, for a source that implements ReadyReporter: the stream goroutine encodes every event other than a snapshot read
// into the open batch (streamQueue.cur) and the stream sender goroutine sends the records of
// the batches and queues their positions, so that reading and encoding the next events
// overlap the sink's Send (kgo's Produce: a fifth of the MySQL → Kafka CPU, serial behind the
// decoder and the encoder before). The one Encoder stays on the stream goroutine and sees the
// events in source order, so its order-dependent state (transaction metadata) is exact; the
// sender assigns tokens, sends, calls EventDone and queues positions event by event in the
// order they were encoded, as encodeSend did. The sender takes whatever the open batch holds
// as soon as it is free: an event never waits for a batch to fill. While it is busy the
// events gather; when it is idle the stream goroutine wakes it once the source has no event
// ready without input (ReadyReporter) or the batch holds streamWake records, so a burst (a
// MySQL rows event's rows) costs one wake-up, not one per row. Snapshot reads keep their own
// paths (the encode workers, or encodeSend after the queue is flushed): a ReadReleaser hears
// of a read only once its records reached the sink.

const (
	// streamWake is the most records the open batch gathers for an idle sender while the
	// source has more events ready.
	streamWake = 64
	// streamMaxRecs and streamMaxBytes bound the open batch: the stream goroutine waits for
	// the sender to take it beyond them (the sink's own buffer bounds the rest).
	streamMaxRecs  = 512
	streamMaxBytes = 256 << 10
)

// streamItem is one event of a streamBatch: its records are recs[previous end:end].
type streamItem struct {
	end int
	pos capture.Position // nil for heartbeats
	ts  int64            // the source time (µs) the acker's lag reports use; 0: none
	err error            // the encode error, wrapped, handled by the sender's failure mode
}

// streamBatch is a run of encoded events; the records' bytes live in buf (or an array buf
// had before it grew, which the records keep alive until reset).
type streamBatch struct {
	items []streamItem
	recs  []envelope.Record
	buf   []byte
}

func (b *streamBatch) reset() {
	clear(b.items) // do not keep positions alive
	clear(b.recs)
	b.items, b.recs, b.buf = b.items[:0], b.recs[:0], b.buf[:0]
	if cap(b.buf) > 4*streamMaxBytes {
		b.buf = nil // one huge event must not pin its buffer for the life of the stream
	}
}

// clone copies v into b.buf; nil stays nil (a Kafka null).
func (b *streamBatch) clone(v []byte) []byte {
	if v == nil {
		return nil
	}
	lo := len(b.buf)
	b.buf = append(b.buf, v...)
	return b.buf[lo:len(b.buf):len(b.buf)]
}

// copyIn appends recs, whose bytes alias an encoder's buffer, with their bytes copied into b.
func (b *streamBatch) copyIn(recs []envelope.Record) {
	for _, r := range recs {
		r.Key, r.Value = b.clone(r.Key), b.clone(r.Value)
		if len(r.Headers) > 0 {
			hs := make([]envelope.Header, len(r.Headers))
			for k, h := range r.Headers {
				hs[k] = envelope.Header{Key: h.Key, Value: b.clone(h.Value)}
			}
			r.Headers = hs
		}
		b.recs = append(b.recs, r)
	}
}

// streamQueue hands encoded events from the stream goroutine to the stream sender.
type streamQueue struct {
	mu       sync.Mutex    // guards the Encoder (the stream goroutine and heartbeats) and what follows
	cur      *streamBatch  // the open batch
	idle     bool          // the sender has sent everything it took and waits on wake
	full     bool          // the stream goroutine waits on room for the sender to take cur
	flushing bool          // the stream goroutine waits on drained for the sender to go idle
	wake     chan struct{} // cap 1, to the sender
	room     chan struct{} // cap 1, to the stream goroutine
	drained  chan struct{} // cap 1, to the stream goroutine

	ready ReadyReporter // the source
	enc   appendEncoder // the Encoder, when it encodes into a caller's buffer
	scr   []envelope.Record
}

func newStreamQueue(enc Encoder, src Source) *streamQueue {
	q := &streamQueue{cur: new(streamBatch), idle: true,
		wake: make(chan struct{}, 1), room: make(chan struct{}, 1), drained: make(chan struct{}, 1)}
	q.ready = src.(ReadyReporter)
	q.enc, _ = enc.(appendEncoder)
	return q
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// queue encodes ev into the open batch and hands it to the sender (see above). It blocks
// while the open batch is over its bounds until the sender takes it, or ctx ends.
func (p *run) queue(ctx context.Context, ev *capture.Event) error {
	q := p.sq
	q.mu.Lock()
	b := q.cur
	n := len(b.recs)
	var err error
	if p.publishes(ev) {
		if q.enc != nil {
			b.buf, b.recs, err = q.enc.EncodeAppend(b.buf, b.recs, ev)
			for j := n; j < len(b.recs); j++ {
				if h := b.recs[j].Headers; len(h) > 0 { // the encoder reuses its header slice
					b.recs[j].Headers = append([]envelope.Header(nil), h...)
				}
			}
		} else {
			q.scr, err = p.cfg.Encoder.Encode(q.scr[:0], ev)
			if err == nil {
				b.copyIn(q.scr)
			}
			clear(q.scr)
		}
		if err != nil {
			clear(b.recs[n:])
			b.recs = b.recs[:n]
			err = fmt.Errorf("encode event at %s: %w", describe(ev.Position), err)
		}
	}
	it := streamItem{end: len(b.recs), pos: ev.Position, err: err}
	// A keepalive carries no change and a snapshot read's time is the snapshot's: neither
	// age is a lag behind the log.
	if ev.Kind == capture.Change && ev.Op != capture.OpRead || ev.Kind == capture.Commit {
		it.ts = ev.Source.TsMicros
	}
	b.items = append(b.items, it)
	return p.handOff(ctx, q, b)
}

// handOff wakes an idle sender when it should take b (the open batch, q.mu held, released
// here), and waits for room when b is over its bounds.
func (p *run) handOff(ctx context.Context, q *streamQueue, b *streamBatch) error {
	full := len(b.recs) >= streamMaxRecs || len(b.buf) >= streamMaxBytes || len(b.items) >= streamMaxRecs
	if q.idle && (full || len(b.recs) >= streamWake || !q.ready.Ready()) {
		q.idle = false
		signal(q.wake)
	}
	if !full {
		q.mu.Unlock()
		return nil
	}
	q.full = true
	q.mu.Unlock()
	select {
	case <-q.room:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// flushQueue waits until the sender has sent every event queued so far: before an event
// takes another path to the sink (the encode workers' reads) and before the source's end.
func (p *run) flushQueue(ctx context.Context) error {
	q := p.sq
	q.mu.Lock()
	if q.idle && len(q.cur.items) == 0 {
		q.mu.Unlock()
		return nil
	}
	q.flushing = true
	if q.idle {
		q.idle = false
		signal(q.wake)
	}
	q.mu.Unlock()
	select {
	case <-q.drained:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// queueHeartbeat is the heartbeat goroutine's part when the stream is pipelined: the
// heartbeat's records go through the open batch, in turn with the events (one Encoder).
func (p *run) queueHeartbeat(now time.Time) error {
	q := p.sq
	q.mu.Lock()
	q.scr = p.cfg.Encoder.Heartbeat(q.scr[:0], now)
	var err error
	if he, ok := p.cfg.Encoder.(HeartbeatErrer); ok {
		if err = he.HeartbeatErr(); err != nil {
			q.mu.Unlock()
			return fmt.Errorf("heartbeat record: %w", err)
		}
	}
	if len(q.scr) == 0 {
		q.mu.Unlock()
		return nil
	}
	b := q.cur
	b.copyIn(q.scr)
	clear(q.scr)
	b.items = append(b.items, streamItem{end: len(b.recs)})
	if q.idle { // a heartbeat goes out at once; it never waits for room (only the stream does)
		q.idle = false
		signal(q.wake)
	}
	q.mu.Unlock()
	return nil
}

// streamSendLoop is the stream sender goroutine: it takes the open batch whenever it holds
// events and sends them in order.
func (p *run) streamSendLoop(ctx context.Context) error {
	q := p.sq
	spare := new(streamBatch)
	for {
		q.mu.Lock()
		b := q.cur
		if len(b.items) == 0 {
			q.idle = true
			if q.flushing {
				q.flushing = false
				signal(q.drained)
			}
			q.mu.Unlock()
			select {
			case <-q.wake:
				continue
			case <-ctx.Done():
				return nil
			}
		}
		q.cur, q.idle = spare, false
		if q.full {
			q.full = false
			signal(q.room)
		}
		q.mu.Unlock()
		if err := p.sendStream(ctx, b); err != nil {
			return err
		}
		b.reset()
		spare = b
	}
}

// sendStream sends b's records and queues its positions, event by event, as encodeSend does.
// It holds encMu for the whole batch, as sendBatch does.
func (p *run) sendStream(ctx context.Context, b *streamBatch) error {
	p.encMu.Lock()
	defer p.encMu.Unlock()
	start := 0
	for i := range b.items {
		it := &b.items[i]
		recs := b.recs[start:it.end]
		start = it.end
		var err error
		if it.err != nil {
			err = p.onFailure(ctx, it.err, it.pos)
		} else {
			err = p.sendAll(ctx, recs, it.pos)
		}
		if err == nil {
			err = p.eventDone(ctx, it.pos)
		}
		if err != nil {
			return err
		}
		if it.pos != nil {
			p.ack.eventAt(it.pos, it.ts)
		}
	}
	return nil
}
