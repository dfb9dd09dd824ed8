package mysql

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql/replication"
	"github.com/sluicecdc/sluice/schema"
	"github.com/sluicecdc/sluice/signal"
)

// Blocking snapshots (execute-snapshot with "type": "blocking", as Debezium's): at the first
// transaction boundary after the signal, streaming pauses at that position P (the binlog
// connection is closed; the server keeps the binlog); the tables are read in one consistent
// snapshot (START TRANSACTION WITH CONSISTENT SNAPSHOT on the chunk connection, in primary-key
// chunks of SnapshotChunkRows, a keyless table in one query read in pieces of as many rows,
// keylessRead) and go out as op r; then
// streaming resumes at P. A change committed while the tables were read is visible to the
// read and comes again from the stream after the rows, so each key ends at its latest state
// (the PostgreSQL source does the same, blocking.go there).
//
// Every row's position is P with the tables left (blocking_snapshot_tables, _filters) and the
// first one's last key read (blocking_snapshot_after), and so is every position handed out
// from the signal on: a restart before the end reads them from there at the next transaction
// boundary (in a new consistent snapshot: the stream from P brings every change since), then
// streams on from P. The rows of a key chunk before each markRows-th and before its last say
// they reread (capture.Rereader: they carry the key before them), those rows' own positions
// name their key as read, so an exactly-once sink ends its transactions there and a restart
// sends no committed row again. A keyless table has no key to resume after: a restart reads
// it again whole (its rows do not say they reread, or one transaction would hold the whole
// table). The position after the last row has none. A blocking snapshot asked for while an
// incremental snapshot (or the rest of an initial one) runs waits for it to end. The signal's
// additional-conditions filters are tried on the server when it is read (queueBlocking); one
// that fails on some rows later ends its table there (filterFailed).

// blocking is a blocking snapshot queued or running (Next's goroutine only).
type blocking struct {
	tables  []incrTable // left, in order; tables[0] is being read
	conn    *replication.Conn
	pos     *Position // where streaming paused; nil: not started
	after   [][]byte  // tables[0]'s last key read; nil: none yet
	first   bool      // the next row is its table's first
	started time.Time
	rows    int64
	keyBuf  [][]byte
	keyless *keylessRead // tables[0]'s rows when it has no key; nil: none running
}

// queueBlocking adds the tables snap matches to the blocking snapshot queued or running.
// Every additional-conditions filter is tried on the server first (filterRefused): one it
// refuses refuses the whole signal, logged with the table and the filter, before streaming
// pauses; a blocking snapshot that read part of what was asked would need a second pause
// for the rest.
func (s *Source) queueBlocking(ctx context.Context, snap *signal.Snapshot, log interface {
	Info(string, ...any)
	Error(string, ...any)
}) error {
	b := s.block
	if b == nil {
		b = &blocking{first: true}
	}
	var add []incrTable
	var added []string
	for _, t := range s.cat.Tables() {
		id := t.ID
		if !s.f.table(id.DB, id.Table) || !snap.Matches(id.String()) || id == s.sigID ||
			slices.ContainsFunc(b.tables, func(q incrTable) bool { return q.id == id }) {
			continue
		}
		it := incrTable{id, snap.Filter(id.String())}
		refused, err := s.filterRefused(ctx, it)
		if err != nil {
			return err
		}
		if refused != nil {
			log.Error("execute-snapshot (blocking) refused: the server refuses the additional-conditions filter of a table; nothing of the signal is read and streaming goes on. "+
				"Send the signal again with a corrected filter", "table", id.String(), "filter", it.filter, "error", refused)
			return nil
		}
		add = append(add, it)
		added = append(added, id.String())
	}
	if len(added) == 0 {
		log.Error("execute-snapshot: data-collections match no captured table not already in the blocking snapshot (names are db.table regular expressions; the table must be in the include lists)", "data_collections", snap.DataCollections)
		return nil
	}
	b.tables = append(b.tables, add...)
	s.block = b
	msg := "blocking snapshot queued: streaming pauses at the next transaction boundary"
	switch {
	case b.pos != nil:
		msg = "blocking snapshot: tables added to the one running"
	case s.resumed != nil:
		msg = "blocking snapshot queued: it runs when the snapshot running now is done"
	}
	log.Info(msg, "tables", added)
	return nil
}

