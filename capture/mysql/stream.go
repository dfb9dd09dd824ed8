package mysql

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql/binlog"
	"github.com/sluicecdc/sluice/capture/mysql/mysqlddl"
	"github.com/sluicecdc/sluice/capture/mysql/replication"
	"github.com/sluicecdc/sluice/schema"
)

// streamState is the binlog reader's state: where it is, and the transaction it is in.
type streamState struct {
	conn  *replication.Conn
	dec   *binlog.Decoder
	start *Position // where the current connection started (with skip counts)
	// lastPos is the position of the last event handed out; when lastIsRow, that was a row
	// whose position is lastPos (a rowPos's base) with Row lastRow: lastPosition() has it.
	lastPos   *Position
	lastRow   int64
	lastIsRow bool

	file string
	// GTID sets completed so far (one of them, by flavour).
	mysqlSet binlog.MySQLGTIDSet
	mariaSet binlog.MariaDBGTIDSet
	gtidsStr string // text of the set, cached per transaction

	// current transaction
	inTxn     bool
	sawBegin  bool
	txnFile   string
	txnPos    uint64
	gtid      string
	mysqlGTID binlog.GTID
	gtidTag   string
	mariaGTID binlog.MariaDBGTID
	hasGTID   bool
	txnTs     int64 // µs, GTID original commit timestamp; 0 = use headers
	thread    int64
	hasThread bool
	query     string
	evIdx     int64
	began     bool
	txnID     string

	// skipping after a restart inside a transaction
	skipEvents, skipRows int64
	skipArmed            bool

	// the rows event being emitted
	rows     *binlog.RowsEvent
	rowsHdr  binlog.Header
	rowsView *tableView
	rowsEvIx int64
	rowsSkip int64
	outer    *binlog.Header // TRANSACTION_PAYLOAD header while reading inside it
	inPay    bool

	// posSlab hands out the positions of row events 64 at a time: one allocation per row
	// event was a visible share of the CPU per row. A slab lives while the pipeline holds any
	// of its positions (until they are released, in order).
	posSlab []Position
	// rowsBase is the base of the rowPos positions of the rows event being emitted (made at
	// its first row that takes the common path); rowSlab hands them out 64 at a time.
	rowsBase *Position
	rowSlab  []rowPos

	views   map[*schema.Table]*tableView
	checked map[*binlog.TableMap]*schema.Table
	skipped map[binlog.EventType]bool
	retries int
}

// tableView is what events of one table version carry: the table without excluded columns
// and the projection from the binlog row.
type tableView struct {
	src    *schema.Table
	t      *schema.Table
	keep   []int // nil: all columns
	before capture.Row
	after  capture.Row
}

func (s *Source) view(t *schema.Table) *tableView {
	if v, ok := s.st.views[t]; ok {
		return v
	}
	v := &tableView{src: t, t: t}
	var keep []int
	for i, c := range t.Columns {
		if s.f.column(t.ID.DB, t.ID.Table, c.Name) || t.IsKey(i) {
			keep = append(keep, i)
		}
	}
	if len(keep) != len(t.Columns) {
		nt := t.Clone()
		nt.Columns = nt.Columns[:0]
		nt.PrimaryKey = nil
		for j, i := range keep {
			nt.Columns = append(nt.Columns, t.Columns[i])
			if t.IsKey(i) {
				nt.PrimaryKey = append(nt.PrimaryKey, j)
			}
		}
		// keep key order
		nt.PrimaryKey = nt.PrimaryKey[:0]
		for _, k := range t.PrimaryKey {
			for j, i := range keep {
				if i == k {
					nt.PrimaryKey = append(nt.PrimaryKey, j)
				}
			}
		}
		v.t, v.keep = nt, keep
	}
	if s.st.views == nil {
		s.st.views = map[*schema.Table]*tableView{}
	}
	s.st.views[t] = v
	return v
}

func (v *tableView) project(r capture.Row, buf *capture.Row) capture.Row {
	if r == nil || v.keep == nil {
		return r
	}
	*buf = (*buf)[:0]
	for _, i := range v.keep {
		if i < len(r) {
			*buf = append(*buf, r[i])
		}
	}
	return *buf
}

// startStream connects and starts the dump at p (skipping what p says was delivered).
func (s *Source) startStream(p *Position) error {
	s.phase = phaseStream
	s.st.start = p
	s.st.lastPos, s.st.lastIsRow = p, false
	s.st.file = p.File
	if err := s.setGTIDs(p.GTIDs); err != nil {
		return err
	}
	return nil
}

func (s *Source) setGTIDs(txt string) error {
	if s.info.MariaDB {
		set, err := binlog.ParseMariaDBGTIDSet(txt)
		if err != nil {
			return errorf("offset gtids %q: %w", txt, err)
		}
		s.st.mariaSet = set
	} else {
		set, err := binlog.ParseMySQLGTIDSet(txt)
		if err != nil {
			return errorf("offset gtids %q: %w", txt, err)
		}
		s.st.mysqlSet = set
	}
	s.st.gtidsStr = txt
	return nil
}

func (s *Source) gtidString() string {
	if s.info.MariaDB {
		return s.st.mariaSet.String()
	}
	return s.st.mysqlSet.String()
}

