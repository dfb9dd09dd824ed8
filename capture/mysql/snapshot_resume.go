package mysql

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql/binlog"
	"github.com/sluicecdc/sluice/capture/mysql/replication"
	"github.com/sluicecdc/sluice/schema"
)

// A resumed snapshot: the initial snapshot of a previous run stopped part way (a crash, a
// kill -9, a lost connection) after its stored offset recorded how far it got
// (Position.SnapDB, SnapTable, SnapAfter: every table before it complete, and of it every row
// up to that key). The consistent snapshot died with the previous run, so the rest is read as
// DBLog does (Netflix, "DBLog: A Watermark Based Change-Data-Capture Framework", 2020) and as
// Debezium's incremental snapshots do on MySQL: streaming restarts at the stored offset (the
// snapshot's binlog position, or later), and the remaining rows are read in key-ordered
// chunks, each inside a window of the stream between two watermarks written to the signal
// table (--signal-data-collection):
//
//  1. low watermark: a row inserted into the signal table (type snapshot-window-open);
//  2. the chunk: SELECT … WHERE key > after ORDER BY key LIMIT n, a statement of its own
//     (a fresh read view), after the low watermark committed;
//  3. high watermark: a row of type snapshot-window-close, inserted after the read.
//
// The stream is emitted as it comes. Between the two watermarks, every change of the chunk's
// table removes the chunk row of the same key (before and after image); at the high
// watermark's commit the chunk rows left are emitted. Why the final state of each key is right:
// a change committed before the low watermark is visible to the read (MySQL and MariaDB commit
// to the engine in binlog order: binlog_order_commits, on by default), so the chunk row,
// emitted later, is at least as new; a change between the watermarks may or may not be
// visible, so the chunk row is dropped and the stream's own event (emitted in the window,
// with the full row image) stands; a change after the high watermark comes after the chunk
// row. Nothing is lost: a key the chunk row was dropped for had a stream event in the window.
//
// The chunks are read on Next's goroutine, one at a time, while the stream waits: each
// chunk's read takes what a chunk takes (tens of milliseconds at 10,000 rows), and no chunk
// row outlives a definition change (a chunk read with another version of its table than the
// stream has at the high watermark is read again).
//
// Every position handed out meanwhile carries the progress: the table and the last key whose
// chunk was emitted completely, so a restart in the resumed phase resumes again. A chunk's
// rows carry the position of its high watermark's commit with the progress before them: the
// key of the chunk's row markRows (512) rows back at most, so a restart re-reads at most that
// many rows of the chunk. Resuming inside a chunk is right: the rows up to that key went out
// at the high watermark's commit (or were dropped for a change streamed before it), the stream
// restarts there, and the rest is read in a window opened after the restart. A chunk row
// whose key the stream changed since the snapshot's position is left out (resumed.streamed):
// the keys of this run's stream, and those a killed run streamed before the stored offset,
// recalled from the binlog before the stream starts (snapshot_recall.go).
//
// Tables without a primary key have no key to match stream events with: an unfinished keyless
// table is read again whole, in one chunk, without removing anything (its rows may come out
// twice, as after any restart).

// Watermark row types, Debezium's names for them.
const (
	windowOpen  = "snapshot-window-open"
	windowClose = "snapshot-window-close"
)

// chunkState is where the resumed snapshot stands with its current chunk.
type chunkState uint8

const (
	chunkRead    chunkState = iota // the next chunk is to be read
	chunkWaitLow                   // read; waiting for its low watermark in the stream
	chunkWindow                    // low watermark seen: noting the keys the stream changes
	chunkDue                       // high watermark seen: the rows go out at its commit
)

