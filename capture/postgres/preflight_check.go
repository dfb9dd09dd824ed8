package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sluicecdc/sluice/capture"
)

// Check runs the source's preflight (what Open checks before it creates the publication and
// the slot) one check at a time, creating nothing, and reports each (`sluice check`).
// cfg.Offset, if set, is checked against the slot.
func Check(ctx context.Context, cfg Config) []capture.Check {
	cfg.setDefaults()
	var out []capture.Check
	add := func(name string, st capture.CheckStatus, detail, fix string) {
		out = append(out, capture.Check{Name: name, Status: st, Detail: detail, Fix: fix})
	}
	if err := cfg.Validate(); err != nil {
		add("configuration", capture.CheckFail, err.Error(), "fix the flags named")
		return out
	}
	s, err := newSource(cfg)
	if err != nil {
		add("stored position", capture.CheckFail, err.Error(), "the offsets store holds a position sluice cannot read: restore it, or use another --offsets-file/--name")
		return out
	}
	defer s.Close()
	if err := s.connectMeta(ctx); err != nil {
		add("connect", capture.CheckFail, classify(err).Error(), connectFix(err))
		return out
	}
	c := s.cat.conn
	add("connect", capture.CheckOK, fmt.Sprintf("%s:%d database %s as %s, server %d", s.connCfg.Host, s.connCfg.Port, s.dbName, s.connCfg.User, s.version), "")

	var walLevel string
	var maxSlots, usedSlots int
	if err := c.QueryRow(ctx, `SELECT current_setting('wal_level'), current_setting('max_replication_slots')::int,
  (SELECT count(*) FROM pg_replication_slots)::int`).Scan(&walLevel, &maxSlots, &usedSlots); err != nil {
		add("wal_level", capture.CheckFail, err.Error(), "")
		return out
	}
	if walLevel == "logical" {
		add("wal_level", capture.CheckOK, walLevel, "")
	} else {
		add("wal_level", capture.CheckFail, walLevel+": logical decoding needs logical", "ALTER SYSTEM SET wal_level = logical; (as a superuser), then restart PostgreSQL")
	}
	var user string
	var super, repl bool
	if err := c.QueryRow(ctx, `SELECT current_user, rolsuper, rolreplication FROM pg_roles WHERE rolname = current_user`).Scan(&user, &super, &repl); err != nil {
		add("role", capture.CheckFail, err.Error(), "")
		return out
	}
	if super || repl {
		add("role", capture.CheckOK, user+" has REPLICATION", "")
	} else {
		add("role", capture.CheckFail, user+" lacks the REPLICATION attribute", fmt.Sprintf("ALTER ROLE %s WITH REPLICATION; (as a superuser)", quoteIdent(user)))
	}

	// The replication connection: pg_hba.conf must allow it (a "replication" line is not
	// needed for a logical walsender, but a reject or a wrong method is common).
	rc := s.connCfg.Copy()
	rc.RuntimeParams["replication"] = "database"
	if rconn, err := pgconn.ConnectConfig(ctx, rc); err != nil {
		fix := "allow the user in pg_hba.conf (host <db> <user> <addr> scram-sha-256) and reload"
		if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "42501" {
			fix = fmt.Sprintf("ALTER ROLE %s WITH REPLICATION; (as a superuser)", quoteIdent(user))
		}
		add("replication connection", capture.CheckFail, err.Error(), fix)
	} else {
		if _, err := pglogrepl.IdentifySystem(ctx, rconn); err != nil {
			add("replication connection", capture.CheckFail, err.Error(), "")
		} else {
			add("replication connection", capture.CheckOK, "IDENTIFY_SYSTEM answered", "")
		}
		rconn.Close(ctx)
	}

	var slotExists, active bool
	var activePID *int32
	var slotDB, confirmed *string
	if err := c.QueryRow(ctx, `SELECT true, active, active_pid, database, confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1`,
		s.cfg.Slot).Scan(&slotExists, &active, &activePID, &slotDB, &confirmed); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		add("slot", capture.CheckFail, err.Error(), "")
	}
	switch {
	case slotExists && slotDB != nil && *slotDB != s.dbName:
		add("slot", capture.CheckFail, fmt.Sprintf("slot %q belongs to database %s", s.cfg.Slot, *slotDB), "use another --slot (slot names are global to the server)")
	case slotExists && active && activePID != nil:
		add("slot", capture.CheckFail, fmt.Sprintf("slot %q is in use by backend pid %d", s.cfg.Slot, *activePID), "stop the other consumer or use another --slot")
	case slotExists && len(cfg.Offset) == 0 && !s.cfg.DropExistingSlot &&
		s.cfg.SnapshotMode != SnapshotNoData && s.cfg.SnapshotMode != SnapshotWhenNeeded && s.cfg.SnapshotMode != SnapshotAlways:
		// What a run refuses (unusableSlot, ErrSlotExists): the check passed and the run failed.
		add("slot", capture.CheckFail, fmt.Sprintf("slot %q exists but no offset is stored (not this connector's to reuse or drop)", s.cfg.Slot),
			"the same --offsets-file/--offsets-topic and --name as the pipeline that made it; or --snapshot-mode when_needed, --drop-existing-slot, or another --slot")
	case slotExists:
		add("slot", capture.CheckOK, fmt.Sprintf("slot %q exists (confirmed up to %s)", s.cfg.Slot, deref(confirmed)), "")
	case usedSlots >= maxSlots:
		add("slot", capture.CheckFail, fmt.Sprintf("slot %q does not exist and all %d replication slots are in use", s.cfg.Slot, maxSlots),
			fmt.Sprintf("ALTER SYSTEM SET max_replication_slots = %d; then restart, or drop an unused slot: SELECT pg_drop_replication_slot('name')", maxSlots+4))
	default:
		add("slot", capture.CheckOK, fmt.Sprintf("slot %q will be created (%d of %d slots in use)", s.cfg.Slot, usedSlots, maxSlots), "")
	}
	if s.resume != nil {
		switch {
		case !slotExists:
			add("stored position", capture.CheckFail, fmt.Sprintf("an offset is stored (lsn %s) but slot %q does not exist: the changes since are gone",
				pglogrepl.LSN(s.resume.LSN), s.cfg.Slot), "--drop-existing-slot is not needed; delete the stored offset to take a new snapshot, or restore the slot's server")
		case confirmed != nil:
			if cl, err := pglogrepl.ParseLSN(*confirmed); err == nil && uint64(cl) > s.resume.LSN && uint64(cl) > s.resume.CommitLSN {
				add("stored position", capture.CheckFail, fmt.Sprintf("slot %q is past the stored offset (%s > %s)", s.cfg.Slot, cl, pglogrepl.LSN(s.resume.LSN)),
					"--drop-existing-slot to start over with a new snapshot")
			} else {
				add("stored position", capture.CheckOK, fmt.Sprintf("lsn %s, the slot can resume from it", pglogrepl.LSN(s.resume.LSN)), "")
			}
		}
	}

	// The publication: an existing one is used; a missing one is created per the mode.
	var pubExists bool
	if err := c.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)", s.cfg.Publication).Scan(&pubExists); err != nil {
		add("publication", capture.CheckFail, err.Error(), "")
	}
	pub := quoteIdent(s.cfg.Publication)
	switch {
	case pubExists && s.cfg.PublicationMode != PublicationFiltered:
		if ids, err := s.unpublished(ctx, s.cfg.Publication); err != nil {
			add("publication", capture.CheckFail, err.Error(), "")
		} else if len(ids) > 0 {
			t := strings.Join(quotedTables(ids), ", ")
			add("publication", capture.CheckFail, fmt.Sprintf("publication %q exists but misses included tables %s", s.cfg.Publication, t),
				fmt.Sprintf("ALTER PUBLICATION %s ADD TABLE %s; (or --publication-mode filtered)", pub, t))
		} else {
			add("publication", capture.CheckOK, fmt.Sprintf("publication %q exists", s.cfg.Publication), "")
		}
	case pubExists:
		add("publication", capture.CheckOK, fmt.Sprintf("publication %q exists (missing included tables are added: filtered mode)", s.cfg.Publication), "")
	case s.cfg.PublicationMode == PublicationDisabled:
		add("publication", capture.CheckFail, fmt.Sprintf("publication %q does not exist and --publication-mode is disabled", s.cfg.Publication),
			fmt.Sprintf("CREATE PUBLICATION %s FOR ALL TABLES; (or FOR TABLE …)", pub))
	case s.cfg.PublicationMode == PublicationAllTables && !super:
		add("publication", capture.CheckFail, fmt.Sprintf("publication %q does not exist and only a superuser may create it FOR ALL TABLES", s.cfg.Publication),
			fmt.Sprintf("CREATE PUBLICATION %s FOR ALL TABLES; as a superuser, or --publication-mode filtered (the user must own the tables)", pub))
	default:
		add("publication", capture.CheckOK, fmt.Sprintf("publication %q will be created (%s)", s.cfg.Publication, s.cfg.PublicationMode), "")
	}
	if pubExists {
		if err := s.checkPublishedOps(ctx); err != nil {
			add("publication contents", capture.CheckFail, err.Error(), "run the statements the detail names")
		}
	}

	rows, err := c.Query(ctx, `SELECT n.nspname, cl.relname, has_table_privilege(cl.oid, 'SELECT'),
  cl.relreplident, EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = cl.oid AND i.indisprimary),
  cl.relreplident = 'i' AND EXISTS (SELECT 1 FROM pg_index p JOIN pg_index r ON r.indrelid = p.indrelid AND r.indisreplident
    WHERE p.indrelid = cl.oid AND p.indisprimary AND NOT p.indkey::int2[] <@ r.indkey::int2[])
FROM pg_class cl JOIN pg_namespace n ON n.oid = cl.relnamespace
WHERE cl.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1, 2`)
	if err != nil {
		add("captured tables", capture.CheckFail, err.Error(), "")
		return out
	}
	var n int
	var noSelect, noKey, identNoPK []string
	for rows.Next() {
		var ns, name, ident string
		var sel, pk, pkNotInIdent bool
		if err := rows.Scan(&ns, &name, &sel, &ident, &pk, &pkNotInIdent); err != nil {
			break
		}
		if !s.filter.table(ns, name) {
			continue
		}
		n++
		full := quoteIdent(ns) + "." + quoteIdent(name)
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
	if pubExists && n > 0 && len(s.cfg.TableInclude) == 0 && len(s.cfg.SchemaInclude) == 0 {
		// Without include lists a run captures the publication's tables only.
		if out, err := s.outsidePublication(ctx, s.cfg.Publication); err == nil {
			n -= len(out)
		}
	}
	if n == 0 {
		add("captured tables", capture.CheckWarn, "no table matches the include/exclude lists", "check --schema-include/--table-include (schema.include.list, table.include.list)")
	} else {
		add("captured tables", capture.CheckOK, fmt.Sprintf("%d tables", n), "")
	}
	switch {
	case len(noSelect) > 0 && s.cfg.SnapshotMode != SnapshotNoData:
		add("SELECT grant", capture.CheckFail, fmt.Sprintf("%s cannot SELECT %s", user, strings.Join(noSelect, ", ")),
			fmt.Sprintf("GRANT SELECT ON %s TO %s; (or GRANT pg_read_all_data TO %s;)", strings.Join(noSelect, ", "), quoteIdent(user), quoteIdent(user)))
	case n > 0:
		add("SELECT grant", capture.CheckOK, "every captured table", "")
	}
	if len(identNoPK) > 0 {
		t := strings.Join(identNoPK, ", ")
		add("replica identity", capture.CheckFail, "USING INDEX of an index without the primary key (deletes carry no key): "+t,
			"ALTER TABLE "+t+" REPLICA IDENTITY DEFAULT; (or FULL)")
	}
	if len(noKey) > 0 {
		add("replica identity", capture.CheckWarn, "no primary key under REPLICA IDENTITY DEFAULT: "+strings.Join(noKey, ", "),
			"ALTER TABLE … REPLICA IDENTITY FULL; (or add a primary key)")
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

// connectFix is the fix of a failed connection, by the server's error code.
func connectFix(err error) string {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return "check the host and port (--dsn, --host, --port) and that the server runs"
	}
	switch pe.Code {
	case "28P01", "28000":
		return "check the user and password (--password-file, SLUICE_PASSWORD, database.password) and pg_hba.conf"
	case "3D000":
		return "the database does not exist: fix --dbname or the DSN's path"
	}
	return "see the server's error"
}

// serverRefusal is a failed connection whose server answered with an error (a wrong password,
// an unknown database, a pg_hba.conf reject): its text is that answer alone. pgconn lists
// every attempt, and with sslmode=prefer against a server without TLS the first is "tls
// error: server refused TLS connection", which hides the real cause.
type serverRefusal struct {
	pe  *pgconn.PgError
	err error
}

func (e serverRefusal) Error() string { return e.pe.Error() }
func (e serverRefusal) Unwrap() error { return e.err }

// connectError is err, or its server refusal (serverRefusal) when the server refused.
func connectError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return serverRefusal{pe: pe, err: err}
	}
	return err
}
