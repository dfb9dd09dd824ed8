package mysql

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql/replication"
	"github.com/sluicecdc/sluice/schema"
	"github.com/sluicecdc/sluice/signal"
)

// Incremental snapshots (Debezium's ad hoc incremental snapshot, started by an
// execute-snapshot signal) run on the watermark windows of snapshot_resume.go: the tables the
// signal names are read in primary-key chunks, each between a low and a high watermark row of
// the signal table, and a chunk row whose key the stream changed inside the window is
// dropped (the stream's event stands). The rows go out with op r and source.snapshot
// "incremental".
//
// Progress is in every position handed out while one runs (incremental_snapshot_tables,
// _after, _filters), so a restart carries on at the chunk after the last one emitted. The
// signals themselves are rows inserted into the signal table (--signal-data-collection), read
// from the stream at their place in it, or handed to Signal (the Kafka channel).

// sigAt is a signal with where it was read.
type sigAt struct {
	sig signal.Signal
	at  string
}

// signalRow takes a row of the signal table from the stream (Next's goroutine): a watermark
// is passed to the resumed snapshot and swallowed (false); an inserted signal is queued and
// its row emitted like any captured row (true). The caller acts on the signal (actOnSignals)
// before it emits the row, so that the row's position already carries the effect.
func (s *Source) signalRow(op capture.Op, after capture.Row, at *Position) bool {
	if len(after) < 3 {
		return true
	}
	typ := string(after[1].Bytes)
	if typ == windowOpen || typ == windowClose {
		if s.resumed != nil {
			s.resumed.watermarkSeen(string(after[0].Bytes), typ)
		}
		return false // a watermark (this run's or another's) is no change to emit
	}
	if op != capture.OpCreate || s.cfg.NoTableSignals {
		return true // only inserts are signals, and only with the source channel enabled
	}
	sig, err := signal.FromRow(nil, after)
	where := ""
	if at != nil {
		where = at.String()
	}
	if err != nil {
		// A signal is an operator's request, not data: a bad one is reported, the stream goes on.
		s.log.Error("ignoring a signal that cannot be acted on; insert a corrected one", "error", err, "at", where)
		return true
	}
	s.signals = append(s.signals, sigAt{sig, where})
	return true
}

// Signal hands the source a signal from outside the stream that has no offset to store (a
// test, an embedding program). Any goroutine may call it; it does not block. Next acts on it
// before its next event, at the stream's position then.
func (s *Source) Signal(sig signal.Signal) {
	s.handOver(inboxSignal{sig: &sig, offset: -1})
}