// resumed is a resumed snapshot's state (Next's goroutine only).
type resumed struct {
	conn   *replication.Conn // chunk reads and watermark writes; no transaction left open
	nonce  string            // this run's watermark tag
	sig    schema.TableID    // the signal table
	tables []schema.TableID  // not completely emitted, in order; tables[0] is being read
	after  [][]byte          // tables[0]'s rows up to this key are emitted; nil: none
	hex    []string          // after, hex-encoded, for the positions
	seq    int               // the chunk whose watermarks come next
	state  chunkState
	cur    *resumeChunk
	win    map[string]bool // keys of cur's table changed in the open window
	// streamed are, for a resumed initial snapshot (not incr), the keys of each table not
	// yet read completely that the stream changed since the snapshot's position: this run's
	// stream, and the runs before it (recalled from the binlog, snapshot_recall.go). Every
	// such key already went out with its full row, and its chunk row (read later, whenever)
	// would be the same change again.
	streamed map[schema.TableID]map[string]bool
	// streamedBytes is what streamed holds (keys and their map entries), at most
	// streamedBudget; streamedFull: a key was left out for it (its chunk row goes out again,
	// as op r: a duplicate, never a loss).
	streamedBytes int64
	streamedFull  bool
	log           *slog.Logger
	keyBuf        []byte
	first         bool // the next row emitted is the first of its table
	rows          int64
	// wrote is when the current chunk's watermarks were written; warned when the last
	// warning that they have not come through the stream was logged.
	wrote, warned time.Time

	// An incremental snapshot (snapshot_incremental.go) runs on the same windows: its rows
	// say source.snapshot "incremental" and its progress goes into the Incr* keys.
	incr    bool
	filters map[schema.TableID]string // additional conditions
	stopped map[schema.TableID]bool   // tables[0] stopped while its chunk was in flight
	paused  bool

	// Read-only windows (Config.ReadOnly): the GTID set read after the chunk (the window
	// closes once the stream has it all).
	readOnly bool
	high     gtidSet
}

// gtidSet is a server's GTID set in its flavour, for the read-only windows.
type gtidSet struct {
	my    binlog.MySQLGTIDSet
	maria binlog.MariaDBGTIDSet
}

// recentKey is a key of a table the stream changed at (wall clock).
type recentKey struct {
	at    time.Time
	table schema.TableID
	key   string
}

// recentKeep is how far back the read-only windows look for changes (see readOnlyWindow).
const recentKeep = 2 * time.Second

// resumeChunk is one read of a resumed snapshot.
type resumeChunk struct {
	t    *schema.Table // the version the rows were read with; nil: no table left (the end)
	rows []capture.Row
	keys map[string]int // row index by key
	last [][]byte       // the last row's key as the server sent it
	// marks are the keys (hex, as Position.SnapAfter) of every markRows-th row (rows
	// markRows-1, 2*markRows-1, …): the rows after each carry it as their progress, so a
	// restart re-reads at most markRows rows of the chunk rather than all of it.
	marks [][]string
	more  bool // the table may have rows after the chunk
}

// markRows is how many rows of a chunk share a position (resumeChunk.marks).
const markRows = 512

// resumable reports whether the unfinished snapshot of off can be resumed rather than taken
// again, and why not.
func (s *Source) resumable(off *Position) (bool, string) {
	// An offset without progress (an older sluice's) resumes from the first table: its
	// position is the snapshot's, and taking the snapshot again at a later one would lose the
	// deletes in between of rows already published.
	switch {
	case s.cfg.SignalDataCollection == "" && !s.cfg.ReadOnly && off.GTIDs == "":
		// Without a signal table the windows come from the server's GTID set (as with
		// --read-only), which a server without GTIDs has not.
		return false, "no signal table to write the watermarks of the remaining chunks to, and no GTIDs to window them by: set --signal-data-collection (signal.data.collection), or enable GTIDs (gtid_mode=ON), to resume instead"
	case s.cfg.SnapshotMode == SnapshotAlways:
		return false, "snapshot mode always takes a new snapshot"
	}
	return true, ""
}

