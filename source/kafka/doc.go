// Package kafka is the source of the `sluice clickhouse` pipeline: it reads Debezium change
// records that are already encoded (Kafka Connect JSON, with or without schemas) from Kafka
// topics through a franz-go (kgo) consumer group and hands them to internal/pipeline as a
// RecordSource. It does not parse or write the records; the ClickHouse sink does.
//
// Positions: a record's position is its topic, partition and offset. The pipeline's acker
// releases positions in the order Next returned them, once the sink made every record up to
// them durable; Mark then marks each partition's newest released offset+1 for commit (kgo's
// AutoCommitMarks: only marked offsets are ever committed, never what was merely polled), and
// Ack (every pipeline FlushInterval) commits the marks (a one-second commit of the marks is the
// backstop). Because the acker releases in order across partitions, a released position means
// every record Next returned before it is durable, whichever assignment it came from; so
// marking it never skips a record.
//
// Assignment: round-robin over the partitions of all matching topics (range as a fallback for
// groups that still hold older members), so one-partition topics spread over the processes.
// With Config.InstanceID the process is a static member (KIP-345): restarted within the session
// timeout, it gets its partitions back without a rebalance.
//
// Rebalances (eager): polls block rebalances (kgo's BlockRebalanceOnPoll) until the poll loop
// has handed out what it polled, or until a rebalance waits for a loop blocked on a slow Next;
// the loop never drops polled records (the revoke's end of their claims does). The revoke callback then stops Next from returning the revoked
// partitions' buffered records (their next owner reads them again from the committed offset),
// waits, up to 30 s, until every record Next already returned is marked, and commits. Marks for
// a partition this process no longer owns are dropped; a mark that arrives late only costs
// duplicates. Duplicates are possible (at-least-once); gaps are not.
//
// Memory: fetched batches are decompressed into pooled buffers, and Next recycles each record
// at its next call (the RecordSource contract), so the buffers are reused instead of allocated
// per batch.
//
// Goroutines: Open starts the poll loop, which hands one batch per fetched partition over one
// channel to Next; the committer (Ack only asks it to commit, so that a commit waiting out a
// rebalance does not hold up the marks the revoke waits for); and a progress logger. kgo runs
// its own fetch and group goroutines and calls the assign/revoke/lost callbacks from its group
// goroutine. Close ends them all.
//
// The package imports no sink; it must not.
package kafka