// ReceiveSignal implements signal.Receiver: sig (nil: nothing to act on) read at offset of
// the Kafka signal topic.
func (s *Source) ReceiveSignal(sig *signal.Signal, offset int64) {
	s.handOver(inboxSignal{sig: sig, offset: offset, kafka: true})
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

func (s *Source) handOver(in inboxSignal) {
	s.inboxMu.Lock()
	s.inbox = append(s.inbox, in)
	s.inboxN.Add(1)
	if in.sig != nil && s.wake != nil {
		s.wake()
	}
	s.inboxMu.Unlock()
}

// takeInbox moves the signals handed over into s.signals and the Kafka channel's offset into
// the positions handed out from now on (Next's goroutine). With all false (the initial
// snapshot, which acts on no signal) it takes only what comes before the first signal to act
// on: a position must not say a signal was read before its effect is in the positions.
func (s *Source) takeInbox(all bool) {
	s.inboxMu.Lock()
	defer s.inboxMu.Unlock()
	at := ""
	if s.st.lastPos != nil {
		at = s.st.lastPos.String()
	}
	n := 0
	for _, in := range s.inbox {
		if in.sig != nil {
			if !all {
				break
			}
			s.signals = append(s.signals, sigAt{*in.sig, at})
		}
		if in.kafka {
			s.sigNext, s.hasSigNext = in.offset+1, true
		}
		n++
	}
	s.inbox = append(s.inbox[:0], s.inbox[n:]...)
	s.inboxN.Store(int32(len(s.inbox)))
}

// takesSignals says whether signals handed over are taken now: not while the rest of an
// initial snapshot runs, whose positions cannot hold an incremental snapshot queued after it
// (a restart would lose it with the channel's offset already past its signal).
func (s *Source) takesSignals() bool {
	return s.phase == phaseStream && (s.resumed == nil || s.resumed.incr)
}

// handleSignals acts on the signals read so far, and starts an incremental snapshot that
// waited for the one before (Next's goroutine, between events).
func (s *Source) handleSignals(ctx context.Context) error {
	if s.inboxN.Load() > 0 {
		s.takeInbox(s.takesSignals())
	}
	if err := s.actOnSignals(ctx); err != nil {
		return err
	}
	if s.resumed == nil && len(s.incrWait) > 0 {
		w := s.incrWait
		s.incrWait = nil
		return s.startIncremental(ctx, w, nil)
	}
	return nil
}

// actOnSignals acts on the signals read so far, in order.
func (s *Source) actOnSignals(ctx context.Context) error {
	for len(s.signals) > 0 {
		sa := s.signals[0]
		s.signals = s.signals[1:]
		if err := s.handleSignal(ctx, sa.sig, sa.at); err != nil {
			return err
		}
	}
	return nil
}

// incrTable is a table of an incremental snapshot with its additional condition.
type incrTable struct {
	id     schema.TableID
	filter string
}

func (s *Source) handleSignal(ctx context.Context, sig signal.Signal, at string) error {
	log := s.log.With("signal_id", sig.ID, "signal_type", string(sig.Type))
	rs := s.resumed
	running := rs != nil && rs.incr
	switch sig.Type {
	case signal.Log:
		log.Info(sig.LogMessage(at))
	case signal.PauseSnapshot:
		if !running {
			log.Warn("pause-snapshot: no incremental snapshot is running")
			return nil
		}
		rs.paused = true
		s.cfg.Stats.Snapshot.Paused.Store(true)
		log.Info("incremental snapshot paused; send a resume-snapshot signal to go on")
	case signal.ResumeSnapshot:
		if !running {
			log.Warn("resume-snapshot: no incremental snapshot is running")
			return nil
		}
		rs.paused = false
		s.cfg.Stats.Snapshot.Paused.Store(false)
		log.Info("incremental snapshot resumed")
	case signal.StopSnapshot:
		if !running {
			log.Warn("stop-snapshot: no incremental snapshot is running")
			return nil
		}
		s.stopIncremental(sig.Snapshot, log.Info)
	case signal.ExecuteSnapshot:
		snap := sig.Snapshot
		if snap.Type == signal.Blocking {
			return s.queueBlocking(ctx, snap, log)
		}
		if snap.SurrogateKey != "" {
			log.Error("execute-snapshot: surrogate-key is not supported yet; the tables are chunked by their primary key. Send the signal without it")
			return nil
		}
		if s.cfg.SignalDataCollection == "" && !s.cfg.ReadOnly {
			log.Error("execute-snapshot: an incremental snapshot writes its watermarks into the signal table: set --signal-data-collection (signal.data.collection), or --read-only (GTID windows, no writes)")
			return nil
		}
		var tables []incrTable
		refused := 0
		for _, t := range s.cat.Tables() {
			id := t.ID
			if !s.f.table(id.DB, id.Table) || !snap.Matches(id.String()) || id == s.sigID {
				continue
			}
			if len(t.PrimaryKey) == 0 {
				log.Error("execute-snapshot: table has no primary key and is left out (an incremental snapshot matches chunk rows with stream events by key)", "table", id.String())
				continue
			}
			it := incrTable{id, snap.Filter(id.String())}
			if ok, err := s.filterAccepted(ctx, it, log); err != nil {
				return err
			} else if !ok {
				refused++
				continue
			}
			tables = append(tables, it)
		}
		if len(tables) == 0 && refused > 0 {
			return nil
		}
		if len(tables) == 0 {
			log.Error("execute-snapshot: data-collections match no captured table with a primary key (names are db.table regular expressions; the table must be in the include lists)", "data_collections", snap.DataCollections)
			return nil
		}
		return s.startIncremental(ctx, tables, nil)
	}
	return nil
}

// filterAccepted tries t's additional-conditions filter on the server before a chunk uses it:
// a filter the server refuses (bad SQL, an unknown column) would fail every chunk read, and
// with it the source at every restart (the filter is stored with the progress). A refused
// filter is a bad signal: logged, and the table left out (false). err is a failure to ask.
func (s *Source) filterAccepted(ctx context.Context, t incrTable, log interface{ Error(string, ...any) }) (bool, error) {
	refused, err := s.filterRefused(ctx, t)
	if err != nil {
		return false, err
	}
	if refused != nil {
		log.Error("execute-snapshot: the server refuses the additional-conditions filter of the table, which is left out; send the signal again with a corrected filter",
			"table", t.id.String(), "filter", t.filter, "error", refused)
		return false, nil
	}
	return true, nil
}

// filterRefused runs t's additional-conditions filter on the server with LIMIT 0 (no row is
// read): refused is the server's refusal (SQL states of classes 42, syntax, unknown names, no
// privilege, and 22, bad literals: the filter's fault); err a failure to ask, retried.
func (s *Source) filterRefused(ctx context.Context, t incrTable) (refused, err error) {
	if t.filter == "" {
		return nil, nil
	}
	err = s.bounded(ctx, "check an additional-conditions filter", func(ctx context.Context) error {
		rows, err := s.db.QueryContext(ctx, "SELECT 1 FROM "+quoteID(t.id.DB)+"."+quoteID(t.id.Table)+" WHERE ("+t.filter+") LIMIT 0")
		if err != nil {
			return err
		}
		return rows.Close()
	})
	if me, ok := errors.AsType[*gomysql.MySQLError](err); ok && (string(me.SQLState[:2]) == "42" || string(me.SQLState[:2]) == "22") {
		return err, nil
	}
	return nil, err
}

// filterFault says whether a chunk read the server failed with se, on a table with an
// additional-conditions filter that passed filterRefused, failed for the filter: it fails on
// some rows' values only (a scalar subquery of more than one row, a JSON function over a bad
// document). sluice's own chunk query reads every other table; the codes below are the
// connection's or the server's, not the filter's.
func filterFault(se *replication.ServerError) bool {
	switch se.Code {
	case 1053, // server shutdown in progress
		1205, 1213, // lock wait timeout, deadlock
		1317, 1927, // query interrupted, connection killed (MariaDB)
		1412: // table definition changed (retry)
		return false
	}
	return true
}

// filterFailed logs a table whose snapshot ends early because the server failed a chunk read
// for its additional-conditions filter (filterFault). Debezium ends such a table's incremental
// snapshot and streams on (its TABLE_SCAN_COMPLETED notification says SQL_EXCEPTION); so does
// sluice, with an error that says what went out and what to do: stopping would meet the same
// rows at every restart, since the filter is stored with the progress.
func (s *Source) filterFailed(kind string, id schema.TableID, filter string, published int64, err error) {
	s.log.Error(kind+": the server failed a chunk read of the table with the signal's additional-conditions filter, which fails on some rows' values; "+
		"the rest of the table is not read. The rows published before are the filter's rows in key order up to the failing chunk. "+
		"Fix the filter (or the rows) and send execute-snapshot for the table again",
		"table", id.String(), "filter", filter, "rows_published", published, "error", err)
	tp := s.cfg.Stats.Snapshot.Table(id.String())
	tp.Failed.Store(true)
}

// startIncremental reads tables (the first from after) in an incremental snapshot: added to
// the one running, queued after the rest of an initial snapshot, or started.
func (s *Source) startIncremental(ctx context.Context, tables []incrTable, after [][]byte) error {
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.id.String()
	}
	ss := &s.cfg.Stats.Snapshot
	if rs := s.resumed; rs != nil {
		if !rs.incr {
			s.incrWait = append(s.incrWait, tables...)
			s.log.Info("incremental snapshot queued after the rest of the initial snapshot", "tables", names)
			return nil
		}
		var added []string
		for _, t := range tables {
			if slices.Contains(rs.tables, t.id) && !rs.stopped[t.id] {
				continue
			}
			rs.tables = append(rs.tables, t.id)
			rs.setFilter(t)
			s.incrProgress(t.id)
			ss.TotalTables.Add(1)
			ss.RemainingTables.Add(1)
			added = append(added, t.id.String())
		}
		s.log.Info("incremental snapshot: tables added", "tables", added)
		return nil
	}
	conn, err := s.chunkConn(ctx)
	if err != nil {
		return err
	}
	rs := &resumed{conn: conn, nonce: newNonce(), sig: signalID(s.cfg.SignalDataCollection), first: true, incr: true,
		stopped: map[schema.TableID]bool{}, readOnly: s.cfg.ReadOnly}
	for _, t := range tables {
		rs.tables = append(rs.tables, t.id)
		rs.setFilter(t)
	}
	if after != nil {
		rs.after = after
		rs.hex = make([]string, len(after))
		for i, k := range after {
			rs.hex[i] = hex.EncodeToString(k)
		}
	}
	ss.Running.Store(true)
	ss.Completed.Store(false)
	ss.Aborted.Store(false)
	ss.Paused.Store(false)
	ss.EndedUnixNano.Store(0)
	ss.StartedUnixNano.Store(time.Now().UnixNano())
	ss.TotalTables.Store(int64(len(tables)))
	ss.RemainingTables.Store(int64(len(tables)))
	for _, t := range tables {
		s.incrProgress(t.id)
	}
	s.resumed = rs
	s.log.Info("incremental snapshot started", "tables", names, "signal_table", rs.sig.String())
	return nil
}