// resumeSnapshot prepares the rest of the snapshot off records: the catalog holds the
// definitions at off; streaming starts at off (the caller), the tables left are read in
// watermark windows.
func (s *Source) resumeSnapshot(ctx context.Context, off *Position) error {
	var tables []schema.TableID
	for _, t := range s.cat.Tables() {
		if s.f.table(t.ID.DB, t.ID.Table) {
			tables = append(tables, t.ID)
		}
	}
	at := schema.TableID{DB: off.SnapDB, Table: off.SnapTable}
	done := 0
	for done < len(tables) && tableBefore(tables[done], at) {
		done++
	}
	// Without a signal table, GTID-set windows (resumable checked the offset has GTIDs): a
	// server restart mid-snapshot resumes rather than stops.
	rs := &resumed{nonce: newNonce(), tables: tables[done:], first: true, readOnly: s.cfg.ReadOnly || s.cfg.SignalDataCollection == "", log: s.log}
	rs.streamed = make(map[schema.TableID]map[string]bool, len(rs.tables))
	for _, id := range rs.tables {
		rs.streamed[id] = map[string]bool{}
	}
	rs.sig = signalID(s.cfg.SignalDataCollection)
	if len(rs.tables) > 0 && rs.tables[0] == at && off.SnapAfter != nil {
		if t := s.cat.Table(at); t != nil && len(t.PrimaryKey) == len(off.SnapAfter) {
			for _, h := range off.SnapAfter {
				k, _ := hex.DecodeString(h) // ParsePosition checked it
				rs.after = append(rs.after, k)
			}
			rs.hex = off.SnapAfter
		}
	}
	conn, err := s.chunkConn(ctx)
	if err != nil {
		return err
	}
	rs.conn = conn
	ss := &s.cfg.Stats.Snapshot
	ss.Running.Store(true)
	ss.Completed.Store(false)
	ss.Aborted.Store(false)
	ss.EndedUnixNano.Store(0)
	ss.StartedUnixNano.Store(time.Now().UnixNano())
	ss.TotalTables.Store(int64(len(tables)))
	ss.RemainingTables.Store(int64(len(rs.tables)))
	est := s.rowEstimates(ctx, rs.tables)
	for i, id := range tables {
		tp := ss.Table(id.String())
		tp.Done.Store(i < done)
		if i >= done {
			tp.Rows.Store(0)
			tp.Estimate.Store(est[id])
		}
	}
	s.resumed = rs
	s.log.Info("resuming the unfinished snapshot in watermark windows", "tables_done", done, "tables_left", len(rs.tables),
		"table", at.String(), "after", strings.Join(off.SnapAfter, ","), "file", off.File, "pos", off.Pos, "signal_table", rs.sig.String())
	return nil
}

// newNonce tags one run's watermarks.
func newNonce() string { return strconv.FormatUint(rand.Uint64(), 36) }

// rowEstimates reads the engine's row estimates of tables (information_schema.TABLES, one
// query per database) for the progress display; on an error it logs and returns what it has.
func (s *Source) rowEstimates(ctx context.Context, tables []schema.TableID) map[schema.TableID]int64 {
	m := map[schema.TableID]int64{}
	var dbs []string
	for _, id := range tables {
		if len(dbs) == 0 || dbs[len(dbs)-1] != id.DB {
			dbs = append(dbs, id.DB)
		}
	}
	for _, db := range dbs {
		err := s.bounded(ctx, "read the row estimates of "+db, func(ctx context.Context) error {
			rows, err := s.db.QueryContext(ctx, "SELECT TABLE_NAME, COALESCE(TABLE_ROWS, 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", db)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var name string
				var n int64
				if err := rows.Scan(&name, &n); err != nil {
					return err
				}
				m[schema.TableID{DB: db, Table: name}] = n
			}
			return rows.Err()
		})
		if err != nil {
			s.log.Warn("snapshot: row estimates not read; the progress shows rows only", "database", db, "err", err)
			break
		}
	}
	return m
}

// tableBefore orders tables as the snapshot reads them (mysqlddl.Catalog.Tables).
func tableBefore(a, b schema.TableID) bool {
	if a.DB != b.DB {
		return a.DB < b.DB
	}
	return a.Table < b.Table
}

// signalID is the signal table's ID from db.table (Config.Validate checked the form).
func signalID(name string) schema.TableID {
	db, table, _ := strings.Cut(name, ".")
	return schema.TableID{DB: db, Table: table}
}

