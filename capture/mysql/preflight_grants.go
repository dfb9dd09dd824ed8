package mysql

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	gomysql "github.com/go-sql-driver/mysql"
)

// grants is what SHOW GRANTS says the session may do. MySQL expands the privileges of the
// session's active roles into the user's own lines; MariaDB lists the active role's lines
// (GRANT ... TO `role`) after the user's. Either way every line counts, whoever its grantee.
type grants struct {
	global  map[string]bool               // ON *.*
	dbs     []dbGrant                     // ON `db`.*, in SHOW GRANTS order
	revoked map[string]map[string]bool    // MySQL partial revokes: REVOKE ... ON `db`.* FROM
	tables  map[[2]string]map[string]bool // ON `db`.`t`, privileges on the whole table
	columns map[[2]string]bool            // tables with privileges on some columns only
	roles   []string                      // roles granted (GRANT `r` TO ...)
	// wildcards: % and _ in database names of grants are patterns (MySQL treats them as
	// literal characters when partial_revokes is ON).
	wildcards bool
	// foldCase: lower_case_table_names is not 0, names compare without case.
	foldCase bool
}

type dbGrant struct {
	db    string
	privs map[string]bool
}

// hasGlobal reports whether the user has any of privs on *.*.
func (g *grants) hasGlobal(privs ...string) bool {
	if g.global["ALL PRIVILEGES"] || g.global["ALL"] {
		return true
	}
	for _, p := range privs {
		if g.global[p] {
			return true
		}
	}
	return false
}

// selectAll: SELECT on every table of every database, no database revoked.
func (g *grants) selectAll() bool {
	if !g.hasGlobal("SELECT") {
		return false
	}
	for _, p := range g.revoked {
		if p["SELECT"] || p["ALL PRIVILEGES"] {
			return false
		}
	}
	return true
}

func hasPriv(m map[string]bool, p string) bool {
	return m[p] || m["ALL PRIVILEGES"] || m["ALL"]
}

func (g *grants) sameName(a, b string) bool {
	if g.foldCase {
		return strings.EqualFold(a, b)
	}
	return a == b
}

// onDB reports whether the user has privilege p on every table of db (global or database
// grants).
func (g *grants) onDB(db, p string) bool {
	for r, privs := range g.revoked {
		if g.sameName(r, db) && hasPriv(privs, p) {
			return false
		}
	}
	if g.hasGlobal(p) {
		return true
	}
	for _, d := range g.dbs {
		if hasPriv(d.privs, p) && g.dbMatch(d.db, db) {
			return true
		}
	}
	return false
}

// onTable reports whether the user has privilege p on the whole table db.t.
func (g *grants) onTable(db, t, p string) bool {
	if g.onDB(db, p) {
		return true
	}
	for k, privs := range g.tables {
		if g.sameName(k[0], db) && g.sameName(k[1], t) && hasPriv(privs, p) {
			return true
		}
	}
	return false
}

// someColumns reports whether the user has privileges on some columns of db.t only.
func (g *grants) someColumns(db, t string) bool {
	for k := range g.columns {
		if g.sameName(k[0], db) && g.sameName(k[1], t) {
			return true
		}
	}
	return false
}

// tablesIn reports whether the user has table or column grants in db.
func (g *grants) tablesIn(db string) bool {
	for k := range g.tables {
		if g.sameName(k[0], db) {
			return true
		}
	}
	for k := range g.columns {
		if g.sameName(k[0], db) {
			return true
		}
	}
	return false
}

// dbMatch matches a database grant's name against db: with wildcards, % is any run of
// characters and _ any one, \% and \_ themselves (LIKE).
func (g *grants) dbMatch(pattern, db string) bool {
	if !g.wildcards || !strings.ContainsAny(pattern, "%_") {
		return g.sameName(strings.ReplaceAll(strings.ReplaceAll(pattern, `\_`, "_"), `\%`, "%"), db)
	}
	var re strings.Builder
	re.WriteString("^")
	if g.foldCase {
		re.WriteString("(?i)")
	}
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; {
		case c == '\\' && i+1 < len(pattern):
			i++
			re.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		case c == '%':
			re.WriteString("(?s:.*)")
		case c == '_':
			re.WriteString("(?s:.)")
		default:
			re.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		}
	}
	re.WriteString("$")
	m, err := regexp.MatchString(re.String(), db)
	return err == nil && m
}

