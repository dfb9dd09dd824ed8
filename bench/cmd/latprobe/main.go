// Command latprobe measures commit → receipt latency. It inserts -n single-row transactions
// into public.orders about -gap apart (autocommit; the commit time is when the INSERT returns)
// and stamps the arrival of each row on two paths at once:
//   - Kafka: the Debezium record in -topic (sluice postgres --sink kafka, already running);
//   - reference: the lines of pg_recvlogical's test_decoding output (the command after --, run
//     as a child and stopped at the end, or stdin with -ref-stdin), which is the database's own
//     commit → receipt time on the same clock.
//
// With -direct it then sends as many records, as far apart, straight to Kafka with the sink's own
// producer settings (sink/kafka.Config.KgoOpts) to the topic latprobe.direct and times
// send → consumed: what the Kafka hop alone (producer, broker, this consumer) costs, i.e. the
// part of commit → Kafka that is not sluice's capture and encoding.
//
// It prints one JSON object: p50/p99/max in milliseconds per path and the counts.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kgo"

	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/sink/kafka"
)

type stamps struct {
	mu sync.Mutex
	at map[int64]time.Time
}

func (s *stamps) put(id int64, t time.Time) {
	s.mu.Lock()
	if _, ok := s.at[id]; !ok {
		s.at[id] = t
	}
	s.mu.Unlock()
}

