package postgres

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/postgres/pgoutput"
	"github.com/sluicecdc/sluice/schema"
)

// ErrSnapshotOnly is returned by Next after the snapshot of mode initial_only has been emitted.
// It wraps io.EOF, which tells the pipeline that the source ended normally.
var ErrSnapshotOnly = fmt.Errorf("postgres: snapshot complete (snapshot mode initial_only): %w", io.EOF)

// Source captures changes from one PostgreSQL database. Next, Ack and Close may be called from
// different goroutines; Next must not be called concurrently with itself.
//
// Files: slot.go opens the connections and prepares the slot, receive.go runs the receive
// loop and reports positions, txn.go turns pgoutput messages into transactions of events.
type Source struct {
	cfg     Config
	log     *slog.Logger
	filter  *filter
	skipped map[byte]bool
	skipOp  [256]bool // skipped as a table: a map[byte] lookup per row hashes the byte

	connCfg *pgconn.Config
	repl    *pgconn.PgConn
	cat     *catalog
	dbName  string
	version int // server_version_num

	versions map[schema.TableID]uint64
	rels     map[uint32]*relation

	resume      *Position
	startLSN    uint64
	walEnd      uint64 // the server's WAL end at IDENTIFY_SYSTEM: no stored offset can be past it
	streaming   bool
	snap        *snapshot
	resumed     *resumed // the rest of an unfinished snapshot, read in watermark windows (chunk.go)
	snapOnly    bool
	signals     []sigAt      // signal-table rows read, to act on in Next (incremental.go)
	incrWait    []*snapTable // tables of an incremental snapshot waiting for the one running
	incrResume  *Position    // an incremental snapshot the stored offset left unfinished
	blockWait   *blockReq    // a blocking snapshot to run at the next transaction boundary (blocking.go)
	inboxMu     sync.Mutex
	inbox       []inboxSignal // from Signal and ReceiveSignal, any goroutine
	inboxN      atomic.Int32  // len(inbox), read without the lock
	sigNext     int64         // the Kafka signal channel's next offset (signal.Receiver), if hasSigNext
	hasSigNext  bool
	filters     *TableFilters           // the table filters, recorded in every position
	pubAdded    map[schema.TableID]bool // captured tables this start added to the filtered publication (schema and table only)
	createdSlot bool                    // Open created the slot (CreatedSlot)

	msgs      chan []wireMsg
	recvErr   chan error
	walErr    chan error // the slot watch's fatal error (a lost slot)
	coal      *coalescer // the replication connection's reader (receive goroutine only)
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	acked     atomic.Uint64
	received  atomic.Uint64
	ackNote   chan struct{}
	pingNote  chan struct{} // Next asks the receive loop to request a keepalive (readOnlyDue)
	inboxNote chan struct{} // a signal was handed over (Signal, ReceiveSignal): wakes wait

	// Decoding state (Next's goroutine only).
	dec           pgoutput.Decoder
	inTx          bool
	xid           uint32
	commitTime    int64
	lastCommitEnd uint64
	// idleEmitted is the newest idle position (a Keepalive between transactions) handed out;
	// see commitPos.
	idleEmitted uint64
	curLSN      uint64
	eventsAtLSN int
	skipTx      bool
	beginEv     *capture.Event // BEGIN not yet emitted: it goes out before the first change
	beginSent   bool
	pending     []capture.Event // events ready for Next, from pendHead on
	pendHead    int
	streamXid   uint32
	spools      map[uint32]*spool
	replay      *spoolReader
	replayXid   uint32
	replayEnd   uint64
	idleWALEnd  uint64
	walSeen     uint64 // the server's WAL end of the last keepalive between transactions: decoded up to it
	beat        *time.Ticker
	closeOnce   sync.Once
	stats       Stats
	rows        rowSlab
	positions   posSlab
	txbuf       []byte // chunk the TxID strings are carved from
	reuse       bool   // ReuseBuffers: rows are reused once the caller is done with an event
	batch       []wireMsg

	// snapMem is the snapshot readers' row memory, reused once the pipeline has encoded it
	// (ReadsDone).
	snapMem capture.ReadPool[*snapBatch]
}

