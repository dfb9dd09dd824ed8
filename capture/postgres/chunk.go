package postgres

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

// A resumed snapshot: the initial snapshot of a previous run stopped part way (a crash, a
// kill -9, a lost connection) after its stored offset recorded how far it got
// (Position.SnapSchema, SnapTable, SnapAfter). The slot still stands at the snapshot's
// consistent point C (snapshot rows confirm nothing), but the exported snapshot died with the
// previous run. So the rest is read as DBLog does (Netflix, "DBLog: A Watermark Based Change-
// Data-Capture Framework", 2020): streaming restarts at C, and the remaining rows are read in
// key-ordered chunks, each inside a window of the stream between two watermarks:
//
//  1. low watermark: a transactional logical decoding message L (committed);
//  2. the chunk: SELECT … WHERE key > after ORDER BY key LIMIT n, in a snapshot S taken after L
//     committed;
//  3. high watermark: a message H, committed after the read.
//
// The stream is emitted as it comes. Between L and H, every change of the table removes the
// chunk row of the same key (before and after key); at H the chunk rows left are emitted.
// Why the final state of each key is right: a change that commits before L is visible in S, so
// the chunk row (emitted later, at H) is at least as new; a change between L and H may or may
// not be in S, so the chunk row is dropped and the stream's own event (emitted in the window)
// stands; a change after H comes after the chunk row. Nothing is lost: a key the chunk row was
// dropped for had a stream event in the window, which carries its row (or its delete).
//
// One gap remains in "visible in S": a transaction whose commit record precedes L but that is
// not yet visible when S is taken (a backend between writing its commit and leaving the proc
// array, or waiting for a synchronous standby). Such a transaction is in S's xip list. When it
// is already committed in the commit log, the read retries (pg_xact_status of every xid of
// pg_current_snapshot(), in the read's own transaction). When its commit-log bit is not set
// yet (observed under load: a backend descheduled after its commit record, in S's xip for
// several chunks), nothing on the server tells; so the chunk carries S's xip list and the
// emitting side, which remembers the keys each recent transaction changed (pruned below S's
// xmax), drops the chunk rows of keys those transactions changed, whenever they were streamed.
//
// Tables without a primary key have no key to match stream events with: an unfinished
// keyless table is read again from its start, in ctid page ranges of its own transaction
// each. Its rows the stopped attempt delivered come out again (as after any restart); the
// chunk rows that are versions the stream delivered are removed by version (keyless.go). A
// rewrite between its chunks (new files, rows packed from page 0) makes the read start again
// from page 0 (keylessPass).
//
// Every position handed out meanwhile carries the snapshot progress: the table and the last
// key whose chunk was emitted completely, so a restart in the resumed phase resumes again.
// A chunk's rows carry the position of its high watermark with the progress before them: the
// key of the chunk's row markRows (512) rows back at most, so a restart re-reads at most that
// many rows of the chunk being emitted. Why resuming inside a chunk is right: the rows up to
// that key went out at the high watermark H (or were dropped for a stream event before H), the
// stream restarts at H, and the rest is read in a window opened after the restart, in which a
// change streamed after H is visible or dropped as for any chunk.

// watermarkPrefix is the prefix of the watermark messages (pg_logical_emit_message). They
// never reach the sink.
const watermarkPrefix = "sluice.snapshot.watermark"

// resumeState is where the emitting side of a resumed snapshot stands.
type resumeState int

const (
	resumeIdle      resumeState = iota // waiting for the low watermark of chunk seq
	resumeWindow                       // L seen: collecting the keys the stream changes
	resumeNeedChunk                    // H seen: the chunk's rows are due
	resumeEmitting                     // emitting the chunk rows left
)

// chunk is one read of a resumed snapshot: rows of t in key order after the previous chunk's
// (or a keyless table's page range), read between the watermarks of seq.
type chunk struct {
	seq  int
	t    *snapTable
	rows []capture.Row
	keys map[string]int // row index by key
	last []string       // the last row's key
	// marks are the keys of every markRows-th row (rows markRows-1, 2*markRows-1, …): the
	// progress of the rows after each, so a restart re-reads at most markRows rows of the
	// chunk being emitted rather than all of it. None for a keyless table.
	marks [][]string
	more  bool // the table may have rows after the chunk
	err   error
	// restart: a keyless table's read starts again from page 0 with this chunk, its files
	// having changed since the read began (keylessPass).
	restart bool
	// xmins are, for a keyless table, each row's xmin (the transaction that wrote its
	// version): the rows the stream delivered are dropped (keyless.go).
	xmins []uint32
	// vis is the initial snapshot's transaction list (nil: not recorded); visOK says the
	// chunk's own transaction found it applies: rows whose xmin it did not see are dropped.
	vis   *snapVisibility
	visOK bool
	// invisible are the transactions in progress in the read's snapshot (its xip list, as
	// 32-bit xids): one whose commit record precedes the low watermark in the WAL, yet was
	// not visible when the snapshot was taken (between its commit record and leaving the
	// proc array; observed under load on a 2-core host), streamed its changes before the
	// window opened: the chunk rows of its keys are stale and are dropped too.
	invisible []uint32
	xmax      uint32 // the read snapshot's xmax (32-bit): every xid below it and not invisible is settled
	// reach is, in read-only mode (Config.ReadOnly), where the stream must have been decoded
	// before the chunk is emitted: the WAL position when its snapshot was taken (past the
	// commit record of every transaction it sees).
	reach uint64
}

