package kafka

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ReadCommittedToEnd calls fn for every committed record of one partition, from the oldest
// offset still stored up to the partition's last stable offset as it was when the read
// started: records of aborted transactions are skipped, and a transaction still open then
// (a producer paused mid-transaction) is not waited for. It is how a compacted topic that
// transactional producers write (--exactly-once) is loaded; the last value of a key wins.
// fn may keep the record; an error from fn stops the read and is returned as is. ctx cancels
// the read.
//
// ReadToEnd reads to the high watermark instead, which never arrives when the last record is
// a transaction marker (consumers do not see markers) and which returns aborted records.
// Here the markers are fetched (and not passed to fn), so the read knows it reached the end.
//
// A transient failure (a broker restart, a lost connection) is retried as Retry does, and the
// read resumes after the last record fn saw, so fn sees each record once.
func (c *ClientConfig) ReadCommittedToEnd(ctx context.Context, log *slog.Logger, topic string, partition int32, fn func(r *kgo.Record) error) error {
	where := fmt.Sprintf("%s/%d", topic, partition)
	opts, err := c.Kgo("sluice-read", log)
	if err != nil {
		return err
	}
	meta, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("read %s: %w", where, err)
	}
	defer meta.Close()
	var next, end int64
	err = c.Retry(ctx, log, "offsets of "+where, func() error {
		if next, err = listOffset(ctx, meta, topic, partition, -2); err != nil {
			return fmt.Errorf("oldest offset of %s: %w", where, err)
		}
		if end, err = listOffset(ctx, meta, topic, partition, -1); err != nil {
			return fmt.Errorf("last stable offset of %s: %w", where, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = c.Retry(ctx, log, "read "+where, func() error {
		return readCommitted(ctx, opts, topic, partition, &next, end, fn)
	})
	if ferr, ok := err.(fnError); ok {
		return ferr.err
	}
	return err
}

// listOffset asks the partition's leader for its oldest offset (ts -2) or its last stable
// offset (ts -1; ListOffsets read_committed): every offset below the latter is decided
// (committed, aborted or not transactional).
func listOffset(ctx context.Context, cl *kgo.Client, topic string, partition int32, ts int64) (int64, error) {
	req := kmsg.NewPtrListOffsetsRequest()
	req.IsolationLevel = 1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition = partition
	rp.Timestamp = ts
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0, err
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.Partition != partition {
				continue
			}
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return 0, err
			}
			return p.Offset, nil
		}
	}
	return 0, fmt.Errorf("no offset for %s/%d in the ListOffsets response", topic, partition)
}

// readCommitted reads [*next, end) read_committed and advances *next past every record it
// sees, markers included (fn gets only data records).
func readCommitted(ctx context.Context, opts []kgo.Opt, topic string, partition int32, next *int64, end int64, fn func(r *kgo.Record) error) error {
	if *next >= end {
		return nil
	}
	start := kgo.NewOffset().At(*next)
	cl, err := kgo.NewClient(append(opts,
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {partition: start}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
	)...)
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	defer cl.Close()
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return err
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			if ferr == nil {
				ferr = err
			}
		})
		if ferr != nil {
			return fmt.Errorf("read %s/%d at %d: %w", topic, partition, *next, ferr)
		}
		for _, r := range fs.Records() {
			if r.Offset < *next {
				continue
			}
			if !r.Attrs.IsControl() {
				if err := fn(r); err != nil {
					return fnError{err}
				}
			}
			*next = r.Offset + 1
			if *next >= end {
				return nil
			}
		}
	}
}

// OldestOffset returns the oldest offset topic/partition still stores, asking with cl and
// retrying as Retry does.
func (c *ClientConfig) OldestOffset(ctx context.Context, log *slog.Logger, cl *kgo.Client, topic string, partition int32) (int64, error) {
	var off int64
	err := c.Retry(ctx, log, fmt.Sprintf("oldest offset of %s/%d", topic, partition), func() error {
		var err error
		off, err = listOffset(ctx, cl, topic, partition, -2)
		return err
	})
	return off, err
}
