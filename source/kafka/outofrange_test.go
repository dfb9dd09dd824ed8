package kafka

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestSourceCommittedOffsetGone: the group's committed offset is no longer in the log: the
// records after it were deleted (retention ran while sluice clickhouse was stopped), or the
// topic was deleted and created again (its log ends before the offset). Their rows are not in
// ClickHouse and the topic cannot bring them back, so the source stops with an error that
// names the partition, the offset and the fix. franz-go's default reset resumed at the log
// start (or end) with an info line: a silent gap.
func TestSourceCommittedOffsetGone(t *testing.T) {
	for _, tc := range []struct {
		name      string
		committed int64
		deleteTo  int64 // DeleteRecords up to this offset (the new log start), 0: none
	}{
		{"retention", 3, 6},
		{"recreated", 50, 0}, // the log ends at 10
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "db.t"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			brokers := c.ListenAddrs()
			produceTo(t, brokers, "db.t", []int32{0}, 0, 10)
			adm := testkit.KafkaAdmin(t, brokers)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var os kadm.Offsets
			os.Add(kadm.Offset{Topic: "db.t", Partition: 0, At: tc.committed, LeaderEpoch: -1})
			if _, err := adm.CommitOffsets(ctx, "gone", os); err != nil {
				t.Fatal(err)
			}
			if tc.deleteTo > 0 {
				var del kadm.Offsets
				del.Add(kadm.Offset{Topic: "db.t", Partition: 0, At: tc.deleteTo})
				res, err := adm.DeleteRecords(ctx, del)
				if err == nil {
					err = res.Error()
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			src := openTest(t, context.Background(), brokers, "gone")
			for {
				rec, p, err := src.Next(ctx)
				if err != nil {
					if errors.Is(err, context.DeadlineExceeded) {
						t.Fatal("Next neither failed nor returned a record")
					}
					for _, w := range []string{"db.t", "partition 0", "reset-offsets"} {
						if !strings.Contains(err.Error(), w) {
							t.Errorf("error lacks %q: %v", w, err)
						}
					}
					t.Logf("stopped: %v", err)
					return
				}
				if rec.Topic != "" {
					t.Fatalf("Next returned offset %d after committed offset %d, which is gone from the log", p.(*Position).Offset(), tc.committed)
				}
			}
		})
	}
}
