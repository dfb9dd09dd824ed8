// Package binlog decodes MySQL and MariaDB binary log events from bytes. It owns the event
// header, checksums, FORMAT_DESCRIPTION, the control events (ROTATE, QUERY, XID, GTID, …),
// TABLE_MAP with its optional metadata, the rows events and every column value, MySQL binary
// JSON, packed decimals, compressed transaction payloads, and the GTID set types of both
// flavours.
//
// It does no I/O: the replication client (capture/mysql/replication) reads raw events off the
// connection and hands them to a Decoder; the connector (capture/mysql) turns decoded rows into
// capture.Event values. Keeping the decoders pure keeps them fuzzable.
//
// Decoding never panics: every read goes through a sticky-error reader (reads past the end
// return zero and mark the reader bad) and the error is checked once per structure.
//
// Ownership: a Decoder reuses its buffers. Every slice reachable from a decoded Event (strings
// as []byte, row values, JSON text, table metadata slices of the event itself) is valid only
// until the next call to Decoder.Decode; copy what must live longer (capture.Row.Clone).
// TableMap values live until a later TABLE_MAP reuses the same table id or the decoder is
// reset by a ROTATE/FORMAT_DESCRIPTION.
package binlog