func (rs *resumed) setFilter(t incrTable) {
	if t.filter == "" {
		delete(rs.filters, t.id)
		return
	}
	if rs.filters == nil {
		rs.filters = map[schema.TableID]string{}
	}
	rs.filters[t.id] = t.filter
}

func (s *Source) incrProgress(id schema.TableID) {
	tp := s.cfg.Stats.Snapshot.Table(id.String())
	tp.Rows.Store(0)
	tp.Done.Store(false)
	tp.Failed.Store(false)
}

// stopIncremental drops the tables snap matches (all without data-collections) from the
// running incremental snapshot. A chunk already in its window is still emitted.
func (s *Source) stopIncremental(snap *signal.Snapshot, info func(string, ...any)) {
	rs := s.resumed
	var stopped []string
	keep := rs.tables[:0:0]
	for i, id := range rs.tables {
		if !snap.Matches(id.String()) {
			keep = append(keep, id)
			continue
		}
		stopped = append(stopped, id.String())
		if i == 0 && rs.state != chunkRead {
			// Its chunk is in flight: emitted, then the table is dropped (resumeCommit).
			rs.stopped[id] = true
			keep = append(keep, id)
			continue
		}
		s.cfg.Stats.Snapshot.RemainingTables.Add(-1)
		if i == 0 {
			rs.after, rs.hex, rs.first = nil, nil, true
		}
	}
	rs.tables = keep
	info("incremental snapshot: tables stopped", "tables", stopped)
}

