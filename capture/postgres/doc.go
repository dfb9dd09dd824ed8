// Package postgres captures row changes from PostgreSQL through a logical replication slot with
// the pgoutput plugin and turns them into capture.Events.
//
// It owns the slot and the publication (created when missing), the replication receive loop
// (one goroutine that owns the replication connection, answers keepalives at once and sends
// standby status updates whose Flush LSN is only what Ack reported durable), the assembly of
// transactions from pgoutput messages (decoded by capture/postgres/pgoutput; protocol 1, and 2
// with streaming of large in-progress transactions, which are spooled to disk until their
// commit so that neither the server nor sluice holds them in memory), the decoding of column
// values from their text form, the initial snapshot read inside the slot's exported snapshot,
// the preflight checks, and the resume position (the offset JSON of the Debezium PostgreSQL
// connector).
//
// Values come from pgoutput's text format. The Value kinds per PostgreSQL type are:
//
//	bool, bit(1)                     Bool
//	int2, int4, int8, oid            Int
//	float4 / float8                  Float32 / Float64 (NaN and ±Infinity as IEEE values)
//	numeric                          Decimal, Aux = scale as printed; Flag NaN/PosInfinity/NegInfinity
//	money                            Decimal, Aux = 2 (digits after the point as printed)
//	bytea                            Bytes
//	bit(n>1), varbit                 Bits (little-endian bytes of the bit string read as a binary number; Aux = length)
//	date                             Date (Flag ±Infinity)
//	time                             Time (Aux = precision, 6 when undeclared)
//	timetz                           TimeTZ (Int = local µs of day, Aux = UTC offset in seconds)
//	timestamp / timestamptz          Timestamp / TimestampTZ (Aux = precision; Flag ±Infinity)
//	interval                         Interval (Int = µs with days as 24 h, Aux = months)
//	json, jsonb                      JSON (text as the server prints it)
//	hstore                           JSON (converted to a JSON object of strings, as Debezium's json mode)
//	point                            Geometry (WKB point, little-endian; no SRID)
//	geometry, geography (PostGIS)    Geometry (the EWKB as sent; Aux = SRID with Flag HasSRID when it has one)
//	vector / halfvec (pgvector)      Vector of Float64 / Float32
//	arrays                           Array of the element kind (more dimensions flattened, row-major)
//	unchanged TOAST value            Unavailable
//	everything else                  String (text, varchar, bpchar, uuid, xml, inet, cidr, macaddr,
//	                                 ranges, enum labels, ltree, tsvector, sparsevec, …)
//
// Columns of domain types are described and decoded as their base type; enum columns carry their
// labels in schema.Column.Enum (pg_enum order) and Type = the enum's type name.
package postgres
