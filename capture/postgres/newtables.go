package postgres

import (
	"cmp"
	"context"
	"regexp"

	"github.com/sluicecdc/sluice/schema"
)

// A table added to the include lists while sluice was stopped has rows the stream will never
// send: they were written before the stored position. Every position records the table
// filters it was captured with (Position.Filters); at a restart with other filters, the
// tables the old ones left out and the new ones take in are snapshotted alone: an incremental
// snapshot of those with a primary key, a blocking one of those without (blocking.go), before
// streaming goes on. Nothing else is read again. The same holds for the captured tables a start
// in the filtered publication mode had to add to the publication (Source.pubAdded): their
// changes until then were never published.

// snapshotAddedTables queues the snapshot of the tables the stored offset r's filters left out
// and the configured filters take in. skip leaves out tables read anyway (those the resumed
// initial snapshot has yet to read).
func (s *Source) snapshotAddedTables(ctx context.Context, r *Position, skip func(schema.TableID) bool) error {
	if r == nil {
		return nil
	}
	var old *filter
	if r.Filters != nil && !r.Filters.equal(s.filters) {
		var err error
		if old, err = filterOf(r.Filters); err != nil {
			s.log.Warn("the stored offset's table filters do not compile: tables added to the include lists are not snapshotted (send an execute-snapshot signal for them)", "err", err)
			old = nil
		}
	}
	if old == nil && len(s.pubAdded) == 0 {
		return nil
	}
	var all []*snapTable
	if err := s.bounded(ctx, "list the tables added to the include lists", func(ctx context.Context) (err error) {
		all, err = s.snapshotTables(ctx, s.cat.conn)
		return err
	}); err != nil {
		return err
	}
	var keyed []*snapTable
	var keyless []string
	for _, t := range all {
		id := t.rel.table.ID
		added := s.pubAdded[schema.TableID{Schema: id.Schema, Table: id.Table}] || old != nil && !old.table(id.Schema, id.Table)
		if !added || (skip != nil && skip(id)) {
			continue
		}
		if len(t.pk) > 0 {
			keyed = append(keyed, t)
		} else {
			keyless = append(keyless, id.String())
		}
	}
	if len(keyed) > 0 {
		s.incrWait = append(s.incrWait, keyed...)
		s.log.Info("tables added to the include lists or the publication since the stored offset: an incremental snapshot reads them alone", "tables", tableNames(keyed))
	}
	if len(keyless) > 0 {
		if s.blockWait == nil {
			s.blockWait = &blockReq{}
		}
		s.blockWait.tables = append(s.blockWait.tables, keyless...)
		s.log.Info("tables without a primary key added to the include lists or the publication since the stored offset: a blocking snapshot reads them before streaming goes on", "tables", keyless)
	}
	return nil
}

// filterOf compiles stored table filters.
func filterOf(f *TableFilters) (*filter, error) {
	out := &filter{}
	for _, l := range []struct {
		src []string
		dst *[]*regexp.Regexp
	}{{f.SchemaInclude, &out.schemaInc}, {f.TableInclude, &out.tableInc}, {f.TableExclude, &out.tableExc}} {
		for _, p := range l.src {
			re, err := regexp.Compile("^(?:" + p + ")$")
			if err != nil {
				return nil, err
			}
			*l.dst = append(*l.dst, re)
		}
	}
	return out, nil
}

// atOrAfter reports whether id sorts at or after schema.table (the snapshot's table order).
func atOrAfter(id schema.TableID, schemaName, table string) bool {
	return cmp.Or(cmp.Compare(id.Schema, schemaName), cmp.Compare(id.Table, table)) >= 0
}
