// Command eoscount reads a Debezium topic to its end, read_committed and then
// read_uncommitted, and counts records, distinct row images ("after") and duplicated ones:
// the checker of torture/eos.sh. Usage: eoscount BROKER TOPIC.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	brokers, topic := os.Args[1], os.Args[2]
	for _, iso := range []kgo.IsolationLevel{kgo.ReadCommitted(), kgo.ReadUncommitted()} {
		cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.FetchIsolationLevel(iso), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			panic(err)
		}
		seen := map[string]int{}
		dup, total := 0, 0
		quiet, wait := time.Now(), 20*time.Second
		for time.Since(quiet) < wait {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			fs := cl.PollFetches(ctx)
			cancel()
			fs.EachRecord(func(r *kgo.Record) {
				if r.Value == nil {
					return
				}
				var v struct {
					Payload struct {
						After json.RawMessage `json:"after"`
						Op    string          `json:"op"`
					} `json:"payload"`
					After json.RawMessage `json:"after"`
					Op    string          `json:"op"`
				}
				json.Unmarshal(r.Value, &v)
				a := v.After
				if a == nil {
					a = v.Payload.After
				}
				k := string(a)
				total++
				seen[k]++
				if seen[k] == 2 {
					dup++
				}
				quiet, wait = time.Now(), 3*time.Second
			})
		}
		cl.Close()
		fmt.Printf("%v: %d records, %d distinct, %d duplicated\n", iso, total, len(seen), dup)
	}
}
