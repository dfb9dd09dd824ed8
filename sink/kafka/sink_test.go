package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicecdc/sluice/envelope"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/testkit"
)

type tokens struct {
	mu   sync.Mutex
	seen map[uint64]int
}

func (t *tokens) durable(tok uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.seen == nil {
		t.seen = map[uint64]int{}
	}
	t.seen[tok]++
}

func (t *tokens) count(tok uint64) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.seen[tok]
}

func newCluster(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

type consumed struct {
	partition int32
	key, val  []byte
	headers   map[string]string
}

func consumeAll(t *testing.T, addrs []string, topic string) (int, []consumed) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	meta, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		t.Fatal(err)
	}
	defer meta.Close()
	ends := endOffsets(ctx, t, meta, topic)
	want := map[int32]kgo.Offset{}
	for p, end := range ends {
		if end > 0 {
			want[p] = kgo.NewOffset().AtStart()
		}
	}
	var out []consumed
	if len(want) == 0 {
		return len(ends), out
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: want}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	next := map[int32]int64{}
	for done := 0; done < len(want); {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consume %s: %v", topic, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			h := map[string]string{}
			for _, rh := range r.Headers {
				h[rh.Key] = string(rh.Value)
			}
			out = append(out, consumed{r.Partition, r.Key, r.Value, h})
			next[r.Partition] = r.Offset + 1
			if r.Offset+1 == ends[r.Partition] {
				done++
			}
		})
	}
	return len(ends), out
}

// endOffsets returns the high watermark of every partition of topic.
func endOffsets(ctx context.Context, t *testing.T, cl *kgo.Client, topic string) map[int32]int64 {
	t.Helper()
	mreq := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(topic)
	mreq.Topics = append(mreq.Topics, mt)
	mresp, err := mreq.RequestWith(ctx, cl)
	if err != nil || len(mresp.Topics) != 1 {
		t.Fatalf("metadata of %s: %v", topic, err)
	}
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	for _, p := range mresp.Topics[0].Partitions {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = p.Partition, -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatalf("offsets of %s: %v", topic, err)
	}
	out := map[int32]int64{}
	for _, rt := range resp.Topics {
		for _, p := range rt.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				t.Fatalf("offsets of %s/%d: %v", topic, p.Partition, err)
			}
			out[p.Partition] = p.Offset
		}
	}
	return out
}

