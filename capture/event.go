package capture

import "github.com/sluicecdc/sluice/schema"

// Op is the Debezium operation code.
type Op byte

const (
	OpCreate   Op = 'c'
	OpUpdate   Op = 'u'
	OpDelete   Op = 'd'
	OpRead     Op = 'r' // snapshot row
	OpTruncate Op = 't'
	OpMessage  Op = 'm' // PostgreSQL logical decoding message
)

// String returns the one-letter code.
func (o Op) String() string { return string(rune(o)) }

// EventKind tells what an Event carries.
type EventKind uint8

const (
	// Change is a row change (Op c/u/d/r/t) or a logical message (Op m).
	Change EventKind = iota
	// Begin and Commit bound a source transaction. Commit carries the position after it.
	Begin
	Commit
	// Keepalive carries only a position: the source advanced without a captured change, so the
	// offsets can move on (and heartbeats can be emitted) while captured tables are idle.
	Keepalive
	// SchemaChange carries a DDL for the schema-change topic (MySQL) and schema history.
	SchemaChange
	// SnapshotDone marks the end of an initial snapshot; its position is the stream start.
	SnapshotDone
)

// Snapshot is the value of source.snapshot. The zero value means a streaming event (written as
// the schema default "false").
type Snapshot uint8

const (
	NotSnapshot Snapshot = iota
	SnapshotTrue
	SnapshotFirst
	SnapshotFirstInTable // first_in_data_collection
	SnapshotLastInTable  // last_in_data_collection
	SnapshotLast
	SnapshotIncremental
)

var snapshotNames = [...]string{"false", "true", "first", "first_in_data_collection", "last_in_data_collection", "last", "incremental"}

// String returns the Debezium text.
func (s Snapshot) String() string {
	if int(s) < len(snapshotNames) {
		return snapshotNames[s]
	}
	return "false"
}

// Source is the metadata for Debezium's source block. One struct serves every connector; each
// connector fills the fields its block has and the envelope writes only those.
type Source struct {
	// Connector is "mysql", "mariadb" or "postgresql".
	Connector string
	// TsMicros is the change's time in the database (commit time), µs since the epoch. MySQL
	// without GTID commit timestamps has second resolution.
	TsMicros int64
	Snapshot Snapshot
	DB       string
	Schema   string // PostgreSQL
	Table    string

	// MySQL / MariaDB.
	ServerID  uint32
	GTID      string // "" = null
	File      string
	Pos       uint64
	Row       int32
	Thread    int64
	HasThread bool
	Query     string // "" = null

	// PostgreSQL.
	TxID          int64
	HasTxID       bool
	LSN           uint64 // 0 with HasLSN false = null
	HasLSN        bool
	LastCommitLSN uint64 // first element of source.sequence; 0 = null
}

// Event is what a source emits. Table is the definition in force when the row was written;
// Before and After follow its column order. A Change event of a table without a key still
// carries its rows; the envelope then writes a null key.
type Event struct {
	Kind   EventKind
	Op     Op
	Table  *schema.Table
	Before Row
	After  Row
	Source Source
	// TxID identifies the transaction for transaction metadata: a MySQL GTID or
	// "file=…,pos=…", a PostgreSQL "<xid>:<lsn>". Empty outside transactions.
	TxID string
	// Position is where to resume after this event has been delivered; nil for events that do
	// not move the resume point (the pipeline then keeps the previous one).
	Position Position

	// DDL and DDLDatabase carry a SchemaChange's statement and default database.
	DDL         string
	DDLDatabase string
	// Changes lists the table versions a SchemaChange created (Dropped: the table was dropped).
	Changes []TableChange

	// Message is a PostgreSQL logical decoding message (Op m).
	Message *Message
}

// TableChange is one table affected by a DDL.
type TableChange struct {
	Type   string // CREATE, ALTER, DROP
	Table  *schema.Table
	PrevID *schema.TableID // for renames
}

// Message is a logical decoding message (pg_logical_emit_message).
type Message struct {
	Transactional bool
	Prefix        string
	Content       []byte
}

// Position marks a point a source can resume from. Only the source that made it understands it;
// every other stage orders, stores and hands it back. AppendOffset appends the Kafka Connect
// offset value (a JSON object, spec §8) that the source parses again at restart.
type Position interface {
	AppendOffset(dst []byte) []byte
}

// Rereader is implemented by a Position that may not cover its own event: a restart from it
// hands out that event again, and maybe some before it (the rows of a MySQL snapshot batch
// share the progress made before the batch). At-least-once delivery only repeats them; an
// exactly-once sink must not commit a transaction at such a position, or the restart
// duplicates what it committed (pipeline.EventBoundary).
type Rereader interface {
	Rereads() bool
}

// Rereads reports whether p may not cover its own event (Rereader).
func Rereads(p Position) bool {
	r, ok := p.(Rereader)
	return ok && r.Rereads()
}
