package leader

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicecdc/sluice/internal/kafka"
)

func cluster(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func join(t *testing.T, c *kfake.Cluster, id string, session time.Duration) *Elector {
	t.Helper()
	e, err := Join(t.Context(), Config{Enabled: true, SessionTimeout: session, Topic: "ha-test"},
		Options{Client: kafka.ClientConfig{Brokers: c.ListenAddrs(), ClientID: id}, Group: Group("n", "p")})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func waitLead(t *testing.T, e *Elector, within time.Duration) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), within)
	defer cancel()
	start := time.Now()
	if err := e.Wait(ctx); err != nil {
		t.Fatalf("wait: %v", err)
	}
	return time.Since(start)
}

// TestLeaderCloseHandsOver: one of two processes leads, the other waits; when the leader
// closes (leaves the group) the standby leads within a heartbeat or two.
func TestLeaderCloseHandsOver(t *testing.T) {
	c := cluster(t)
	a := join(t, c, "a", time.Second)
	waitLead(t, a, 10*time.Second)
	b := join(t, c, "b", time.Second)
	defer b.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	if err := b.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("standby led while the leader lives: %v", err)
	}
	cancel()
	if !a.Leading() || b.Leading() {
		t.Fatalf("leading: a %v, b %v", a.Leading(), b.Leading())
	}
	a.Close()
	if d := waitLead(t, b, 5*time.Second); d > 3*time.Second {
		t.Errorf("takeover after a clean leave took %s", d)
	}
}

// TestLeaderUnreachableStepsDown: the leader's group requests stop reaching the coordinator
// (a network cut, a paused process as the broker sees it). It stops leading by its lease,
// about a session timeout after its last answered heartbeat, without waiting for its client;
// and only after that the standby leads.
func TestLeaderUnreachableStepsDown(t *testing.T) {
	// "refused": the connection is closed at each request (kgo notices); "hung": requests get
	// no answer (kgo would wait a request timeout; the lease does not).
	for _, hang := range []bool{false, true} {
		name := "refused"
		if hang {
			name = "hung"
		}
		t.Run(name, func(t *testing.T) { testUnreachable(t, hang) })
	}
}

func testUnreachable(t *testing.T, hang bool) {
	c := cluster(t)
	const session = time.Second
	a := join(t, c, "a", session)
	defer a.Close()
	waitLead(t, a, 10*time.Second)
	b := join(t, c, "b", session)
	defer b.Close()
	time.Sleep(500 * time.Millisecond) // b has joined

	var cut atomic.Bool
	release := make(chan struct{})
	defer close(release)
	dropA := func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		var member string
		switch r := req.(type) {
		case *kmsg.HeartbeatRequest:
			member = r.MemberID
		case *kmsg.JoinGroupRequest:
			member = r.MemberID
		case *kmsg.SyncGroupRequest:
			member = r.MemberID
		}
		if cut.Load() && strings.HasPrefix(member, "a-") {
			if hang {
				c.SleepControl(func() { <-release })
			}
			return nil, errors.New("cut"), true
		}
		return nil, nil, false
	}
	for _, k := range []kmsg.Key{kmsg.Heartbeat, kmsg.JoinGroup, kmsg.SyncGroup} {
		c.ControlKey(int16(k), dropA)
	}
	cut.Store(true)
	start := time.Now()
	var aLost, bLed time.Duration
	select {
	case <-a.Lost():
		aLost = time.Since(start)
	case <-time.After(10 * session):
		t.Fatal("the cut-off leader still leads")
	}
	var lost *LostError
	if !errors.As(a.Err(), &lost) || lost.Retryable() {
		t.Fatalf("err = %v, want a not retryable *LostError", a.Err())
	}
	if a.Leading() {
		t.Fatal("Leading after Lost")
	}
	waitLead(t, b, 10*session)
	bLed = time.Since(start)
	t.Logf("leader stepped down after %s, standby led after %s (session %s)", aLost, bLed, session)
	if aLost > session+time.Second {
		t.Errorf("the leader stepped down %s after the cut, want ≤ session + a heartbeat", aLost)
	}
	if bLed <= aLost {
		t.Errorf("the standby led (%s) before the old leader stepped down (%s)", bLed, aLost)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"off", Config{}, ""},
		{"ok", Config{Enabled: true, SessionTimeout: 10 * time.Second, Topic: "t"}, ""},
		{"short", Config{Enabled: true, SessionTimeout: time.Millisecond, Topic: "t"}, "--ha-session-timeout"},
		{"topic", Config{Enabled: true, SessionTimeout: 10 * time.Second}, "--ha-topic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err == nil) != (tc.want == "") || err != nil && !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want %q", err, tc.want)
			}
		})
	}
}
