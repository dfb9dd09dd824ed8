package binlog

import (
	"bytes"
	"encoding/hex"
)

// Rotate is ROTATE_EVENT: the next event is at Position in file NextFile.
type Rotate struct {
	Position uint64
	NextFile []byte
}

// Heartbeat is HEARTBEAT_LOG_EVENT (and _V2): the source is alive; File/Position name where it
// is (for v1 the position is the header's LogPos).
type Heartbeat struct {
	File     []byte
	Position uint64
}

// XID is XID_EVENT: the commit of a transactional-engine transaction.
type XID struct {
	XID uint64
}

// RowsQuery is ROWS_QUERY_LOG_EVENT (binlog_rows_query_log_events) or MariaDB's
// ANNOTATE_ROWS_EVENT (binlog_annotate_row_events): the statement text of the rows events that
// follow.
type RowsQuery struct {
	Query []byte
}

// XAPrepare is XA_PREPARE_LOG_EVENT (MySQL): it ends the event group of an XA transaction's
// XA PREPARE (or of XA COMMIT … ONE PHASE when OnePhase is set) the way XID ends an ordinary
// transaction; the later XA COMMIT/ROLLBACK comes as its own QUERY group.
type XAPrepare struct {
	OnePhase bool
	FormatID uint32
	GTRID    []byte
	BQual    []byte
}

// BinlogCheckpoint is MariaDB's BINLOG_CHECKPOINT_EVENT.
type BinlogCheckpoint struct {
	File []byte
}

// Query is QUERY_EVENT (and MariaDB's QUERY_COMPRESSED_EVENT, decompressed): a statement
// logged as text: BEGIN, COMMIT of non-transactional work, DDL, or statement-based DML.
type Query struct {
	ThreadID      uint32
	ExecutionTime uint32 // seconds
	ErrorCode     uint16
	Schema        []byte // default database ("" = none)
	Query         []byte

	// Status variables; Has* tells which were present.
	Flags2                       uint32
	HasFlags2                    bool
	SQLMode                      uint64
	HasSQLMode                   bool
	Catalog                      []byte
	AutoIncIncrement             uint16
	AutoIncOffset                uint16
	HasCharset                   bool
	CharsetClient                uint16 // character_set_client collation id
	CollationConn                uint16 // collation_connection
	CollationServer              uint16 // collation_server
	TimeZone                     []byte
	LCTimeNames                  uint16
	CollationDatabase            uint16
	TableMapForUpdate            uint64
	InvokerUser                  []byte
	InvokerHost                  []byte
	UpdatedDBs                   [][]byte // nil when not sent or more than 16 (the server then sends none)
	Microseconds                 int32    // -1 when absent (Q_MICROSECONDS / MariaDB Q_HRNOW)
	ExplicitDefaultsForTimestamp int8     // -1 when absent
	DDLXID                       uint64   // Q_DDL_LOGGED_WITH_XID, 0 when absent
	DefaultCollationUTF8MB4      uint16
	SQLRequirePrimaryKey         int8   // -1 when absent
	DefaultTableEncryption       int8   // -1 when absent
	MariaXID                     uint64 // MariaDB Q_XID, 0 when absent
}

// GTID is GTID_LOG_EVENT or ANONYMOUS_GTID_LOG_EVENT (MySQL): the start of a transaction.
type GTID struct {
	Anonymous bool
	Flags     uint8 // bit 0: may have implicit commit
	SID       UUID
	// Tag is the GTID tag of GTID_TAGGED_LOG_EVENT (MySQL 8.4+), lowercase; empty otherwise.
	Tag []byte
	GNO int64
	// Logical clock (multi-threaded replica dependency tracking).
	LastCommitted  int64
	SequenceNumber int64
	// Commit timestamps in µs since the epoch (MySQL 8.0.1+); 0 when absent. Original is the
	// commit on the originating server, Immediate on the server that wrote this binlog.
	ImmediateCommitTimestamp uint64
	OriginalCommitTimestamp  uint64
	// TransactionLength is the size of the whole transaction in the binlog (8.0.2+), 0 if absent.
	TransactionLength uint64
	// Server versions (8.0.14+), 0 when absent.
	ImmediateServerVersion uint32
	OriginalServerVersion  uint32
	CommitGroupTicket      uint64
}

