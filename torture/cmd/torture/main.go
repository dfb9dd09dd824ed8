// Command torture runs sluice under faults and checks that nothing was lost (issue 13): for each
// path (a private PostgreSQL 17/15, MariaDB or MySQL 9.7) a workload writes the whole time and
// records its own truth, and up to three pipelines capture it: source → Kafka (a private kfake),
// Kafka → ClickHouse (`sluice clickhouse`), source → ClickHouse (`--sink clickhouse`, offsets in
// a topic on a broker of their own). Faults hit sluice, the database, the brokers, ClickHouse,
// every link (through internal/testkit.Proxy) and the disk of the offsets file, on a random
// schedule with a printed seed. At the end, with faults stopped and every pipeline drained, the
// source tables are compared with the latest record per key in the topics and with the
// ClickHouse tables (FINAL). It prints the faults and a verdict per path and sink, writes a JSON
// report, and exits 1 on any loss or difference. See docs/torture.md; run it with
// `make torture` / `make torture-quick`.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Fault kinds, in report order. A path gets those that apply to its sinks (faultKindsFor).
var faultKinds = []string{"kill9", "sigstop", "db_restart_fast", "db_restart_immediate", "kafka_restart", "db_link_cut", "db_link_stall",
	"kafka_link_cut", "kafka_link_stall", "clickhouse_restart", "ch_link_cut", "ch_link_stall", "disk_full", "offsets_broker_down"}

// offsetsBrokerDown is how long offsets_broker_down keeps the offsets topic's broker down
// (issue 13: 30 s, far beyond one request's retries).
const offsetsBrokerDown = 30 * time.Second

type options struct {
	repo, infra, bin, out string
	paths, sinks          []string
	seed                  uint64
	quick, parallel, keep bool
	portBase              int
	sluiceArgs            []string
}

