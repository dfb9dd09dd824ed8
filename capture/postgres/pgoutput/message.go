package pgoutput

import (
	"fmt"
	"strconv"
)

// MessageType is the first byte of a pgoutput message.
type MessageType uint8

// Message types of protocol versions 1 to 4 (PostgreSQL documentation, "Logical Replication
// Message Formats").
const (
	MessageTypeBegin            MessageType = 'B'
	MessageTypeCommit           MessageType = 'C'
	MessageTypeOrigin           MessageType = 'O'
	MessageTypeRelation         MessageType = 'R'
	MessageTypeType             MessageType = 'Y'
	MessageTypeInsert           MessageType = 'I'
	MessageTypeUpdate           MessageType = 'U'
	MessageTypeDelete           MessageType = 'D'
	MessageTypeTruncate         MessageType = 'T'
	MessageTypeMessage          MessageType = 'M' // logical decoding message (pg_logical_emit_message)
	MessageTypeStreamStart      MessageType = 'S' // v2+
	MessageTypeStreamStop       MessageType = 'E' // v2+
	MessageTypeStreamCommit     MessageType = 'c' // v2+
	MessageTypeStreamAbort      MessageType = 'A' // v2+; with abort LSN and time in v4 (streaming parallel)
	MessageTypeBeginPrepare     MessageType = 'b' // v3+
	MessageTypePrepare          MessageType = 'P' // v3+
	MessageTypeCommitPrepared   MessageType = 'K' // v3+
	MessageTypeRollbackPrepared MessageType = 'r' // v3+
	MessageTypeStreamPrepare    MessageType = 'p' // v3+
)

// String returns the message's name in the protocol documentation, upper case: "STREAM
// COMMIT", or the byte in hex for an unknown type.
func (t MessageType) String() string {
	switch t {
	case MessageTypeBegin:
		return "BEGIN"
	case MessageTypeCommit:
		return "COMMIT"
	case MessageTypeOrigin:
		return "ORIGIN"
	case MessageTypeRelation:
		return "RELATION"
	case MessageTypeType:
		return "TYPE"
	case MessageTypeInsert:
		return "INSERT"
	case MessageTypeUpdate:
		return "UPDATE"
	case MessageTypeDelete:
		return "DELETE"
	case MessageTypeTruncate:
		return "TRUNCATE"
	case MessageTypeMessage:
		return "MESSAGE"
	case MessageTypeStreamStart:
		return "STREAM START"
	case MessageTypeStreamStop:
		return "STREAM STOP"
	case MessageTypeStreamCommit:
		return "STREAM COMMIT"
	case MessageTypeStreamAbort:
		return "STREAM ABORT"
	case MessageTypeBeginPrepare:
		return "BEGIN PREPARE"
	case MessageTypePrepare:
		return "PREPARE"
	case MessageTypeCommitPrepared:
		return "COMMIT PREPARED"
	case MessageTypeRollbackPrepared:
		return "ROLLBACK PREPARED"
	case MessageTypeStreamPrepare:
		return "STREAM PREPARE"
	}
	return "0x" + strconv.FormatUint(uint64(t), 16)
}

// Message is one decoded pgoutput message: a pointer to one of the *Message types of this
// package. Switch on its concrete type.
type Message interface {
	Type() MessageType
}

// decodable is a message that reads its fields (after the type byte) from r. Truncation is
// left to r's sticky error; decode returns only what r cannot see (a bad marker or count).
// It sets every field, so a Decoder can reuse the value.
type decodable interface {
	Message
	decode(r *reader) error
}

// BeginMessage starts a transaction.
type BeginMessage struct {
	FinalLSN   LSN // the commit's LSN
	CommitTime Time
	Xid        uint32
}

func (*BeginMessage) Type() MessageType { return MessageTypeBegin }

func (m *BeginMessage) decode(r *reader) error {
	*m = BeginMessage{FinalLSN: r.lsn(), CommitTime: r.time(), Xid: r.u32()}
	return nil
}

// CommitMessage ends a transaction.
type CommitMessage struct {
	Flags             uint8 // unused (0)
	CommitLSN         LSN
	TransactionEndLSN LSN // the end of the commit record: where a restart resumes
	CommitTime        Time
}

func (*CommitMessage) Type() MessageType { return MessageTypeCommit }

func (m *CommitMessage) decode(r *reader) error {
	*m = CommitMessage{Flags: r.u8(), CommitLSN: r.lsn(), TransactionEndLSN: r.lsn(), CommitTime: r.time()}
	return nil
}

// OriginMessage names the replication origin of the transaction it is sent in.
type OriginMessage struct {
	CommitLSN LSN // of the commit on the origin server
	Name      string
}

func (*OriginMessage) Type() MessageType { return MessageTypeOrigin }

func (m *OriginMessage) decode(r *reader) error {
	*m = OriginMessage{CommitLSN: r.lsn(), Name: r.str()}
	return nil
}

// RelationMessageColumn is one column of a RelationMessage.
type RelationMessageColumn struct {
	Flags        uint8 // 1: part of the replica identity (the key)
	Name         string
	DataType     uint32 // type OID
	TypeModifier int32  // atttypmod; -1 when none
}

// RelationMessage describes a table before the first change to it in a session and after
// each change of its definition. The changes that follow name it by RelationID.
type RelationMessage struct {
	RelationID      uint32
	Namespace       string // schema; empty for pg_catalog
	RelationName    string
	ReplicaIdentity uint8 // 'd' default, 'n' nothing, 'f' full, 'i' index
	Columns         []RelationMessageColumn
}

