package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
)

// Config configures a Source. Zero values mean the defaults beside each field.
type Config struct {
	// Client holds the brokers (required), client id (default "sluice-clickhouse") and version.
	Client ikafka.ClientConfig
	Topics string // regular expression the whole topic name must match; required
	Group  string // consumer group id; defaults to "sluice-clickhouse"
	// Initial is where a group without committed offsets starts: "oldest" (default) or "newest".
	Initial          string
	TopicRefresh     time.Duration // how often the topic list is re-read for new matches; defaults to 30s
	ProgressInterval time.Duration // how often the consumer lag is logged; defaults to 10s
	Logger           *slog.Logger  // defaults to discard
}

// Validate reports every bad field.
func (c *Config) Validate() error {
	var errs []error
	if err := c.Client.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Topics == "" {
		errs = append(errs, errors.New("kafka: no topics given (--topics REGEX, e.g. 'dbserver1\\.inventory\\..*')"))
	} else if _, err := regexp.Compile(c.Topics); err != nil {
		errs = append(errs, fmt.Errorf("kafka: --topics %q: %w", c.Topics, err))
	}
	switch c.Initial {
	case "", "oldest", "newest":
	default:
		errs = append(errs, fmt.Errorf("kafka: initial offset %q: want oldest or newest", c.Initial))
	}
	return errors.Join(errs...)
}

// cleanupWait bounds how long the end of a consumer group session waits for the records
// already handed to the pipeline to be marked (the sink inserts at least every flush interval).
const cleanupWait = 30 * time.Second

// batchMax is the most messages of one partition handed to Next in one channel send: a batch
// costs one handoff between goroutines instead of one per message.
const batchMax = 64

// Source reads records from Kafka topics through a consumer group. It implements
// pipeline.RecordSource and pipeline.Marker. Next is called from one goroutine; Mark and Ack
// from another (the pipeline's acker loop); Close after both stopped.
type Source struct {
	cfg    Config
	log    *slog.Logger
	re     *regexp.Regexp
	client sarama.Client
	group  sarama.ConsumerGroup

	batches chan batch    // from the partitions' goroutines to Next
	stopped chan struct{} // closed when the group loop ended; err says why
	err     error         // written before stopped is closed
	closing chan struct{} // closed by Close: nothing will be marked any more
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	once    sync.Once

	// owned by Next
	cur      batch
	i        int
	caughtUp bool // return the caught-up marker before the next record

	mu     sync.Mutex
	claims map[partition]*claim // this session's partitions
	sess   sarama.ConsumerGroupSession

	lag sync.Map // "topic/partition" → *atomic.Int64 (high-water mark − next offset)
}

type partition struct {
	topic string
	id    int32
}

// claim is one partition of one session. Guarded by Source.mu, except the immutable first three.
type claim struct {
	topic   string
	id      int32
	sess    sarama.ConsumerGroupSession
	emitted int64 // offset of the newest record Next returned; -1 for none
	marked  int64 // offset of the newest record marked; -1 for none
	ended   bool  // the session ended: Next drops the partition's buffered records
	idle    chan struct{}
	closed  bool // idle is closed
}

// settled closes idle once the session ended and every returned record is marked.
func (c *claim) settled() {
	if c.ended && c.marked >= c.emitted && !c.closed {
		c.closed = true
		close(c.idle)
	}
}

type batch struct {
	msgs    []*sarama.ConsumerMessage
	pos     []Position // pos[i] is msgs[i]'s; one allocation per batch, not per record
	drained bool       // after the last message the partition had nothing more buffered
}

// Position is a record's place in Kafka: its partition's claim (topic, partition, session) and
// offset. Next returns a *Position; it keeps neither the message nor its bytes alive. Its offset
// JSON is {"topic":…,"partition":…,"offset":…}.
type Position struct {
	c      *claim
	offset int64
}

// Topic, Partition and Offset identify the record.
func (p *Position) Topic() string    { return p.c.topic }
func (p *Position) Partition() int32 { return p.c.id }
func (p *Position) Offset() int64    { return p.offset }
func (p *Position) String() string   { return string(p.AppendOffset(nil)) }