// resumed is a resumed snapshot. A reader goroutine (readChunks, on conn) writes the
// watermarks and reads the chunks one after the other, a chunk ahead of the emitting side
// (Next's goroutine), which follows the windows in the stream and emits each chunk at its
// high watermark. Windows never overlap: L of a chunk is written after H of the one before.
type resumed struct {
	conn   *pgx.Conn   // the reader's: chunks and watermarks (snapshotConnect: a big read buffer)
	ready  chan *chunk // the reader's chunks, in order; closed after the last (or an error)
	cancel context.CancelFunc
	wg     sync.WaitGroup
	nonce  string // this run's watermark tag

	// Emitting side (Next's goroutine).
	tables []*snapTable // the tables not completely emitted, in order
	after  []string     // tables[0]'s keys up to this one are emitted; nil: none
	seq    int          // the chunk whose window comes next
	state  resumeState
	win    map[schema.TableID]map[string]bool // keys changed in the open window
	early  *chunk                             // received before its high watermark
	closed bool                               // ready is closed
	cur    *chunk
	gone   []bool
	next   int
	pos    *Position // the chunk rows' position (the high watermark's)
	// reread is pos saying it rereads its row (capture.Rereader), made once for rereadOf.
	reread, rereadOf *Position
	ts               int64
	keyOf            []byte
	first            bool  // the next row emitted is the first of its table
	incr             *incr // an incremental snapshot's reader state (incremental.go); nil: the initial snapshot's rest
	// pre: keys changed by each recent transaction (xid), for chunk.invisible; pruned at each
	// chunk of the transactions no later read can miss.
	pre map[uint32][]txKey
	// versions: the row versions the stream delivered of the keyless tables left (keyless.go);
	// nil: none, or an incremental snapshot.
	versions *streamedVersions
	// xids, vis: the initial snapshot's transaction list (Position.SnapXids) and its parse;
	// "" and nil when the offset had none.
	xids string
	vis  *snapVisibility
}

// txKey is a key one transaction changed.
type txKey struct {
	table schema.TableID
	key   string
}

// resumable reports whether the unfinished snapshot of r can be resumed (rather than taken
// again), and why not. An offset without progress (an older sluice's: no snapshot_table, no
// snapshot_slot) resumes from the first table: its position is the snapshot's consistent
// point, where the slot still stands, and taking the snapshot again at a later LSN would lose
// the deletes in between of rows already published.
func (s *Source) resumable(r *Position) (bool, string) {
	switch {
	case r == nil || !r.Snapshot || r.SnapshotCompleted:
		return false, "no unfinished snapshot"
	case s.cfg.SnapshotMode == SnapshotAlways:
		return false, "snapshot mode always takes a new snapshot"
	case s.version < 140000 || s.cfg.noResumeMessages:
		return false, "resuming needs PostgreSQL 14 or later: its watermarks are logical decoding messages, which pgoutput sends from 14 on"
	}
	return true, ""
}