// readGrants reads the session's grants (SHOW GRANTS) and the settings that decide how
// database names in them match.
func readGrants(ctx context.Context, q queryer, mariadb bool) (*grants, error) {
	rows, err := q.QueryContext(ctx, "SHOW GRANTS")
	if err != nil {
		return nil, err
	}
	var lines []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			rows.Close()
			return nil, err
		}
		lines = append(lines, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	g := parseGrants(lines)
	g.wildcards = true
	if m, err := queryRow(ctx, q, "SELECT @@lower_case_table_names AS l"); err == nil {
		g.foldCase = m["l"] != "0"
	}
	if !mariadb {
		if m, err := queryRow(ctx, q, "SELECT @@partial_revokes AS p"); err == nil {
			g.wildcards = m["p"] != "1"
		}
	}
	return g, nil
}

// parseGrants reads SHOW GRANTS lines; a line it does not understand (PROXY, routines, SET
// DEFAULT ROLE) is left out.
func parseGrants(lines []string) *grants {
	g := &grants{global: map[string]bool{}, revoked: map[string]map[string]bool{},
		tables: map[[2]string]map[string]bool{}, columns: map[[2]string]bool{}}
	for _, l := range lines {
		gl, ok := parseGrantLine(l)
		if !ok {
			continue
		}
		if gl.roles != nil {
			g.roles = append(g.roles, gl.roles...)
			continue
		}
		whole := map[string]bool{}
		cols := false
		for _, p := range gl.privs {
			if p.cols {
				cols = true
			} else {
				whole[p.name] = true
			}
		}
		switch {
		case gl.revoke:
			if gl.db != "*" && gl.table == "*" {
				g.revoked[gl.db] = whole
			}
		case gl.db == "*":
			for p := range whole {
				g.global[p] = true
			}
		case gl.table == "*":
			g.dbs = append(g.dbs, dbGrant{db: gl.db, privs: whole})
		default:
			k := [2]string{gl.db, gl.table}
			if len(whole) > 0 {
				if g.tables[k] == nil {
					g.tables[k] = map[string]bool{}
				}
				for p := range whole {
					g.tables[k][p] = true
				}
			}
			if cols {
				g.columns[k] = true
			}
		}
	}
	return g
}

type grantPriv struct {
	name string // upper case, single spaces: "REPLICATION SLAVE", "BACKUP_ADMIN"
	cols bool   // on some columns only: SELECT (`a`, `b`)
}

type grantLine struct {
	revoke    bool
	privs     []grantPriv
	db, table string   // "*" for all
	roles     []string // GRANT `r`@`%`, `s` TO ...: a role grant (no ON)
}

// parseGrantLine parses GRANT privs ON object TO ..., REVOKE privs ON object FROM ... and
// GRANT roles TO ....
func parseGrantLine(l string) (grantLine, bool) {
	var gl grantLine
	s := strings.TrimSpace(l)
	switch u := strings.ToUpper(s); {
	case strings.HasPrefix(u, "GRANT "):
		s = s[len("GRANT "):]
	case strings.HasPrefix(u, "REVOKE "):
		gl.revoke = true
		s = s[len("REVOKE "):]
	default:
		return gl, false
	}
	on := topLevelWord(s, "ON")
	to := topLevelWord(s, "TO")
	if gl.revoke {
		to = topLevelWord(s, "FROM")
	}
	if to < 0 {
		return gl, false
	}
	if on >= 0 && on < to && on+len(" ON ") > to {
		return gl, false // " ON TO ": no object
	}
	if on < 0 || on > to {
		if gl.revoke {
			return gl, false
		}
		for _, r := range splitTop(s[:to]) {
			if name, _, ok := readIdent(strings.TrimSpace(r)); ok {
				gl.roles = append(gl.roles, name)
			}
		}
		return gl, gl.roles != nil
	}
	for _, p := range splitTop(s[:on]) {
		p = strings.TrimSpace(p)
		var gp grantPriv
		if i := strings.IndexByte(p, '('); i >= 0 {
			gp.cols = true
			p = p[:i]
		}
		gp.name = strings.Join(strings.Fields(strings.ToUpper(p)), " ")
		if gp.name != "" {
			gl.privs = append(gl.privs, gp)
		}
	}
	obj := strings.TrimSpace(s[on+len(" ON ") : to])
	for _, kw := range []string{"TABLE ", "FUNCTION ", "PROCEDURE ", "PACKAGE BODY ", "PACKAGE "} {
		if strings.HasPrefix(strings.ToUpper(obj), kw) {
			if kw != "TABLE " {
				return gl, false // routines: nothing the connector needs
			}
			obj = strings.TrimSpace(obj[len(kw):])
		}
	}
	var ok bool
	if gl.db, obj, ok = readIdentOrStar(obj); !ok || !strings.HasPrefix(obj, ".") {
		return gl, false
	}
	if gl.table, obj, ok = readIdentOrStar(obj[1:]); !ok || strings.TrimSpace(obj) != "" {
		return gl, false
	}
	return gl, true
}

