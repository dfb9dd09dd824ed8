package clickhouse

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// DataSuffix names the table that holds every version of a table's rows (orders__versions);
// the table's own name (orders) is a view of its current rows, so that a user querying
// orders sees the source without FINAL and _is_deleted filters.
const DataSuffix = "__versions"

// layout decides where table name's rows go. A name that is free or a view sluice made is the
// view, and the rows go to name+DataSuffix. A name that is a table (made by an older sluice,
// or by hand for records without schemas) keeps its rows: writing on into it is what the user
// set up; a warning says how to move to the view.
func (s *Sink) layout(ctx context.Context, t *table, name string) error {
	if strings.HasSuffix(name, DataSuffix) {
		// it would be taken for (and written into) the data table of the table without the suffix
		return fmt.Errorf("clickhouse table name %q ends with %q, the suffix of the tables behind sluice's views: map the source table to another name with --clickhouse-table-name (e.g. '{table}_t')",
			name, DataSuffix)
	}
	var engine, create string
	found := false
	err := s.retry(ctx, "look up "+name, func(ctx context.Context) error {
		rows, err := s.conn.Query(ctx, "SELECT engine, create_table_query FROM system.tables WHERE database = "+
			quoteString(s.cfg.Database)+" AND name = "+quoteString(name))
		if err != nil {
			return err
		}
		defer rows.Close()
		found = false
		for rows.Next() {
			if err := rows.Scan(&engine, &create); err != nil {
				return err
			}
			found = true
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	data := name + DataSuffix
	switch {
	case !found:
	case engine == "View":
		if !ownView(create, data) {
			return fmt.Errorf("clickhouse %s.%s is a view sluice did not create (it does not read %s FINAL): rename or drop it, or map the source tables to other names with --clickhouse-table-name",
				s.cfg.Database, name, data)
		}
	default:
		s.log.Warn("clickhouse table keeps every version of its rows under its own name (the layout of sluice before views, or a table created by hand): sluice writes on into it; "+
			"query it with FINAL WHERE _is_deleted = 0, or, to query the plain name without them, stop sluice, run the RENAME below and start sluice, which then creates the view",
			"table", name, "engine", engine, "rename", "RENAME TABLE "+s.db+"."+quoteIdent(name)+" TO "+s.db+"."+quoteIdent(data))
		return nil
	}
	t.name, t.view = data, name
	return nil
}

// ownView reports whether a view's CREATE statement (as the server reformats it) reads the data
// table with FINAL, as createViewSQL writes it.
func ownView(create, data string) bool {
	q := strings.ReplaceAll(create, "`", "")
	return strings.Contains(q, "."+data+" FINAL")
}

// createViewSQL is the view of a table's current rows: every column of the data table (the
// _version and _is_deleted columns too, so that queries written for the data table, FINAL and
// WHERE _is_deleted = 0 included, run unchanged against the view), the newest version of each
// key, deleted keys left out. Columns are listed because a view keeps the column list it was
// created with (18.16 expands SELECT * at CREATE): the sink re-creates the view after every
// ALTER of the data table.
func createViewSQL(db, view, data string, cols []string, modern bool) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = quoteIdent(c)
	}
	create := "CREATE VIEW "
	if modern {
		create = "CREATE OR REPLACE VIEW "
	}
	return create + db + "." + quoteIdent(view) + " AS SELECT " + strings.Join(q, ", ") + " FROM " + db + "." + quoteIdent(data) +
		" FINAL" + viewFilter
}

// viewFilter leaves deleted keys out of a keyed table's view.
const viewFilter = " WHERE `_is_deleted` = 0"

// ensureView makes t's view list the data table's columns, creating or re-creating it. Other
// sluice processes of one consumer group may do the same at the same time, so it loops until
// the view it reads back matches the columns it reads back. On 18.16 (no CREATE OR REPLACE
// VIEW) the view is dropped and created: queries in between fail for a moment.
func (s *Sink) ensureView(ctx context.Context, t *table) error {
	if t.view == "" || !t.exists {
		return nil
	}
	for i := 0; ; i++ {
		if err := s.describe(ctx, t); err != nil {
			return err
		}
		have, engine, err := s.viewColumns(ctx, t.view)
		if err != nil {
			return err
		}
		if engine == "View" && slices.Equal(have, t.order) {
			return nil
		}
		if i == 20 {
			return fmt.Errorf("view %s still does not list the columns of %s after 20 attempts", t.view, t.name)
		}
		if engine != "" && engine != "View" {
			return fmt.Errorf("clickhouse %s.%s became a %s table while sluice writes its rows into %s: drop or rename it", s.cfg.Database, t.view, engine, t.name)
		}
		if engine == "View" && !s.modern {
			if err := s.exec(ctx, "DROP TABLE IF EXISTS "+s.db+"."+quoteIdent(t.view), nil); err != nil {
				return err
			}
		}
		q := createViewSQL(s.db, t.view, t.name, t.order, s.modern)
		if _, keyless := t.cols["_row_id"]; keyless {
			// A table without a key is a log of changes: a delete is a row of its own, not a
			// newer version of the inserted row, so WHERE _is_deleted = 0 would show every row
			// ever deleted as present. Its view is the log (FINAL collapses replays only).
			q = strings.TrimSuffix(q, viewFilter)
		}
		if !s.modern {
			q = strings.Replace(q, "CREATE VIEW ", "CREATE VIEW IF NOT EXISTS ", 1) // a peer may have created it since
		}
		if err := s.exec(ctx, q, nil); err != nil {
			return err
		}
		if i > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(i) * 20 * time.Millisecond):
			}
		}
	}
}

// viewColumns returns the columns of the view (empty when it does not exist) and the engine of
// whatever holds the name.
func (s *Sink) viewColumns(ctx context.Context, view string) ([]string, string, error) {
	var cols []string
	var engine string
	err := s.retry(ctx, "describe view "+view, func(ctx context.Context) error {
		engine = ""
		if err := s.conn.QueryRow(ctx, "SELECT any(engine) FROM system.tables WHERE database = "+
			quoteString(s.cfg.Database)+" AND name = "+quoteString(view)).Scan(&engine); err != nil {
			return err
		}
		rows, err := s.conn.Query(ctx, "SELECT name FROM system.columns WHERE database = "+
			quoteString(s.cfg.Database)+" AND table = "+quoteString(view))
		if err != nil {
			return err
		}
		defer rows.Close()
		cols = cols[:0]
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return err
			}
			cols = append(cols, n)
		}
		return rows.Err()
	})
	return cols, engine, err
}