// resumeSnapshot prepares the rest of the snapshot of r on the existing slot: streaming
// restarts at the stored offset, the tables left are read in watermark windows.
func (s *Source) resumeSnapshot(ctx context.Context, r *Position, confirmed *string) error {
	var tables []*snapTable
	if err := s.bounded(ctx, "list the snapshot's tables", func(ctx context.Context) (err error) {
		tables, err = s.snapshotTables(ctx, s.cat.conn)
		return err
	}); err != nil {
		return err
	}
	done := 0
	for done < len(tables) {
		id := tables[done].rel.table.ID
		if cmp.Or(cmp.Compare(id.Schema, r.SnapSchema), cmp.Compare(id.Table, r.SnapTable)) >= 0 {
			break
		}
		done++
	}
	conn, err := s.snapshotConnect(ctx)
	if err != nil {
		return err
	}
	rs := &resumed{conn: conn, ready: make(chan *chunk, 1), nonce: strconv.FormatUint(rand.Uint64(), 36),
		tables: tables[done:], seq: 1, first: true}
	rs.versions = newStreamedVersions(rs.tables)
	if rs.versions != nil && r.SnapXids != "" {
		if v, err := parseSnapVisibility(r.SnapXids); err != nil {
			s.log.Warn("the stored offset's snapshot_xids is not a snapshot: rows of tables without a key written in subtransactions or before an earlier restart may be read twice", "error", err)
		} else {
			rs.xids, rs.vis = r.SnapXids, v
		}
	}
	if len(rs.tables) > 0 {
		id := rs.tables[0].rel.table.ID
		if id.Schema == r.SnapSchema && id.Table == r.SnapTable && len(rs.tables[0].pk) == len(r.SnapAfter) {
			rs.after = r.SnapAfter
		}
	}
	st := &s.cfg.Stats.Snapshot
	st.Running.Store(true)
	st.Completed.Store(false)
	st.StartedUnixNano.Store(time.Now().UnixNano())
	st.TotalTables.Store(int64(len(tables)))
	st.RemainingTables.Store(int64(len(rs.tables)))
	for i, t := range tables {
		t.progress = st.Table(t.rel.table.ID.Schema + "." + t.rel.table.ID.Table)
		t.progress.Estimate.Store(max(t.estimate, 0))
		t.progress.Done.Store(i < done)
	}
	s.resumeFrom(r, confirmed)
	s.resumed = rs
	rctx, cancel := context.WithCancel(context.Background())
	rs.cancel = cancel
	rs.wg.Add(1)
	go func() {
		defer rs.wg.Done()
		s.readChunks(rctx, rs, rs.tables, rs.after)
	}()
	s.log.Info("resuming the unfinished snapshot in watermark windows", "tables_done", done, "tables_left", len(rs.tables),
		"table", r.SnapSchema+"."+r.SnapTable, "after", strings.Join(r.SnapAfter, ","), "start_lsn", strconv.FormatUint(s.startLSN, 10))
	return nil
}

// readChunks is the reader goroutine: every chunk of every table left, in order, each between
// its watermarks, handed to the emitting side. It stops at the first error, which it hands on.
func (s *Source) readChunks(ctx context.Context, rs *resumed, tables []*snapTable, after []string) {
	defer close(rs.ready)
	seq := 0
	var keyOf []byte
	for _, t := range tables {
		var pass keylessPass
		for {
			seq++
			c := &chunk{seq: seq, t: t}
			if len(t.pk) == 0 {
				c.vis = rs.vis // nil but in a resumed initial snapshot
			}
			c.err = s.readChunk(ctx, rs, c, after, &pass, &keyOf)
			select {
			case rs.ready <- c:
			case <-ctx.Done():
				return
			}
			if c.err != nil {
				return
			}
			if !c.more {
				after = nil
				break
			}
			if len(c.last) > 0 {
				after = c.last
			}
		}
	}
}

// resumedNext is Next's step for a resumed snapshot: a chunk row to emit (ok), or nothing to
// do now (the caller streams).
func (s *Source) resumedNext(ctx context.Context) (capture.Event, bool, error) {
	rs := s.resumed
	if rs.state == resumeNeedChunk {
		c := rs.early
		rs.early = nil
		if c == nil {
			var ok bool
			select {
			case c, ok = <-rs.ready:
			case <-ctx.Done():
				return capture.Event{}, false, ctx.Err()
			}
			if !ok {
				return capture.Event{}, false, fmt.Errorf("postgres snapshot: the chunk of watermark %d never came", rs.seq)
			}
		}
		if c.err != nil {
			return capture.Event{}, false, c.err
		}
		if c.seq != rs.seq {
			return capture.Event{}, false, fmt.Errorf("postgres snapshot: chunk %d at the watermarks of %d", c.seq, rs.seq)
		}
		rs.cur, rs.next, rs.gone = c, 0, make([]bool, len(c.rows))
		for k := range rs.win[c.t.rel.table.ID] {
			if i, ok := c.keys[k]; ok {
				rs.gone[i] = true
			}
		}
		for xid, keys := range rs.pre {
			// Read-only: no window, so every streamed transaction the read did not see (in
			// progress, or begun after it) is newer than the chunk row. With watermarks the
			// window covers those that began after it.
			if !slices.Contains(c.invisible, xid) && !(s.cfg.ReadOnly && int32(xid-c.xmax) >= 0) {
				continue
			}
			for _, tk := range keys {
				if i, ok := c.keys[tk.key]; ok && tk.table == c.t.rel.table.ID {
					rs.gone[i] = true
				}
			}
		}
		// A transaction below this read's xmax and not invisible to it has ended for every
		// later read as well (which take their snapshots later): its keys are needed no more.
		for xid := range rs.pre {
			if int32(xid-c.xmax) < 0 && !slices.Contains(c.invisible, xid) {
				delete(rs.pre, xid)
			}
		}
		if c.restart {
			// The table's read starts over: its first row says so, and a sink that counts
			// a keyless table's identical reads (ClickHouse) starts its count over there.
			rs.first = true
			rs.versions.restart(c.t.rel.table.ID)
		}
		if len(c.t.pk) == 0 && rs.versions != nil {
			id := c.t.rel.table.ID
			for i, row := range c.rows {
				if rs.gone[i] || i >= len(c.xmins) {
					continue
				}
				if c.visOK && !c.vis.saw(c.xmins[i]) || rs.versions.drop(id, c.xmins[i], row) {
					rs.gone[i] = true
					c.t.streamed++
				}
			}
		}
		rs.win = nil
		rs.state = resumeEmitting
	}
	switch rs.state {
	case resumeEmitting:
		c := rs.cur
		for rs.next < len(c.rows) {
			i := rs.next
			rs.next++
			if i > 0 && i%markRows == 0 && i/markRows <= len(c.marks) {
				// The rows before i went out: later positions say so.
				rs.after = c.marks[i/markRows-1]
				rs.pos = s.stamp(rs.pos)
			}
			if rs.gone[i] {
				continue
			}
			return s.resumedRow(c.t, c.rows[i], s.chunkRowPos(c, i)), true, nil
		}
		s.chunkDone()
	case resumeIdle, resumeWindow:
		// A chunk (or the reader's error, or its end) may come before its window closes.
		if rs.early == nil && !rs.closed {
			select {
			case c, ok := <-rs.ready:
				if err := rs.took(c, ok); err != nil {
					return capture.Event{}, false, err
				}
			default:
			}
		}
		if s.cfg.ReadOnly && rs.state == resumeIdle && rs.early != nil {
			if ok := s.readOnlyDue(); ok {
				return s.resumedNext(ctx)
			}
		}
		if rs.incr != nil && rs.state == resumeIdle && rs.closed && rs.early == nil {
			// Every chunk came and was emitted (a stopped table may still be listed).
			s.incrementalDone()
			return capture.Event{}, false, nil
		}
		if rs.state == resumeIdle && rs.closed && rs.early == nil && len(rs.tables) == 0 &&
			!s.inTx && s.streamXid == 0 && s.replay == nil && s.pendHead == len(s.pending) {
			// Between transactions, with the events decoded before the last commit out: the
			// done event's position is that commit's end.
			return s.resumedDone(), true, nil
		}
	}
	return capture.Event{}, false, nil
}

