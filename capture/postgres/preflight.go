package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluicecdc/sluice/schema"
)

// preflight checks the server settings and the user's privileges and fails fast with the exact
// fix. Tables without a primary key under REPLICA IDENTITY DEFAULT only produce a warning.
func (s *Source) preflight(ctx context.Context) error {
	c := s.cat.conn
	var walLevel string
	var maxSlots, usedSlots int
	if err := c.QueryRow(ctx, `SELECT current_setting('wal_level'), current_setting('max_replication_slots')::int,
  (SELECT count(*) FROM pg_replication_slots)::int`).Scan(&walLevel, &maxSlots, &usedSlots); err != nil {
		return fmt.Errorf("postgres preflight: %w", err)
	}
	if walLevel != "logical" {
		return fmt.Errorf("postgres preflight: wal_level is %s, logical decoding needs logical: run ALTER SYSTEM SET wal_level = logical; as a superuser and restart PostgreSQL", walLevel)
	}
	var user string
	var super, repl bool
	if err := c.QueryRow(ctx, `SELECT current_user, rolsuper, rolreplication FROM pg_roles WHERE rolname = current_user`).Scan(&user, &super, &repl); err != nil {
		return fmt.Errorf("postgres preflight: read role: %w", err)
	}
	if !super && !repl {
		return fmt.Errorf("postgres preflight: role %s lacks the REPLICATION attribute: run ALTER ROLE %s WITH REPLICATION; as a superuser", user, quoteIdent(user))
	}
	var slotExists bool
	if err := c.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)`, s.cfg.Slot).Scan(&slotExists); err != nil {
		return fmt.Errorf("postgres preflight: %w", err)
	}
	if !slotExists && usedSlots >= maxSlots {
		return fmt.Errorf("postgres preflight: all %d replication slots are in use and slot %q does not exist: raise max_replication_slots (ALTER SYSTEM SET max_replication_slots = %d; then restart) or drop an unused slot (SELECT pg_drop_replication_slot('name'))", maxSlots, s.cfg.Slot, maxSlots+4)
	}
	var active bool
	var activePID *int32
	var slotDB *string
	if slotExists {
		if err := c.QueryRow(ctx, `SELECT active, active_pid, database FROM pg_replication_slots WHERE slot_name = $1`, s.cfg.Slot).Scan(&active, &activePID, &slotDB); err != nil {
			return fmt.Errorf("postgres preflight: %w", err)
		}
		if slotDB != nil && *slotDB != s.dbName {
			return fmt.Errorf("postgres preflight: slot %q belongs to database %s, not %s: use another --slot (slot names are global to the server)", s.cfg.Slot, *slotDB, s.dbName)
		}
		if active && activePID != nil && s.cfg.TakeOverSlot {
			if err := s.takeOverSlot(ctx, *activePID); err != nil {
				return err
			}
		} else if active && activePID != nil {
			return retryable{fmt.Errorf("postgres preflight: slot %q is in use by backend pid %d (another sluice or consumer); stop it or use another --slot", s.cfg.Slot, *activePID)}
		}
	}
	// SELECT on the captured tables (the snapshot reads them).
	rows, err := c.Query(ctx, `SELECT n.nspname, cl.relname, has_table_privilege(cl.oid, 'SELECT'),
  cl.relreplident, EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = cl.oid AND i.indisprimary),
  cl.relreplident = 'i' AND EXISTS (SELECT 1 FROM pg_index p JOIN pg_index r ON r.indrelid = p.indrelid AND r.indisreplident
    WHERE p.indrelid = cl.oid AND p.indisprimary AND NOT p.indkey::int2[] <@ r.indkey::int2[])
FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
WHERE cl.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2`)
	if err != nil {
		return fmt.Errorf("postgres preflight: list tables: %w", err)
	}
	var noSelect, noKey, blocked, identNoPK []string
	captured := 0
	for rows.Next() {
		var ns, name, ident string
		var sel, pk, pkNotInIdent bool
		if err := rows.Scan(&ns, &name, &sel, &ident, &pk, &pkNotInIdent); err != nil {
			rows.Close()
			return err
		}
		full := quoteIdent(ns) + "." + quoteIdent(name)
		if !s.filter.table(ns, name) {
			if !pk && ident == "d" {
				blocked = append(blocked, full)
			}
			continue
		}
		captured++
		if !sel {
			noSelect = append(noSelect, full)
		}
		if !pk && ident == "d" {
			noKey = append(noKey, full)
		}
		if pkNotInIdent {
			identNoPK = append(identNoPK, full)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(identNoPK) > 0 {
		return errIdentityWithoutKey(strings.Join(identNoPK, ", "))
	}
	if captured == 0 {
		// Most often a misspelt include list: say so once, loudly, instead of a quiet run
		// that captures nothing (tables created later are still captured).
		s.log.Warn("no table matches the include/exclude lists: nothing is captured until a matching table is created; check --schema-include/--table-include/--table-exclude (schema.include.list, table.include.list)",
			"schema_include", strings.Join(s.cfg.SchemaInclude, ","), "table_include", strings.Join(s.cfg.TableInclude, ","))
	}
	if len(noKey) > 0 {
		s.log.Warn("tables without a primary key under REPLICA IDENTITY DEFAULT: their updates and deletes carry no key and PostgreSQL rejects UPDATE/DELETE on them once published; fix with ALTER TABLE … REPLICA IDENTITY FULL (or add a primary key)", "tables", strings.Join(noKey, ", "))
	}
	if len(blocked) > 0 {
		// A publication FOR ALL TABLES publishes the tables sluice does not capture too, and
		// PostgreSQL then fails the application's UPDATE and DELETE on those without a key.
		var all, exists bool
		if err := c.QueryRow(ctx, "SELECT puballtables FROM pg_publication WHERE pubname = $1", s.cfg.Publication).Scan(&all); err == nil {
			exists = true
		} else if !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("postgres preflight: read publication: %w", err)
		}
		if all || !exists && s.cfg.PublicationMode == PublicationAllTables {
			s.log.Warn("publication "+strconv.Quote(s.cfg.Publication)+" is FOR ALL TABLES, so it also publishes tables sluice does not capture; "+
				"on those without a primary key under REPLICA IDENTITY DEFAULT PostgreSQL rejects UPDATE and DELETE "+
				"(\"cannot update table … because it does not have a replica identity and publishes updates\"): "+
				"use --publication-mode filtered (publication.autocreate.mode) with a new --publication, or ALTER TABLE … REPLICA IDENTITY FULL",
				"tables", strings.Join(blocked, ", "))
		}
	}
	if len(noSelect) > 0 && s.cfg.SnapshotMode != SnapshotNoData {
		return fmt.Errorf("postgres preflight: role %s cannot SELECT %s: run GRANT SELECT ON %s TO %s; (or GRANT pg_read_all_data TO %s;)",
			user, strings.Join(noSelect, ", "), strings.Join(noSelect, ", "), quoteIdent(user), quoteIdent(user))
	}
	return nil
}

// ensurePublication creates the publication when missing, per the publication mode, and checks
// that the partitioned tables captured are published under names the filters keep.
func (s *Source) ensurePublication(ctx context.Context) error {
	if err := s.ensurePublicationExists(ctx); err != nil {
		return err
	}
	if err := s.checkPublishedOps(ctx); err != nil {
		return err
	}
	return s.checkPartitionNames(ctx)
}

// checkPublishedWhole fails when the publication publishes a captured table with a row filter
// (WHERE) or a column list (PostgreSQL 15+): the snapshot reads every row and column, and the
// changes of the rows and columns left out would never follow.
func (s *Source) checkPublishedWhole(ctx context.Context) error {
	rows, err := s.cat.conn.Query(ctx, `SELECT n.nspname, c.relname, pr.prqual IS NOT NULL, pr.prattrs IS NOT NULL
FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid JOIN pg_class c ON c.oid = pr.prrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE p.pubname = $1 AND (pr.prqual IS NOT NULL OR pr.prattrs IS NOT NULL) ORDER BY 1, 2`, s.cfg.Publication)
	if err != nil {
		return fmt.Errorf("postgres: read publication %q: %w", s.cfg.Publication, err)
	}
	defer rows.Close()
	var bad []string
	var fix []string
	for rows.Next() {
		var ns, name string
		var where, cols bool
		if err := rows.Scan(&ns, &name, &where, &cols); err != nil {
			return err
		}
		if !s.filter.table(ns, name) {
			continue
		}
		t := quoteIdent(ns) + "." + quoteIdent(name)
		what := "a row filter (WHERE)"
		if cols {
			what = "a column list"
			if where {
				what = "a row filter (WHERE) and a column list"
			}
		}
		bad = append(bad, t+" with "+what)
		fix = append(fix, "ALTER PUBLICATION "+quoteIdent(s.cfg.Publication)+" DROP TABLE "+t+"; ALTER PUBLICATION "+quoteIdent(s.cfg.Publication)+" ADD TABLE "+t+";")
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("postgres: publication %q publishes %s: the snapshot reads every row and column, and the changes of those left out would be lost: run %s "+
		"(to leave columns out use --column-exclude; rows, a transform such as the Filter SMT)", s.cfg.Publication, strings.Join(bad, ", "), strings.Join(fix, " "))
}

// checkPublishedOps fails when the publication leaves out inserts, updates or deletes
// (CREATE PUBLICATION … WITH (publish = …)): PostgreSQL does not decode them for it, so they
// would be missing downstream and nothing would say so. Truncates left out are only logged:
// Debezium skips them by default (skipped.operations=t).
func (s *Source) checkPublishedOps(ctx context.Context) error {
	var ins, upd, del, trunc bool
	if err := s.cat.conn.QueryRow(ctx, "SELECT pubinsert, pubupdate, pubdelete, pubtruncate FROM pg_publication WHERE pubname = $1",
		s.cfg.Publication).Scan(&ins, &upd, &del, &trunc); err != nil {
		return fmt.Errorf("postgres: read publication %q: %w", s.cfg.Publication, err)
	}
	var missing []string
	for _, op := range []struct {
		on   bool
		name string
	}{{ins, "insert"}, {upd, "update"}, {del, "delete"}} {
		if !op.on {
			missing = append(missing, op.name)
		}
	}
	fix := "ALTER PUBLICATION " + quoteIdent(s.cfg.Publication) + " SET (publish = 'insert, update, delete, truncate');"
	if len(missing) > 0 {
		return fmt.Errorf("postgres: publication %q does not publish %s (its publish parameter), so those changes would be lost: run %s",
			s.cfg.Publication, strings.Join(missing, ", "), fix)
	}
	if s.version >= 150000 {
		if err := s.checkPublishedWhole(ctx); err != nil {
			return err
		}
	}
	if !trunc {
		s.log.Warn("the publication does not publish truncates: a TRUNCATE of a captured table reaches no sink, even with --skipped-operations none; "+fix,
			"publication", s.cfg.Publication)
	}
	return nil
}

// ensurePublicationExists creates the publication when missing, per the publication mode.
func (s *Source) ensurePublicationExists(ctx context.Context) error {
	c := s.cat.conn
	var exists bool
	if err := c.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)", s.cfg.Publication).Scan(&exists); err != nil {
		return fmt.Errorf("postgres: read publication: %w", err)
	}
	if exists {
		if s.cfg.PublicationMode == PublicationFiltered {
			return s.addFilteredTables(ctx)
		}
		return s.checkPublished(ctx)
	}
	pub := quoteIdent(s.cfg.Publication)
	var stmt string
	switch s.cfg.PublicationMode {
	case PublicationDisabled:
		return fmt.Errorf("postgres: publication %q does not exist and the publication mode is disabled: create it, e.g. CREATE PUBLICATION %s FOR ALL TABLES;", s.cfg.Publication, pub)
	case PublicationAllTables:
		stmt = "CREATE PUBLICATION " + pub + " FOR ALL TABLES"
	case PublicationFiltered:
		names, err := s.filteredTables(ctx, "")
		if err != nil {
			return err
		}
		if len(names) == 0 {
			return errors.New("postgres: publication mode filtered but no table matches the include/exclude lists")
		}
		stmt = "CREATE PUBLICATION " + pub + " FOR TABLE " + strings.Join(quotedTables(names), ", ")
	}
	// A captured partitioned table whose partitions are not all captured is published via its
	// root: published as its partitions, the filters would drop its changes.
	if s.version >= 130000 {
		roots, err := s.partitionTrees(ctx)
		if err != nil {
			return err
		}
		for _, tr := range roots {
			if s.filter.table(tr.root.Schema, tr.root.Table) && len(s.excluded(tr.leaves)) > 0 {
				stmt += " WITH (publish_via_partition_root = true)"
				break
			}
		}
	}
	if _, err := c.Exec(ctx, stmt); err != nil {
		// Another process (a second connector of this database) created it since the check:
		// 23505 when both inserted at once, 42710 when it had committed before.
		var pe *pgconn.PgError
		if errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "42710") {
			s.log.Info("publication created by another process meanwhile", "publication", s.cfg.Publication)
			return nil
		}
		return fmt.Errorf("postgres: %s: %w (create it as a superuser or the tables' owner)", stmt, err)
	}
	s.log.Info("publication created", "publication", s.cfg.Publication, "statement", stmt)
	return nil
}

// takeOverSlot terminates the walsender pid that holds the slot (TakeOverSlot) and waits until
// the slot is free. A role may terminate the backends of its own role; another role's need
// pg_signal_backend, which the error names.
func (s *Source) takeOverSlot(ctx context.Context, pid int32) error {
	c := s.cat.conn
	s.log.Warn("the replication slot is held by another backend; terminating it (--ha: this process leads the connector, the holder is its previous leader)",
		"slot", s.cfg.Slot, "active_pid", pid)
	var ok bool
	if err := c.QueryRow(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&ok); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42501" {
			var holder string
			_ = c.QueryRow(ctx, `SELECT usename FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&holder)
			return fmt.Errorf("postgres: --ha: slot %q is held by backend pid %d (role %q), which this role may not terminate (%s): run every sluice of this connector as the same role, or GRANT pg_signal_backend TO %s; meanwhile the slot is freed when that backend ends (wal_sender_timeout)",
				s.cfg.Slot, pid, holder, pe.Message, quoteIdent(s.connCfg.User))
		}
		return fmt.Errorf("postgres: terminate backend %d holding slot %q: %w", pid, s.cfg.Slot, err)
	}
	// The slot is released as the backend exits, a moment after the signal.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var active bool
		err := c.QueryRow(ctx, `SELECT active FROM pg_replication_slots WHERE slot_name = $1`, s.cfg.Slot).Scan(&active)
		if errors.Is(err, pgx.ErrNoRows) || err == nil && !active {
			return nil
		}
		if err != nil {
			return fmt.Errorf("postgres: read slot %s: %w", s.cfg.Slot, err)
		}
		if time.Now().After(deadline) {
			return retryable{fmt.Errorf("postgres: slot %q still active 10 s after terminating backend pid %d", s.cfg.Slot, pid)}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// filteredTables lists the tables (not partitions) the include/exclude lists capture,
// leaving out those already in publication pub (when not "").
func (s *Source) filteredTables(ctx context.Context, pub string) ([]schema.TableID, error) {
	rows, err := s.cat.conn.Query(ctx, `SELECT n.nspname, cl.relname FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
WHERE cl.relkind IN ('r', 'p') AND NOT cl.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  AND NOT EXISTS (SELECT 1 FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid WHERE p.pubname = $1 AND pr.prrelid = cl.oid)
ORDER BY 1, 2`, pub)
	if err != nil {
		return nil, fmt.Errorf("postgres: list tables: %w", err)
	}
	defer rows.Close()
	var ids []schema.TableID
	for rows.Next() {
		var ns, name string
		if err := rows.Scan(&ns, &name); err != nil {
			return nil, err
		}
		if s.filter.table(ns, name) {
			ids = append(ids, schema.TableID{Schema: ns, Table: name})
		}
	}
	return ids, rows.Err()
}

// unpublished lists the tables (not partitions) the include lists name that publication pub
// does not publish, directly, through its schema or through a partition.
func (s *Source) unpublished(ctx context.Context, pub string) ([]schema.TableID, error) {
	if len(s.cfg.TableInclude) == 0 && len(s.cfg.SchemaInclude) == 0 {
		// Without include lists the publication is the list of captured tables.
		return nil, nil
	}
	return s.outsidePublication(ctx, pub)
}

// outsidePublication lists the tables (not partitions) the filters keep that publication pub
// does not publish.
func (s *Source) outsidePublication(ctx context.Context, pub string) ([]schema.TableID, error) {
	rows, err := s.cat.conn.Query(ctx, `SELECT n.nspname, cl.relname FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
WHERE cl.relkind IN ('r', 'p') AND NOT cl.relispartition AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  AND NOT EXISTS (SELECT 1 FROM pg_publication_tables pt JOIN pg_namespace pn ON pn.nspname = pt.schemaname
    JOIN pg_class pc ON pc.relnamespace = pn.oid AND pc.relname = pt.tablename
    WHERE pt.pubname = $1 AND (pc.oid = cl.oid OR pc.oid IN (SELECT relid FROM pg_partition_tree(cl.oid))))
ORDER BY 1, 2`, pub)
	if err != nil {
		return nil, fmt.Errorf("postgres: list unpublished tables: %w", err)
	}
	defer rows.Close()
	var ids []schema.TableID
	for rows.Next() {
		var ns, name string
		if err := rows.Scan(&ns, &name); err != nil {
			return nil, err
		}
		if s.filter.table(ns, name) {
			ids = append(ids, schema.TableID{Schema: ns, Table: name})
		}
	}
	return ids, rows.Err()
}

// errUnpublished is the error of included tables an existing publication leaves out.
func errUnpublished(pub string, ids []schema.TableID) error {
	t := strings.Join(quotedTables(ids), ", ")
	return fmt.Errorf("postgres: tables %s match the include lists but are not in publication %q, so none of their changes would be captured: "+
		"run ALTER PUBLICATION %s ADD TABLE %s; (as the tables' owner), or let sluice add them with --publication-mode filtered (publication.autocreate.mode), or narrow --table-include/--schema-include",
		t, pub, quoteIdent(pub), t)
}

// checkPublished fails when an existing publication, used as it is (publication modes
// all_tables and disabled), misses a table the include lists name: PostgreSQL publishes no
// change of it, and before this check it was neither snapshotted nor streamed, silently.
func (s *Source) checkPublished(ctx context.Context) error {
	ids, err := s.unpublished(ctx, s.cfg.Publication)
	if err != nil || len(ids) == 0 {
		return err
	}
	return errUnpublished(s.cfg.Publication, ids)
}

// quotedTables names ids as SQL does.
func quotedTables(ids []schema.TableID) []string {
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = quoteIdent(id.Schema) + "." + quoteIdent(id.Table)
	}
	return names
}