// connect dials and starts the dump from s.st.start.
func (s *Source) connect(ctx context.Context) error {
	p := s.st.start
	conn, err := replication.Dial(ctx, s.replicationConfig())
	if err != nil {
		return s.classify(err, p)
	}
	sp, err := s.dumpStart(p, s.st.mysqlSet)
	if err != nil {
		conn.Close()
		return err
	}
	if err := conn.StartDump(ctx, sp); err != nil {
		conn.Close()
		return s.classify(err, p)
	}
	alg, err := binlog.ParseChecksumAlg(conn.Checksum())
	if err != nil {
		conn.Close()
		return errorf("binlog checksum %q: %w", conn.Checksum(), err)
	}
	s.st.conn = conn
	// JSON columns come out escaped for the envelope's JSON string (capture.EscapedJSON): the
	// text is written once, not rendered and then escaped again per record.
	s.st.dec = binlog.NewDecoder(binlog.Config{Checksum: alg, EscapeJSON: true})
	s.st.checked = map[*binlog.TableMap]*schema.Table{}
	s.st.inTxn = false
	s.st.skipEvents, s.st.skipRows = p.Event, p.Row
	s.st.skipArmed = p.Event > 0 || p.Row > 0
	s.log.Info("streaming", "start", sp.String(), "resume", s.cfg.Offset != nil, "skip_events", p.Event, "skip_rows", p.Row)
	return nil
}

// dumpStart is where a binlog dump from p starts: by GTIDs when p has them and the server
// uses them (set: p's MySQL GTID set, parsed), else by file and position.
func (s *Source) dumpStart(p *Position, set binlog.MySQLGTIDSet) (replication.StartPosition, error) {
	if p.GTIDs == "" || !(s.info.MariaDB || s.info.GTIDMode) {
		return replication.StartPosition{File: p.File, Pos: uint32(p.Pos)}, nil
	}
	if s.info.MariaDB {
		return replication.StartPosition{MariaDBGTID: p.GTIDs}, nil
	}
	// Never fall back to file/pos: it names this server's binlog only, and after a failover
	// it would skip or repeat changes. AppendBinary fails only for a set the server would
	// refuse too.
	b, err := set.AppendBinary(nil)
	if err != nil {
		return replication.StartPosition{}, errorf("encode gtid set %q of the offset: %w", p.GTIDs, err)
	}
	return replication.StartPosition{GTIDSet: b}, nil
}

func (s *Source) classify(err error, p *Position) error {
	if errors.Is(err, replication.ErrBinlogPurged) {
		return fmt.Errorf("mysql: resume at %s: %w: %v. The changes after this position are no longer on the server; "+
			"never skipped silently. Either take a new snapshot (--snapshot-mode when_needed, which also does so at every later "+
			"purge, or always), or accept the gap and stream from the server's current position (--skip-purged-binlog); "+
			"then keep binlogs longer than the longest outage (binlog_expire_logs_seconds, MariaDB expire_logs_days)",
			p.String(), ErrPurged, err)
	}
	if errors.Is(err, replication.ErrAccessDenied) || errors.Is(err, replication.ErrMissingPrivilege) || errors.Is(err, replication.ErrServerIDConflict) || errors.Is(err, replication.ErrUnsupported) || errors.Is(err, replication.ErrInvalidPosition) {
		return errorf("%w", err)
	}
	if insecureOrCertificate(err) {
		return s.replConnError(err) // no retry cures these
	}
	return &retryableError{fmt.Errorf("mysql: replication: %w", err)}
}