// eachTop calls f with the index of each byte of s outside quotes and parentheses (the
// quotes and parentheses themselves left out), until f returns false.
func eachTop(s string, f func(i int) bool) {
	depth := 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				if i+1 < len(s) && s[i+1] == quote {
					i++
				} else {
					quote = 0
				}
			}
		case c == '`' || c == '\'' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0:
			if !f(i) {
				return
			}
		}
	}
}

// topLevelWord returns the index of " WORD " in s outside quotes and parentheses, or -1.
func topLevelWord(s, word string) int {
	w := " " + word + " "
	at := -1
	eachTop(s, func(i int) bool {
		if s[i] == ' ' && len(s)-i >= len(w) && strings.EqualFold(s[i:i+len(w)], w) {
			at = i
			return false
		}
		return true
	})
	return at
}

// splitTop splits s at the commas outside quotes and parentheses.
func splitTop(s string) []string {
	var out []string
	start := 0
	eachTop(s, func(i int) bool {
		if s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
		return true
	})
	return append(out, s[start:])
}

func readIdentOrStar(s string) (string, string, bool) {
	if strings.HasPrefix(s, "*") {
		return "*", s[1:], true
	}
	return readIdent(s)
}

// readIdent reads a `quoted` (or "quoted", or bare) identifier at the start of s and returns
// it and the rest. A role's @host part is read and dropped.
func readIdent(s string) (name, rest string, ok bool) {
	if s == "" {
		return "", s, false
	}
	if q := s[0]; q == '`' || q == '"' {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] == q {
				if i+1 < len(s) && s[i+1] == q {
					b.WriteByte(q)
					i++
					continue
				}
				name, rest = b.String(), s[i+1:]
				return name, dropHost(rest), true
			}
			b.WriteByte(s[i])
		}
		return "", s, false
	}
	i := strings.IndexAny(s, ".@ ,")
	if i < 0 {
		i = len(s)
	}
	if i == 0 {
		return "", s, false
	}
	return s[:i], dropHost(s[i:]), true
}

// dropHost skips an @host part after a role name.
func dropHost(rest string) string {
	if !strings.HasPrefix(rest, "@") {
		return rest
	}
	_, r, ok := readIdent(rest[1:])
	if !ok && strings.HasPrefix(rest[1:], "'") {
		if j := strings.IndexByte(rest[2:], '\''); j >= 0 {
			return rest[j+3:]
		}
	}
	return r
}

// Filter entries that name databases: literalDB one database exactly; literalTable one table
// (a bare dot between the names can only match the dot of db.table); literalDBOf a pattern of
// tables in one database, behind an escaped dot (shop\..*; shop.* matches shop1.t too).
var (
	literalDB    = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	literalTable = regexp.MustCompile(`^([A-Za-z0-9_-]+)\\?\.([A-Za-z0-9_-]+)$`)
	literalDBOf  = regexp.MustCompile(`^([A-Za-z0-9_-]+)\\\.`)
)

// grantProblem is one missing privilege: what is missing and the statement that grants it.
type grantProblem struct {
	Detail, Fix string
	Warn        bool // the run works without it, less well
}

// account is the connector's account as GRANT names it: 'user'@'host' of CURRENT_USER().
func (s *Source) account(ctx context.Context) string {
	if m, err := queryRow(ctx, s.db, "SELECT CURRENT_USER() AS u"); err == nil {
		if i := strings.LastIndexByte(m["u"], '@'); i >= 0 {
			return "'" + strings.ReplaceAll(m["u"][:i], "'", "''") + "'@'" + strings.ReplaceAll(m["u"][i+1:], "'", "''") + "'"
		}
	}
	return quoteUser(s.dcfg.User)
}