// addFilteredTables adds to an existing publication of the filtered mode the captured tables it
// lacks (created after it, or newly included): PostgreSQL publishes no change of a table outside
// the publication, so without this they were left out for good and nothing said so. Changes
// written before now were never published: when sluice resumes from a stored offset, those
// tables are snapshotted alone (snapshotAddedTables); a new snapshot reads them anyway.
func (s *Source) addFilteredTables(ctx context.Context) error {
	var all bool
	if err := s.cat.conn.QueryRow(ctx, "SELECT puballtables FROM pg_publication WHERE pubname = $1", s.cfg.Publication).Scan(&all); err != nil {
		return fmt.Errorf("postgres: read publication: %w", err)
	}
	if all {
		return nil
	}
	ids, err := s.filteredTables(ctx, s.cfg.Publication)
	if err != nil || len(ids) == 0 {
		return err
	}
	missing := quotedTables(ids)
	stmt := "ALTER PUBLICATION " + quoteIdent(s.cfg.Publication) + " ADD TABLE " + strings.Join(missing, ", ")
	if _, err := s.cat.conn.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("postgres: captured tables %s are not in publication %q, so their changes are not published: %s: %w (run it as the tables' owner or a superuser)",
			strings.Join(missing, ", "), s.cfg.Publication, stmt, err)
	}
	s.log.Warn("captured tables were missing from the publication and are added now; their changes written before this start were not "+
		"published, so they are snapshotted alone (or read by the new snapshot)",
		"publication", s.cfg.Publication, "tables", strings.Join(missing, ", "), "statement", stmt)
	s.pubAdded = map[schema.TableID]bool{}
	for _, id := range ids {
		s.pubAdded[id] = true
	}
	return nil
}

