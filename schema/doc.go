// Package schema owns the table model every stage shares (tables, columns, source type names,
// nullability, defaults, primary keys) and the mapping from a source column to its Kafka Connect
// schema under Debezium's handling modes. It knows nothing of row values or of any wire format:
// sources build Tables, the envelope renders them.
package schema
