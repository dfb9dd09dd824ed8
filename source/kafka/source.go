package kafka

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
)

// Config configures a Source. Zero values mean the defaults beside each field.
type Config struct {
	// Client holds the brokers (required), client id (default "sluice-clickhouse") and security.
	Client ikafka.ClientConfig
	Topics string // regular expression the whole topic name must match; required
	Group  string // consumer group id; defaults to "sluice-clickhouse"
	// InstanceID (Kafka's group.instance.id, optional) makes this process a static member of the
	// group: restarted with the same id within the session timeout, it takes its partitions back
	// at once, without a rebalance and without the others waiting for its old session to expire.
	// Unique per process. A static member does not leave the group when it stops: its partitions
	// wait for its restart or the session timeout.
	InstanceID string
	// Initial is where a group without committed offsets starts: "oldest" (default) or "newest".
	Initial          string
	TopicRefresh     time.Duration // how often the topic list is re-read for new matches; defaults to 30s
	ProgressInterval time.Duration // how often the consumer lag is logged; defaults to 10s
	Logger           *slog.Logger  // defaults to discard
	// Link, when set, tells whether the brokers can be reached: DisconnectedUnixMilli is set
	// at a failed dial and cleared at the next successful one (the client retries by itself,
	// so nothing else would show an outage; /readyz and Connected read it).
	Link *capture.StreamStats
	// OnOrigin, when set, is called by Next before it returns a record, on Next's goroutine,
	// with the record's origin (Position.Origin): it changes whenever the records that follow
	// may repeat ones returned before. Not a flag.
	OnOrigin func(origin uint64)
}

// linkHook records broker dials in a Config.Link (kgo.HookBrokerConnect).
type linkHook struct{ link *capture.StreamStats }

