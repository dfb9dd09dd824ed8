package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
	"github.com/sluicecdc/sluice/signal"
)

// Incremental snapshots (Debezium's ad hoc incremental snapshot, started by an
// execute-snapshot signal) are the resumed snapshot of chunk.go run on demand: the tables
// the signal names are read in primary-key chunks, each between a low and a high watermark
// of the stream, and a chunk row whose key the stream changed inside the window is dropped
// (the stream's event stands). The rows go out with op r and source.snapshot "incremental".
//
// Progress is in every position handed out while one runs (incremental_snapshot_tables,
// _after, _filters), so a restart carries on at the chunk after the last one emitted. The
// signal itself is a row inserted into the signal table (--signal-data-collection), read from
// the stream at its place in it; the table's changes are emitted only when the table is
// captured as well.

// incr is the reader side of an incremental snapshot: the queue of tables it has yet to
// start, the tables stopped, and the pause switch. Next's goroutine writes them, the reader
// reads them.
type incr struct {
	mu      sync.Mutex
	queue   []*snapTable
	after   []string // the first queued table's start (a resumed snapshot's key)
	stopped map[*snapTable]bool
	ended   bool // the reader found the queue empty and left: nothing more is read
	paused  atomic.Bool
}

// nextTable is the reader's next table and the key it starts after; false when none is left.
func (in *incr) nextTable() (*snapTable, []string, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for len(in.queue) > 0 {
		t, after := in.queue[0], in.after
		in.queue, in.after = in.queue[1:], nil
		if !in.stopped[t] {
			return t, after, true
		}
	}
	in.ended = true
	return nil, nil, false
}

func (in *incr) isStopped(t *snapTable) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.stopped[t]
}

// readIncremental is the reader goroutine of an incremental snapshot: readChunks over a
// queue that signals may grow or cut, waiting while paused.
func (s *Source) readIncremental(ctx context.Context, rs *resumed) {
	defer close(rs.ready)
	in := rs.incr
	seq := 0
	var keyOf []byte
	for {
		t, after, ok := in.nextTable()
		if !ok {
			return
		}
		var pass keylessPass
		for !in.isStopped(t) {
			for in.paused.Load() && !in.isStopped(t) {
				select {
				case <-time.After(50 * time.Millisecond):
				case <-ctx.Done():
					return
				}
			}
			seq++
			c := &chunk{seq: seq, t: t}
			c.err = s.readChunk(ctx, rs, c, after, &pass, &keyOf)
			select {
			case rs.ready <- c:
			case <-ctx.Done():
				return
			}
			if c.err != nil || !c.more {
				if c.err != nil {
					return
				}
				break
			}
			if len(c.last) > 0 {
				after = c.last
			}
		}
	}
}

// signalRow takes a row inserted into the signal table: the signal is acted on in Next (which
// has a context), before the events decoded after it go out.
func (s *Source) signalRow(lsn uint64, rel *relation, row capture.Row) {
	if s.skipTx && lsn <= s.resume.LSN {
		return // acted on before the restart; its effect is in the stored offset
	}
	sig, err := signal.FromRow(rel.table, row)
	if err != nil {
		// A signal is an operator's request, not data: a bad one is reported, the stream goes on.
		s.log.Error("ignoring a signal that cannot be acted on; insert a corrected one", "error", err, "lsn", strconv.FormatUint(lsn, 10))
		return
	}
	s.signals = append(s.signals, sigAt{sig, lsn})
}

// Signal hands the source a signal from outside the stream that has no offset to store (a
// test, an embedding program). Any goroutine may call it; it does not block. Next acts on it
// before its next event, at the stream's position then.
func (s *Source) Signal(sig signal.Signal) {
	s.inboxMu.Lock()
	s.inbox = append(s.inbox, inboxSignal{sig: &sig, offset: -1})
	s.inboxMu.Unlock()
	s.inboxN.Add(1)
	s.wakeInbox()
}

// wakeInbox wakes a Next waiting for the stream (an idle database sends nothing for long).
func (s *Source) wakeInbox() {
	select {
	case s.inboxNote <- struct{}{}:
	default:
	}
}

