package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/sluicecdc/sluice/schema"
)

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

// connectMeta opens the metadata connection (catalog, preflight, heartbeat query) and reads
// the database name, the server version and the built-in types.
func (s *Source) connectMeta(ctx context.Context) error {
	var err error
	s.connCfg, err = pgconn.ParseConfig(s.cfg.DSN)
	if err != nil {
		return fmt.Errorf("postgres dsn: %w", err)
	}
	if err := s.cfg.applyTLS(s.connCfg); err != nil {
		return err
	}
	for k, v := range sessionParams {
		s.connCfg.RuntimeParams[k] = v
	}
	if s.connCfg.ConnectTimeout == 0 {
		// A server behind a stalled link accepts TCP and then never answers: without a bound
		// the reopen after a lost stream would hang there for good.
		s.connCfg.ConnectTimeout = s.cfg.ReadTimeout
	}
	meta, err := s.connectFirst(ctx)
	if err != nil {
		return err
	}
	s.cfg.checkTLS(s.log, s.connCfg, meta.PgConn().Conn())
	s.cat = &catalog{conn: meta, timeout: s.cfg.QueryTimeout}
	if err := s.bounded(ctx, "read the server version", func(ctx context.Context) error {
		return meta.QueryRow(ctx, "SELECT current_database(), current_setting('server_version_num')::int").Scan(&s.dbName, &s.version)
	}); err != nil {
		return fmt.Errorf("postgres: read server version: %w", err)
	}
	return s.cat.loadTypes(ctx, "t.oid < 16384")
}

func (s *Source) connect(ctx context.Context) (*pgx.Conn, error) {
	cc, err := pgx.ParseConfig("")
	if err != nil {
		return nil, err
	}
	cc.Config = *s.connCfg.Copy()
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect to %s:%d as %s: %w", s.connCfg.Host, s.connCfg.Port, s.connCfg.User, connectError(err))
	}
	return conn, nil
}