// queueBlockingTables queues tables in the blocking snapshot (not from a signal: why says
// what asked for them).
func (s *Source) queueBlockingTables(tables []incrTable, why string) {
	b := s.block
	if b == nil {
		b = &blocking{first: true}
	}
	var added []string
	for _, t := range tables {
		if !slices.ContainsFunc(b.tables, func(q incrTable) bool { return q.id == t.id }) {
			b.tables = append(b.tables, t)
			added = append(added, t.id.String())
		}
	}
	s.block = b
	s.log.Info("blocking snapshot queued: streaming pauses at the next transaction boundary", "tables", added, "why", why)
}

// blockingDue reports whether the blocking snapshot runs now: it has started, or streaming
// is between transactions with no other snapshot running.
func (s *Source) blockingDue() bool {
	b := s.block
	return b != nil && (b.pos != nil || (s.resumed == nil && !s.st.inTxn && s.st.rows == nil && !s.st.inPay))
}

// blockingStep starts the blocking snapshot (pausing streaming) or queues its next chunk of
// rows; after the last it ends and streaming resumes where it paused.
func (s *Source) blockingStep(ctx context.Context) error {
	b := s.block
	if b.pos == nil {
		if err := s.startBlocking(ctx); err != nil {
			return err
		}
	}
	for len(b.tables) > 0 {
		t := s.cat.Table(b.tables[0].id)
		if t == nil {
			s.log.Warn("blocking snapshot: the table was dropped before it was read", "table", b.tables[0].id.String())
			s.blockingTableDone()
			continue
		}
		n, more, err := s.blockingChunk(ctx, t, b.tables[0].filter)
		if err != nil {
			return err
		}
		if !more {
			s.blockingTableDone()
		}
		if n > 0 {
			return nil
		}
	}
	s.blockingDone()
	return nil
}

// startBlocking pauses streaming at the current position and opens the snapshot.
func (s *Source) startBlocking(ctx context.Context) error {
	b := s.block
	if s.st.conn != nil {
		s.st.conn.Close()
		s.st.conn = nil
	}
	p := s.resumePoint() // the last position handed out: a transaction boundary
	s.st.start = p
	conn, err := s.chunkConn(ctx)
	if err != nil {
		return err
	}
	if err := conn.Exec(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
		conn.Close()
		if transient(err) || isNet(err) {
			return &retryableError{fmt.Errorf("mysql: blocking snapshot: start the snapshot transaction: %w", err)}
		}
		return fmt.Errorf("mysql: blocking snapshot: start the snapshot transaction: %w", err)
	}
	q := *p
	q.IncrTables, q.IncrAfter, q.IncrFilters, q.IncrPaused = nil, nil, nil, false
	b.pos, b.conn, b.started = &q, conn, time.Now()
	ss := &s.cfg.Stats.Snapshot
	ss.Running.Store(true)
	ss.Completed.Store(false)
	ss.Aborted.Store(false)
	ss.Paused.Store(false)
	ss.EndedUnixNano.Store(0)
	ss.StartedUnixNano.Store(b.started.UnixNano())
	ss.TotalTables.Store(int64(len(b.tables)))
	ss.RemainingTables.Store(int64(len(b.tables)))
	ids := make([]schema.TableID, len(b.tables))
	names := make([]string, len(b.tables))
	for i, t := range b.tables {
		ids[i], names[i] = t.id, t.id.String()
	}
	est := s.rowEstimates(ctx, ids)
	for _, id := range ids {
		tp := ss.Table(id.String())
		tp.Rows.Store(0)
		tp.Done.Store(false)
		tp.Failed.Store(false)
		tp.Estimate.Store(est[id])
	}
	s.log.Info("blocking snapshot started: streaming paused", "tables", names, "at", p.String())
	return nil
}