// ReceiveSignal implements signal.Receiver: sig (nil: nothing to act on) read at offset of
// the Kafka signal topic.
func (s *Source) ReceiveSignal(sig *signal.Signal, offset int64) {
	s.inboxMu.Lock()
	s.inbox = append(s.inbox, inboxSignal{sig: sig, offset: offset, kafka: true})
	s.inboxMu.Unlock()
	s.inboxN.Add(1)
	if sig != nil {
		s.wakeInbox()
	}
}

// SignalOffset implements signal.Receiver: the stored offset's next signal topic offset.
func (s *Source) SignalOffset() (int64, bool) { return s.sigNext, s.hasSigNext }

var _ signal.Receiver = (*Source)(nil)

// inboxSignal is a signal handed over from outside the stream.
type inboxSignal struct {
	sig    *signal.Signal
	offset int64
	kafka  bool // from the Kafka channel: offset+1 is the next to read
}

// takeInbox moves the signals handed over into s.signals and the Kafka channel's offset
// into the positions handed out from now on (Next's goroutine).
func (s *Source) takeInbox() {
	if s.inboxN.Load() == 0 {
		return
	}
	s.inboxMu.Lock()
	for _, in := range s.inbox {
		if in.sig != nil {
			s.signals = append(s.signals, sigAt{*in.sig, s.commitPos()})
		}
		if in.kafka {
			s.sigNext, s.hasSigNext = in.offset+1, true
		}
	}
	s.inbox = nil
	s.inboxN.Store(0)
	s.inboxMu.Unlock()
}

// stampExt makes ev's position say where the Kafka signal channel reads next and which
// table filters it was captured with. The frequent positions (changes, transaction bounds,
// snapshot batches) are made with both; others are copied here, never changed in place: the
// pipeline may be saving an earlier event's position that is the same value.
func (s *Source) stampExt(ev *capture.Event) {
	p, ok := ev.Position.(*Position)
	if !ok || p == nil || (p.Filters == s.filters && (!s.hasSigNext || p.HasSignalOffset && p.SignalOffset == s.sigNext)) {
		return
	}
	q := *p
	q.Filters = s.filters
	if s.hasSigNext {
		q.SignalOffset, q.HasSignalOffset = s.sigNext, true
	}
	ev.Position = &q
}

// sigAt is a signal with where it was read.
type sigAt struct {
	sig signal.Signal
	lsn uint64
}

// handleSignals acts on the signals read so far (Next's goroutine).
func (s *Source) handleSignals(ctx context.Context) error {
	for len(s.signals) > 0 {
		sa := s.signals[0]
		s.signals = s.signals[1:]
		if err := s.handleSignal(ctx, sa.sig, sa.lsn); err != nil {
			return err
		}
	}
	return nil
}

func (s *Source) handleSignal(ctx context.Context, sig signal.Signal, lsn uint64) error {
	log := s.log.With("signal_id", sig.ID, "signal_type", string(sig.Type))
	rs := s.resumed
	running := rs != nil && rs.incr != nil
	switch sig.Type {
	case signal.Log:
		log.Info(sig.LogMessage("lsn=" + strconv.FormatUint(lsn, 10)))
	case signal.PauseSnapshot:
		if !running {
			log.Warn("pause-snapshot: no incremental snapshot is running")
			return nil
		}
		rs.incr.paused.Store(true)
		s.cfg.Stats.Snapshot.Paused.Store(true)
		log.Info("incremental snapshot paused; insert a resume-snapshot signal to go on")
	case signal.ResumeSnapshot:
		if !running {
			log.Warn("resume-snapshot: no incremental snapshot is running")
			return nil
		}
		rs.incr.paused.Store(false)
		s.cfg.Stats.Snapshot.Paused.Store(false)
		log.Info("incremental snapshot resumed")
	case signal.StopSnapshot:
		if !running {
			log.Warn("stop-snapshot: no incremental snapshot is running")
			return nil
		}
		s.stopIncremental(sig.Snapshot, log)
	case signal.ExecuteSnapshot:
		snap := sig.Snapshot
		if snap.Type == signal.Blocking {
			return s.queueBlocking(ctx, snap, log)
		}
		if snap.SurrogateKey != "" {
			log.Error("execute-snapshot: surrogate-key is not supported yet; the tables are chunked by their primary key. Send the signal without it")
			return nil
		}
		var all []*snapTable
		if err := s.bounded(ctx, "list the tables of an incremental snapshot", func(ctx context.Context) (err error) {
			all, err = s.snapshotTables(ctx, s.cat.conn)
			return err
		}); err != nil {
			return err
		}
		var tables []*snapTable
		refused := 0
		for _, t := range all {
			id := t.rel.table.ID.String()
			if !snap.Matches(id) {
				continue
			}
			if len(t.pk) == 0 {
				log.Error("execute-snapshot: table has no primary key and is left out (an incremental snapshot matches chunk rows with stream events by key)", "table", id)
				continue
			}
			t.where = snap.Filter(id)
			if ok, err := s.filterAccepted(ctx, t, log); err != nil {
				return err
			} else if !ok {
				refused++
				continue
			}
			tables = append(tables, t)
		}
		if len(tables) == 0 && refused > 0 {
			return nil
		}
		if len(tables) == 0 {
			log.Error("execute-snapshot: data-collections match no captured table with a primary key (names are schema.table regular expressions; the table must be in the publication and the include list)", "data_collections", snap.DataCollections)
			return nil
		}
		return s.startIncremental(ctx, tables, nil, false, log)
	}
	return nil
}