// TestSinkDelivers: records land on the murmur2 partition of their key, tombstones keep a null
// value, null keys stay null, headers survive, with every compression codec; each token is
// reported durable exactly once.
func TestSinkDelivers(t *testing.T) {
	for _, codec := range []string{"none", "lz4", "zstd", "snappy", "gzip"} {
		t.Run(codec, func(t *testing.T) {
			c := newCluster(t)
			var tk tokens
			s, err := New(Config{Client: ikafka.ClientConfig{Brokers: c.ListenAddrs()}, Compression: codec, Partitions: 3}, tk.durable)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			const n = 300
			for i := 1; i <= n; i++ {
				rec := envelope.Record{Topic: "db.inv.t", Key: fmt.Appendf(nil, `{"id":%d}`, i%17), Value: fmt.Appendf(nil, `{"n":%d}`, i)}
				switch i {
				case 10:
					rec.Value = nil // tombstone
				case 20:
					rec.Key = nil
				case 30:
					rec.Headers = []envelope.Header{{Key: "__debezium.oldkey", Value: []byte(`{"id":1}`)}}
				}
				if err := s.Send(ctx, &rec, uint64(i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			for i := uint64(1); i <= n; i++ {
				if got := tk.count(i); got != 1 {
					t.Fatalf("token %d reported durable %d times", i, got)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			parts, recs := consumeAll(t, c.ListenAddrs(), "db.inv.t")
			if parts != 3 || len(recs) != n {
				t.Fatalf("%d partitions, %d records; want 3, %d", parts, len(recs), n)
			}
			var tomb, nullKey, hdr int
			for _, r := range recs {
				switch {
				case r.key == nil:
					nullKey++
				case ikafka.Partition(r.key, 3) != r.partition:
					t.Fatalf("key %s on partition %d, murmur2 says %d", r.key, r.partition, ikafka.Partition(r.key, 3))
				}
				if r.val == nil {
					tomb++
				}
				if r.headers["__debezium.oldkey"] == `{"id":1}` {
					hdr++
				}
			}
			if tomb != 1 || nullKey != 1 || hdr != 1 {
				t.Fatalf("tombstones %d, null keys %d, headers %d; want 1 each", tomb, nullKey, hdr)
			}
		})
	}
}

// TestSinkBoundedMemory: with the buffer full (the broker holds produce requests), Send blocks
// until its context ends; after the broker answers, Flush completes.
func TestSinkBoundedMemory(t *testing.T) {
	c := newCluster(t)
	release := make(chan struct{})
	var once sync.Once
	c.ControlKey(kmsg.Produce.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) {
		once.Do(func() { <-release })
		return nil, nil, false
	})
	var tk tokens
	s, err := New(Config{Client: ikafka.ClientConfig{Brokers: c.ListenAddrs()}, MaxBufferedBytes: 100}, tk.durable)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := envelope.Record{Topic: "t", Key: []byte(`{"id":1}`), Value: make([]byte, 52)} // 60 bytes
	ctx := context.Background()
	if err := s.Send(ctx, &rec, 1); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Send(cctx, &rec, 2); !errors.Is(err, context.Canceled) {
		t.Fatalf("Send with a full buffer = %v, want context.Canceled", err)
	}
	close(release)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if tk.count(1) != 1 || tk.count(2) != 0 {
		t.Fatalf("durable: token 1 ×%d, token 2 ×%d; want 1, 0", tk.count(1), tk.count(2))
	}
	// The buffer is free again.
	if err := s.Send(ctx, &rec, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil || tk.count(3) != 1 {
		t.Fatalf("Flush %v, token 3 ×%d", err, tk.count(3))
	}
}

// TestSinkFailureIsSticky: a non-retriable produce error is never reported durable and makes
// later Send and Flush calls fail with it.
func TestSinkFailureIsSticky(t *testing.T) {
	c := newCluster(t)
	testkit.FailProduce(c, 10) // MESSAGE_TOO_LARGE
	var tk tokens
	s, err := New(Config{Client: ikafka.ClientConfig{Brokers: c.ListenAddrs()}}, tk.durable)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	rec := envelope.Record{Topic: "t", Key: []byte("k"), Value: []byte("v")}
	if err := s.Send(ctx, &rec, 1); err != nil {
		t.Fatal(err)
	}
	err = s.Flush(ctx)
	var perr *ProduceError
	if !errors.As(err, &perr) || !errors.Is(err, kerr.MessageTooLarge) || perr.Topic != "t" {
		t.Fatalf("Flush = %v, want a ProduceError for MESSAGE_TOO_LARGE", err)
	}
	if err2 := s.Send(ctx, &rec, 2); !errors.Is(err2, kerr.MessageTooLarge) {
		t.Fatalf("Send after failure = %v", err2)
	}
	if tk.count(1) != 0 {
		t.Fatal("failed record reported durable")
	}
}

func TestConfigValidate(t *testing.T) {
	err := (&Config{Compression: "brotli", Partitions: -1, Replication: -2, Linger: -time.Millisecond}).Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"no brokers", "brotli", "partitions -1", "replication -2", "linger -1ms"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	cl := kgoClient(t, Config{Client: ikafka.ClientConfig{Brokers: []string{"x:1"}}, Compression: "zstd"})
	if cl.OptValue(kgo.RequiredAcks) != kgo.AllISRAcks() || cl.OptValue(kgo.DisableIdempotentWrite) != false ||
		cl.OptValue(kgo.ProducerBatchMaxBytes) != int32(1<<20) || cl.OptValue(kgo.ProducerLinger) != time.Duration(0) ||
		cl.OptValue(kgo.RecordDeliveryTimeout) != 2*time.Minute {
		t.Fatalf("producer config not as documented: acks %v idempotence off %v batch %v linger %v delivery %v",
			cl.OptValue(kgo.RequiredAcks), cl.OptValue(kgo.DisableIdempotentWrite), cl.OptValue(kgo.ProducerBatchMaxBytes),
			cl.OptValue(kgo.ProducerLinger), cl.OptValue(kgo.RecordDeliveryTimeout))
	}
	cl = kgoClient(t, Config{Client: ikafka.ClientConfig{Brokers: []string{"x:1"}}, Linger: 5 * time.Millisecond})
	if cl.OptValue(kgo.ProducerLinger) != 5*time.Millisecond {
		t.Fatalf("linger 5ms: %v", cl.OptValue(kgo.ProducerLinger))
	}
}

// kgoClient is a client (not connected) with the sink's options for cfg.
func kgoClient(t *testing.T, cfg Config) *kgo.Client {
	t.Helper()
	opts, err := cfg.KgoOpts(nil)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func TestRetryable(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{kerr.NotEnoughReplicas, true},
		{kerr.NotLeaderForPartition, true},
		{kerr.MessageTooLarge, false},
		{kerr.InvalidRecord, false},
		{errors.New("other"), false},
	}
	for _, c := range cases {
		if got := (&ProduceError{Topic: "t", Err: c.err}).Retryable(); got != c.want {
			t.Errorf("%v: Retryable %v, want %v", c.err, got, c.want)
		}
	}
	_, err := New(Config{Client: ikafka.ClientConfig{Brokers: []string{"127.0.0.1:1"}, DeliveryTimeout: 300 * time.Millisecond}}, func(uint64) {})
	var r interface{ Retryable() bool }
	if !errors.As(err, &r) || !r.Retryable() {
		t.Fatalf("unreachable broker: %v, want a retryable error", err)
	}
}

// TestSinkRecordTooLarge: a record over MaxMessageBytes (counted as sarama counts it) is
// refused by Send before anything is produced, with a typed error the pipeline's failure
// policy can skip; the sink stays usable and never reports that token durable. It used to be
// queued, failed inside the producer, and stop the sink for good.
func TestSinkRecordTooLarge(t *testing.T) {
	c := newCluster(t)
	var tk tokens
	s, err := New(Config{Client: ikafka.ClientConfig{Brokers: c.ListenAddrs()}, MaxMessageBytes: 1000}, tk.durable)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	small := envelope.Record{Topic: "t", Key: []byte(`{"id":1}`), Value: make([]byte, 100)}
	big := envelope.Record{Topic: "t", Key: []byte(`{"id":2}`), Value: make([]byte, 1000-batchOverhead-36-8+1)} // one byte over
	fits := envelope.Record{Topic: "t", Key: []byte(`{"id":3}`), Value: make([]byte, 1000-batchOverhead-36-8)}
	if err := s.Send(ctx, &small, 1); err != nil {
		t.Fatal(err)
	}
	err = s.Send(ctx, &big, 2)
	var tl *RecordTooLargeError
	if !errors.As(err, &tl) || tl.Topic != "t" || string(tl.Key) != `{"id":2}` || tl.Size != 1001 || tl.Max != 1000 {
		t.Fatalf("Send of an oversized record = %v, want a RecordTooLargeError{t, {\"id\":2}, 1001, 1000}", err)
	}
	var skip interface{ Skippable() bool }
	if !errors.As(err, &skip) || !skip.Skippable() || tl.Retryable() {
		t.Fatal("RecordTooLargeError must be skippable and not retryable")
	}
	if !strings.Contains(err.Error(), "--kafka-max-message-bytes") {
		t.Fatalf("error does not name the flag: %v", err)
	}
	if err := s.Send(ctx, &fits, 3); err != nil {
		t.Fatalf("Send after a refused record: %v", err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if tk.count(1) != 1 || tk.count(2) != 0 || tk.count(3) != 1 {
		t.Fatalf("durable: %d %d %d, want 1 0 1", tk.count(1), tk.count(2), tk.count(3))
	}
	if _, recs := consumeAll(t, c.ListenAddrs(), "t"); len(recs) != 2 {
		t.Fatalf("%d records in Kafka, want 2", len(recs))
	}
}

// TestSinkDeliveryTimeout: a broker that takes requests and never answers fails the sink with
// a retryable DeliveryTimeoutError once a record has waited DeliveryTimeout, instead of
// leaving Flush (and the pipeline) blocked.
func TestSinkDeliveryTimeout(t *testing.T) {
	c := newCluster(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // before c.Close
	c.ControlKey(kmsg.Produce.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		<-release
		return nil, nil, false
	})
	var tk tokens
	s, err := New(Config{Client: ikafka.ClientConfig{Brokers: c.ListenAddrs(), DeliveryTimeout: time.Second}, CloseTimeout: time.Millisecond}, tk.durable)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rec := envelope.Record{Topic: "t", Key: []byte("k"), Value: []byte("v")}
	if err := s.Send(ctx, &rec, 1); err != nil {
		t.Fatal(err)
	}
	// While Kafka holds it, the sink accounts for it (pipeline.BufferReporter, StallReporter).
	if used, limit := s.BufferedBytes(); used != 2 || limit != DefaultMaxBufferedBytes {
		t.Errorf("BufferedBytes = %d, %d; want 2 (key + value), %d", used, limit, DefaultMaxBufferedBytes)
	}
	if r := s.StallReport(); !strings.Contains(r, "1 records (2 bytes) not acknowledged by Kafka; the oldest, to t,") {
		t.Errorf("StallReport = %q", r)
	}
	start := time.Now()
	err = s.Flush(ctx)
	var dt *DeliveryTimeoutError
	if !errors.As(err, &dt) || !dt.Retryable() || dt.Topic != "t" {
		t.Fatalf("Flush = %v after %s, want a retryable DeliveryTimeoutError", err, time.Since(start))
	}
	if err := s.Send(ctx, &rec, 2); !errors.As(err, &dt) {
		t.Fatalf("Send after the timeout = %v, want the sticky DeliveryTimeoutError", err)
	}
	if tk.count(1) != 0 {
		t.Fatal("unacknowledged record reported durable")
	}
}

// TestSinkBrokerDefaultReplication: topics the sink creates get the broker's default
// replication factor (here 3), not 1.
func TestSinkBrokerDefaultReplication(t *testing.T) {
	c := newCluster(t, kfake.NumBrokers(3))
	var tk tokens
	s, err := New(Config{Client: ikafka.ClientConfig{Brokers: c.ListenAddrs()}}, tk.durable)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	rec := envelope.Record{Topic: "t", Key: []byte("k"), Value: []byte("v")}
	if err := s.Send(ctx, &rec, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	req := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr("t")
	req.Topics = append(req.Topics, mt)
	resp, err := req.RequestWith(ctx, s.cl)
	if err != nil || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) == 0 {
		t.Fatalf("metadata: %v", err)
	}
	if r := resp.Topics[0].Partitions[0].Replicas; len(r) != 3 {
		t.Fatalf("replicas %v; want the broker default, 3", r)
	}
}

// TestSinkAuthorizationFailsFast: a produce the broker refuses for lack of ACLs fails the sink
// at once with an error that is not retryable.
func TestSinkAuthorizationFailsFast(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "t"))
	testkit.FailProduce(c, 29) // TOPIC_AUTHORIZATION_FAILED
	var tk tokens
	s, err := New(Config{Client: ikafka.ClientConfig{Brokers: c.ListenAddrs()}, NoCreateTopics: true}, tk.durable)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rec := envelope.Record{Topic: "t", Key: []byte("k"), Value: []byte("v")}
	if err := s.Send(ctx, &rec, 1); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = s.Flush(ctx)
	var perr *ProduceError
	if !errors.As(err, &perr) || !errors.Is(err, kerr.TopicAuthorizationFailed) || perr.Retryable() {
		t.Fatalf("Flush = %v, want a non-retryable authorization failure", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s", d)
	}
}

// TestRecordAtLimitDelivered: a record Send accepts (at most MaxMessageBytes as Send counts
// it: key, value, headers and a record's worst-case framing) fits the producer's batch limit,
// so it is delivered and never fails inside the producer for its size.
func TestRecordAtLimitDelivered(t *testing.T) {
	c := newCluster(t)
	var tk tokens
	const limit = 1000
	s, err := New(Config{Client: ikafka.ClientConfig{Brokers: c.ListenAddrs()}, MaxMessageBytes: limit}, tk.durable)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	recs := []envelope.Record{
		{Topic: "t", Key: []byte(`{"id":1}`)},
		{Topic: "t"},
		{Topic: "t", Key: []byte("k"), Headers: []envelope.Header{{Key: "__debezium.oldkey", Value: []byte(`{"id":0}`)}, {Key: "h", Value: nil}}},
	}
	for i := range recs {
		_, size := recordSize(&recs[i])
		recs[i].Value = make([]byte, limit-size) // exactly at the limit
		if _, size := recordSize(&recs[i]); size != limit {
			t.Fatalf("record %d: size %d, want %d", i, size, limit)
		}
		if err := s.Send(ctx, &recs[i], uint64(i+1)); err != nil {
			t.Fatalf("record %d at the limit: %v", i, err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if tk.count(uint64(i+1)) != 1 {
			t.Fatalf("record %d not durable", i)
		}
	}
}

// TestSinkPartitionsAsBefore: keyed records land on the partitions sarama's murmur2
// partitioner (sluice's producer before franz-go) and Kafka's Java default partitioner pick,
// so a user who upgrades keeps every key on its partition, in order. The expected partitions
// were computed with sarama.NewMurmur2Partitioner for a 7-partition topic.
func TestSinkPartitionsAsBefore(t *testing.T) {
	want := map[string]int32{"21": 3, "foobar": 0, "a-little-bit-long-string": 1, "a-little-bit-longer-string": 0, "abc": 4,
		`{"schema":{"type":"struct"},"payload":{"id":42}}`: 2}
	for i, p := range []int32{3, 5, 4, 2, 2, 0, 0, 2, 4, 4, 1, 5, 5, 1, 2, 1, 1, 6, 5, 2, 1, 0, 6, 3} {
		want[fmt.Sprintf(`{"id":%d}`, i+1)] = p
	}
	c := newCluster(t)
	var tk tokens
	s, err := New(Config{Client: ikafka.ClientConfig{Brokers: c.ListenAddrs()}, Partitions: 7}, tk.durable)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	tok := uint64(0)
	for k := range want {
		tok++
		if err := s.Send(ctx, &envelope.Record{Topic: "parts", Key: []byte(k), Value: []byte("v")}, tok); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	_, recs := consumeAll(t, c.ListenAddrs(), "parts")
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d", len(recs), len(want))
	}
	for _, r := range recs {
		if p := want[string(r.key)]; r.partition != p {
			t.Errorf("key %s on partition %d, want %d", r.key, r.partition, p)
		}
	}
}

// TestSinkBatchesWithinBrokerDefault: under load the producer's batches stay within the
// broker's default message.max.bytes (1 MiB + 12). They were allowed 1 MiB + 128, and a full
// batch failed the sink with MESSAGE_TOO_LARGE (seen in make bench, 340 k records of ~600
// bytes); TestConfigValidate pins the limit, 1 MiB.
func TestSinkBatchesWithinBrokerDefault(t *testing.T) {
	c := newCluster(t, kfake.BrokerConfigs(map[string]string{"message.max.bytes": "1048588"}))
	var biggest atomic.Int64
	release := make(chan struct{})
	var hold sync.Once
	c.ControlKey(kmsg.Produce.Int16(), func(r kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		for _, rt := range r.(*kmsg.ProduceRequest).Topics {
			for _, rp := range rt.Partitions {
				if n := int64(len(rp.Records)); n > biggest.Load() {
					biggest.Store(n)
				}
			}
		}
		hold.Do(func() { c.SleepControl(func() { <-release }) }) // a backlog builds: full batches
		return nil, nil, false
	})
	var tk tokens
	s, err := New(Config{Client: ikafka.ClientConfig{Brokers: c.ListenAddrs()}, MaxBufferedBytes: 16 << 20}, tk.durable)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	// 6 MB of small records sent at once: full batches, which end within a record (~110
	// bytes) of the batch limit.
	const n = 60000
	for i := uint64(1); i <= n; i++ {
		rec := envelope.Record{Topic: "big", Value: make([]byte, 90)}
		if err := s.Send(ctx, &rec, i); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	close(release)
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if b := biggest.Load(); b > 1048588 {
		t.Fatalf("biggest batch %d bytes, over the broker's default 1048588", b)
	}
}
