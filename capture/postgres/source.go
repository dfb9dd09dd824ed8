package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

// ErrSnapshotOnly is returned by Next after the snapshot of mode initial_only has been emitted.
// It wraps io.EOF, which tells the pipeline that the source ended normally.
var ErrSnapshotOnly = fmt.Errorf("postgres: snapshot complete (snapshot mode initial_only): %w", io.EOF)

// wireMsg is one message from the receive loop: a pgoutput message (data, owned) or a
// keepalive (data nil) carrying the server's WAL end.
type wireMsg struct {
	lsn    uint64
	walEnd uint64
	data   []byte
}

// Source captures changes from one PostgreSQL database. Next, Ack and Close may be called from
// different goroutines; Next must not be called concurrently with itself.
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

	resume    *Position
	startLSN  uint64
	streaming bool
	snap      *snapshot
	snapOnly  bool

	msgs     chan []wireMsg
	recvErr  chan error
	coal     *coalescer // the replication connection's reader (receive goroutine only)
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	acked    atomic.Uint64
	received atomic.Uint64
	ackNote  chan struct{}

	// Decoding state (Next's goroutine only).
	inTx          bool
	xid           uint32
	commitTime    int64
	lastCommitEnd uint64
	curLSN        uint64
	eventsAtLSN   int
	skipTx        bool
	beginEv       *capture.Event // BEGIN not yet emitted: it goes out before the first change
	beginSent     bool
	pending       []capture.Event // events ready for Next, from pendHead on
	pendHead      int
	streamXid     uint32
	spools        map[uint32]*spool
	replay        *spoolReader
	replayXid     uint32
	replayEnd     uint64
	idleWALEnd    uint64
	beat          *time.Ticker
	closeOnce     sync.Once
	stats         Stats
	rows          rowSlab
	positions     posSlab
	txbuf         []byte // chunk the TxID strings are carved from
	reuse         bool   // ReuseBuffers: rows are reused once the caller is done with an event
	batch         []wireMsg
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

// Open connects, runs the preflight checks, makes sure the publication and slot exist, and
// (per the snapshot mode) prepares the initial snapshot. Streaming starts on the first Next
// after the snapshot.
func Open(ctx context.Context, cfg Config) (*Source, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Source{cfg: cfg, log: cfg.Logger.With("source", "postgres"), filter: newFilter(&cfg),
		versions: map[schema.TableID]uint64{}, rels: map[uint32]*relation{}, spools: map[uint32]*spool{},
		ackNote: make(chan struct{}, 1)}
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
	}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	var err error
	s.connCfg, err = pgconn.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("postgres dsn: %w", err)
	}
	for k, v := range sessionParams {
		s.connCfg.RuntimeParams[k] = v
	}
	meta, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	s.cat = &catalog{conn: meta}
	if err := meta.QueryRow(ctx, "SELECT current_database(), current_setting('server_version_num')::int").Scan(&s.dbName, &s.version); err != nil {
		return nil, fmt.Errorf("postgres: read server version: %w", err)
	}
	if err := s.cat.loadTypes(ctx, "t.oid < 16384"); err != nil {
		return nil, err
	}
	if err := s.preflight(ctx); err != nil {
		return nil, err
	}
	if err := s.ensurePublication(ctx); err != nil {
		return nil, err
	}
	rc := s.connCfg.Copy()
	rc.RuntimeParams["replication"] = "database"
	rc.BuildFrontend = func(r io.Reader, w io.Writer) *pgproto3.Frontend {
		s.coal = newCoalescer(r)
		return pgproto3.NewFrontend(s.coal, w)
	}
	if s.repl, err = pgconn.ConnectConfig(ctx, rc); err != nil {
		return nil, fmt.Errorf("postgres: replication connection: %w", err)
	}
	sys, err := pglogrepl.IdentifySystem(ctx, s.repl)
	if err != nil {
		return nil, fmt.Errorf("postgres: IDENTIFY_SYSTEM: %w", err)
	}
	s.log.Info("connected", "system_id", sys.SystemID, "timeline", sys.Timeline, "xlogpos", sys.XLogPos.String(), "db", s.dbName, "server_version", s.version)
	if err := s.prepareSlot(ctx); err != nil {
		return nil, err
	}
	ok = true
	return s, nil
}

// sessionParams make the server print values in the forms the decoder reads, on the snapshot
// connections and the walsender alike.
var sessionParams = map[string]string{
	"DateStyle":          "ISO, MDY",
	"IntervalStyle":      "postgres",
	"TimeZone":           "UTC",
	"bytea_output":       "hex",
	"extra_float_digits": "1",
	"lc_monetary":        "C",
}

