package pgoutput

import (
	"errors"
	"fmt"
)

var (
	// ErrTruncated: a message or tuple is shorter than its format requires.
	ErrTruncated = errors.New("pgoutput: truncated message")
	// ErrMalformed: a field holds a value the format does not allow (a tuple data kind, a
	// tuple marker, a column count).
	ErrMalformed = errors.New("pgoutput: malformed message")
	// ErrUnknownMessage: the message type byte is none of protocol versions 1 to 4.
	ErrUnknownMessage = errors.New("pgoutput: unknown message type")
)

// DecodeError is a message that failed to decode, with what an operator needs to find it
// again: its WAL position, its type and its bytes.
type DecodeError struct {
	LSN  LSN // the WAL start of the XLogData that carried the message; 0 when not known
	Type MessageType
	Data []byte // the raw message (a copy), type byte included
	Err  error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("decode pgoutput %s message at %s (%d bytes): %v", e.Type, e.LSN, len(e.Data), e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }
