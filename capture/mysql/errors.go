package mysql

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
)

var (
	// ErrSchemaMismatch: a TABLE_MAP does not match the schema history's definition.
	ErrSchemaMismatch = errors.New("binlog table map does not match the schema history")
	// ErrPurged: the offset's binlog position is no longer on the server.
	ErrPurged = errors.New("binlog position purged from the server")
	// ErrStatementRows: a row change of a captured table is in the binlog as a statement.
	ErrStatementRows = errors.New("row change logged as a statement")
	// ErrPreflight: the server is not set up for change capture.
	ErrPreflight = errors.New("server not ready for change capture")
)

// retryableError marks a transient failure (the server went away).
type retryableError struct{ err error }

func (e *retryableError) Error() string   { return e.err.Error() }
func (e *retryableError) Unwrap() error   { return e.err }
func (e *retryableError) Retryable() bool { return true }

// QueryTimeoutError: a query on a side connection got no answer within Config.QueryTimeout (a
// stalled link or a stuck server). Retryable: the capture command reopens the source, on new
// connections, from the last saved offset.
type QueryTimeoutError struct {
	What    string // what was asked, e.g. "read the definition of db.t from the server"
	Timeout time.Duration
	Err     error
}

func (e *QueryTimeoutError) Error() string {
	return fmt.Sprintf("mysql: %s: no answer from the server within %s (a stalled network or a stuck server; --query-timeout): %v",
		e.What, e.Timeout, e.Err)
}

func (e *QueryTimeoutError) Unwrap() error   { return e.Err }
func (e *QueryTimeoutError) Retryable() bool { return true }

// bounded runs f with ctx limited to the query timeout. The pool's per-read timeout ends a
// stalled read too (with ErrInvalidConn); this bound names the query and also ends a wait for
// a pool connection. A deadline of its own (not ctx's) is a *QueryTimeoutError, another lost
// connection a retryable error: either way the source is reopened.
func (s *Source) bounded(ctx context.Context, what string, f func(context.Context) error) error {
	if s.cfg.QueryTimeout <= 0 {
		return f(ctx)
	}
	start := time.Now()
	qctx, cancel := context.WithTimeout(ctx, s.cfg.QueryTimeout)
	defer cancel()
	err := f(qctx)
	switch {
	case err == nil || ctx.Err() != nil:
		return err
	case errors.Is(qctx.Err(), context.DeadlineExceeded),
		// the pool's read timeout, which may fire a moment before the context's
		errors.Is(err, gomysql.ErrInvalidConn) && time.Since(start) >= s.cfg.QueryTimeout:
		return &QueryTimeoutError{What: what, Timeout: s.cfg.QueryTimeout, Err: err}
	case transient(err):
		return &retryableError{fmt.Errorf("mysql: %s: %w", what, err)}
	}
	return err
}

func errorf(format string, args ...any) error { return fmt.Errorf("mysql: "+format, args...) }

// transientCodes are server errors of the query connection that a new connection can outlive:
// the server is full, shutting down or dropped the session, or a lock timed out.
var transientCodes = map[uint16]bool{
	1040: true, // ER_CON_COUNT_ERROR: too many connections
	1053: true, // ER_SERVER_SHUTDOWN
	1152: true, // ER_ABORTING_CONNECTION
	1184: true, // ER_NEW_ABORTING_CONNECTION
	1205: true, // ER_LOCK_WAIT_TIMEOUT
	1213: true, // ER_LOCK_DEADLOCK
	1317: true, // ER_QUERY_INTERRUPTED (also sent to sessions of a server that shuts down)
	1927: true, // MariaDB ER_CONNECTION_KILLED
	4031: true, // MySQL ER_CLIENT_INTERACTION_TIMEOUT
}

// transient reports whether err, from a query connection, is a lost or refused connection or
// one of transientCodes. Other server errors (access denied, a missing grant, an unknown
// database, bad SQL) are not: retrying them only hides them.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if me, ok := errors.AsType[*gomysql.MySQLError](err); ok {
		return transientCodes[me.Number]
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	return errors.Is(err, gomysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// connError classifies an error of connecting to the server (the preflight's first query):
// retryable when transient, else an error that says what to fix, which fails the start at once.
func (s *Source) connError(err error) error {
	if transient(err) {
		return &retryableError{errorf("connect to %s: %w", s.dcfg.Addr, err)}
	}
	me, _ := errors.AsType[*gomysql.MySQLError](err)
	if me == nil {
		return errorf("connect to %s: %w", s.dcfg.Addr, err)
	}
	u := s.dcfg.User
	var fix string
	switch me.Number {
	case 1045: // ER_ACCESS_DENIED_ERROR
		fix = fmt.Sprintf("check the password of %q (--dsn, --password-file, SLUICE_MYSQL_PASSWORD) and that the user may connect "+
			"from this host: SELECT user, host, plugin FROM mysql.user WHERE user = '%s'", u, u)
	case 1044, 1142, 1227: // ER_DBACCESS_DENIED_ERROR, ER_TABLEACCESS_DENIED_ERROR, ER_SPECIFIC_ACCESS_DENIED_ERROR
		fix = fmt.Sprintf("run GRANT SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO %s "+
			"(MariaDB 10.5+: BINLOG MONITOR for REPLICATION CLIENT)", quoteUser(u))
	case 1049: // ER_BAD_DB_ERROR
		fix = "the DSN names a database that does not exist: remove it from --dsn (sluice needs none) or create it"
	case 1820, 1862: // ER_MUST_CHANGE_PASSWORD, ER_MUST_CHANGE_PASSWORD_LOGIN
		fix = fmt.Sprintf("the password of %q has expired: ALTER USER %s IDENTIFIED BY '…'", u, quoteUser(u))
	case 3118, 4151: // MySQL / MariaDB ER_ACCOUNT_HAS_BEEN_LOCKED
		fix = fmt.Sprintf("the account is locked: ALTER USER %s ACCOUNT UNLOCK", quoteUser(u))
	default:
		return errorf("connect to %s: %w", s.dcfg.Addr, err)
	}
	return errorf("connect to %s as %q: %w; %s", s.dcfg.Addr, u, err, fix)
}
