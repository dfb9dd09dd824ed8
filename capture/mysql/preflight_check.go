package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/sluicecdc/sluice/capture"
)

// Check runs the source's preflight (what New checks before it reads anything) one check at a
// time, without taking a snapshot or registering as a replica, and reports each (`sluice
// check`). cfg.Offset, if set, is checked against the server's binlogs. It needs no History.
func Check(ctx context.Context, cfg Config) []capture.Check {
	cfg.setDefaults()
	var out []capture.Check
	add := func(name string, st capture.CheckStatus, detail, fix string) {
		out = append(out, capture.Check{Name: name, Status: st, Detail: detail, Fix: fix})
	}
	f, err := newFilter(&cfg)
	if err != nil {
		add("configuration", capture.CheckFail, err.Error(), "fix the include/exclude lists")
		return out
	}
	s := &Source{cfg: cfg, log: cfg.Logger.With("source", "mysql"), f: f}
	var dsnTLS string
	if s.dcfg, dsnTLS, err = parseDSN(cfg.DSN, cfg.Password); err != nil {
		add("configuration", capture.CheckFail, err.Error(), "fix --dsn")
		return out
	}
	if err := s.setupTLS(dsnTLS); err != nil {
		add("tls", capture.CheckFail, err.Error(), "fix the --tls-* flags (see docs/security.md)")
		return out
	}
	s.dcfg.Logger = driverLog{s.log}
	conn, err := gomysql.NewConnector(s.dcfg)
	if err != nil {
		add("connect", capture.CheckFail, err.Error(), "fix --dsn")
		return out
	}
	s.db = sql.OpenDB(conn)
	defer s.db.Close()
	m, err := queryRow(ctx, s.db, "SELECT VERSION() AS v, @@server_id AS sid, @@log_bin AS log_bin, @@binlog_format AS fmt, @@binlog_row_image AS img")
	if err != nil {
		add("connect", capture.CheckFail, s.connError(err).Error(), "see the error")
		return out
	}
	mariadb := isMariaDB(m["v"])
	add("connect", capture.CheckOK, fmt.Sprintf("%s as %q, server %s", s.dcfg.Addr, s.dcfg.User, m["v"]), "")
	if m["log_bin"] == "1" || strings.EqualFold(m["log_bin"], "ON") {
		add("log_bin", capture.CheckOK, "ON", "")
	} else {
		add("log_bin", capture.CheckFail, "the binary log is off", "start the server with --log-bin (log_bin=ON in my.cnf)")
	}
	if strings.EqualFold(m["fmt"], "ROW") {
		add("binlog_format", capture.CheckOK, "ROW", "")
	} else {
		add("binlog_format", capture.CheckFail, m["fmt"], "SET GLOBAL binlog_format='ROW'; and binlog_format=ROW in my.cnf")
	}
	switch ok, note := rowImageOK(m["img"]); {
	case ok && note == "":
		add("binlog_row_image", capture.CheckOK, m["img"], "")
	case ok:
		add("binlog_row_image", capture.CheckWarn, note, "SET GLOBAL binlog_row_image='FULL'; and binlog_row_image=FULL in my.cnf")
	default:
		add("binlog_row_image", capture.CheckFail, m["img"], "SET GLOBAL binlog_row_image='FULL'; and binlog_row_image=FULL in my.cnf")
	}
	sid, _ := strconv.ParseUint(m["sid"], 10, 32)
	if uint32(sid) == cfg.ServerID {
		add("server id", capture.CheckFail, fmt.Sprintf("--server-id %d is the server's own server_id", cfg.ServerID), "choose another --server-id, unique among its replicas")
	} else {
		add("server id", capture.CheckOK, fmt.Sprintf("--server-id %d (server's own: %d)", cfg.ServerID, sid), "")
	}
	if !mariadb {
		if g, err := queryRow(ctx, s.db, "SELECT @@gtid_mode AS m"); err == nil {
			if strings.EqualFold(g["m"], "ON") {
				add("gtid_mode", capture.CheckOK, "ON", "")
			} else {
				add("gtid_mode", capture.CheckWarn, g["m"]+": resume by binlog file and position only, no failover",
					"SET GLOBAL enforce_gtid_consistency=ON; SET GLOBAL gtid_mode=OFF_PERMISSIVE; SET GLOBAL gtid_mode=ON_PERMISSIVE; SET GLOBAL gtid_mode=ON")
			}
		}
		if v, err := queryRow(ctx, s.db, "SELECT @@binlog_row_value_options AS o"); err == nil {
			if strings.Contains(strings.ToUpper(v["o"]), "PARTIAL_JSON") {
				add("binlog_row_value_options", capture.CheckFail, v["o"], "SET GLOBAL binlog_row_value_options=''")
			}
		}
	}
	// The same problems as the run's preflight: a FAIL here is a refused start there.
	failed := false
	for _, p := range s.grantProblems(ctx, mariadb) {
		st := capture.CheckFail
		if p.Warn {
			st = capture.CheckWarn
		} else {
			failed = true
		}
		add("grants", st, p.Detail, p.Fix)
	}
	if !failed {
		need := "REPLICATION SLAVE, REPLICATION CLIENT, SELECT on the captured tables"
		if mariadb {
			need = "REPLICATION SLAVE, BINLOG MONITOR, SELECT on the captured tables"
		}
		if s.mayLockSnapshot() {
			need += ", RELOAD or LOCK TABLES (snapshot lock)"
		}
		add("grants", capture.CheckOK, need, "")
	}
	if p := s.lockingProblem(mariadb); p != "" {
		add("snapshot locking", capture.CheckFail, p, "--snapshot-locking minimal")
	}
	for _, p := range s.unloggedDatabases(ctx) {
		add("binlog filters", capture.CheckFail, p, "remove the database from binlog_do_db/binlog_ignore_db, or --database-exclude it")
	}
	out = append(out, s.checkTables(ctx)...)
	if len(cfg.Offset) > 0 {
		out = append(out, s.checkOffset(ctx))
	}
	return out
}

