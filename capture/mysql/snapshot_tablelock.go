package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
)

// Table locks: where the server does not permit FLUSH TABLES WITH READ LOCK (no RELOAD, or a
// managed server such as Amazon RDS, Aurora or Cloud SQL, which refuses it even to its admin
// user), the snapshot locks the captured tables with LOCK TABLES ... READ (the LOCK TABLES
// privilege and SELECT on each), as Debezium does there.
//
// Why the snapshot still meets the stream exactly: LOCK TABLES ... READ waits until every
// transaction that wrote to a captured table has committed (each holds a metadata lock on the
// table until its commit, binlog included, is over) and keeps new writes to them waiting. While
// it holds, the snapshot's transactions open and the binlog position is read: every change of
// a captured table committed before is in both the snapshot and the binlog before the position;
// none commits between; every later one is after the position and in no snapshot. Other
// tables' commits go on meanwhile; the stream does not capture them.
//
// Unlike Debezium, which holds its table locks for the whole snapshot because it reads the rows
// in the session that holds them (START TRANSACTION would release a session's table locks,
// and LOCK TABLES commits its transaction), the locks are taken on a connection of their own,
// so with --snapshot-locking minimal they are released as soon as the position is read, as the
// global read lock is; extended keeps them until the snapshot ends.

// tableLock is LOCK TABLES ... READ on the captured tables, held by a connection of its own.
type tableLock struct {
	s      *Source
	c      *sql.Conn // nil: no table to lock
	tables map[[2]string]bool
	at     time.Time
}

// lockDenied: the server refused a lock statement for want of a privilege (ER_DBACCESS_DENIED,
// ER_ACCESS_DENIED, which managed servers send for FLUSH TABLES WITH READ LOCK,
// ER_TABLEACCESS_DENIED, ER_SPECIFIC_ACCESS_DENIED: "you need the RELOAD privilege").
func lockDenied(err error) bool {
	me, ok := errors.AsType[*gomysql.MySQLError](err)
	return ok && (me.Number == 1044 || me.Number == 1045 || me.Number == 1142 || me.Number == 1227)
}

// takeTableLocks locks the captured tables for reading; globalErr is the server's refusal of
// the global read lock, which the error names when the table locks are refused too.
func (s *Source) takeTableLocks(ctx context.Context, globalErr error) (*tableLock, error) {
	ids, err := s.capturedTables(ctx, false)
	if err != nil {
		return nil, errorf("snapshot: list the captured tables to lock: %w", err)
	}
	tl := &tableLock{s: s, tables: make(map[[2]string]bool, len(ids)), at: time.Now()}
	until := "the snapshot's transactions are open and its binlog position is read"
	if s.cfg.SnapshotLocking == LockExtended {
		until = "the snapshot ends (--snapshot-locking extended)"
	}
	s.log.Info(fmt.Sprintf("snapshot: global read lock not permitted; using table locks (LOCK TABLES ... READ) on %d tables, writes to them wait until %s", len(ids), until),
		"tables", len(ids), "err", globalErr)
	if len(ids) == 0 {
		return tl, nil
	}
	var b strings.Builder
	b.WriteString("LOCK TABLES ")
	for i, id := range ids {
		tl.tables[id] = true
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quoteID(id[0]) + "." + quoteID(id[1]) + " READ")
	}
	c, err := s.db.Conn(ctx)
	if err != nil {
		return nil, errorf("snapshot: table lock connection: %w", err)
	}
	if _, err := c.ExecContext(ctx, s.lockWaitTimeout()); err != nil {
		c.Close()
		return nil, errorf("snapshot: table lock connection: %w", err)
	}
	tl.at = time.Now()
	if _, err := c.ExecContext(ctx, b.String()); err != nil {
		c.Close()
		switch {
		case lockTimedOut(err):
			return nil, errorf("snapshot: LOCK TABLES ... READ on %d tables waited --snapshot-lock-timeout %s: %w. A long transaction or a DDL statement "+
				"holds one of them, and writers queue behind the pending lock; the lock is given up so they go on, and the snapshot begins again",
				len(ids), s.cfg.SnapshotLockTimeout, err)
		case transient(err):
			return nil, errorf("snapshot: LOCK TABLES ... READ: %w (the connection broke, or nothing came for --query-timeout %s)", err, s.cfg.QueryTimeout)
		case isNoSuchTable(err):
			// Dropped between the listing and the lock: begin again.
			return nil, fmt.Errorf("mysql: snapshot: %w: LOCK TABLES: %w", errDDLRaced, err)
		case lockDenied(err):
			return nil, s.noLockError(ctx, ids, globalErr, err)
		}
		return nil, errorf("snapshot: LOCK TABLES ... READ on %d tables: %w", len(ids), err)
	}
	tl.c = c
	return tl, nil
}

// isNoSuchTable: ER_NO_SUCH_TABLE.
func isNoSuchTable(err error) bool {
	me, ok := errors.AsType[*gomysql.MySQLError](err)
	return ok && me.Number == 1146
}

// noLockError says that the server permits neither lock and which grant fixes it: LOCK
// TABLES on the captured databases (what a managed server allows); RELOAD as well only when
// the user lacks it (a managed server refuses the global read lock even with it).
func (s *Source) noLockError(ctx context.Context, ids [][2]string, globalErr, tableErr error) error {
	acct := s.account(ctx)
	var dbs []string
	for _, id := range ids {
		if !slices.Contains(dbs, id[0]) {
			dbs = append(dbs, id[0])
		}
	}
	fixes := make([]string, len(dbs))
	for i, d := range dbs {
		fixes[i] = fmt.Sprintf("GRANT LOCK TABLES ON %s.* TO %s", quoteID(d), acct)
	}
	fix := strings.Join(fixes, "; ")
	if g, err := readGrants(ctx, s.db, s.info.MariaDB); err == nil && !g.hasGlobal("RELOAD") {
		fix += fmt.Sprintf(" (or GRANT RELOAD ON *.* TO %s, for the global read lock, where the server permits it)", acct)
	}
	return fmt.Errorf("mysql: snapshot: the server permits neither the global read lock (FLUSH TABLES WITH READ LOCK: %v) nor table locks "+
		"on the %d captured tables (LOCK TABLES ... READ: %v), one of which the snapshot needs so that its rows and its binlog position agree. Fix: %s",
		globalErr, len(ids), tableErr, fix)
}

// covers checks that every captured table is locked: one created after the listing was not,
// so its writes may have committed between the snapshot and the position (errDDLRaced: the
// snapshot begins again).
func (tl *tableLock) covers(ctx context.Context, s *Source) error {
	ids, err := s.capturedTables(ctx, false)
	if err != nil {
		return errorf("snapshot: list the captured tables: %w", err)
	}
	for _, id := range ids {
		if !tl.tables[id] {
			return fmt.Errorf("mysql: snapshot: %w: table %s.%s created while the snapshot locked the captured tables", errDDLRaced, id[0], id[1])
		}
	}
	return nil
}

// release ends the table locks (nil-safe, once). A connection whose UNLOCK TABLES fails is
// dropped, not handed back to the pool still holding the locks.
func (tl *tableLock) release() {
	if tl == nil || tl.c == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := tl.c.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
		_ = tl.c.Raw(func(any) error { return driver.ErrBadConn })
	}
	tl.c.Close()
	tl.c = nil
}

// settledPosition reads the binlog position under table locks on MySQL. Other tables' commits
// go on, and SHOW BINARY LOG STATUS reads the GTID set before the file position (a commit
// writes its events before its GTID joins the set), so the set may lack a transaction of
// another table just before the position, which a dump by GTIDs would then send again (its
// rows are not captured; a DDL of it would reach the history twice). Read until two reads
// agree; on a server whose other tables are written without a pause, the last read, with a
// warning, rather than hold the captured tables' writers longer.
func (s *Source) settledPosition(ctx context.Context, conn queryer) (*Position, error) {
	prev, err := s.binlogPosition(ctx, conn, false)
	if err != nil {
		return nil, err
	}
	for range 20 {
		p, err := s.binlogPosition(ctx, conn, false)
		if err != nil {
			return nil, err
		}
		if p.File == prev.File && p.Pos == prev.Pos && p.GTIDs == prev.GTIDs {
			return p, nil
		}
		prev = p
	}
	s.log.Warn("snapshot: the binlog position did not settle under table locks (other tables are written without a pause); "+
		"a transaction of another table committed at this instant may be read again by the stream", "file", prev.File, "pos", prev.Pos)
	return prev, nil
}