// partitionTree is a partitioned table (not itself a partition) and its leaf partitions.
type partitionTree struct {
	root   schema.TableID
	leaves []schema.TableID
}

func (s *Source) partitionTrees(ctx context.Context) ([]partitionTree, error) {
	rows, err := s.cat.conn.Query(ctx, `SELECT n.nspname, cl.relname, ln.nspname, l.relname
FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
  JOIN LATERAL pg_partition_tree(cl.oid) pt ON pt.isleaf JOIN pg_class l ON l.oid = pt.relid JOIN pg_namespace ln ON ln.oid = l.relnamespace
WHERE cl.relkind = 'p' AND NOT cl.relispartition ORDER BY 1, 2, 3, 4`)
	if err != nil {
		return nil, fmt.Errorf("postgres: list partitioned tables: %w", err)
	}
	defer rows.Close()
	var out []partitionTree
	for rows.Next() {
		var r, l schema.TableID
		if err := rows.Scan(&r.Schema, &r.Table, &l.Schema, &l.Table); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].root != r {
			out = append(out, partitionTree{root: r})
		}
		out[len(out)-1].leaves = append(out[len(out)-1].leaves, l)
	}
	return out, rows.Err()
}

// excluded returns the ids the table filters leave out.
func (s *Source) excluded(ids []schema.TableID) []string {
	var out []string
	for _, id := range ids {
		if !s.filter.table(id.Schema, id.Table) {
			out = append(out, id.String())
		}
	}
	return out
}

