// Command benchrun runs one benchmark subject as a child process and reports, as one JSON
// line on stdout, its wall time, its own CPU seconds and its peak RSS. A subject that exits by
// itself (pg_recvlogical --endpos, mariadb-binlog, a snapshot) is timed to its exit; a subject
// that runs forever (a sluice stream) is timed until a target is reached, then stopped with
// SIGTERM. Targets: a Prometheus counter of its /metrics endpoint, the summed high watermark
// of a Kafka topic, or the committed offsets of a consumer group on a topic. CPU and RSS are
// read from /proc at the moment the target is reached (so the shutdown is not counted); when
// the child exits by itself they come from its rusage.
//
// Usage:
//
//	benchrun [-stdout FILE] [-metrics URL -metric NAME] [-kafka BROKERS -topic T [-group G]]
//	         [-target N] [-timeout D] -- CMD ARGS...
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	ikafka "github.com/sluicecdc/sluice/internal/kafka"
)

type result struct {
	WallS    float64 `json:"wall_s"`
	CPUS     float64 `json:"cpu_s"`
	MaxRSSMB float64 `json:"maxrss_mb"`
	Count    int64   `json:"count"`
	Exit     int     `json:"exit"`
	Reached  bool    `json:"reached"`
}

func main() {
	var (
		stdoutPath = flag.String("stdout", "/dev/null", "where the child's stdout goes")
		stderrPath = flag.String("stderr", "", "where the child's stderr goes (default: ours)")
		metricsURL = flag.String("metrics", "", "poll this Prometheus text endpoint")
		metric     = flag.String("metric", "sluice_records_total", "counter to compare with -target")
		brokers    = flag.String("kafka", "", "Kafka brokers: poll the high watermark of -topic (or -group's committed offsets)")
		topic      = flag.String("topic", "", "Kafka topic for -kafka")
		group      = flag.String("group", "", "consumer group whose committed offsets on -topic are the count")
		committed  = flag.Bool("read-committed", false, "with -kafka -topic: count to the last stable offset (transactional producers: committed records and their markers)")
		target     = flag.Int64("target", 0, "stop the child once the count reaches this (0: wait for it to exit)")
		poll       = flag.Duration("poll", 20*time.Millisecond, "poll interval")
		timeout    = flag.Duration("timeout", 15*time.Minute, "give up after this long")
	)
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "benchrun: no command given")
		os.Exit(2)
	}
	res, err := run(*stdoutPath, *stderrPath, *metricsURL, *metric, *brokers, *topic, *group, *committed, *target, *poll, *timeout, flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchrun:", err)
	}
	b, _ := json.Marshal(res)
	fmt.Println(string(b))
	if err != nil {
		os.Exit(1)
	}
}

