package replication

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Sentinels matched with errors.Is. A *ServerError unwraps to at most one of them.
var (
	// ErrClosed is returned by calls on a closed (or broken) Conn.
	ErrClosed = errors.New("replication: connection closed")
	// ErrAccessDenied: wrong user or password, or the user may not connect from this host.
	ErrAccessDenied = errors.New("access denied")
	// ErrMissingPrivilege: the user lacks a privilege (REPLICATION SLAVE, REPLICATION CLIENT…).
	ErrMissingPrivilege = errors.New("missing privilege")
	// ErrServerIDConflict: another replica connected with the same server id and the server
	// dropped this one (or this one was refused).
	ErrServerIDConflict = errors.New("server id conflict")
	// ErrBinlogPurged: the requested binlog file or GTIDs are no longer on the server.
	ErrBinlogPurged = errors.New("requested binlog purged")
	// ErrInvalidPosition: the server refused the start position for another reason (a GTID the
	// server never had, a position inside an event…).
	ErrInvalidPosition = errors.New("invalid start position")
	// ErrInsecureAuth: the server asks for full authentication, which would send the password
	// (or fetch the key that encrypts it) over a channel whose server is not verified; see
	// Config.AllowPublicKeyRetrieval.
	ErrInsecureAuth = errors.New("password exchange over an unverified channel refused")
	// ErrUnsupported: the server or its configuration cannot serve this request (no binlog,
	// no GTID mode, an auth plugin this client does not speak).
	ErrUnsupported = errors.New("unsupported")
)

// MySQL and MariaDB error codes this package classifies.
const (
	codeAccessDenied         = 1045 // ER_ACCESS_DENIED_ERROR
	codeDBAccessDenied       = 1044 // ER_DBACCESS_DENIED_ERROR
	codeTableAccessDenied    = 1142 // ER_TABLEACCESS_DENIED_ERROR
	codeSpecificAccessDenied = 1227 // ER_SPECIFIC_ACCESS_DENIED_ERROR
	codeAccessDeniedNoPass   = 1698 // ER_ACCESS_DENIED_NO_PASSWORD_ERROR
	codeConCount             = 1040 // ER_CON_COUNT_ERROR
	codeServerShutdown       = 1053 // ER_SERVER_SHUTDOWN
	codeNetReadError         = 1158 // ER_NET_READ_ERROR
	codeNetReadInterrupted   = 1159 // ER_NET_READ_INTERRUPTED
	codeNetErrorOnWrite      = 1160 // ER_NET_ERROR_ON_WRITE
	codeNetWriteInterrupted  = 1161 // ER_NET_WRITE_INTERRUPTED
	codeMasterFatalReading   = 1236 // ER_MASTER_FATAL_ERROR_READING_BINLOG
	codeUnknownSystemVar     = 1193 // ER_UNKNOWN_SYSTEM_VARIABLE
	codeConnectionKilled     = 1927 // MariaDB ER_CONNECTION_KILLED
	codeNoBinaryLogging      = 1381 // ER_NO_BINARY_LOGGING
	codeMasterHasPurged      = 1789 // ER_MASTER_HAS_PURGED_REQUIRED_GTIDS
	codeMalformedGTIDSet     = 1773 // ER_MALFORMED_GTID_SET_ENCODING
	codeSlaveSameID          = 1595 // ER_SLAVE_SAME_ID (older servers, text also used in 1236)
	codeMariaSlaveSameID     = 4052 // MariaDB ER_SLAVE_SAME_ID
)

// ServerError is an error packet sent by the server, with what an operator needs to act on it.
type ServerError struct {
	Op      string // what this client was doing: "connect", "register replica", "binlog dump", a query
	Code    uint16 // MySQL/MariaDB error number, e.g. 1045
	State   string // SQLSTATE, e.g. "28000"; empty when the server sent none
	Message string // the server's message, verbatim
	Hint    string // what to do about it; empty when there is nothing specific to say
	kind    error  // one of the sentinels, or nil
}

func (e *ServerError) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "server error %d", e.Code)
	if e.State != "" {
		fmt.Fprintf(&b, " (%s)", e.State)
	}
	b.WriteString(": ")
	b.WriteString(e.Message)
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

// Unwrap returns the sentinel this error is classified as (nil if none).
func (e *ServerError) Unwrap() error { return e.kind }

// Retryable reports whether the same request may succeed later without operator action: the
// server was shutting down, had too many connections, or the connection was interrupted.
func (e *ServerError) Retryable() bool {
	switch e.Code {
	case codeConCount, codeServerShutdown, codeNetReadError, codeNetReadInterrupted,
		codeNetErrorOnWrite, codeNetWriteInterrupted, codeConnectionKilled:
		return true
	}
	return false
}

// NetError is a failure of the connection itself (refused, reset, closed by the server,
// timed out). It is retryable: reconnecting from the last acknowledged position is the remedy.
type NetError struct {
	Op   string
	Addr string
	Err  error
}

func (e *NetError) Error() string {
	return fmt.Sprintf("%s %s: %v", e.Op, e.Addr, e.Err)
}

func (e *NetError) Unwrap() error { return e.Err }

// Retryable reports true: the server may come back.
func (e *NetError) Retryable() bool { return true }

// ProtocolError is a packet this client could not make sense of. It is not retryable: it
// points at a bug here or at something that is not a MySQL server.
type ProtocolError struct {
	Op  string
	Msg string
}

func (e *ProtocolError) Error() string { return e.Op + ": protocol error: " + e.Msg }