// String returns "uuid:gno" ("uuid:tag:gno" when tagged) for a GTID and "ANONYMOUS" for an
// anonymous one.
func (g *GTID) String() string {
	if g.Anonymous {
		return "ANONYMOUS"
	}
	b := g.SID.Append(make([]byte, 0, 64))
	if len(g.Tag) > 0 {
		b = append(append(b, ':'), g.Tag...)
	}
	b = append(b, ':')
	return string(appendInt(b, g.GNO))
}

// PreviousGTIDs is PREVIOUS_GTIDS_LOG_EVENT: the GTID set executed before this binlog file.
type PreviousGTIDs struct {
	Set MySQLGTIDSet
}

// MariaDB GTID event flags (flags2).
const (
	MariaGTIDStandalone    uint8 = 1
	MariaGTIDGroupCommitID uint8 = 2
	MariaGTIDTransactional uint8 = 4
	MariaGTIDAllowParallel uint8 = 8
	MariaGTIDWaited        uint8 = 16
	MariaGTIDDDL           uint8 = 32
	MariaGTIDPreparedXA    uint8 = 64
	MariaGTIDCompletedXA   uint8 = 128
)

// MariaGTID is MariaDB's GTID_EVENT: the start of an event group. The server id of the GTID is
// the header's.
type MariaGTID struct {
	GTID       MariaDBGTID
	Flags      uint8
	CommitID   uint64 // with MariaGTIDGroupCommitID
	XAFormatID uint32
	XID        []byte // gtrid+bqual for XA
	GTRIDLen   uint8
	BQualLen   uint8
	Flags2     uint8 // extra flags (10.5+) when present
}

// Standalone reports whether the group has no BEGIN/COMMIT (a DDL or non-transactional
// statement that stands alone).
func (g *MariaGTID) Standalone() bool { return g.Flags&MariaGTIDStandalone != 0 }

// MariaGTIDList is MariaDB's GTID_LIST_EVENT: the binlog state at the start of a file.
type MariaGTIDList struct {
	Flags uint8
	List  MariaDBGTIDSet
}

func itoa(v int64) string {
	var b [20]byte
	return string(appendInt(b[:0], v))
}

func appendInt(dst []byte, v int64) []byte {
	if v < 0 {
		dst = append(dst, '-')
		return appendUint(dst, uint64(-v))
	}
	return appendUint(dst, uint64(v))
}

func appendUint(dst []byte, v uint64) []byte {
	var b [20]byte
	i := len(b)
	for v >= 10 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	i--
	b[i] = byte('0' + v)
	return append(dst, b[i:]...)
}

// UUID is a 16-byte server UUID (source_id of a MySQL GTID).
type UUID [16]byte

// String formats u as 8-4-4-4-12 lowercase hex.
func (u UUID) String() string { return string(u.Append(nil)) }

// Append appends the text form of u.
func (u UUID) Append(dst []byte) []byte {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return append(dst, b[:]...)
}

// ParseUUID parses the 8-4-4-4-12 form (hyphens optional, either case).
func ParseUUID(s string) (UUID, error) {
	var u UUID
	var h [32]byte
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '-' {
			continue
		}
		if n == 32 {
			return u, errBadUUID(s)
		}
		h[n] = s[i]
		n++
	}
	if n != 32 {
		return u, errBadUUID(s)
	}
	if _, err := hex.Decode(u[:], h[:]); err != nil {
		return u, errBadUUID(s)
	}
	return u, nil
}

func trimNUL(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}
