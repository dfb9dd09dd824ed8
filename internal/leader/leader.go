package leader

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/properties"
)

// Config is the high-availability setting of a capture command.
type Config struct {
	// Enabled makes the process wait until it leads its connector before it reads the offsets
	// or opens the source (--ha, sluice.ha.enabled). Needs --kafka-brokers.
	Enabled bool
	// SessionTimeout is the group session timeout (--ha-session-timeout; default
	// DefaultSessionTimeout): a standby takes over about this long after the leader's last
	// heartbeat. The broker bounds it by group.min.session.timeout.ms (6 s by default) and
	// group.max.session.timeout.ms.
	SessionTimeout time.Duration
	// Topic is the coordination topic (--ha-topic; default DefaultTopic), created with one
	// partition when missing. Nothing is written to it; connectors may share it, each has its
	// own group (Group).
	Topic string
}

// DefaultSessionTimeout is Config.SessionTimeout's default: a takeover within 15 s.
const DefaultSessionTimeout = 10 * time.Second

// DefaultTopic is Config.Topic's default.
const DefaultTopic = "sluice-ha"

// RegisterFlags registers --ha, --ha-session-timeout and --ha-topic and returns their property
// names.
func (c *Config) RegisterFlags(fs *flag.FlagSet) properties.Names {
	fs.BoolVar(&c.Enabled, "ha", false, "high availability: start the same connector (same --name, --topic-prefix, --offsets-topic) on several hosts; one leads, the others wait as standbys and one takes over when it dies (a Kafka consumer group; docs/kafka.md)")
	fs.DurationVar(&c.SessionTimeout, "ha-session-timeout", DefaultSessionTimeout, "with --ha, the group session timeout: a standby takes over about this long after the leader stopped answering; within the broker's group.min/max.session.timeout.ms")
	fs.StringVar(&c.Topic, "ha-topic", DefaultTopic, "with --ha, the one-partition coordination topic (created if missing, never written); connectors may share it")
	return properties.Names{
		"sluice.ha.enabled":            "ha",
		"sluice.ha.session.timeout.ms": "ha-session-timeout",
		"sluice.ha.topic":              "ha-topic",
	}
}

// Validate reports bad settings.
func (c *Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	var errs []error
	if c.SessionTimeout < time.Second {
		errs = append(errs, fmt.Errorf("--ha-session-timeout %s: want at least 1s (brokers refuse less than group.min.session.timeout.ms, 6s by default)", c.SessionTimeout))
	}
	if strings.TrimSpace(c.Topic) == "" {
		errs = append(errs, errors.New("--ha-topic: want a topic name"))
	}
	return errors.Join(errs...)
}

// Group is the consumer group of a connector's processes: one per name and topic prefix, as
// the exactly-once transactional.id.
func Group(name, topicPrefix string) string {
	return "sluice-ha-" + name + "-" + topicPrefix
}

// Options are what Join needs besides Config.
type Options struct {
	Client      kafka.ClientConfig
	Group       string // Group(name, prefix)
	Replication int16  // of the coordination topic when created; 0: the broker's default
	Logger      *slog.Logger
	// Standby, if set, is called while this process waits, with a description of the member
	// that leads (or "" when none is known yet).
	Standby func(leader string)
}

// LostError says that this process no longer leads. Not retryable: the process must stop
// writing and exit; restarted, it joins as a standby.
type LostError struct {
	Group  string
	Reason string
}

func (e *LostError) Error() string {
	return fmt.Sprintf("ha: no longer the leader of this connector (group %s): %s; stopped writing, exiting (restart this process to rejoin as a standby)", e.Group, e.Reason)
}
func (e *LostError) Retryable() bool { return false }

// Elector is one process's membership in its connector's group. Wait blocks until it leads;
// Lost is closed when it stops leading. Close leaves the group (a standby takes over at once).
type Elector struct {
	cfg     Config
	opt     Options
	log     *slog.Logger
	cl      *kgo.Client
	session time.Duration
	hb      time.Duration

	mu      sync.Mutex
	leading bool
	led     chan struct{} // closed at the first assignment of partition 0
	lost    chan struct{} // closed when leadership is lost (or never gained: a fatal error)
	err     error

	lease atomic.Int64 // unix ns until which the broker keeps our session at the least
	since time.Time    // when Join started

	stop chan struct{}
	done chan struct{}
}

