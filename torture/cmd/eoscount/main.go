// Command eoscount reads a Debezium topic to its end, read_committed and then
// read_uncommitted, and counts records, distinct row images ("after") and duplicated ones:
// the checker of torture/eos.sh.
//
//	eoscount [-want N] [-exactly-once] BROKER TOPIC
//
// With -want it exits 1 when read_committed shows fewer than N distinct rows (a lost change),
// and with -exactly-once also when read_committed shows a duplicate; it prints why.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	want := flag.Int("want", 0, "distinct rows read_committed must show (0: no check)")
	eos := flag.Bool("exactly-once", false, "fail on any read_committed duplicate")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: eoscount [-want N] [-exactly-once] BROKER TOPIC")
		os.Exit(2)
	}
	brokers, topic := flag.Arg(0), flag.Arg(1)
	var failed []string
	for _, iso := range []kgo.IsolationLevel{kgo.ReadCommitted(), kgo.ReadUncommitted()} {
		total, distinct, dup := count(brokers, topic, iso)
		fmt.Printf("%v: %d records, %d distinct, %d duplicated\n", iso, total, distinct, dup)
		if iso != kgo.ReadCommitted() {
			continue
		}
		if *want > 0 && distinct < *want {
			failed = append(failed, fmt.Sprintf("LOST: %d of %d rows missing read_committed", *want-distinct, *want))
		}
		if *eos && dup > 0 {
			failed = append(failed, fmt.Sprintf("DUPLICATED: %d rows read_committed more than once with --exactly-once", dup))
		}
	}
	for _, f := range failed {
		fmt.Println(f)
	}
	if len(failed) > 0 {
		os.Exit(1)
	}
}

// count reads topic from its start until it is quiet (20 s before the first record, 3 s after).
func count(brokers, topic string, iso kgo.IsolationLevel) (total, distinct, dup int) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.FetchIsolationLevel(iso), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "eoscount:", err)
		os.Exit(2)
	}
	defer cl.Close()
	seen := map[string]int{}
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
				} `json:"payload"`
				After json.RawMessage `json:"after"`
			}
			_ = json.Unmarshal(r.Value, &v)
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
	return total, len(seen), dup
}
