package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicecdc/sluice/envelope"
)

// ConsumerConfig configures a Consumer. Zero values mean the defaults beside each field.
type ConsumerConfig struct {
	Brokers []string // Kafka bootstrap brokers; required
	Topics  string   // regular expression the whole topic name must match; required
	Group   string   // consumer group id; defaults to "sluice-clickhouse"
	// Initial is where a group without committed offsets starts: "oldest" (default) or "newest".
	Initial      string
	TopicRefresh time.Duration // how often the topic list is re-read for new matches; defaults to 30s
	Version      sarama.KafkaVersion
	Logger       *slog.Logger // defaults to discard
}

// Validate reports every bad field.
func (c *ConsumerConfig) Validate() error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("kafka: no brokers given (--kafka-brokers host:port,…)"))
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

// Consumer reads Debezium topics through a sarama consumer group and applies them with a Sink.
// Offsets are marked only for records the Sink reported durable (inserted and acknowledged by
// ClickHouse, or parked), so a crash replays at most the unacknowledged tail; replayed rows
// carry the same _version and collapse.
type Consumer struct {
	cfg    ConsumerConfig
	log    *slog.Logger
	re     *regexp.Regexp
	client sarama.Client
	group  sarama.ConsumerGroup
	sink   *Sink

	mu   sync.Mutex
	next uint64 // token of the next message
	// pending holds the offsets of the messages handed to the sink, in token order: pending[i]
	// is token base+i. A reported entry is marked done and the done front is popped (the
	// partitions' handlers may call Send in another order than they took tokens, so reports
	// are not strictly in token order). A struct slice costs no allocation per message (a map
	// did, and held ~5 MB for a 20,000-row batch).
	pending []pendingOffset
	base    uint64
	marked  sarama.ConsumerGroupSession // session of the newest marked offset, for the committer
	kick    chan struct{}               // an offset was marked: commit soon

	lag sync.Map // "topic/partition" → *atomic.Int64 (high-water mark − next offset)
}

type pendingOffset struct {
	sess      sarama.ConsumerGroupSession
	topic     string
	partition int32
	offset    int64
	done      bool
}

// settle marks token's entry done, pops the done entries at the front and returns the entry
// (false if it was unknown or settled already). c.mu must be held.
func (c *Consumer) settle(token uint64) (pendingOffset, bool) {
	if token < c.base || token-c.base >= uint64(len(c.pending)) {
		return pendingOffset{}, false
	}
	e := &c.pending[token-c.base]
	if e.done {
		return pendingOffset{}, false
	}
	p := *e
	e.done = true
	n := 0
	for n < len(c.pending) && c.pending[n].done {
		n++
	}
	clear(c.pending[:n])
	c.pending = c.pending[n:]
	c.base += uint64(n)
	return p, true
}

// NewConsumer connects to Kafka and ClickHouse.
func NewConsumer(ctx context.Context, cc ConsumerConfig, sc Config) (*Consumer, error) {
	if err := cc.Validate(); err != nil {
		return nil, err
	}
	if cc.Group == "" {
		cc.Group = "sluice-clickhouse"
	}
	if cc.TopicRefresh <= 0 {
		cc.TopicRefresh = 30 * time.Second
	}
	if cc.Logger == nil {
		cc.Logger = slog.New(slog.DiscardHandler)
	}
	if sc.Logger == nil {
		sc.Logger = cc.Logger
	}
	if cc.Version == (sarama.KafkaVersion{}) {
		cc.Version = sarama.V3_6_0_0
	}
	c := &Consumer{cfg: cc, log: cc.Logger.With("source", "kafka", "group", cc.Group), re: regexp.MustCompile("^(?:" + cc.Topics + ")$"),
		kick: make(chan struct{}, 1)}
	conf := sarama.NewConfig()
	conf.Version = cc.Version
	conf.ClientID = "sluice-clickhouse"
	conf.Consumer.Offsets.AutoCommit.Enable = true
	conf.Consumer.Offsets.AutoCommit.Interval = time.Second
	conf.Consumer.Offsets.Initial = sarama.OffsetOldest
	if cc.Initial == "newest" {
		conf.Consumer.Offsets.Initial = sarama.OffsetNewest
	}
	// 256 KiB per partition and fetch. Bigger fetches were slower end to end: consuming 170k
	// schema-carrying records (557 MB) from kfake took 3.3–4.4 s with 1 MiB, 8.6 s with 8 MiB
	// and 21 s with 32 MiB, while no fetch overlaps the one being served. The size counts
	// compressed bytes: an lz4 fetch of such records inflates ~10×, and sarama keeps each
	// decompressed batch while any of its messages is buffered (1 MiB fetches held ~24 MB).
	conf.Consumer.Fetch.Default = 256 << 10
	// An insert blocks the handler for a while; sarama must not abandon the partition (and
	// back off for Consumer.Retry.Backoff) when its channel stays full meanwhile.
	conf.Consumer.MaxProcessingTime = 5 * time.Minute
	// Buffered messages pin their (decompressed) record batches; 512 keep the next fetch
	// going while the handler works without holding tens of MB.
	conf.ChannelBufferSize = 512
	client, err := sarama.NewClient(cc.Brokers, conf)
	if err != nil {
		return nil, fmt.Errorf("kafka connect %v: %w", cc.Brokers, err)
	}
	group, err := sarama.NewConsumerGroupFromClient(cc.Group, client)
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("kafka consumer group %s: %w", cc.Group, err)
	}
	c.client, c.group = client, group
	if c.sink, err = New(ctx, sc, c.durable); err != nil {
		group.Close()
		client.Close()
		return nil, err
	}
	return c, nil
}

