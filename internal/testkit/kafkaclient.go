package testkit

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// KafkaClient is a franz-go client of brokers with opts added, closed with the test.
func KafkaClient(t testing.TB, brokers []string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// KafkaAdmin is franz-go's admin client of brokers, closed with the test.
func KafkaAdmin(t testing.TB, brokers []string, opts ...kgo.Opt) *kadm.Client {
	t.Helper()
	return kadm.NewClient(KafkaClient(t, brokers, opts...))
}

// KafkaProduce sends recs with cl and waits for their acknowledgement; a failure fails the test.
func KafkaProduce(t testing.TB, cl *kgo.Client, recs ...*kgo.Record) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// KafkaEndOffsets returns the high watermark of each partition of topic.
func KafkaEndOffsets(t testing.TB, adm *kadm.Client, topic string) map[int32]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = l.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	l.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

// KafkaGroupOffsets returns group's committed offset of each partition of topic it committed,
// or an error (a group still loading, a broker that does not answer).
func KafkaGroupOffsets(adm *kadm.Client, group, topic string) (map[int32]int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := adm.FetchOffsets(ctx, group)
	if err == nil {
		err = res.Error()
	}
	if err != nil {
		return nil, err
	}
	out := map[int32]int64{}
	for p, o := range res[topic] {
		out[p] = o.At
	}
	return out, nil
}

// KafkaReadAll returns every record of topic up to its end when called (its last stable
// offsets with read_committed), partition by partition, markers not included.
func KafkaReadAll(t testing.TB, brokers []string, topic string, iso kgo.IsolationLevel, opts ...kgo.Opt) []*kgo.Record {
	t.Helper()
	adm := KafkaAdmin(t, brokers, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list := adm.ListEndOffsets
	if iso == kgo.ReadCommitted() {
		list = adm.ListCommittedOffsets
	}
	l, err := list(ctx, topic)
	if err == nil {
		err = l.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	ends := map[int32]int64{}
	l.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			ends[o.Partition] = o.Offset
		}
	})
	if len(ends) == 0 {
		return nil
	}
	start := map[int32]kgo.Offset{}
	for p := range ends {
		start[p] = kgo.NewOffset().AtStart()
	}
	cl := KafkaClient(t, brokers, append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: start}),
		kgo.FetchIsolationLevel(iso), kgo.KeepControlRecords())...)
	var out []*kgo.Record
	for len(ends) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("read %s: %v (%d partitions short of their end)", topic, err, len(ends))
		}
		fs.EachError(func(_ string, p int32, err error) { t.Logf("read %s/%d: %v", topic, p, err) })
		fs.EachRecord(func(r *kgo.Record) {
			end, ok := ends[r.Partition]
			if !ok || r.Offset >= end {
				return
			}
			if !r.Attrs.IsControl() {
				out = append(out, r)
			}
			if r.Offset+1 >= end {
				delete(ends, r.Partition)
			}
		})
	}
	return out
}
