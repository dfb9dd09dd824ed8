// Command kgodrain reads a topic from the start with a plain franz-go (kgo) consumer, no group
// and no sink, until it has read -n records, then exits. It is the Kafka read ceiling of the
// clickhouse bench section: the same broker and topic as `sluice clickhouse`, the same fetch
// size and decompression, nothing done per record but touching its value.
//
// With -source it reads through sluice's own consumer instead (source/kafka: the consumer
// group, its lz4 decoder and buffer reuse, Next as the pipeline calls it), with no sink: what
// `sluice clickhouse` spends before the first byte is parsed.
//
// Usage:
//
//	kgodrain -kafka BROKERS -topic T -n N [-fetch-bytes B] [-source]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"regexp"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	kafkasrc "github.com/sluicecdc/sluice/source/kafka"
)

func main() {
	brokers := flag.String("kafka", "127.0.0.1:9092", "Kafka brokers")
	topic := flag.String("topic", "", "topic")
	n := flag.Int("n", 0, "records to read")
	fetch := flag.Int("fetch-bytes", 128<<10, "fetch size (source/kafka's is 128 KiB)")
	viaSource := flag.Bool("source", false, "read through source/kafka (sluice's consumer), not a plain kgo client")
	flag.Parse()
	read := run
	if *viaSource {
		read = runSource
	}
	if err := read(*brokers, *topic, *n, int32(*fetch)); err != nil {
		fmt.Fprintln(os.Stderr, "kgodrain:", err)
		os.Exit(1)
	}
}

func run(brokers, topic string, n int, fetch int32) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(ikafka.ParseBrokers(brokers)...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(fetch), kgo.FetchMaxPartitionBytes(fetch))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx := context.Background()
	got, bytes, sum := 0, 0, 0
	for got < n {
		fs := cl.PollRecords(ctx, 256)
		if err := fs.Err0(); err != nil {
			return err
		}
		fs.EachRecord(func(r *kgo.Record) {
			got++
			bytes += len(r.Value)
			if len(r.Value) > 0 {
				sum += int(r.Value[len(r.Value)/2])
			}
		})
	}
	fmt.Printf("{\"records\":%d,\"bytes\":%d,\"touch\":%d}\n", got, bytes, sum)
	return nil
}

// runSource reads n records through source/kafka (its own fetch size; fetch is ignored) in a
// new consumer group, marking nothing.
func runSource(brokers, topic string, n int, _ int32) error {
	ctx := context.Background()
	src, err := kafkasrc.Open(ctx, kafkasrc.Config{Client: ikafka.ClientConfig{Brokers: ikafka.ParseBrokers(brokers)},
		Topics: regexp.QuoteMeta(topic), Group: "kgodrain-" + strconv.FormatInt(time.Now().UnixNano(), 36)})
	if err != nil {
		return err
	}
	defer src.Close()
	got, bytes, sum := 0, 0, 0
	for got < n {
		r, _, err := src.Next(ctx)
		if err != nil {
			return err
		}
		if r.Topic == "" {
			continue
		}
		got++
		bytes += len(r.Value)
		if len(r.Value) > 0 {
			sum += int(r.Value[len(r.Value)/2])
		}
	}
	fmt.Printf("{\"records\":%d,\"bytes\":%d,\"touch\":%d}\n", got, bytes, sum)
	return nil
}