// Sink is the ClickHouse sink the consumer writes through.
func (c *Consumer) Sink() *Sink { return c.sink }

func (c *Consumer) durable(token uint64) {
	c.mu.Lock()
	p, ok := c.settle(token)
	if ok {
		c.marked = p.sess
	}
	c.mu.Unlock()
	if ok {
		p.sess.MarkOffset(p.topic, p.partition, p.offset+1, "")
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

// committer commits marked offsets as soon as an insert made them durable, instead of at the
// next auto-commit tick (which stays on as the backstop): the group's committed offsets, and so
// the lag other tools see, follow ClickHouse within one round trip. A burst of marks coalesces
// into one or two commits per batch.
func (c *Consumer) committer(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
			c.mu.Lock()
			sess := c.marked
			c.mu.Unlock()
			if sess != nil {
				sess.Commit()
			}
		}
	}
}

func (c *Consumer) topics() ([]string, error) {
	if err := c.client.RefreshMetadata(); err != nil {
		return nil, err
	}
	all, err := c.client.Topics()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range all {
		if c.re.MatchString(t) {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Run consumes until ctx ends (then it returns nil) or a fatal error. It re-joins the group when
// the set of matching topics changes.
func (c *Consumer) Run(ctx context.Context) error {
	go c.progress(ctx)
	go c.committer(ctx)
	wait := 500 * time.Millisecond
	for ctx.Err() == nil {
		topics, err := c.topics()
		if err == nil && len(topics) == 0 {
			err = fmt.Errorf("no topic matches %q yet", c.cfg.Topics)
		}
		if err != nil {
			c.log.Warn("kafka topics not available; retrying", "err", err, "wait", wait)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
			wait = min(wait*2, c.cfg.TopicRefresh)
			continue
		}
		wait = 500 * time.Millisecond
		c.log.Info("kafka consuming", "topics", strings.Join(topics, ","))
		cctx, cancel := context.WithCancel(ctx)
		go func() { // re-join when new topics match
			t := time.NewTicker(c.cfg.TopicRefresh)
			defer t.Stop()
			for {
				select {
				case <-cctx.Done():
					return
				case <-t.C:
					if now, err := c.topics(); err == nil && !slices.Equal(now, topics) {
						c.log.Info("kafka topic set changed; re-joining", "topics", strings.Join(now, ","))
						cancel()
						return
					}
				}
			}
		}()
		err = c.group.Consume(cctx, topics, (*groupHandler)(c))
		cancel()
		if serr := c.sink.Err(); serr != nil {
			return serr
		}
		if err != nil && ctx.Err() == nil {
			if errors.Is(err, sarama.ErrClosedConsumerGroup) {
				return err
			}
			c.log.Warn("kafka consumer group session ended with an error; re-joining", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

func (c *Consumer) progress(ctx context.Context) {
	t := time.NewTicker(c.sink.cfg.ProgressInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			var total int64
			parts := 0
			c.lag.Range(func(_, v any) bool {
				total += v.(*atomic.Int64).Load()
				parts++
				return true
			})
			c.log.Info("kafka lag", "messages_behind", total, "partitions", parts)
		}
	}
}

// Close flushes what is pending, commits the offsets and closes Kafka and ClickHouse.
func (c *Consumer) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ferr := c.sink.Flush(ctx)
	gerr := c.group.Close()
	cerr := c.client.Close()
	serr := c.sink.Close()
	return errors.Join(ferr, gerr, cerr, serr)
}

type groupHandler Consumer

func (h *groupHandler) Setup(sess sarama.ConsumerGroupSession) error {
	h.log.Info("kafka partitions assigned", "claims", fmt.Sprint(sess.Claims()), "generation", sess.GenerationID())
	return nil
}

// Cleanup flushes the sink so that the offsets of everything consumed in this session are
// marked before sarama commits them for the last time.
func (h *groupHandler) Cleanup(sess sarama.ConsumerGroupSession) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.sink.Flush(ctx); err != nil {
		h.log.Warn("flush at the end of a consumer group session failed; the records will be consumed again", "err", err)
	}
	return nil
}

func (h *groupHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	c := (*Consumer)(h)
	lagKey := fmt.Sprintf("%s/%d", claim.Topic(), claim.Partition())
	lv, _ := c.lag.LoadOrStore(lagKey, new(atomic.Int64))
	lag := lv.(*atomic.Int64)
	ctx := sess.Context()
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			rec := envelope.Record{Topic: msg.Topic, Key: msg.Key, Value: msg.Value}
			c.mu.Lock()
			tok := c.next
			c.next++
			if len(c.pending) == 0 {
				c.base = tok
			}
			c.pending = append(c.pending, pendingOffset{sess: sess, topic: msg.Topic, partition: msg.Partition, offset: msg.Offset})
			c.mu.Unlock()
			if err := c.sink.Send(ctx, &rec, tok); err != nil {
				c.mu.Lock()
				c.settle(tok) // never reported: do not hold the entries behind it
				c.mu.Unlock()
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("clickhouse sink: %w", err)
			}
			hwm := claim.HighWaterMarkOffset()
			lag.Store(hwm - msg.Offset - 1)
			if msg.Offset+1 >= hwm && len(claim.Messages()) == 0 {
				if err := c.sink.inputDrained(ctx); err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return fmt.Errorf("clickhouse sink: %w", err)
				}
			}
		}
	}
}
