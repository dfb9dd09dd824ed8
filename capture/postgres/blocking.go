package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/signal"
)

// Blocking snapshots (execute-snapshot with "type": "blocking", as Debezium's): at the next
// transaction boundary after the signal, streaming pauses at that position P; the tables are
// read as the initial snapshot reads them (parallel readers in one snapshot, here exported by a
// side connection's transaction, op r); then streaming resumes at P. Changes committed
// while the tables are read come after their rows, so each key ends at its latest state.
//
// The receive loop keeps the replication connection alive meanwhile (standby status updates)
// while its batches wait. Every row's position is P with the tables left in order
// (blocking_snapshot_tables) and the first one's last key read (blocking_snapshot_after), so
// a restart before the end reads them from there, in a new snapshot (the stream from P brings
// every change since), then streams on from P; the position after the last row has none. As
// in the initial snapshot, the rows of a batch before its last say they reread
// (capture.Rereader: they carry the key before the batch) and the last one's names its own
// key, so an exactly-once sink ends its transactions there and a restart sends no committed
// row again. A keyless table has no key to resume after: a restart reads it again whole.

// blockReq is a blocking snapshot to run: its tables (schema.table), read in this order, their
// conditions, and the first one's last key read before a restart (nil: none).
type blockReq struct {
	tables  []string
	filters map[string]string
	after   []string
}

// blockReqOf is the blocking snapshot the stored offset's b records as unfinished.
func blockReqOf(b *BlockingProgress) *blockReq {
	return &blockReq{tables: b.Tables, filters: b.Filters, after: b.After}
}

// progress is the request as the positions handed out while it waits record it.
func (b *blockReq) progress() *BlockingProgress {
	return &BlockingProgress{Tables: b.tables, Filters: b.filters, After: b.after}
}

// filter keeps the tables of the request, in its order, with their conditions; the first one
// goes on after its last key read, when the key still has as many columns.
func (b *blockReq) filter(all []*snapTable, log *slog.Logger) []*snapTable {
	byName := make(map[string]*snapTable, len(all))
	for _, t := range all {
		byName[t.rel.table.ID.String()] = t
	}
	var out []*snapTable
	for i, name := range b.tables {
		t := byName[name]
		if t == nil {
			continue
		}
		t.where = b.filters[name]
		if i == 0 && len(b.after) > 0 {
			if len(b.after) == len(t.pk) {
				t.resume = b.after
			} else {
				// The key changed since (ALTER TABLE): the table is read again from the start,
				// which repeats rows, never skips any.
				log.Warn("blocking snapshot: the stored offset's last key read does not fit the table's primary key; the table is read again from the start",
					"table", name, "blocking_snapshot_after", b.after)
			}
		}
		out = append(out, t)
	}
	return out
}

// queuedAfter is the tables left (and their filters) of a running blocking snapshot with those of
// b, asked for meanwhile (the Kafka channel), after them: the positions of the running one's
// rows name them too, or a restart, which never reads their signal again, would lose them. A
// restart reads them in the same pause; a table in both is read once, which keeps every key at
// its latest state all the same (streaming goes on from the same pause position).
func (b *blockReq) queuedAfter(left []string, filters map[string]string) ([]string, map[string]string) {
	tables := slices.Clone(left)
	var merged map[string]string
	for _, name := range b.tables {
		if slices.Contains(tables, name) {
			continue
		}
		tables = append(tables, name)
		if f, ok := b.filters[name]; ok {
			if merged == nil {
				merged = maps.Clone(filters)
				if merged == nil {
					merged = map[string]string{}
				}
			}
			merged[name] = f
		}
	}
	if merged == nil {
		merged = filters
	}
	return tables, merged
}

// stampBlocking makes ev's position name what was asked for meanwhile, or a crash after the
// signal was read (the Kafka channel's offset is past it) would lose it. A copy: the position
// may be one the pipeline is saving.
//
// A blocking snapshot queued (s.blockWait): while none runs (the initial snapshot may: the
// request waits for its end), as the request; while one runs,
// after its tables (queuedAfter: blockingPos does it for the batches pulled after the signal,
// this for the rest of the batch it came in). An incremental snapshot started while a
// blocking one runs (its chunks wait for the stream): its progress, which the blocking
// snapshot's rows do not carry (the stream's events get it from resumedSee).
func (s *Source) stampBlocking(ev *capture.Event) {
	p, ok := ev.Position.(*Position)
	if !ok || p == nil {
		return
	}
	if rs := s.resumed; rs != nil && rs.incr != nil && s.snap != nil && s.snap.base != nil && p.IncrTables == nil {
		p = s.stamp(p)
		ev.Position = p
	}
	w := s.blockWait
	if w == nil {
		return
	}
	switch {
	case (s.snap == nil || s.snap.base == nil) && p.Blocking == nil:
		q := *p
		q.Blocking = w.progress()
		ev.Position = &q
	case s.snap != nil && s.snap.base != nil && p.Blocking != nil &&
		!slices.ContainsFunc(w.tables, func(name string) bool { return !slices.Contains(p.Blocking.Tables, name) }):
		return // it names them already
	case s.snap != nil && s.snap.base != nil && p.Blocking != nil:
		q, b := *p, *p.Blocking
		b.Tables, b.Filters = w.queuedAfter(b.Tables, b.Filters)
		q.Blocking = &b
		ev.Position = &q
	}
}