func (*RelationMessage) Type() MessageType { return MessageTypeRelation }

// maxColumns is MaxTupleAttributeNumber: no table has more.
const maxColumns = 1664

func (m *RelationMessage) decode(r *reader) error {
	*m = RelationMessage{RelationID: r.u32(), Namespace: r.str(), RelationName: r.str(), ReplicaIdentity: r.u8()}
	n := int(r.u16())
	if r.bad {
		return nil
	}
	if n > maxColumns {
		return fmt.Errorf("%w: relation %d has %d columns", ErrMalformed, m.RelationID, n)
	}
	if n*10 > len(r.b) { // a column takes at least 10 bytes: don't allocate for what is not there
		r.fail()
		return nil
	}
	m.Columns = make([]RelationMessageColumn, n)
	for i := range m.Columns {
		m.Columns[i] = RelationMessageColumn{Flags: r.u8(), Name: r.str(), DataType: r.u32(), TypeModifier: int32(r.u32())}
	}
	return nil
}

// TypeMessage describes a data type a later RelationMessage uses (for types outside
// pg_catalog).
type TypeMessage struct {
	DataType  uint32 // OID
	Namespace string // empty for pg_catalog
	Name      string
}

func (*TypeMessage) Type() MessageType { return MessageTypeType }

func (m *TypeMessage) decode(r *reader) error {
	*m = TypeMessage{DataType: r.u32(), Namespace: r.str(), Name: r.str()}
	return nil
}

// Markers before a tuple in Insert, Update and Delete messages.
const (
	TupleTypeKey = 'K' // the old row's replica identity columns (the others are NULL)
	TupleTypeOld = 'O' // the whole old row (REPLICA IDENTITY FULL)
	TupleTypeNew = 'N' // the new row
)

// InsertMessage is one inserted row.
type InsertMessage struct {
	RelationID uint32
	Tuple      Tuple
}

func (*InsertMessage) Type() MessageType { return MessageTypeInsert }

func (m *InsertMessage) decode(r *reader) error {
	*m = InsertMessage{RelationID: r.u32()}
	if k := r.u8(); k != TupleTypeNew && !r.bad {
		return fmt.Errorf("%w: INSERT without a new tuple (marker %q)", ErrMalformed, k)
	}
	m.Tuple = r.rest()
	return nil
}

// UpdateMessage is one updated row. OldTupleType is 0 when the old row is not sent (the
// key did not change and the replica identity is not FULL), else TupleTypeKey or TupleTypeOld.
type UpdateMessage struct {
	RelationID   uint32
	OldTupleType uint8
	OldTuple     Tuple
	NewTuple     Tuple
}

func (*UpdateMessage) Type() MessageType { return MessageTypeUpdate }

func (m *UpdateMessage) decode(r *reader) error {
	*m = UpdateMessage{RelationID: r.u32()}
	k := r.u8()
	if k == TupleTypeKey || k == TupleTypeOld {
		m.OldTupleType = k
		old, err := r.tuple()
		if err != nil {
			return err
		}
		m.OldTuple = old
		k = r.u8()
	}
	if k != TupleTypeNew && !r.bad {
		return fmt.Errorf("%w: UPDATE without a new tuple (marker %q)", ErrMalformed, k)
	}
	m.NewTuple = r.rest()
	return nil
}

// DeleteMessage is one deleted row: its key (TupleTypeKey) or, under REPLICA IDENTITY FULL,
// all of it (TupleTypeOld).
type DeleteMessage struct {
	RelationID   uint32
	OldTupleType uint8
	OldTuple     Tuple
}

func (*DeleteMessage) Type() MessageType { return MessageTypeDelete }

func (m *DeleteMessage) decode(r *reader) error {
	*m = DeleteMessage{RelationID: r.u32(), OldTupleType: r.u8()}
	if m.OldTupleType != TupleTypeKey && m.OldTupleType != TupleTypeOld && !r.bad {
		return fmt.Errorf("%w: DELETE without an old tuple (marker %q)", ErrMalformed, m.OldTupleType)
	}
	m.OldTuple = r.rest()
	return nil
}

// Options of a TruncateMessage (bits).
const (
	TruncateCascade         = 1
	TruncateRestartIdentity = 2
)

// TruncateMessage is one TRUNCATE of one or more tables.
type TruncateMessage struct {
	Option      uint8 // TruncateCascade | TruncateRestartIdentity
	RelationIDs []uint32
}

func (*TruncateMessage) Type() MessageType { return MessageTypeTruncate }

func (m *TruncateMessage) decode(r *reader) error {
	n := int(r.u32())
	*m = TruncateMessage{Option: r.u8()}
	if r.bad || n > len(r.b)/4 {
		r.fail()
		return nil
	}
	m.RelationIDs = make([]uint32, n)
	for i := range m.RelationIDs {
		m.RelationIDs[i] = r.u32()
	}
	return nil
}

// LogicalDecodingMessage is a message written with pg_logical_emit_message (sent only with
// the plugin option messages 'true').
type LogicalDecodingMessage struct {
	Transactional bool
	LSN           LSN
	Prefix        string
	Content       []byte // aliases the message
}

func (*LogicalDecodingMessage) Type() MessageType { return MessageTypeMessage }

func (m *LogicalDecodingMessage) decode(r *reader) error {
	flags := r.u8()
	*m = LogicalDecodingMessage{Transactional: flags&1 == 1, LSN: r.lsn(), Prefix: r.str()}
	m.Content = r.bytes(int(r.u32()))
	return nil
}