// checkPartitionNames stops when a captured partitioned table (or partition) is published
// under a name the filters leave out: pgoutput reports a partition's rows as the partition
// (publish_via_partition_root = false) or as its root (true), and the filters would drop
// every one of its changes, silently.
func (s *Source) checkPartitionNames(ctx context.Context) error {
	if s.version < 130000 { // no publish_via_partition_root: a partitioned table's name is never published
		return nil
	}
	rows, err := s.cat.conn.Query(ctx, `SELECT n.nspname, cl.relname FROM pg_get_publication_tables($1::text) p
  JOIN pg_class cl ON cl.oid = p.relid JOIN pg_namespace n ON n.oid = cl.relnamespace`, s.cfg.Publication)
	if err != nil {
		return fmt.Errorf("postgres: list the tables of publication %s: %w", s.cfg.Publication, err)
	}
	published := map[schema.TableID]bool{}
	for rows.Next() {
		var id schema.TableID
		if err := rows.Scan(&id.Schema, &id.Table); err != nil {
			rows.Close()
			return err
		}
		published[id] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	trees, err := s.partitionTrees(ctx)
	if err != nil {
		return err
	}
	pub := quoteIdent(s.cfg.Publication)
	for _, tr := range trees {
		rootIn := s.filter.table(tr.root.Schema, tr.root.Table)
		var dropped, kept []string // partitions published as themselves but filtered out; partitions captured
		for _, l := range tr.leaves {
			switch {
			case s.filter.table(l.Schema, l.Table):
				kept = append(kept, l.String())
			case published[l]:
				dropped = append(dropped, l.String())
			}
		}
		switch {
		case rootIn && !published[tr.root] && len(dropped) > 0:
			return fmt.Errorf("postgres: partitioned table %s is captured, but publication %q publishes its changes as its partitions %s, which the table filters leave out: "+
				"run ALTER PUBLICATION %s SET (publish_via_partition_root = true); to publish them as %s, or capture the partitions too (--table-include)",
				tr.root, s.cfg.Publication, strings.Join(dropped, ", "), pub, tr.root)
		case !rootIn && published[tr.root] && len(kept) > 0:
			return fmt.Errorf("postgres: partitions %s are captured, but publication %q publishes their changes as their root %s (publish_via_partition_root), which the table filters leave out: "+
				"capture %s instead (--table-include), or run ALTER PUBLICATION %s SET (publish_via_partition_root = false);",
				strings.Join(kept, ", "), s.cfg.Publication, tr.root, tr.root, pub)
		}
	}
	return nil
}

// errIdentityWithoutKey: the tables' REPLICA IDENTITY USING INDEX leaves primary key columns
// out, so their deletes (and updates of the index's columns) do not say which row: a record
// keyed by the primary key cannot be written for them (Debezium fails on the null key).
func errIdentityWithoutKey(tables string) error {
	return fmt.Errorf("postgres: %s: REPLICA IDENTITY USING INDEX of an index without the primary key: deletes (and updates of that index's columns) "+
		"carry no primary key, so their records cannot be keyed (a delete would reach no row downstream); "+
		"run ALTER TABLE %s REPLICA IDENTITY DEFAULT; (or FULL, or USING INDEX an index that holds the primary key)", tables, tables)
}