// AppendOffset appends the position's JSON (Kafka topic names need no escaping).
func (p *Position) AppendOffset(dst []byte) []byte {
	dst = append(dst, `{"topic":"`...)
	dst = append(dst, p.c.topic...)
	dst = append(dst, `","partition":`...)
	dst = strconv.AppendInt(dst, int64(p.c.id), 10)
	dst = append(dst, `,"offset":`...)
	dst = strconv.AppendInt(dst, p.offset, 10)
	return append(dst, '}')
}

// Open connects to Kafka, joins the group and starts consuming in the background; records
// wait for Next. The group loop runs until ctx ends or Close.
func Open(ctx context.Context, cfg Config) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Group == "" {
		cfg.Group = "sluice-clickhouse"
	}
	if cfg.TopicRefresh <= 0 {
		cfg.TopicRefresh = 30 * time.Second
	}
	if cfg.ProgressInterval <= 0 {
		cfg.ProgressInterval = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	conf, err := cfg.Client.Sarama("sluice-clickhouse")
	if err != nil {
		return nil, err
	}
	conf.Consumer.Offsets.AutoCommit.Enable = true
	conf.Consumer.Offsets.AutoCommit.Interval = time.Second
	conf.Consumer.Offsets.Initial = sarama.OffsetOldest
	// Round-robin over the partitions of all topics: Debezium makes one topic per table, often of
	// one partition, and the range assignor (sarama's default) splits each topic on its own,
	// giving every one-partition topic to the same member. Range stays listed second so a
	// group of older members keeps working while they are upgraded one by one.
	conf.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{
		sarama.NewBalanceStrategyRoundRobin(), sarama.NewBalanceStrategyRange()}
	if cfg.Initial == "newest" {
		conf.Consumer.Offsets.Initial = sarama.OffsetNewest
	}
	// 256 KiB per partition and fetch. Bigger fetches were slower end to end: consuming 170k
	// schema-carrying records (557 MB) from kfake took 3.3–4.4 s with 1 MiB, 8.6 s with 8 MiB
	// and 21 s with 32 MiB, while no fetch overlaps the one being served. The size counts
	// compressed bytes: an lz4 fetch of such records inflates ~10×, and sarama keeps each
	// decompressed batch while any of its messages is buffered (1 MiB fetches held ~24 MB).
	conf.Consumer.Fetch.Default = 256 << 10
	// An insert blocks the pipeline for a while; sarama must not abandon the partition (and
	// back off for Consumer.Retry.Backoff) when its channel stays full meanwhile.
	conf.Consumer.MaxProcessingTime = 5 * time.Minute
	// Buffered messages pin their (decompressed) record batches; 512 keep the next fetch
	// going while the sink works without holding tens of MB.
	conf.ChannelBufferSize = 128
	client, err := cfg.Client.Connect(ctx, cfg.Logger, conf)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	group, err := sarama.NewConsumerGroupFromClient(cfg.Group, client)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("kafka consumer group %s: %w", cfg.Group, err)
	}
	s := &Source{cfg: cfg, log: cfg.Logger.With("source", "kafka", "group", cfg.Group),
		re: regexp.MustCompile("^(?:" + cfg.Topics + ")$"), client: client, group: group,
		batches: make(chan batch, 4), stopped: make(chan struct{}), closing: make(chan struct{}),
		claims: map[partition]*claim{}}
	ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.err = s.run(ctx)
		close(s.stopped)
	}()
	go func() {
		defer s.wg.Done()
		s.progress(ctx)
	}()
	return s, nil
}