// streamStep reads and handles binlog events until at least one capture event is queued.
func (s *Source) streamStep(ctx context.Context) error {
	for len(s.queue) == 0 {
		if len(s.signals) > 0 || s.inboxN.Load() > 0 || len(s.incrWait) > 0 {
			if err := s.handleSignals(ctx); err != nil {
				return err
			}
			s.noteSignalOffset()
		}
		if s.unseen != nil {
			if err := s.unseenStep(ctx); err != nil { // newtables.go
				return err
			}
		}
		if s.blockingDue() {
			if err := s.blockingStep(ctx); err != nil {
				return err
			}
			continue
		}
		if s.resumed != nil {
			if err := s.resumeStep(ctx); err != nil {
				return err
			}
			if len(s.queue) > 0 {
				return nil // a read-only window closed at once
			}
		}
		if s.st.rows != nil {
			if err := s.nextRow(ctx); err != nil {
				return err
			}
			continue
		}
		if s.st.inPay {
			ev, ok, err := s.st.dec.NextInPayload()
			if err != nil {
				return s.decodeErr(err)
			}
			if ok {
				if err := s.handle(ctx, ev); err != nil {
					return err
				}
				continue
			}
			s.st.inPay = false
			s.st.outer = nil
			continue
		}
		if s.st.conn == nil {
			if err := s.connectRetry(ctx); err != nil {
				if !errors.Is(err, ErrPurged) || (s.cfg.SnapshotMode != SnapshotWhenNeeded && !s.cfg.SkipPurgedBinlog) {
					return err
				}
				if s.cfg.SkipPurgedBinlog {
					// Explicitly asked for: a schema-only snapshot at the current position.
					s.log.Warn("the stored binlog position was purged from the server; streaming from the server's current position "+
						"as --skip-purged-binlog asks: the changes after the stored position up to the current one are LOST",
						"stored_position", s.st.start.String(), "err", err)
				} else {
					s.log.Warn("the stored binlog position was purged from the server; taking a new snapshot (snapshot mode when_needed)",
						"stored_position", s.st.start.String(), "err", err)
				}
				s.cat = mysqlddl.NewCatalog(s.info.Version)
				s.cat.ServerCharset = s.info.Charset
				s.st = streamState{}
				if s.resumed != nil { // the new snapshot replaces the rest of the old one
					s.resumed.close()
					s.resumed = nil
				}
				s.snap = &snapshotState{data: !s.cfg.SkipPurgedBinlog}
				s.phase = phaseSnapshot
				return nil
			}
		}
		rctx := s.wakeable(ctx)
		raw, err := s.st.conn.Next(rctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if rctx.Err() != nil {
				// A signal was handed over: the interrupted read left the connection
				// unusable; the loop acts on the signal, then reconnects where it was.
				s.st.conn.Close()
				s.st.conn = nil
				s.st.start = s.resumePoint()
				continue
			}
			s.st.conn.Close()
			s.st.conn = nil
			cerr := s.classify(err, s.lastPosition())
			if _, ok := cerr.(*retryableError); ok {
				s.log.Warn("replication connection lost; reconnecting", "err", err, "at", s.lastPosition().String())
				// The pipeline runs on meanwhile: /readyz and Connected learn of the outage here.
				s.cfg.Stats.Stream.DisconnectErr.Store(err.Error())
				s.cfg.Stats.Stream.DisconnectedUnixMilli.CompareAndSwap(0, time.Now().UnixMilli())
				s.st.start = s.resumePoint()
				continue
			}
			return cerr
		}
		ev, err := s.st.dec.Decode(raw)
		if err != nil {
			return s.decodeErr(err)
		}
		s.st.retries = 0
		if err := s.handle(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

// noteSignalOffset hands out the last position again when the Kafka signal channel's offset
// moved past what it says, between transactions and with nothing else queued: on an idle
// database no event would carry the offset, and a restart would read the topic from its end
// again, missing the signals sent meanwhile.
func (s *Source) noteSignalOffset() {
	p := s.lastPosition()
	if !s.hasSigNext || p == nil || (p.HasSignalOffset && p.SignalOffset == s.sigNext) || len(s.queue) > 0 ||
		s.st.inTxn || s.st.rows != nil || s.st.inPay || p.Event != 0 || p.Row != 0 {
		return
	}
	q := *p
	s.emit(capture.Event{Kind: capture.Keepalive, Position: &q})
}

// wakeable is the context of the next binlog read: ctx, cancelled as well when a signal is
// handed over (handOver). It is made again only after it fired or when ctx changed.
func (s *Source) wakeable(ctx context.Context) context.Context {
	if s.readParent == ctx && s.readCtx.Err() == nil {
		return s.readCtx
	}
	s.inboxMu.Lock()
	defer s.inboxMu.Unlock()
	if s.wake != nil {
		s.wake()
	}
	s.readCtx, s.wake = context.WithCancel(ctx)
	s.readParent = ctx
	for _, in := range s.inbox {
		if in.sig != nil && s.takesSignals() {
			s.wake() // handed over since the loop looked: do not wait for the next event
			break
		}
	}
	return s.readCtx
}

// lastPosition is the position of the last event handed out (a copy when it was a row's
// rowPos); nil before any.
func (s *Source) lastPosition() *Position {
	if s.st.lastIsRow {
		return (&rowPos{base: s.st.lastPos, row: s.st.lastRow}).full()
	}
	return s.st.lastPos
}

// resumePoint is where a reconnect starts: the last position handed out, with its skips.
func (s *Source) resumePoint() *Position {
	p := *s.lastPosition()
	p.Snapshot = false
	// the GTID state goes back to the position's
	_ = s.setGTIDs(p.GTIDs)
	s.st.rows = nil
	s.st.inPay = false
	s.st.inTxn = false
	return &p
}

func (s *Source) connectRetry(ctx context.Context) error {
	for {
		err := s.connect(ctx)
		if err == nil {
			s.cfg.Stats.Stream.DisconnectedUnixMilli.Store(0)
			return nil
		}
		var re *retryableError
		if !errors.As(err, &re) || s.st.retries >= 30 {
			return err
		}
		s.st.retries++
		d := time.Duration(s.st.retries) * 200 * time.Millisecond
		if d > 5*time.Second {
			d = 5 * time.Second
		}
		s.log.Warn("connect failed; retrying", "err", err, "in", d)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
	}
}

func (s *Source) decodeErr(err error) error {
	return errorf("decode binlog event in %s after %s: %w", s.st.file, s.lastPosition().String(), err)
}

// evStart returns the file offset where an event starts (for positions), using the payload's
// header inside a TRANSACTION_PAYLOAD.
func (s *Source) evStart(h binlog.Header) uint64 {
	if s.st.outer != nil {
		h = *s.st.outer
	}
	if h.LogPos == 0 {
		return 0
	}
	return uint64(h.LogPos) - uint64(h.EventSize)
}

func (s *Source) evEnd(h binlog.Header) uint64 {
	if s.st.outer != nil {
		return uint64(s.st.outer.LogPos)
	}
	return uint64(h.LogPos)
}

// beginTxn starts a transaction at the event with header h.
func (s *Source) beginTxn(h binlog.Header) {
	s.st.inTxn = true
	s.st.sawBegin = false
	s.st.txnFile = s.st.file
	s.st.txnPos = s.evStart(h)
	s.st.evIdx = 0
	s.st.began = false
	s.st.query = ""
	s.st.hasThread = false
	s.st.gtidsStr = s.gtidString()
	if s.st.hasGTID {
		s.st.txnID = s.st.gtid
	} else {
		s.st.gtid = ""
		s.st.txnID = "file=" + s.st.txnFile + ",pos=" + strconv.FormatUint(s.st.txnPos, 10)
	}
}

// endTxn commits the current transaction: the GTID joins the set and a Commit (or, when
// nothing was emitted, a Keepalive) carries the position after it.
func (s *Source) endTxn(h binlog.Header) {
	if s.st.hasGTID {
		if s.info.MariaDB {
			s.st.mariaSet.Add(s.st.mariaGTID)
		} else {
			s.st.mysqlSet.Add(s.st.mysqlGTID.SID, s.st.gtidTag, s.st.mysqlGTID.GNO)
		}
	}
	s.st.gtidsStr = s.gtidString()
	pos := &Position{File: s.st.file, Pos: s.evEnd(h), GTIDs: s.st.gtidsStr, TsSec: int64(h.Timestamp), ServerID: h.ServerID}
	if s.st.began {
		s.emit(capture.Event{Kind: capture.Commit, TxID: s.st.txnID, Source: s.source(h, "", ""), Position: pos})
	} else {
		s.emit(capture.Event{Kind: capture.Keepalive, Position: pos})
	}
	s.st.inTxn, s.st.sawBegin, s.st.hasGTID, s.st.began = false, false, false, false
	s.st.txnTs = 0
	s.st.skipArmed = false
	if s.resumed != nil {
		s.resumeCommit(pos)
	}
}

// source builds the source block for an event with header h.
func (s *Source) source(h binlog.Header, db, table string) capture.Source {
	var src capture.Source
	s.fillSource(&src, h, db, table)
	return src
}

// fillSource is source into *dst, which must be zero: a row's event is filled in place, not
// built and then copied.
func (s *Source) fillSource(dst *capture.Source, h binlog.Header, db, table string) {
	ts := s.st.txnTs
	if ts == 0 {
		ts = int64(h.Timestamp) * 1e6
	}
	dst.Connector, dst.TsMicros, dst.DB, dst.Table, dst.ServerID = s.connector, ts, db, table, h.ServerID
	dst.GTID, dst.File, dst.Pos, dst.Thread, dst.HasThread = s.st.gtid, s.st.file, s.evStart(h), s.st.thread, s.st.hasThread
	dst.Query = s.st.query
}

func (s *Source) handle(ctx context.Context, ev binlog.Event) error {
	h := ev.Header
	switch d := ev.Data.(type) {
	case *binlog.Rotate:
		s.st.file = string(d.NextFile)
		if h.LogPos != 0 && !s.st.inTxn && !s.st.skipArmed {
			// a real ROTATE ends the file: the next position is the new file's first event
			s.emit(capture.Event{Kind: capture.Keepalive, Position: &Position{File: s.st.file, Pos: d.Position, GTIDs: s.gtidString(), TsSec: int64(h.Timestamp), ServerID: h.ServerID}})
		}
		return nil
	case *binlog.TransactionPayload:
		hh := h
		s.st.outer = &hh
		s.st.inPay = true
		return nil
	case *binlog.GTID:
		s.st.hasGTID = !d.Anonymous
		s.st.mysqlGTID = *d
		s.st.mysqlGTID.Tag = nil
		s.st.gtidTag = string(d.Tag)
		if !d.Anonymous {
			s.st.gtid = d.String()
			if s.st.gtidTag != "" {
				s.st.gtid = binlog.UUID(d.SID).String() + ":" + s.st.gtidTag + ":" + strconv.FormatInt(d.GNO, 10)
			}
		} else {
			s.st.gtid = ""
		}
		s.beginTxn(h)
		if d.OriginalCommitTimestamp != 0 {
			s.st.txnTs = int64(d.OriginalCommitTimestamp)
		}
		return nil
	case *binlog.MariaGTID:
		s.st.hasGTID = true
		s.st.mariaGTID = d.GTID
		s.st.mariaGTID.Server = h.ServerID
		s.st.gtid = s.st.mariaGTID.String()
		s.beginTxn(h)
		// MariaDB writes no BEGIN query: a group that is not standalone is a transaction
		// (BEGIN GTID), and a statement inside it (SAVEPOINT, CREATE TABLE … SELECT) must
		// not end it.
		s.st.sawBegin = !d.Standalone()
		return nil
	case *binlog.MariaGTIDList:
		return nil
	case *binlog.XID:
		if s.st.inTxn {
			s.endTxn(h)
		}
		return nil
	case *binlog.Query:
		return s.handleQuery(ctx, h, d)
	case *binlog.RowsQuery:
		if s.cfg.IncludeQuery {
			s.st.query = string(d.Query)
		}
		s.st.evIdx++
		return nil
	case *binlog.TableMap:
		err := s.checkTableMap(ctx, h, d)
		s.st.evIdx++
		return err
	case *binlog.RowsEvent:
		return s.startRows(h, d)
	case *binlog.Heartbeat:
		// Not while a resume skips into the transaction ahead: the heartbeat at the dump's
		// start names that transaction's start, a position behind the resume's (rows again).
		if !s.st.inTxn && !s.st.skipArmed && h.LogPos != 0 && !s.beforeStart(h.LogPos) {
			s.emit(capture.Event{Kind: capture.Keepalive, Position: &Position{File: s.st.file, Pos: uint64(h.LogPos), GTIDs: s.gtidString(), TsSec: time.Now().Unix(), ServerID: h.ServerID}})
		}
		return nil
	}
	if ev.Skipped {
		if s.st.skipped == nil {
			s.st.skipped = map[binlog.EventType]bool{}
		}
		if !s.st.skipped[h.Type] {
			s.st.skipped[h.Type] = true
			s.log.Debug("skipping binlog event type", "type", h.Type)
		}
	}
	if s.st.inTxn {
		s.st.evIdx++
	}
	return nil
}

// beforeStart reports whether a heartbeat at pos of the current file comes before the
// position the stream was started at. Started by GTID set, the server reads the binlog file
// from its beginning, skips the transactions in the set and sends heartbeats at the skipped
// positions; a Keepalive there would move the offset back: before a partly delivered
// transaction it drops the events and rows already delivered (a restart then repeats them).
func (s *Source) beforeStart(pos uint32) bool {
	if s.st.skipArmed {
		return true // the partly delivered transaction has not come yet
	}
	st := s.st.start
	return st != nil && st.File == s.st.file && uint64(pos) < st.Pos
}

func (s *Source) handleQuery(ctx context.Context, h binlog.Header, q *binlog.Query) error {
	stmt := strings.TrimSpace(string(q.Query))
	up := strings.ToUpper(stmt)
	switch {
	case up == "BEGIN" || strings.HasPrefix(up, "XA START"):
		if !s.st.inTxn {
			s.st.hasGTID = false
			s.beginTxn(h)
		}
		s.st.sawBegin = true
		s.st.thread, s.st.hasThread = int64(q.ThreadID), true
		s.st.evIdx++
		return nil
	case up == "COMMIT" || up == "ROLLBACK" || strings.HasPrefix(up, "XA END") || strings.HasPrefix(up, "XA PREPARE") || strings.HasPrefix(up, "XA COMMIT"):
		if s.st.inTxn && (up == "COMMIT" || up == "ROLLBACK" || strings.HasPrefix(up, "XA COMMIT")) {
			s.endTxn(h)
		} else if s.st.inTxn {
			s.st.evIdx++
		}
		return nil
	}
	if err := s.checkStatementRows(h, q, stmt); err != nil {
		return err
	}
	if s.st.inTxn && s.st.sawBegin {
		if createsTable(up) {
			// CREATE TABLE … SELECT is logged inside the transaction that fills the table:
			// MySQL 8.0.21+ as BEGIN, the table's definition followed by START TRANSACTION, its
			// rows, COMMIT; MariaDB as BEGIN GTID, the definition, its rows, COMMIT. The rows
			// need the table; the statement stays part of the transaction.
			err := s.applyDDL(ctx, h, q, stmt, true)
			s.st.evIdx++
			return err
		}
		// statement-based work inside a transaction (SAVEPOINT, temporary tables): no schema change
		s.st.evIdx++
		return nil
	}
	standalone := s.st.inTxn
	if !standalone {
		s.st.hasGTID = false
		s.beginTxn(h)
	}
	s.st.thread, s.st.hasThread = int64(q.ThreadID), true
	if err := s.applyDDL(ctx, h, q, stmt, false); err != nil {
		return err
	}
	s.endTxnDDL(h)
	return nil
}

// checkStatementRows stops at a row change of a captured table that the binlog holds as a
// statement (the writing session had binlog_format STATEMENT or MIXED): its rows are in no
// row event, so going on would lose them without a trace. Changes of other tables (temporary
// ones included: the catalog does not know them) pass.
func (s *Source) checkStatementRows(h binlog.Header, q *binlog.Query, stmt string) error {
	ids, dml := s.cat.WrittenTables(stmt, string(q.Schema))
	if !dml {
		return nil
	}
	for _, id := range ids {
		if !s.f.table(id.DB, id.Table) || s.cat.Table(id) == nil {
			continue
		}
		kind, _ := stmtKind(stmt)
		return errorf("%w: %s on captured table %s at %s:%d (gtid %q) was logged as a statement "+
			"(the writing session had binlog_format STATEMENT or MIXED), so the binlog holds none of its rows. "+
			"Fix: SET GLOBAL binlog_format='ROW' and set binlog_format=ROW in my.cnf (open sessions keep their format until they reconnect), "+
			"then restart once with --snapshot-mode always: a new snapshot holds the change",
			ErrStatementRows, kind, id, s.st.file, s.evStart(h), s.st.gtid)
	}
	return nil
}

// createsTable reports whether the upper-cased statement is CREATE [OR REPLACE] TABLE (not a
// temporary one); inside a transaction only CREATE TABLE … SELECT is logged so.
func createsTable(up string) bool {
	w := strings.Fields(up)
	if len(w) > 3 && w[1] == "OR" && w[2] == "REPLACE" {
		w = w[2:]
	}
	return len(w) > 2 && w[0] == "CREATE" && w[1] == "TABLE"
}

// endTxnDDL ends the single-statement transaction of a DDL; the SchemaChange event already
// carries the position, so no Keepalive is needed when one was queued.
func (s *Source) endTxnDDL(h binlog.Header) {
	n := len(s.queue)
	s.endTxn(h)
	if n > 0 && len(s.queue) == n+1 && s.queue[n].Kind == capture.Keepalive {
		s.queue = s.queue[:n]
	}
}

// applyDDL applies a DDL statement, records it in the history and emits its SchemaChange.
// inTxn says the statement is one event of a larger transaction (not a transaction of its
// own): its position is then inside the transaction, whose GTID joins the set at the commit.
func (s *Source) applyDDL(ctx context.Context, h binlog.Header, q *binlog.Query, stmt string, inTxn bool) error {
	db := string(q.Schema)
	at := fmt.Sprintf("%s:%d", s.st.file, s.evStart(h))
	if q.ErrorCode != 0 {
		s.log.Warn("skipping statement logged with an error", "at", at, "code", q.ErrorCode, s.stmtAttr(stmt, 200))
		return nil
	}
	res, err := s.cat.Apply(stmt, db)
	var pe *mysqlddl.ParseError
	var de *mysqlddl.DefinitionError
	switch {
	case errors.As(err, &de):
		if !s.f.database(de.ID.DB) {
			return nil
		}
		var defs []tableDef
		lerr := s.bounded(ctx, "read the definition of "+de.ID.String()+" from the server", func(ctx context.Context) (err error) {
			defs, err = loadTables(ctx, s.db, []string{de.ID.DB}, &de.ID, s.info.MariaDB)
			return err
		})
		if capture.Retryable(lerr) {
			return lerr
		}
		if lerr != nil || len(defs) != 1 {
			return errorf("DDL at %s: %v; reading it from the server failed: %v", at, err, lerr)
		}
		s.log.Warn("table definition read from the server (the statement does not spell it out)", "at", at, "table", de.ID.String())
		t := s.cat.Put(defs[0].T, defs[0].Idx)
		res = mysqlddl.Result{DDL: true, Databases: []string{de.ID.DB}, Changes: []mysqlddl.Change{{Type: "CREATE", Table: t}}}
	case errors.As(err, &pe):
		for _, n := range pe.Tables {
			tdb, tbl := db, n
			if i := strings.IndexByte(n, '.'); i > 0 {
				tdb, tbl = n[:i], n[i+1:]
			}
			if s.f.table(tdb, tbl) {
				return errorf("cannot read DDL at %s (gtid %q) touching captured table %s.%s: %v. Fix: make the statement readable, or exclude the table, or restart after the statement with --snapshot-mode recovery", at, s.st.gtid, tdb, tbl, pe.Err)
			}
		}
		s.log.Warn("skipping statement the DDL parser cannot read (touches no captured table)", "at", at, s.stmtAttr(stmt, 200), "tables", pe.Tables, "err", pe.Err)
		return nil
	case errors.Is(err, mysqlddl.ErrUnknownTable):
		if len(res.Databases) > 0 && !s.f.database(res.Databases[0]) {
			return nil
		}
		return errorf("DDL at %s: %v: the schema history does not have the table; rebuild it with --snapshot-mode recovery", at, err)
	case err != nil:
		return errorf("DDL at %s: %v", at, err)
	}
	if !res.DDL {
		if s.log.Enabled(ctx, slog.LevelDebug) {
			s.log.Debug("skipping non-DDL statement", "at", at, s.stmtAttr(stmt, 100))
		}
		return nil
	}
	included := false
	for _, d := range res.Databases {
		if s.f.database(d) {
			included = true
		}
	}
	if !included {
		return nil
	}
	dbName := db
	if len(res.Databases) > 0 && dbName == "" {
		dbName = res.Databases[0]
	}
	var pos *Position
	if inTxn {
		// As a row's position: a restart there skips this statement and what came before it.
		pos = &Position{File: s.st.txnFile, Pos: s.st.txnPos, GTIDs: s.st.gtidsStr, Event: s.st.evIdx + 1, TsSec: int64(h.Timestamp), ServerID: h.ServerID}
	} else {
		if s.st.hasGTID {
			if s.info.MariaDB {
				s.st.mariaSet.Add(s.st.mariaGTID)
			} else {
				s.st.mysqlSet.Add(s.st.mysqlGTID.SID, s.st.gtidTag, s.st.mysqlGTID.GNO)
			}
		}
		pos = &Position{File: s.st.file, Pos: s.evEnd(h), GTIDs: s.gtidString(), TsSec: int64(h.Timestamp), ServerID: h.ServerID}
	}
	if err := s.appendHistory(ctx, pos, dbName, stmt, res.Changes); err != nil {
		return err
	}
	var changes []capture.TableChange
	published := len(res.Changes) == 0 // a database-level statement of an included database
	for _, c := range res.Changes {
		if !s.capturedChange(c) {
			continue // in the history only (schemaddl.go, capturedChange)
		}
		published = true
		if c.Truncate {
			v := s.view(c.Table)
			s.emit(capture.Event{Kind: capture.Change, Op: capture.OpTruncate, Table: v.t, Source: s.source(h, c.Table.ID.DB, c.Table.ID.Table), TxID: s.st.txnID})
			continue
		}
		changes = append(changes, capture.TableChange{Type: c.Type, Table: c.Table, PrevID: c.PrevID})
		s.log.Info("schema change", "at", at, "table", c.Table.ID.String(), "type", c.Type, "version", c.Table.Version)
	}
	if !published {
		s.emit(capture.Event{Kind: capture.Keepalive, Position: pos})
		return nil
	}
	src := s.source(h, dbName, "")
	s.emit(capture.Event{Kind: capture.SchemaChange, DDL: stmt, DDLDatabase: dbName, Changes: changes, Source: src, Position: pos})
	return nil
}

// stmtAttr is a skipped statement for a log line: its text (up to n bytes) with
// --log-statements, else its kind and the table it names, for a statement may carry row
// values (INSERT … VALUES) or a password (CREATE USER … IDENTIFIED BY), which logs must not.
func (s *Source) stmtAttr(stmt string, n int) slog.Attr {
	if s.cfg.LogStatements {
		return slog.String("stmt", truncate(stmt, n))
	}
	kind, table := stmtKind(stmt)
	if table == "" {
		return slog.Group("", slog.String("stmt_kind", kind))
	}
	return slog.Group("", slog.String("stmt_kind", kind), slog.String("table", table))
}

// stmtKeywords are the words after a statement's first that stmtKind keeps in its kind.
var stmtKeywords = map[string]bool{
	"TABLE": true, "TEMPORARY": true, "OR": true, "REPLACE": true, "IF": true, "NOT": true, "EXISTS": true,
	"USER": true, "ROLE": true, "VIEW": true, "INDEX": true, "UNIQUE": true, "DATABASE": true, "SCHEMA": true,
	"TRIGGER": true, "PROCEDURE": true, "FUNCTION": true, "EVENT": true, "SEQUENCE": true, "SERVER": true,
	"INTO": true, "FROM": true, "IGNORE": true, "LOW_PRIORITY": true, "HIGH_PRIORITY": true, "DELAYED": true, "QUICK": true,
}

// stmtKind returns a statement's leading keywords (INSERT INTO, CREATE USER, UPDATE) and the
// name after them when it names a table or database; never a value.
func stmtKind(stmt string) (kind, table string) {
	stmt = strings.TrimSpace(stmt)
	for strings.HasPrefix(stmt, "/*") { // leading comments (/* app */, /*!40101 … */ stays)
		end := strings.Index(stmt, "*/")
		if end < 0 || strings.HasPrefix(stmt, "/*!") {
			break
		}
		stmt = strings.TrimSpace(stmt[end+2:])
	}
	w := strings.Fields(stmt)
	if len(w) == 0 {
		return "", ""
	}
	kw := []string{strings.ToUpper(w[0])}
	i := 1
	for ; i < len(w) && len(kw) < 5 && stmtKeywords[strings.ToUpper(w[i])]; i++ {
		kw = append(kw, strings.ToUpper(w[i]))
	}
	kind = strings.Join(kw, " ")
	switch kw[len(kw)-1] {
	case "UPDATE", "TABLE", "INTO", "FROM", "VIEW", "DATABASE", "SCHEMA", "TRUNCATE":
		if i < len(w) {
			name := w[i]
			if j := strings.IndexAny(name, "(,;"); j >= 0 {
				name = name[:j]
			}
			if len(name) <= 200 && !strings.ContainsAny(name, "'\"") { // an identifier, not a value
				table = name
			}
		}
	}
	return kind, table
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// startRows begins emitting a rows event.
func (s *Source) startRows(h binlog.Header, r *binlog.RowsEvent) error {
	ix := s.st.evIdx
	s.st.evIdx++
	if r.Table == nil {
		return errorf("rows event at %s:%d for table id %d without TABLE_MAP", s.st.file, s.evStart(h), r.TableID)
	}
	t := s.st.checked[r.Table]
	if t == nil {
		return nil // not captured
	}
	if s.st.skipArmed && ix < s.st.skipEvents {
		return nil // delivered before the restart
	}
	s.st.rows, s.st.rowsHdr, s.st.rowsView, s.st.rowsEvIx = r, h, s.view(t), ix
	s.st.rowsBase = nil
	s.st.rowsSkip = 0
	if s.st.skipArmed && ix == s.st.skipEvents {
		s.st.rowsSkip = s.st.skipRows
	}
	return nil
}

// advanceRow moves to the next row of the current rows event that was not delivered before
// a restart; at the end it clears s.st.rows and returns false, with the decode error if any.
func (s *Source) advanceRow() (bool, error) {
	r := s.st.rows
	for r.Next() {
		if int64(r.Row()) >= s.st.rowsSkip {
			return true, nil
		}
	}
	s.st.rows = nil
	if err := r.Err(); err != nil {
		return false, errorf("decode rows of %s at %s:%d: %w", s.st.rowsView.src.ID, s.st.file, s.evStart(s.st.rowsHdr), err)
	}
	return false, nil
}

// fillRow writes the change event of the current row, with its position, into ev (zero).
// sigRow says the row is the signal table's.
func (s *Source) fillRow(ev *capture.Event, sigRow bool) {
	r := s.st.rows
	v := s.st.rowsView
	h := s.st.rowsHdr
	ev.Kind, ev.Table, ev.TxID = capture.Change, v.t, s.st.txnID
	switch r.Kind {
	case binlog.RowsWrite:
		ev.Op = capture.OpCreate
		ev.After = v.project(r.After(), &v.after)
	case binlog.RowsUpdate, binlog.RowsPartialUpdate:
		// Partial JSON updates (binlog_row_value_options=PARTIAL_JSON) are updates whose
		// unsent values decode as capture.Unavailable; preflight warns about that setting.
		ev.Op = capture.OpUpdate
		ev.Before = v.project(r.Before(), &v.before)
		ev.After = v.project(r.After(), &v.after)
		if r.Kind == binlog.RowsUpdate {
			// A column the after image leaves out (binlog_row_image MINIMAL or NOBLOB) did not
			// change: take it from the before image when that has it. MINIMAL's after image
			// lacks the unchanged key, which would otherwise read as a key change (a delete of
			// the row and a create under a zero key).
			for i := range ev.After {
				if ev.After[i].Kind == capture.Unavailable && i < len(ev.Before) && ev.Before[i].Kind != capture.Unavailable {
					ev.After[i] = ev.Before[i]
				}
			}
		}
	default:
		ev.Op = capture.OpDelete
		ev.Before = v.project(r.Before(), &v.before)
	}
	s.fillSource(&ev.Source, h, v.src.ID.DB, v.src.ID.Table)
	ev.Source.Row = int32(r.Row())
	switch {
	case !s.st.inTxn:
		// rows outside BEGIN…COMMIT (should not happen in ROW format): position after the event
		ev.Position = &Position{File: s.st.file, Pos: s.evEnd(h), GTIDs: s.gtidString(), TsSec: int64(h.Timestamp), ServerID: h.ServerID}
	case s.resumed == nil && s.block == nil && !s.hasSigNext && !sigRow:
		// The common path: nothing stamps this position later (emit, Next), so the rows of
		// the event share one base.
		if s.st.rowsBase == nil {
			s.st.rowsBase = &Position{File: s.st.txnFile, Pos: s.st.txnPos, GTIDs: s.st.gtidsStr, Event: s.st.rowsEvIx,
				TsSec: int64(h.Timestamp), ServerID: h.ServerID, Filters: s.filters}
		}
		if len(s.st.rowSlab) == 0 {
			s.st.rowSlab = make([]rowPos, 64)
		}
		rp := &s.st.rowSlab[0]
		s.st.rowSlab = s.st.rowSlab[1:]
		rp.base, rp.row = s.st.rowsBase, int64(r.Row())+1
		ev.Position = rp
	default:
		if len(s.st.posSlab) == 0 {
			s.st.posSlab = make([]Position, 64)
		}
		pos := &s.st.posSlab[0]
		s.st.posSlab = s.st.posSlab[1:]
		*pos = Position{File: s.st.txnFile, Pos: s.st.txnPos, GTIDs: s.st.gtidsStr, Event: s.st.rowsEvIx,
			Row: int64(r.Row()) + 1, TsSec: int64(h.Timestamp), ServerID: h.ServerID}
		ev.Position = pos
	}
}

// nextRow emits the next row of the current rows event.
func (s *Source) nextRow(ctx context.Context) error {
	if ok, err := s.advanceRow(); !ok {
		return err
	}
	v := s.st.rowsView
	sigRow := s.sigOn && v.src.ID == s.sigID
	var ev capture.Event
	s.fillRow(&ev, sigRow)
	if sigRow {
		if !s.signalRow(ev.Op, ev.After, ev.Position.(*Position)) { // the signal's own position
			return nil // a watermark
		}
		// Acted on before its row goes out, so the row's position carries the effect (a
		// pause, a snapshot started or queued): a restart after it keeps the effect, and
		// one before it reads the signal again.
		if err := s.actOnSignals(ctx); err != nil {
			return err
		}
	} else {
		if s.gtidWindows() {
			s.noteRecent(v.src.ID, ev.Before, ev.After, v.t.PrimaryKey)
		}
		if s.resumed != nil {
			s.resumed.see(v.src.ID, ev.Before, ev.After, v.t.PrimaryKey)
		}
	}
	if !s.st.began && s.st.inTxn {
		s.st.began = true
		s.emit(capture.Event{Kind: capture.Begin, TxID: s.st.txnID, Source: s.source(s.st.rowsHdr, "", "")})
	}
	s.emit(ev)
	return nil
}

// rowFast reports whether the next event is the current rows event's next row with nothing to
// do before it (Next's loop would go straight to nextRow) and a rowPos position: Next then
// fills it into its result, not through the queue (each pass was a copy of the event).
func (s *Source) rowFast() bool {
	return s.st.rows != nil && s.phase == phaseStream && s.st.began && s.st.inTxn && s.resumed == nil && s.block == nil &&
		!s.hasSigNext && len(s.signals) == 0 && len(s.incrWait) == 0 && s.inboxN.Load() == 0 &&
		!(s.sigOn && s.st.rowsView.src.ID == s.sigID)
}
