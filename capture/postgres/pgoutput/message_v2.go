package pgoutput

// Protocol version 2 streams large in-progress transactions: their changes come in blocks
// between StreamStart and StreamStop, before the transaction ends, and every Relation, Type,
// change and logical decoding message inside a block starts with the (sub)transaction id. The
// V2 types below are those messages with that id; Decode returns them for messages in a block.

// RelationMessageV2 is a RelationMessage inside a streamed block.
type RelationMessageV2 struct {
	Xid uint32
	RelationMessage
}

func (m *RelationMessageV2) decode(r *reader) error {
	m.Xid = r.u32()
	return m.RelationMessage.decode(r)
}

// TypeMessageV2 is a TypeMessage inside a streamed block.
type TypeMessageV2 struct {
	Xid uint32
	TypeMessage
}

func (m *TypeMessageV2) decode(r *reader) error {
	m.Xid = r.u32()
	return m.TypeMessage.decode(r)
}

// InsertMessageV2 is an InsertMessage inside a streamed block.
type InsertMessageV2 struct {
	Xid uint32
	InsertMessage
}

func (m *InsertMessageV2) decode(r *reader) error {
	m.Xid = r.u32()
	return m.InsertMessage.decode(r)
}

// UpdateMessageV2 is an UpdateMessage inside a streamed block.
type UpdateMessageV2 struct {
	Xid uint32
	UpdateMessage
}

func (m *UpdateMessageV2) decode(r *reader) error {
	m.Xid = r.u32()
	return m.UpdateMessage.decode(r)
}

// DeleteMessageV2 is a DeleteMessage inside a streamed block.
type DeleteMessageV2 struct {
	Xid uint32
	DeleteMessage
}

func (m *DeleteMessageV2) decode(r *reader) error {
	m.Xid = r.u32()
	return m.DeleteMessage.decode(r)
}

// TruncateMessageV2 is a TruncateMessage inside a streamed block.
type TruncateMessageV2 struct {
	Xid uint32
	TruncateMessage
}

func (m *TruncateMessageV2) decode(r *reader) error {
	m.Xid = r.u32()
	return m.TruncateMessage.decode(r)
}

// LogicalDecodingMessageV2 is a LogicalDecodingMessage inside a streamed block.
type LogicalDecodingMessageV2 struct {
	Xid uint32
	LogicalDecodingMessage
}

func (m *LogicalDecodingMessageV2) decode(r *reader) error {
	m.Xid = r.u32()
	return m.LogicalDecodingMessage.decode(r)
}

// StreamStartMessageV2 opens a block of a streamed transaction.
type StreamStartMessageV2 struct {
	Xid          uint32
	FirstSegment uint8 // 1 for the transaction's first block
}

func (*StreamStartMessageV2) Type() MessageType { return MessageTypeStreamStart }

func (m *StreamStartMessageV2) decode(r *reader) error {
	*m = StreamStartMessageV2{Xid: r.u32(), FirstSegment: r.u8()}
	return nil
}

// StreamStopMessageV2 closes a block of a streamed transaction.
type StreamStopMessageV2 struct{}

func (*StreamStopMessageV2) Type() MessageType { return MessageTypeStreamStop }

func (*StreamStopMessageV2) decode(*reader) error { return nil }

// StreamCommitMessageV2 commits a streamed transaction: its blocks are to be applied now.
type StreamCommitMessageV2 struct {
	Xid               uint32
	Flags             uint8 // unused (0)
	CommitLSN         LSN
	TransactionEndLSN LSN
	CommitTime        Time
}

func (*StreamCommitMessageV2) Type() MessageType { return MessageTypeStreamCommit }

func (m *StreamCommitMessageV2) decode(r *reader) error {
	*m = StreamCommitMessageV2{Xid: r.u32(), Flags: r.u8(), CommitLSN: r.lsn(), TransactionEndLSN: r.lsn(), CommitTime: r.time()}
	return nil
}

// StreamAbortMessageV2 aborts a streamed transaction (SubXid == Xid) or one of its
// subtransactions.
type StreamAbortMessageV2 struct {
	Xid    uint32
	SubXid uint32
}

func (*StreamAbortMessageV2) Type() MessageType { return MessageTypeStreamAbort }

func (m *StreamAbortMessageV2) decode(r *reader) error {
	*m = StreamAbortMessageV2{Xid: r.u32(), SubXid: r.u32()}
	return nil
}

// StreamAbortMessageV4 is a StreamAbortMessageV2 with the abort's LSN and time, which
// version 4 sends when the subscriber asked for streaming 'parallel'.
type StreamAbortMessageV4 struct {
	StreamAbortMessageV2
	AbortLSN  LSN
	AbortTime Time
}

// streamAbortV2Size is the length of a Stream Abort without the abort's LSN and time: a
// longer one has them.
const streamAbortV2Size = 1 + 4 + 4

func (m *StreamAbortMessageV4) decode(r *reader) error {
	_ = m.StreamAbortMessageV2.decode(r)
	m.AbortLSN, m.AbortTime = r.lsn(), r.time()
	return nil
}
