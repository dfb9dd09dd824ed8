// Command topictail prints the records of the Kafka topics matching a regular expression as
// JSON lines ({"topic","partition","offset","key","value"}, key and value as JSON when they
// are, else strings), from the oldest record on and then as they arrive. Topics created after
// it starts are picked up within a second. It is the demo's window on the topics
// (scripts/demo.sh); kcat does the same where it is installed.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	brokers := flag.String("brokers", "127.0.0.1:9092", "bootstrap brokers, host:port,…")
	topics := flag.String("topics", ".*", "regular expression the whole topic name must match")
	flag.Parse()
	re, err := regexp.Compile("^(?:" + *topics + ")$")
	if err != nil {
		fmt.Fprintln(os.Stderr, "topictail: --topics:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, strings.Split(*brokers, ","), re); err != nil && ctx.Err() == nil {
		fmt.Fprintln(os.Stderr, "topictail:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, brokers []string, re *regexp.Regexp) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...),
		kgo.ConsumeRegex(), kgo.ConsumeTopics(re.String()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// New topics are found by the metadata refresh: once a second.
		kgo.MetadataMinAge(500*time.Millisecond), kgo.MetadataMaxAge(time.Second))
	if err != nil {
		return err
	}
	defer cl.Close()
	out := json.NewEncoder(os.Stdout)
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		fs.EachRecord(func(m *kgo.Record) {
			out.Encode(map[string]any{"topic": m.Topic, "partition": m.Partition, "offset": m.Offset, "key": raw(m.Key), "value": raw(m.Value)})
		})
	}
}

// raw keeps JSON as JSON; anything else becomes a string (nil: null, a tombstone's value).
func raw(b []byte) any {
	if b == nil {
		return nil
	}
	if json.Valid(b) {
		return json.RawMessage(b)
	}
	return string(b)
}