func (h linkHook) OnBrokerConnect(_ kgo.BrokerMetadata, _ time.Duration, _ net.Conn, err error) {
	if err == nil {
		h.link.DisconnectedUnixMilli.Store(0)
		return
	}
	h.link.DisconnectErr.Store(err.Error())
	h.link.DisconnectedUnixMilli.CompareAndSwap(0, time.Now().UnixMilli())
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

// cleanupWait bounds how long a revoke waits for the records already handed to the pipeline to
// be marked (the sink inserts at least every flush interval). It stays below franz-go's default
// rebalance timeout (60s), which bounds the whole revoke. A variable for tests.
var cleanupWait = 30 * time.Second

// pollMax is the most records one poll takes from the client's buffer. It bounds the records
// waiting for Next (4 polls in the channel: 4×256 records with schemas are ~4 MB, and each
// pins its decompressed batch) and the records handed out between two chances for a
// rebalance to run. 8,192 held ~130 MB and doubled the CPU under the memory limit.
const pollMax = 256

// autoCommitEvery is the client's own commit of the marked offsets, a backstop behind the
// commits Mark and Ack ask for. A variable for tests.
var autoCommitEvery = time.Second

// commitGap is the least time between two commits: Mark asks for one after every release, so
// that offsets follow the inserts closely (a restart re-reads less, and the end of a backlog is
// committed when its last insert is, not at the next Ack, up to --offsets-flush-interval later),
// while the group coordinator gets at most ten commits a second.
const commitGap = 100 * time.Millisecond

// Fetch sizes count compressed bytes: an lz4 fetch of schema-carrying records inflates ~10×
// and the client holds one fetch per broker while the previous one is served; a batch bigger
// than this is still fetched whole. The bench's 1.7 M records with schemas through `sluice
// clickhouse` (one run each, same machine): 256 KiB 10.1–11.3 CPU s and 64–66 MB peak RSS
// (memory-limit collections), 128 KiB 7.8 s and 58 MB; consumed alone, 1 MiB peaked at 133 MB.
const (
	fetchMaxBytes          = 128 << 10
	fetchMaxPartitionBytes = 128 << 10
)

// Source reads records from Kafka topics through a consumer group (franz-go). It implements
// pipeline.RecordSource and pipeline.Marker. Next is called from one goroutine; Mark and Ack
// from another (the pipeline's acker loop); Close after both stopped.
type Source struct {
	cfg Config
	log *slog.Logger
	cl  *kgo.Client

	batches chan batch    // from the poll loop to Next
	stopped chan struct{} // closed when the poll loop ended; err says why
	err     error         // written before stopped is closed
	closing chan struct{} // closed by Close: nothing will be marked any more
	commit  chan struct{} // Ack to the committer; one pending request
	// rebalance: a rebalance waits for the poll loop (OnPartitionsCallbackBlocked); the loop
	// stops handing out the rest of its poll
	rebalance chan struct{}
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	once      sync.Once

	// owned by Next
	cur      batch
	i        int
	caughtUp bool        // return the caught-up marker before the next record
	prev     *kgo.Record // returned by the last Next: recycled at the next call

	mu     sync.Mutex
	claims map[partition]*claim // the partitions assigned now
	gens   uint64               // claims made so far

	lag sync.Map // "topic/partition" → *atomic.Int64 (high-water mark − next offset)

	starved atomic.Int64 // ns Next waited for fetched records
}

// Starved is how long Next waited for records to arrive from the brokers, in total: with a
// backlog, the time the consumer, not the sink, held the stage up.
func (s *Source) Starved() time.Duration { return time.Duration(s.starved.Load()) }

type partition struct {
	topic string
	id    int32
}

// claim is one partition for as long as it stays assigned. Guarded by Source.mu, except the
// immutable topic and id.
type claim struct {
	topic   string
	id      int32
	gen     uint64 // this assignment's number in the process (Position.Origin)
	emitted int64  // offset of the newest record Next returned; -1 for none
	marked  int64  // offset of the newest record marked; -1 for none
	ended   bool   // revoked or lost: Next drops the partition's buffered records
	idle    chan struct{}
	closed  bool // idle is closed
}

// settled closes idle once the claim ended and every returned record is marked.
func (c *claim) settled() {
	if c.ended && c.marked >= c.emitted && !c.closed {
		c.closed = true
		close(c.idle)
	}
}

type batch struct {
	recs    []*kgo.Record
	pos     []Position // pos[i] is recs[i]'s; one allocation per batch, not per record
	drained bool       // after the last record the client had nothing more buffered
}

// Position is a record's place in Kafka: its partition's claim (topic, partition, assignment)
// and offset. Next returns a *Position; it keeps neither the record nor its bytes alive. Its
// offset JSON is {"topic":…,"partition":…,"offset":…}.
type Position struct {
	c        *claim
	offset   int64
	producer uint64 // see Producer
	epoch    int32  // the record's leader epoch, committed with the offset (franz-go's truncation check)
}

// Producer identifies the producer session that wrote the record: its producer id and epoch
// (0: unknown, a producer without idempotence). An upstream sluice that restarts, or reopens
// its source, writes with a new session and re-sends what followed its last stored offset, so
// a record of a new session at a position already seen is a replay, not a new change.
func (p *Position) Producer() uint64 { return p.producer }

// Origin is the record's producer session (Producer) as read through this assignment of its
// partition: a new session (an upstream that restarted) or a new assignment (the partition
// came back after a rebalance or a lost session, read again from the committed offset) gives
// another origin, so records of one origin never repeat each other.
func (p *Position) Origin() uint64 { return p.producer ^ p.c.gen*0x9e3779b97f4a7c15 }

// producerSession packs a record's producer id and epoch into Position.producer.
func producerSession(r *kgo.Record) uint64 {
	if r.ProducerID < 0 {
		return 0
	}
	return uint64(r.ProducerID+1)<<16 | uint64(uint16(r.ProducerEpoch))
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
// wait for Next. It fails at once on refused credentials or an untrusted broker certificate,
// and waits for an unreachable cluster up to the client's DeliveryTimeout. The poll loop runs
// until ctx ends or Close.
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
	s := &Source{cfg: cfg, log: cfg.Logger.With("source", "kafka", "group", cfg.Group),
		batches: make(chan batch, 4), stopped: make(chan struct{}), closing: make(chan struct{}),
		commit: make(chan struct{}, 1), rebalance: make(chan struct{}, 1), claims: map[partition]*claim{}}
	opts, err := cfg.Client.Kgo("sluice-clickhouse", cfg.Logger)
	if err != nil {
		return nil, err
	}
	// Where a partition without a committed offset starts. NoReset: a committed offset that
	// is no longer in the log (retention deleted the records after it, or the topic was
	// created again) stops the source (errOffsetGone) instead of resuming at the log's
	// start or end, which skipped those records without a word.
	reset := kgo.NoResetOffset().AtStart()
	if cfg.Initial == "newest" {
		reset = kgo.NoResetOffset().AtEnd()
	}
	pool := decompressPool{inflation: new(inflation)}
	opts = append(opts,
		kgo.ConsumerGroup(cfg.Group),
		kgo.ConsumeRegex(), kgo.ConsumeTopics("^(?:"+cfg.Topics+")$"),
		kgo.MetadataMaxAge(cfg.TopicRefresh), // how soon a new matching topic is consumed
		kgo.MetadataMinAge(min(cfg.TopicRefresh, 5*time.Second)),
		kgo.ConsumeResetOffset(reset),
		// Round-robin over the partitions of all topics: Debezium makes one topic per table,
		// often of one partition, and a per-topic (range) assignment gives every one-partition
		// topic to the same member. Both are eager protocols named as sarama names them, so a
		// group that still holds members of older sluice versions (sarama, round-robin then
		// range) keeps working while they are upgraded one by one; cooperative-sticky would
		// not mix with them.
		kgo.Balancers(kgo.RoundRobinBalancer(), kgo.RangeBalancer()),
		// Only offsets the pipeline acknowledged as durable are committed (Mark, then Ack or the
		// one-second backstop); never what was merely polled.
		kgo.AutoCommitMarks(), kgo.AutoCommitInterval(autoCommitEvery),
		// A rebalance waits until the loop handed out what it polled, so that no record of a
		// revoked partition reaches Next after the revoke (per-key order across owners).
		kgo.BlockRebalanceOnPoll(),
		// A killed process's partitions wait this long for a new owner. sarama's default, which
		// docs/clickhouse.md states; franz-go's (Kafka's since 3.0) is 45s.
		kgo.SessionTimeout(10*time.Second),
		kgo.OnPartitionsAssigned(s.assigned),
		kgo.OnPartitionsRevoked(s.revoked),
		kgo.OnPartitionsLost(s.lost),
		kgo.OnPartitionsCallbackBlocked(func(context.Context, *kgo.Client) {
			select {
			case s.rebalance <- struct{}{}:
			default:
			}
		}),
		// Only committed records: a sluice --exactly-once producer's aborted transactions are
		// retried from the last committed offsets, so reading them would duplicate rows (and
		// load rows whose source position was never confirmed). Input written without
		// transactions reads the same either way.
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.FetchMaxBytes(fetchMaxBytes), kgo.FetchMaxPartitionBytes(fetchMaxPartitionBytes),
		// Decompress into reused buffers; Next recycles each record once the pipeline is done
		// with it (the RecordSource contract: bytes live until the next Next).
		kgo.WithPools(pool, recordPool{}),
		kgo.WithDecompressor(newDecompressor(pool)),
	)
	if cfg.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(cfg.InstanceID))
	}
	if cfg.Link != nil {
		opts = append(opts, kgo.WithHooks(linkHook{cfg.Link}))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	if err := cfg.Client.Retry(ctx, s.log, "connect to "+strings.Join(cfg.Client.Brokers, ","), func() error { return cl.Ping(ctx) }); err != nil {
		cl.Close()
		return nil, fmt.Errorf("kafka consumer group %s: %w", cfg.Group, err)
	}
	s.cl = cl
	ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Add(3)
	go func() {
		defer s.wg.Done()
		s.err = s.run(ctx)
		close(s.stopped)
	}()
	go func() {
		defer s.wg.Done()
		s.committer(ctx)
	}()
	go func() {
		defer s.wg.Done()
		s.progress(ctx)
	}()
	return s, nil
}

