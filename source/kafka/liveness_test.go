package kafka

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicecdc/sluice/capture"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
)

// TestHelperMember is not a test: run by TestSourceGroupKillStall as a child process (so that
// it can be killed with SIGKILL), it consumes the group until killed, printing the partition of
// each record it consumed and "joining" when it (re)joins the group.
func TestHelperMember(t *testing.T) {
	brokers := os.Getenv("SLUICE_TEST_HELPER_BROKERS")
	if brokers == "" {
		t.Skip("a helper process of TestSourceGroupKillStall")
	}
	s, err := Open(context.Background(), Config{Client: ikafka.ClientConfig{Brokers: strings.Split(brokers, ",")},
		Topics: `db\..*`, Group: os.Getenv("SLUICE_TEST_HELPER_GROUP"),
		InstanceID: os.Getenv("SLUICE_TEST_HELPER_INSTANCE"), Logger: slog.New(joinHandler{})})
	if err != nil {
		t.Fatal(err)
	}
	for {
		g, ok := next(t, s, time.Hour)
		if ok {
			fmt.Println(g.part)
			s.Mark([]capture.Position{g.pos})
			_ = s.Ack(context.Background(), nil)
		}
	}
}

// joinHandler prints "joining" when franz-go logs that it joins the group.
type joinHandler struct{}

func (joinHandler) Enabled(context.Context, slog.Level) bool { return true }
func (joinHandler) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "joining group") {
		fmt.Println("joining")
	}
	return nil
}
func (h joinHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h joinHandler) WithGroup(string) slog.Handler      { return h }

// consumed is when each partition last had a record consumed, by any member.
type consumed struct {
	mu   sync.Mutex
	last map[int32]time.Time
	gaps map[int32]time.Duration // the longest pause of each partition since reset
	all  time.Time               // the last record of any partition
	gap  time.Duration           // the longest pause of the whole group since reset
}

func (c *consumed) record(p int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if l, ok := c.last[p]; ok {
		c.gaps[p] = max(c.gaps[p], now.Sub(l))
	}
	c.last[p] = now
	if !c.all.IsZero() {
		c.gap = max(c.gap, now.Sub(c.all))
	}
	c.all = now
}

func (c *consumed) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	for p := range c.last {
		c.last[p] = now
	}
	c.gaps = map[int32]time.Duration{}
	c.all, c.gap = now, 0
}

// idle returns the longest time any partition has now gone without a record.
func (c *consumed) idle() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var d time.Duration
	for _, l := range c.last {
		d = max(d, time.Since(l))
	}
	return d
}

// TestSourceGroupKillStall: three members share six partitions while records keep coming; one,
// a child process, is killed with SIGKILL (no LeaveGroup). It measures the longest pause of any
// partition and of the whole group from the kill until every partition is consumed again:
//   - stable: the group is stable at the kill and a fourth member joins a second later, as in
//     the ClickHouse group test;
//   - rejoining: a fourth member joins and the victim is killed as it rejoins for that rebalance;
//   - restarted: the victim is started again at once (a supervisor's restart), as a new member:
//     the group waits for the dead member's session to expire;
//   - restarted-static: the same with --group-instance-id: the restarted process takes its
//     partitions back without a rebalance; asserted to pause them less than 5 s.
//
// Only the last runs by default; SLUICE_TEST_STALLS=1 runs all four and logs the figures.
func TestSourceGroupKillStall(t *testing.T) {
	modes := []string{"restarted-static"}
	if os.Getenv("SLUICE_TEST_STALLS") != "" { // the measurements: a minute
		modes = []string{"stable", "rejoining", "restarted", "restarted-static"}
	}
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			part, grp := groupKillStall(t, mode)
			t.Logf("after a SIGKILL (%s): longest pause of a partition %s, of the whole group %s", mode, part.Round(100*time.Millisecond), grp.Round(100*time.Millisecond))
			if mode == "restarted-static" && part > 5*time.Second {
				t.Errorf("a static member's partitions paused %s over its kill and restart", part.Round(100*time.Millisecond))
			}
		})
	}
}

