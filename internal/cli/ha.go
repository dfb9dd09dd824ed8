package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/internal/leader"
	"github.com/sluicecdc/sluice/internal/offsets"
	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/sink/kafka"
)

// Lead, with --ha, joins the connector's group and blocks until this process leads it; the
// probes say "standby" meanwhile. It returns a context that ends, with a *leader.LostError as
// its cause, when the leadership is lost, and release, which leaves the group (call it after
// everything this process writes has stopped). Without --ha it returns ctx. A second call
// returns the first's context and a release that does nothing.
func (c *Capture) Lead(ctx context.Context) (context.Context, func(), error) {
	if !c.HA.Enabled {
		return ctx, func() {}, nil
	}
	if c.elector != nil {
		return c.leadCtx, func() {}, nil
	}
	if c.health == nil {
		c.health = c.newHealth()
	}
	h := c.health
	h.standby("")
	h.registerLeader()
	rf := c.Offsets.Replication
	if rf == 0 {
		rf = c.Kafka.Replication
	}
	e, err := leader.Join(ctx, c.HA, leader.Options{
		Client: c.Kafka.Client, Group: leader.Group(c.Offsets.Name, c.Envelope.TopicPrefix), Replication: rf,
		Logger: c.Logger(), Standby: h.standby,
	})
	if err != nil {
		return nil, nil, err
	}
	if err := e.Wait(ctx); err != nil {
		e.Close()
		if ctx.Err() != nil {
			return ctx, func() {}, nil // shutdown while standing by: the caller sees ctx end
		}
		return nil, nil, err
	}
	// Before the offset is read: a paused predecessor that resumes now cannot commit records
	// and an offset (--exactly-once) or an offset alone (OffsetWriter) behind that read's back.
	txnID := kafka.TxnID(c.Offsets.Name, c.Envelope.TopicPrefix)
	if err := leader.Fence(ctx, c.Kafka.Client, txnID, c.Logger()); err != nil {
		e.Close()
		if ctx.Err() != nil {
			return ctx, func() {}, nil
		}
		return nil, nil, err
	}
	c.Logger().Info("ha: fenced the previous leader's Kafka transactions", "transactional_id", txnID)
	h.leading()
	lctx, cancel := context.WithCancelCause(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-e.Lost():
			c.Logger().Error("ha: leadership lost; stopping", "err", e.Err())
			cancel(e.Err())
		case <-lctx.Done():
		}
	}()
	c.elector, c.leadCtx = e, lctx
	return lctx, func() {
		cancel(nil)
		<-watched // before Close, whose own loss is no news
		e.Close()
		h.notLeading()
	}, nil
}

// CheckLeading returns nil unless --ha is on and this process does not lead now (its lease ran
// out: a pause, a cut link): then a *leader.LostError. Writers that Kafka cannot fence (the
// MySQL schema history) ask it just before each write.
func (c *Capture) CheckLeading() error {
	if c.elector == nil || c.elector.Leading() {
		return nil
	}
	if err := c.elector.Err(); err != nil {
		return err
	}
	return &leader.LostError{Group: leader.Group(c.Offsets.Name, c.Envelope.TopicPrefix), Reason: "the leadership lease ran out (no heartbeat answered for --ha-session-timeout)"}
}

// lostLead is the error that ended ctx if the leadership was lost, else nil.
func lostLead(ctx context.Context) error {
	var lost *leader.LostError
	if err := context.Cause(ctx); errors.As(err, &lost) {
		return err
	}
	return nil
}

// fencedStore is the offsets store of an at-least-once process with --ha: Load reads the store,
// Save writes through a leader.OffsetWriter, in a transaction under the connector's
// transactional.id, so that a fenced predecessor cannot write an older offset over this one's.
type fencedStore struct {
	offsets.Store
	w     *leader.OffsetWriter
	check func() error // Capture.CheckLeading
}

// Save refuses once the lease ran out (the final save of a pipeline stopped by the loss), then
// writes through the fenced writer (which refuses once a successor fenced it).
func (s fencedStore) Save(ctx context.Context, value []byte) error {
	if err := s.check(); err != nil {
		return fmt.Errorf("offsets not saved: %w", err)
	}
	return s.w.Save(ctx, value)
}

// standby records that this process waits as a standby while leader (if known) leads.
func (h *health) standby(leader string) {
	h.leader.Store(false)
	h.running.Store(false)
	h.mu.Lock()
	defer h.mu.Unlock()
	reason := "--ha: another process of this connector leads; this one takes over when it stops"
	if leader != "" {
		reason += " (leader: " + leader + ")"
	}
	if h.down == nil || h.down.Status != "standby" {
		h.down = &downState{Status: "standby", Since: time.Now()}
	}
	h.down.Reason = reason
}

// leading records that this process leads; the source is opened next.
func (h *health) leading() {
	h.leader.Store(true)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.down = &downState{Status: "starting", Reason: "--ha: this process leads; the source is being opened", Since: time.Now()}
}

func (h *health) notLeading() { h.leader.Store(false) }

// registerLeader adds sluice_ha_leader to /metrics (once).
func (h *health) registerLeader() {
	if h.haReg.Swap(true) {
		return
	}
	_ = h.reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sluice_ha_leader",
		Help: "With --ha: 1 while this process leads its connector, 0 while it waits as a standby.",
	}, func() float64 {
		if h.leader.Load() {
			return 1
		}
		return 0
	}))
}

// leadSink stops an --exactly-once sink from touching its transaction once this process no
// longer leads: a resumed old leader must not commit, abort or re-initialize its producer (a
// broker that lets a stale epoch re-initialize, as kfake does, would fence the successor). The
// sink's own fencing still refuses whatever slips between the check and the call.
type leadSink struct {
	inner interface {
		pipeline.Sink
		pipeline.EventBoundary
	}
	check func() error // Capture.CheckLeading
}

func (s leadSink) Send(ctx context.Context, rec *envelope.Record, token uint64) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.inner.Send(ctx, rec, token)
}

func (s leadSink) EventDone(ctx context.Context, pos capture.Position) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.inner.EventDone(ctx, pos)
}

func (s leadSink) Flush(ctx context.Context) error {
	if err := s.check(); err != nil {
		return err
	}
	return s.inner.Flush(ctx)
}

func (s leadSink) Close() error { return s.inner.Close() }