// took keeps a chunk received before it is due (or notes the reader's end); a chunk's error
// is returned.
func (rs *resumed) took(c *chunk, ok bool) error {
	switch {
	case !ok:
		rs.closed = true
	case c.err != nil:
		return c.err
	default:
		rs.early = c
	}
	return nil
}

// readyWake is the reader's channel while a snapshot waits for its next chunk (wait), nil
// otherwise. A read-only snapshot has no watermark in the stream to wake Next when it comes;
// with watermarks the high one does, but a read that fails (a lock timeout) writes none, and
// an idle stream would hold its error back until the server's next keepalive.
func (s *Source) readyWake() chan *chunk {
	if rs := s.resumed; rs != nil && rs.early == nil && !rs.closed && (rs.state == resumeIdle || !s.cfg.ReadOnly && rs.state == resumeWindow) {
		return rs.ready
	}
	return nil
}

// readOnlyDue makes the early chunk of a read-only snapshot due (resumeNeedChunk) once the
// stream has been decoded up to its reach and every event before that point was handed out,
// so that each stream event of a transaction the read saw precedes the chunk row; it asks the
// server for a keepalive (its decoded WAL position) when no transaction brings the stream
// there.
func (s *Source) readOnlyDue() bool {
	rs := s.resumed
	if s.inTx || s.streamXid != 0 || s.replay != nil || s.pendHead != len(s.pending) || len(s.batch) > 0 {
		return false
	}
	if max(s.lastCommitEnd, s.walSeen) < rs.early.reach {
		select {
		case s.pingNote <- struct{}{}:
		default:
		}
		return false
	}
	now := time.Now().UnixMicro()
	cp := s.commitPos()
	rs.pos = s.stamp(&Position{LSN: cp, ProcLSN: cp, CommitLSN: cp, TsMicros: now})
	rs.ts = now
	rs.state = resumeNeedChunk
	return true
}

// chunkRowPos is the position of row i of the chunk being emitted. The rows carry the
// progress at the last mark before them (rs.pos), so a restart from one reads it again
// (capture.Rereader); a mark's row and the chunk's last say they are done themselves, and an
// exactly-once sink ends a transaction only there. A keyless table's rows name no progress: a
// restart reads the table again whole (they do not say so, or one transaction would hold the
// whole table).
func (s *Source) chunkRowPos(c *chunk, i int) *Position {
	rs := s.resumed
	if len(c.t.pk) == 0 {
		return rs.pos
	}
	var done []string
	switch {
	case (i+1)%markRows == 0 && (i+1)/markRows <= len(c.marks):
		done = c.marks[(i+1)/markRows-1]
	case i == len(c.rows)-1:
		// The table's last row too: its key names the table as done (a restart reads
		// nothing after it), where the position after the table would name none when it
		// was the last.
		done = c.last
	}
	if done == nil {
		if rs.rereadOf != rs.pos {
			p := *rs.pos
			p.rereads = true
			rs.reread, rs.rereadOf = &p, rs.pos
		}
		return rs.reread
	}
	after := rs.after
	rs.after = done
	p := s.stamp(rs.pos)
	rs.after = after
	p.rereads = false
	return p
}

