package kafka

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sluicecdc/sluice/capture"
)

// TestMarkCommitsSoon: offsets are committed soon after the records are marked durable, without
// waiting for the next Ack (the pipeline's --offsets-flush-interval, 1 s) or the client's
// backstop. Only Ack asked for commits before, so the end of a backlog was committed up to a
// second after its last insert, and a restart meanwhile re-read that second's records.
func TestMarkCommitsSoon(t *testing.T) {
	defer func(d time.Duration) { autoCommitEvery = d }(autoCommitEvery)
	autoCommitEvery = time.Hour // only a commit the source asks for can count
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "db.t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	produceTo(t, brokers, "db.t", []int32{0}, 0, 6)
	src := openTest(t, context.Background(), brokers, "soon")
	for round, upto := range []int64{3, 6} { // the second commit comes within commitGap of the first
		var last got
		for range 3 {
			g, ok := next(t, src, 10*time.Second)
			if !ok {
				t.Fatal("no record")
			}
			last = g
		}
		src.Mark([]capture.Position{last.pos})
		deadline := time.Now().Add(time.Second)
		for committed(t, brokers, "soon", "db.t", 1)[0] != upto {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: committed offset %d a second after Mark, want %d", round, committed(t, brokers, "soon", "db.t", 1)[0], upto)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