// Next returns the next record and its Position. The record's bytes are valid until the next
// call. A record with an empty Topic means every assigned partition's buffered records were
// returned at that moment (pipeline.InputDrainer). Next blocks until a record is ready, ctx
// ends (ctx.Err()) or the poll loop stopped (its error, or io.EOF after Close).
func (s *Source) Next(ctx context.Context) (envelope.Record, capture.Position, error) {
	if s.prev != nil {
		s.prev.Recycle()
		s.prev = nil
	}
	for {
		for s.i < len(s.cur.recs) {
			r, pos := s.cur.recs[s.i], &s.cur.pos[s.i]
			s.cur.recs[s.i] = nil
			s.i++
			s.mu.Lock()
			live := !pos.c.ended
			if live {
				pos.c.emitted = r.Offset
			}
			s.mu.Unlock()
			if !live { // revoked: the partition's next owner reads it again
				r.Recycle()
				continue
			}
			if s.i == len(s.cur.recs) && s.cur.drained {
				s.caughtUp = true
			}
			s.prev = r
			if s.cfg.OnOrigin != nil {
				s.cfg.OnOrigin(pos.Origin())
			}
			return envelope.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Headers: headers(r.Headers)}, pos, nil
		}
		if s.caughtUp && len(s.batches) == 0 {
			s.caughtUp = false
			return envelope.Record{}, nil, nil
		}
		s.caughtUp = false
		select {
		case b := <-s.batches:
			s.cur, s.i = b, 0
			continue
		default:
		}
		t0 := time.Now()
		select {
		case b := <-s.batches:
			s.cur, s.i = b, 0
			s.starved.Add(int64(time.Since(t0)))
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
// durable (pipeline.Marker): for each partition, the newest offset+1 is marked for commit if
// this process still owns the partition, and a commit is asked for (at most one per commitGap).
func (s *Source) Mark(released []capture.Position) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var run *Position // the newest position of the current run of one claim
	marked := false
	for _, p := range released {
		pos, ok := p.(*Position)
		if !ok {
			continue
		}
		if run != nil && pos.c != run.c {
			marked = s.mark(run) || marked
		}
		run = pos
	}
	if run != nil {
		marked = s.mark(run) || marked
	}
	if marked {
		select {
		case s.commit <- struct{}{}:
		default: // a commit is pending; it will cover these marks
		}
	}
}

// mark marks pos's offset+1 in its partition's current claim and reports whether it did. s.mu
// must be held.
func (s *Source) mark(pos *Position) bool {
	c := s.claims[partition{pos.c.topic, pos.c.id}] // pos.c itself until its revoke ends
	if c == nil || pos.offset <= c.marked {
		return false
	}
	c.marked = pos.offset
	s.cl.MarkCommitOffsets(map[string]map[int32]kgo.EpochOffset{c.topic: {c.id: {Epoch: pos.epoch, Offset: pos.offset + 1}}})
	c.settled()
	return true
}

// Ack asks for a commit of the marked offsets (pipeline.Source's Ack; p was marked already) and
// returns at once: a commit waits while the group rebalances, and the acker loop that calls
// Ack must keep marking meanwhile, since the revoke waits for the marks.
func (s *Source) Ack(context.Context, capture.Position) error {
	select {
	case s.commit <- struct{}{}:
	default: // a commit is pending; it will cover these marks
	}
	return nil
}

// committer commits the marked offsets when Mark or Ack asks, at most once per commitGap. A
// failed commit is logged, not returned: the next request, the one-second backstop or the
// revoke commits the same marks again.
func (s *Source) committer(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.commit:
		}
		if err := s.cl.CommitMarkedOffsets(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("kafka offset commit failed; retried at the next flush", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(commitGap):
		}
	}
}

