package postgres

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"
	"unsafe"

	"github.com/jackc/pglogrepl"
	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/postgres/pgoutput"
)

// handle turns one pgoutput message into events. streamed says it comes from the replay of a
// streamed transaction's spool (change messages then carry an xid).
func (s *Source) handle(ctx context.Context, lsn uint64, data []byte, streamed bool) error {
	if len(data) == 0 {
		return nil
	}
	if s.streamXid != 0 && !streamed {
		if spooled, err := s.spoolInBlock(lsn, data); spooled {
			return err
		}
	}
	msg, err := s.dec.Decode(pgoutput.LSN(lsn), data, streamed)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	switch m := msg.(type) {
	case *pgoutput.BeginMessage:
		s.begin(m.Xid, m.CommitTime.UnixMicro(), lsn)
	case *pgoutput.CommitMessage:
		s.commit(uint64(m.TransactionEndLSN))
	case *pgoutput.InsertMessage:
		return s.insert(lsn, m, data)
	case *pgoutput.InsertMessageV2:
		return s.insert(lsn, &m.InsertMessage, data)
	case *pgoutput.UpdateMessage:
		return s.update(lsn, m, data)
	case *pgoutput.UpdateMessageV2:
		return s.update(lsn, &m.UpdateMessage, data)
	case *pgoutput.DeleteMessage:
		return s.delete(lsn, m, data)
	case *pgoutput.DeleteMessageV2:
		return s.delete(lsn, &m.DeleteMessage, data)
	case *pgoutput.RelationMessage:
		return s.relation(ctx, m)
	case *pgoutput.RelationMessageV2:
		return s.relation(ctx, &m.RelationMessage)
	case *pgoutput.TruncateMessage:
		s.truncate(lsn, m)
	case *pgoutput.TruncateMessageV2:
		s.truncate(lsn, &m.TruncateMessage)
	case *pgoutput.LogicalDecodingMessage:
		s.message(lsn, m)
	case *pgoutput.LogicalDecodingMessageV2:
		s.message(lsn, &m.LogicalDecodingMessage)
	case *pgoutput.TypeMessage, *pgoutput.TypeMessageV2, *pgoutput.OriginMessage:
		// Types are resolved from the catalog; origins are not reported.
	case *pgoutput.StreamStartMessageV2:
		s.streamStart(m.Xid)
	case *pgoutput.StreamStopMessageV2:
		s.streamXid = 0
	case *pgoutput.StreamCommitMessageV2:
		return s.streamCommit(lsn, m)
	case *pgoutput.StreamAbortMessageV2:
		return s.streamAbort(m.Xid, m.SubXid)
	case *pgoutput.StreamAbortMessageV4:
		return s.streamAbort(m.Xid, m.SubXid)
	default:
		// Two-phase messages (v3): START_REPLICATION never asks for two_phase.
		return fmt.Errorf("postgres: unexpected pgoutput %s message at %s", msg.Type(), pgoutput.LSN(lsn))
	}
	return nil
}

// spoolInBlock handles a message inside a Stream Start/Stop block: everything but stream
// control goes to the transaction's spool. It reports whether the message was taken.
func (s *Source) spoolInBlock(lsn uint64, data []byte) (bool, error) {
	switch t := pgoutput.MessageType(data[0]); t {
	case pgoutput.MessageTypeStreamStop:
		s.streamXid = 0
		return true, nil
	case pgoutput.MessageTypeStreamStart, pgoutput.MessageTypeStreamCommit, pgoutput.MessageTypeStreamAbort:
		return false, nil
	case pgoutput.MessageTypeMessage:
		// Not tracked per subtransaction: a logical decoding message of a subtransaction
		// that is rolled back stays in the spool.
		return true, s.spools[s.streamXid].add(lsn, 0, data)
	default:
		return true, s.spools[s.streamXid].add(lsn, pgoutput.StreamedXid(data), data)
	}
}

func (s *Source) streamStart(xid uint32) {
	s.streamXid = xid
	if s.spools[xid] == nil {
		s.spools[xid] = newSpool(s.cfg.spoolDir())
	}
}