// queueIncremental queues tables for an incremental snapshot after the snapshot running, each
// once (a signal read again after a restart asks for them again).
func (s *Source) queueIncremental(tables []*snapTable, log interface{ Info(string, ...any) }) {
	for _, t := range tables {
		if !slices.ContainsFunc(s.incrWait, func(u *snapTable) bool { return u.rel.table.ID == t.rel.table.ID }) {
			s.incrWait = append(s.incrWait, t)
		}
	}
	log.Info("incremental snapshot queued after the snapshot running", "tables", tableNames(tables))
}

// stampIncrWait makes ev's position name the tables queued for an incremental snapshot after
// the snapshot running (after those of a running incremental snapshot, which it names
// already): the signal that asked for them is behind that position (the Kafka channel's
// offset, the stream's), so without them a restart would lose them. A restart reads them once
// the snapshot it resumes is done (slot.go). A copy: the pipeline may be saving p.
func (s *Source) stampIncrWait(ev *capture.Event) {
	p, ok := ev.Position.(*Position)
	if !ok || p == nil {
		return
	}
	var q *Position
	cloned := false // q.IncrFilters is q's own
	for _, t := range s.incrWait {
		name := t.rel.table.ID.String()
		if slices.Contains(p.IncrTables, name) {
			continue
		}
		if q == nil {
			c := *p
			q = &c
			q.IncrTables = slices.Clone(p.IncrTables)
			if len(p.IncrTables) == 0 {
				q.IncrAfter, q.IncrPaused = nil, false
			}
		}
		q.IncrTables = append(q.IncrTables, name)
		if t.where != "" {
			if !cloned {
				q.IncrFilters, cloned = maps.Clone(p.IncrFilters), true
				if q.IncrFilters == nil {
					q.IncrFilters = map[string]string{}
				}
			}
			q.IncrFilters[name] = t.where
		}
	}
	if q != nil {
		ev.Position = q
	}
}

// filterAccepted tries t's additional-conditions filter on the server before a chunk uses it:
// a filter the server refuses (bad SQL, an unknown column) would fail every chunk read, and
// with it the source at every restart (the filter is stored with the progress). A refused
// filter is a bad signal: logged, and the table left out (false). err is a failure to ask.
func (s *Source) filterAccepted(ctx context.Context, t *snapTable, log interface{ Error(string, ...any) }) (bool, error) {
	if t.where == "" {
		return true, nil
	}
	err := s.bounded(ctx, "check an additional-conditions filter", func(ctx context.Context) error {
		_, err := s.cat.conn.Exec(ctx, "SELECT 1 FROM "+t.from+" WHERE ("+t.where+") LIMIT 0")
		return err
	})
	if filterFault(err) {
		log.Error("execute-snapshot: the server refuses the additional-conditions filter of the table, which is left out; send the signal again with a corrected filter",
			"table", t.rel.table.ID.String(), "filter", t.where, "error", err)
		return false, nil
	}
	return err == nil, err
}