// incrementalDone ends an incremental snapshot whose last window closed. Positions after it
// carry no snapshot progress.
func (s *Source) incrementalDone() {
	rs := s.resumed
	rs.close()
	s.resumed = nil
	ss := &s.cfg.Stats.Snapshot
	ss.Running.Store(false)
	ss.Paused.Store(false)
	ss.Completed.Store(true)
	ss.RemainingTables.Store(0)
	ss.EndedUnixNano.Store(time.Now().UnixNano())
	s.log.Info("incremental snapshot completed", "rows", rs.rows, "tables", ss.TotalTables.Load())
}

// resumeIncremental carries on the incremental snapshot the stored offset off records, paused
// if a pause-snapshot signal paused it.
func (s *Source) resumeIncremental(ctx context.Context, off *Position) error {
	if s.cfg.SignalDataCollection == "" && !s.cfg.ReadOnly {
		return errorf("the stored offset records an unfinished incremental snapshot of %v, whose watermarks go into the signal table: "+
			"set --signal-data-collection (signal.data.collection), or --read-only (GTID windows), to carry it on", off.IncrTables)
	}
	tables, after, err := s.offIncrTables(ctx, off)
	if err != nil {
		return err
	}
	if len(tables) == 0 {
		return nil
	}
	s.log.Info("resuming the unfinished incremental snapshot", "tables", off.IncrTables, "after", fmt.Sprint(off.IncrAfter), "paused", off.IncrPaused)
	if err := s.startIncremental(ctx, tables, after); err != nil {
		return err
	}
	if off.IncrPaused {
		s.resumed.paused = true
		s.cfg.Stats.Snapshot.Paused.Store(true)
		s.log.Info("the incremental snapshot was paused by a pause-snapshot signal and stays paused; send a resume-snapshot signal to go on")
	}
	return nil
}