func (s *Source) connect(ctx context.Context) (*pgx.Conn, error) {
	cc, err := pgx.ParseConfig("")
	if err != nil {
		return nil, err
	}
	cc.Config = *s.connCfg.Copy()
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect to %s:%d as %s: %w", s.connCfg.Host, s.connCfg.Port, s.connCfg.User, err)
	}
	return conn, nil
}

// prepareSlot decides whether a snapshot runs, creates (or re-creates) the slot, and sets the
// streaming start LSN.
func (s *Source) prepareSlot(ctx context.Context) error {
	var plugin *string
	var confirmed *string
	exists := true
	err := s.cat.conn.QueryRow(ctx, "SELECT plugin, confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", s.cfg.Slot).Scan(&plugin, &confirmed)
	if errors.Is(err, pgx.ErrNoRows) {
		exists = false
	} else if err != nil {
		return fmt.Errorf("postgres: read slot %s: %w", s.cfg.Slot, err)
	}
	if exists && (plugin == nil || *plugin != "pgoutput") {
		p := "<physical>"
		if plugin != nil {
			p = *plugin
		}
		return fmt.Errorf("postgres: replication slot %q uses plugin %s, not pgoutput: choose another --slot, or drop it with SELECT pg_drop_replication_slot('%s')", s.cfg.Slot, p, s.cfg.Slot)
	}
	mode := s.cfg.SnapshotMode
	r := s.resume
	snapshotDone := r != nil && (!r.Snapshot || r.SnapshotCompleted)
	if exists && snapshotDone && confirmed != nil && r.CommitLSN != 0 {
		// The slot only moves when we acknowledge, after the offset is saved: a slot ahead of the
		// offset was consumed by someone else, and the changes in between are gone.
		if c, err := pglogrepl.ParseLSN(*confirmed); err == nil && uint64(c) > r.CommitLSN {
			if mode == SnapshotWhenNeeded {
				s.log.Warn("the slot is ahead of the stored offset; taking a new snapshot", "slot", s.cfg.Slot, "confirmed", *confirmed, "offset", r.String())
				snapshotDone = false
			} else {
				s.log.Warn("the slot is ahead of the stored offset: changes between them were consumed elsewhere and are missing (use --snapshot-mode when_needed to re-snapshot)", "slot", s.cfg.Slot, "confirmed", *confirmed, "offset", r.String())
			}
		}
	}
	need := false
	switch mode {
	case SnapshotInitial, SnapshotInitialOnly:
		need = !snapshotDone
	case SnapshotWhenNeeded:
		need = !snapshotDone || !exists
	case SnapshotAlways:
		need = true
	}
	if snapshotDone && !exists && !need {
		return fmt.Errorf("postgres: the stored offset (%s) needs replication slot %q, which no longer exists: changes since then are lost; restart with --snapshot-mode when_needed (re-snapshot) or delete the stored offset", r, s.cfg.Slot)
	}
	if mode == SnapshotInitialOnly && snapshotDone {
		s.snapOnly = true
		return nil
	}
	if need {
		if exists {
			s.log.Warn("dropping the existing slot to take a consistent snapshot", "slot", s.cfg.Slot)
			if err := pglogrepl.DropReplicationSlot(ctx, s.repl, s.cfg.Slot, pglogrepl.DropReplicationSlotOptions{Wait: true}); err != nil {
				return fmt.Errorf("postgres: drop slot %s: %w", s.cfg.Slot, err)
			}
		}
		res, err := pglogrepl.CreateReplicationSlot(ctx, s.repl, s.cfg.Slot, "pgoutput", pglogrepl.CreateReplicationSlotOptions{Mode: pglogrepl.LogicalReplication, SnapshotAction: "EXPORT_SNAPSHOT"})
		if err != nil {
			return slotError(s.cfg.Slot, err)
		}
		lsn, err := pglogrepl.ParseLSN(res.ConsistentPoint)
		if err != nil {
			return err
		}
		s.log.Info("replication slot created", "slot", s.cfg.Slot, "consistent_point", res.ConsistentPoint, "snapshot", res.SnapshotName)
		s.startLSN = uint64(lsn)
		s.lastCommitEnd = uint64(lsn)
		s.snapOnly = mode == SnapshotInitialOnly
		s.resume = nil
		snap, err := s.startSnapshot(ctx, res.SnapshotName, uint64(lsn))
		if err != nil {
			return err
		}
		s.snap = snap
		return nil
	}
	if !exists {
		res, err := pglogrepl.CreateReplicationSlot(ctx, s.repl, s.cfg.Slot, "pgoutput", pglogrepl.CreateReplicationSlotOptions{Mode: pglogrepl.LogicalReplication, SnapshotAction: "NOEXPORT_SNAPSHOT"})
		if err != nil {
			return slotError(s.cfg.Slot, err)
		}
		lsn, _ := pglogrepl.ParseLSN(res.ConsistentPoint)
		s.startLSN = uint64(lsn)
		s.lastCommitEnd = uint64(lsn)
		s.log.Info("replication slot created", "slot", s.cfg.Slot, "consistent_point", res.ConsistentPoint)
		return nil
	}
	if r != nil {
		s.startLSN = r.CommitLSN
		if s.startLSN == 0 {
			s.startLSN = r.LSN
		}
		s.lastCommitEnd = s.startLSN
		if r.Type == "COMMIT" || r.Type == "HEARTBEAT" || r.TxID == 0 {
			s.resume = nil
		}
	} else if confirmed != nil {
		l, _ := pglogrepl.ParseLSN(*confirmed)
		s.lastCommitEnd = uint64(l)
	}
	return nil
}

