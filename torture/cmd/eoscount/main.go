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
	"strings"
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
		total, distinct, dup, dups := count(brokers, topic, iso)
		fmt.Printf("%v: %d records, %d distinct, %d duplicated\n", iso, total, distinct, dup)
		if iso != kgo.ReadCommitted() {
			continue
		}
		if *eos && dup > 0 {
			// Where the copies are (rows, their source places, topic offsets) says which fault
			// made them: a transaction's rows twice, a kill point, a broker restart.
			fmt.Println(dups)
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
func count(brokers, topic string, iso kgo.IsolationLevel) (total, distinct, dup int, dups string) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.FetchIsolationLevel(iso), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		fmt.Fprintln(os.Stderr, "eoscount:", err)
		os.Exit(2)
	}
	defer cl.Close()
	seen := map[string]int{}
	first := map[string]string{}
	var runs []string
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
					After  json.RawMessage `json:"after"`
					Source json.RawMessage `json:"source"`
				} `json:"payload"`
				After  json.RawMessage `json:"after"`
				Source json.RawMessage `json:"source"`
			}
			_ = json.Unmarshal(r.Value, &v)
			a, src := v.After, v.Source
			if a == nil {
				a, src = v.Payload.After, v.Payload.Source
			}
			here := fmt.Sprintf("p%d@%d %s", r.Partition, r.Offset, place(src))
			k := string(a)
			total++
			seen[k]++
			switch seen[k] {
			case 1:
				first[k] = here
			case 2:
				dup++
				if len(runs) < 10 {
					runs = append(runs, fmt.Sprintf("  %s: first %s, again %s", k, first[k], here))
				}
			}
			quiet, wait = time.Now(), 3*time.Second
		})
	}
	return total, len(seen), dup, strings.Join(runs, "\n")
}

// place is the source's binlog or WAL place of a record (file, pos, gtid, row, lsn), short.
func place(src json.RawMessage) string {
	var s map[string]any
	if json.Unmarshal(src, &s) != nil {
		return ""
	}
	var b strings.Builder
	for _, k := range []string{"file", "pos", "gtid", "row", "lsn"} {
		if v, ok := s[k]; ok && v != nil {
			fmt.Fprintf(&b, " %s=%v", k, v)
		}
	}
	return strings.TrimSpace(b.String())
}