// queueIncremental queues the incremental snapshot off records as signalled while the rest of
// the initial snapshot ran, to start after it (the signal's row is behind off in the binlog).
func (s *Source) queueIncremental(ctx context.Context, off *Position) error {
	if s.cfg.SignalDataCollection == "" && !s.cfg.ReadOnly {
		return errorf("the stored offset records an incremental snapshot of %v queued after the initial snapshot, whose watermarks go into the signal table: "+
			"set --signal-data-collection (signal.data.collection), or --read-only (GTID windows), to run it", off.IncrTables)
	}
	tables, _, err := s.offIncrTables(ctx, off)
	if err != nil {
		return err
	}
	s.incrWait = append(s.incrWait, tables...)
	if len(tables) > 0 {
		s.log.Info("incremental snapshot queued after the rest of the initial snapshot (from the stored offset)", "tables", off.IncrTables)
	}
	return nil
}

// offIncrTables is the incremental snapshot's tables off records, still captured and keyed,
// and the first one's last emitted key.
func (s *Source) offIncrTables(ctx context.Context, off *Position) ([]incrTable, [][]byte, error) {
	var tables []incrTable
	var after [][]byte
	for i, name := range off.IncrTables {
		id := signalID(name)
		t := s.cat.Table(id)
		if t == nil || len(t.PrimaryKey) == 0 || !s.f.table(id.DB, id.Table) {
			s.log.Warn("incremental snapshot: a table of the stored offset is no longer captured (or lost its key) and is left out", "table", name)
			continue
		}
		if ok, err := s.filterAccepted(ctx, incrTable{id, off.IncrFilters[name]}, s.log); err != nil {
			return nil, nil, err
		} else if !ok {
			continue
		}
		if i == 0 && len(off.IncrAfter) == len(t.PrimaryKey) {
			for _, h := range off.IncrAfter {
				k, _ := hex.DecodeString(h) // ParsePosition checked it
				after = append(after, k)
			}
		}
		tables = append(tables, incrTable{id, off.IncrFilters[name]})
	}
	return tables, after, nil
}

// stampIncremental writes the incremental snapshot's progress into p.
func (rs *resumed) stampIncremental(p *Position) {
	p.IncrTables, p.IncrAfter, p.IncrFilters = nil, nil, nil
	p.IncrPaused = rs.paused
	for i, id := range rs.tables {
		if rs.stopped[id] {
			continue
		}
		name := id.String()
		p.IncrTables = append(p.IncrTables, name)
		if f := rs.filters[id]; f != "" {
			if p.IncrFilters == nil {
				p.IncrFilters = map[string]string{}
			}
			p.IncrFilters[name] = f
		}
		if i == 0 {
			p.IncrAfter = rs.hex
		}
	}
}

// stampQueued writes the incremental snapshot queued after the rest of the initial snapshot
// into p, so that a restart queues it again.
func (s *Source) stampQueued(p *Position) {
	p.IncrTables, p.IncrAfter, p.IncrFilters, p.IncrPaused = nil, nil, nil, false
	for _, t := range s.incrWait {
		name := t.id.String()
		if slices.Contains(p.IncrTables, name) {
			continue
		}
		p.IncrTables = append(p.IncrTables, name)
		if t.filter != "" {
			if p.IncrFilters == nil {
				p.IncrFilters = map[string]string{}
			}
			p.IncrFilters[name] = t.filter
		}
	}
}