// Join creates the coordination topic if missing and joins the connector's group. It returns
// at once; Wait waits for the leadership.
func Join(ctx context.Context, cfg Config, opt Options) (*Elector, error) {
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = DefaultSessionTimeout
	}
	if cfg.Topic == "" {
		cfg.Topic = DefaultTopic
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("ha_group", opt.Group)
	// Heartbeats a tenth of the session apart: a lost heartbeat or two does not cost the
	// session, and the lease below is renewed often.
	hb := min(max(cfg.SessionTimeout/10, 100*time.Millisecond), 3*time.Second)
	e := &Elector{cfg: cfg, opt: opt, log: log, session: cfg.SessionTimeout, hb: hb,
		led: make(chan struct{}), lost: make(chan struct{}), since: time.Now(),
		stop: make(chan struct{}), done: make(chan struct{})}
	opts, err := opt.Client.Kgo("sluice", log)
	if err != nil {
		return nil, fmt.Errorf("ha: %w", err)
	}
	host, _ := os.Hostname()
	id := opt.Client.ClientID
	if id == "" {
		id = "sluice"
	}
	// The member ids begin with the client id: a standby's log names the leader's host and pid.
	opts = append(opts, kgo.ClientID(fmt.Sprintf("%s-%s-%d", id, host, os.Getpid())))
	if err := e.createTopic(ctx, opts); err != nil {
		return nil, err
	}
	opts = append(opts,
		kgo.ConsumerGroup(opt.Group),
		kgo.ConsumeTopics(cfg.Topic),
		kgo.SessionTimeout(cfg.SessionTimeout),
		kgo.HeartbeatInterval(hb),
		// A rebalance waits for the members at most a session: a leader paused inside one
		// does not hold the takeover longer than a dead one.
		kgo.RebalanceTimeout(cfg.SessionTimeout),
		// Cooperative: a standby joining does not take partition 0 from the leader even for
		// a moment.
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(e.assigned),
		kgo.OnPartitionsRevoked(e.revoked),
		kgo.OnPartitionsLost(e.lostCB),
		kgo.WithHooks(e),
	)
	if e.cl, err = kgo.NewClient(opts...); err != nil {
		return nil, fmt.Errorf("ha: %w", err)
	}
	go e.watch()
	return e, nil
}

// createTopic creates the one-partition coordination topic unless it exists.
func (e *Elector) createTopic(ctx context.Context, opts []kgo.Opt) error {
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("ha: %w", err)
	}
	defer cl.Close()
	rf := e.opt.Replication
	if rf == 0 {
		rf = -1
	}
	req := kmsg.NewPtrCreateTopicsRequest()
	t := kmsg.NewCreateTopicsRequestTopic()
	t.Topic, t.NumPartitions, t.ReplicationFactor = e.cfg.Topic, 1, rf
	req.Topics = append(req.Topics, t)
	req.TimeoutMillis = int32(e.opt.Client.WithDefaults().RequestTimeout / time.Millisecond)
	err = e.opt.Client.Retry(ctx, e.log, "create topic "+e.cfg.Topic, func() error {
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		for _, t := range resp.Topics {
			if err := kerr.ErrorForCode(t.ErrorCode); err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("ha: create the coordination topic %s (--ha-topic): %w", e.cfg.Topic, err)
	}
	return nil
}

func holds0(m map[string][]int32, topic string) bool {
	return slices.Contains(m[topic], 0)
}

func (e *Elector) assigned(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	if !holds0(m, e.cfg.Topic) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil || e.leading {
		return // a process that lost does not lead again: it exits
	}
	e.leading = true
	close(e.led)
	e.log.Info("ha: this process leads the connector", "waited", time.Since(e.since).Round(time.Millisecond))
}

func (e *Elector) revoked(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	if holds0(m, e.cfg.Topic) {
		e.lose("the group gave the connector to another member (partition 0 revoked in a rebalance)")
	}
}

func (e *Elector) lostCB(_ context.Context, _ *kgo.Client, m map[string][]int32) {
	e.mu.Lock()
	leading := e.leading
	e.mu.Unlock()
	if leading || holds0(m, e.cfg.Topic) {
		e.lose("the group session was lost (expired or fenced by the coordinator)")
	}
}

// lose ends the leadership (or the wait for it) with reason; the first reason counts.
func (e *Elector) lose(reason string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return
	}
	e.err = &LostError{Group: e.opt.Group, Reason: reason}
	e.leading = false
	close(e.lost)
}

// fail ends the wait with err (a setting or permission the broker refuses).
func (e *Elector) fail(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return
	}
	e.err = err
	close(e.lost)
}