// mayLockSnapshot reports whether this start may take a snapshot under the global read lock
// (FLUSH TABLES WITH READ LOCK, which needs RELOAD) or table locks: a first start, snapshot mode always, or a
// purged stored position that when_needed or --skip-purged-binlog answers with a new one. A
// resumed connector (a stored offset, snapshot mode initial) takes none: a snapshot left
// unfinished resumes with watermarks, not locks.
func (s *Source) mayLockSnapshot() bool {
	return s.cfg.SnapshotLocking != LockNone && s.mayTakeSnapshot()
}

// mayTakeSnapshot reports whether this start may take a snapshot (see mayLockSnapshot).
func (s *Source) mayTakeSnapshot() bool {
	if len(s.cfg.Offset) == 0 {
		return s.cfg.SnapshotMode != SnapshotRecovery
	}
	return s.cfg.SnapshotMode == SnapshotAlways || s.cfg.SnapshotMode == SnapshotWhenNeeded || s.cfg.SkipPurgedBinlog
}

// lockProblems checks the grants of the snapshot's lock: RELOAD for the global read lock, or
// else LOCK TABLES on every captured database for the table locks the snapshot falls back to
// (snapshot_tablelock.go), as on managed servers. With LOCK TABLES and no RELOAD it warns which
// lock the snapshot will take; with neither it fails, naming both.
func (s *Source) lockProblems(ctx context.Context, g *grants, acct string, mariadb bool) []grantProblem {
	if !s.mayLockSnapshot() || g.hasGlobal("RELOAD") {
		return nil
	}
	var dbs []string // captured databases the user may not LOCK TABLES in
	var n int
	if ids, err := s.capturedTables(ctx, false); err == nil {
		n = len(ids)
		for _, id := range ids {
			if !g.onDB(id[0], "LOCK TABLES") && !slices.Contains(dbs, id[0]) {
				dbs = append(dbs, id[0])
			}
		}
	}
	if n == 0 {
		return nil // nothing to lock (the SELECT checks report tables the user cannot see)
	}
	until := "while the snapshot opens (milliseconds)"
	if s.cfg.SnapshotLocking == LockExtended {
		until = "for the whole snapshot (--snapshot-locking extended)"
	}
	if len(dbs) == 0 {
		return []grantProblem{{fmt.Sprintf("the user %s lacks RELOAD, so the snapshot cannot take the global read lock: it locks the %d captured tables "+
			"with LOCK TABLES ... READ instead (as on managed servers: RDS, Aurora, Cloud SQL), and writes to them wait %s", acct, n, until),
			fmt.Sprintf("none needed; GRANT RELOAD ON *.* TO %s takes the global read lock instead where the server permits it", acct), true}}
	}
	fixes := make([]string, len(dbs))
	for i, d := range dbs {
		fixes[i] = fmt.Sprintf("GRANT LOCK TABLES ON %s.* TO %s", quoteID(d), acct)
	}
	d := fmt.Sprintf("the user %s lacks RELOAD (the snapshot's global read lock, --snapshot-locking %s) and LOCK TABLES on %s "+
		"(the table locks it takes instead where the global read lock is not permitted, as on RDS, Aurora, Cloud SQL)", acct, s.cfg.SnapshotLocking, strings.Join(dbs, ", "))
	if mariadb {
		d += "; --snapshot-locking none needs neither, but then no DDL may run during the snapshot"
	}
	return []grantProblem{{d, strings.Join(fixes, "; ") + fmt.Sprintf(" (or GRANT RELOAD ON *.* TO %s)", acct), false}}
}