// blockingChunk queues the next chunk of t's rows (the next piece of a keyless table's): n
// rows, and whether the table may have more.
func (s *Source) blockingChunk(ctx context.Context, t *schema.Table, filter string) (n int, more bool, err error) {
	if len(t.PrimaryKey) == 0 {
		return s.blockingPiece(ctx, t, filter)
	}
	b := s.block
	limit := s.cfg.SnapshotChunkRows
	q := snapshotQuery(t, nil, b.after, b.after == nil, limit, filter)
	kinds := textKinds(t)
	if cap(b.keyBuf) < len(t.PrimaryKey) {
		b.keyBuf = make([][]byte, len(t.PrimaryKey))
	}
	last := b.keyBuf[:len(t.PrimaryKey)]
	var alloc capture.Alloc // the rows live in the queue until handed out
	out := s.blockingOut(t)
	err = b.conn.QueryRows(ctx, q, func(vals [][]byte) error {
		row, err := parseTextRow(t, kinds, vals, &alloc)
		if err != nil {
			return err
		}
		for j, k := range t.PrimaryKey {
			last[j] = append(last[j][:0], vals[k]...)
		}
		out.add(s, row)
		if n++; n%markRows == 0 {
			out.cover(s, last)
		}
		return nil
	})
	if err != nil {
		s.queue = s.queue[:len(s.queue)-n]
		return 0, false, s.blockingReadErr(ctx, t, filter, err)
	}
	if n%markRows != 0 {
		out.cover(s, last) // the chunk's last row
	}
	s.blockingRead(t, n)
	more = n == limit
	if more {
		b.after = make([][]byte, len(last))
		for i, k := range last {
			b.after[i] = append([]byte(nil), k...)
		}
	}
	return n, more, nil
}

// blockingPiece queues the next piece of keyless t's rows (keylessRead): n rows, and whether
// the table may have more. The first call starts the table's query.
func (s *Source) blockingPiece(ctx context.Context, t *schema.Table, filter string) (n int, more bool, err error) {
	b := s.block
	if b.keyless == nil {
		b.keyless = startKeyless(b.conn, t, filter, s.cfg.SnapshotChunkRows)
	}
	k := b.keyless
	var rows []capture.Row
	var ok bool
	select {
	case rows, ok = <-k.pieces:
	case <-ctx.Done():
		return 0, false, ctx.Err()
	}
	if !ok { // the query ended: k.err is its result
		b.keyless = nil
		if k.err != nil {
			return 0, false, s.blockingReadErr(ctx, t, filter, k.err)
		}
		return 0, false, nil
	}
	out := s.blockingOut(t)
	for _, row := range rows {
		out.add(s, row)
	}
	s.blockingRead(t, len(rows))
	return len(rows), true, nil
}

// blockingRows makes the events of one chunk (or keyless piece) of a table's rows (Next's
// goroutine).
type blockingRows struct {
	t   *schema.Table
	v   *tableView
	p   *Position // the next row's: the progress before it
	ts  int64
	blk *blocking
}

// blockingOut starts a chunk of t: its rows carry the progress before the chunk and, in a
// key chunk, say they reread until cover names a row's key.
func (s *Source) blockingOut(t *schema.Table) *blockingRows {
	p := new(Position)
	*p = *s.block.pos
	s.stampBlocking(p) // the tables left, this one included, and its key read last
	s.stampIncrDuring(p)
	p.rereads = len(t.PrimaryKey) > 0
	return &blockingRows{t: t, v: s.view(t), p: p, ts: s.cfg.Now().UnixMicro(), blk: s.block}
}

// cover gives the row queued last the position saying every row of the table up to its key
// (key, the text values of t's key columns) is read; the rows after it carry that progress
// and reread.
func (o *blockingRows) cover(s *Source, key [][]byte) {
	q := *o.p
	q.BlockAfter = make([]string, len(key))
	for i, k := range key {
		q.BlockAfter[i] = hex.EncodeToString(k)
	}
	q.rereads = false
	s.queue[len(s.queue)-1].Position = &q
	r := q
	r.rereads = true
	o.p = &r
}

// add queues row as a read.
func (o *blockingRows) add(s *Source, row capture.Row) {
	after := row
	if o.v.keep != nil {
		var buf capture.Row
		after = append(capture.Row(nil), o.v.project(row, &buf)...)
	}
	m := capture.SnapshotTrue
	if o.blk.first {
		m, o.blk.first = capture.SnapshotFirstInTable, false
	}
	t := o.t
	src := capture.Source{Connector: s.connector, TsMicros: o.ts, Snapshot: m, DB: t.ID.DB, Table: t.ID.Table, File: o.p.File, Pos: o.p.Pos}
	s.queue = append(s.queue, capture.Event{Kind: capture.Change, Op: capture.OpRead, Table: o.v.t, After: after, Source: src, Position: o.p})
}

// blockingRead counts n rows of t read.
func (s *Source) blockingRead(t *schema.Table, n int) {
	s.block.rows += int64(n)
	s.cfg.Stats.Snapshot.Table(t.ID.String()).Rows.Add(int64(n))
}

