package kafka

import (
	"context"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestSourceDecompressesIntoReusedBuffers: records with schemas are ~3.6 kB of which ~3 kB
// repeat, so lz4 topics inflate ~10×. The consumer must decompress into reused buffers rather
// than allocate (or copy) every decompressed batch: sarama's clone of each batch was 74% of all
// bytes `sluice clickhouse` allocated, and most of its garbage collections.
func TestSourceDecompressesIntoReusedBuffers(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector drops sync.Pool items on purpose; run without -race")
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "db.big"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := c.ListenAddrs()
	const n, warm, size = 50000, 20000, 2048
	// 1 MiB batches, as the sink writes them (smaller ones cost the consumer per batch).
	p := testkit.KafkaClient(t, brokers, kgo.ProducerBatchCompression(kgo.Lz4Compression()), kgo.ProducerBatchMaxBytes(1<<20),
		kgo.ProducerLinger(10*time.Millisecond))
	// Compressible as such records are (~5×), so that the topic spans several fetches.
	pad := strings.Repeat(`{"type":"int64","optional":false,"field":"id"},`, size/60)
	rnd := rand.New(rand.NewPCG(1, 2))
	msgs := make([]*kgo.Record, 0, 1000)
	for i := 0; i < n; i += 1000 {
		msgs = msgs[:0]
		for j := i; j < i+1000; j++ {
			msgs = append(msgs, &kgo.Record{Topic: "db.big", Value: []byte(pad + strconv.FormatUint(rnd.Uint64(), 36) + strings.Repeat(strconv.FormatUint(rnd.Uint64(), 16), 16) + strconv.Itoa(j))})
		}
		testkit.KafkaProduce(t, p, msgs...)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	src, err := Open(ctx, Config{Client: ikafka.ClientConfig{Brokers: brokers}, Topics: `db\.big`, Group: "alloc"})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var before, after runtime.MemStats
	var got, bytes int
	for got < n {
		if got == warm { // the buffers in flight are allocated by now: measure the steady state
			runtime.ReadMemStats(&before)
		}
		rec, _, err := src.Next(ctx)
		if err != nil {
			t.Fatalf("after %d records: %v", got, err)
		}
		if rec.Topic != "" {
			got++
			if got > warm {
				bytes += len(rec.Value)
			}
		}
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d records, then %d MB of values: %d MB allocated, %d collections", warm, bytes>>20, alloc>>20, after.NumGC-before.NumGC)
	if alloc > uint64(bytes)/2 {
		t.Fatalf("consuming %d MB of decompressed values allocated %d MB: want under half, decompression buffers must be reused", bytes>>20, alloc>>20)
	}
}