// chunkConn connects the chunk reader: the snapshot readers' session, without a transaction
// (each read is a statement of its own, in autocommit).
func (s *Source) chunkConn(ctx context.Context) (*replication.Conn, error) {
	cfg := s.replicationConfig()
	cfg.Logger = s.log
	c, err := replication.Dial(ctx, cfg)
	if err != nil {
		return nil, &retryableError{fmt.Errorf("mysql: snapshot chunk connection: %w", err)}
	}
	for _, q := range []string{"SET time_zone = '+00:00'", readerSession, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", "SET autocommit = 1"} {
		if err := c.Exec(ctx, q); err != nil {
			c.Close()
			return nil, &retryableError{fmt.Errorf("mysql: snapshot chunk connection: %s: %w", q, err)}
		}
	}
	if !s.info.MariaDB {
		// The windows rely on commits reaching the engine in binlog order (see above).
		if r, err := c.Query(ctx, "SELECT @@binlog_order_commits AS o"); err == nil {
			if v, ok := r.Get(0, "o"); ok && v == "0" {
				s.log.Warn("binlog_order_commits is OFF: a change committing while a snapshot chunk is read can be missing from the chunk row and " +
					"not drop it, leaving a stale row until the key's next change. Fix: SET GLOBAL binlog_order_commits = ON")
			}
		}
	}
	return c, nil
}

// watermarkPatience is how long the stream may take to bring a chunk's watermarks before a
// warning says so (every such period): a backlog of changes takes that long to read, but a
// binlog filter that drops the signal table's database (binlog_do_db, binlog_ignore_db)
// would stall the snapshot for good.
const watermarkPatience = time.Minute

// resumeStep reads the next chunk when one is due, or warns when the watermarks of the one
// read have not come through the stream for a long time.
func (s *Source) resumeStep(ctx context.Context) error {
	rs := s.resumed
	if rs.state == chunkRead {
		if rs.paused {
			return nil
		}
		err := s.resumeRead(ctx)
		rs.wrote, rs.warned = time.Now(), time.Now()
		return err
	}
	if time.Since(rs.warned) > watermarkPatience {
		rs.warned = time.Now()
		if rs.readOnly {
			s.log.Warn("snapshot: the stream has not reached the GTID set read after the chunk yet (a backlog of changes)",
				"waiting_seconds", int(time.Since(rs.wrote).Seconds()))
		} else {
			s.log.Warn("snapshot: the chunk's watermark rows have not come through the binlog yet (a backlog of changes, or a binlog filter "+
				"that leaves out the signal table's database: binlog_do_db/binlog_ignore_db)", "signal_table", rs.sig.String(),
				"waiting_seconds", int(time.Since(rs.wrote).Seconds()), "window_open", rs.state != chunkWaitLow)
		}
	}
	return nil
}

// resumeRead reads the next chunk between its watermarks (Next's goroutine, while the stream
// waits). With no table left it writes the watermarks alone: the snapshot ends at the high
// one's commit, between transactions.
func (s *Source) resumeRead(ctx context.Context) error {
	rs := s.resumed
	c := &resumeChunk{}
	for len(rs.tables) > 0 {
		if rs.stopped[rs.tables[0]] {
			s.resumeTableDone(rs.tables[0], "stopped")
			continue
		}
		t := s.cat.Table(rs.tables[0])
		if t == nil {
			// Dropped in the stream before its rest was read: nothing of it is left to emit.
			s.resumeTableDone(rs.tables[0], "dropped")
			continue
		}
		if rs.incr && len(t.PrimaryKey) == 0 {
			s.log.Error("incremental snapshot: the table lost its primary key and is left out", "table", t.ID.String())
			s.resumeTableDone(rs.tables[0], "no primary key")
			continue
		}
		c.t = t
		break
	}
	rs.seq++
	if rs.readOnly {
		return s.readOnlyWindow(ctx, c)
	}
	if err := s.watermark(ctx, windowOpen); err != nil {
		return err
	}
	if c.t != nil {
		if err := s.readResumeChunk(ctx, c); err != nil {
			return err
		}
	}
	if err := s.watermark(ctx, windowClose); err != nil {
		return err
	}
	rs.cur, rs.state = c, chunkWaitLow
	return nil
}

