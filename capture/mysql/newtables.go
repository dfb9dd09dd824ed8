package mysql

import (
	"context"
	"slices"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql/mysqlddl"
	"github.com/sluicecdc/sluice/schema"
)

// Tables added to the include lists while the connector was stopped: their rows written
// before the stored offset never come from the binlog read from there. Every position records
// the filters it was captured with (Position.Filters); at a restart with other filters, the
// tables the old ones left out and the new ones take in are read in an incremental snapshot,
// as on PostgreSQL. An offset without filters (written before they were recorded) detects
// nothing.

// snapshotAddedTables starts the incremental snapshot of the tables off's filters did not
// capture and the current ones do (tables of databases the schema history kept).
func (s *Source) snapshotAddedTables(ctx context.Context, off *Position) error {
	if err := s.findUnseen(ctx, off); err != nil {
		return err
	}
	old := off.Filters
	if old == nil || (slices.Equal(old.DatabaseInclude, s.filters.DatabaseInclude) && slices.Equal(old.DatabaseExclude, s.filters.DatabaseExclude) &&
		slices.Equal(old.TableInclude, s.filters.TableInclude) && slices.Equal(old.TableExclude, s.filters.TableExclude)) {
		return nil
	}
	of, err := newFilter(&Config{DatabaseInclude: old.DatabaseInclude, DatabaseExclude: old.DatabaseExclude,
		TableInclude: old.TableInclude, TableExclude: old.TableExclude})
	if err != nil {
		return errorf("the stored offset's captured_filters: %w", err)
	}
	var tables []incrTable
	var names, keyless []string
	for _, t := range s.cat.Tables() {
		id := t.ID
		if !s.f.table(id.DB, id.Table) || of.table(id.DB, id.Table) || (s.sigOn && id == s.sigID) {
			continue
		}
		if len(t.PrimaryKey) == 0 {
			keyless = append(keyless, id.String())
			continue
		}
		tables = append(tables, incrTable{id: id})
		names = append(names, id.String())
	}
	if len(keyless) > 0 {
		s.log.Error("tables added to the include lists have no primary key: their rows written before the stored offset are not read (an incremental snapshot chunks by key); take a new snapshot (--snapshot-mode always) if you need them",
			"tables", keyless)
	}
	if len(tables) == 0 {
		return nil
	}
	if s.cfg.SignalDataCollection == "" && !s.cfg.ReadOnly {
		return errorf("tables %v were added to the include lists since the stored offset: their rows written before it are not in the binlog from there, "+
			"and sluice reads them in an incremental snapshot, whose windows need --signal-data-collection (watermark rows) or --read-only (GTID sets): set one", names)
	}
	s.log.Info("tables added to the include lists since the stored offset: an incremental snapshot reads them", "tables", names)
	return s.startIncremental(ctx, tables, nil)
}

// Tables the server has that the schema history did not have at the stored offset, under the
// same filters: a table (or a whole database) created while sluice was stopped. Most come with
// their CREATE in the binlog after the offset, and the stream creates them and brings every
// row written since. Some do not: created or loaded without the binlog (sql_log_bin=0, as a
// dump restored with --set-gtid-purged writes; a binlog filter on the database), their rows
// would never come and their first change would stop the stream ("not in the schema history").
// So the restart lists the captured tables on the server and the binlog position there
// (findUnseen); once the stream has read up to that position (unseenStep), every listed table
// it has not created is read from the server: its definition into the catalog and the schema
// history, its rows in an incremental snapshot (keyed, with a signal table or --read-only) or a
// blocking one (keyless, or no watermarks to write), as for a table added to the include lists.
//
// The history record goes just after the position handed out last (Row 1 of a transaction
// boundary, which no event's position is): a restart from that very position (the snapshot's
// tables not yet in any stored offset) replays the history without it and finds the table
// again; a restart from any later position has the table, and the snapshot's progress.