// grantProblems checks the session's grants against what the run needs, and returns what is
// missing with the statement that grants it. Nil when SHOW GRANTS cannot be read (the later
// steps then report what fails).
//
// Global: REPLICATION SLAVE (the binlog dump), REPLICATION CLIENT (MariaDB: BINLOG MONITOR;
// SHOW BINARY LOGS and the binlog position), RELOAD or LOCK TABLES when a snapshot may lock
// (lockProblems), BACKUP_ADMIN for --snapshot-locking minimal_percona on MySQL. SELECT on every captured
// table, granted on *.*, on its database or on the table itself (see selectProblems). INSERT on
// the signal table, unless --read-only.
func (s *Source) grantProblems(ctx context.Context, mariadb bool) []grantProblem {
	g, err := readGrants(ctx, s.db, mariadb)
	if err != nil {
		return nil
	}
	acct := s.account(ctx)
	var out []grantProblem
	var global []string
	if !g.hasGlobal("REPLICATION SLAVE", "REPLICATION REPLICA") {
		global = append(global, "REPLICATION SLAVE")
	}
	client := "REPLICATION CLIENT"
	if mariadb {
		client = "BINLOG MONITOR"
	}
	if !g.hasGlobal("REPLICATION CLIENT", "BINLOG MONITOR", "SUPER") {
		global = append(global, client)
	}
	if len(global) > 0 {
		out = append(out, grantProblem{fmt.Sprintf("the user %s lacks %s", acct, strings.Join(global, ", ")),
			fmt.Sprintf("GRANT %s ON *.* TO %s", strings.Join(global, ", "), acct), false})
	}
	out = append(out, s.lockProblems(ctx, g, acct, mariadb)...)
	if !mariadb && s.cfg.SnapshotLocking == LockMinimalPercona && s.mayLockSnapshot() && !g.hasGlobal("BACKUP_ADMIN") {
		out = append(out, grantProblem{fmt.Sprintf("the user %s lacks BACKUP_ADMIN, which --snapshot-locking minimal_percona requires (its backup lock)", acct),
			fmt.Sprintf("GRANT BACKUP_ADMIN ON *.* TO %s (or --snapshot-locking minimal)", acct), false})
	}
	if !mariadb && s.cfg.SnapshotLocking == LockMinimal && s.mayLockSnapshot() && !g.hasGlobal("BACKUP_ADMIN") {
		out = append(out, grantProblem{fmt.Sprintf("the user %s lacks BACKUP_ADMIN: the snapshot reads the table definitions without a DDL lock "+
			"and begins again if a DDL ran meanwhile (the backup lock would hold DDL off instead)", acct),
			fmt.Sprintf("GRANT BACKUP_ADMIN ON *.* TO %s", acct), true})
	}
	out = append(out, s.selectProblems(ctx, g, acct)...)
	if sig := s.cfg.SignalDataCollection; sig != "" && !s.cfg.ReadOnly {
		// The watermarks of incremental snapshots and of a resumed initial snapshot: without
		// INSERT the first of them stops the run, after a crash at the worst time.
		if id := signalID(sig); !g.onTable(id.DB, id.Table, "INSERT") {
			out = append(out, grantProblem{fmt.Sprintf("the user %s may not insert into the signal table %s, where incremental and resumed snapshots write their watermarks", acct, sig),
				fmt.Sprintf("GRANT INSERT ON %s.%s TO %s, or --read-only (read.only: windows from GTID sets, written nowhere)", quoteID(id.DB), quoteID(id.Table), acct), false})
		}
	}
	if slices.ContainsFunc(out, func(p grantProblem) bool { return !p.Warn }) && len(g.roles) > 0 {
		if m, err := queryRow(ctx, s.db, "SELECT CURRENT_ROLE() AS r"); err == nil && (m["r"] == "" || strings.EqualFold(m["r"], "NONE")) {
			fix := fmt.Sprintf("SET DEFAULT ROLE ALL TO %s", acct)
			if mariadb {
				fix = fmt.Sprintf("SET DEFAULT ROLE %s FOR %s", quoteID(g.roles[0]), acct)
			}
			// First: granting the role's privileges again to the user is seldom what is meant.
			out = append([]grantProblem{{fmt.Sprintf("the user's roles (%s) are not active in its sessions, so their privileges do not count",
				strings.Join(g.roles, ", ")), fix + " (a role's privileges count only when it is a default role), or grant what follows to the user", false}}, out...)
		}
	}
	return out
}