// IsCode reports whether err is (or wraps) a *ServerError with one of the given codes.
func IsCode(err error, codes ...uint16) bool {
	var se *ServerError
	if !errors.As(err, &se) {
		return false
	}
	for _, c := range codes {
		if se.Code == c {
			return true
		}
	}
	return false
}

// classify sets kind and Hint of a server error from its code, message and the operation.
func (e *ServerError) classify(user string, flavor Flavor) {
	msg := strings.ToLower(e.Message)
	switch e.Code {
	case codeAccessDenied, codeAccessDeniedNoPass:
		if strings.Contains(e.Op, "COM_REGISTER_SLAVE") {
			// Both MySQL and MariaDB answer COM_REGISTER_SLAVE from a user without
			// REPLICATION SLAVE with 1045, although the password was right.
			e.kind = ErrMissingPrivilege
			e.Hint = fmt.Sprintf("the server refuses to register %q as a replica, which means the REPLICATION SLAVE "+
				"privilege is missing: GRANT REPLICATION SLAVE ON *.* TO '%s'@'%%'", user, user)
			return
		}
		e.kind = ErrAccessDenied
		e.Hint = fmt.Sprintf("check the user name and password of %q and that it may connect from this host "+
			"(SELECT user, host, plugin FROM mysql.user WHERE user = '%s')", user, user)
	case codeSpecificAccessDenied, codeDBAccessDenied, codeTableAccessDenied:
		e.kind = ErrMissingPrivilege
		switch {
		case strings.Contains(msg, "replication client") || strings.Contains(msg, "binlog monitor") ||
			strings.Contains(e.Op, "STATUS") || strings.Contains(e.Op, "SHOW"):
			e.Hint = fmt.Sprintf("grant the replication client privilege: GRANT REPLICATION CLIENT ON *.* TO '%s'@'%%'", user)
			if flavor == FlavorMariaDB {
				e.Hint = fmt.Sprintf("grant the binlog monitor privilege: GRANT BINLOG MONITOR ON *.* TO '%s'@'%%' "+
					"(called REPLICATION CLIENT before MariaDB 10.5)", user)
			}
		case strings.Contains(msg, "replication slave") || strings.Contains(e.Op, "replica") ||
			strings.Contains(e.Op, "dump"):
			e.Hint = fmt.Sprintf("grant the replication privilege: GRANT REPLICATION SLAVE ON *.* TO '%s'@'%%'", user)
		default:
			e.Hint = fmt.Sprintf("a CDC user needs: GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT, RELOAD ON *.* TO '%s'@'%%'", user)
			if flavor == FlavorMariaDB {
				e.Hint = fmt.Sprintf("a CDC user needs: GRANT REPLICATION SLAVE, BINLOG MONITOR, SELECT, RELOAD ON *.* TO '%s'@'%%'", user)
			}
		}
	case codeMalformedGTIDSet:
		// Tagged GTIDs need the tagged encoding, which servers before MySQL 8.3 cannot read;
		// they never have tags themselves, so the set comes from a newer server.
		e.kind = ErrInvalidPosition
		e.Hint = "the server cannot read the GTID set sent with COM_BINLOG_DUMP_GTID: a set with tagged GTIDs " +
			"(uuid:tag:n) needs MySQL 8.3 or later, so the offset belongs to a newer server; resume against a " +
			"server that has these GTIDs, or take a new snapshot (--snapshot-mode when_needed or always)"
	case codeMasterFatalReading, codeSlaveSameID, codeMariaSlaveSameID, codeMasterHasPurged, codeNoBinaryLogging:
		switch {
		case strings.Contains(msg, "same server_uuid/server_id") || strings.Contains(msg, "same server_id") ||
			strings.Contains(msg, "same server id") || e.Code == codeSlaveSameID || e.Code == codeMariaSlaveSameID:
			e.kind = ErrServerIDConflict
			e.Hint = "another replica (or another sluice) connected with the same server id and the server dropped " +
				"this one; give every replica of this server a unique server id (SHOW REPLICAS / SHOW SLAVE HOSTS lists them)"
		case strings.Contains(msg, "could not find first log file name") || strings.Contains(msg, "purged") ||
			strings.Contains(msg, "could not find gtid state") || e.Code == codeMasterHasPurged:
			e.kind = ErrBinlogPurged
			e.Hint = "the binlogs holding the start position were purged (or never existed on this server); " +
				"take a new snapshot and restart from the server's current position, and keep binlogs longer " +
				"(binlog_expire_logs_seconds / expire_logs_days) than the longest outage"
		case strings.Contains(msg, "binary log") && strings.Contains(msg, "not") && strings.Contains(msg, "enabled") ||
			e.Code == codeNoBinaryLogging:
			e.kind = ErrUnsupported
			e.Hint = "enable the binary log on the server (log_bin, binlog_format=ROW, binlog_row_image=FULL)"
		case strings.Contains(msg, "more gtids than"):
			e.kind = ErrInvalidPosition
			e.Hint = "the GTID set asks for transactions this server never had: the position belongs to another " +
				"server or the server lost its last binlog; check @@gtid_executed and take a new snapshot"
		default:
			e.kind = ErrInvalidPosition
			e.Hint = "the server refused the start position; check the file/position or GTID set against " +
				"SHOW BINARY LOG STATUS (MySQL) / SHOW MASTER STATUS and @@gtid_binlog_pos (MariaDB)"
		}
	}
}

// netErr wraps a connection failure; context errors pass through unchanged.
func netErr(op, addr string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ne *NetError
	if errors.As(err, &ne) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		err = fmt.Errorf("server closed the connection: %w", err)
	}
	return &NetError{Op: op, Addr: addr, Err: err}
}
