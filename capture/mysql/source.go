package mysql

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql/binlog"
	"github.com/sluicecdc/sluice/capture/mysql/history"
	"github.com/sluicecdc/sluice/capture/mysql/mysqlddl"
	"github.com/sluicecdc/sluice/capture/mysql/replication"
	"github.com/sluicecdc/sluice/internal/tlsconf"
	"github.com/sluicecdc/sluice/schema"
)

type phase uint8

const (
	phaseSnapshot phase = iota
	phaseStream
	phaseDone
)

// serverInfo is what the source knows about the server.
type serverInfo struct {
	Version  string
	MariaDB  bool
	GTIDMode bool // MySQL gtid_mode=ON; MariaDB always has GTIDs
	ServerID uint32
	Charset  string
}

// Source is the MySQL/MariaDB change source. Use New, then Next until it returns an error.
type Source struct {
	cfg       Config
	log       *slog.Logger
	f         *filter
	filters   *TableFilters // f's lists, stamped on every position handed out (captured_filters)
	dcfg      *gomysql.Config
	tls       tlsconf.Config // the TLS settings in force (Config.TLS or the DSN's)
	tlsBase   *tls.Config    // built from tls; nil under disable
	pubKey    *rsa.PublicKey // Config.ServerPublicKeyFile's
	db        *sql.DB
	info      serverInfo
	connector string
	cat       *mysqlddl.Catalog
	hist      history.Store
	lastHist  *Position // position of the newest history record

	queue []capture.Event
	qi    int
	phase phase
	snap  *snapshotState
	// rowMem is the snapshot readers' row memory, reused once the pipeline has encoded it
	// (ReadsDone, snapshot_reader.go).
	rowMem capture.ReadPool[*rowBatch]
	// resumed is the rest of an interrupted snapshot, or an incremental snapshot, read in
	// watermark windows while streaming (snapshot_resume.go, snapshot_incremental.go); nil
	// otherwise.
	resumed *resumed
	// unseen are tables created while stopped, checked once the stream catches up (newtables.go).
	unseen *unseenTables
	// The signal table (sigOn: configured), the signals read and not acted on yet, those
	// handed to Signal and ReceiveSignal (inbox, under inboxMu; inboxN their number, read
	// without the lock), and the tables of incremental snapshots waiting for the one running.
	sigOn    bool
	sigID    schema.TableID
	signals  []sigAt
	inboxMu  sync.Mutex
	inbox    []inboxSignal
	inboxN   atomic.Int32
	incrWait []incrTable
	// block is the blocking snapshot queued or running (snapshot_blocking.go); nil: none.
	block *blocking
	// The Kafka signal channel's next offset (signal.Receiver), if hasSigNext: every
	// position handed out carries it (signal_kafka_offset).
	sigNext    int64
	hasSigNext bool
	// wake (under inboxMu) cancels readCtx, the context of the binlog read in progress (a
	// child of readParent, Next's), so that a signal handed over while the database is idle
	// is acted on at once, not at the next heartbeat.
	wake       context.CancelFunc
	readCtx    context.Context
	readParent context.Context
	// recent: the keys the stream changed in the last recentKeep (Config.ReadOnly only).
	recent    []recentKey
	recentBuf []byte

	st streamState

	// For the binlog watch (binlogwatch.go): the position of the last event handed out and of
	// the last one acknowledged (the stored offset's until then).
	readPos, ackedPos atomic.Pointer[Position]
	stopWatch         context.CancelFunc
	watchDone         chan struct{}
}

