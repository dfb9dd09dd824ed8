// Package schema is the table model every stage shares: the source Dialect, TableID, Column
// (source type name, length, scale, nullability, default, charset, enum members), Table
// (versioned definitions) and its primary key. It holds no row values and no wire format:
// sources build Tables, the envelope maps them to Kafka Connect schemas and renders them.
package schema
