// Command topicops counts the records of a Kafka topic by the Debezium op of their value
// (c, u, d, r, …; "tombstone" for null values), reading every partition from the start to its
// end, and prints the counts as one JSON object. It reads read_committed, so the end is the
// last stable offset (the high watermark of a topic written without transactions). The snapshot
// kill test (bench/pgsnapkill.sh) uses it to count the snapshot rows a run of restarts emitted.
//
// Usage:
//
//	topicops -kafka BROKERS -topic T
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/twmb/franz-go/pkg/kgo"

	ikafka "github.com/sluicecdc/sluice/internal/kafka"
)

func main() {
	brokers := flag.String("kafka", "127.0.0.1:9092", "Kafka brokers")
	topic := flag.String("topic", "", "topic")
	flag.Parse()
	if err := run(*brokers, *topic); err != nil {
		fmt.Fprintln(os.Stderr, "topicops:", err)
		os.Exit(1)
	}
}

func run(brokers, topic string) error {
	ctx := context.Background()
	cc := ikafka.ClientConfig{Brokers: ikafka.ParseBrokers(brokers)}
	md, err := cc.Probe(ctx, "topicops", topic, cc.WithDefaults().RequestTimeout)
	if err != nil {
		return err
	}
	if !md.Exists {
		return fmt.Errorf("topic %s does not exist", topic)
	}
	counts := map[string]int64{}
	for p := range md.Partitions {
		err := cc.ReadCommittedToEnd(ctx, nil, topic, int32(p), func(r *kgo.Record) error {
			counts[op(r.Value)]++
			return nil
		})
		if err != nil {
			return err
		}
	}
	return json.NewEncoder(os.Stdout).Encode(counts)
}

// op finds the envelope's top-level "op" without decoding the whole value (with or without
// the Connect schema wrapper the op is the last "op" key of the payload).
func op(v []byte) string {
	if v == nil {
		return "tombstone"
	}
	i := bytes.LastIndex(v, []byte(`"op":"`))
	if i < 0 || i+7 > len(v) {
		return "?"
	}
	j := bytes.IndexByte(v[i+6:], '"')
	if j < 0 {
		return "?"
	}
	return string(v[i+6 : i+6+j])
}
