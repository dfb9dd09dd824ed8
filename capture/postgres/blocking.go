package postgres

import (
	"context"
	"fmt"
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
// while its batches wait. Every row's position is P with the tables in progress
// (blocking_snapshot_tables), so a restart before the end reads them again from the start, then
// streams on from P; the position after the last row has none.

// blockReq is a blocking snapshot to run: its tables (schema.table) and their conditions.
type blockReq struct {
	tables  []string
	filters map[string]string
}

// filter keeps the tables of the request, with their conditions.
func (b *blockReq) filter(all []*snapTable) []*snapTable {
	var out []*snapTable
	for _, t := range all {
		name := t.rel.table.ID.String()
		if slices.Contains(b.tables, name) {
			t.where = b.filters[name]
			out = append(out, t)
		}
	}
	return out
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
	if s.resumed != nil {
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
	return capture.Event{Kind: capture.Keepalive, Source: capture.Source{Connector: "postgresql", DB: s.dbName, TsMicros: now, LSN: lsn, HasLSN: true},
		Position: &Position{LSN: lsn, ProcLSN: lsn, CommitLSN: lsn, TsMicros: now}}
}
