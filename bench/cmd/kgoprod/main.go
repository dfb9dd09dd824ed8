// Command kgoprod is the Kafka reference of the benchmarks: a plain franz-go (kgo) producer
// with sluice's guarantees (idempotent, acks=all, murmur2 per-key partitioning, so per-key
// order, 1 MiB batches, no linger) sending the same records sluice produced. It has two steps:
//
//	kgoprod convert IN.jsonl OUT.bin    stdout-sink lines ({"topic","key","value",…}) to a
//	                                     compact length-prefixed file (not timed)
//	kgoprod -brokers B [-topic T] [-partitions N] [-compression C] OUT.bin
//
// It exits when every record is acknowledged; -topic overrides the records' topic (so the
// reference writes its own topic, created first).
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "convert" {
		if len(os.Args) != 4 {
			fmt.Fprintln(os.Stderr, "usage: kgoprod convert IN.jsonl OUT.bin")
			os.Exit(2)
		}
		if err := convert(os.Args[2], os.Args[3]); err != nil {
			fmt.Fprintln(os.Stderr, "kgoprod:", err)
			os.Exit(1)
		}
		return
	}
	brokers := flag.String("brokers", "127.0.0.1:9092", "Kafka brokers")
	topic := flag.String("topic", "", "send to this topic instead of each record's")
	partitions := flag.Int("partitions", 1, "partitions of the topic to create")
	compression := flag.String("compression", "none", "record batch compression: none|lz4|zstd|snappy|gzip")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: kgoprod -brokers B [-topic T] FILE | kgoprod convert IN.jsonl OUT.bin")
		os.Exit(2)
	}
	if err := produce(strings.Split(*brokers, ","), *topic, int32(*partitions), *compression, flag.Arg(0)); err != nil {
		fmt.Fprintln(os.Stderr, "kgoprod:", err)
		os.Exit(1)
	}
}

func codec(s string) (kgo.CompressionCodec, error) {
	switch s {
	case "", "none":
		return kgo.NoCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	}
	return kgo.CompressionCodec{}, fmt.Errorf("compression %q", s)
}

func produce(brokers []string, topic string, partitions int32, compression, file string) error {
	c, err := codec(compression)
	if err != nil {
		return err
	}
	ctx := context.Background()
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(brokers...),
		kgo.RequiredAcks(kgo.AllISRAcks()), // idempotence is kgo's default; it needs acks=all
		kgo.ProducerLinger(0),
		kgo.ProducerBatchMaxBytes(1<<20),
		kgo.ProducerBatchCompression(c),
		kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)), // murmur2 of the key, as Kafka's Java client and sluice
		kgo.MaxBufferedBytes(4<<20),                          // sluice's default --kafka-max-buffered-bytes
	)
	if err != nil {
		return err
	}
	defer cl.Close()
	if topic != "" {
		req := kmsg.NewPtrCreateTopicsRequest()
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, partitions, 1
		req.Topics = append(req.Topics, rt)
		req.TimeoutMillis = 30000
		resp, err := req.RequestWith(ctx, cl)
		if err == nil && len(resp.Topics) == 1 {
			if e := kerr.ErrorForCode(resp.Topics[0].ErrorCode); e != nil && !errors.Is(e, kerr.TopicAlreadyExists) {
				err = e
			}
		}
		if err != nil {
			return fmt.Errorf("create %s: %w", topic, err)
		}
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var (
		mu       sync.Mutex
		firstErr error
		n        int64
	)
	promise := func(_ *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}
	}
	for {
		t, _, err := readField(r)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		k, knull, err := readField(r)
		if err != nil {
			return err
		}
		v, vnull, err := readField(r)
		if err != nil {
			return err
		}
		rec := &kgo.Record{Topic: string(t)}
		if topic != "" {
			rec.Topic = topic
		}
		if !knull {
			rec.Key = k
		}
		if !vnull {
			rec.Value = v
		}
		cl.Produce(ctx, rec, promise) // blocks while MaxBufferedBytes are unacknowledged
		n++
	}
	if err := cl.Flush(ctx); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	fmt.Fprintf(os.Stderr, "kgoprod: %d records acked\n", n)
	if firstErr != nil {
		return errors.Join(errors.New("a record failed"), firstErr)
	}
	return nil
}

// readField reads one field of the record file (convert): uvarint(len+1) and the bytes, 0 = null.
func readField(r *bufio.Reader) ([]byte, bool, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, false, err
	}
	if n == 0 {
		return nil, true, nil
	}
	b := make([]byte, n-1)
	_, err = io.ReadFull(r, b)
	return b, false, err
}