// blockingReadErr handles a failed read of t: nil when the table ends here (gone, its
// definition changed, its filter fails on some rows), each said in the log.
func (s *Source) blockingReadErr(ctx context.Context, t *schema.Table, filter string, err error) error {
	prog := s.cfg.Stats.Snapshot.Table(t.ID.String())
	var se *replication.ServerError
	switch {
	case errors.As(err, &se) && se.Code == 1146:
		s.log.Warn("blocking snapshot: the table is gone on the server; nothing of it is read", "table", t.ID.String())
		return nil
	case errors.As(err, &se) && filter != "" && filterFault(se) && ctx.Err() == nil:
		// The filter passed its check when the signal was read (queueBlocking) and fails on
		// some rows' values: the table ends here (snapshot_incremental.go, filterFailed).
		s.filterFailed("blocking snapshot", t.ID, filter, prog.Rows.Load(), err)
		return nil
	case errors.Is(err, errDefChanged):
		// The stream, paused before the change, still has the old definition: the rows do
		// not fit it. Said loudly, and left to the operator once the change is streamed.
		s.log.Error("blocking snapshot: the table's columns changed (ALTER TABLE) after streaming paused; the rest of it is not read. "+
			"Send the execute-snapshot signal for it again", "table", t.ID.String(), "rows_read", prog.Rows.Load())
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case transient(err) || isNet(err):
		return &retryableError{fmt.Errorf("mysql: blocking snapshot: chunk of %s: %w", t.ID, err)}
	}
	return fmt.Errorf("mysql: blocking snapshot: chunk of %s: %w. The stored offset asks for the table again at the next start; "+
		"to give it up, restart from an offset without blocking_snapshot_tables", t.ID, err)
}

// textKinds is t's columns' text parsing kinds.
func textKinds(t *schema.Table) []textKind {
	kinds := make([]textKind, len(t.Columns))
	for i := range t.Columns {
		kinds[i] = textKindOf(&t.Columns[i])
	}
	return kinds
}

// parseTextRow parses one row of a text result set of t's columns into alloc's memory.
func parseTextRow(t *schema.Table, kinds []textKind, vals [][]byte, alloc *capture.Alloc) (capture.Row, error) {
	if len(vals) != len(t.Columns) {
		return nil, errDefChanged
	}
	row := alloc.Row(len(vals))
	for i, raw := range vals {
		if err := parseTextTo(&row[i], &t.Columns[i], kinds[i], raw, alloc); err != nil {
			return nil, fmt.Errorf("column %s: %w", t.Columns[i].Name, err)
		}
	}
	return row, nil
}

// keylessRead is the read of a keyless table in a blocking snapshot. Without a key there is
// nothing to chunk by, so it is one query, read on a goroutine of its own and handed to Next's
// goroutine in pieces of SnapshotChunkRows rows over a channel of one: at most about three
// pieces (the one queued, the one in the channel, the one being filled) are in memory, however
// big the table (the initial snapshot reads keyless tables the same way, snapshot_reader.go).
type keylessRead struct {
	pieces chan []capture.Row // closed when the query ends
	err    error              // the query's error; read after pieces is closed
	stop   context.CancelFunc
	done   chan struct{}
}

// startKeyless starts reading t's rows (filter ANDed) on conn, in its consistent snapshot.
func startKeyless(conn *replication.Conn, t *schema.Table, filter string, piece int) *keylessRead {
	ctx, cancel := context.WithCancel(context.Background())
	k := &keylessRead{pieces: make(chan []capture.Row, 1), stop: cancel, done: make(chan struct{})}
	q := snapshotQuery(t, nil, nil, true, 0, filter)
	kinds := textKinds(t)
	go func() {
		defer close(k.done)
		var alloc capture.Alloc // a new one per piece: a piece's memory goes with its events
		var rows []capture.Row
		send := func() error {
			select {
			case k.pieces <- rows:
			case <-ctx.Done():
				return ctx.Err()
			}
			rows, alloc = nil, capture.Alloc{}
			return nil
		}
		err := conn.QueryRows(ctx, q, func(vals [][]byte) error {
			row, err := parseTextRow(t, kinds, vals, &alloc)
			if err != nil {
				return err
			}
			rows = append(rows, row)
			if len(rows) == piece {
				return send()
			}
			return nil
		})
		if err == nil && len(rows) > 0 {
			err = send()
		}
		k.err = err
		close(k.pieces)
	}()
	return k
}

// close stops the read and waits for its goroutine.
func (k *keylessRead) close() {
	k.stop()
	<-k.done
}

var errDefChanged = errors.New("the table's definition changed")