func slotError(slot string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "53400" {
		return fmt.Errorf("postgres: no free replication slot for %q (%s): raise max_replication_slots (ALTER SYSTEM SET max_replication_slots = 20; then restart) or drop unused slots (SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active)", slot, pe.Message)
	}
	return fmt.Errorf("postgres: create replication slot %s: %w", slot, err)
}

func (s *Source) startStreaming(ctx context.Context) error {
	proto := s.cfg.ProtoVersion
	if proto == 0 {
		proto = 1
		if s.version >= 140000 {
			proto = 2
		}
	}
	args := []string{fmt.Sprintf("proto_version '%d'", proto), fmt.Sprintf("publication_names '%s'", s.cfg.Publication)}
	if s.version >= 140000 {
		args = append(args, "messages 'true'")
	}
	if proto >= 2 {
		args = append(args, "streaming 'true'")
	}
	if err := pglogrepl.StartReplication(ctx, s.repl, s.cfg.Slot, pglogrepl.LSN(s.startLSN), pglogrepl.StartReplicationOptions{Mode: pglogrepl.LogicalReplication, PluginArgs: args}); err != nil {
		return fmt.Errorf("postgres: START_REPLICATION slot %s at %s: %w", s.cfg.Slot, pglogrepl.LSN(s.startLSN), err)
	}
	s.log.Info("streaming", "slot", s.cfg.Slot, "start_lsn", pglogrepl.LSN(s.startLSN).String(), "proto_version", proto, "resume", s.resume != nil)
	s.acked.Store(0)
	s.msgs = make(chan []wireMsg, 16)
	s.recvErr = make(chan error, 1)
	rctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.recvErr <- s.receive(rctx)
	}()
	if s.cfg.HeartbeatInterval > 0 {
		s.beat = time.NewTicker(s.cfg.HeartbeatInterval)
	}
	s.streaming = true
	return nil
}