// resumedRow is a chunk row as a snapshot read event at pos.
func (s *Source) resumedRow(t *snapTable, row capture.Row, pos *Position) capture.Event {
	rs := s.resumed
	tab := t.rel.table
	m := capture.SnapshotTrue
	if rs.incr != nil {
		m = capture.SnapshotIncremental
	} else if rs.first {
		m, rs.first = capture.SnapshotFirstInTable, false
	}
	t.done++
	t.progress.Rows.Add(1)
	return capture.Event{Kind: capture.Change, Op: capture.OpRead, Table: tab, After: row, Position: pos,
		Source: capture.Source{Connector: "postgresql", DB: s.dbName, Schema: tab.ID.Schema, Table: tab.ID.Table, TsMicros: rs.ts,
			LSN: pos.LSN, HasLSN: true, Snapshot: m}}
}

// chunkDone moves past the chunk whose rows were all emitted.
func (s *Source) chunkDone() {
	rs := s.resumed
	c := rs.cur
	rs.state, rs.cur, rs.gone, rs.next, rs.pos = resumeIdle, nil, nil, 0, nil
	rs.seq++
	for len(rs.tables) > 0 && rs.tables[0] != c.t {
		rs.tables = rs.tables[1:] // cannot happen: every table has a chunk
	}
	if c.more {
		if len(c.last) > 0 {
			rs.after = c.last
		}
		return
	}
	c.t.progress.Done.Store(true)
	s.cfg.Stats.Snapshot.RemainingTables.Add(-1)
	rs.versions.done(c.t.rel.table.ID)
	if len(c.t.pk) == 0 && rs.versions != nil {
		s.log.Info("snapshot table done", "table", c.t.rel.table.ID.String(), "rows", c.t.done, "resumed", true,
			"rows_streamed_instead", c.t.streamed)
	} else {
		s.log.Info("snapshot table done", "table", c.t.rel.table.ID.String(), "rows", c.t.done, "resumed", true)
	}
	if len(rs.tables) > 0 {
		rs.tables = rs.tables[1:]
	}
	rs.after, rs.first = nil, true
}

// resumedDone ends the resumed snapshot between transactions.
func (s *Source) resumedDone() capture.Event {
	s.resumed.close()
	s.resumed = nil
	st := &s.cfg.Stats.Snapshot
	st.Running.Store(false)
	st.Completed.Store(true)
	st.EndedUnixNano.Store(time.Now().UnixNano())
	s.log.Info("snapshot completed", "resumed", true, "tables", st.TotalTables.Load())
	if s.cfg.SnapshotMode == SnapshotInitialOnly {
		s.snapOnly = true
	}
	lsn := s.commitPos()
	now := time.Now().UnixMicro()
	return capture.Event{Kind: capture.SnapshotDone, Source: capture.Source{Connector: "postgresql", DB: s.dbName, TsMicros: now, LSN: lsn, HasLSN: true},
		Position: &Position{LSN: lsn, ProcLSN: lsn, CommitLSN: lsn, TsMicros: now, SnapshotCompleted: true}}
}

// resumedSee passes a streamed event through the resumed snapshot: it swallows the
// watermarks (false), notes the keys changed in a window, and stamps the snapshot progress
// on the event's position.
func (s *Source) resumedSee(ev capture.Event) (capture.Event, bool) {
	rs := s.resumed
	if isWatermark(ev) {
		tag := string(ev.Message.Content)
		switch {
		case rs.state == resumeIdle && tag == rs.tag("L", rs.seq):
			rs.state = resumeWindow
			rs.win = map[schema.TableID]map[string]bool{}
		case rs.state == resumeWindow && tag == rs.tag("H", rs.seq):
			rs.state = resumeNeedChunk
			p, _ := ev.Position.(*Position)
			if p == nil {
				p = &Position{LSN: ev.Source.LSN, CommitLSN: s.commitPos()}
			}
			rs.pos = s.stamp(p)
			rs.ts = ev.Source.TsMicros
		}
		return capture.Event{}, false
	}
	rs.versions.see(s.log, &ev)
	if (rs.state == resumeIdle || rs.state == resumeWindow) && ev.Kind == capture.Change && ev.Table != nil && ev.Source.HasTxID {
		// Remembered by transaction for the next chunks' invisible transactions.
		xid := uint32(ev.Source.TxID)
		for _, row := range []capture.Row{ev.Before, ev.After} {
			if row != nil {
				if rs.pre == nil {
					rs.pre = map[uint32][]txKey{}
				}
				rs.pre[xid] = append(rs.pre[xid], txKey{ev.Table.ID, string(rowKey(&rs.keyOf, ev.Table.PrimaryKey, row))})
			}
		}
	}
	if rs.state == resumeWindow && ev.Kind == capture.Change && ev.Table != nil {
		keys := rs.win[ev.Table.ID]
		for _, row := range []capture.Row{ev.Before, ev.After} {
			if row == nil {
				continue
			}
			if keys == nil {
				keys = map[string]bool{}
				rs.win[ev.Table.ID] = keys
			}
			keys[string(rowKey(&rs.keyOf, ev.Table.PrimaryKey, row))] = true
		}
	}
	if p, ok := ev.Position.(*Position); ok && p != nil {
		ev.Position = s.stamp(p)
	}
	return ev, true
}