// connectReplication opens the replication connection, reading its socket through the
// coalescer, and identifies the system.
func (s *Source) connectReplication(ctx context.Context) error {
	rc := s.connCfg.Copy()
	rc.RuntimeParams["replication"] = "database"
	rc.BuildFrontend = func(r io.Reader, w io.Writer) *pgproto3.Frontend {
		s.coal = newCoalescer(r)
		return pgproto3.NewFrontend(s.coal, w)
	}
	var err error
	if s.repl, err = pgconn.ConnectConfig(ctx, rc); err != nil {
		return fmt.Errorf("postgres: replication connection: %w", err)
	}
	var sys pglogrepl.IdentifySystemResult
	err = s.bounded(ctx, "IDENTIFY_SYSTEM", func(ctx context.Context) (err error) {
		sys, err = pglogrepl.IdentifySystem(ctx, s.repl)
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: IDENTIFY_SYSTEM: %w", err)
	}
	s.walEnd = uint64(sys.XLogPos)
	s.log.Info("connected", "system_id", sys.SystemID, "timeline", sys.Timeline, "xlogpos", sys.XLogPos.String(), "db", s.dbName, "server_version", s.version)
	return nil
}

// slotState is what pg_replication_slots says about the configured slot.
type slotState struct {
	exists    bool
	confirmed *string // confirmed_flush_lsn
	lost      bool    // wal_status lost: the server removed WAL the slot needed
}

// prepareSlot decides whether a snapshot runs, creates (or re-creates) the slot, and sets the
// streaming start LSN. It never drops a slot or skips changes on its own: a slot the stored
// offset cannot resume from is re-created only when the snapshot mode re-snapshots or
// DropExistingSlot says so; otherwise it is an error naming both ways out.
func (s *Source) prepareSlot(ctx context.Context) error {
	slot, err := s.readSlot(ctx)
	if err != nil {
		return err
	}
	mode := s.cfg.SnapshotMode
	r := s.resume
	if r != nil && r.Snapshot && !r.SnapshotCompleted && r.SnapSlot != "" && r.SnapSlot != s.cfg.Slot && r.LSN == 0 && r.CommitLSN == 0 {
		// Stored before slot r.SnapSlot was created, maybe never created: no position.
		s.log.Warn("the stored offset only names another slot (stored before its creation, which may not have happened); starting as without an offset", "stored_slot", r.SnapSlot, "slot", s.cfg.Slot)
		r, s.resume = nil, nil
	}
	if r != nil && r.Snapshot && !r.SnapshotCompleted && r.SnapSlot != "" && r.SnapSlot != s.cfg.Slot {
		return fmt.Errorf("postgres: the stored offset is of the unfinished snapshot through slot %q, not --slot %q: restart with --slot %s, or delete the stored offset to start over", r.SnapSlot, s.cfg.Slot, r.SnapSlot)
	}
	snapshotDone := r != nil && (!r.Snapshot || r.SnapshotCompleted)
	if slot.exists {
		if bad := s.unusableSlot(slot, r); bad != nil {
			switch {
			case mode == SnapshotWhenNeeded || mode == SnapshotAlways:
				s.log.Warn("the slot cannot resume the stored offset; taking a new snapshot", "snapshot_mode", mode, "reason", bad.Error())
				snapshotDone = false
			case s.cfg.DropExistingSlot:
				s.log.Warn("dropping the replication slot and starting over without the stored offset (--drop-existing-slot)", "slot", s.cfg.Slot, "reason", bad.Error())
				if err := pglogrepl.DropReplicationSlot(ctx, s.repl, s.cfg.Slot, pglogrepl.DropReplicationSlotOptions{Wait: true}); err != nil {
					return fmt.Errorf("postgres: drop slot %s: %w", s.cfg.Slot, err)
				}
				slot, r, s.resume, snapshotDone = slotState{}, nil, nil, false
			default:
				return bad
			}
		}
	}
	need := s.needSnapshot(snapshotDone, slot.exists)
	// An unfinished snapshot whose rows may have reached the sinks (its offset has a position:
	// the slot was created): taking it again at a later LSN leaves in the sinks the rows it
	// published and that were deleted in between; only the modes that say so re-snapshot.
	unfinished := r != nil && r.Snapshot && !r.SnapshotCompleted && (r.LSN != 0 || r.CommitLSN != 0)
	switch {
	case snapshotDone && !slot.exists && !need:
		return fmt.Errorf("postgres: the stored offset (%s) needs replication slot %q, which no longer exists: changes since then are lost; restart with --snapshot-mode when_needed (re-snapshot) or delete the stored offset", r, s.cfg.Slot)
	case unfinished && !slot.exists && mode != SnapshotWhenNeeded && mode != SnapshotAlways:
		return fmt.Errorf("postgres: the stored offset (%s) records a snapshot that did not finish through replication slot %q, which no longer exists: "+
			"the changes since its start are gone, and a new snapshot at a later LSN would leave in the sinks the rows it published and that were deleted since; "+
			"empty the sinks, then restart with --snapshot-mode when_needed (takes a new snapshot on a new slot)", r, s.cfg.Slot)
	case unfinished && !slot.exists:
		s.log.Warn("the slot of the unfinished snapshot no longer exists; taking a new snapshot: rows it published and that were deleted since stay in the sinks",
			"snapshot_mode", mode, "slot", s.cfg.Slot, "offset", r.String())
	}
	if mode == SnapshotInitialOnly && snapshotDone {
		s.snapOnly = true
		return nil
	}
	if need && slot.exists {
		if ok, why := s.resumable(r); ok {
			if err := s.resumeSnapshot(ctx, r, slot.confirmed); err != nil {
				return err
			}
			// Snapshots asked for while the initial one ran wait for its end (stampIncrWait,
			// stampBlocking): they run after its rest.
			s.resumeQueued(r)
			return s.snapshotAddedTables(ctx, r, func(id schema.TableID) bool { return atOrAfter(id, r.SnapSchema, r.SnapTable) })
		} else if unfinished && mode != SnapshotAlways {
			return fmt.Errorf("postgres: the stored offset (%s) records a snapshot that did not finish, and it cannot be resumed (%s); "+
				"taking it again at a later LSN would leave in the sinks the rows it published and that were deleted since: "+
				"empty the sinks, then either restart once with --snapshot-mode always (drops slot %q and takes a new snapshot; go back to your mode after it), "+
				"or delete the stored offset and restart with --drop-existing-slot", r, why, s.cfg.Slot)
		} else if unfinished {
			s.log.Warn("the unfinished snapshot is taken again (snapshot mode always): rows it published and that were deleted since stay in the sinks", "reason", why)
		}
	}
	if need {
		return s.createSlotForSnapshot(ctx, slot.exists)
	}
	if !slot.exists {
		return s.createSlot(ctx)
	}
	s.resumeFrom(r, slot.confirmed)
	s.resumeQueued(r)
	return s.snapshotAddedTables(ctx, r, nil)
}

// resumeQueued carries on the incremental and blocking snapshots the stored offset r names
// (unfinished, or asked for and not started yet), in Next.
func (s *Source) resumeQueued(r *Position) {
	if r != nil && len(r.IncrTables) > 0 {
		s.incrResume = r // carried on in Next (incremental.go)
	}
	if r != nil && r.Blocking != nil {
		// Read from where it was cut, before streaming on (blocking.go).
		s.blockWait = blockReqOf(r.Blocking)
		s.log.Info("the blocking snapshot of the stored offset did not finish (or did not start); it runs before streaming goes on", "tables", r.Blocking.Tables, "after", r.Blocking.After)
	}
}

// unusableSlot says why an existing slot cannot carry on from the stored offset r, or nil:
// with no offset stored (in a mode that would snapshot), nothing says which of the slot's
// changes were delivered; a slot confirmed past the offset was consumed by someone else (the
// slot only moves when sluice acknowledges, after the offset is saved), so the changes in
// between are gone. A slot with no offset in mode no_data is streamed from as Debezium does.
func (s *Source) unusableSlot(slot slotState, r *Position) error {
	const ways = "choose one: --snapshot-mode when_needed (or always) re-creates the slot with a new snapshot; " +
		"--drop-existing-slot drops the slot and starts over as on a first run (snapshot mode %s); or use another --slot"
	if slot.lost {
		// Whatever the stored offset, the slot cannot stream: START_REPLICATION would fail
		// with "can no longer get changes". Only a new slot (and so a new snapshot) helps.
		return errSlotLost(s.cfg.Slot)
	}
	if r == nil {
		if s.cfg.SnapshotMode == SnapshotNoData {
			return nil
		}
		return fmt.Errorf("postgres: %w: slot %q is not this connector's to reuse or drop: if it belongs to a pipeline whose offsets you meant to use, start with the same --offsets-file or --offsets-topic and --name; otherwise "+ways,
			ErrSlotExists, s.cfg.Slot, s.cfg.SnapshotMode)
	}
	if at := max(r.LSN, r.CommitLSN, r.ProcLSN); s.walEnd != 0 && at > s.walEnd {
		// Every saved position was received from the server, so at most its WAL's end.
		return fmt.Errorf("postgres: %w: the stored offset is at %s but this server's WAL ends at %s: the offset was written against another server "+
			"(or this one was restored from a backup, or failed over to a replica without the end of the WAL), and streaming from it would skip every change "+
			"until the WAL reaches it; use this server's offsets (--offsets-file/--offsets-topic and --name), or "+ways,
			ErrOffsetAhead, pglogrepl.LSN(at), pglogrepl.LSN(s.walEnd), s.cfg.SnapshotMode)
	}
	if slot.confirmed == nil || r.CommitLSN == 0 || (r.Snapshot && !r.SnapshotCompleted) {
		return nil
	}
	c, err := pglogrepl.ParseLSN(*slot.confirmed)
	if err != nil || uint64(c) <= r.CommitLSN {
		return nil
	}
	return fmt.Errorf("postgres: %w: slot %q is confirmed up to %s but the stored offset is at %s: the changes between them were consumed elsewhere and are missing from the sink; "+ways,
		ErrSlotAhead, s.cfg.Slot, *slot.confirmed, pglogrepl.LSN(r.CommitLSN), s.cfg.SnapshotMode)
}

// readSlot reads the slot's state; a slot of another plugin is an error.
func (s *Source) readSlot(ctx context.Context) (slotState, error) {
	var plugin *string
	st := slotState{exists: true}
	lost := "false"
	if s.version >= 130000 {
		lost = "wal_status IS NOT DISTINCT FROM 'lost'"
	}
	err := s.bounded(ctx, "read slot "+s.cfg.Slot, func(ctx context.Context) error {
		return s.cat.conn.QueryRow(ctx, "SELECT plugin, confirmed_flush_lsn::text, "+lost+" FROM pg_replication_slots WHERE slot_name = $1", s.cfg.Slot).Scan(&plugin, &st.confirmed, &st.lost)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		st.exists = false
	} else if err != nil {
		return st, fmt.Errorf("postgres: read slot %s: %w", s.cfg.Slot, err)
	}
	if st.exists && (plugin == nil || *plugin != "pgoutput") {
		p := "<physical>"
		if plugin != nil {
			p = *plugin
		}
		return st, fmt.Errorf("postgres: replication slot %q uses plugin %s, not pgoutput: choose another --slot, or drop it with SELECT pg_drop_replication_slot('%s')", s.cfg.Slot, p, s.cfg.Slot)
	}
	return st, nil
}

// needSnapshot applies the snapshot mode.
func (s *Source) needSnapshot(snapshotDone, slotExists bool) bool {
	switch s.cfg.SnapshotMode {
	case SnapshotInitial, SnapshotInitialOnly:
		return !snapshotDone
	case SnapshotWhenNeeded:
		return !snapshotDone || !slotExists
	case SnapshotAlways:
		return true
	}
	return false
}

// createSlotForSnapshot (re-)creates the slot with an exported snapshot and prepares the
// initial snapshot in it; streaming starts at the slot's consistent point.
func (s *Source) createSlotForSnapshot(ctx context.Context, exists bool) error {
	if exists {
		// Only on an explicit choice (prepareSlot): the snapshot mode re-snapshots, or the
		// stored offset is of an unfinished snapshot through this very slot.
		s.log.Warn("dropping the existing slot to take a consistent snapshot", "slot", s.cfg.Slot, "snapshot_mode", s.cfg.SnapshotMode)
		if err := pglogrepl.DropReplicationSlot(ctx, s.repl, s.cfg.Slot, pglogrepl.DropReplicationSlotOptions{Wait: true}); err != nil {
			return fmt.Errorf("postgres: drop slot %s: %w", s.cfg.Slot, err)
		}
	}
	// First the slot's name alone: a crash between the creation and the save after it then
	// still finds an offset that claims the slot (its position is the slot's own).
	if err := s.saveInitialOffset(ctx, 0); err != nil {
		return err
	}
	res, err := pglogrepl.CreateReplicationSlot(ctx, s.repl, s.cfg.Slot, "pgoutput", pglogrepl.CreateReplicationSlotOptions{Mode: pglogrepl.LogicalReplication, SnapshotAction: "EXPORT_SNAPSHOT"})
	if err != nil {
		return slotError(s.cfg.Slot, err)
	}
	lsn, err := pglogrepl.ParseLSN(res.ConsistentPoint)
	if err != nil {
		return err
	}
	s.createdSlot = true
	s.log.Info("replication slot created", "slot", s.cfg.Slot, "consistent_point", res.ConsistentPoint, "snapshot", res.SnapshotName)
	if err := s.saveInitialOffset(ctx, uint64(lsn)); err != nil {
		return err
	}
	s.startLSN = uint64(lsn)
	s.lastCommitEnd = uint64(lsn)
	s.snapOnly = s.cfg.SnapshotMode == SnapshotInitialOnly
	s.resume = nil
	snap, err := s.startSnapshot(ctx, res.SnapshotName, uint64(lsn), nil)
	if err != nil {
		return err
	}
	s.snap = snap
	return nil
}

// saveInitialOffset stores, through Config.SaveOffset, the offset of a snapshot that has not
// read a row yet on the slot just created at lsn (0: about to be created): without it, a crash before the pipeline's
// first save leaves a slot and no offset, which a restart refuses (ErrSlotExists) rather than
// guess whose the slot is. Nothing runs on the replication connection meanwhile, so its
// exported snapshot stays importable.
func (s *Source) saveInitialOffset(ctx context.Context, lsn uint64) error {
	if s.cfg.SaveOffset == nil {
		return nil
	}
	p := Position{LSN: lsn, CommitLSN: lsn, TsMicros: time.Now().UnixMicro(), Snapshot: true, SnapSlot: s.cfg.Slot, Filters: s.filters}
	if err := s.cfg.SaveOffset(ctx, p.AppendOffset(nil)); err != nil {
		return retryable{fmt.Errorf("postgres: store the offset of new slot %s before its snapshot: %w", s.cfg.Slot, err)}
	}
	return nil
}

// createSlot creates the missing slot without a snapshot; streaming starts at its consistent
// point.
func (s *Source) createSlot(ctx context.Context) error {
	res, err := pglogrepl.CreateReplicationSlot(ctx, s.repl, s.cfg.Slot, "pgoutput", pglogrepl.CreateReplicationSlotOptions{Mode: pglogrepl.LogicalReplication, SnapshotAction: "NOEXPORT_SNAPSHOT"})
	if err != nil {
		return slotError(s.cfg.Slot, err)
	}
	lsn, _ := pglogrepl.ParseLSN(res.ConsistentPoint)
	s.startLSN = uint64(lsn)
	s.lastCommitEnd = uint64(lsn)
	s.createdSlot = true
	s.log.Info("replication slot created", "slot", s.cfg.Slot, "consistent_point", res.ConsistentPoint)
	return nil
}

// resumeFrom sets the start of streaming on an existing slot: the stored offset's commit (the
// server sends the transaction again from its BEGIN), else the slot's confirmed position.
// Inside a partly delivered transaction the resume position stays set, so that begin skips
// what was delivered.
func (s *Source) resumeFrom(r *Position, confirmed *string) {
	if r != nil {
		s.startLSN = r.CommitLSN
		if s.startLSN == 0 {
			s.startLSN = r.LSN
		}
		if s.startLSN == 0 && confirmed != nil {
			// An offset stored before its slot was created (saveInitialOffset): the slot,
			// never confirmed since, stands at its consistent point.
			l, _ := pglogrepl.ParseLSN(*confirmed)
			s.startLSN = uint64(l)
		}
		s.lastCommitEnd = s.startLSN
		if r.LastCommit != 0 && r.LastCommit < s.startLSN {
			// An idle position: the transactions sent again follow the last commit, as
			// their first copies did (source.sequence[0]); positions stay at the idle one.
			s.lastCommitEnd, s.idleEmitted = r.LastCommit, s.startLSN
		}
		if r.Type == "COMMIT" || r.Type == "HEARTBEAT" || r.TxID == 0 {
			s.resume = nil
		}
	} else if confirmed != nil {
		l, _ := pglogrepl.ParseLSN(*confirmed)
		s.lastCommitEnd = uint64(l)
	}
}

func slotError(slot string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "53400" {
		return fmt.Errorf("postgres: no free replication slot for %q (%s): raise max_replication_slots (ALTER SYSTEM SET max_replication_slots = 20; then restart) or drop unused slots (SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active)", slot, pe.Message)
	}
	return fmt.Errorf("postgres: create replication slot %s: %w", slot, err)
}