// checkTables reports how many tables the include/exclude lists capture.
func (s *Source) checkTables(ctx context.Context) []capture.Check {
	rows, err := s.db.QueryContext(ctx, "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "+
		"AND table_schema NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')")
	if err != nil {
		return []capture.Check{{Name: "captured tables", Status: capture.CheckFail, Detail: err.Error(), Fix: "GRANT SELECT ON *.* to the user"}}
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var db, t string
		if rows.Scan(&db, &t) == nil && s.f.table(db, t) {
			n++
		}
	}
	if n == 0 {
		return []capture.Check{{Name: "captured tables", Status: capture.CheckWarn, Detail: "no table matches the include/exclude lists",
			Fix: "check --database-include/--table-include (database.include.list, table.include.list)"}}
	}
	return []capture.Check{{Name: "captured tables", Status: capture.CheckOK, Detail: fmt.Sprintf("%d tables", n)}}
}

// checkOffset reports whether the stored position's binlog file is still on the server.
func (s *Source) checkOffset(ctx context.Context) capture.Check {
	c := capture.Check{Name: "stored position"}
	p, err := ParsePosition(s.cfg.Offset)
	if err != nil {
		c.Status, c.Detail, c.Fix = capture.CheckFail, err.Error(), "the offsets store holds a position sluice cannot read: restore it, or use another --offsets-file/--name"
		return c
	}
	if p.File == "" {
		c.Status, c.Detail = capture.CheckOK, "GTID set "+p.GTIDs
		return c
	}
	rows, err := s.db.QueryContext(ctx, "SHOW BINARY LOGS")
	if err != nil {
		c.Status, c.Detail, c.Fix = capture.CheckWarn, "cannot list the binary logs: "+err.Error(), "GRANT REPLICATION CLIENT (MariaDB: BINLOG MONITOR)"
		return c
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]sql.RawBytes, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if rows.Scan(ptrs...) == nil && string(vals[0]) == p.File {
			c.Status, c.Detail = capture.CheckOK, fmt.Sprintf("%s:%d is on the server", p.File, p.Pos)
			return c
		}
	}
	c.Status, c.Detail = capture.CheckFail, fmt.Sprintf("binlog %s of the stored position was purged", p.File)
	c.Fix = "--snapshot-mode when_needed (a new snapshot) or --skip-purged-binlog (loses the changes in between)"
	return c
}