// readOnlyWindow reads c with a window that writes nothing: the window holds every change
// of c's table the stream brought from recentKeep before the read on, and closes once the
// stream has every transaction of the server's GTID set read after the read (so every
// change visible to the read was streamed before the rows go out).
//
// Why that is enough: a chunk row is stale only when a change invisible to the read (not
// committed in the engine when the read began) is streamed before the row; such a change was
// streamed after the read began, or in the recentKeep before it while its commit was still
// under way, and both are in the window. Dropping a row whose key the stream changed is always
// right, since that change's event carries the full row. Left open: a transaction streamed
// more than recentKeep before the read and still not committed in the engine (a semi-sync
// primary waiting for a replica's acknowledgement with rpl_semi_sync_master_wait_point =
// AFTER_SYNC): the read could then miss it and its row stay stale until the key's next change.
func (s *Source) readOnlyWindow(ctx context.Context, c *resumeChunk) error {
	rs := s.resumed
	start := time.Now()
	if c.t != nil {
		if err := s.readResumeChunk(ctx, c); err != nil {
			return err
		}
	}
	high, err := s.serverGTIDs(ctx)
	if err != nil {
		return err
	}
	rs.cur, rs.state, rs.high = c, chunkWindow, high
	rs.win = map[string]bool{}
	if c.t != nil {
		for _, r := range s.recent {
			if r.table == c.t.ID && !r.at.Before(start.Add(-recentKeep)) {
				rs.win[r.key] = true
			}
		}
	}
	s.readOnlyCheck(nil)
	return nil
}

// serverGTIDs reads the server's executed GTID set on the chunk connection.
func (s *Source) serverGTIDs(ctx context.Context) (gtidSet, error) {
	rs := s.resumed
	q := "SELECT @@global.gtid_executed AS g"
	if s.info.MariaDB {
		q = "SELECT @@global.gtid_binlog_pos AS g"
	}
	r, err := rs.conn.Query(ctx, q)
	if err != nil {
		if transient(err) || isNet(err) {
			return gtidSet{}, &retryableError{fmt.Errorf("mysql: snapshot: read the GTID set: %w", err)}
		}
		return gtidSet{}, fmt.Errorf("mysql: snapshot: read the GTID set: %w", err)
	}
	txt, _ := r.Get(0, "g")
	txt = strings.ReplaceAll(strings.ReplaceAll(txt, "\n", ""), " ", "")
	var g gtidSet
	if s.info.MariaDB {
		g.maria, err = binlog.ParseMariaDBGTIDSet(txt)
	} else {
		g.my, err = binlog.ParseMySQLGTIDSet(txt)
	}
	if err != nil {
		return gtidSet{}, fmt.Errorf("mysql: snapshot: the server's GTID set %q: %w", txt, err)
	}
	return g, nil
}

// readOnlyCheck closes a read-only window once the stream has every transaction of its high
// GTID set: at a commit (pos, its position), or between transactions (pos nil: the last
// position handed out).
func (s *Source) readOnlyCheck(pos *Position) {
	rs := s.resumed
	if rs == nil || !rs.readOnly || rs.state != chunkWindow || s.st.inTxn {
		return
	}
	var has bool
	if s.info.MariaDB {
		has = s.st.mariaSet.Contains(rs.high.maria)
	} else {
		has = s.st.mysqlSet.Contains(rs.high.my)
	}
	if !has {
		return
	}
	if pos == nil {
		if pos = s.st.lastPos; pos == nil {
			return
		}
		q := *pos
		q.Event, q.Row = 0, 0
		pos = &q
	}
	rs.state = chunkDue
	s.emitChunk(pos)
}

// watermark inserts a watermark row of kind into the signal table.
func (s *Source) watermark(ctx context.Context, kind string) error {
	rs := s.resumed
	id := rs.watermarkID(rs.seq, kind)
	q := "INSERT INTO " + quoteID(rs.sig.DB) + "." + quoteID(rs.sig.Table) + " VALUES ('" + id + "', '" + kind + "', '{}')"
	if sig := s.cat.Table(rs.sig); sig != nil && len(sig.Columns) >= 3 {
		q = "INSERT INTO " + quoteID(rs.sig.DB) + "." + quoteID(rs.sig.Table) + " (" + quoteID(sig.Columns[0].Name) + "," +
			quoteID(sig.Columns[1].Name) + "," + quoteID(sig.Columns[2].Name) + ") VALUES ('" + id + "', '" + kind + "', '{}')"
	}
	if err := rs.conn.Exec(ctx, q); err != nil {
		if transient(err) || isNet(err) {
			return &retryableError{fmt.Errorf("mysql: snapshot: write the %s watermark into %s: %w", kind, rs.sig, err)}
		}
		return fmt.Errorf("mysql: snapshot: write the %s watermark into %s: %w. Fix: the signal table must exist with columns id, type, data "+
			"(e.g. CREATE TABLE %s (id VARCHAR(64) PRIMARY KEY, type VARCHAR(32) NOT NULL, data VARCHAR(2048))) and the connector user needs INSERT on it; "+
			"or start over with --snapshot-mode always", kind, rs.sig, err, rs.sig)
	}
	return nil
}