// selectProblems checks that the user may read every table the include lists capture. SELECT
// on *.* reads all. Without it, a table the user may not read is invisible to it (not in
// information_schema), so it would be left out of the snapshot unnoticed; the grants must
// cover the tables the user cannot see:
//   - a --table-include entry that names one table (shop.orders): SELECT on it, its database
//     or *.*;
//   - any other entry, or no table list: SELECT on each captured database (ON db.*): with a
//     database named in the entry (shop\..*) or in --database-include, that database; else
//     every database the filters capture, which only SHOW DATABASES shows.
//
// The tables the user can see, the server judges (probeSelect).
func (s *Source) selectProblems(ctx context.Context, g *grants, acct string) []grantProblem {
	if g.selectAll() {
		return nil
	}
	visible, err := s.capturedTables(ctx, true)
	if err != nil {
		return nil // the snapshot reports it
	}
	var out []grantProblem
	named := map[[2]string]bool{} // tables --table-include names, lower case
	dbs := map[string]bool{}
	everyDB := len(s.cfg.TableInclude) == 0
	for _, e := range s.cfg.TableInclude {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if m := literalTable.FindStringSubmatch(e); m != nil {
			db, t := m[1], m[2]
			named[[2]string{strings.ToLower(db), strings.ToLower(t)}] = true
			// A table the user sees is the probe's (below); one it does not see needs a
			// grant that names it.
			if !s.f.table(db, t) || slices.ContainsFunc(visible, func(id [2]string) bool {
				return strings.EqualFold(id[0], db) && strings.EqualFold(id[1], t)
			}) || g.onTable(db, t, "SELECT") {
				continue
			}
			out = append(out, grantProblem{fmt.Sprintf("the user %s may not read %s.%s, which --table-include (table.include.list) names (or it does not exist yet)", acct, db, t),
				// The server refuses a table grant on a table it does not have.
				fmt.Sprintf("GRANT SELECT ON %s.%s TO %s (a table not created yet: GRANT SELECT ON %s.* TO %s)", quoteID(db), quoteID(t), acct, quoteID(db), acct), false})
			continue
		}
		if m := literalDBOf.FindStringSubmatch(e); m != nil && !strings.Contains(e, "|") { // a|b\.t may name any database
			if s.f.database(m[1]) {
				dbs[m[1]] = true
			}
			continue
		}
		everyDB = true
	}
	if everyDB {
		var names []string
		literal := len(s.cfg.DatabaseInclude) > 0
		for _, e := range s.cfg.DatabaseInclude {
			if e = strings.TrimSpace(e); e != "" && !literalDB.MatchString(e) {
				literal = false
			}
			names = append(names, e)
		}
		if literal {
			for _, d := range names {
				if d != "" && s.f.database(d) {
					dbs[d] = true
				}
			}
		} else if g.hasGlobal("SELECT") {
			// SELECT on *.* with some databases revoked (MySQL's partial revokes): those, which
			// information_schema does not list.
			for d := range g.revoked {
				if s.f.database(d) {
					dbs[d] = true
				}
			}
		} else {
			// information_schema lists the databases the user has a privilege in, all of them
			// with SHOW DATABASES.
			if !g.hasGlobal("SHOW DATABASES") {
				out = append(out, grantProblem{fmt.Sprintf("the user %s has no SELECT on *.* and may not list the databases, "+
					"so sluice cannot tell which the filters capture (--database-include is not a list of names)", acct),
					fmt.Sprintf("GRANT SHOW DATABASES ON *.* TO %s, or name each captured database in --database-include (database.include.list)", acct), false})
			}
			if rows, err := s.db.QueryContext(ctx, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA"); err == nil {
				for rows.Next() {
					var d string
					if rows.Scan(&d) == nil && s.f.database(d) {
						dbs[d] = true
					}
				}
				rows.Close()
			}
		}
	}
	reported := map[string]bool{} // databases
	for _, d := range slices.Sorted(maps.Keys(dbs)) {
		if g.onDB(d, "SELECT") {
			continue
		}
		detail := fmt.Sprintf("the user %s may not read every table of captured database %s", acct, d)
		fix := fmt.Sprintf("GRANT SELECT ON %s.* TO %s", quoteID(d), acct)
		if g.tablesIn(d) {
			detail += " (SELECT on single tables of it is not enough unless --table-include names each captured table: a table the user may not read is invisible to it, and would be left out unnoticed)"
			fix += fmt.Sprintf(", or name each captured table of %s in --table-include (table.include.list) and grant SELECT on each", d)
		} else if len(s.cfg.DatabaseInclude) == 0 {
			fix += ", or leave it out with --database-exclude (database.exclude.list)"
		}
		out = append(out, grantProblem{detail, fix, false})
		reported[d] = true
	}
	var probe [][2]string
	for _, id := range visible {
		if !reported[id[0]] {
			probe = append(probe, id)
		}
	}
	return append(out, s.probeSelect(ctx, g, acct, probe, named)...)
}