func isWatermark(ev capture.Event) bool {
	return ev.Kind == capture.Change && ev.Op == capture.OpMessage && ev.Message != nil && ev.Message.Prefix == watermarkPrefix
}

// stamp returns a copy of p with the snapshot progress.
func (s *Source) stamp(p *Position) *Position {
	rs := s.resumed
	q := *p
	if rs.incr != nil {
		rs.stampIncremental(&q)
		return &q
	}
	if len(rs.tables) == 0 {
		// Every table was emitted; the done event waits for the stream to be between
		// transactions. A snapshot offset without a table would resume from the first table
		// (an older sluice's offset), reading every row again.
		q.SnapshotCompleted = true
		return &q
	}
	q.Snapshot = true
	id := rs.tables[0].rel.table.ID
	q.SnapSchema, q.SnapTable, q.SnapAfter = id.Schema, id.Table, rs.after
	if rs.versions != nil && len(rs.versions.tables) > 0 {
		q.SnapXids = rs.xids // a keyless table is left to read
	}
	return &q
}

// close stops the reader and closes its connection.
func (rs *resumed) close() {
	if rs.cancel != nil {
		rs.cancel()
	}
	go func() { // unblock a reader waiting to hand over a chunk
		for range rs.ready {
		}
	}()
	rs.wg.Wait()
	if rs.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rs.conn.Close(ctx)
		rs.conn = nil
	}
}

func (rs *resumed) tag(kind string, seq int) string {
	return kind + ":" + rs.nonce + ":" + strconv.Itoa(seq)
}

// rowKey is a row's primary key as a map key, in *buf.
func rowKey(buf *[]byte, pk []int, row capture.Row) []byte {
	b := (*buf)[:0]
	for _, i := range pk {
		if i < len(row) {
			b = appendValueKey(b, row[i])
		}
	}
	*buf = b
	return b
}

// appendValueKey appends an unambiguous encoding of v.
func appendValueKey(b []byte, v capture.Value) []byte {
	b = append(b, byte(v.Kind), byte(v.Flag))
	b = binary.LittleEndian.AppendUint64(b, uint64(v.Int))
	b = binary.LittleEndian.AppendUint64(b, uint64(v.Aux))
	if v.Big != nil {
		b = append(b, v.Big.String()...)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v.Bytes)))
	b = append(b, v.Bytes...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v.Elems)))
	for _, e := range v.Elems {
		b = appendValueKey(b, e)
	}
	return b
}

// markRows is how many rows of a chunk share a position (chunk.marks).
const markRows = 512

// testHookChunkSnapshot, set by tests, runs in the reader goroutine once a chunk's
// transaction has taken its snapshot, before the chunk's rows are read.
var testHookChunkSnapshot func(c *chunk)

// testHookChunkLock, set by tests, runs in the reader goroutine before a chunk's read locks
// its table.
var testHookChunkLock func(c *chunk)

// resumePagesPerChunk is how many heap pages a keyless table's chunk covers.
const resumePagesPerChunk = 256

// keylessPass is where the reader of a keyless table stands: the next page range, and the
// table's storage when the read from page 0 began (its files, "" before the first chunk).
// A rewrite (VACUUM FULL, CLUSTER, ALTER TABLE … TYPE, SET LOGGED, …) gives the table new
// files, in which the live rows sit packed from page 0, the dead tuples dropped: rows of pages
// not yet read may now lie in pages already read, and the rewrite streams no row. So a chunk
// that finds other files reads the table again from page 0 (chunk.restart): rows come twice,
// none is lost.
type keylessPass struct {
	page  int64
	files string
}

