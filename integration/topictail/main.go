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
	"sync"
	"syscall"
	"time"

	"github.com/IBM/sarama"
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
	cfg := sarama.NewConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		return err
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return err
	}
	defer consumer.Close()
	var mu sync.Mutex // one line at a time on stdout
	out := json.NewEncoder(os.Stdout)
	var wg sync.WaitGroup
	defer wg.Wait()
	seen := map[string]bool{}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if err := client.RefreshMetadata(); err == nil {
			names, _ := client.Topics()
			for _, t := range names {
				if seen[t] || !re.MatchString(t) {
					continue
				}
				parts, err := client.Partitions(t)
				if err != nil {
					continue
				}
				seen[t] = true
				for _, p := range parts {
					pc, err := consumer.ConsumePartition(t, p, sarama.OffsetOldest)
					if err != nil {
						return fmt.Errorf("consume %s/%d: %w", t, p, err)
					}
					wg.Add(1)
					go func() {
						defer wg.Done()
						defer pc.Close()
						for {
							select {
							case <-ctx.Done():
								return
							case m, ok := <-pc.Messages():
								if !ok {
									return
								}
								mu.Lock()
								out.Encode(map[string]any{"topic": m.Topic, "partition": m.Partition, "offset": m.Offset, "key": raw(m.Key), "value": raw(m.Value)})
								mu.Unlock()
							}
						}
					}()
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
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
