package pgoutput

import (
	"bytes"
	"encoding/binary"
)

// Parse decodes one message sent outside a streamed block into new values. Byte slices in
// the message (tuples, content) alias data; strings are copies.
//
// Parse checks every fixed field and the extent of an UPDATE's old tuple; the columns of a
// tuple are checked as a TupleReader reads them. Bytes after the last field are ignored, as
// a later protocol version may add fields. Errors are *DecodeError.
func Parse(data []byte) (Message, error) { return decode(nil, new(reader), 0, data, false) }

// ParseInStream is Parse for a message inside a Stream Start/Stop block, where Relation,
// Type, change and logical decoding messages carry a transaction id (the V2 types).
func ParseInStream(data []byte) (Message, error) { return decode(nil, new(reader), 0, data, true) }

// Decoder decodes messages as Parse does, reusing one value per frequent message type
// (Begin, Commit, Insert, Update, Delete): a message it returns is valid until the next
// Decode. Relation, Truncate and the rarer messages are new each time. The zero Decoder is
// ready to use; it is not safe for concurrent use.
type Decoder struct {
	r       reader
	begin   BeginMessage
	commit  CommitMessage
	insert  InsertMessage
	update  UpdateMessage
	delete  DeleteMessage
	insert2 InsertMessageV2
	update2 UpdateMessageV2
	delete2 DeleteMessageV2
}

// Decode decodes one message. lsn is the WAL start of the XLogData that carried it, for the
// DecodeError; inStream says the message comes from inside a Stream Start/Stop block.
func (d *Decoder) Decode(lsn LSN, data []byte, inStream bool) (Message, error) {
	var m decodable
	if len(data) > 0 {
		m = d.reused(MessageType(data[0]), inStream)
	}
	return decode(m, &d.r, lsn, data, inStream)
}

func (d *Decoder) reused(t MessageType, inStream bool) decodable {
	switch t {
	case MessageTypeBegin:
		return &d.begin
	case MessageTypeCommit:
		return &d.commit
	case MessageTypeInsert:
		if inStream {
			return &d.insert2
		}
		return &d.insert
	case MessageTypeUpdate:
		if inStream {
			return &d.update2
		}
		return &d.update
	case MessageTypeDelete:
		if inStream {
			return &d.delete2
		}
		return &d.delete
	}
	return nil
}

// decode decodes data into m (a new value of data's type when nil) reading with r, which the
// caller provides so that it need not escape per message.
func decode(m decodable, r *reader, lsn LSN, data []byte, inStream bool) (Message, error) {
	if len(data) == 0 {
		return nil, &DecodeError{LSN: lsn, Err: ErrTruncated}
	}
	t := MessageType(data[0])
	if m == nil {
		if m = newMessage(t, len(data), inStream); m == nil {
			return nil, &DecodeError{LSN: lsn, Type: t, Data: bytes.Clone(data), Err: ErrUnknownMessage}
		}
	}
	*r = reader{b: data[1:]}
	err := m.decode(r)
	if err == nil && r.bad {
		err = ErrTruncated
	}
	if err != nil {
		return nil, &DecodeError{LSN: lsn, Type: t, Data: bytes.Clone(data), Err: err}
	}
	return m, nil
}

// newMessage returns a new message of type t for a message of size bytes, or nil for an
// unknown type.
func newMessage(t MessageType, size int, inStream bool) decodable {
	switch t {
	case MessageTypeBegin:
		return new(BeginMessage)
	case MessageTypeCommit:
		return new(CommitMessage)
	case MessageTypeOrigin:
		return new(OriginMessage)
	case MessageTypeStreamStart:
		return new(StreamStartMessageV2)
	case MessageTypeStreamStop:
		return new(StreamStopMessageV2)
	case MessageTypeStreamCommit:
		return new(StreamCommitMessageV2)
	case MessageTypeStreamAbort:
		if size > streamAbortV2Size {
			return new(StreamAbortMessageV4)
		}
		return new(StreamAbortMessageV2)
	case MessageTypeBeginPrepare:
		return new(BeginPrepareMessageV3)
	case MessageTypePrepare:
		return new(PrepareMessageV3)
	case MessageTypeCommitPrepared:
		return new(CommitPreparedMessageV3)
	case MessageTypeRollbackPrepared:
		return new(RollbackPreparedMessageV3)
	case MessageTypeStreamPrepare:
		return new(StreamPrepareMessageV3)
	}
	if inStream {
		switch t {
		case MessageTypeRelation:
			return new(RelationMessageV2)
		case MessageTypeType:
			return new(TypeMessageV2)
		case MessageTypeInsert:
			return new(InsertMessageV2)
		case MessageTypeUpdate:
			return new(UpdateMessageV2)
		case MessageTypeDelete:
			return new(DeleteMessageV2)
		case MessageTypeTruncate:
			return new(TruncateMessageV2)
		case MessageTypeMessage:
			return new(LogicalDecodingMessageV2)
		}
		return nil
	}
	switch t {
	case MessageTypeRelation:
		return new(RelationMessage)
	case MessageTypeType:
		return new(TypeMessage)
	case MessageTypeInsert:
		return new(InsertMessage)
	case MessageTypeUpdate:
		return new(UpdateMessage)
	case MessageTypeDelete:
		return new(DeleteMessage)
	case MessageTypeTruncate:
		return new(TruncateMessage)
	case MessageTypeMessage:
		return new(LogicalDecodingMessage)
	}
	return nil
}

// StreamedXid returns the transaction id that a message inside a Stream Start/Stop block
// starts with (Relation, Type, change and logical decoding messages), without decoding the
// rest; 0 for other messages and for one too short to hold it.
func StreamedXid(data []byte) uint32 {
	if len(data) < 5 {
		return 0
	}
	switch MessageType(data[0]) {
	case MessageTypeRelation, MessageTypeType, MessageTypeInsert, MessageTypeUpdate, MessageTypeDelete, MessageTypeTruncate, MessageTypeMessage:
		return binary.BigEndian.Uint32(data[1:5])
	}
	return 0
}