// filterFault reports whether err, from a query with an additional-conditions filter, is the
// filter's fault: SQL state classes 42 (syntax, unknown names, no privilege) and 22 (bad
// literals, a division by zero). Others (a server shutting down) are the source's and retried.
func filterFault(err error) bool {
	pe, ok := errors.AsType[*pgconn.PgError](err)
	return ok && (strings.HasPrefix(pe.Code, "42") || strings.HasPrefix(pe.Code, "22"))
}

// startIncremental reads tables (the first from after) in an incremental snapshot: added to
// the one running, or started (paused: a stored offset's paused one).
func (s *Source) startIncremental(ctx context.Context, tables []*snapTable, after []string, paused bool, log interface {
	Info(string, ...any)
}) error {
	if rs := s.resumed; rs != nil {
		if rs.incr != nil {
			in := rs.incr
			in.mu.Lock()
			ended := in.ended
			if !ended {
				for _, t := range tables {
					if !slices.ContainsFunc(rs.tables, func(u *snapTable) bool { return u.rel.table.ID == t.rel.table.ID }) {
						in.queue = append(in.queue, t)
						rs.tables = append(rs.tables, t)
						s.incrProgress(t)
						s.cfg.Stats.Snapshot.TotalTables.Add(1)
						s.cfg.Stats.Snapshot.RemainingTables.Add(1)
					}
				}
			}
			in.mu.Unlock()
			if !ended {
				log.Info("incremental snapshot: tables added", "tables", tableNames(tables))
				return nil
			}
		}
		// The initial snapshot's rest, or an incremental one whose reader is done: after it.
		s.queueIncremental(tables, log)
		return nil
	}
	if s.snap != nil && s.snap.base == nil {
		// The initial snapshot runs: after it (its positions name the tables, stampIncrWait).
		s.queueIncremental(tables, log)
		return nil
	}
	conn, err := s.snapshotConnect(ctx)
	if err != nil {
		return err
	}
	in := &incr{queue: slices.Clone(tables), after: after, stopped: map[*snapTable]bool{}}
	in.paused.Store(paused) // before the reader starts: a paused snapshot reads no chunk
	rs := &resumed{conn: conn, ready: make(chan *chunk, 1), nonce: strconv.FormatUint(rand.Uint64(), 36),
		tables: slices.Clone(tables), after: after, seq: 1, first: true, incr: in}
	st := &s.cfg.Stats.Snapshot
	st.Running.Store(true)
	st.Completed.Store(false)
	st.Paused.Store(paused)
	st.StartedUnixNano.Store(time.Now().UnixNano())
	st.TotalTables.Store(int64(len(tables)))
	st.RemainingTables.Store(int64(len(tables)))
	for _, t := range tables {
		s.incrProgress(t)
	}
	s.resumed = rs
	rctx, cancel := context.WithCancel(context.Background())
	rs.cancel = cancel
	rs.wg.Add(1)
	go func() {
		defer rs.wg.Done()
		s.readIncremental(rctx, rs)
	}()
	log.Info("incremental snapshot started", "tables", tableNames(tables))
	return nil
}

func (s *Source) incrProgress(t *snapTable) {
	t.progress = s.cfg.Stats.Snapshot.Table(t.rel.table.ID.Schema + "." + t.rel.table.ID.Table)
	t.progress.Estimate.Store(max(t.estimate, 0))
	t.progress.Done.Store(false)
}

// stopIncremental drops the tables snap matches (all without data-collections) from the
// running incremental snapshot. A chunk already in its window is still emitted.
func (s *Source) stopIncremental(snap *signal.Snapshot, log interface {
	Info(string, ...any)
}) {
	rs := s.resumed
	in := rs.incr
	in.mu.Lock()
	var stopped []*snapTable
	keep := rs.tables[:0:0]
	for i, t := range rs.tables {
		if !snap.Matches(t.rel.table.ID.String()) {
			keep = append(keep, t)
			continue
		}
		in.stopped[t] = true
		stopped = append(stopped, t)
		if i == 0 {
			keep = append(keep, t) // its chunk may be in flight: chunkDone moves past it
		}
	}
	rs.tables = keep
	in.mu.Unlock()
	s.cfg.Stats.Snapshot.RemainingTables.Add(-int64(len(stopped)))
	log.Info("incremental snapshot: tables stopped", "tables", tableNames(stopped))
}