// blockingTableDone moves past tables[0].
func (s *Source) blockingTableDone() {
	b := s.block
	s.cfg.Stats.Snapshot.Table(b.tables[0].id.String()).Done.Store(true)
	s.cfg.Stats.Snapshot.RemainingTables.Add(-1)
	b.tables = b.tables[1:]
	b.after, b.first = nil, true
}

// blockingDone ends the blocking snapshot: a keepalive at the pause position without the
// tables, so the stored offset no longer asks for them; streaming resumes there.
func (s *Source) blockingDone() {
	b := s.block
	b.close()
	s.block = nil
	ss := &s.cfg.Stats.Snapshot
	ss.Running.Store(false)
	ss.Completed.Store(true)
	ss.RemainingTables.Store(0)
	ss.EndedUnixNano.Store(time.Now().UnixNano())
	s.log.Info("blocking snapshot completed: streaming resumes", "rows", b.rows, "seconds", int(time.Since(b.started).Seconds()), "at", b.pos.String())
	p := *b.pos
	p.BlockTables, p.BlockFilters, p.BlockAfter = nil, nil, nil
	s.stampIncrDuring(&p)
	s.queue = append(s.queue, capture.Event{Kind: capture.Keepalive, Position: &p})
}

// close ends the blocking snapshot's reads: the keyless read's goroutine, then the
// connection (Source.Close too).
func (b *blocking) close() {
	if b.keyless != nil {
		b.keyless.close()
		b.keyless = nil
	}
	if b.conn != nil {
		b.conn.Close()
		b.conn = nil
	}
}

// stampIncrDuring writes into p the progress of an incremental snapshot asked for while the
// blocking snapshot runs (it starts at once; its chunks wait for the stream): the blocking
// snapshot's rows carry the Kafka channel's next offset, past its signal, so without it a
// crash would lose it (emit stamps the stream's events, not these).
func (s *Source) stampIncrDuring(p *Position) {
	if s.resumed != nil && s.resumed.incr {
		s.stampResume(p)
	}
}

// stampBlocking writes the blocking snapshot's tables into p, and the last key of the first
// one read in the chunks queued (none when there is none).
func (s *Source) stampBlocking(p *Position) {
	p.BlockTables, p.BlockFilters, p.BlockAfter = nil, nil, nil
	if s.block == nil {
		return
	}
	for _, k := range s.block.after {
		p.BlockAfter = append(p.BlockAfter, hex.EncodeToString(k))
	}
	for _, t := range s.block.tables {
		name := t.id.String()
		p.BlockTables = append(p.BlockTables, name)
		if t.filter != "" {
			if p.BlockFilters == nil {
				p.BlockFilters = map[string]string{}
			}
			p.BlockFilters[name] = t.filter
		}
	}
}

// queueStoredBlocking queues the blocking snapshot the stored offset off records as not
// finished: its tables are read from the first one's key read last (blocking_snapshot_after).
func (s *Source) queueStoredBlocking(off *Position) {
	b := &blocking{first: true}
	for i, name := range off.BlockTables {
		id := signalID(name)
		t := s.cat.Table(id)
		if t == nil || !s.f.table(id.DB, id.Table) {
			s.log.Warn("blocking snapshot: a table of the stored offset is no longer captured and is left out", "table", name)
			continue
		}
		b.tables = append(b.tables, incrTable{id, off.BlockFilters[name]})
		if i > 0 || len(off.BlockAfter) == 0 {
			continue
		}
		if len(off.BlockAfter) != len(t.PrimaryKey) {
			// The key changed since (ALTER TABLE): its rows are read again from the start,
			// which repeats some, never skips any.
			s.log.Warn("blocking snapshot: the stored offset's last key read does not fit the table's primary key; the table is read again from the start",
				"table", name, "blocking_snapshot_after", off.BlockAfter)
			continue
		}
		b.after = make([][]byte, len(off.BlockAfter))
		for j, k := range off.BlockAfter {
			b.after[j], _ = hex.DecodeString(k) // ParsePosition checked it
		}
		b.first = false
	}
	if len(b.tables) == 0 {
		return
	}
	s.block = b
	if b.after != nil {
		s.log.Info("the stored offset records an unfinished blocking snapshot: it goes on after the last key read", "tables", off.BlockTables, "after", off.BlockAfter)
		return
	}
	s.log.Info("the stored offset records an unfinished blocking snapshot: its tables are read again from the start", "tables", off.BlockTables)
}