// Close leaves the group (the revoke commits every marked offset) and disconnects.
func (s *Source) Close() error {
	s.once.Do(func() { close(s.closing) })
	s.cancel()
	s.wg.Wait()
	s.cl.Close()
	return nil
}

// assigned logs the new partitions; their claims are made when their first records arrive.
func (s *Source) assigned(_ context.Context, cl *kgo.Client, parts map[string][]int32) {
	_, gen := cl.GroupMetadata()
	s.log.Info("kafka partitions assigned", "claims", fmt.Sprint(parts), "generation", gen)
}

// revoked runs while no poll is handed out (BlockRebalanceOnPoll) and before the client gives
// the partitions up: it stops Next from returning their buffered records, waits until every
// record already returned is marked, and commits, so that the next owner starts after them.
func (s *Source) revoked(ctx context.Context, cl *kgo.Client, parts map[string][]int32) {
	wait := s.end(parts)
	t := time.NewTimer(cleanupWait)
	defer t.Stop()
wait:
	for _, c := range wait {
		select {
		case <-c.idle:
		case <-s.closing:
			break wait
		case <-t.C:
			s.log.Warn("records of revoked partitions not yet durable; they will be consumed again", "waited", cleanupWait)
			break wait
		}
	}
	if err := cl.CommitMarkedOffsets(ctx); err != nil {
		s.log.Warn("kafka offset commit at revoke failed; the partitions' next owner re-reads from the last commit", "err", err)
	}
	s.drop(parts)
}