// New checks the server (preflight), replays the schema history up to the stored offset and
// decides whether a snapshot runs. It does not start reading yet; Next does.
func New(ctx context.Context, cfg Config) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	s := &Source{cfg: cfg, log: cfg.Logger.With("source", "mysql"), hist: cfg.History}
	s.f, _ = newFilter(&cfg)
	s.filters = &TableFilters{DatabaseInclude: cfg.DatabaseInclude, DatabaseExclude: cfg.DatabaseExclude,
		TableInclude: cfg.TableInclude, TableExclude: cfg.TableExclude}
	var dsnTLS string
	s.dcfg, dsnTLS, _ = parseDSN(cfg.DSN, cfg.Password)
	if err := s.setupTLS(dsnTLS); err != nil {
		return nil, err
	}
	if q := cfg.QueryTimeout; q > 0 {
		// Per read and write of every pool connection (unless the DSN sets its own): a
		// stalled link fails the call with ErrInvalidConn (retryable) instead of hanging it.
		if s.dcfg.ReadTimeout == 0 {
			s.dcfg.ReadTimeout = q
		}
		if s.dcfg.WriteTimeout == 0 {
			s.dcfg.WriteTimeout = q
		}
	}
	// The driver prints what it also returns (a broken connection) to stderr by default.
	s.dcfg.Logger = driverLog{s.log}
	conn, err := gomysql.NewConnector(s.dcfg)
	if err != nil {
		return nil, errorf("%w", err)
	}
	s.db = sql.OpenDB(conn)
	s.db.SetMaxOpenConns(4)
	s.db.SetConnMaxIdleTime(time.Minute)
	if err := s.probeAuth(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	if err := s.start(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	if off, err := ParsePosition(cfg.Offset); len(cfg.Offset) > 0 && err == nil {
		s.ackedPos.Store(off)
	}
	s.cfg.Stats.Stream.BinlogBytesBehind.Store(-1)
	s.cfg.Stats.Stream.DisconnectedUnixMilli.Store(0) // (an earlier open's outage is over)
	wctx, cancel := context.WithCancel(context.Background())
	s.stopWatch, s.watchDone = cancel, make(chan struct{})
	go func() {
		defer close(s.watchDone)
		s.watchBinlog(wctx)
	}()
	return s, nil
}

func (s *Source) start(ctx context.Context) error {
	info, err := s.preflight(ctx)
	if err != nil {
		return err
	}
	s.info = info
	s.connector = "mysql"
	if info.MariaDB {
		s.connector = "mariadb"
	}
	if s.cfg.Stats != nil {
		s.cfg.Stats.MariaDB.Store(info.MariaDB) // /metrics: plugin="mariadb"
	}
	s.cat = mysqlddl.NewCatalog(info.Version)
	s.cat.ServerCharset = info.Charset

	if s.cfg.ReadOnly && !info.MariaDB && !info.GTIDMode {
		return errorf("--read-only makes snapshot windows from GTID sets, and the server has gtid_mode OFF: turn GTIDs on (gtid_mode=ON, enforce_gtid_consistency=ON), or use --signal-data-collection (watermark rows) instead")
	}
	if sig := s.cfg.SignalDataCollection; sig != "" {
		s.sigOn, s.sigID = true, signalID(sig)
		if !s.f.table(s.sigID.DB, s.sigID.Table) {
			return errorf("the signal table %s is not captured: add it to --table-include (and --database-include) as Debezium requires", sig)
		}
	}
	var off *Position
	if len(s.cfg.Offset) > 0 {
		if off, err = ParsePosition(s.cfg.Offset); err != nil {
			return err
		}
		// Kept whatever runs next (a snapshot taken again included): the signals before it
		// were acted on.
		s.sigNext, s.hasSigNext = off.SignalOffset, off.HasSignalOffset
	}
	loadStart := time.Now()
	recs, err := s.hist.Load(ctx)
	if err != nil {
		return errorf("load schema history: %w", err)
	}
	if st := s.cfg.Stats; st != nil { // for /metrics (schema-history context)
		st.SchemaHistory.RecoveryStartUnixMilli.Store(loadStart.UnixMilli())
		st.SchemaHistory.ChangesRecovered.Add(int64(len(recs)))
		if len(recs) > 0 {
			st.SchemaHistory.LastRecoveredUnixMilli.Store(time.Now().UnixMilli())
		}
	}
	mode := s.cfg.SnapshotMode
	snapshot, resume := false, false
	switch {
	case off == nil && mode == SnapshotRecovery:
		return errorf("snapshot mode recovery needs a stored offset (it rebuilds the schema history at that position); use initial for a first start")
	case off == nil:
		snapshot = true
	case mode == SnapshotAlways:
		if off.Snapshot {
			s.log.Warn("the previous snapshot did not finish and snapshot mode always takes it again from a later binlog position: "+
				"rows it published and deleted since stay in the sinks", "offset", off.String())
		}
		snapshot = true
	case off.Snapshot && mode == SnapshotNoData:
		// no_data reads no rows, and streams from the stored offset as Debezium does with
		// one: the rest of the unfinished snapshot is not read. Taking the schema again at a
		// later position would skip the changes in between, the deletes of rows the first
		// attempt published among them.
		s.log.Warn("the previous snapshot did not finish and snapshot mode no_data reads no rows: the rows it did not read are not read; streaming from the stored offset",
			"offset", off.String())
		o := *off // the snapshot ends here: the positions from now on are the stream's
		o.Snapshot, o.SnapDB, o.SnapTable, o.SnapAfter = false, "", "", nil
		off = &o
	case off.Snapshot:
		if ok, why := s.resumable(off); !ok {
			// Rows of the first attempt may have reached the sinks (acknowledged or not): a
			// new snapshot starts at a later position, and the deletes in between would
			// reach neither it nor the stream.
			return errorf("the stored offset %s records a snapshot that did not finish, and it cannot be resumed (%s); "+
				"taking it again from a later binlog position would leave in the sinks the rows it published and deleted since: "+
				"set --signal-data-collection (signal.data.collection) to resume it, or start over with --snapshot-mode always "+
				"after emptying the sinks", off.String(), why)
		}
		resume = true
	case mode == SnapshotRecovery:
		if err := s.recoverHistory(ctx, off); err != nil {
			return err
		}
		return s.startStream(off)
	case mode == SnapshotInitialOnly:
		s.log.Info("snapshot mode initial_only and the snapshot is complete: nothing to do")
		s.phase = phaseDone
		return nil
	}
	if snapshot {
		if err := s.replayHistory(recs, nil); err != nil { // only to learn the newest record's position
			return err
		}
		s.lastHist = nil
		s.cat = mysqlddl.NewCatalog(info.Version)
		s.cat.ServerCharset = info.Charset
		s.snap = &snapshotState{data: mode != SnapshotNoData}
		s.phase = phaseSnapshot
		return nil
	}
	if resume {
		if len(recs) == 0 {
			return errorf("offset %s records an unfinished snapshot but the schema history is empty: the history store is not the one used before; restore it, or start over with --snapshot-mode always", off.String())
		}
		if err := s.replayHistory(recs, off); err != nil {
			return err
		}
		if err := s.resumeSnapshot(ctx, off); err != nil {
			return err
		}
		s.recallStreamed(ctx, off) // snapshot_recall.go
		if len(off.IncrTables) > 0 {
			if err := s.queueIncremental(ctx, off); err != nil {
				return err
			}
		}
		if len(off.BlockTables) > 0 {
			s.queueStoredBlocking(off)
		}
		return s.startStream(off)
	}
	if len(recs) == 0 {
		return errorf("offset %s exists but the schema history is empty: the history store is not the one used before; restore it, or rebuild it with --snapshot-mode recovery", off.String())
	}
	if err := s.replayHistory(recs, off); err != nil {
		return err
	}
	if err := s.startStream(off); err != nil {
		return err
	}
	if len(off.BlockTables) > 0 {
		s.queueStoredBlocking(off)
	}
	if len(off.IncrTables) > 0 {
		if err := s.resumeIncremental(ctx, off); err != nil {
			return err
		}
	}
	return s.snapshotAddedTables(ctx, off)
}

// replayHistory applies every record at or before upTo (all when nil) to the catalog.
func (s *Source) replayHistory(recs []history.Record, upTo *Position) error {
	for i := range recs {
		r := &recs[i]
		p, err := ParsePosition(r.Position)
		if err != nil {
			return errorf("schema history record %d: %w", i, err)
		}
		s.lastHist = p
		if upTo != nil && !p.Snapshot && !p.atOrBefore(upTo, s.gtidContains) {
			continue
		}
		if len(r.TableChanges) == 0 {
			// database-level statements (CREATE/DROP DATABASE, SET …): the catalog reads them
			if _, err := s.cat.Apply(r.DDL, r.DatabaseName); err != nil {
				s.log.Debug("schema history statement not applied", "ddl", r.DDL, "err", err)
			}
			continue
		}
		for _, tc := range r.TableChanges {
			switch tc.Type {
			case "DROP":
				s.cat.Drop(tc.ID)
			default:
				if tc.PrevID != nil {
					s.cat.Drop(*tc.PrevID)
				}
				if tc.Table != nil {
					s.cat.Put(tc.Table, indexesFromRecord(tc))
				}
			}
		}
		*r = history.Record{} // the catalog keeps its own copy (50,000 tables: ~60 MB of records)
	}
	return nil
}

func indexesFromRecord(tc history.TableChange) []mysqlddl.Index {
	var idx []mysqlddl.Index
	if len(tc.Table.PrimaryKey) > 0 {
		idx = append(idx, mysqlddl.Index{Name: "PRIMARY", Primary: true, Unique: true, Columns: tc.Table.PrimaryKeyNames()})
	}
	for i, k := range tc.UniqueKeys {
		idx = append(idx, mysqlddl.Index{Name: fmt.Sprintf("uk%d", i), Unique: true, Columns: k})
	}
	return idx
}

func uniqueKeys(idx []mysqlddl.Index) [][]string {
	var out [][]string
	for _, ix := range idx {
		if ix.Unique && !ix.Primary && len(ix.Columns) > 0 {
			out = append(out, ix.Columns)
		}
	}
	return out
}

// gtidContains reports whether set a contains set b, in the server's flavour.
func (s *Source) gtidContains(a, b string) (bool, bool) {
	if s.info.MariaDB {
		sa, err1 := binlog.ParseMariaDBGTIDSet(a)
		sb, err2 := binlog.ParseMariaDBGTIDSet(b)
		if err1 != nil || err2 != nil {
			return false, false
		}
		return sa.Contains(sb), true
	}
	sa, err1 := binlog.ParseMySQLGTIDSet(a)
	sb, err2 := binlog.ParseMySQLGTIDSet(b)
	if err1 != nil || err2 != nil {
		return false, false
	}
	return sa.Contains(sb), true
}

// appendHistory persists one record unless an equal-or-later one is already stored (a DDL
// read again after a restart).
func (s *Source) appendHistory(ctx context.Context, pos *Position, db, ddl string, changes []mysqlddl.Change) error {
	if s.lastHist != nil && !pos.Snapshot && !s.lastHist.Snapshot && pos.atOrBefore(s.lastHist, s.gtidContains) {
		return nil
	}
	if err := s.hist.Append(ctx, s.historyRecord(pos, db, ddl, changes)); err != nil {
		return errorf("append schema history: %w", err)
	}
	s.historyApplied(1)
	p := *pos
	s.lastHist = &p
	return nil
}

// historyRecord is the history record of one statement at pos.
func (s *Source) historyRecord(pos *Position, db, ddl string, changes []mysqlddl.Change) *history.Record {
	r := &history.Record{Server: s.cfg.Name, Position: pos.AppendOffset(nil), TsMs: s.cfg.Now().UnixMilli(), DatabaseName: db, DDL: ddl}
	for _, c := range changes {
		if c.Truncate {
			continue
		}
		tc := history.TableChange{Type: c.Type, ID: c.Table.ID, PrevID: c.PrevID, Table: c.Table}
		if c.Type != "DROP" {
			tc.UniqueKeys = uniqueKeys(s.cat.Indexes(c.Table.ID))
		}
		r.TableChanges = append(r.TableChanges, tc)
	}
	return r
}

// appendSnapshotHistory persists the records of a snapshot (all at one snapshot position) in
// one durable write when the store can (a 10,000-table snapshot: one fsync, not 10,000).
func (s *Source) appendSnapshotHistory(ctx context.Context, pos *Position, rs []*history.Record) error {
	if b, ok := s.hist.(history.BatchAppender); ok {
		if err := b.AppendBatch(ctx, rs); err != nil {
			return errorf("append schema history: %w", err)
		}
	} else {
		for _, r := range rs {
			if err := s.hist.Append(ctx, r); err != nil {
				return errorf("append schema history: %w", err)
			}
		}
	}
	s.historyApplied(len(rs))
	p := *pos
	s.lastHist = &p
	return nil
}

// historyApplied counts n records appended to the schema history (Debezium's ChangesApplied).
func (s *Source) historyApplied(n int) {
	if st := s.cfg.Stats; st != nil {
		st.SchemaHistory.ChangesApplied.Add(int64(n))
		st.SchemaHistory.LastAppliedUnixMilli.Store(time.Now().UnixMilli())
	}
}

// Next returns the next event. It blocks until one is ready or ctx ends. Events (their rows
// and byte slices) are valid until the next call.
func (s *Source) Next(ctx context.Context) (capture.Event, error) {
	for {
		if s.qi < len(s.queue) {
			ev := s.queue[s.qi]
			s.queue[s.qi] = capture.Event{}
			s.qi++
			if ev.Position != nil {
				if rp, ok := ev.Position.(*rowPos); ok {
					if !s.hasSigNext {
						// Made with this run's filters, and nothing to stamp.
						s.st.lastPos, s.st.lastRow, s.st.lastIsRow = rp.base, rp.row, true
						s.readPos.Store(rp.base) // the watch reads only its file
						return ev, nil
					}
					ev.Position = rp.full() // a Kafka signal offset to stamp, below
				}
				if p, ok := ev.Position.(*Position); ok {
					if p != nil && s.hasSigNext && (!p.HasSignalOffset || p.SignalOffset != s.sigNext) {
						// A copy: the rows of a chunk share one position, which the
						// pipeline may be saving.
						q := *p
						q.SignalOffset, q.HasSignalOffset = s.sigNext, true
						p = &q
						ev.Position = p
					}
					if p != nil && p.Filters != s.filters {
						if p.Filters != nil { // not this run's: a copy, as above
							q := *p
							p = &q
							ev.Position = p
						}
						// Before it is handed out: positions shared by events get it once.
						p.Filters = s.filters
					}
					s.st.lastPos, s.st.lastIsRow = p, false
					s.readPos.Store(p)
				}
			}
			return ev, nil
		}
		s.queue, s.qi = s.queue[:0], 0
		if cap(s.queue) > maxKeptQueue {
			s.queue = nil // a snapshot's schema events (10,000 tables: 4 MB) are not kept for ever
		}
		if err := ctx.Err(); err != nil {
			return capture.Event{}, err
		}
		if s.rowFast() {
			ok, err := s.advanceRow()
			if err != nil {
				return capture.Event{}, err
			}
			if ok {
				var ev capture.Event
				s.fillRow(&ev, false)
				if s.gtidWindows() {
					v := s.st.rowsView
					s.noteRecent(v.src.ID, ev.Before, ev.After, v.t.PrimaryKey)
				}
				rp := ev.Position.(*rowPos)
				s.st.lastPos, s.st.lastRow, s.st.lastIsRow = rp.base, rp.row, true
				s.readPos.Store(rp.base)
				return ev, nil
			}
		}
		var err error
		switch s.phase {
		case phaseSnapshot:
			if s.inboxN.Load() > 0 {
				s.takeInbox(false)
			}
			if err = s.snapshotStep(ctx); transient(err) && ctx.Err() == nil {
				// The server went away mid-snapshot: the reopen resumes it from the saved
				// offset (or fails, saying what to set, when it cannot; start).
				err = &retryableError{err}
			}
		case phaseStream:
			err = s.streamStep(ctx)
		case phaseDone:
			return capture.Event{}, io.EOF
		}
		if err != nil {
			return capture.Event{}, err
		}
	}
}

// Ready implements pipeline.ReadyReporter: Next returns without reading the connection while
// events are queued or the current rows event has rows left to emit. Where that is wrong (a
// signal table's watermark row emits nothing) the rest of the transaction still follows at
// once: the binlog holds committed transactions only, so a rows event is never the last
// thing the server has to send.
func (s *Source) Ready() bool {
	if s.qi < len(s.queue) {
		return true
	}
	r := s.st.rows
	return r != nil && s.phase == phaseStream && r.More() && int64(r.Row()+1) >= s.st.rowsSkip
}

func (s *Source) emit(ev capture.Event) {
	if p, ok := ev.Position.(*Position); ok && p != nil {
		// Every position handed out while the snapshot's rest runs carries its progress,
		// and while a blocking snapshot is queued its tables.
		if s.resumed != nil {
			s.stampResume(p)
		}
		if s.block != nil || p.BlockTables != nil {
			s.stampBlocking(p)
		}
	}
	s.queue = append(s.queue, ev)
}

// maxKeptQueue is the largest event queue kept for reuse once drained.
const maxKeptQueue = 1024

// Ack tells the source nothing it must act on: the binlog has no server-side
// acknowledgement; the pipeline's offsets store keeps the position. The binlog watch only
// notes it, to warn before its binlog is purged.
func (s *Source) Ack(_ context.Context, p capture.Position) error {
	switch pos := p.(type) {
	case *Position:
		if pos != nil {
			s.ackedPos.Store(pos)
		}
	case *rowPos:
		if pos != nil {
			s.ackedPos.Store(pos.full())
		}
	}
	return nil
}

// Close closes the replication and query connections.
func (s *Source) Close() error {
	if s.stopWatch != nil {
		s.stopWatch()
		<-s.watchDone
	}
	if s.snap != nil {
		s.snap.close()
		if s.snap.started {
			ss := &s.cfg.Stats.Snapshot
			ss.Running.Store(false)
			ss.Aborted.Store(true)
			ss.EndedUnixNano.Store(time.Now().UnixNano())
		}
	}
	if s.block != nil && s.block.conn != nil {
		s.block.close() // snapshot_blocking.go: its keyless read's goroutine too
		ss := &s.cfg.Stats.Snapshot
		ss.Running.Store(false)
		ss.Aborted.Store(true)
		ss.EndedUnixNano.Store(time.Now().UnixNano())
	}
	if s.resumed != nil {
		s.resumed.close()
		if ss := &s.cfg.Stats.Snapshot; ss.Running.Load() {
			ss.Running.Store(false)
			ss.Aborted.Store(true)
			ss.EndedUnixNano.Store(time.Now().UnixNano())
		}
	}
	if s.st.conn != nil {
		s.st.conn.Close()
	}
	s.inboxMu.Lock()
	if s.wake != nil {
		s.wake()
	}
	s.inboxMu.Unlock()
	return s.db.Close()
}

// replicationConfig builds the replication client's settings from the DSN.
func (s *Source) replicationConfig() replication.Config {
	return replication.Config{
		Addr: s.dcfg.Addr, User: s.dcfg.User, Password: s.dcfg.Passwd,
		ServerID: s.cfg.ServerID, HeartbeatPeriod: s.cfg.HeartbeatPeriod,
		TLS: replicationMode(s.tls.Effective()), TLSConfig: s.tlsBase, ServerPublicKey: s.pubKey,
		AllowPublicKeyRetrieval: s.cfg.AllowPublicKeyRetrieval,
		AnnotateRows:            s.cfg.IncludeQuery, Logger: s.cfg.Logger, QueryTimeout: max(s.cfg.QueryTimeout, 0),
	}
}

// recoverHistory rebuilds the schema history from the server's current definitions at off.
func (s *Source) recoverHistory(ctx context.Context, off *Position) error {
	s.log.Warn("rebuilding the schema history from the server's current table definitions", "offset", off.String())
	s.lastHist = nil
	p := *off
	p.Event, p.Row = 0, 0
	return s.captureSchema(ctx, s.db, &p, false)
}

// captureSchema reads the included databases and tables from the server into the catalog and
// writes their history records (and, when emitEvents, SchemaChange events) at pos.
func (s *Source) captureSchema(ctx context.Context, q queryer, pos *Position, emitEvents bool) error {
	sr, err := s.readSchema(ctx, q, false)
	if err != nil {
		return err
	}
	return s.applySchema(ctx, sr, pos, emitEvents)
}

// schemaRead is the included databases and tables as read from the server, before they reach
// the catalog and the history.
type schemaRead struct {
	dbs    []serverDB
	tables []tableDef
	ddl    []string // CREATE TABLE of tables[i]: from the model, or SHOW CREATE TABLE when Opaque
}

// showCreateConns is how many pool connections read SHOW CREATE TABLE at once for the tables
// the model cannot express (tableDef.Opaque): it costs the server 1-3 ms a table.
const showCreateConns = 3

// readSchema reads the databases and table definitions (information_schema, one query each for
// all tables) and writes each table's DDL from that model; only tables the model cannot
// express get their SHOW CREATE TABLE. With pool those and the three information_schema
// queries run on several of the pool's connections (any session sees the same definitions while DDL is held off or checked
// afterwards); otherwise all run on q.
func (s *Source) readSchema(ctx context.Context, q queryer, pool bool) (*schemaRead, error) {
	if h := s.cfg.schemaReadHook; h != nil {
		h()
	}
	dbs, err := loadDatabases(ctx, q, s.f)
	if err != nil {
		return nil, errorf("%w", err)
	}
	names := make([]string, len(dbs))
	for i, d := range dbs {
		names[i] = d.Name
	}
	lq := q
	if pool {
		lq = s.db // the three queries at once, on pool connections
	}
	tables, err := loadTables(ctx, lq, names, nil, s.info.MariaDB)
	if err != nil {
		return nil, errorf("%w", err)
	}
	sr := &schemaRead{dbs: dbs, tables: tables, ddl: make([]string, len(tables))}
	var opaque []int
	for i := range tables {
		if tables[i].Opaque != "" {
			opaque = append(opaque, i)
			continue
		}
		sr.ddl[i] = createTableDDL(tables[i].T, tables[i].Idx)
	}
	if len(opaque) > 0 {
		s.log.Info("schema: tables read with SHOW CREATE TABLE (their definition is more than the model holds)",
			"tables", len(opaque), "first", tables[opaque[0]].T.ID.String(), "reason", tables[opaque[0]].Opaque)
	}
	conns := 1
	if pool {
		conns = min(showCreateConns, max(len(opaque), 1))
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, conns)
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			qq := q
			if pool {
				qq = s.db
			}
			for {
				j := int(next.Add(1)) - 1
				if j >= len(opaque) {
					return
				}
				i := opaque[j]
				ddl, err := showCreate(ctx, qq, tables[i].T.ID)
				if err != nil {
					errs[w] = errorf("%w", err)
					next.Store(int64(len(opaque))) // the others stop too
					return
				}
				sr.ddl[i] = ddl
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return sr, nil
}

// estimates are the tables' row estimates by ID.
func (sr *schemaRead) estimates() map[schema.TableID]int64 {
	m := make(map[schema.TableID]int64, len(sr.tables))
	for _, td := range sr.tables {
		m[td.T.ID] = td.Rows
	}
	return m
}

// applySchema puts sr into the catalog and writes its history records (and, when emitEvents,
// SchemaChange events) at pos.
func (s *Source) applySchema(ctx context.Context, sr *schemaRead, pos *Position, emitEvents bool) error {
	hp := *pos
	hp.Snapshot = true
	rs := make([]*history.Record, 0, 1+len(sr.dbs)+len(sr.tables))
	rs = append(rs, s.historyRecord(&hp, "", "SET character_set_server="+s.info.Charset, nil))
	for _, d := range sr.dbs {
		s.cat.SetDatabase(d.Name, d.Charset)
		ddl := "CREATE DATABASE " + quoteID(d.Name) + " CHARSET " + d.Charset
		rs = append(rs, s.historyRecord(&hp, d.Name, ddl, nil))
	}
	for i, td := range sr.tables {
		ddl := sr.ddl[i]
		t := s.cat.Put(td.T, td.Idx)
		sr.tables[i] = tableDef{} // the catalog keeps its own copy: this one can go (10,000 tables: ~6 MB)
		ch := []mysqlddl.Change{{Type: "CREATE", Table: t}}
		r := s.historyRecord(&hp, t.ID.DB, ddl, ch)
		r.Position = rs[0].Position // the same for every record: one copy, not one a table
		rs = append(rs, r)
		if emitEvents && s.f.table(t.ID.DB, t.ID.Table) {
			s.emit(capture.Event{Kind: capture.SchemaChange, DDL: ddl, DDLDatabase: t.ID.DB,
				Changes: []capture.TableChange{{Type: "CREATE", Table: t}},
				Source:  s.snapshotSource(pos, t.ID.DB, ""), Position: nil})
		}
	}
	return s.appendSnapshotHistory(ctx, &hp, rs)
}

func (s *Source) snapshotSource(pos *Position, db, table string) capture.Source {
	return capture.Source{Connector: s.connector, TsMicros: s.cfg.Now().UnixMicro(), Snapshot: capture.SnapshotTrue,
		DB: db, Table: table, File: pos.File, Pos: pos.Pos}
}

func isMariaDB(version string) bool { return strings.Contains(strings.ToLower(version), "mariadb") }

var errStop = errors.New("stop")

// driverLog routes the driver's messages to the source's logger at debug level: the errors
// it logs are returned to the source too, which reports them once.
type driverLog struct{ l *slog.Logger }

func (d driverLog) Print(v ...any) { d.l.Debug("mysql driver: " + fmt.Sprint(v...)) }