func run(stdoutPath, stderrPath, metricsURL, metric, brokers, topic, group string, committed bool, target int64,
	poll, timeout time.Duration, argv []string) (result, error) {
	var res result
	out, err := os.OpenFile(stdoutPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return res, err
	}
	defer out.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = os.Stdin
	cmd.Stdout = out
	cmd.Stderr = os.Stderr
	if stderrPath != "" {
		ef, err := os.OpenFile(stderrPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return res, err
		}
		defer ef.Close()
		cmd.Stderr = ef
	}
	var counter func() (int64, error)
	switch {
	case target <= 0:
	case metricsURL != "":
		hc := &http.Client{Timeout: 2 * time.Second}
		counter = func() (int64, error) { return scrape(hc, metricsURL, metric) }
	case brokers != "" && topic != "":
		client := ikafka.ClientConfig{Brokers: ikafka.ParseBrokers(brokers)}
		opts, err := client.Kgo("benchrun", nil)
		if err != nil {
			return res, err
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			return res, fmt.Errorf("kafka client: %w", err)
		}
		defer cl.Close()
		adm := kadm.NewClient(cl)
		switch {
		case group != "":
			counter = func() (int64, error) { return groupOffsets(adm, group, topic) }
		case committed: // the last stable offsets: committed records and their markers
			counter = func() (int64, error) { return endOffsets(adm.ListCommittedOffsets, topic) }
		default:
			counter = func() (int64, error) { return endOffsets(adm.ListEndOffsets, topic) }
		}
	default:
		return res, fmt.Errorf("-target needs -metrics or -kafka and -topic")
	}

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	pid := cmd.Process.Pid
	deadline := time.After(timeout)
	var waitErr error
	done := false
	if counter != nil {
		tick := time.NewTicker(poll)
	loop:
		for {
			select {
			case waitErr = <-exited:
				done = true
				break loop
			case <-deadline:
				_ = cmd.Process.Signal(syscall.SIGTERM)
				waitErr = <-exited
				done = true
				res.WallS = time.Since(start).Seconds()
				fillRusage(&res, cmd)
				return res, fmt.Errorf("timeout after %s (count %d of %d)", timeout, res.Count, target)
			case <-tick.C:
				n, err := counter()
				if err != nil {
					continue
				}
				res.Count = n
				if n >= target {
					res.WallS = time.Since(start).Seconds()
					res.Reached = true
					res.CPUS, res.MaxRSSMB = procStat(pid)
					break loop
				}
			}
		}
		tick.Stop()
		if !done {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case waitErr = <-exited:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				waitErr = <-exited
			}
			if res.MaxRSSMB == 0 {
				fillRusage(&res, cmd)
			}
			if ee, ok := waitErr.(*exec.ExitError); ok {
				res.Exit = ee.ExitCode()
			}
			return res, nil
		}
	} else {
		select {
		case waitErr = <-exited:
		case <-deadline:
			_ = cmd.Process.Kill()
			waitErr = <-exited
			res.WallS = time.Since(start).Seconds()
			fillRusage(&res, cmd)
			return res, fmt.Errorf("timeout after %s", timeout)
		}
	}
	// The child exited by itself.
	res.WallS = time.Since(start).Seconds()
	fillRusage(&res, cmd)
	if ee, ok := waitErr.(*exec.ExitError); ok {
		res.Exit = ee.ExitCode()
	}
	if counter != nil && !res.Reached {
		return res, fmt.Errorf("child exited (status %d) before the target (count %d of %d)", res.Exit, res.Count, target)
	}
	if res.Exit != 0 {
		return res, fmt.Errorf("child exited with status %d", res.Exit)
	}
	res.Reached = true
	return res, nil
}

func fillRusage(res *result, cmd *exec.Cmd) {
	if cmd.ProcessState == nil {
		return
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.CPUS = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
		res.MaxRSSMB = float64(ru.Maxrss) / 1024
	}
}

// procStat returns the CPU seconds (utime+stime) and peak RSS (VmHWM) of a live pid.
func procStat(pid int) (cpu, hwmMB float64) {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// Fields after the command name's closing parenthesis; utime and stime are 14 and 15.
		if i := bytes.LastIndexByte(b, ')'); i > 0 {
			f := strings.Fields(string(b[i+1:]))
			if len(f) > 13 {
				u, _ := strconv.ParseFloat(f[11], 64)
				s, _ := strconv.ParseFloat(f[12], 64)
				cpu = (u + s) / 100 // USER_HZ is 100 on Linux
			}
		}
	}
	if f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				hwmMB = kb / 1024
			}
		}
		f.Close()
	}
	return cpu, hwmMB
}

func scrape(hc *http.Client, url, metric string) (int64, error) {
	resp, err := hc.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, metric+" "); ok {
			// Prometheus' text format writes large counters as floats (1.5e+06), exactly.
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return int64(f), err
		}
	}
	return 0, fmt.Errorf("%s not in %s", metric, url)
}

// endOffsets sums the end offsets of topic's partitions as list reports them (the high
// watermarks, or the last stable offsets).
func endOffsets(list func(context.Context, ...string) (kadm.ListedOffsets, error), topic string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := list(ctx, topic)
	if err != nil {
		return 0, err
	}
	if err := l.Error(); err != nil {
		return 0, err
	}
	var sum int64
	l.Each(func(o kadm.ListedOffset) { sum += o.Offset })
	return sum, nil
}

func groupOffsets(adm *kadm.Client, group, topic string) (int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return 0, err
	}
	if err := r.Error(); err != nil {
		return 0, err
	}
	var sum int64
	for _, o := range r[topic] {
		if o.At > 0 {
			sum += o.At
		}
	}
	return sum, nil
}
