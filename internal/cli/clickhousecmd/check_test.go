package clickhousecmd

import (
	"bytes"
	"context"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicecdc/sluice/internal/cli"
)

// runCheck runs `sluice clickhouse check args` and returns its exit code and table.
func runCheck(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	old := cli.Stdout
	cli.Stdout = &out
	t.Cleanup(func() { cli.Stdout = old })
	code := cli.RunMain(context.Background(), []cli.Command{Command()}, append([]string{"clickhouse", "check"}, args...), &out, &errb)
	return code, out.String() + errb.String()
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestCheck: `sluice clickhouse check` prints the Kafka input's and ClickHouse's checks as a
// table and exits 1 when one failed (here ClickHouse, which does not listen); a warning (no
// matching topic) passes.
func TestCheck(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "shop.app.orders", "shop.app.items", "other.x"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := strings.Join(c.ListenAddrs(), ",")
	chAddr := closedAddr(t)

	code, out := runCheck(t, "--kafka-brokers", brokers, "--topics", `shop\..*`, "--group", "g1", "--clickhouse-addr", chAddr)
	if code != 1 {
		t.Errorf("exit %d, want 1 (ClickHouse is down):\n%s", code, out)
	}
	for _, want := range []string{"CHECK", "STATUS", "FIX",
		"kafka brokers", "answer",
		"kafka topics", "2 match --topics: shop.app.items, shop.app.orders",
		"kafka group", "group g1 has no committed offsets",
		"clickhouse ", "FAIL", chAddr, "check --clickhouse-addr",
		"some checks failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("check output lacks %q:\n%s", want, out)
		}
	}

	// A group that committed: a run resumes.
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	meta, err := kmsg.NewPtrMetadataRequest().RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Group, commit.Generation = "g2", -1
	ct := kmsg.NewOffsetCommitRequestTopic()
	ct.Topic = "shop.app.orders"
	for _, mt := range meta.Topics {
		if mt.Topic != nil && *mt.Topic == ct.Topic {
			ct.TopicID = mt.TopicID // (OffsetCommit v10 names topics by id)
		}
	}
	cp := kmsg.NewOffsetCommitRequestTopicPartition()
	cp.Offset = 0
	ct.Partitions = append(ct.Partitions, cp)
	commit.Topics = append(commit.Topics, ct)
	if resp, err := commit.RequestWith(context.Background(), cl); err != nil || resp.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("commit: %v %+v", err, resp)
	}
	_, out = runCheck(t, "--kafka-brokers", brokers, "--topics", `shop\..*`, "--group", "g2", "--clickhouse-addr", chAddr)
	if !strings.Contains(out, "group g2 has committed offsets on 1 partitions of 1 topics: a run resumes from them") {
		t.Errorf("committed group:\n%s", out)
	}

	code, out = runCheck(t, "--kafka-brokers", closedAddr(t), "--topics", `nothing\..*`, "--clickhouse-addr", chAddr)
	if code != 1 || !strings.Contains(out, "kafka brokers") || !strings.Contains(out, "--kafka-security-protocol") {
		t.Errorf("brokers down: exit %d:\n%s", code, out)
	}

	if addr := os.Getenv("SLUICE_TEST_CLICKHOUSE_ADDR"); addr != "" { // the passing case, with a real server
		code, out = runCheck(t, "--kafka-brokers", brokers, "--topics", `none\..*`, "--clickhouse-addr", addr, "--clickhouse-database", "sluice_check_absent")
		if code != 0 || !strings.Contains(out, "warn") || !strings.Contains(out, "does not exist yet") || !strings.Contains(out, "all checks passed") {
			t.Errorf("all reachable: exit %d:\n%s", code, out)
		}
	}
}