// streamAbort drops a streamed transaction (sub == xid) or the part of it from subtransaction
// sub on.
func (s *Source) streamAbort(xid, sub uint32) error {
	sp := s.spools[xid]
	if sp == nil {
		return nil
	}
	if xid == sub {
		sp.close()
		delete(s.spools, xid)
		return nil
	}
	return sp.abortSub(sub)
}

// streamCommit starts the replay of a committed streamed transaction from its spool, as if it
// had been sent between a BEGIN and a COMMIT.
func (s *Source) streamCommit(lsn uint64, m *pgoutput.StreamCommitMessageV2) error {
	sp := s.spools[m.Xid]
	if sp == nil {
		sp = newSpool(s.cfg.spoolDir())
		s.spools[m.Xid] = sp
	}
	rd, err := sp.reader()
	if err != nil {
		return err
	}
	s.log.Debug("streamed transaction committed", "xid", m.Xid, "messages", sp.count, "bytes", sp.size)
	s.stats.StreamedTransactions++
	s.stats.SpooledBytes += sp.size
	if sp.f != nil {
		s.stats.SpooledToDisk++
	}
	s.begin(m.Xid, m.CommitTime.UnixMicro(), lsn)
	s.replay, s.replayXid, s.replayEnd = rd, m.Xid, uint64(m.TransactionEndLSN)
	return nil
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

func (s *Source) relation(ctx context.Context, m *pgoutput.RelationMessage) error {
	rel, err := s.buildRelation(ctx, *m, s.rels[m.RelationID])
	if err != nil {
		// A lost catalog connection is as retryable as a lost stream.
		return classify(err)
	}
	s.rels[m.RelationID] = rel
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
		TxID: s.txID(xid, lsn),
		Position: &Position{LSN: 0, CommitLSN: s.commitPos(), LastCommit: s.lastCommitEnd, TxID: int64(xid), TsMicros: ts, Type: "BEGIN", Filters: s.filters,
			SignalOffset: s.sigNext, HasSignalOffset: s.hasSigNext}}
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
		TxID: s.txID(xid, end),
		Position: &Position{LSN: end, ProcLSN: end, CommitLSN: end, TxID: int64(xid), TsMicros: ts, Type: "COMMIT", Filters: s.filters,
			SignalOffset: s.sigNext, HasSignalOffset: s.hasSigNext}}
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

// changeRelation returns the relation a change message names.
func (s *Source) changeRelation(lsn uint64, id uint32) (*relation, error) {
	rel := s.rels[id]
	if rel == nil {
		return nil, fmt.Errorf("postgres: change at %s for a relation never described", pgoutput.LSN(lsn))
	}
	return rel, nil
}

// tupleError reports a tuple that did not decode, with the message it came in (whose values
// before the failing column may already be rewritten in place by their decoders).
func tupleError(lsn uint64, data []byte, err error) error {
	return fmt.Errorf("postgres: %w", &pgoutput.DecodeError{LSN: pgoutput.LSN(lsn), Type: pgoutput.MessageType(data[0]), Data: bytes.Clone(data), Err: err})
}

func (s *Source) insert(lsn uint64, m *pgoutput.InsertMessage, data []byte) error {
	rel, err := s.changeRelation(lsn, m.RelationID)
	if err != nil {
		return err
	}
	if !rel.included {
		return nil
	}
	after, err := rel.decodeTuple(m.Tuple, &s.rows)
	if err != nil {
		return tupleError(lsn, data, err)
	}
	if rel.signal {
		s.signalRow(lsn, rel, after)
		if rel.sigOnly {
			return nil
		}
	}
	if !s.skipOp[capture.OpCreate] {
		s.emitChange(capture.OpCreate, rel, lsn, nil, after, "INSERT")
	}
	return nil
}

