package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/postgres/pgoutput"
)

// wireMsg is one message from the receive loop: a pgoutput message (data, owned) or a
// keepalive (data nil) carrying the server's WAL end.
type wireMsg struct {
	lsn    uint64
	walEnd uint64
	data   []byte
}

// startStreaming sends START_REPLICATION and starts the receive loop.
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
	if err := s.bounded(ctx, "START_REPLICATION", func(ctx context.Context) error {
		return pglogrepl.StartReplication(ctx, s.repl, s.cfg.Slot, pglogrepl.LSN(s.startLSN), pglogrepl.StartReplicationOptions{Mode: pglogrepl.LogicalReplication, PluginArgs: args})
	}); err != nil {
		return fmt.Errorf("postgres: START_REPLICATION slot %s at %s: %w", s.cfg.Slot, pglogrepl.LSN(s.startLSN), err)
	}
	s.log.Info("streaming", "slot", s.cfg.Slot, "start_lsn", pglogrepl.LSN(s.startLSN).String(), "proto_version", proto, "resume", s.cfg.Offset != nil)
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
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.watchSlot(rctx)
	}()
	if s.cfg.HeartbeatInterval > 0 {
		s.beat = time.NewTicker(s.cfg.HeartbeatInterval)
	}
	s.streaming = true
	return nil
}

// receiver is the state of the receive loop (the receive goroutine only).
type receiver struct {
	s        *Source
	conn     net.Conn
	next     time.Time // when the next standby status is due
	deadline time.Time // the read deadline set on the socket
	tick     *time.Ticker
	arena    byteArena
	batch    []wireMsg
	txMsgs   int // messages of the current transaction (or stream block) so far

	lastRecv time.Time // the last message from the server, or the last time Next took a batch
	pinged   bool      // a reply was requested in this silence
}

// receive owns the replication connection: it reads CopyData, answers keepalives at once and
// sends a standby status every StatusInterval (sooner after an Ack), reporting as Flush only
// the LSN that Ack confirmed. Messages go to Next in batches, cut at transaction boundaries.
//
// It reads with context.Background and a deadline on the socket instead of a context per
// message: a per-message context costs a timer and a channel per row.
func (s *Source) receive(ctx context.Context) error {
	rv := &receiver{s: s, conn: s.repl.Conn(), next: time.Now().Add(s.cfg.StatusInterval),
		tick: time.NewTicker(200 * time.Millisecond), batch: make([]wireMsg, 0, 256), lastRecv: time.Now()}
	defer rv.tick.Stop()
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err := rv.beforeRead(); err != nil {
			return err
		}
		raw, err := s.repl.ReceiveMessage(context.Background())
		if err != nil {
			if pgconn.Timeout(err) && ctx.Err() == nil {
				if err := rv.silence(); err != nil {
					return err
				}
				if err := rv.flush(ctx); err != nil {
					return err
				}
				continue
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("postgres: replication stream: %w", err)
		}
		rv.lastRecv, rv.pinged = time.Now(), false
		if err := rv.dispatch(ctx, raw); err != nil {
			return err
		}
	}
}

// silence watches a quiet stream. The server sends keepalives on its own only when it has
// not heard from us for wal_sender_timeout/2, and our status updates keep resetting that
// clock, so an idle but healthy stream can be silent for long: after half the read timeout
// sluice asks for a keepalive (a status with reply requested), and after the whole read
// timeout without any answer it presumes the connection dead (a stalled network, a frozen
// server) and fails, retryably, instead of waiting for ever.
func (rv *receiver) silence() error {
	quiet := time.Since(rv.lastRecv)
	limit := rv.s.cfg.ReadTimeout
	if quiet >= limit {
		return fmt.Errorf("postgres: replication stream: %w: nothing for %s, not even a keepalive after one was requested (--read-timeout %s)",
			ErrReadTimeout, quiet.Round(time.Millisecond), limit)
	}
	if quiet >= limit/2 && !rv.pinged {
		rv.pinged = true
		rv.next = time.Now().Add(rv.s.cfg.StatusInterval)
		return rv.s.sendStatus(true)
	}
	return nil
}

// beforeRead sends a status that an Ack or the interval asks for, and arms the read deadline.
func (rv *receiver) beforeRead() error {
	now := time.Now()
	select {
	case <-rv.s.ackNote:
		if err := rv.status(); err != nil {
			return err
		}
	default:
	}
	select {
	case <-rv.s.pingNote:
		// The server answers with a keepalive carrying how far it has decoded.
		if err := rv.s.sendStatus(true); err != nil {
			return err
		}
	default:
	}
	if !now.Before(rv.next) {
		if err := rv.status(); err != nil {
			return err
		}
	}
	if !now.Before(rv.deadline) {
		// Wake at least every 200 ms to pass on acks and notice Close.
		rv.deadline = now.Add(200 * time.Millisecond)
		if rv.next.Before(rv.deadline) {
			rv.deadline = rv.next
		}
		if err := rv.conn.SetReadDeadline(rv.deadline); err != nil {
			return err
		}
	}
	return nil
}