// blockingPos is the position of the rows of a blocking snapshot's batch b of t before its
// last (the progress before the batch: they reread, unless t is keyless) and the last one's
// (nil: as the others').
func (sn *snapshot) blockingPos(t *snapTable, b *snapBatch) (batch, last *Position) {
	p := *sn.base
	p.TsMicros, p.SignalOffset, p.HasSignalOffset, p.Filters = b.ts, sn.s.sigNext, sn.s.hasSigNext, sn.s.filters
	left, filters := sn.blockLeft[t], sn.base.Blocking.Filters
	if w := sn.s.blockWait; w != nil {
		left, filters = w.queuedAfter(left, filters)
	}
	p.Blocking = &BlockingProgress{Tables: left, Filters: filters, After: b.after}
	p.rereads = b.last != nil
	if b.last != nil {
		q := p
		q.Blocking = &BlockingProgress{Tables: left, Filters: filters, After: b.last}
		q.rereads = false
		last = &q
	}
	return &p, last
}

// queueBlocking resolves the tables of a blocking execute-snapshot and queues it for the next
// transaction boundary (Next).
func (s *Source) queueBlocking(ctx context.Context, snap *signal.Snapshot, log interface {
	Info(string, ...any)
	Error(string, ...any)
}) error {
	var all []*snapTable
	if err := s.bounded(ctx, "list the tables of a blocking snapshot", func(ctx context.Context) (err error) {
		all, err = s.snapshotTables(ctx, s.cat.conn)
		return err
	}); err != nil {
		return err
	}
	req := s.blockWait
	if req == nil {
		req = &blockReq{}
	}
	n, refused := len(req.tables), 0
	for _, t := range all {
		id := t.rel.table.ID.String()
		if !snap.Matches(id) || slices.Contains(req.tables, id) {
			continue
		}
		t.where = snap.Filter(id)
		if ok, err := s.filterAccepted(ctx, t, log); err != nil {
			return err
		} else if !ok {
			refused++
			continue
		}
		req.tables = append(req.tables, id)
		if f := snap.Filter(id); f != "" {
			if req.filters == nil {
				req.filters = map[string]string{}
			}
			req.filters[id] = f
		}
	}
	if len(req.tables) == n && refused > 0 {
		return nil
	}
	if len(req.tables) == n {
		log.Error("execute-snapshot: data-collections match no captured table (names are schema.table regular expressions; the table must be in the publication and the include list)", "data_collections", snap.DataCollections)
		return nil
	}
	s.blockWait = req
	msg := "blocking snapshot queued: streaming pauses at the next transaction boundary"
	if s.resumed != nil || s.snap != nil {
		msg = "blocking snapshot queued: it runs when the snapshot running now is done"
	}
	log.Info(msg, "tables", req.tables)
	return nil
}

// startBlocking pauses streaming at the current position and starts reading the tables of
// s.blockWait in a snapshot exported by a side connection.
func (s *Source) startBlocking(ctx context.Context) error {
	req := s.blockWait
	p := s.commitPos()
	conn, err := s.snapshotConnect(ctx)
	if err != nil {
		return err
	}
	var name string
	err = s.bounded(ctx, "export a snapshot for a blocking snapshot", func(ctx context.Context) error {
		if _, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
			return err
		}
		return conn.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&name)
	})
	if err != nil {
		conn.Close(context.Background())
		return fmt.Errorf("postgres: blocking snapshot: export a snapshot: %w", err)
	}
	sn, err := s.startSnapshot(ctx, name, p, req)
	if err != nil {
		conn.Close(context.Background())
		return err
	}
	sn.export = conn
	sn.base = &Position{LSN: p, ProcLSN: p, CommitLSN: p, Blocking: &BlockingProgress{Tables: req.tables, Filters: req.filters}}
	// The tables left from each one on, in the order its units are read.
	var order []*snapTable
	for _, u := range sn.units {
		if len(order) == 0 || order[len(order)-1] != u.t {
			order = append(order, u.t)
		}
	}
	names := make([]string, len(order))
	sn.blockLeft = make(map[*snapTable][]string, len(order))
	for i, t := range order {
		names[i] = t.rel.table.ID.String()
		sn.blockLeft[t] = names[i:]
	}
	s.snap = sn
	s.blockWait = nil
	s.log.Info("blocking snapshot started: streaming paused", "tables", req.tables, "lsn", strconv.FormatUint(p, 10))
	return nil
}

// blockingDone is the event after a blocking snapshot's last row: a position at the pause
// point without the tables, so the stored offset no longer asks for them.
func (s *Source) blockingDone(lsn uint64) capture.Event {
	s.log.Info("blocking snapshot completed: streaming resumes", "lsn", strconv.FormatUint(lsn, 10))
	now := time.Now().UnixMicro()
	p := &Position{LSN: lsn, ProcLSN: lsn, CommitLSN: lsn, TsMicros: now}
	if rs := s.resumed; rs != nil && rs.incr != nil {
		rs.stampIncremental(p) // an incremental snapshot started meanwhile (stampBlocking)
	}
	return capture.Event{Kind: capture.Keepalive, Source: capture.Source{Connector: "postgresql", DB: s.dbName, TsMicros: now, LSN: lsn, HasLSN: true},
		Position: p}
}
