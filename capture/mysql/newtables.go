package mysql

import (
	"context"
	"slices"
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