// Next returns the next record and its Position. The record's bytes are valid until the next
// call. A record with an empty Topic means every claimed partition's buffered messages were
// returned at that moment (pipeline.InputDrainer). Next blocks until a record is ready, ctx
// ends (ctx.Err()) or the group loop stopped (its error, or io.EOF after Close).
func (s *Source) Next(ctx context.Context) (envelope.Record, capture.Position, error) {
	for {
		for s.i < len(s.cur.msgs) {
			m, pos := s.cur.msgs[s.i], &s.cur.pos[s.i]
			s.cur.msgs[s.i] = nil // the message and the fetched batch behind it die with the record
			s.i++
			s.mu.Lock()
			live := !pos.c.ended
			if live {
				pos.c.emitted = m.Offset
			}
			s.mu.Unlock()
			if !live { // its session ended: the partition's next owner reads it again
				continue
			}
			if s.i == len(s.cur.msgs) && s.cur.drained {
				s.caughtUp = true
			}
			return envelope.Record{Topic: m.Topic, Key: m.Key, Value: m.Value}, pos, nil
		}
		if s.caughtUp && len(s.batches) == 0 {
			s.caughtUp = false
			return envelope.Record{}, nil, nil
		}
		s.caughtUp = false
		select {
		case b := <-s.batches:
			s.cur, s.i = b, 0
		case <-ctx.Done():
			return envelope.Record{}, nil, ctx.Err()
		case <-s.stopped:
			if s.err != nil {
				return envelope.Record{}, nil, s.err
			}
			return envelope.Record{}, nil, io.EOF
		}
	}
}

// Mark records that the released positions, and every record Next returned before them, are
// durable (pipeline.Marker): for each partition, the newest offset+1 is marked in the consumer
// group, in the partition's current session if this process still owns it.
func (s *Source) Mark(released []capture.Position) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var run *Position // the newest position of the current run of one claim
	for _, p := range released {
		pos, ok := p.(*Position)
		if !ok {
			continue
		}
		if run != nil && pos.c != run.c {
			s.mark(run)
		}
		run = pos
	}
	if run != nil {
		s.mark(run)
	}
}

// mark marks pos's offset+1 in its partition's current claim. s.mu must be held.
func (s *Source) mark(pos *Position) {
	c := s.claims[partition{pos.c.topic, pos.c.id}] // pos.c itself until its session's Cleanup ends
	if c == nil || pos.offset <= c.marked {
		return
	}
	c.marked = pos.offset
	c.sess.MarkOffset(c.topic, c.id, pos.offset+1, "")
	c.settled()
}

// Ack commits the marked offsets of the current session (pipeline.Source's Ack; p was marked
// already).
func (s *Source) Ack(context.Context, capture.Position) error {
	s.mu.Lock()
	sess := s.sess
	s.mu.Unlock()
	if sess != nil {
		sess.Commit()
	}
	return nil
}

// Close leaves the group (its last commit covers every marked offset) and disconnects.
func (s *Source) Close() error {
	s.once.Do(func() { close(s.closing) })
	s.cancel()
	s.wg.Wait()
	gerr := s.group.Close()
	cerr := s.client.Close()
	if errors.Is(cerr, sarama.ErrClosedClient) {
		cerr = nil
	}
	return errors.Join(gerr, cerr)
}

