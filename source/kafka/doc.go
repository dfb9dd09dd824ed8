// Package kafka is the source of the `sluice clickhouse` pipeline: it reads Debezium change
// records that are already encoded (Kafka Connect JSON, with or without schemas) from Kafka
// topics through a sarama consumer group and hands them to internal/pipeline as a
// RecordSource. It does not parse or write the records; the ClickHouse sink does.
//
// Positions: a record's position is its message's topic, partition and offset. The pipeline's
// acker releases positions in the order Next returned them, once the sink made every record up
// to them durable; Mark then marks each partition's newest released offset+1 in the consumer
// group, in the partition's current claim, and Ack (every pipeline FlushInterval) commits the marks (sarama's one-second
// auto-commit is the backstop). Because the acker releases in order across partitions, a
// released position means every record Next returned before it is durable, whichever session
// it came from; so marking it in the partition's current session never skips a record.
//
// Assignment: round-robin over the partitions of all matching topics (range as a fallback for
// groups that still hold older members), so one-partition topics spread over the processes.
//
// Rebalances: when a session ends, Cleanup stops Next from returning that session's buffered
// records (the partition's next owner reads them again from the committed offset) and waits,
// up to 30 s, until every record Next already returned is marked, so that sarama's final
// commit of the session covers them. Marks for a partition this process no longer owns are
// dropped; a mark that arrives late only costs duplicates. Duplicates are possible (at-least-once);
// gaps are not.
//
// Goroutines: Open starts the group loop (Consume, re-joined when the set of matching topics
// changes), which runs one goroutine per claimed partition (sarama's ConsumeClaim) feeding one
// channel of message batches that Next reads, and a progress logger. Close ends them all.
//
// The package imports no sink; it must not.
package kafka