// lost: the group session failed (the member was fenced or timed out), so a commit would be
// refused; the buffered records are dropped and the next owner re-reads from the last commit.
func (s *Source) lost(_ context.Context, _ *kgo.Client, parts map[string][]int32) {
	if len(parts) == 0 { // a failed rejoin, retried while the brokers are away
		return
	}
	s.log.Warn("kafka partitions lost; records not yet committed will be consumed again", "claims", fmt.Sprint(parts))
	s.end(parts)
	s.drop(parts)
}

// end marks the claims of parts ended and returns those with returned records not yet marked.
func (s *Source) end(parts map[string][]int32) []*claim {
	s.mu.Lock()
	defer s.mu.Unlock()
	var wait []*claim
	for topic, ids := range parts {
		for _, id := range ids {
			c := s.claims[partition{topic, id}]
			if c == nil {
				continue
			}
			c.ended = true
			c.settled()
			if !c.closed {
				wait = append(wait, c)
			}
		}
	}
	return wait
}

func (s *Source) drop(parts map[string][]int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for topic, ids := range parts {
		for _, id := range ids {
			delete(s.claims, partition{topic, id})
		}
	}
}

// run polls until ctx ends (nil), the client is closed, or the brokers refuse the login (an
// *ikafka.AuthError). Other fetch errors are logged; the client retries them.
func (s *Source) run(ctx context.Context) error {
	var logged time.Time
	for {
		select { // a rebalance asked for before the last AllowRebalance has run or runs now
		case <-s.rebalance:
		default:
		}
		fs := s.cl.PollRecords(ctx, pollMax)
		if ctx.Err() != nil || fs.IsClientClosed() {
			s.cl.AllowRebalance()
			return nil
		}
		var fatal error
		fs.EachError(func(topic string, p int32, err error) {
			if errors.Is(err, context.Canceled) {
				return
			}
			if ikafka.Auth(err) {
				fatal = &ikafka.AuthError{Op: "consume " + topic, Err: err}
				return
			}
			if errors.Is(err, kerr.OffsetOutOfRange) {
				fatal = s.offsetGone(topic, p, err)
				return
			}
			if time.Since(logged) > 10*time.Second {
				logged = time.Now()
				s.log.Warn("kafka fetch failed; retrying", "topic", topic, "partition", p, "err", err)
			}
		})
		if fatal != nil {
			s.cl.AllowRebalance()
			return fatal
		}
		err := s.handOut(ctx, fs)
		s.cl.AllowRebalance()
		if err != nil {
			return nil // ctx ended
		}
	}
}

// offsetGone is the error of a partition whose committed offset is not in its log any more.
func (s *Source) offsetGone(topic string, p int32, err error) error {
	return fmt.Errorf("kafka: topic %s partition %d: the offset group %s consumes from is not in the partition's log (%w): "+
		"the records after it were deleted (retention ran while the group was not consuming) or the topic was deleted and created again. "+
		"Their changes are not in ClickHouse and this topic cannot bring them back, so sluice stops instead of skipping them. "+
		"Rebuild the tables from a new snapshot of the source, or, accepting the gap, stop sluice and move the group's offset: "+
		"kafka-consumer-groups.sh --bootstrap-server %s --group %s --topic %s:%d --reset-offsets --to-earliest --execute",
		topic, p, s.cfg.Group, err, strings.Join(s.cfg.Client.Brokers, ","), s.cfg.Group, topic, p)
}