// Stats counts streamed (in-progress) transactions the server sent and the bytes sluice
// spooled for them.
type Stats struct {
	StreamedTransactions int64
	SpooledBytes         int64
	SpooledToDisk        int64 // transactions that outgrew memory and went to a file
}

// Stats returns the counters; call it from Next's goroutine.
func (s *Source) Stats() Stats { return s.stats }

// Progress returns the snapshot progress and stream figures the source writes (Config.Stats,
// or its own); any goroutine may read them.
func (s *Source) Progress() *capture.Stats { return s.cfg.Stats }

// Open connects, runs the preflight checks, makes sure the publication and slot exist, and
// (per the snapshot mode) prepares the initial snapshot. Streaming starts on the first Next
// after the snapshot.
func Open(ctx context.Context, cfg Config) (*Source, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s, err := newSource(cfg)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	preflight := func(ctx context.Context) error { return s.bounded(ctx, "preflight", s.preflight) }
	publication := func(ctx context.Context) error { return s.bounded(ctx, "check the publication", s.ensurePublication) }
	for _, step := range []func(context.Context) error{s.connectMeta, preflight, publication, s.connectReplication, s.prepareSlot} {
		if err := step(ctx); err != nil {
			return nil, classify(err)
		}
	}
	ok = true
	return s, nil
}

// CreatedSlot reports whether Open created the replication slot (rather than finding it).
// A caller that reopens the source before any offset was stored may pass DropExistingSlot
// for a slot it created itself: its snapshot never reached the sink, so nothing is lost by
// starting over.
func (s *Source) CreatedSlot() bool { return s.createdSlot }

// newSource makes a Source of a validated Config, without connecting.
func newSource(cfg Config) (*Source, error) {
	s := &Source{cfg: cfg, log: cfg.Logger.With("source", "postgres"), filter: newFilter(&cfg),
		versions: map[schema.TableID]uint64{}, rels: map[uint32]*relation{}, spools: map[uint32]*spool{},
		ackNote: make(chan struct{}, 1), pingNote: make(chan struct{}, 1), inboxNote: make(chan struct{}, 1), walErr: make(chan error, 1)}
	if s.cfg.Stats == nil {
		s.cfg.Stats = new(capture.Stats)
	}
	s.filters = &TableFilters{SchemaInclude: cfg.SchemaInclude, TableInclude: cfg.TableInclude, TableExclude: cfg.TableExclude}
	s.cfg.Stats.Stream.RetainedWALBytes.Store(-1)
	s.cfg.Stats.Stream.ConfirmedFlushLagBytes.Store(-1)
	s.skipped, _ = parseSkipped(cfg.SkippedOperations)
	for op, skip := range s.skipped {
		s.skipOp[op] = skip
	}
	if cfg.Offset != nil {
		p, err := ParseOffset(cfg.Offset)
		if err != nil {
			return nil, err
		}
		s.resume = p
		s.sigNext, s.hasSigNext = p.SignalOffset, p.HasSignalOffset
	}
	return s, nil
}

