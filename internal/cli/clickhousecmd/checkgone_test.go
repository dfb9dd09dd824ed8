package clickhousecmd

import (
	"context"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestCheckOffsetGone: a group whose committed offset is no longer in the log (the topic was
// created again, so its log ends before the offset) fails the check, since a run stops there
// (source/kafka), and the line says what to do.
func TestCheckOffsetGone(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "shop.app.orders"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var os kadm.Offsets
	os.Add(kadm.Offset{Topic: "shop.app.orders", Partition: 0, At: 50, LeaderEpoch: -1})
	if _, err := kadm.NewClient(cl).CommitOffsets(context.Background(), "g3", os); err != nil {
		t.Fatal(err)
	}
	code, out := runCheck(t, "--kafka-brokers", strings.Join(c.ListenAddrs(), ","), "--topics", `shop\..*`, "--group", "g3", "--clickhouse-addr", closedAddr(t))
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, w := range []string{"shop.app.orders:0 at 50, log ends at 0", "--reset-offsets"} {
		if !strings.Contains(out, w) {
			t.Errorf("check output lacks %q:\n%s", w, out)
		}
	}
}