// handOut sends one batch per partition of fs to Next. The claims it looks up are current:
// no revoke runs until AllowRebalance, which it calls only after the lookups.
func (s *Source) handOut(ctx context.Context, fs kgo.Fetches) error {
	var bs []batch
	fs.EachPartition(func(p kgo.FetchTopicPartition) {
		if len(p.Records) == 0 {
			return
		}
		s.mu.Lock()
		k := partition{p.Topic, p.Partition}
		c := s.claims[k]
		if c == nil {
			s.gens++
			c = &claim{topic: p.Topic, id: p.Partition, gen: s.gens, emitted: -1, marked: -1, idle: make(chan struct{})}
			s.claims[k] = c
		}
		s.mu.Unlock()
		b := batch{recs: p.Records, pos: make([]Position, len(p.Records))}
		for i, r := range p.Records {
			b.pos[i] = Position{c: c, offset: r.Offset, producer: producerSession(r), epoch: r.LeaderEpoch}
		}
		last := p.Records[len(p.Records)-1].Offset
		lv, _ := s.lag.LoadOrStore(p.Topic+"/"+strconv.Itoa(int(p.Partition)), new(atomic.Int64))
		lv.(*atomic.Int64).Store(p.HighWatermark - last - 1)
		b.drained = last+1 >= p.HighWatermark
		bs = append(bs, b)
	})
	drained := s.cl.BufferedFetchRecords() == 0
	for i := range bs {
		drained = drained && bs[i].drained
	}
	rebalance := s.rebalance
	for i := 0; i < len(bs); {
		b := bs[i]
		b.drained = drained && i == len(bs)-1
		select {
		case s.batches <- b:
			i++
		case <-ctx.Done():
			return ctx.Err()
		case <-rebalance:
			// Next is slow (the sink is inserting or retrying) and the group waits for this
			// member: let the rebalance run now instead of holding the group up for the
			// rebalance timeout, and go on handing out. A revoke marks the claims of these
			// batches ended, so Next drops their records (whoever owns the partitions next
			// reads them again from the committed offset); a claim the rebalance left alone
			// keeps its records. Never drop here: the signal comes from a goroutine of its
			// own and may be stale, or be for an assignment or a lost session's cleanup,
			// and the client's fetch position is already past these records.
			s.cl.AllowRebalance()
			rebalance = nil
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
			s.mu.Lock()
			assigned := len(s.claims)
			s.mu.Unlock()
			s.log.Info("kafka lag", "messages_behind", total, "partitions", parts, "consuming", assigned)
		}
	}
}

// decompressPool reuses decompression buffers: without it every fetched batch is inflated into
// a new slice (most of the consumer's allocations on lz4 topics). A new buffer is allocated at
// the size the batch will inflate to, learned from the batches decompressed so far (see
// inflation): lz4 and gzip stream into a bytes.Buffer, which doubles a buffer that is too
// small, copying what it holds. Sized at a fixed 8× of the compressed bytes, records with
// schemas (~10×) grew every new buffer: bytes.growSlice allocated 41 MB of every 88 MB on the
// bench, and the memory limit's collections empty the pool often.
type decompressPool struct{ inflation *inflation }

// decompressBufs holds the buffers of recycled batches for the next ones. A free list, not a
// sync.Pool: the memory limit makes collections frequent, and each emptied the pool, so ~10% of
// the batches were decompressed into new buffers (400 MB allocated and zeroed per 1.7 M records
// with schemas on the bench, which in turn brought the next collection closer). It keeps at
// most freeBufs buffers; the consumer holds about that many batches at once (a fetch buffered
// by the client, the polls waiting for Next).
var decompressBufs struct {
	sync.Mutex
	free [][]byte
}

const freeBufs = 6

func (p decompressPool) GetDecompressBytes(compressed []byte, _ kgo.CompressionCodecType) []byte {
	want := p.inflation.size(len(compressed))
	f := &decompressBufs
	f.Lock()
	for i := len(f.free) - 1; i >= 0; i-- {
		if b := f.free[i]; cap(b) >= want {
			f.free = append(f.free[:i], f.free[i+1:]...)
			f.Unlock()
			return b
		}
	}
	f.Unlock()
	return make([]byte, 0, want)
}

// maxFreeBuf is the largest buffer the free list keeps: one batch far bigger than the fetch
// size (a batch is fetched whole) must not stay resident for the life of the process.
const maxFreeBuf = 16 << 20