// receive owns the replication connection: it reads CopyData, answers keepalives at once and
// sends a standby status every StatusInterval (sooner after an Ack), reporting as Flush only
// the LSN that Ack confirmed. Messages go to Next in batches, cut at transaction boundaries.
//
// It reads with context.Background and a deadline on the socket instead of a context per
// message: a per-message context costs a timer and a channel per row.
func (s *Source) receive(ctx context.Context) error {
	interval := s.cfg.StatusInterval
	next := time.Now().Add(interval)
	status := func() error {
		next = time.Now().Add(interval)
		return s.sendStatus(false)
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	var arena byteArena
	batch := make([]wireMsg, 0, 256)
	// flush hands the batch to Next, still answering the server while Next is busy.
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		for {
			select {
			case s.msgs <- batch:
				batch = make([]wireMsg, 0, 256)
				return nil
			case <-ctx.Done():
				return ctx.Err()
			case <-tick.C:
				if !time.Now().Before(next) {
					if err := status(); err != nil {
						return err
					}
				}
			case <-s.ackNote:
				if err := status(); err != nil {
					return err
				}
			}
		}
	}
	conn := s.repl.Conn()
	var deadline time.Time
	txMsgs := 0 // messages of the current transaction (or stream block) so far
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		now := time.Now()
		select {
		case <-s.ackNote:
			if err := status(); err != nil {
				return err
			}
		default:
		}
		if !now.Before(next) {
			if err := status(); err != nil {
				return err
			}
		}
		if !now.Before(deadline) {
			// Wake at least every 200 ms to pass on acks and notice Close.
			deadline = now.Add(200 * time.Millisecond)
			if next.Before(deadline) {
				deadline = next
			}
			if err := conn.SetReadDeadline(deadline); err != nil {
				return err
			}
		}
		raw, err := s.repl.ReceiveMessage(context.Background())
		if err != nil {
			if pgconn.Timeout(err) && ctx.Err() == nil {
				if err := flush(); err != nil {
					return err
				}
				continue
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("postgres: replication stream: %w", err)
		}
		switch msg := raw.(type) {
		case *pgproto3.CopyData:
			if len(msg.Data) == 0 {
				continue
			}
			switch msg.Data[0] {
			case pglogrepl.PrimaryKeepaliveMessageByteID:
				pkm, err := pglogrepl.ParsePrimaryKeepaliveMessage(msg.Data[1:])
				if err != nil {
					return err
				}
				if uint64(pkm.ServerWALEnd) > s.received.Load() {
					s.received.Store(uint64(pkm.ServerWALEnd))
				}
				if pkm.ReplyRequested {
					if err := status(); err != nil {
						return err
					}
				}
				batch = append(batch, wireMsg{walEnd: uint64(pkm.ServerWALEnd)})
				if err := flush(); err != nil {
					return err
				}
			case pglogrepl.XLogDataByteID:
				if len(msg.Data) < 25 {
					return fmt.Errorf("postgres: short XLogData (%d bytes)", len(msg.Data))
				}
				lsn := binary.BigEndian.Uint64(msg.Data[1:])
				if lsn > s.received.Load() {
					s.received.Store(lsn)
				}
				data := arena.copy(msg.Data[25:])
				batch = append(batch, wireMsg{lsn: lsn, data: data})
				if len(data) > 0 {
					switch data[0] {
					case msgBegin, msgStreamStart:
						txMsgs = 0
					case msgCommit, msgStreamStop, msgStreamCommit, msgStreamAbort, msgMessage:
						txMsgs = 0
						if s.coal != nil {
							s.coal.bulk = false
						}
						if err := flush(); err != nil {
							return err
						}
						continue
					}
				}
				if txMsgs++; txMsgs == bulkAfter && s.coal != nil {
					s.coal.bulk = true
				}
				if len(batch) == cap(batch) {
					if err := flush(); err != nil {
						return err
					}
				}
			}
		case *pgproto3.ErrorResponse:
			return fmt.Errorf("postgres: replication stream: %w", pgconn.ErrorResponseToPgError(msg))
		case *pgproto3.CopyDone:
			return errors.New("postgres: the server ended the replication stream")
		}
	}
}

// sendStatus sends a standby status update: Write = received, Flush = Apply = acknowledged
// (0 = none yet, which the server ignores).
func (s *Source) sendStatus(reply bool) error {
	acked := s.acked.Load()
	recv := s.received.Load()
	if recv < acked {
		recv = acked
	}
	data := make([]byte, 0, 34)
	data = append(data, pglogrepl.StandbyStatusUpdateByteID)
	data = binary.BigEndian.AppendUint64(data, recv)
	data = binary.BigEndian.AppendUint64(data, acked)
	data = binary.BigEndian.AppendUint64(data, acked)
	data = binary.BigEndian.AppendUint64(data, uint64(time.Now().UnixMicro()-pgEpochMicros))
	if reply {
		data = append(data, 1)
	} else {
		data = append(data, 0)
	}
	buf, err := (&pgproto3.CopyData{Data: data}).Encode(nil)
	if err != nil {
		return err
	}
	if err := s.repl.Frontend().SendUnbufferedEncodedCopyData(buf); err != nil {
		return fmt.Errorf("postgres: send standby status: %w", err)
	}
	return nil
}

// Ack confirms that every event up to the one that carried p is durable: the slot may be
// confirmed up to p's commit LSN. It never blocks on the network.
func (s *Source) Ack(_ context.Context, p capture.Position) error {
	pos, ok := p.(*Position)
	if !ok || pos == nil {
		return fmt.Errorf("postgres: ack of a foreign position %T", p)
	}
	if pos.CommitLSN == 0 {
		return nil
	}
	for {
		cur := s.acked.Load()
		if pos.CommitLSN <= cur || s.acked.CompareAndSwap(cur, pos.CommitLSN) {
			break
		}
	}
	select {
	case s.ackNote <- struct{}{}:
	default:
	}
	return nil
}