func (s *Source) topics() ([]string, error) {
	if err := s.client.RefreshMetadata(); err != nil {
		return nil, err
	}
	all, err := s.client.Topics()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range all {
		if s.re.MatchString(t) {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out, nil
}

// run consumes until ctx ends (nil) or the group fails for good. It re-joins the group when
// the set of matching topics changes.
func (s *Source) run(ctx context.Context) error {
	wait := 500 * time.Millisecond
	for ctx.Err() == nil {
		topics, err := s.topics()
		if err == nil && len(topics) == 0 {
			err = fmt.Errorf("no topic matches %q yet", s.cfg.Topics)
		}
		if err != nil {
			s.log.Warn("kafka topics not available; retrying", "err", err, "wait", wait)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
			wait = min(wait*2, s.cfg.TopicRefresh)
			continue
		}
		wait = 500 * time.Millisecond
		s.log.Info("kafka consuming", "topics", strings.Join(topics, ","))
		cctx, cancel := context.WithCancel(ctx)
		var watch sync.WaitGroup
		watch.Add(1)
		go func() { // re-join when new topics match
			defer watch.Done()
			t := time.NewTicker(s.cfg.TopicRefresh)
			defer t.Stop()
			for {
				select {
				case <-cctx.Done():
					return
				case <-t.C:
					if now, err := s.topics(); err == nil && !slices.Equal(now, topics) {
						s.log.Info("kafka topic set changed; re-joining", "topics", strings.Join(now, ","))
						cancel()
						return
					}
				}
			}
		}()
		err = s.group.Consume(cctx, topics, (*handler)(s))
		cancel()
		watch.Wait()
		if err != nil && ctx.Err() == nil {
			if errors.Is(err, sarama.ErrClosedConsumerGroup) {
				return fmt.Errorf("kafka consumer group %s: %w", s.cfg.Group, err)
			}
			s.log.Warn("kafka consumer group session ended with an error; re-joining", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

func (s *Source) progress(ctx context.Context) {
	t := time.NewTicker(s.cfg.ProgressInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			var total int64
			parts := 0
			s.lag.Range(func(_, v any) bool {
				total += v.(*atomic.Int64).Load()
				parts++
				return true
			})
			s.log.Info("kafka lag", "messages_behind", total, "partitions", parts)
		}
	}
}

// handler is the Source as sarama's ConsumerGroupHandler.
type handler Source

func (h *handler) Setup(sess sarama.ConsumerGroupSession) error {
	h.mu.Lock()
	h.sess = sess
	for topic, ids := range sess.Claims() {
		for _, id := range ids {
			h.claims[partition{topic, id}] = &claim{topic: topic, id: id, sess: sess, emitted: -1, marked: -1, idle: make(chan struct{})}
		}
	}
	h.mu.Unlock()
	h.log.Info("kafka partitions assigned", "claims", fmt.Sprint(sess.Claims()), "generation", sess.GenerationID())
	return nil
}

// Cleanup runs after the session's ConsumeClaim goroutines returned and before sarama's last
// commit of the session: it stops Next from returning the session's buffered records and waits
// until every record already returned is marked, so that the commit covers them.
func (h *handler) Cleanup(sess sarama.ConsumerGroupSession) error {
	h.mu.Lock()
	var wait []*claim
	for _, c := range h.claims {
		c.ended = true
		c.settled()
		if !c.closed {
			wait = append(wait, c)
		}
	}
	h.mu.Unlock()
	t := time.NewTimer(cleanupWait)
	defer t.Stop()
wait:
	for _, c := range wait {
		select {
		case <-c.idle:
		case <-h.closing:
			break wait
		case <-t.C:
			h.log.Warn("records of the ending session not yet durable; they will be consumed again", "waited", cleanupWait)
			break wait
		}
	}
	h.mu.Lock()
	for k, c := range h.claims {
		if c.sess == sess {
			delete(h.claims, k)
		}
	}
	if h.sess == sess {
		h.sess = nil
	}
	h.mu.Unlock()
	return nil
}

// ConsumeClaim hands the partition's messages to Next in batches of what is already buffered.
func (h *handler) ConsumeClaim(sess sarama.ConsumerGroupSession, cl sarama.ConsumerGroupClaim) error {
	h.mu.Lock()
	c := h.claims[partition{cl.Topic(), cl.Partition()}]
	h.mu.Unlock()
	if c == nil {
		return fmt.Errorf("kafka: partition %s/%d claimed but not set up", cl.Topic(), cl.Partition())
	}
	lv, _ := h.lag.LoadOrStore(cl.Topic()+"/"+strconv.Itoa(int(cl.Partition())), new(atomic.Int64))
	lag := lv.(*atomic.Int64)
	ctx := sess.Context()
	msgs := cl.Messages()
	for {
		var m *sarama.ConsumerMessage
		select {
		case <-ctx.Done():
			return nil
		case msg, ok := <-msgs:
			if !ok {
				return nil
			}
			m = msg
		}
		b := batch{msgs: make([]*sarama.ConsumerMessage, 1, min(batchMax, 1+len(msgs)))}
		b.msgs[0] = m
	fill:
		for len(b.msgs) < cap(b.msgs) {
			select {
			case msg, ok := <-msgs:
				if !ok {
					break fill
				}
				b.msgs = append(b.msgs, msg)
			default:
				break fill
			}
		}
		b.pos = make([]Position, len(b.msgs))
		for i, m := range b.msgs {
			b.pos[i] = Position{c: c, offset: m.Offset}
		}
		last := b.msgs[len(b.msgs)-1].Offset
		hwm := cl.HighWaterMarkOffset()
		lag.Store(hwm - last - 1)
		b.drained = last+1 >= hwm && len(msgs) == 0
		select {
		case h.batches <- b:
		case <-ctx.Done():
			return nil
		}
	}
}