func (decompressPool) PutDecompressBytes(b []byte) {
	if cap(b) > maxFreeBuf {
		return
	}
	f := &decompressBufs
	f.Lock()
	defer f.Unlock()
	if len(f.free) == freeBufs { // drop the smallest: the ones that fit the fewest batches
		small := 0
		for i, c := range f.free {
			if cap(c) < cap(f.free[small]) {
				small = i
			}
		}
		if cap(f.free[small]) >= cap(b) {
			return
		}
		f.free = append(f.free[:small], f.free[small+1:]...)
	}
	f.free = append(f.free, b[:0])
}

// inflation is the decompressed-to-compressed ratio of the batches read, in 1/16ths: the
// largest seen, decaying by 1/64 per batch so that one very compressible batch does not size
// every later buffer for long. Starts at 8×; at most 32× (a batch inflating more grows its
// buffer instead of making every buffer huge).
type inflation struct{ ratio atomic.Int64 }

const inflationStart, inflationMax = 8 * 16, 32 * 16

func (f *inflation) observe(decompressed, compressed int) {
	if compressed <= 0 {
		return
	}
	r := min(int64(decompressed)*16/int64(compressed), inflationMax)
	for {
		raw := f.ratio.Load()
		old := raw
		if old == 0 {
			old = inflationStart
		}
		next := max(r+1, old-old/64) // +1: round up, a buffer a little big beats one grown
		if f.ratio.CompareAndSwap(raw, next) {
			return
		}
	}
}

// size is the capacity a buffer needs for a batch of n compressed bytes: the expected
// decompressed size, plus the bytes.MinRead a bytes.Buffer wants free to see the end.
func (f *inflation) size(n int) int {
	r := f.ratio.Load()
	if r == 0 {
		r = inflationStart
	}
	return int(int64(n)*r/16) + int(int64(n)*r/128) + bytes.MinRead // 1/8 more: batches of a topic vary
}

// decompressor decodes Kafka's usual lz4 frames itself (lz4Frame) and anything else with
// franz-go's default decompressor, teaching the pool each batch's inflation. Wrapped, it
// bounds a decompressed batch at 2 GiB instead of the client's 1 GiB (a batch of either size is
// far beyond what the process is sized for).
type decompressor struct {
	kgo.Decompressor
	pool decompressPool
}

// maxDecompress is the default decompressor's bound, which lz4Frame keeps too.
const maxDecompress = math.MaxInt32

func newDecompressor(pool decompressPool) decompressor {
	return decompressor{kgo.DefaultDecompressor(pool), pool}
}

func (d decompressor) Decompress(src []byte, codec kgo.CompressionCodecType) ([]byte, error) {
	if codec == kgo.CodecLz4 {
		buf := d.pool.GetDecompressBytes(src, codec)
		if out, err := lz4Frame(buf, src, maxDecompress); err == nil {
			d.pool.inflation.observe(len(out), len(src))
			return out, nil
		}
		d.pool.PutDecompressBytes(buf)
	}
	out, err := d.Decompressor.Decompress(src, codec)
	if err == nil && codec != kgo.CodecNone {
		d.pool.inflation.observe(len(out), len(src))
	}
	return out, err
}

// recordPool reuses the slices the client decodes records into.
type recordPool struct{}

var recordSlices sync.Pool

func (recordPool) GetRecords(n int) []kgo.Record {
	if rs, ok := recordSlices.Get().([]kgo.Record); ok && cap(rs) >= n {
		return rs[:n]
	}
	return make([]kgo.Record, n)
}

func (recordPool) PutRecords(rs []kgo.Record) { recordSlices.Put(rs[:0]) } //nolint:staticcheck // a slice header per batch

// headers passes on the headers the ClickHouse sink reads: a record's __debezium.oldkey (it
// carries a primary-key change's unchanged-TOAST values from the old key) and
// __sluice.lsn_event (the place of a PostgreSQL row of a table without a key, see
// envelope.HeaderLSNEvent); nil for the others, so that the usual record costs nothing.
func headers(hs []kgo.RecordHeader) []envelope.Header {
	var out []envelope.Header
	for _, h := range hs {
		if h.Key == envelope.HeaderOldKey || h.Key == envelope.HeaderLSNEvent {
			out = append(out, envelope.Header{Key: h.Key, Value: h.Value})
		}
	}
	return out
}
