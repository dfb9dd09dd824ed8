package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// LSNFlushMode is Debezium's lsn.flush.mode: which positions the source confirms to the slot.
type LSNFlushMode string

const (
	// FlushConnectorAndDriver confirms the positions of the events the sink made durable and,
	// between transactions, the server's WAL end that a keepalive or a heartbeat message
	// reports: nothing before it is still to be sent, so an idle source moves its slot and the
	// server can recycle WAL written for other tables and databases (default; in Debezium 3.4
	// only on request).
	FlushConnectorAndDriver LSNFlushMode = "connector_and_driver"
	// FlushConnector confirms only the positions of transactions that reached the source
	// (Debezium's default): while the captured tables are idle the slot stays where it is
	// and retains all WAL written since, however much the server writes elsewhere.
	FlushConnector LSNFlushMode = "connector"
)

// HeartbeatPrefix is the prefix of the logical decoding messages the source emits to move
// its slot (Config.SlotHeartbeatInterval). They are read back from the stream as positions,
// never published.
const HeartbeatPrefix = "sluice_heartbeat"

// slotWatch is the slot's health as the side query reads it.
type slotWatch struct {
	walStatus          string // reserved, extended, unreserved, lost ("" before PostgreSQL 13)
	retained, flushLag int64  // bytes; -1: unknown
}

// errSlotLost makes the error for a slot whose WAL the server removed: the changes in it are
// gone, no retry can bring them back, and only a new snapshot makes the sink whole again.
func errSlotLost(slot string) error {
	return fmt.Errorf("postgres: %w: replication slot %q has wal_status lost: the server removed WAL it had not yet sent (max_slot_wal_keep_size), so changes since the stored position are gone; "+
		"restart with --snapshot-mode when_needed (re-creates the slot and takes a new snapshot), or with --drop-existing-slot (drops it and starts over as on a first run; by hand: SELECT pg_drop_replication_slot('%s');); "+
		"to keep it from happening again raise max_slot_wal_keep_size (ALTER SYSTEM SET max_slot_wal_keep_size = '50GB'; SELECT pg_reload_conf();) or keep sluice running",
		ErrSlotLost, slot, slot)
}

// watchSlot runs until ctx ends: every SlotCheckInterval it reads the slot's retained WAL into
// the stats, warns above RetainedWALWarn, and fails the source (through walErr) when the slot
// is lost; every SlotHeartbeatInterval it emits a non-transactional logical decoding message,
// which comes back through the stream as a position between transactions, so that an idle
// source's slot moves even when nothing else would make the server send one.
//
// It owns its own connection (a pgx.Conn is not safe for concurrent use, and the catalog
// connection belongs to Next's goroutine). A failing query is logged and tried again on a
// new connection at the next tick: the stream reports a server that went away.
func (s *Source) watchSlot(ctx context.Context) {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			cctx, cancel := context.WithTimeout(context.Background(), time.Second)
			conn.Close(cctx)
			cancel()
		}
	}()
	check := time.NewTicker(s.cfg.SlotCheckInterval)
	defer check.Stop()
	var beat <-chan time.Time
	if s.cfg.SlotHeartbeatInterval > 0 && !s.cfg.ReadOnly { // a heartbeat message is a write
		t := time.NewTicker(s.cfg.SlotHeartbeatInterval)
		defer t.Stop()
		beat = t.C
	}
	var lastWarn time.Time
	emitOK := true
	for {
		heartbeat := false
		select {
		case <-ctx.Done():
			return
		case <-check.C:
		case <-beat:
			heartbeat = true
		}
		if conn == nil || conn.IsClosed() {
			c, err := s.connect(ctx)
			if err != nil {
				s.log.Debug("slot watch: connect", "err", err)
				continue
			}
			conn = c
		}
		if heartbeat {
			if !emitOK {
				continue
			}
			err := s.bounded(ctx, "slot heartbeat", func(ctx context.Context) error {
				_, err := conn.Exec(ctx, "SELECT pg_logical_emit_message(false, $1, '')", HeartbeatPrefix)
				return err
			})
			if err != nil && ctx.Err() == nil {
				if isPgError(err) {
					// A standby (cannot write WAL) or a revoked EXECUTE: keepalives still move
					// the slot when other WAL is written; say so once.
					emitOK = false
					s.log.Warn("slot heartbeat disabled: pg_logical_emit_message failed; the slot still moves with the server's keepalives", "err", err)
				} else {
					s.log.Debug("slot heartbeat", "err", err)
					conn.Close(context.Background())
				}
			}
			continue
		}
		w, err := s.readSlotWatch(ctx, conn)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Debug("slot watch: read slot", "err", err)
				if !isPgError(err) {
					conn.Close(context.Background())
				}
			}
			continue
		}
		st := &s.cfg.Stats.Stream
		st.RetainedWALBytes.Store(w.retained)
		st.ConfirmedFlushLagBytes.Store(w.flushLag)
		switch {
		case w.walStatus == "lost":
			select {
			case s.walErr <- errSlotLost(s.cfg.Slot):
			default:
			}
			return
		case w.walStatus == "unreserved":
			if time.Since(lastWarn) >= 5*time.Minute {
				lastWarn = time.Now()
				s.log.Warn("the slot's WAL is about to be removed (wal_status unreserved: beyond max_slot_wal_keep_size): the slot will be lost unless sluice catches up; check the sink and the source lag",
					"slot", s.cfg.Slot, "retained_wal_bytes", w.retained)
			}
		case s.cfg.RetainedWALWarn > 0 && w.retained > s.cfg.RetainedWALWarn:
			if time.Since(lastWarn) >= 5*time.Minute {
				lastWarn = time.Now()
				s.log.Warn("the slot retains more WAL than --retained-wal-warn: the server keeps it on disk until sluice confirms it; check that the sink is delivering and the source lag",
					"slot", s.cfg.Slot, "retained_wal_bytes", w.retained, "confirmed_flush_lag_bytes", w.flushLag, "warn_bytes", s.cfg.RetainedWALWarn)
			}
		}
	}
}

// readSlotWatch reads the slot's WAL status and its retained and unconfirmed WAL.
func (s *Source) readSlotWatch(ctx context.Context, conn *pgx.Conn) (slotWatch, error) {
	w := slotWatch{retained: -1, flushLag: -1}
	status := "''"
	if s.version >= 130000 {
		status = "coalesce(wal_status, '')"
	}
	var ret, lag *int64
	err := s.bounded(ctx, "read slot "+s.cfg.Slot, func(ctx context.Context) error {
		return conn.QueryRow(ctx, `SELECT `+status+`, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint,
  pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint FROM pg_replication_slots WHERE slot_name = $1`, s.cfg.Slot).Scan(&w.walStatus, &ret, &lag)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return w, fmt.Errorf("slot %s is gone", s.cfg.Slot)
	}
	if err != nil {
		return w, err
	}
	if ret != nil {
		w.retained = *ret
	}
	if lag != nil {
		w.flushLag = *lag
	}
	w.walStatus = strings.TrimSpace(w.walStatus)
	return w, nil
}
