// Command topicops counts the records of a Kafka topic by the Debezium op of their value
// (c, u, d, r, …; "tombstone" for null values), reading every partition from the start to its
// high watermark, and prints the counts as one JSON object. The snapshot kill test
// (bench/pgsnapkill.sh) uses it to count the snapshot rows a run of restarts emitted.
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
	"log/slog"
	"os"

	"github.com/IBM/sarama"

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
	sc, err := cc.Sarama("topicops")
	if err != nil {
		return err
	}
	cl, err := cc.Connect(ctx, slog.New(slog.DiscardHandler), sc)
	if err != nil {
		return err
	}
	defer cl.Close()
	parts, err := cl.Partitions(topic)
	if err != nil {
		return err
	}
	cons, err := sarama.NewConsumerFromClient(cl)
	if err != nil {
		return err
	}
	defer cons.Close()
	counts := map[string]int64{}
	for _, p := range parts {
		hwm, err := cl.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			return err
		}
		if hwm == 0 {
			continue
		}
		pc, err := cons.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			return err
		}
		for m := range pc.Messages() {
			counts[op(m.Value)]++
			if m.Offset >= hwm-1 {
				break
			}
		}
		pc.Close()
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