// Acked returns the LSN confirmed by Ack so far (for tests and metrics).
func (s *Source) Acked() uint64 { return s.acked.Load() }

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
		if s.beat != nil {
			s.beat.Stop()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if s.repl != nil {
			if s.streaming && s.acked.Load() != 0 {
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
func (s *Source) Next(ctx context.Context) (capture.Event, error) {
	if s.reuse && s.pendHead == len(s.pending) {
		// No queued event points into the rows: only those already returned, which the
		// caller is done with.
		s.rows.reset()
	}
	for {
		if s.pendHead < len(s.pending) {
			// A queue over one backing array: popping by reslicing would shrink its capacity
			// until every append allocated a new array (an event's size per row).
			ev := s.pending[s.pendHead]
			s.pending[s.pendHead] = capture.Event{}
			if s.pendHead++; s.pendHead == len(s.pending) {
				s.pending, s.pendHead = s.pending[:0], 0
			}
			return ev, nil
		}
		if s.snap != nil {
			ev, done, err := s.snap.next(ctx)
			if err != nil {
				return capture.Event{}, err
			}
			if !done {
				return ev, nil
			}
			s.snap.close()
			lsn := s.snap.lsn
			s.snap = nil
			return capture.Event{Kind: capture.SnapshotDone, Source: capture.Source{Connector: "postgresql", DB: s.dbName, TsMicros: time.Now().UnixMicro(), LSN: lsn, HasLSN: true},
				Position: &Position{LSN: lsn, ProcLSN: lsn, CommitLSN: lsn, TsMicros: time.Now().UnixMicro(), SnapshotCompleted: true}}, nil
		}
		if s.snapOnly {
			return capture.Event{}, ErrSnapshotOnly
		}
		if !s.streaming {
			if err := s.startStreaming(ctx); err != nil {
				return capture.Event{}, err
			}
		}
		if s.replay != nil {
			lsn, data, err := s.replay.next()
			if err == io.EOF {
				s.finishReplay()
				continue
			}
			if err != nil {
				return capture.Event{}, err
			}
			if err := s.handle(ctx, lsn, data, true); err != nil {
				return capture.Event{}, err
			}
			continue
		}
		var beat <-chan time.Time
		if s.beat != nil {
			beat = s.beat.C
		}
		if len(s.batch) > 0 {
			m := s.batch[0]
			s.batch[0] = wireMsg{}
			s.batch = s.batch[1:]
			if m.data == nil {
				if !s.inTx && s.streamXid == 0 && m.walEnd > s.idleWALEnd {
					s.idleWALEnd = m.walEnd
				}
				continue
			}
			if err := s.handle(ctx, m.lsn, m.data, false); err != nil {
				return capture.Event{}, err
			}
			continue
		}
		select {
		case s.batch = <-s.msgs:
		case err := <-s.recvErr:
			s.recvErr <- err
			return capture.Event{}, retryable{err}
		case <-beat:
			if ev, ok, err := s.heartbeat(ctx); err != nil {
				return capture.Event{}, err
			} else if ok {
				return ev, nil
			}
		case <-ctx.Done():
			return capture.Event{}, ctx.Err()
		}
	}
}

// ReuseBuffers lets Next reuse the memory of the rows it returned earlier: after it, an
// event's Before and After are valid only until the next Next call (the capture.Value
// contract), which saves an allocation of ~80 bytes per column per row. The pipeline calls it
// (it encodes each event before asking for the next); without it rows stay valid for good.
// Call it before Next, from Next's goroutine.
func (s *Source) ReuseBuffers() { s.reuse = true }

// retryable marks a lost replication connection as transient.
type retryable struct{ error }

func (r retryable) Retryable() bool { return !errors.Is(r.error, context.Canceled) }
func (r retryable) Unwrap() error   { return r.error }

func (s *Source) heartbeat(ctx context.Context) (capture.Event, bool, error) {
	if s.cfg.HeartbeatActionQuery != "" {
		if _, err := s.cat.conn.Exec(ctx, s.cfg.HeartbeatActionQuery); err != nil {
			s.log.Warn("heartbeat action query failed", "err", err)
		}
	}
	if s.inTx || s.streamXid != 0 {
		return capture.Event{}, false, nil
	}
	lsn := max(s.idleWALEnd, s.lastCommitEnd)
	now := time.Now().UnixMicro()
	return capture.Event{Kind: capture.Keepalive, Source: capture.Source{Connector: "postgresql", DB: s.dbName, TsMicros: now, LSN: lsn, HasLSN: true},
		Position: &Position{LSN: lsn, ProcLSN: lsn, CommitLSN: lsn, TsMicros: now, Type: "HEARTBEAT"}}, true, nil
}

func (s *Source) finishReplay() {
	s.replay = nil
	sp := s.spools[s.replayXid]
	if sp != nil {
		sp.close()
		delete(s.spools, s.replayXid)
	}
	s.commit(s.replayEnd)
}

// handle decodes one pgoutput message. streamed says it comes from a streamed transaction
// (change messages then carry an xid).
func (s *Source) handle(ctx context.Context, lsn uint64, data []byte, streamed bool) error {
	if len(data) == 0 {
		return nil
	}
	typ := data[0]
	r := &reader{b: data[1:]}
	// Inside a Stream Start/Stop block everything but stream control goes to the spool.
	if s.streamXid != 0 && !streamed {
		switch typ {
		case msgStreamStop:
			s.streamXid = 0
			return nil
		case msgStreamStart, msgStreamCommit, msgStreamAbort:
		default:
			var sub uint32
			switch typ {
			case msgInsert, msgUpdate, msgDelete, msgTruncate, msgRelation, msgType:
				if len(data) >= 5 {
					sub = binary.BigEndian.Uint32(data[1:5])
				}
			}
			return s.spools[s.streamXid].add(lsn, sub, data)
		}
	}
	if streamed {
		switch typ {
		case msgInsert, msgUpdate, msgDelete, msgTruncate, msgRelation, msgType:
			r.u32()
		case msgMessage:
			if len(data) > 5 && data[5]&1 == 1 { // transactional messages carry the xid first
				r.u32()
			}
		}
	}
	switch typ {
	case msgBegin:
		final := r.u64()
		t := int64(r.u64())
		xid := r.u32()
		if r.bad {
			return fmt.Errorf("postgres: short BEGIN at %s", pglogrepl.LSN(lsn))
		}
		s.begin(xid, t+pgEpochMicros, lsn)
		_ = final
	case msgCommit:
		r.u8()
		r.u64()
		end := r.u64()
		if r.bad {
			return fmt.Errorf("postgres: short COMMIT at %s", pglogrepl.LSN(lsn))
		}
		s.commit(end)
	case msgStreamStart:
		xid := r.u32()
		r.u8()
		s.streamXid = xid
		if s.spools[xid] == nil {
			s.spools[xid] = newSpool(s.cfg.spoolDir())
		}
	case msgStreamStop:
		s.streamXid = 0
	case msgStreamAbort:
		xid, sub := r.u32(), r.u32()
		if sp := s.spools[xid]; sp != nil {
			if xid == sub {
				sp.close()
				delete(s.spools, xid)
			} else if err := sp.abortSub(sub); err != nil {
				return err
			}
		}
	case msgStreamCommit:
		xid := r.u32()
		r.u8()
		r.u64()
		end := r.u64()
		t := int64(r.u64())
		if r.bad {
			return fmt.Errorf("postgres: short STREAM COMMIT at %s", pglogrepl.LSN(lsn))
		}
		sp := s.spools[xid]
		if sp == nil {
			sp = newSpool(s.cfg.spoolDir())
			s.spools[xid] = sp
		}
		rd, err := sp.reader()
		if err != nil {
			return err
		}
		s.log.Debug("streamed transaction committed", "xid", xid, "messages", sp.count, "bytes", sp.size)
		s.stats.StreamedTransactions++
		s.stats.SpooledBytes += sp.size
		if sp.f != nil {
			s.stats.SpooledToDisk++
		}
		s.begin(xid, t+pgEpochMicros, lsn)
		s.replay, s.replayXid, s.replayEnd = rd, xid, end
	case msgRelation:
		m, err := parseRelation(r)
		if err != nil {
			return err
		}
		rel, err := s.buildRelation(ctx, m, s.rels[m.id])
		if err != nil {
			return err
		}
		s.rels[m.id] = rel
	case msgType, msgOrigin:
	case msgInsert, msgUpdate, msgDelete:
		return s.change(typ, lsn, r)
	case msgTruncate:
		n := int(r.u32())
		opts := r.u8()
		_ = opts
		for i := 0; i < n && !r.bad; i++ {
			rel := s.rels[r.u32()]
			if rel == nil || !rel.included || s.skipOp['t'] {
				continue
			}
			s.emitChange(capture.OpTruncate, rel, lsn, nil, nil, "TRUNCATE")
		}
	case msgMessage:
		flags := r.u8()
		r.u64()
		prefix := string(r.cstr())
		n := int(r.u32())
		content := r.bytes(n)
		if r.bad {
			return fmt.Errorf("postgres: short MESSAGE at %s", pglogrepl.LSN(lsn))
		}
		tx := flags&1 == 1
		ev := capture.Event{Kind: capture.Change, Op: capture.OpMessage, Message: &capture.Message{Transactional: tx, Prefix: prefix, Content: content},
			Source: capture.Source{Connector: "postgresql", DB: s.dbName, LSN: lsn, HasLSN: true, LastCommitLSN: s.lastCommitEnd}}
		if tx {
			s.countEvent(lsn)
			ev.Source.TsMicros, ev.Source.TxID, ev.Source.HasTxID = s.commitTime, int64(s.xid), true
			ev.TxID = s.txID(s.xid, lsn)
			ev.Position = &Position{LSN: lsn, ProcLSN: lsn, CommitLSN: s.lastCommitEnd, TxID: int64(s.xid), TsMicros: s.commitTime, Type: "MESSAGE", Events: s.eventsAtLSN}
			if s.skipTx && s.alreadyDelivered(lsn) {
				return nil
			}
			s.sendBegin()
		} else {
			ev.Source.TsMicros = time.Now().UnixMicro()
			if !s.inTx {
				// Outside a transaction the message is its own unit: confirm up to it.
				ev.Position = &Position{LSN: lsn, ProcLSN: lsn, CommitLSN: s.lastCommitEnd, TsMicros: ev.Source.TsMicros, Type: "MESSAGE"}
			}
		}
		s.pending = append(s.pending, ev)
	default:
		return fmt.Errorf("postgres: unknown pgoutput message %q at %s", typ, pglogrepl.LSN(lsn))
	}
	return nil
}

// txID formats "<xid>:<lsn>" into a shared chunk: no allocation of its own per event. The
// bytes of a returned string are never written again.
func (s *Source) txID(xid uint32, lsn uint64) string {
	const most = 10 + 1 + 20
	if cap(s.txbuf)-len(s.txbuf) < most {
		s.txbuf = make([]byte, 0, 4096)
	}
	start := len(s.txbuf)
	s.txbuf = strconv.AppendUint(s.txbuf, uint64(xid), 10)
	s.txbuf = append(s.txbuf, ':')
	s.txbuf = strconv.AppendUint(s.txbuf, lsn, 10)
	b := s.txbuf[start:]
	return unsafe.String(unsafe.SliceData(b), len(b))
}

func (s *Source) begin(xid uint32, ts int64, lsn uint64) {
	s.inTx, s.xid, s.commitTime = true, xid, ts
	s.curLSN, s.eventsAtLSN = 0, 0
	s.skipTx, s.beginSent, s.beginEv = false, false, nil
	if s.resume != nil && s.resume.TxID == int64(xid) {
		s.skipTx, s.beginSent = true, true
		s.log.Info("resuming inside a partly delivered transaction", "xid", xid, "after", s.resume.String())
		return // its BEGIN was delivered already
	}
	ev := &capture.Event{Kind: capture.Begin, Source: capture.Source{Connector: "postgresql", DB: s.dbName, TsMicros: ts, TxID: int64(xid), HasTxID: true, LSN: lsn, HasLSN: true, LastCommitLSN: s.lastCommitEnd},
		TxID:     s.txID(xid, lsn),
		Position: &Position{LSN: 0, CommitLSN: s.lastCommitEnd, TxID: int64(xid), TsMicros: ts, Type: "BEGIN"}}
	s.beginEv = ev
}

// sendBegin emits the transaction's BEGIN before its first event. Transactions without a
// captured event produce no BEGIN/COMMIT, only a Keepalive that moves the position.
func (s *Source) sendBegin() {
	if s.beginEv != nil {
		s.pending = append(s.pending, *s.beginEv)
		s.beginEv = nil
		s.beginSent = true
	}
}

func (s *Source) commit(end uint64) {
	xid, ts := s.xid, s.commitTime
	sent := s.beginSent
	s.inTx, s.skipTx, s.beginSent, s.beginEv = false, false, false, nil
	s.resume = nil
	s.lastCommitEnd = end
	s.idleWALEnd = end
	kind := capture.Commit
	if !sent {
		kind = capture.Keepalive
	}
	ev := capture.Event{Kind: kind, Source: capture.Source{Connector: "postgresql", DB: s.dbName, TsMicros: ts, TxID: int64(xid), HasTxID: true, LSN: end, HasLSN: true, LastCommitLSN: end},
		TxID:     s.txID(xid, end),
		Position: &Position{LSN: end, ProcLSN: end, CommitLSN: end, TxID: int64(xid), TsMicros: ts, Type: "COMMIT"}}
	s.pending = append(s.pending, ev)
}

// countEvent advances the per-LSN event counter used for exact resume.
func (s *Source) countEvent(lsn uint64) {
	if lsn != s.curLSN {
		s.curLSN, s.eventsAtLSN = lsn, 0
	}
	s.eventsAtLSN++
}

// alreadyDelivered reports whether the event just counted at lsn was delivered before the
// restart (same transaction, at or before the stored change).
func (s *Source) alreadyDelivered(lsn uint64) bool {
	r := s.resume
	return lsn < r.LSN || (lsn == r.LSN && s.eventsAtLSN <= r.Events)
}

var opNames = map[byte]string{msgInsert: "INSERT", msgUpdate: "UPDATE", msgDelete: "DELETE"}

func (s *Source) change(typ byte, lsn uint64, r *reader) error {
	rel := s.rels[r.u32()]
	if rel == nil {
		return fmt.Errorf("postgres: change at %s for a relation never described", pglogrepl.LSN(lsn))
	}
	var before, after capture.Row
	var err error
	var op capture.Op
	switch typ {
	case msgInsert:
		op = capture.OpCreate
		if r.u8() != 'N' {
			return fmt.Errorf("postgres: INSERT at %s: no new tuple", pglogrepl.LSN(lsn))
		}
		if rel.included {
			after, err = rel.decodeTuple(r, &s.rows)
		}
	case msgUpdate:
		op = capture.OpUpdate
		k := r.u8()
		if k == 'K' || k == 'O' {
			if rel.included {
				before, err = rel.decodeTuple(r, &s.rows)
			} else {
				err = skipTuple(r)
			}
			if err != nil {
				return err
			}
			k = r.u8()
		}
		if k != 'N' {
			return fmt.Errorf("postgres: UPDATE at %s: no new tuple", pglogrepl.LSN(lsn))
		}
		if rel.included {
			after, err = rel.decodeTuple(r, &s.rows)
			// Unchanged TOAST under FULL identity: the old tuple has the value.
			if err == nil && before != nil {
				for i := range after {
					if after[i].Kind == capture.Unavailable && before[i].Kind != capture.Unavailable {
						after[i] = before[i]
					}
				}
			}
		}
	case msgDelete:
		op = capture.OpDelete
		k := r.u8()
		if k != 'K' && k != 'O' {
			return fmt.Errorf("postgres: DELETE at %s: no old tuple", pglogrepl.LSN(lsn))
		}
		if rel.included {
			before, err = rel.decodeTuple(r, &s.rows)
		}
	}
	if err != nil {
		return fmt.Errorf("postgres: decode %s at %s: %w", opNames[typ], pglogrepl.LSN(lsn), err)
	}
	if !rel.included || s.skipOp[op] {
		return nil
	}
	s.emitChange(op, rel, lsn, before, after, opNames[typ])
	return nil
}

func skipTuple(r *reader) error {
	n := int(r.u16())
	for i := 0; i < n && !r.bad; i++ {
		if r.u8() == 't' {
			r.bytes(int(int32(r.u32())))
		}
	}
	if r.bad {
		return errors.New("postgres: truncated tuple")
	}
	return nil
}

func (s *Source) emitChange(op capture.Op, rel *relation, lsn uint64, before, after capture.Row, typ string) {
	s.countEvent(lsn)
	if s.skipTx && s.alreadyDelivered(lsn) {
		return
	}
	s.sendBegin()
	t := rel.table
	ev := capture.Event{Kind: capture.Change, Op: op, Table: t, Before: before, After: after,
		Source: capture.Source{Connector: "postgresql", DB: s.dbName, Schema: t.ID.Schema, Table: t.ID.Table, TsMicros: s.commitTime,
			TxID: int64(s.xid), HasTxID: true, LSN: lsn, HasLSN: true, LastCommitLSN: s.lastCommitEnd},
		TxID: s.txID(s.xid, lsn)}
	pos := s.positions.get()
	*pos = Position{LSN: lsn, ProcLSN: lsn, CommitLSN: s.lastCommitEnd, TxID: int64(s.xid), TsMicros: s.commitTime, Type: typ, Events: s.eventsAtLSN}
	ev.Position = pos
	s.pending = append(s.pending, ev)
}

// spoolDir returns the directory for streamed transactions.
func (c *Config) spoolDir() string {
	if c.SpoolDir != "" {
		return c.SpoolDir
	}
	return os.TempDir()
}