// incrementalDone ends an incremental snapshot whose reader has handed over its last chunk
// and whose chunks were all emitted. Positions after it carry no snapshot progress.
func (s *Source) incrementalDone() {
	s.resumed.close()
	s.resumed = nil
	st := &s.cfg.Stats.Snapshot
	st.Running.Store(false)
	st.Paused.Store(false)
	st.Completed.Store(true)
	st.RemainingTables.Store(0)
	st.EndedUnixNano.Store(time.Now().UnixNano())
	s.log.Info("incremental snapshot completed", "tables", st.TotalTables.Load())
}

// startWaiting starts the incremental snapshot of tables that waited for the one before (or
// for the initial snapshot's rest), or the one a stored offset left unfinished.
func (s *Source) startWaiting(ctx context.Context) error {
	if s.incrResume != nil {
		r := s.incrResume
		s.incrResume = nil
		return s.resumeIncremental(ctx, r)
	}
	tables := s.incrWait
	s.incrWait = nil
	return s.startIncremental(ctx, tables, nil, false, s.log)
}

// resumeIncremental carries on the incremental snapshot a stored offset records.
func (s *Source) resumeIncremental(ctx context.Context, r *Position) error {
	var all []*snapTable
	if err := s.bounded(ctx, "list the tables of an incremental snapshot", func(ctx context.Context) (err error) {
		all, err = s.snapshotTables(ctx, s.cat.conn)
		return err
	}); err != nil {
		return err
	}
	byName := map[string]*snapTable{}
	for _, t := range all {
		byName[t.rel.table.ID.String()] = t
	}
	var tables []*snapTable
	var after []string
	for i, name := range r.IncrTables {
		t := byName[name]
		if t == nil || len(t.pk) == 0 {
			s.log.Warn("incremental snapshot: a table of the stored offset is no longer captured (or lost its key) and is left out", "table", name)
			continue
		}
		t.where = r.IncrFilters[name]
		if ok, err := s.filterAccepted(ctx, t, s.log); err != nil {
			return err
		} else if !ok {
			continue
		}
		if i == 0 && len(r.IncrAfter) == len(t.pk) {
			after = r.IncrAfter
		}
		tables = append(tables, t)
	}
	if len(tables) == 0 {
		return nil
	}
	s.log.Info("resuming the unfinished incremental snapshot", "tables", tableNames(tables), "after", fmt.Sprint(after), "paused", r.IncrPaused)
	if r.IncrPaused {
		s.log.Info("the incremental snapshot was paused by a pause-snapshot signal and stays paused; insert a resume-snapshot signal to go on")
	}
	return s.startIncremental(ctx, tables, after, r.IncrPaused, s.log)
}

// stampIncremental writes the incremental snapshot's progress into q.
func (rs *resumed) stampIncremental(q *Position) {
	q.IncrTables = make([]string, 0, len(rs.tables))
	q.IncrFilters = nil
	q.IncrPaused = rs.incr.paused.Load()
	for _, t := range rs.tables {
		if rs.incr.stopped[t] {
			continue
		}
		name := t.rel.table.ID.String()
		q.IncrTables = append(q.IncrTables, name)
		if t.where != "" {
			if q.IncrFilters == nil {
				q.IncrFilters = map[string]string{}
			}
			q.IncrFilters[name] = t.where
		}
	}
	if len(rs.tables) > 0 && !rs.incr.stopped[rs.tables[0]] {
		q.IncrAfter = rs.after
	} else {
		q.IncrAfter = nil
	}
}

func tableNames(ts []*snapTable) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.rel.table.ID.String()
	}
	return out
}

// isSignalTable reports whether ns.name is the signal table (--signal-data-collection).
func (s *Source) isSignalTable(ns, name string) bool {
	return s.cfg.SignalDataCollection != "" && s.cfg.SignalDataCollection == (schema.TableID{Schema: ns, Table: name}).String()
}