func (s *Source) update(lsn uint64, m *pgoutput.UpdateMessage, data []byte) error {
	rel, err := s.changeRelation(lsn, m.RelationID)
	if err != nil {
		return err
	}
	if !rel.included || rel.sigOnly {
		return nil
	}
	var before capture.Row
	if m.OldTupleType != 0 {
		if before, err = rel.decodeTuple(m.OldTuple, &s.rows); err != nil {
			return tupleError(lsn, data, err)
		}
		if err := rel.keyCarried(m.OldTupleType, before, lsn, "UPDATE"); err != nil {
			return err
		}
	}
	after, err := rel.decodeTuple(m.NewTuple, &s.rows)
	if err != nil {
		return tupleError(lsn, data, err)
	}
	// Unchanged TOAST under FULL identity: the whole old row ('O') has the value. A key-only
	// old row ('K', a key change) holds NULL in every other column, which is not the value:
	// the column stays the unavailable placeholder, as Debezium writes it.
	if m.OldTupleType == pgoutput.TupleTypeOld {
		for i := range after {
			if after[i].Kind == capture.Unavailable && before[i].Kind != capture.Unavailable {
				after[i] = before[i]
			}
		}
	}
	if !s.skipOp[capture.OpUpdate] {
		s.emitChange(capture.OpUpdate, rel, lsn, before, after, "UPDATE")
	}
	return nil
}

func (s *Source) delete(lsn uint64, m *pgoutput.DeleteMessage, data []byte) error {
	rel, err := s.changeRelation(lsn, m.RelationID)
	if err != nil {
		return err
	}
	if !rel.included || rel.sigOnly {
		return nil
	}
	before, err := rel.decodeTuple(m.OldTuple, &s.rows)
	if err != nil {
		return tupleError(lsn, data, err)
	}
	if err := rel.keyCarried(m.OldTupleType, before, lsn, "DELETE"); err != nil {
		return err
	}
	if !s.skipOp[capture.OpDelete] {
		s.emitChange(capture.OpDelete, rel, lsn, before, nil, "DELETE")
	}
	return nil
}

func (s *Source) truncate(lsn uint64, m *pgoutput.TruncateMessage) {
	for _, id := range m.RelationIDs {
		rel := s.rels[id]
		if rel == nil || !rel.included || rel.sigOnly || s.skipOp['t'] {
			continue
		}
		s.emitChange(capture.OpTruncate, rel, lsn, nil, nil, "TRUNCATE")
	}
}

// message emits a logical decoding message: inside its transaction when transactional, else
// as its own unit.
func (s *Source) message(lsn uint64, m *pgoutput.LogicalDecodingMessage) {
	if !m.Transactional && m.Prefix == HeartbeatPrefix {
		// The slot watch's heartbeat: a position, never a record. Between transactions
		// everything before it was sent, so it is confirmed as an idle position.
		if !s.inTx && s.streamXid == 0 && lsn > s.commitPos() {
			s.idleWALEnd = max(s.idleWALEnd, lsn)
			s.pending = append(s.pending, s.idleEvent(lsn))
		}
		return
	}
	ev := capture.Event{Kind: capture.Change, Op: capture.OpMessage, Message: &capture.Message{Transactional: m.Transactional, Prefix: m.Prefix, Content: m.Content},
		Source: capture.Source{Connector: "postgresql", DB: s.dbName, LSN: lsn, HasLSN: true, LastCommitLSN: s.lastCommitEnd}}
	if m.Transactional {
		s.countEvent(lsn)
		ev.Source.TsMicros, ev.Source.TxID, ev.Source.HasTxID = s.commitTime, int64(s.xid), true
		ev.TxID = s.txID(s.xid, lsn)
		ev.Position = &Position{LSN: lsn, ProcLSN: lsn, CommitLSN: s.commitPos(), LastCommit: s.lastCommitEnd, TxID: int64(s.xid), TsMicros: s.commitTime, Type: "MESSAGE", Events: s.eventsAtLSN}
		if s.skipTx && s.alreadyDelivered(lsn) {
			return
		}
		if m.Prefix != watermarkPrefix { // never emitted (chunk.go): no BEGIN for it
			s.sendBegin()
		}
	} else {
		ev.Source.TsMicros = time.Now().UnixMicro()
		if !s.inTx {
			// Outside a transaction the message is its own unit: confirm up to it.
			ev.Position = &Position{LSN: lsn, ProcLSN: lsn, CommitLSN: s.commitPos(), LastCommit: s.lastCommitEnd, TsMicros: ev.Source.TsMicros, Type: "MESSAGE"}
		}
	}
	s.pending = append(s.pending, ev)
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
	*pos = Position{LSN: lsn, ProcLSN: lsn, CommitLSN: s.commitPos(), LastCommit: s.lastCommitEnd, TxID: int64(s.xid), TsMicros: s.commitTime, Type: typ, Events: s.eventsAtLSN,
		SignalOffset: s.sigNext, HasSignalOffset: s.hasSigNext, Filters: s.filters}
	ev.Position = pos
	s.pending = append(s.pending, ev)
}

