// Package pgoutput decodes the messages of PostgreSQL's pgoutput logical decoding plugin,
// protocol versions 1 to 4: transaction boundaries, relation and type descriptions, row
// changes with their tuples, truncates, logical decoding messages, the blocks of streamed
// transactions (v2, with the abort's LSN and time in v4) and two-phase commit (v3). The
// message and field names are the protocol documentation's, as in pglogrepl.
//
// It does no I/O and knows nothing of connections: capture/postgres receives XLogData on the
// replication connection and hands each message's bytes to a Decoder. It does not turn tuple
// values into capture values either: a value's text form is PostgreSQL's, the same as in the
// snapshot's query results, and reading it needs the type catalog (capture/postgres).
//
// Decoding never panics: message fields are read through a sticky-error reader (a read past
// the end returns zero and marks the reader bad), checked once per message, and tuple columns
// are bounds-checked as Tuple.Columns reads them. Decode failures are *DecodeError; Columns
// returns ErrTruncated or ErrMalformed, which the caller wraps in a DecodeError.
//
// Ownership: byte slices in a decoded message (tuples, message content) alias the input;
// strings are copies. A Decoder reuses its values: a message it returns is valid until the
// next Decode.
package pgoutput
