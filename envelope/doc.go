// Package envelope turns capture Events into Debezium records: key and value bytes exactly as Kafka
// Connect's JsonConverter writes them (schemas enabled or not), tombstones, primary-key-change
// triples, transaction, heartbeat and schema-change records, and topic names. It also owns the
// mapping from a source column to its Kafka Connect schema under Debezium's handling modes
// (Options, MapColumn, MapTable) and the JSON writers that schemas and payloads share, so that
// encoding a value stays inside one package. It is pure: no I/O, no reflection, and it appends
// into a reused buffer.
//
// # Byte rules reproduced
//
//   - Schema objects: keys type, fields/items/keys+values, optional, name, version, doc, parameters,
//     default, field (JsonConverter.asJsonSchema). The envelope, key and row schemas of a table
//     version are rendered once and cached per *schema.Table (only the newest version per table ID
//     stays cached); with schemas enabled a record costs its payload plus one copy of the schema.
//   - Strings are escaped as Jackson escapes them: \" \\ \b \t \n \f \r, other control characters
//     as \u00XX with upper-case hex; '/', DEL and non-ASCII are written as UTF-8; invalid UTF-8
//     becomes U+FFFD.
//   - Doubles and floats print as Java's Double.toString/Float.toString (JDK 19+): shortest
//     round-trip digits (at least two significant digits when one would do: 4.9E-324), plain
//     notation with at least one fraction digit for 1e-3 <= |x| < 1e7 ("1.0", "0.001",
//     "1234567.0"), otherwise d.dddE±n ("1.0E7", "1.0E-4"). NaN and ±Infinity are the JSON strings
//     "NaN", "Infinity", "-Infinity" (Jackson's default QUOTE_NON_NUMERIC_NUMBERS).
//   - Decimal: Base64 of the minimal big-endian two's complement of the unscaled value, after
//     rescaling up to the column scale; a value with more fraction digits than the column is an
//     error, as is NaN/Infinity in precise mode (the message names --decimal-handling).
//   - Nulls: an optional field with a schema default is written as the default (Kafka Connect's
//     replace.null.with.default=true) unless Config.KeepNulls; a required field that is null (a
//     PostgreSQL key-only before, a MySQL zero date in a NOT NULL column) gets its default or
//     Debezium's fallback (0, false, "", the epoch, Decimal 0 = "AA==").
//   - Processing time (envelope ts_ms/ts_us/ts_ns) comes from Config.Now, or from a clock that
//     reads the wall clock once a second and the monotonic clock in between.
//
// # Choices where Debezium's behaviour is not pinned down
//
//   - Primary-key change headers (__debezium.newkey/oldkey) carry the key payload without schema,
//     which is what Kafka Connect's default SimpleHeaderConverter prints for keys of numbers and
//     strings; Decimal, bytes and temporal key columns would print differently there.
//   - Change records of a PostgreSQL table without a key carry sluice's own header
//     __sluice.lsn_event (HeaderLSNEvent: the change's count at its LSN), which Debezium does
//     not write; the key and value are Debezium's.
//   - Transaction metadata follows Debezium's TransactionMonitor: BEGIN is written on the Begin
//     event (so transactions without captured changes get BEGIN and an END with event_count 0), or
//     before a data event that carries a TxID when no transaction is open; per-event blocks and
//     END carry the BEGIN id (the transaction context's id; Commit's TxID is not used). END lists
//     data collections in order of first appearance (Debezium: HashMap order).
//   - A delete on a table without a key gets a tombstone with a null key, as Debezium's
//     EventDispatcher emits one.
//   - Logical messages (op m): transactional ones count in the open transaction under the data
//     collection LOGICAL_DECODING_MESSAGE (Debezium's LogicalDecodingMessageId); their ts_ms is
//     the processing time.
package envelope
