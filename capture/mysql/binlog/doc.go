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
// reset by a FORMAT_DESCRIPTION.
//
// Row values (capture.Value kinds) by column type:
//
//	TINYINT…INT (signed or unsigned), YEAR      Int (YEAR 0 stays 0)
//	BIGINT                                      Int; BIGINT UNSIGNED: Uint
//	FLOAT / DOUBLE                              Float32 / Float64
//	DECIMAL(M,D)                                Decimal: unscaled Int (or Big beyond int64), Aux = D
//	DATE                                        Date: days since 1970-01-01; Flag Zero for 0000-00-00
//	TIME(fsp)                                   Time: µs, may be negative or above 24 h; Aux = fsp
//	DATETIME(fsp)                               Timestamp: µs as if UTC; Aux = fsp; Flag Zero
//	TIMESTAMP(fsp)                              TimestampTZ: µs since the epoch; Aux = fsp; Flag Zero
//	BIT(n)                                      Bits: little-endian bytes, Aux = n
//	ENUM / SET with members known               String (SET members joined by ",")
//	ENUM / SET without members                  Int index (0 = the '' error value) / Uint bitmask
//	CHAR, VARCHAR, TEXT                         String (Bytes when the collation is binary, 63)
//	BINARY, VARBINARY, BLOB                     Bytes (trailing zero bytes of BINARY(n) are not sent)
//	JSON (MySQL)                                JSON: compact text ({"a":2}), see AppendJSON
//	JSON (MariaDB, hint LogicalJSON)            JSON: the stored text as is
//	GEOMETRY                                    Geometry: WKB, Aux = SRID, Flag HasSRID (not for SRID 0)
//	VECTOR                                      Vector: Elems of Float32
//	UUID, INET4, INET6 (MariaDB, by hint)       String in the server's text form
//	column missing from a MINIMAL/NOBLOB image  Unavailable
//
// What the TABLE_MAP does not say (signedness, charsets, ENUM/SET members without
// binlog_row_metadata=FULL; everything on MariaDB's default NO_LOG) comes from ColumnHint
// values the caller attaches with TableMap.SetHints.
package binlog