func main() {
	var (
		dsn     = flag.String("dsn", "", "PostgreSQL DSN (inserts)")
		brokers = flag.String("kafka", "", "Kafka brokers")
		topic   = flag.String("topic", "", "topic sluice writes the table to")
		n       = flag.Int("n", 2000, "single-row transactions")
		gap     = flag.Duration("gap", 2*time.Millisecond, "pause between transactions")
		ref     = flag.Bool("ref-stdin", false, "read pg_recvlogical test_decoding lines from stdin as the reference")
		wait    = flag.Duration("wait", 5*time.Second, "how long to wait for the last records")
		direct  = flag.Bool("direct", false, "also time send → consumed of a record produced directly (topic latprobe.direct)")
	)
	flag.Parse()
	var in io.Reader = os.Stdin
	stop := func() {}
	if flag.NArg() > 0 {
		cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err == nil {
			err = cmd.Start()
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "latprobe: reference command:", err)
			os.Exit(1)
		}
		stop = func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }
		in, *ref = out, true
	}
	err := run(in, *dsn, *brokers, *topic, *n, *gap, *ref, *wait, *direct)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "latprobe:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, dsn, brokers, topic string, n int, gap time.Duration, ref bool, wait time.Duration, direct bool) error {
	ctx := context.Background()
	commits := &stamps{at: map[int64]time.Time{}}
	viaKafka := &stamps{at: map[int64]time.Time{}}
	viaRef := &stamps{at: map[int64]time.Time{}}
	sends := &stamps{at: map[int64]time.Time{}}
	viaDirect := &stamps{at: map[int64]time.Time{}}

	client := ikafka.ClientConfig{Brokers: ikafka.ParseBrokers(brokers)}
	base, err := client.Kgo("latprobe", nil)
	if err != nil {
		return err
	}
	topics := []string{topic}
	var prod *kgo.Client
	if direct {
		admin, err := kgo.NewClient(base...)
		if err != nil {
			return err
		}
		_, err = client.EnsureTopicKgo(ctx, nil, admin, &ikafka.Topic{Name: directTopic, Partitions: 1, Replication: 1})
		admin.Close()
		if err != nil {
			return err
		}
		kc := kafka.Config{Client: client}
		opts, err := kc.KgoOpts(nil)
		if err != nil {
			return err
		}
		if prod, err = kgo.NewClient(opts...); err != nil {
			return err
		}
		defer prod.Close()
		topics = append(topics, directTopic)
	}
	// One consumer of every partition of the topics from their ends, fetching each record as
	// soon as it is there.
	cons, err := kgo.NewClient(append(base, kgo.ConsumeTopics(topics...), kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()),
		kgo.FetchMinBytes(1), kgo.FetchMaxWait(50*time.Millisecond))...)
	if err != nil {
		return err
	}
	defer cons.Close()
	go consume(cons, map[string]*stamps{topic: viaKafka, directTopic: viaDirect})
	if ref {
		go func() {
			sc := bufio.NewScanner(in)
			sc.Buffer(make([]byte, 1<<20), 1<<24)
			for sc.Scan() {
				t := time.Now()
				l := sc.Text()
				_, rest, ok := strings.Cut(l, ": INSERT: id[bigint]:")
				if !ok {
					continue
				}
				if i := strings.IndexByte(rest, ' '); i >= 0 {
					rest = rest[:i]
				}
				if id, err := strconv.ParseInt(rest, 10, 64); err == nil {
					viaRef.put(id, t)
				}
			}
		}()
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	time.Sleep(time.Second) // consumers positioned
	for i := range n {
		var id int64
		err := conn.QueryRow(ctx, `INSERT INTO orders(customer_id,amount,status,created_at,payload) VALUES ($1,1.00,'new',now(),'{"a":1}') RETURNING id`, i).Scan(&id)
		if err != nil {
			return err
		}
		commits.put(id, time.Now())
		time.Sleep(gap)
	}
	// The Kafka hop alone, after the transactions (so the two do not share the broker): the same
	// count of records, the same gap.
	for i := range int64(n) {
		if prod == nil {
			break
		}
		sends.put(i, time.Now())
		prod.Produce(ctx, &kgo.Record{Topic: directTopic, Key: []byte(strconv.FormatInt(i, 10)),
			Value: []byte(`{"after":{"id":` + strconv.FormatInt(i, 10) + `}}`)}, func(_ *kgo.Record, err error) {
			if err != nil {
				fmt.Fprintln(os.Stderr, "latprobe: direct produce:", err)
			}
		})
		time.Sleep(gap)
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		viaKafka.mu.Lock()
		k := len(viaKafka.at)
		viaKafka.mu.Unlock()
		viaRef.mu.Lock()
		r := len(viaRef.at)
		viaRef.mu.Unlock()
		viaDirect.mu.Lock()
		d := len(viaDirect.at)
		viaDirect.mu.Unlock()
		if k >= n && (!ref || r >= n) && (!direct || d >= n) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	out := map[string]any{"n": n}
	for name, s := range map[string]*stamps{"kafka": viaKafka, "ref": viaRef, "direct": viaDirect} {
		if name == "ref" && !ref || name == "direct" && !direct {
			continue
		}
		from := commits
		if name == "direct" {
			from = sends
		}
		var lat []float64
		s.mu.Lock()
		for id, c := range from.at {
			if t, ok := s.at[id]; ok {
				lat = append(lat, float64(t.Sub(c).Microseconds())/1000)
			}
		}
		s.mu.Unlock()
		slices.Sort(lat)
		q := func(p float64) float64 {
			if len(lat) == 0 {
				return 0
			}
			return lat[min(len(lat)-1, int(p*float64(len(lat))))]
		}
		out[name] = map[string]any{"count": len(lat), "p50_ms": q(0.5), "p99_ms": q(0.99), "max_ms": q(1)}
	}
	b, _ := json.Marshal(out)
	fmt.Println(string(b))
	return nil
}

// directTopic receives -direct's records.
const directTopic = "latprobe.direct"

// consume stamps the arrival of every record cl polls in the stamps of its topic, by the row
// id in the record's "after" (with or without the JsonConverter schema/payload wrapper),
// until cl is closed.
func consume(cl *kgo.Client, dst map[string]*stamps) {
	for {
		fs := cl.PollFetches(context.Background())
		if fs.IsClientClosed() {
			return
		}
		t := time.Now()
		fs.EachRecord(func(m *kgo.Record) {
			var v struct {
				Payload *struct {
					After *struct {
						ID int64 `json:"id"`
					} `json:"after"`
				} `json:"payload"`
				After *struct {
					ID int64 `json:"id"`
				} `json:"after"`
			}
			if json.Unmarshal(m.Value, &v) != nil {
				return
			}
			switch {
			case v.Payload != nil && v.Payload.After != nil:
				dst[m.Topic].put(v.Payload.After.ID, t)
			case v.After != nil:
				dst[m.Topic].put(v.After.ID, t)
			}
		})
	}
}
