// Command snaprestarts lists what each restart of a snapshot kill test read again, and the read
// rate before it. It reads the table's topic of bench/pgsnapkill.sh or bench/mysnapkill.sh (one
// partition, a single integer key column): the snapshot reads (op r) come in key order within
// a run, so a read whose key is not above every key read before is a restart reading rows again. For each such restart
// it prints the key it resumed after, the highest key read before, the rows read again (the
// reads up to that key after the restart) and the read rate in the second before the restart
// (by the records' timestamps), then the total.
//
// Usage:
//
//	snaprestarts -kafka BROKERS -topic T
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"

	ikafka "github.com/sluicecdc/sluice/internal/kafka"
)

func main() {
	brokers := flag.String("kafka", "127.0.0.1:9092", "Kafka brokers")
	topic := flag.String("topic", "", "topic")
	flag.Parse()
	if err := run(*brokers, *topic); err != nil {
		fmt.Fprintln(os.Stderr, "snaprestarts:", err)
		os.Exit(1)
	}
}

// restart is one restart seen in the topic.
type restart struct {
	first, high int64 // the first key read after it; the highest key read before
	again       int64 // reads of keys ≤ high after it
	rate        int64 // reads in the second before it
}

func run(brokers, topic string) error {
	ctx := context.Background()
	cc := ikafka.ClientConfig{Brokers: ikafka.ParseBrokers(brokers)}
	var (
		high     int64 = -1 << 63
		reads    int64
		ts       []int64 // the reads' timestamps (ms), in order
		restarts []*restart
		cur      *restart // the restart whose re-reads are being counted
	)
	err := cc.ReadCommittedToEnd(ctx, nil, topic, 0, func(r *kgo.Record) error {
		if !isRead(r.Value) {
			return nil
		}
		k, ok := lastInt(r.Key, []byte(`"id":`))
		if !ok {
			return fmt.Errorf("record at offset %d: no integer id in key %q", r.Offset, r.Key)
		}
		reads++
		ms := r.Timestamp.UnixMilli()
		if k <= high {
			if cur == nil {
				i := sort.Search(len(ts), func(i int) bool { return ts[i] >= ts[len(ts)-1]-1000 })
				cur = &restart{first: k, high: high, rate: int64(len(ts) - i)}
				restarts = append(restarts, cur)
			}
			cur.again++
		} else {
			high, cur = k, nil
		}
		ts = append(ts, ms)
		return nil
	})
	if err != nil {
		return err
	}
	var total int64
	for i, r := range restarts {
		total += r.again
		fmt.Printf("restart %d: resumed at key %d, %d read before: %d rows read again; %d reads in the second before\n",
			i+1, r.first, r.high, r.again, r.rate)
	}
	fmt.Printf("reads %d, read again %d in %d restarts (%.0f a restart)\n", reads, total, len(restarts), float64(total)/float64(max(len(restarts), 1)))
	return nil
}

// isRead reports whether an envelope's op is "r": the payload's last "op" key (the schema,
// when present, comes first).
func isRead(v []byte) bool {
	i := bytes.LastIndex(v, []byte(`"op":"`))
	return i >= 0 && len(v) > i+6 && v[i+6] == 'r' && len(v) > i+7 && v[i+7] == '"'
}

// lastInt parses the integer after the last occurrence of key in b.
func lastInt(b, key []byte) (int64, bool) {
	i := bytes.LastIndex(b, key)
	if i < 0 {
		return 0, false
	}
	b = b[i+len(key):]
	j := 0
	for j < len(b) && (b[j] == '-' || b[j] >= '0' && b[j] <= '9') {
		j++
	}
	n, err := strconv.ParseInt(string(b[:j]), 10, 64)
	return n, err == nil
}