// unseenTables are the captured tables the server had at the restart and the history did not.
type unseenTables struct {
	ids     []schema.TableID
	target  *Position // the server's binlog position at the restart
	from    *Position // the stored offset
	checked time.Time // the last GTID set comparison
}

// has says whether id is one of u's tables (u may be nil).
func (u *unseenTables) has(id schema.TableID) bool {
	return u != nil && slices.Contains(u.ids, id)
}

// snapshotUnseen snapshots t, one of s.unseen's tables, whose first change the stream met
// before catching up (checkTableMap read its definition from the server): its rows written
// outside the binlog are read now, by an incremental snapshot (keyed, with a signal table or
// --read-only) or a blocking one. Both meet the stream's changes of it correctly, however far
// behind the stream is: the incremental snapshot's windows close only when the stream gets to
// them, and the blocking one's rows go out before the changes the stream reads after them.
func (s *Source) snapshotUnseen(ctx context.Context, t *schema.Table, at string) error {
	u := s.unseen
	u.ids = slices.DeleteFunc(u.ids, func(id schema.TableID) bool { return id == t.ID })
	if len(u.ids) == 0 {
		s.unseen = nil
	}
	s.log.Warn("a table created while sluice was stopped without its CREATE in the binlog (sql_log_bin=0, a dump restored, a binlog filter) has changes in it: "+
		"its definition is read from the server and its rows snapshotted", "table", t.ID.String(), "at", at)
	if len(t.PrimaryKey) > 0 && (s.cfg.SignalDataCollection != "" || s.cfg.ReadOnly) {
		return s.startIncremental(ctx, []incrTable{{id: t.ID}}, nil)
	}
	s.queueBlockingTables([]incrTable{{id: t.ID}}, "a table created outside the binlog (keyless, or without --signal-data-collection/--read-only for an incremental snapshot)")
	return nil
}