func groupKillStall(t *testing.T, mode string) (part, grp time.Duration) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(6, "db.t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	group := "stall-" + mode
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := &consumed{last: map[int32]time.Time{}, gaps: map[int32]time.Duration{}}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	member := func() {
		s := openTest(t, ctx, brokers, group)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				rec, p, err := s.Next(ctx)
				if err != nil || rec.Topic == "" {
					continue
				}
				seen.record(p.(*Position).Partition())
				s.Mark([]capture.Position{p})
				_ = s.Ack(ctx, nil)
			}
		}()
	}
	// The producer: a record per partition every 10 ms.
	wg.Add(1)
	go func() {
		defer wg.Done()
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
		if err != nil {
			t.Error(err)
			return
		}
		defer cl.Close()
		for i := 0; ctx.Err() == nil; i++ {
			for p := range int32(6) {
				cl.Produce(ctx, &kgo.Record{Topic: "db.t", Partition: p, Value: fmt.Appendf(nil, "%d", i)}, nil)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	joining := make(chan struct{}, 16)
	startChild := func() *exec.Cmd {
		child := exec.Command(os.Args[0], "-test.run=^TestHelperMember$")
		child.Env = append(os.Environ(), "SLUICE_TEST_HELPER_BROKERS="+strings.Join(brokers, ","), "SLUICE_TEST_HELPER_GROUP="+group)
		if mode == "restarted-static" {
			child.Env = append(child.Env, "SLUICE_TEST_HELPER_INSTANCE=victim")
		}
		child.Stderr = os.Stderr
		out, err := child.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = child.Process.Kill() })
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if p, err := strconv.Atoi(sc.Text()); err == nil {
					seen.record(int32(p))
				} else if sc.Text() == "joining" {
					joining <- struct{}{}
				}
			}
		}()
		return child
	}
	child := startChild()
	member()
	member()
	// Settled: all six partitions consumed, with three members.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the group did not settle")
		}
		if m := membersOf(t, brokers, group); m == 3 {
			seen.reset()
			time.Sleep(2 * time.Second)
			if seen.idle() < time.Second {
				break
			}
		}
	}
	seen.reset()
	if mode == "rejoining" {
		for len(joining) > 0 {
			<-joining
		}
		member()
		<-joining
		time.Sleep(50 * time.Millisecond) // its JoinGroup is on the wire
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	_ = child.Wait()
	switch mode {
	case "stable":
		time.Sleep(time.Second)
		member()
	case "restarted", "restarted-static":
		startChild()
	}
	for time.Since(killed) < 5*time.Second || seen.idle() > 500*time.Millisecond {
		time.Sleep(100 * time.Millisecond)
		if time.Since(killed) > 100*time.Second {
			seen.mu.Lock()
			defer seen.mu.Unlock()
			t.Fatalf("partitions still idle %s after the kill: last consumed %v", time.Since(killed), seen.last)
		}
	}
	seen.mu.Lock()
	defer seen.mu.Unlock()
	grp = seen.gap
	for _, g := range seen.gaps {
		part = max(part, g)
	}
	return part, grp
}

// membersOf returns the number of members of the group ("" or an error: 0).
func membersOf(t *testing.T, brokers []string, group string) int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsgDescribe(group)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil || len(resp.Groups) != 1 || resp.Groups[0].State != "Stable" {
		return 0
	}
	return len(resp.Groups[0].Members)
}

func kmsgDescribe(group string) *kmsg.DescribeGroupsRequest {
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{group}
	return req
}

// TestSourceLinkStats: with the brokers unreachable, Config.Link says so (what /readyz and
// Connected of sluice clickhouse read), and once a broker answers again it is cleared. Before,
// sluice clickhouse answered ready and connected through a 30 s broker outage.
func TestSourceLinkStats(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "db.t"))
	if err != nil {
		t.Fatal(err)
	}
	addr := c.ListenAddrs()[0]
	port, _ := strconv.Atoi(addr[strings.LastIndexByte(addr, ':')+1:])
	link := new(capture.StreamStats)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	src, err := Open(ctx, Config{Client: ikafka.ClientConfig{Brokers: []string{addr}}, Topics: `db\..*`, Group: "g", Link: link})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	go func() { // the pipeline's reader
		for ctx.Err() == nil {
			if _, _, err := src.Next(ctx); err != nil {
				return
			}
		}
	}()
	produceN(t, []string{addr}, "db.t", 0, 10)
	time.Sleep(300 * time.Millisecond)
	if ms := link.DisconnectedUnixMilli.Load(); ms != 0 {
		t.Fatalf("connected, but DisconnectedUnixMilli = %d", ms)
	}
	c.Close()
	for deadline := time.Now().Add(10 * time.Second); link.DisconnectedUnixMilli.Load() == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the broker is gone, but Link.DisconnectedUnixMilli stays 0")
		}
	}
	c2, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.SeedTopics(1, "db.t"))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	for deadline := time.Now().Add(20 * time.Second); link.DisconnectedUnixMilli.Load() != 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the broker is back, but Link.DisconnectedUnixMilli stays set (%v)", link.DisconnectErr.Load())
		}
	}
}
