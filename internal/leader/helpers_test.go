package leader

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/offsets"
)

// fencedAndControl runs f as "fenced" (the case under test) and as "control" (the same steps
// without the fencing, to show the test would see the fault).
func fencedAndControl(t *testing.T, f func(t *testing.T, fenced bool)) {
	t.Run("fenced", func(t *testing.T) { f(t, true) })
	t.Run("control", func(t *testing.T) { f(t, false) })
}

// fenceEnv is a one-broker kfake and the Kafka offsets store of connector n, topic prefix p,
// on its topic "offsets".
type fenceEnv struct {
	ctx     context.Context // ends a minute on, or with the test
	cluster *kfake.Cluster
	client  kafka.ClientConfig
	store   *offsets.Kafka
	key     []byte // the store's record key
}

// newFenceEnv seeds topics with partitions each; all of it closes with the test.
func newFenceEnv(t *testing.T, partitions int32, topics ...string) *fenceEnv {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	client := kafka.ClientConfig{Brokers: c.ListenAddrs(), DeliveryTimeout: 5 * time.Second}
	store, err := offsets.NewKafka(ctx, offsets.KafkaConfig{Client: client, Topic: "offsets", Name: "n", TopicPrefix: "p"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return &fenceEnv{ctx: ctx, cluster: c, client: client, store: store, key: offsets.Key("n", "p")}
}