// readChunk writes the low watermark of c, reads c (the rows of c.t after after, or the next
// page range of a keyless table) and writes the high watermark. Reader goroutine only.
func (s *Source) readChunk(ctx context.Context, rs *resumed, c *chunk, after []string, pass *keylessPass, keyOf *[]byte) error {
	mark := func(kind string) error {
		if s.cfg.ReadOnly {
			return nil // the read's own snapshot is its window (readOnlyDue)
		}
		return s.bounded(ctx, "write the snapshot watermark", func(ctx context.Context) error {
			_, err := rs.conn.Exec(ctx, "SELECT pg_logical_emit_message(true, $1, $2)", watermarkPrefix, rs.tag(kind, c.seq))
			return err
		})
	}
	if err := mark("L"); err != nil {
		return fmt.Errorf("postgres snapshot: low watermark: %w", err)
	}
	for attempt := 0; ; attempt++ {
		retry, err := s.readChunkOnce(ctx, rs.conn, c, after, pass, keyOf)
		if err != nil && c.t.where != "" && filterFault(err) {
			// The filter passed the check (filterAccepted) but fails on some rows' values: a
			// bad signal, which must not stop the source at every restart. The table ends
			// here (an empty last chunk, closed by the high watermark as any other).
			s.log.Error("incremental snapshot: the additional-conditions filter fails on the table's rows; the rest of the table is left out, send the signal again with a corrected filter",
				"table", c.t.rel.table.ID.String(), "filter", c.t.where, "error", err)
			c.rows, c.last, c.keys, c.marks, c.more = nil, nil, map[string]int{}, nil, false
			break
		}
		if err != nil {
			return err
		}
		if !retry {
			break
		}
		if attempt%100 == 99 {
			s.log.Warn("a committed transaction stays invisible (a synchronous standby wait?): the snapshot chunk read waits for it", "table", c.t.rel.table.ID.String(), "attempts", attempt+1)
		}
		select {
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := mark("H"); err != nil {
		return fmt.Errorf("postgres snapshot: high watermark: %w", err)
	}
	return nil
}

// readChunkOnce reads c in a snapshot of its own; retry says that snapshot missed a
// transaction already committed (see the gap above) and the read must be repeated.
func (s *Source) readChunkOnce(ctx context.Context, conn *pgx.Conn, c *chunk, after []string, pass *keylessPass, keyOf *[]byte) (retry bool, err error) {
	t := c.t
	limit := s.cfg.SnapshotChunkRows
	if testHookChunkLock != nil {
		testHookChunkLock(c)
	}
	err = s.bounded(ctx, "read a snapshot chunk of "+t.name, func(ctx context.Context) error {
		tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return err
		}
		defer tx.Rollback(context.Background())
		// The table's lock before the snapshot: a rewrite of the table (ALTER TABLE … TYPE,
		// VACUUM FULL, CLUSTER) committed after the snapshot was taken, yet before the read
		// locks the table, would show the read its new files through the old snapshot: rows
		// the ALTER wrote again are invisible to it (the table looks empty), rows moved are
		// in other pages. Locked first, the snapshot is taken after any such rewrite ended,
		// and none can run until the chunk's transaction ends. The wait is bounded by
		// --snapshot-lock-timeout: behind a queued ALTER TABLE it would last as long as the
		// transaction the ALTER waits for.
		if _, err := tx.Exec(ctx, s.lockTimeoutSQL()+"; LOCK TABLE "+t.from+" IN ACCESS SHARE MODE"); err != nil {
			return s.lockWaited(err, t.name)
		}
		var late int
		var xip []int64
		var xmax, reach, block int64
		// The first statement takes the transaction's snapshot; the WAL position read in it
		// comes after, so it is past the commit record of every transaction the snapshot
		// sees (a standby: the replayed position).
		if err := tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_xact_status(x) = 'committed'),
  coalesce(array_agg((x::text::numeric % 4294967296)::bigint), '{}'),
  (pg_snapshot_xmax(pg_current_snapshot())::text::numeric % 4294967296)::bigint,
  ((CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END) - '0/0'::pg_lsn)::bigint,
  current_setting('wal_block_size')::bigint
FROM pg_snapshot_xip(pg_current_snapshot()) x`).Scan(&late, &xip, &xmax, &reach, &block); err != nil {
			return err
		}
		// The insert position right after a page header is no record's end: the stream's
		// decoded position stops at the page boundary before it.
		if off := reach % block; block > 0 && (off == 24 || off == 40) {
			reach -= off
		}
		c.reach = uint64(reach)
		c.xmax = uint32(xmax)
		c.invisible = c.invisible[:0]
		for _, x := range xip {
			c.invisible = append(c.invisible, uint32(x))
		}
		if late > 0 {
			retry = true
			return nil
		}
		if testHookChunkSnapshot != nil {
			testHookChunkSnapshot(c)
		}
		if c.vis != nil {
			if err := s.checkVisibility(ctx, tx, c); err != nil {
				return err
			}
		}
		if err := checkColumns(ctx, tx, t); err != nil {
			return err
		}
		if len(t.pk) == 0 {
			if err := s.checkRewrite(ctx, tx, c, pass); err != nil {
				return err
			}
		}
		var q string
		var params [][]byte
		formats := t.formats
		if len(t.pk) > 0 {
			q = "SELECT " + t.cols + " FROM " + t.from
			var conds []string
			if t.where != "" {
				conds = append(conds, "("+t.where+")") // additional-conditions of an incremental snapshot
			}
			if after != nil {
				var ph []string
				for _, v := range after {
					params = append(params, []byte(v))
					ph = append(ph, "$"+strconv.Itoa(len(params)))
				}
				conds = append(conds, "("+strings.Join(t.pk, ", ")+") > ("+strings.Join(ph, ", ")+")")
			}
			if len(conds) > 0 {
				q += " WHERE " + strings.Join(conds, " AND ")
			}
			q += " ORDER BY " + strings.Join(t.pk, ", ") + " LIMIT " + strconv.Itoa(limit)
		} else {
			// On a partitioned root the range applies to each partition. xmin last, as text:
			// the transaction that wrote the version (keyless.go).
			q = fmt.Sprintf("SELECT %s, xmin FROM %s WHERE ctid >= '(%d,0)'::tid AND ctid < '(%d,0)'::tid", t.cols, t.from, pass.page, pass.page+resumePagesPerChunk)
			if formats != nil {
				formats = append(slices.Clip(formats), 0)
			}
		}
		c.rows, c.last, c.keys, c.marks, c.xmins = nil, nil, map[string]int{}, nil, nil
		var alloc capture.Alloc
		ncol := len(t.rel.table.Columns)
		rr := tx.Conn().PgConn().ExecParams(ctx, q, params, nil, nil, formats)
		lastRaw := make([][]byte, len(t.pkIdx)) // copies: vals die at the next row
		for rr.NextRow() {
			vals := rr.Values()
			if len(t.pk) == 0 && len(vals) > 0 {
				xmin, err := strconv.ParseUint(string(vals[len(vals)-1]), 10, 32)
				if err != nil {
					rr.Close()
					return fmt.Errorf("xmin %q: %w", vals[len(vals)-1], err)
				}
				c.xmins = append(c.xmins, uint32(xmin))
				vals = vals[:len(vals)-1]
			}
			row, err := t.decodeRow(&alloc, vals, ncol)
			if err != nil {
				rr.Close()
				return err
			}
			for j, i := range t.pkIdx {
				lastRaw[j] = append(lastRaw[j][:0], vals[i]...)
			}
			if len(t.pk) > 0 {
				c.keys[string(rowKey(keyOf, t.rel.table.PrimaryKey, row))] = len(c.rows)
				if len(c.rows)%markRows == markRows-1 {
					m := make([]string, len(lastRaw))
					for i, k := range lastRaw {
						m[i] = string(k)
					}
					c.marks = append(c.marks, m)
				}
			}
			c.rows = append(c.rows, row)
		}
		if _, err := rr.Close(); err != nil {
			return err
		}
		if len(t.pk) > 0 {
			c.more = len(c.rows) == limit
			if len(c.rows) > 0 {
				c.last = make([]string, len(lastRaw))
				for i, k := range lastRaw {
					c.last[i] = string(k)
				}
			}
		} else {
			var pages int64
			size := "SELECT pg_relation_size($1::regclass) / current_setting('block_size')::int"
			if t.root { // no pages of its own: its largest partition's
				size = "SELECT coalesce(max(pg_relation_size(relid)), 0) / current_setting('block_size')::int FROM pg_partition_tree($1::regclass) WHERE isleaf"
			}
			if err := tx.QueryRow(ctx, size, t.name).Scan(&pages); err != nil {
				return err
			}
			pass.page += resumePagesPerChunk
			c.more = pass.page < pages
		}
		return tx.Commit(ctx)
	})
	if err != nil {
		var idle *idleError
		if errors.As(err, &idle) {
			return false, &QueryTimeoutError{What: "snapshot chunk of " + t.name, Timeout: idle.idle, Err: err}
		}
		return false, fmt.Errorf("postgres snapshot: chunk of %s after %v: %w", t.name, after, err)
	}
	return retry, nil
}

// checkColumns reports (ErrTableColumnsChanged, retryable) a column of t whose type is not the
// one its decoder was made for, in the chunk's transaction: the table is locked, so the
// catalog it sees is the one the chunk is read with.
func checkColumns(ctx context.Context, tx pgx.Tx, t *snapTable) error {
	cols := t.rel.msg.Columns
	names := make([]string, len(cols))
	types := make([]int64, len(cols))
	mods := make([]int32, len(cols))
	for i, c := range cols {
		names[i], types[i], mods[i] = c.Name, int64(c.DataType), c.TypeModifier
	}
	var changed []string
	if err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(n.name ORDER BY n.i), '{}')
FROM unnest($2::text[], $3::int8[], $4::int4[]) WITH ORDINALITY AS n(name, typ, mod, i)
LEFT JOIN pg_attribute a ON a.attrelid = $1::regclass AND a.attname = n.name AND NOT a.attisdropped
WHERE a.atttypid IS DISTINCT FROM n.typ::oid OR a.atttypmod IS DISTINCT FROM n.mod`, t.name, names, types, mods).Scan(&changed); err != nil {
		return fmt.Errorf("read the table's columns: %w", err)
	}
	if len(changed) > 0 {
		return retryable{fmt.Errorf("%w: %s columns %s; reopening the source reads the rest with the new columns", ErrTableColumnsChanged, t.name, strings.Join(changed, ", "))}
	}
	return nil
}
