package binlog

import (
	"errors"
	"fmt"
)

var (
	// ErrTruncated: an event or field is shorter than its format requires.
	ErrTruncated = errors.New("binlog: truncated or malformed event")
	// ErrChecksum: the CRC32 at the end of an event does not match its bytes.
	ErrChecksum = errors.New("binlog: event checksum mismatch")
	// ErrNoFormat: an event that needs the FORMAT_DESCRIPTION came before it.
	ErrNoFormat = errors.New("binlog: no FORMAT_DESCRIPTION_EVENT seen yet")
	// ErrUnknownTable: a rows event names a table id with no preceding TABLE_MAP.
	ErrUnknownTable = errors.New("binlog: rows event for a table id without TABLE_MAP")
	// ErrUnsupported: a valid event or column type this package cannot decode.
	ErrUnsupported = errors.New("binlog: unsupported")
	// ErrDecompress: a compressed event or transaction payload did not decompress.
	ErrDecompress = errors.New("binlog: decompression failed")
)

// EventError is a decode failure with what an operator needs to find the event again: the
// header (type, log position, server id) and the raw event bytes.
type EventError struct {
	Header Header
	Err    error
	Data   []byte // the raw event (copied), header included
}

func (e *EventError) Error() string {
	return fmt.Sprintf("decode %s (server_id=%d, end_log_pos=%d, size=%d): %v",
		e.Header.Type, e.Header.ServerID, e.Header.LogPos, e.Header.EventSize, e.Err)
}

func (e *EventError) Unwrap() error { return e.Err }