// watermarkID is the signal table id of a watermark row: sluice:<nonce>:<seq>-open|close.
func (rs *resumed) watermarkID(seq int, kind string) string {
	end := "open"
	if kind == windowClose {
		end = "close"
	}
	return "sluice:" + rs.nonce + ":" + strconv.Itoa(seq) + "-" + end
}

func isNet(err error) bool {
	var ne *replication.NetError
	return errors.As(err, &ne)
}

// readResumeChunk reads c: the rows of c.t after rs.after in key order, up to
// SnapshotChunkRows; a keyless table whole.
func (s *Source) readResumeChunk(ctx context.Context, c *resumeChunk) error {
	rs := s.resumed
	t := c.t
	n := s.cfg.SnapshotChunkRows
	q := snapshotQuery(t, nil, rs.after, rs.after == nil, n, rs.filters[t.ID])
	kinds := make([]textKind, len(t.Columns))
	for i := range t.Columns {
		kinds[i] = textKindOf(&t.Columns[i])
	}
	var alloc capture.Alloc
	c.keys = map[string]int{}
	last := make([][]byte, len(t.PrimaryKey))
	err := rs.conn.QueryRows(ctx, q, func(vals [][]byte) error {
		if len(vals) != len(t.Columns) {
			return fmt.Errorf("%d columns, want %d", len(vals), len(t.Columns))
		}
		row := alloc.Row(len(vals))
		for i, raw := range vals {
			if err := parseTextTo(&row[i], &t.Columns[i], kinds[i], raw, &alloc); err != nil {
				return fmt.Errorf("column %s: %w", t.Columns[i].Name, err)
			}
		}
		for j, k := range t.PrimaryKey {
			last[j] = append(last[j][:0], vals[k]...)
		}
		if len(t.PrimaryKey) > 0 {
			c.keys[string(rowKey(&rs.keyBuf, t.PrimaryKey, row))] = len(c.rows)
			if len(c.rows)%markRows == markRows-1 {
				m := make([]string, len(last))
				for j, k := range last {
					m[j] = hex.EncodeToString(k)
				}
				c.marks = append(c.marks, m)
			}
		}
		c.rows = append(c.rows, row)
		return nil
	})
	var se *replication.ServerError
	switch {
	case errors.As(err, &se) && se.Code == 1146:
		// The table is gone on the server (its DROP is ahead in the stream): nothing to read.
		c.rows, c.keys, c.more = nil, nil, false
		return nil
	case errors.As(err, &se) && rs.filters[t.ID] != "" && filterFault(se) && ctx.Err() == nil:
		// The signal's filter fails on some rows (snapshot_incremental.go): the table ends here.
		s.filterFailed("incremental snapshot", t.ID, rs.filters[t.ID], s.cfg.Stats.Snapshot.Table(t.ID.String()).Rows.Load(), err)
		c.rows, c.keys, c.more = nil, nil, false
		return nil
	case err != nil:
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if transient(err) || isNet(err) {
			return &retryableError{fmt.Errorf("mysql: snapshot: chunk of %s: %w", t.ID, err)}
		}
		return fmt.Errorf("mysql: snapshot: chunk of %s: %w", t.ID, err)
	}
	if len(t.PrimaryKey) > 0 {
		c.more = len(c.rows) == n
		if len(c.rows) > 0 {
			c.last = last
		}
	}
	return nil
}

// watermarkSeen takes a watermark row (id, typ) of the stream: the window of the current
// chunk opens or closes. Another run's or an old chunk's watermarks change nothing.
func (rs *resumed) watermarkSeen(id, typ string) {
	switch {
	case rs.state == chunkWaitLow && typ == windowOpen && id == rs.watermarkID(rs.seq, windowOpen):
		rs.state = chunkWindow
		rs.win = map[string]bool{}
	case rs.state == chunkWindow && typ == windowClose && id == rs.watermarkID(rs.seq, windowClose):
		rs.state = chunkDue
	}
}

// gtidWindows reports whether snapshot windows come from the server's GTID set: --read-only,
// or a snapshot resumed without a signal table.
func (s *Source) gtidWindows() bool {
	return s.cfg.ReadOnly || (s.resumed != nil && s.resumed.readOnly)
}

// noteRecent keeps the keys of one streamed change for the read-only windows (Next's
// goroutine; only with GTID windows, gtidWindows), dropping those older than recentKeep.
func (s *Source) noteRecent(table schema.TableID, before, after capture.Row, pk []int) {
	now := time.Now()
	i := 0
	for i < len(s.recent) && now.Sub(s.recent[i].at) > recentKeep {
		i++
	}
	if i > 0 {
		s.recent = append(s.recent[:0], s.recent[i:]...)
	}
	for _, row := range []capture.Row{before, after} {
		if row != nil {
			s.recent = append(s.recent, recentKey{now, table, string(rowKey(&s.recentBuf, pk, row))})
		}
	}
}

// see passes one inserted, updated or deleted row of the stream through the resumed
// snapshot: a change of the chunk's table inside its window notes its keys.
func (rs *resumed) see(table schema.TableID, before, after capture.Row, pk []int) {
	if m, ok := rs.streamed[table]; ok && len(pk) > 0 {
		for _, row := range []capture.Row{before, after} {
			if row != nil {
				rs.noteStreamed(m, rowKey(&rs.keyBuf, pk, row))
			}
		}
	}
	if rs.state == chunkWindow && rs.cur != nil && rs.cur.t != nil && rs.cur.t.ID == table {
		for _, row := range []capture.Row{before, after} {
			if row != nil {
				rs.win[string(rowKey(&rs.keyBuf, pk, row))] = true
			}
		}
	}
}

// resumeCommit runs at every commit the stream hands out, after its event was queued with
// pos: at the high watermark's commit the chunk's rows go out.
func (s *Source) resumeCommit(pos *Position) {
	rs := s.resumed
	if rs != nil && rs.readOnly {
		s.readOnlyCheck(pos)
		return
	}
	if rs == nil || rs.state != chunkDue {
		return
	}
	s.emitChunk(pos)
}

// emitChunk queues the rows of the chunk whose window closed at pos.
func (s *Source) emitChunk(pos *Position) {
	rs := s.resumed
	c := rs.cur
	rs.cur, rs.state = nil, chunkRead
	win := rs.win
	rs.win = nil
	if c.t == nil {
		if rs.incr {
			s.incrementalDone()
		} else {
			s.resumeDone(pos)
		}
		return
	}
	if cur := s.cat.Table(c.t.ID); cur != c.t {
		// The table's definition changed between the read and here (or it was dropped): the
		// rows do not fit the stream's version. Read the chunk again (the next one is due).
		s.log.Info("snapshot: the table's definition changed around its chunk; reading the chunk again", "table", c.t.ID.String())
		return
	}
	p := *pos
	s.stampResume(&p)
	// The rows carry the progress before them (capture.Rereader); the last one queued gets
	// the progress after the chunk below, the one place an exactly-once sink may commit.
	p.rereads = true
	rp := &p
	queued := len(s.queue)
	defer func() {
		if last := len(s.queue) - 1; last >= queued {
			q := *pos
			s.stampResume(&q)
			s.queue[last].Position = &q
		}
	}()
	v := s.view(c.t)
	ts := s.cfg.Now().UnixMicro()
	prog := s.cfg.Stats.Snapshot.Table(c.t.ID.String())
	for i, row := range c.rows {
		if i > 0 && i%markRows == 0 && i/markRows <= len(c.marks) {
			// The rows before i went out: the positions after them say so.
			rs.hex = c.marks[i/markRows-1]
			q := *pos
			s.stampResume(&q)
			q.rereads = true
			rp = &q
		}
		if len(c.t.PrimaryKey) > 0 && (len(win) > 0 || len(rs.streamed[c.t.ID]) > 0) {
			k := rowKey(&rs.keyBuf, c.t.PrimaryKey, row)
			if win[string(k)] || rs.streamed[c.t.ID][string(k)] {
				continue
			}
		}
		after := row
		if v.keep != nil {
			var buf capture.Row
			after = append(capture.Row(nil), v.project(row, &buf)...)
		}
		m := capture.SnapshotTrue
		if rs.incr {
			m = capture.SnapshotIncremental
		} else if rs.first {
			m, rs.first = capture.SnapshotFirstInTable, false
		}
		src := capture.Source{Connector: s.connector, TsMicros: ts, Snapshot: m, DB: c.t.ID.DB, Table: c.t.ID.Table, File: p.File, Pos: p.Pos}
		s.queue = append(s.queue, capture.Event{Kind: capture.Change, Op: capture.OpRead, Table: v.t, After: after, Source: src, Position: rp})
		rs.rows++
		prog.Rows.Add(1)
	}
	if c.more && !rs.stopped[c.t.ID] {
		rs.after = c.last
		rs.hex = make([]string, len(c.last))
		for i, k := range c.last {
			rs.hex[i] = hex.EncodeToString(k)
		}
		return
	}
	s.resumeTableDone(c.t.ID, "")
}