// findUnseen lists the captured tables the server has and the catalog (the history at off)
// does not; with any, the stream checks them once it reaches the server's current position.
func (s *Source) findUnseen(ctx context.Context, off *Position) error {
	var ids []schema.TableID
	err := s.bounded(ctx, "list the captured tables", func(ctx context.Context) error {
		ids = ids[:0]
		rows, err := s.db.QueryContext(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE IN ('BASE TABLE','SEQUENCE','SYSTEM VERSIONED')")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id schema.TableID
			if err := rows.Scan(&id.DB, &id.Table); err != nil {
				return err
			}
			if s.f.database(id.DB) && s.f.table(id.DB, id.Table) && s.cat.Table(id) == nil && !(s.sigOn && id == s.sigID) {
				ids = append(ids, id)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return errorf("list the captured tables: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	var target *Position
	err = s.bounded(ctx, "read the binlog position", func(ctx context.Context) (err error) {
		target, err = s.binlogPosition(ctx, s.db, false)
		return err
	})
	if err != nil {
		return err
	}
	target.Snapshot = false
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = id.String()
	}
	s.log.Info("the server has captured tables the schema history does not have at the stored offset (created while sluice was stopped): "+
		"those the binlog up to the server's current position does not create are snapshotted once the stream gets there",
		"tables", names, "until", target.String())
	s.unseen = &unseenTables{ids: ids, target: target, from: off}
	return nil
}

// unseenStep snapshots the tables of s.unseen the stream did not create, once it has read up
// to the position findUnseen read, at a transaction boundary (Next's goroutine).
func (s *Source) unseenStep(ctx context.Context) error {
	u := s.unseen
	if s.st.inTxn || s.st.rows != nil || s.st.inPay || s.block != nil || (s.resumed != nil && !s.resumed.incr) {
		return nil
	}
	p := s.lastPosition()
	if p == nil {
		p = u.from
	}
	if p.Event != 0 || p.Row != 0 {
		return nil
	}
	// By file and position; or every transaction of the server's GTID set then streamed (the
	// target at the start of a binlog file no event came to since). Parsing GTID sets costs,
	// so that check runs at most once a second while the stream reads its backlog.
	reached := u.target.atOrBefore(p, nil) || (u.target.GTIDs != "" && p.GTIDs == u.target.GTIDs)
	if !reached && u.target.GTIDs != "" && p.GTIDs != "" && time.Since(u.checked) > time.Second {
		u.checked = time.Now()
		c, ok := s.gtidContains(p.GTIDs, u.target.GTIDs)
		reached = ok && c
	}
	if !reached {
		return nil
	}
	s.unseen = nil
	hp := &Position{File: p.File, Pos: p.Pos, GTIDs: p.GTIDs, Row: 1, TsSec: p.TsSec, ServerID: p.ServerID}
	var keyed, blocking []incrTable
	var names []string
	for _, id := range u.ids {
		if s.cat.Table(id) != nil {
			continue // created by the stream: its rows came from the binlog
		}
		var defs []tableDef
		err := s.bounded(ctx, "read the definition of "+id.String()+" from the server", func(ctx context.Context) (err error) {
			defs, err = loadTables(ctx, s.db, []string{id.DB}, &id, s.info.MariaDB)
			return err
		})
		if err != nil {
			return err
		}
		if len(defs) != 1 {
			continue // dropped since
		}
		if !slices.Contains(s.cat.Databases(), id.DB) {
			if err := s.putUnseenDatabase(ctx, hp, id.DB); err != nil {
				return err
			}
		}
		ddl := ""
		if defs[0].Opaque == "" {
			ddl = createTableDDL(defs[0].T, defs[0].Idx)
		} else if err := s.bounded(ctx, "SHOW CREATE TABLE "+id.String(), func(ctx context.Context) (err error) {
			ddl, err = showCreate(ctx, s.db, id)
			return err
		}); err != nil {
			return err
		}
		t := s.cat.Put(defs[0].T, defs[0].Idx)
		if err := s.appendHistory(ctx, hp, id.DB, ddl, []mysqlddl.Change{{Type: "CREATE", Table: t}}); err != nil {
			return err
		}
		s.emit(capture.Event{Kind: capture.SchemaChange, DDL: ddl, DDLDatabase: id.DB,
			Changes: []capture.TableChange{{Type: "CREATE", Table: t}}, Source: s.snapshotSource(hp, id.DB, "")})
		names = append(names, id.String())
		if len(t.PrimaryKey) > 0 && (s.cfg.SignalDataCollection != "" || s.cfg.ReadOnly) {
			keyed = append(keyed, incrTable{id: id})
		} else {
			blocking = append(blocking, incrTable{id: id})
		}
	}
	if len(names) == 0 {
		s.log.Info("every table created while sluice was stopped was created in the binlog; nothing to snapshot")
		return nil
	}
	s.log.Warn("tables created while sluice was stopped without their CREATE in the binlog (sql_log_bin=0, a dump restored, a binlog filter): "+
		"their definitions are read from the server and their rows snapshotted", "tables", names)
	if len(blocking) > 0 {
		s.queueBlockingTables(blocking, "tables created outside the binlog (keyless, or without --signal-data-collection/--read-only for an incremental snapshot)")
	}
	if len(keyed) > 0 {
		return s.startIncremental(ctx, keyed, nil)
	}
	return nil
}

// putUnseenDatabase records db, which the history does not have, as the snapshot does.
func (s *Source) putUnseenDatabase(ctx context.Context, hp *Position, db string) error {
	var dbs []serverDB
	err := s.bounded(ctx, "list the databases", func(ctx context.Context) (err error) {
		dbs, err = loadDatabases(ctx, s.db, s.f)
		return err
	})
	if err != nil {
		return err
	}
	for _, d := range dbs {
		if d.Name == db {
			s.cat.SetDatabase(d.Name, d.Charset)
			return s.appendHistory(ctx, hp, d.Name, "CREATE DATABASE "+quoteID(d.Name)+" CHARSET "+d.Charset, nil)
		}
	}
	return nil
}