// OnBrokerE2E renews the lease after each answered group request (kgo.HookBrokerE2E): the
// broker received it after we began writing it, so it keeps our session at least a session
// timeout from then; the lease ends earlier.
func (e *Elector) OnBrokerE2E(_ kgo.BrokerMetadata, key int16, e2e kgo.BrokerE2E) {
	switch kmsg.Key(key) {
	case kmsg.Heartbeat, kmsg.JoinGroup, kmsg.SyncGroup:
	default:
		return
	}
	if e2e.Err() != nil {
		return
	}
	// Two heartbeat intervals short of the broker's bound: the watch ticks in between, and
	// the standby is told of the expiry only at its next heartbeat anyway.
	until := time.Now().Add(-e2e.DurationE2E() - e2e.WriteWait).Add(e.session - 2*e.hb).UnixNano()
	for {
		old := e.lease.Load()
		if until <= old || e.lease.CompareAndSwap(old, until) {
			return
		}
	}
}

// OnGroupManageError (kgo.HookGroupManageError) ends the wait on errors no retry mends, and
// logs the others.
func (e *Elector) OnGroupManageError(err error) {
	switch {
	case errors.Is(err, kerr.InvalidSessionTimeout):
		e.fail(fmt.Errorf("ha: the broker refuses --ha-session-timeout %s: it must lie within the broker's group.min.session.timeout.ms and group.max.session.timeout.ms: %w", e.session, err))
	case errors.Is(err, kerr.GroupAuthorizationFailed), errors.Is(err, kerr.TopicAuthorizationFailed):
		e.fail(fmt.Errorf("ha: not authorized to join group %s on topic %s: allow READ on both for this principal: %w", e.opt.Group, e.cfg.Topic, err))
	default:
		e.log.Warn("ha: group error; retrying", "err", err)
	}
}

// watch ends the leadership when the lease runs out before the client noticed anything (a
// broker unreachable for a session, a process that was paused).
func (e *Elector) watch() {
	defer close(e.done)
	t := time.NewTicker(min(e.hb/4, 250*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
		if e.isLeading() && !e.leaseValid() {
			e.lose(fmt.Sprintf("no heartbeat answered by the group coordinator for %s (--ha-session-timeout): a standby may lead now", e.session))
		}
	}
}

func (e *Elector) isLeading() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leading
}

func (e *Elector) leaseValid() bool {
	return time.Now().UnixNano() < e.lease.Load()
}

// Leading reports whether this process leads now: it holds partition 0 and its lease runs.
// Writers that cannot be fenced by Kafka ask it just before they write.
func (e *Elector) Leading() bool {
	return e.isLeading() && e.leaseValid()
}

// Lost is closed when this process stops leading (or Wait failed for good); Err says why.
func (e *Elector) Lost() <-chan struct{} { return e.lost }

// Err is why Lost was closed (a *LostError, or a setting the broker refused), else nil.
func (e *Elector) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// Wait blocks until this process leads, logging meanwhile that it is a standby and which
// member leads. It returns ctx's error when ctx ends first.
func (e *Elector) Wait(ctx context.Context) error {
	select {
	case <-e.led:
		return nil
	default:
	}
	e.log.Info("ha: joining the connector's group; this process is a standby until it leads", "topic", e.cfg.Topic, "session_timeout", e.session)
	var last string
	next := time.NewTimer(2 * e.hb)
	defer next.Stop()
	for {
		select {
		case <-e.led:
			return nil
		case <-e.lost:
			return e.Err()
		case <-ctx.Done():
			return ctx.Err()
		case <-next.C:
		}
		who := e.leader(ctx)
		if who != last {
			if who == "" {
				e.log.Info("ha: standby; no member leads yet")
			} else {
				e.log.Info("ha: standby; another process leads this connector", "leader", who)
			}
			last = who
		}
		if e.opt.Standby != nil {
			e.opt.Standby(who)
		}
		next.Reset(5 * time.Second)
	}
}

// leader describes the member that holds partition 0, or "".
func (e *Elector) leader(ctx context.Context) string {
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Groups = []string{e.opt.Group}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := req.RequestWith(rctx, e.cl)
	if err != nil || len(resp.Groups) == 0 {
		return ""
	}
	for _, m := range resp.Groups[0].Members {
		var a kmsg.ConsumerMemberAssignment
		if err := a.ReadFrom(m.MemberAssignment); err != nil {
			continue
		}
		for _, t := range a.Topics {
			if t.Topic == e.cfg.Topic && slices.Contains(t.Partitions, 0) {
				return fmt.Sprintf("member %s (client %s, host %s)", m.MemberID, m.ClientID, strings.TrimPrefix(m.ClientHost, "/"))
			}
		}
	}
	return ""
}

// Close leaves the group, so that a standby takes over at once. Call it only after everything
// this process writes has stopped.
func (e *Elector) Close() {
	close(e.stop)
	<-e.done
	e.lose("closed")
	e.cl.Close()
}