// resumeTableDone moves past tables[0], id, completely emitted.
func (s *Source) resumeTableDone(id schema.TableID, why string) {
	rs := s.resumed
	s.cfg.Stats.Snapshot.Table(id.String()).Done.Store(true)
	s.cfg.Stats.Snapshot.RemainingTables.Add(-1)
	for k := range rs.streamed[id] {
		rs.streamedBytes -= int64(len(k)) + streamedEntry
	}
	delete(rs.streamed, id)
	s.log.Info("snapshot table done", "table", id.String(), "resumed", !rs.incr, "incremental", rs.incr, "note", why)
	delete(rs.stopped, id)
	rs.tables = rs.tables[1:]
	rs.after, rs.hex, rs.first = nil, nil, true
}

// resumeDone ends the resumed snapshot at the commit at pos (between transactions).
func (s *Source) resumeDone(pos *Position) {
	rs := s.resumed
	rs.close()
	s.resumed = nil
	ss := &s.cfg.Stats.Snapshot
	ss.Running.Store(false)
	ss.Completed.Store(true)
	ss.RemainingTables.Store(0)
	ss.EndedUnixNano.Store(time.Now().UnixNano())
	s.log.Info("snapshot completed", "resumed", true, "rows", rs.rows, "tables", ss.TotalTables.Load())
	p := *pos
	p.Snapshot, p.SnapDB, p.SnapTable, p.SnapAfter = false, "", "", nil
	s.queue = append(s.queue, capture.Event{Kind: capture.SnapshotDone, Position: &p})
	if s.cfg.SnapshotMode == SnapshotInitialOnly {
		s.phase = phaseDone
	}
}

// stampResume writes the resumed snapshot's progress into p.
func (s *Source) stampResume(p *Position) {
	rs := s.resumed
	if rs.incr {
		rs.stampIncremental(p)
		return
	}
	p.Snapshot = true
	s.stampQueued(p)
	if len(rs.tables) == 0 {
		// Every table is emitted; the end is due. A restart finds nothing left to read.
		p.SnapDB, p.SnapTable, p.SnapAfter = "\uffff", "\uffff", nil
		return
	}
	p.SnapDB, p.SnapTable, p.SnapAfter = rs.tables[0].DB, rs.tables[0].Table, rs.hex
}

// close closes the chunk connection.
func (rs *resumed) close() {
	if rs.conn != nil {
		rs.conn.Close()
		rs.conn = nil
	}
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
	b = append(b, byte(v.Kind))
	b = binary.LittleEndian.AppendUint64(b, uint64(v.Int))
	b = binary.LittleEndian.AppendUint32(b, uint32(v.Aux))
	if v.Big != nil {
		s := v.Big.String()
		b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v.Bytes)))
	b = append(b, v.Bytes...)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v.Elems)))
	for _, e := range v.Elems {
		b = appendValueKey(b, e)
	}
	return b
}