// capturedTables lists the captured tables the user can see, in name order; sequences (MariaDB)
// too when withSequences (LOCK TABLES takes only tables).
func (s *Source) capturedTables(ctx context.Context, withSequences bool) ([][2]string, error) {
	types := "'BASE TABLE','SYSTEM VERSIONED'"
	if withSequences {
		types += ",'SEQUENCE'"
	}
	rows, err := s.db.QueryContext(ctx, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE IN ("+types+") ORDER BY TABLE_SCHEMA, TABLE_NAME")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var id [2]string
		if err := rows.Scan(&id[0], &id[1]); err != nil {
			return nil, err
		}
		if s.f.table(id[0], id[1]) {
			out = append(out, id)
		}
	}
	return out, rows.Err()
}

// probeSelect reads no row of each of ids (SELECT * ... LIMIT 0, in batches) and reports those
// the server refuses: the server is the judge of the tables the user can see, and the grants'
// reading above cannot know its every rule (of the database grants whose names match a
// database, the server uses only the most specific: GRANT SELECT ON `shop%`.* gives nothing on
// shop1 once GRANT INSERT ON shop1.* exists).
func (s *Source) probeSelect(ctx context.Context, g *grants, acct string, ids [][2]string, named map[[2]string]bool) []grantProblem {
	probe := func(ids [][2]string) error {
		q := make([]string, len(ids))
		for i, id := range ids {
			q[i] = fmt.Sprintf("SELECT 1 FROM (SELECT * FROM %s.%s LIMIT 0) t%d", quoteID(id[0]), quoteID(id[1]), i)
		}
		rows, err := s.db.QueryContext(ctx, strings.Join(q, " UNION ALL "))
		if err != nil {
			return err
		}
		return rows.Close()
	}
	denied := map[string][]string{} // database → tables
	var first error
	const batch = 100
	for i := 0; i < len(ids); i += batch {
		part := ids[i:min(i+batch, len(ids))]
		if err := probe(part); err == nil || !accessDenied(err) {
			continue // not a privilege: the snapshot reports it
		}
		for _, id := range part {
			if err := probe([][2]string{id}); err != nil && accessDenied(err) {
				denied[id[0]] = append(denied[id[0]], id[1])
				if first == nil {
					first = err
				}
			}
		}
	}
	var out []grantProblem
	for _, d := range slices.Sorted(maps.Keys(denied)) {
		ts := denied[d]
		slices.Sort(ts)
		list := strings.Join(ts[:min(len(ts), 5)], ", ")
		if len(ts) > 5 {
			list += fmt.Sprintf(" and %d more", len(ts)-5)
		}
		// Tables granted or named one by one get their own GRANT; else the database's.
		var fixes []string
		columns := false
		for _, t := range ts {
			cols := g.someColumns(d, t)
			columns = columns || cols
			if !cols && !named[[2]string{strings.ToLower(d), strings.ToLower(t)}] {
				fixes = nil
				break
			}
			fixes = append(fixes, fmt.Sprintf("GRANT SELECT ON %s.%s TO %s", quoteID(d), quoteID(t), acct))
		}
		fix := strings.Join(fixes, "; ")
		if fix == "" {
			fix = fmt.Sprintf("GRANT SELECT ON %s.* TO %s", quoteID(d), acct)
		}
		why := "a likely cause: of the database grants whose names match a database, the server uses only the most specific"
		if columns {
			why = "SELECT on some columns of a table is not enough: the snapshot reads every column"
		}
		out = append(out, grantProblem{fmt.Sprintf("the server refuses the user %s SELECT on captured tables of %s: %s (%v); %s", acct, d, list, first, why), fix, false})
	}
	return out
}

// accessDenied: the server refused for want of a privilege (ER_TABLEACCESS_DENIED_ERROR,
// ER_COLUMNACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR).
func accessDenied(err error) bool {
	me, ok := errors.AsType[*gomysql.MySQLError](err)
	return ok && (me.Number == 1142 || me.Number == 1143 || me.Number == 1044)
}