// heartbeat runs the heartbeat action query and, between transactions, returns a Keepalive
// at the latest known position.
func (s *Source) heartbeat(ctx context.Context) (capture.Event, bool, error) {
	if s.cfg.HeartbeatActionQuery != "" {
		err := s.bounded(ctx, "heartbeat action query", func(ctx context.Context) error {
			_, err := s.cat.conn.Exec(ctx, s.cfg.HeartbeatActionQuery)
			return err
		})
		if err != nil {
			// A timeout or a lost connection leaves the catalog connection unusable (and the
			// next relation lookup would fail on it): reopen. A statement the server refused
			// is the query's problem, not the stream's: log it and go on.
			if err := classify(err); capture.Retryable(err) {
				return capture.Event{}, false, err
			}
			s.log.Warn("heartbeat action query failed", "err", err)
		}
	}
	if s.inTx || s.streamXid != 0 {
		return capture.Event{}, false, nil
	}
	return s.idleEvent(max(s.idleWALEnd, s.commitPos())), true, nil
}

// commitPos is the commit LSN of the positions Next hands out: where a restart must start for
// the server to send again everything after the position. That is the end of the last commit,
// or a later idle position already handed out: the slot may be confirmed there, so a later
// position must not fall behind it (a stored offset behind the slot reads as a gap on
// restart), and a transaction that commits after it is sent again from its BEGIN.
func (s *Source) commitPos() uint64 { return max(s.lastCommitEnd, s.idleEmitted) }

// idleEvent is a Keepalive at lsn, a position between transactions: everything the server
// sent before it has been turned into events already.
func (s *Source) idleEvent(lsn uint64) capture.Event {
	s.idleEmitted = max(s.idleEmitted, lsn)
	now := time.Now().UnixMicro()
	return capture.Event{Kind: capture.Keepalive, Source: capture.Source{Connector: "postgresql", DB: s.dbName, TsMicros: now, LSN: lsn, HasLSN: true},
		Position: &Position{LSN: lsn, ProcLSN: lsn, CommitLSN: lsn, LastCommit: s.lastCommitEnd, TsMicros: now, Type: "HEARTBEAT"}}
}

// keyCarried checks that an old key tuple ('K') holds the table's key: under REPLICA IDENTITY
// USING INDEX of an index without the primary key it holds the index's columns and NULL for
// the rest, and the key's missing columns would be written as their fallback (a delete of
// row 1 as one of key 0). The index was switched while streaming (preflight refuses it at
// start); the change cannot be keyed, so the source stops.
func (rel *relation) keyCarried(typ uint8, before capture.Row, lsn uint64, op string) error {
	if typ != pgoutput.TupleTypeKey {
		return nil
	}
	for _, k := range rel.table.PrimaryKey {
		if k < len(before) && before[k].IsNull() {
			return fmt.Errorf("%w (the %s at %s cannot be keyed: after fixing the identity, delete the stored offset and restart with "+
				"--snapshot-mode when_needed, which takes a new snapshot)", errIdentityWithoutKey(quoteIdent(rel.table.ID.Schema)+"."+quoteIdent(rel.table.ID.Table)), op, pglogrepl.LSN(lsn))
		}
	}
	return nil
}