func main() {
	var o options
	var paths string
	flag.StringVar(&o.repo, "repo", ".", "repository root (for scripts/)")
	flag.StringVar(&o.infra, "infra-dir", "/tmp/sluice-torture", "state of the private servers (never the shared test servers')")
	flag.StringVar(&o.bin, "bin", "bin", "directory of the built sluice-postgres and sluice-mysql")
	flag.StringVar(&o.out, "out", "torture/results/latest.json", "JSON report")
	flag.StringVar(&paths, "paths", "pg17,mysql9", "paths to run: pg17, pg15, mariadb, mysql9")
	sinks := flag.String("sinks", strings.Join(allSinks, ","), "sinks every path feeds: kafka (source → Kafka), kafka-ch (→ Kafka → ClickHouse; needs kafka), ch (source → ClickHouse, offsets in a Kafka topic)")
	flag.Uint64Var(&o.seed, "seed", 0, "seed of the fault schedule and the workload (0: from the clock; printed)")
	flag.BoolVar(&o.quick, "quick", false, "a few faults of each kind (make torture-quick); default: ≥50 kill -9 and ≥10 of every other fault per path")
	flag.BoolVar(&o.parallel, "parallel", false, "run the paths at the same time")
	flag.BoolVar(&o.keep, "keep", false, "leave the private servers running afterwards")
	flag.IntVar(&o.portBase, "port-base", 41000, "private ports of path i: base+10*i+1 database, +2 broker, +3/+4 ClickHouse tcp/http, +5 offsets broker")
	extra := flag.String("sluice-args", "", "extra flags for sluice, space-separated (e.g. \"--kafka-linger 5ms\"; \"--skipped-operations d\" shows the checker catching lost deletes)")
	flag.Parse()
	o.sluiceArgs = strings.Fields(*extra)
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	o.paths = strings.Split(paths, ",")
	o.sinks = strings.Split(*sinks, ",")
	for _, s := range o.sinks {
		if !slices.Contains(allSinks, s) {
			log.Fatalf("torture: unknown sink %q (kafka, kafka-ch, ch)", s)
		}
	}
	if o.seed == 0 {
		o.seed = uint64(time.Now().UnixNano())
	}
	log.Printf("torture: seed %d (rerun with -seed %d), paths %s, sinks %s, quick %v", o.seed, o.seed, paths, *sinks, o.quick)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := run(ctx, o)
	if err != nil {
		log.Printf("torture: %v", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func run(ctx context.Context, o options) (int, error) {
	if err := os.MkdirAll(o.infra, 0o755); err != nil {
		return 0, err
	}
	// The unpacked PostgreSQL 17 and MySQL 9.7 trees are shared with the test servers' (read only).
	for _, d := range []string{"pg17-root", "mysql9-root"} {
		src := filepath.Join("/tmp/sluice-infra", d)
		dst := filepath.Join(o.infra, d)
		if _, err := os.Stat(dst); os.IsNotExist(err) {
			if _, err := os.Stat(filepath.Join(src, ".complete")); err == nil {
				os.Symlink(src, dst)
			}
		}
	}
	rep := &report{Seed: o.seed, Quick: o.quick, Started: time.Now().UTC(), Commit: gitCommit(o.repo)}
	var wg sync.WaitGroup
	var mu sync.Mutex
	results := make([]*pathResult, len(o.paths))
	for i, p := range o.paths {
		i, p := i, p
		do := func() {
			r := runPath(ctx, o, i, p)
			mu.Lock()
			results[i] = r
			mu.Unlock()
		}
		if o.parallel {
			wg.Add(1)
			go func() { defer wg.Done(); do() }()
		} else {
			do()
		}
	}
	wg.Wait()
	rep.Paths = results
	rep.DurationS = time.Since(rep.Started).Seconds()
	fmt.Print(rep.Markdown())
	if err := rep.write(o.out); err != nil {
		return 0, err
	}
	log.Printf("torture: report written to %s", o.out)
	if !rep.OK() {
		log.Printf("torture: FAILED (seed %d)", o.seed)
		return 1, nil
	}
	return 0, nil
}

func gitCommit(repo string) string {
	out, err := exec.Command("git", "-C", repo, "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// schedule is the fault plan of one path: kinds in a shuffled order, each with its gap before
// and its duration, all drawn from the seed.
type fault struct {
	Kind string
	Gap  time.Duration // wait before it
	Dur  time.Duration // how long the fault lasts (pause, outage, cut, stall)
	// Slack: disk_full leaves one page free (see stateDisk.Fill).
	Slack bool
}

func schedule(seed uint64, path string, quick bool, kindsOf []string) []fault {
	r := rand.New(rand.NewPCG(seed, hash(path)))
	var kinds []string
	for _, k := range kindsOf {
		n := 10
		if k == "kill9" {
			n = 50
		}
		if quick {
			n = 2
			if k == "offsets_broker_down" {
				n = 1 // 30 s each: one keeps the quick run short
			}
		}
		for range n {
			kinds = append(kinds, k)
		}
	}
	r.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	gap, dur := [2]int{2000, 6000}, [2]int{1000, 6000}
	if quick {
		gap, dur = [2]int{1000, 3000}, [2]int{500, 3000}
	}
	fs := make([]fault, len(kinds))
	disks := 0
	for i, k := range kinds {
		fs[i] = fault{Kind: k, Gap: ms(gap[0] + r.IntN(gap[1]-gap[0])), Dur: ms(dur[0] + r.IntN(dur[1]-dur[0]))}
		switch k {
		case "offsets_broker_down":
			fs[i].Dur = offsetsBrokerDown
		case "disk_full":
			fs[i].Dur = max(fs[i].Dur, 2*time.Second) // long enough for the ALTER it asks for to land on it
			fs[i].Slack = disks%2 == 1                // every other one
			disks++
		}
	}
	return fs
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func hash(s string) uint64 {
	var h uint64 = 14695981039346656037
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

// writeJSON is used by the report.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