// Close stops the receive loop and closes the connections. It is safe to call more than once.
func (s *Source) Close() error {
	s.closeOnce.Do(func() {
		if s.cancel != nil {
			s.cancel()
		}
		s.wg.Wait()
		if s.snap != nil {
			s.snap.close()
		}
		if s.resumed != nil {
			s.resumed.close()
		}
		if s.beat != nil {
			s.beat.Stop()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if s.repl != nil {
			// Not on a connection the receive loop lost: pgx is closing it on its own goroutine.
			if s.streaming && s.acked.Load() != 0 && !s.repl.IsClosed() {
				_ = s.sendStatus(false)
			}
			s.repl.Close(ctx)
		}
		if s.cat != nil && s.cat.conn != nil {
			s.cat.conn.Close(ctx)
		}
		for _, sp := range s.spools {
			sp.close()
		}
	})
	return nil
}

// Next returns the next event. During the initial snapshot it returns snapshot rows (op r), then
// one SnapshotDone event, then streamed changes with Begin/Commit events around each
// transaction. Row values stay valid after later Next calls (each message has its own buffer)
// unless ReuseBuffers was called.
// With snapshot mode initial_only, Next returns ErrSnapshotOnly once the snapshot is emitted.
func (s *Source) Next(ctx context.Context) (ev capture.Event, err error) {
	// next fills ev in place: an Event is 368 bytes, and each copy of it on the way out cost
	// ~20 ns a row (a third of Next's share of a snapshot row).
	if err := s.next(ctx, &ev); err != nil {
		// Every exit is classified: the side connection (catalog lookups, the heartbeat
		// action) fails the same way the stream does when the server restarts.
		return capture.Event{}, classify(err)
	}
	if ev.Position != nil {
		s.stampExt(&ev)
		if s.blockWait != nil || s.resumed != nil && s.snap != nil {
			s.stampBlocking(&ev) // blocking.go
		}
		if len(s.incrWait) > 0 {
			s.stampIncrWait(&ev) // incremental.go
		}
	}
	return ev, nil
}

// next fills *ev with the next event (Next).
func (s *Source) next(ctx context.Context, ev *capture.Event) error {
	if s.reuse && s.pendHead == len(s.pending) {
		// No queued event points into the rows: only those already returned, which the
		// caller is done with.
		s.rows.reset()
	}
	for {
		s.takeInbox()
		if len(s.signals) > 0 {
			if err := s.handleSignals(ctx); err != nil {
				return classify(err)
			}
		}
		if s.resumed == nil && (len(s.incrWait) > 0 || s.incrResume != nil) {
			if err := s.startWaiting(ctx); err != nil {
				return classify(err)
			}
		}
		if s.resumed != nil {
			e, ok, err := s.resumedNext(ctx)
			if err != nil {
				return classify(err)
			}
			if ok {
				*ev = e
				return nil
			}
		}
		if s.pendHead < len(s.pending) {
			*ev = s.popPending()
			if s.resumed != nil {
				if e, ok := s.resumedSee(*ev); ok {
					*ev = e
					return nil
				}
				continue
			}
			if isWatermark(*ev) {
				continue // of a resumed snapshot that is over, or another connector's
			}
			return nil
		}
		if s.blockWait != nil && s.snap == nil && s.resumed == nil && !s.inTx && s.streamXid == 0 && s.replay == nil {
			if err := s.startBlocking(ctx); err != nil {
				return classify(err)
			}
		}
		if s.snap != nil {
			return classify(s.nextSnapshot(ctx, ev))
		}
		if s.snapOnly {
			return ErrSnapshotOnly
		}
		if !s.streaming {
			if err := s.startStreaming(ctx); err != nil {
				return classify(err)
			}
		}
		if s.replay != nil {
			if err := s.replayNext(ctx); err != nil {
				return err
			}
			continue
		}
		if len(s.batch) > 0 {
			if err := s.handleBatched(ctx); err != nil {
				return err
			}
			continue
		}
		if e, ok, err := s.wait(ctx); err != nil || ok {
			if ok && s.resumed != nil {
				e, _ = s.resumedSee(e) // a heartbeat: its position carries the progress too
			}
			*ev = e
			return err
		}
	}
}

// popPending takes the first queued event.
func (s *Source) popPending() capture.Event {
	// A queue over one backing array: popping by reslicing would shrink its capacity until
	// every append allocated a new array (an event's size per row).
	ev := s.pending[s.pendHead]
	s.pending[s.pendHead] = capture.Event{}
	if s.pendHead++; s.pendHead == len(s.pending) {
		s.pending, s.pendHead = s.pending[:0], 0
	}
	return ev
}

// nextSnapshot returns the next snapshot row, or the SnapshotDone event after the last.
func (s *Source) nextSnapshot(ctx context.Context, ev *capture.Event) error {
	done, err := s.snap.next(ctx, ev)
	if err != nil || !done {
		return err
	}
	s.snap.close()
	lsn := s.snap.lsn
	blocking := s.snap.base != nil
	s.snap = nil
	if blocking {
		*ev = s.blockingDone(lsn)
		return nil
	}
	*ev = capture.Event{Kind: capture.SnapshotDone, Source: capture.Source{Connector: "postgresql", DB: s.dbName, TsMicros: time.Now().UnixMicro(), LSN: lsn, HasLSN: true},
		Position: &Position{LSN: lsn, ProcLSN: lsn, CommitLSN: lsn, TsMicros: time.Now().UnixMicro(), SnapshotCompleted: true}}
	return nil
}

// replayNext handles the next message of a committed streamed transaction from its spool.
func (s *Source) replayNext(ctx context.Context) error {
	lsn, data, err := s.replay.next()
	if err == io.EOF {
		s.finishReplay()
		return nil
	}
	if err != nil {
		return err
	}
	return s.handle(ctx, lsn, data, true)
}

// handleBatched handles the next message of the batch the receive loop sent.
func (s *Source) handleBatched(ctx context.Context) error {
	m := s.batch[0]
	s.batch[0] = wireMsg{}
	s.batch = s.batch[1:]
	if m.data == nil {
		if !s.inTx && s.streamXid == 0 {
			s.walSeen = max(s.walSeen, m.walEnd)
		}
		if s.cfg.LSNFlushMode == FlushConnector {
			return nil
		}
		if !s.inTx && s.streamXid == 0 && m.walEnd > s.idleWALEnd {
			s.idleWALEnd = m.walEnd
			// Between transactions the server's WAL end is a position of ours: passing it on
			// lets the pipeline store it and confirm the slot there. Without it an idle
			// source confirms only its last commit, so the slot pins WAL written for other
			// tables and a fast shutdown waits for a flush that never comes (the walsender
			// exits once the client has confirmed everything it sent).
			if m.walEnd > s.commitPos() {
				s.pending = append(s.pending, s.idleEvent(m.walEnd))
			}
		}
		return nil
	}
	return s.handle(ctx, m.lsn, m.data, false)
}

// wait blocks for the next batch from the receive loop, or a heartbeat (ok: ev is one).
func (s *Source) wait(ctx context.Context) (ev capture.Event, ok bool, err error) {
	var beat <-chan time.Time
	if s.beat != nil {
		beat = s.beat.C
	}
	select {
	case s.batch = <-s.msgs:
	case c, ok := <-s.readyWake():
		return capture.Event{}, false, s.resumed.took(c, ok)
	case <-s.inboxNote:
		// Next's loop takes the signal.
	case err := <-s.recvErr:
		s.recvErr <- err
		// A server error in the stream (a dropped publication, a missing grant) keeps its
		// class; anything else is the connection going away.
		if _, transient := classify(err).(retryable); !transient && isPgError(err) {
			return capture.Event{}, false, classify(err)
		}
		return capture.Event{}, false, retryable{err}
	case err := <-s.walErr:
		s.walErr <- err
		return capture.Event{}, false, err
	case <-beat:
		return s.heartbeat(ctx)
	case <-ctx.Done():
		return capture.Event{}, false, ctx.Err()
	}
	return capture.Event{}, false, nil
}

// ReuseBuffers lets Next reuse the memory of the rows it returned earlier: after it, an
// event's Before and After are valid only until the next Next call (the capture.Value
// contract), which saves an allocation of ~80 bytes per column per row. The pipeline calls it
// (it encodes each event before asking for the next); without it rows stay valid for good.
// Call it before Next, from Next's goroutine.
func (s *Source) ReuseBuffers() { s.reuse = true }