// status sends a standby status and schedules the next one.
func (rv *receiver) status() error {
	rv.next = time.Now().Add(rv.s.cfg.StatusInterval)
	return rv.s.sendStatus(false)
}

// flush hands the batch to Next, still answering the server while Next is busy.
func (rv *receiver) flush(ctx context.Context) error {
	if len(rv.batch) == 0 {
		return nil
	}
	for {
		select {
		case rv.s.msgs <- rv.batch:
			rv.batch = make([]wireMsg, 0, 256)
			// Time spent waiting for Next is not the server's silence.
			rv.lastRecv = time.Now()
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-rv.tick.C:
			if !time.Now().Before(rv.next) {
				if err := rv.status(); err != nil {
					return err
				}
			}
		case <-rv.s.ackNote:
			if err := rv.status(); err != nil {
				return err
			}
		}
	}
}

// dispatch handles one message of the replication connection.
func (rv *receiver) dispatch(ctx context.Context, raw pgproto3.BackendMessage) error {
	switch msg := raw.(type) {
	case *pgproto3.CopyData:
		if len(msg.Data) == 0 {
			return nil
		}
		switch msg.Data[0] {
		case pglogrepl.PrimaryKeepaliveMessageByteID:
			return rv.keepalive(ctx, msg.Data[1:])
		case pglogrepl.XLogDataByteID:
			return rv.xlogData(ctx, msg.Data)
		}
	case *pgproto3.ErrorResponse:
		return fmt.Errorf("postgres: replication stream: %w", pgconn.ErrorResponseToPgError(msg))
	case *pgproto3.CopyDone:
		return errors.New("postgres: the server ended the replication stream")
	}
	return nil
}

// keepalive answers a primary keepalive if asked, and passes the server's WAL end to Next
// (which reports it as the position of an idle source).
func (rv *receiver) keepalive(ctx context.Context, data []byte) error {
	pkm, err := pglogrepl.ParsePrimaryKeepaliveMessage(data)
	if err != nil {
		return err
	}
	if uint64(pkm.ServerWALEnd) > rv.s.received.Load() {
		rv.s.received.Store(uint64(pkm.ServerWALEnd))
	}
	if pkm.ReplyRequested {
		if err := rv.status(); err != nil {
			return err
		}
	}
	rv.batch = append(rv.batch, wireMsg{walEnd: uint64(pkm.ServerWALEnd)})
	return rv.flush(ctx)
}

// xlogData queues one pgoutput message (copied into the arena). The batch goes to Next at
// transaction boundaries and when full; inside a large transaction the coalescer is told to
// read in bulk.
func (rv *receiver) xlogData(ctx context.Context, raw []byte) error {
	if len(raw) < 25 {
		return fmt.Errorf("postgres: short XLogData (%d bytes)", len(raw))
	}
	lsn := binary.BigEndian.Uint64(raw[1:])
	if lsn > rv.s.received.Load() {
		rv.s.received.Store(lsn)
	}
	data := rv.arena.copy(raw[25:])
	rv.batch = append(rv.batch, wireMsg{lsn: lsn, data: data})
	coal := rv.s.coal
	if len(data) > 0 {
		switch pgoutput.MessageType(data[0]) {
		case pgoutput.MessageTypeBegin, pgoutput.MessageTypeStreamStart:
			rv.txMsgs = 0
		case pgoutput.MessageTypeCommit, pgoutput.MessageTypeStreamStop, pgoutput.MessageTypeStreamCommit, pgoutput.MessageTypeStreamAbort, pgoutput.MessageTypeMessage:
			rv.txMsgs = 0
			if coal != nil {
				coal.bulk = false
			}
			return rv.flush(ctx)
		}
	}
	if rv.txMsgs++; rv.txMsgs == bulkAfter && coal != nil {
		coal.bulk = true
	}
	if len(rv.batch) == cap(rv.batch) {
		return rv.flush(ctx)
	}
	return nil
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
	data = binary.BigEndian.AppendUint64(data, uint64(pgoutput.TimeFromUnixMicro(time.Now().UnixMicro())))
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

// Ready implements pipeline.ReadyReporter: Next returns without waiting for the server while
// events are queued or the batch the receive loop handed over has messages left (or a
// committed streamed transaction is being read back from its spool). Where the batch's rest
// emits nothing (changes of tables not captured, cut mid-transaction at the batch's size) the
// rest of the transaction still follows at once: the server sends a transaction only once it
// committed, and ends every batch of an in-progress one (STREAM STOP). Snapshots, signals
// and a resumed snapshot's windows query the server between events: never ready then.
func (s *Source) Ready() bool {
	if s.snap != nil || s.resumed != nil || s.blockWait != nil || len(s.incrWait) > 0 || len(s.signals) > 0 || s.inboxN.Load() > 0 {
		return false
	}
	return s.pendHead < len(s.pending) || len(s.batch) > 0 || s.replay != nil
}
