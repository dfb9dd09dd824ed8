package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pglogrepl"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// The sinks a path feeds, each a pipeline of its own sluice process(es) on the same workload.
const (
	sinkKafka   = "kafka"    // source → Kafka (kfake): sluice-postgres / sluice-mysql, offsets file on the state tmpfs
	sinkKafkaCH = "kafka-ch" // source → Kafka → ClickHouse: `sluice clickhouse` consuming the kafka sink's topics
	sinkCH      = "ch"       // source → ClickHouse: `sluice postgres|mysql --sink clickhouse`, offsets in a topic on their own broker
)

var allSinks = []string{sinkKafka, sinkKafkaCH, sinkCH}

// sinkLabel is a sink's name in the report.
func sinkLabel(s string) string {
	return map[string]string{sinkKafka: "Kafka", sinkKafkaCH: "Kafka → ClickHouse", sinkCH: "ClickHouse"}[s]
}

// pathResult is one path's part of the report: the workload and the faults, and one result
// per sink.
type pathResult struct {
	Path            string         `json:"path"`
	Source          string         `json:"source"`
	Faults          map[string]int `json:"faults"`
	FaultsFailed    int            `json:"faults_failed"`
	RowsWritten     int64          `json:"rows_written"`
	Txns            int64          `json:"txns"`
	BigTxns         int64          `json:"big_txns"`
	Alters          int64          `json:"alters"`
	WorkloadErrors  int64          `json:"workload_errors"`
	UnknownCommits  int64          `json:"unknown_commits"`
	TruthMismatch   int            `json:"truth_mismatch"`
	TruthExamples   []string       `json:"truth_examples,omitempty"`
	DBFastStopHangs int            `json:"db_fast_stop_hangs"`
	Sinks           []*sinkResult  `json:"sinks"`
	Error           string         `json:"error,omitempty"`
	DurationS       float64        `json:"duration_s"`
}

// sinkResult is the checker's verdict on one sink of a path.
type sinkResult struct {
	Sink          string        `json:"sink"`
	Records       int           `json:"records"` // change records in the topics, or rows in the ClickHouse tables (FINAL)
	Lost          int           `json:"lost"`
	Differing     int           `json:"differing"`
	Undeleted     int           `json:"undeleted"`
	Duplicated    int           `json:"duplicated"`
	Unreadable    int           `json:"unreadable"`
	Unavailable   int           `json:"unavailable"`
	Parked        int           `json:"parked"` // ClickHouse: records in _sluice_parked (not applied)
	LongestStallS float64       `json:"longest_stall_s"`
	Drained       bool          `json:"drained"`
	DrainS        float64       `json:"drain_s"`
	DrainError    string        `json:"drain_error,omitempty"`
	SluiceExits   int           `json:"sluice_unexpected_exits"`
	ExitExamples  []string      `json:"sluice_exit_examples,omitempty"`
	Tables        []tableResult `json:"tables"`
	Log           string        `json:"sluice_log"`
}

// ok fails what the guarantee forbids: ClickHouse must equal the source, so a row stored twice
// there fails the run; Kafka is at-least-once, so its duplicates only count.
func (s *sinkResult) ok() bool {
	dups := 0
	if s.Sink != sinkLabel(sinkKafka) {
		dups = s.Duplicated
	}
	return s.Drained && s.Lost+s.Differing+s.Undeleted+s.Unreadable+s.Parked+dups == 0
}

// ok judges sluice: every sink against the source. The workload's truth (TruthMismatch) is
// the harness's own account of what it committed; it can miss a commit whose outcome a fault
// hid from the client, and the sinks are compared with the source, not with it, so a mismatch
// is reported but does not fail the run.
func (r *pathResult) ok() bool {
	if r.Error != "" || len(r.Sinks) == 0 {
		return false
	}
	for _, s := range r.Sinks {
		if !s.ok() {
			return false
		}
	}
	return true
}

// pipe is one sink's pipeline: its supervised sluice process and where it keeps its position.
type pipe struct {
	sink         string
	sup          *supervisor
	res          *sinkResult
	chDB         string // ClickHouse database (kafka-ch, ch)
	offsetsFile  string // kafka
	offsetsTopic string // ch
	prog         *progress
}

type pathEnv struct {
	o       options
	name    string
	pg      bool
	db      *server
	kafka   *broker // the data broker (kafka, kafka-ch)
	okafka  *broker // the offsets broker of the ch sink
	ch      *chServer
	chConn  driver.Conn    // the harness's own connection: direct, never through the proxy
	chProxy *testkit.Proxy // sluice ↔ ClickHouse
	proxy   *testkit.Proxy // sluice ↔ database
	disk    *stateDisk
	work    string
	admin   sqlDB // the workload's and the checker's connection: direct, never through the proxy
	prefix  string
	pipes   []*pipe
	w       *workload

	fastStopHangs int
}

func (e *pathEnv) has(sink string) bool {
	for _, p := range e.pipes {
		if p.sink == sink {
			return true
		}
	}
	return false
}

// faultKindsFor is the faults that apply to a path with these sinks: the Kafka faults need the
// data broker, the ClickHouse faults a ClickHouse sink, disk_full the offsets file (kafka sink),
// offsets_broker_down the offsets topic (ch sink).
func faultKindsFor(sinks []string) []string {
	has := map[string]bool{}
	for _, s := range sinks {
		has[s] = true
	}
	var out []string
	for _, k := range faultKinds {
		switch {
		case strings.HasPrefix(k, "kafka_") && !has[sinkKafka]:
		case (k == "clickhouse_restart" || strings.HasPrefix(k, "ch_")) && !has[sinkKafkaCH] && !has[sinkCH]:
		case k == "disk_full" && !has[sinkKafka]:
		case k == "offsets_broker_down" && !has[sinkCH]:
		default:
			out = append(out, k)
		}
	}
	return out
}

func runPath(ctx context.Context, o options, i int, name string) *pathResult {
	t0 := time.Now()
	r := &pathResult{Path: name, Faults: map[string]int{}}
	for _, k := range faultKindsFor(o.sinks) {
		r.Faults[k] = 0
	}
	err := runPathErr(ctx, o, i, name, r)
	if err != nil {
		r.Error = err.Error()
		log.Printf("[%s] error: %v", name, err)
	}
	r.DurationS = time.Since(t0).Seconds()
	return r
}

func runPathErr(ctx context.Context, o options, i int, name string, r *pathResult) error {
	e := &pathEnv{o: o, name: name, prefix: "tt_" + name}
	var dbName string
	switch name {
	case "pg17", "pg15":
		e.pg, dbName = true, "postgres"+strings.TrimPrefix(name, "pg")
	case "mariadb", "mysql9":
		dbName = name
	default:
		return fmt.Errorf("unknown path %q (pg17, pg15, mariadb, mysql9)", name)
	}
	port := func(n int) int { return o.portBase + 10*i + n }
	e.db = newServer(o.repo, o.infra, dbName, port(1))
	e.work = filepath.Join(o.infra, "work-"+name)
	state := filepath.Join(e.work, "state")
	syscall.Unmount(state, syscall.MNT_DETACH) // left mounted by an interrupted run
	os.RemoveAll(e.work)
	if err := os.MkdirAll(e.work, 0o755); err != nil {
		return err
	}
	logf := func(format string, args ...any) { log.Printf("["+name+"] "+format, args...) }
	sinks := map[string]bool{}
	for _, s := range o.sinks {
		sinks[s] = true
	}
	if sinks[sinkKafkaCH] && !sinks[sinkKafka] {
		return fmt.Errorf("sink %s consumes the topics of sink %s: give both", sinkKafkaCH, sinkKafka)
	}

	// Servers: the database kept between runs (its torture database is recreated), the brokers
	// and ClickHouse started empty.
	var err error
	logf("starting %s on %s", dbName, e.db.addr())
	if err := e.db.Start(ctx); err != nil {
		return err
	}
	if !o.keep {
		defer e.db.Stop(context.WithoutCancel(ctx))
	}
	startBroker := func(dir string, port int) (*broker, error) {
		os.RemoveAll(dir)
		b, err := newBroker(filepath.Join(o.bin, "kfakebroker"), dir, port)
		if err != nil {
			return nil, err
		}
		if err := b.Start(ctx); err != nil {
			b.Close()
			return nil, err
		}
		return b, nil
	}
	stopBroker := func(b *broker) {
		b.Close()
		if !o.keep { // a full run writes GBs; the broker's log file stays
			os.RemoveAll(filepath.Join(b.dir, "data"))
		}
	}
	if sinks[sinkKafka] {
		if e.kafka, err = startBroker(filepath.Join(o.infra, "kafka-"+name), port(2)); err != nil {
			return err
		}
		defer stopBroker(e.kafka)
		logf("kfake on 127.0.0.1:%d (through %s)", port(2), e.kafka.addr())
	}
	if sinks[sinkCH] {
		if e.okafka, err = startBroker(filepath.Join(o.infra, "kafka-offsets-"+name), port(5)); err != nil {
			return err
		}
		defer stopBroker(e.okafka)
		logf("offsets kfake on 127.0.0.1:%d (through %s)", port(5), e.okafka.addr())
	}
	if sinks[sinkKafkaCH] || sinks[sinkCH] {
		e.ch = newCHServer(o.repo, o.infra, name, port(3), port(4))
		// A private port can be held for a moment by a client's ephemeral port (the private
		// ports lie in Linux's ephemeral range): try again.
		for attempt := 1; ; attempt++ {
			err := e.ch.Start(ctx, true)
			if err == nil {
				break
			}
			if attempt == 3 || ctx.Err() != nil {
				return err
			}
			logf("ClickHouse did not start (attempt %d): %v", attempt, err)
		}
		if !o.keep {
			defer e.ch.Stop(context.WithoutCancel(ctx))
		}
		if e.chConn, err = e.ch.open(); err != nil {
			return err
		}
		defer e.chConn.Close()
		if e.chProxy, err = testkit.ListenProxy(e.ch.addr()); err != nil {
			return err
		}
		defer e.chProxy.Close()
		logf("ClickHouse on %s (through %s)", e.ch.addr(), e.chProxy.Addr())
	}
	if sinks[sinkKafka] {
		// The offsets file and the schema history live on a small tmpfs that disk_full fills.
		// Without the right to mount (an unprivileged container) the run goes on and every
		// disk_full is reported as not injected.
		if e.disk, err = mountStateDisk(state, 32<<20); err != nil {
			logf("no disk_full faults: %v", err)
			if err := os.MkdirAll(state, 0o755); err != nil {
				return err
			}
		} else {
			defer e.disk.Close()
		}
	}
	if e.admin, err = e.setupDB(ctx); err != nil {
		return fmt.Errorf("set up the source: %w", err)
	}
	defer e.admin.Close()
	r.Source = e.version(ctx)
	if e.proxy, err = testkit.ListenProxy(e.db.addr()); err != nil {
		return err
	}
	defer e.proxy.Close()

	// The pipelines, each under a supervisor that restarts it whenever it ends.
	source := func(slot string, serverID int) []string {
		if e.pg {
			return []string{"--dsn", "postgres://postgres:postgres@" + e.proxy.Addr() + "/torture?sslmode=disable",
				"--slot", slot, "--publication", "torture", "--status-interval", "1s"}
		}
		return []string{"--dsn", "mysql://root@" + e.proxy.Addr(), "--server-id", strconv.Itoa(serverID),
			"--database-include", "torture"}
	}
	srcCmd := "mysql"
	if e.pg {
		srcCmd = "postgres"
	}
	for _, s := range allSinks {
		if !sinks[s] {
			continue
		}
		p := &pipe{sink: s, res: &sinkResult{Sink: sinkLabel(s)}}
		var bin string
		var args []string
		switch s {
		case sinkKafka:
			p.offsetsFile = filepath.Join(state, "offsets.json")
			bin = filepath.Join(o.bin, "sluice-"+srcCmd)
			// With kafka-ch the records carry their schemas: the ClickHouse sink creates its
			// tables from them.
			args = append([]string{"--sink", "kafka", "--kafka-brokers", e.kafka.addr(), "--topic-prefix", e.prefix,
				"--offsets-file", p.offsetsFile, "--schemas-enable=" + strconv.FormatBool(sinks[sinkKafkaCH]),
				"--log-format", "json", "--topic-partitions", "1"}, source("torture_"+name, 4100+i)...)
			args = append(args, o.sluiceArgs...)
		case sinkKafkaCH:
			p.chDB = "k_" + name
			bin = filepath.Join(o.bin, "sluice")
			args = []string{"clickhouse", "--kafka-brokers", e.kafka.addr(), "--topics", regexp.QuoteMeta(e.prefix) + `\..*`,
				"--group", "torture", "--topic-refresh", "2s", "--clickhouse-addr", e.chProxy.Addr(),
				"--clickhouse-database", p.chDB, "--log-format", "json"}
		case sinkCH:
			p.chDB, p.offsetsTopic = "d_"+name, "torture_offsets"
			bin = filepath.Join(o.bin, "sluice")
			args = append([]string{srcCmd, "--sink", "clickhouse", "--clickhouse-addr", e.chProxy.Addr(),
				"--clickhouse-database", p.chDB, "--topic-prefix", e.prefix + "_ch",
				"--offsets-topic", p.offsetsTopic, "--offsets-topic-replication", "1", "--kafka-brokers", e.okafka.addr(), "--log-format", "json"},
				source("torture_"+name+"_ch", 4200+i)...)
			args = append(args, o.sluiceArgs...)
		}
		p.res.Log = filepath.Join(e.work, "sluice-"+s+".log")
		if p.sup, err = newSupervisor(bin, args, p.res.Log); err != nil {
			return err
		}
		supCtx, supStop := context.WithCancel(context.WithoutCancel(ctx))
		go p.sup.Run(supCtx)
		defer func() { supStop(); p.sup.Wait() }()
		e.pipes = append(e.pipes, p)
		r.Sinks = append(r.Sinks, p.res)
	}
	for _, p := range e.pipes {
		if p.sink == sinkKafkaCH {
			continue // it waits for topics; nothing to be ready for
		}
		if err := waitFor(ctx, 90*time.Second, func() bool { _, ok := e.storedOffset(ctx, p); return ok }); err != nil {
			return fmt.Errorf("sluice (%s) stored no offsets in 90 s (log %s)", p.sink, p.res.Log)
		}
	}
	logf("sluice is up (%d pipelines); workload and faults start", len(e.pipes))

	// Workload, progress watch and faults.
	cfg := workloadConfig{BigRows: 100000, BigEvery: 90 * time.Second, AlterEvery: 60 * time.Second, Pause: 2 * time.Millisecond}
	if o.quick {
		cfg = workloadConfig{BigRows: 20000, BigEvery: 25 * time.Second, AlterEvery: 15 * time.Second, Pause: 2 * time.Millisecond}
	}
	w := newWorkload(e.admin, dialect{pg: e.pg}, cfg, o.seed^hash(name))
	e.w = w
	wctx, wstop := context.WithCancel(ctx)
	var wwg sync.WaitGroup
	wwg.Add(1)
	go func() { defer wwg.Done(); w.Run(wctx) }()
	for _, p := range e.pipes {
		p.prog = &progress{writes: w.Writes.Load}
		var sample func(ctx context.Context) ([]uint64, error)
		if p.chDB != "" {
			db := p.chDB
			sample = func(ctx context.Context) ([]uint64, error) { return chVersions(ctx, e.chConn, db) }
		} else {
			sample = e.kafkaSampler() // a path without a Kafka sink (-sinks ch) has no data broker
		}
		wwg.Add(1)
		go func() { defer wwg.Done(); p.prog.Run(wctx, sample) }()
	}

	plan := schedule(o.seed, name, o.quick, faultKindsFor(o.sinks))
	for n, f := range plan {
		select {
		case <-ctx.Done():
		case <-time.After(f.Gap):
		}
		if ctx.Err() != nil {
			break
		}
		slack := ""
		if f.Slack {
			slack = " (one page left free)"
		}
		logf("fault %d/%d: %s for %v%s (rows written so far %d)", n+1, len(plan), f.Kind, f.Dur, slack, w.Writes.Load())
		if err := e.inject(ctx, f); err != nil {
			r.FaultsFailed++
			logf("fault %s failed: %v", f.Kind, err)
			continue
		}
		r.Faults[f.Kind]++
	}
	// A few seconds of writes after the last fault, then the drain.
	select {
	case <-ctx.Done():
	case <-time.After(3 * time.Second):
	}
	wstop()
	wwg.Wait()
	for _, p := range e.pipes {
		stall, stallAt := p.prog.Longest()
		p.res.LongestStallS = stall.Seconds()
		if stall > 30*time.Second {
			logf("%s: longest stall %v, ended %s", p.sink, stall, stallAt.Format(time.TimeOnly))
		}
	}
	if err := w.resolve(ctx); err != nil {
		return fmt.Errorf("resolve the workload's unknown commits: %w", err)
	}
	r.RowsWritten, r.Txns, r.BigTxns, r.Alters = w.Writes.Load(), w.Txns.Load(), w.Big.Load(), w.Alters.Load()
	r.WorkloadErrors, r.UnknownCommits = w.Errors.Load(), w.Unknown.Load()
	logf("workload stopped: %d rows in %d transactions (%d big, %d ALTER), %d errors (last: %s); draining",
		r.RowsWritten, r.Txns, r.BigTxns, r.Alters, r.WorkloadErrors, w.LastError())

	drainLimit := 5 * time.Minute
	if o.quick {
		drainLimit = 2 * time.Minute
	}
	e.drain(ctx, drainLimit)
	r.DBFastStopHangs = e.fastStopHangs
	for _, p := range e.pipes {
		p.res.SluiceExits, p.res.ExitExamples = p.sup.Exits()
		if len(p.res.ExitExamples) > 5 {
			p.res.ExitExamples = p.res.ExitExamples[len(p.res.ExitExamples)-5:]
		}
	}

	src, err := readSource(ctx, e.admin, w, r)
	if err != nil {
		return err
	}
	for _, ex := range r.TruthExamples {
		logf("  %s", ex)
	}
	for _, p := range e.pipes {
		var states map[string]*topicState
		var placeholderOK func(string, int64) bool
		if p.sink == sinkKafka {
			if states, err = readTopics(ctx, e.kafka.addr(), e.prefix); err != nil {
				return fmt.Errorf("read the topics: %w", err)
			}
		} else if states, p.res.Parked, err = readCH(ctx, e.chConn, p.chDB); err != nil {
			return fmt.Errorf("read ClickHouse %s: %w", p.chDB, err)
		} else {
			// Strict: the ClickHouse sink carries a value that came by a primary-key change
			// from the old key's row (the snapshot gives every key one), so an empty
			// t_toast.big there is a difference, moved (truth's row.moved) or not.
			placeholderOK = func(string, int64) bool { return false }
		}
		res := p.res
		res.Tables = compare(src, states, placeholderOK)
		for _, t := range res.Tables {
			res.Records += t.Records
			res.Lost += t.Missing
			res.Differing += t.Differing
			res.Undeleted += t.Undeleted
			res.Duplicated += t.Duplicates
			res.Unreadable += t.Unreadable
			res.Unavailable += t.Unavailable
			for _, ex := range append(t.Examples, t.Notes...) {
				logf("  %s: %s", p.sink, ex)
			}
		}
		logf("checked %s: %d records, lost %d, differing %d, undeleted %d, duplicated %d, parked %d, drained %v",
			p.sink, res.Records, res.Lost, res.Differing, res.Undeleted, res.Duplicated, res.Parked, res.Drained)
	}
	return nil
}

func waitFor(ctx context.Context, limit time.Duration, ok func() bool) error {
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			return errNotDrained
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}

// inject runs one fault and returns when it is over. A fault on sluice itself (kill9,
// sigstop) hits every pipeline's process of the path at once.
func (e *pathEnv) inject(ctx context.Context, f fault) error {
	switch f.Kind {
	case "kill9":
		n := 0
		for _, p := range e.pipes {
			waitFor(ctx, 10*time.Second, p.sup.Running)
			if p.sup.Kill9() {
				n++
			}
		}
		if n == 0 {
			return fmt.Errorf("no sluice is running")
		}
	case "sigstop":
		var wg sync.WaitGroup
		var n sync.Map
		for _, p := range e.pipes {
			waitFor(ctx, 10*time.Second, p.sup.Running)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if p.sup.Pause(ctx, f.Dur) {
					n.Store(p.sink, true)
				}
			}()
		}
		wg.Wait()
		ok := false
		n.Range(func(any, any) bool { ok = true; return false })
		if !ok {
			return fmt.Errorf("no sluice is running")
		}
	case "db_restart_fast", "db_restart_immediate":
		hung, err := e.db.Restart(ctx, f.Kind == "db_restart_immediate", f.Dur/4)
		if hung {
			e.fastStopHangs++
			log.Printf("[%s] the fast shutdown of %s did not finish in 20 s; shut down immediately instead", e.name, e.db.name)
		}
		return err
	case "kafka_restart":
		return e.kafka.Restart(ctx, f.Dur/2)
	case "kafka_link_cut":
		return linkFault(ctx, e.kafka.proxy, false, f.Dur)
	case "kafka_link_stall":
		return linkFault(ctx, e.kafka.proxy, true, f.Dur)
	case "db_link_cut":
		return linkFault(ctx, e.proxy, false, f.Dur)
	case "db_link_stall":
		return linkFault(ctx, e.proxy, true, f.Dur)
	case "clickhouse_restart":
		return e.ch.Restart(ctx, f.Dur/2)
	case "ch_link_cut":
		return linkFault(ctx, e.chProxy, false, f.Dur)
	case "ch_link_stall":
		return linkFault(ctx, e.chProxy, true, f.Dur)
	case "disk_full":
		if e.disk == nil {
			return fmt.Errorf("no tmpfs for the state (mount failed at the start)")
		}
		var slack int64
		if f.Slack {
			slack = int64(os.Getpagesize())
		}
		return e.disk.Fill(ctx, f.Dur, slack, e.w.AlterSoon)
	case "offsets_broker_down":
		return e.okafka.Restart(ctx, f.Dur)
	default:
		return fmt.Errorf("unknown fault %q", f.Kind)
	}
	return nil
}

// linkFault cuts the link (connections closed, new ones refused) or stalls it (bytes held,
// connections open) for d, then restores it.
func linkFault(ctx context.Context, p *testkit.Proxy, stall bool, d time.Duration) error {
	if stall {
		p.Stall()
	} else {
		p.Cut()
	}
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	return p.Restore()
}

// setupDB recreates the torture database and its tables and returns a direct connection to it.
func (e *pathEnv) setupDB(ctx context.Context) (sqlDB, error) {
	var root, db sqlDB
	var stmts []string
	if e.pg {
		root = &pgDB{dsn: "postgres://postgres:postgres@" + e.db.addr() + "/postgres?sslmode=disable"}
		db = &pgDB{dsn: "postgres://postgres:postgres@" + e.db.addr() + "/torture?sslmode=disable"}
		stmts = []string{
			"SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name IN ('torture_" + e.name + "', 'torture_" + e.name + "_ch') AND active_pid IS NOT NULL",
			"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name IN ('torture_" + e.name + "', 'torture_" + e.name + "_ch')",
			"DROP DATABASE IF EXISTS torture WITH (FORCE)",
			"CREATE DATABASE torture",
		}
	} else {
		mysql.SetLogger(log.New(io.Discard, "", 0)) // its "unexpected EOF" lines are the faults working
		r, err := sql.Open("mysql", "root@tcp("+e.db.addr()+")/")
		if err != nil {
			return nil, err
		}
		d, err := sql.Open("mysql", "root@tcp("+e.db.addr()+")/torture?maxAllowedPacket=0")
		if err != nil {
			return nil, err
		}
		d.SetMaxOpenConns(4)
		root, db = myDB{r}, myDB{d}
		// Each run starts sluice with no offsets, so earlier runs' binlogs (GBs after a full run)
		// are not needed.
		reset := "RESET BINARY LOGS AND GTIDS"
		if e.name == "mariadb" {
			reset = "RESET MASTER"
		}
		stmts = []string{reset, "DROP DATABASE IF EXISTS torture", "CREATE DATABASE torture"}
	}
	defer root.Close()
	for _, s := range stmts {
		if err := root.Exec(ctx, s); err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
	}
	for _, s := range (dialect{pg: e.pg}).setup() {
		if err := db.Exec(ctx, s); err != nil {
			db.Close()
			return nil, fmt.Errorf("%s: %w", s, err)
		}
	}
	return db, nil
}

func (e *pathEnv) version(ctx context.Context) string {
	var v string
	q := "SELECT VERSION()"
	if e.pg {
		q = "SHOW server_version"
	}
	if err := queryOne(ctx, e.admin, q, &v); err != nil {
		return e.name
	}
	if e.pg {
		return "PostgreSQL " + v
	}
	if strings.Contains(strings.ToLower(v), "mariadb") {
		return "MariaDB " + v
	}
	return "MySQL " + v
}

// storedOffset reads the position a capture pipeline stored (the offsets file, or the last
// record of the offsets topic): the "value" of the Kafka Connect layout.
func (e *pathEnv) storedOffset(ctx context.Context, p *pipe) (json.RawMessage, bool) {
	switch {
	case p.offsetsFile != "":
		b, err := os.ReadFile(p.offsetsFile)
		if err != nil {
			return nil, false
		}
		var doc struct {
			Value json.RawMessage `json:"value"`
		}
		if json.Unmarshal(b, &doc) != nil || len(doc.Value) == 0 {
			return nil, false
		}
		return doc.Value, true
	case p.offsetsTopic != "":
		cc := kafka.ClientConfig{Brokers: kafka.ParseBrokers(e.okafka.addr())}
		cl, adm, err := adminClient(cc, "torture-offsets")
		if err != nil {
			return nil, false
		}
		defer cl.Close()
		if ends := endOffsets(ctx, adm, p.offsetsTopic); ends[p.offsetsTopic] == 0 {
			return nil, false
		}
		var last json.RawMessage
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		err = cc.ReadCommittedToEnd(rctx, nil, p.offsetsTopic, 0, func(m *kgo.Record) error {
			if m.Value != nil {
				last = append(last[:0], m.Value...)
			}
			return nil
		})
		return last, err == nil && len(last) > 0
	}
	return nil, false
}

// adminClient is a client of cc's brokers and its admin view; requests are bounded by their
// callers' contexts (pollTimeout): polled, so one try each.
func adminClient(cc kafka.ClientConfig, id string) (*kgo.Client, *kadm.Client, error) {
	opts, err := cc.Kgo(id, nil)
	if err != nil {
		panic("torture: kafka client settings: " + err.Error()) // the harness sets no TLS or SASL files
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, nil, err
	}
	return cl, kadm.NewClient(cl), nil
}

// pollTimeout bounds one poll of the brokers.
const pollTimeout = 5 * time.Second

// endOffsets returns the end offsets (high watermarks, summed over partitions) of topics, or of
// every topic whose name starts with prefix when topics is a single name ending in ".": nil
// when the brokers do not answer within pollTimeout.
func endOffsets(ctx context.Context, adm *kadm.Client, topics ...string) map[string]int64 {
	ctx, cancel := context.WithTimeout(ctx, pollTimeout)
	defer cancel()
	if len(topics) == 1 && strings.HasSuffix(topics[0], ".") {
		prefix := topics[0]
		td, err := adm.ListTopics(ctx)
		if err != nil {
			return nil
		}
		topics = topics[:0]
		for _, t := range td.Names() {
			if strings.HasPrefix(t, prefix) {
				topics = append(topics, t)
			}
		}
		if len(topics) == 0 {
			return map[string]int64{}
		}
	}
	l, err := adm.ListEndOffsets(ctx, topics...)
	if err != nil {
		return nil
	}
	out := map[string]int64{}
	l.Each(func(o kadm.ListedOffset) {
		if o.Err == nil {
			out[o.Topic] += o.Offset
		}
	})
	return out
}

// kafkaSampler samples the data broker's progress: the sum of the end offsets of the path's
// topics.
func (e *pathEnv) kafkaSampler() func(ctx context.Context) ([]uint64, error) {
	cc := kafka.ClientConfig{Brokers: kafka.ParseBrokers(e.kafka.addr())}
	var (
		cl  *kgo.Client
		adm *kadm.Client
	)
	return func(ctx context.Context) ([]uint64, error) {
		if ctx.Err() != nil {
			if cl != nil {
				cl.Close()
				cl = nil
			}
			return nil, ctx.Err()
		}
		if cl == nil {
			var err error
			if cl, adm, err = adminClient(cc, "torture-progress"); err != nil {
				return nil, err
			}
		}
		ends := endOffsets(ctx, adm, e.prefix+".")
		if ends == nil {
			return nil, errors.New("kafka: no answer")
		}
		var sum uint64
		for _, n := range ends {
			sum += uint64(n)
		}
		return []uint64{sum}, nil
	}
}

// drain writes the marker row and waits, for every pipeline, until it has the marker and has
// stored a position past everything the workload wrote: kafka: the marker's record in its
// topic and the offsets file past it; ch: the marker row in ClickHouse and the offsets topic
// past it; kafka-ch: the consumer group's committed offsets at the end of every topic of the
// (drained) kafka pipeline, and the marker row in ClickHouse. Positions: PostgreSQL: an LSN
// after the one read just before the marker; MySQL: the binlog position after it. Each
// pipeline's result says whether it drained.
func (e *pathEnv) drain(ctx context.Context, limit time.Duration) {
	t0 := time.Now()
	deadline := t0.Add(limit)
	fail := func(err error) {
		for _, p := range e.pipes {
			p.res.DrainError = err.Error()
			p.res.DrainS = time.Since(t0).Seconds()
		}
		log.Printf("[%s] not drained: %v", e.name, err)
	}
	var err error
	retry := func(f func() error) error {
		for {
			if err = f(); err == nil || time.Now().After(deadline) || ctx.Err() != nil {
				return err
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	var before pglogrepl.LSN
	if e.pg {
		err = retry(func() error {
			var s string
			if err := queryOne(ctx, e.admin, "SELECT pg_current_wal_lsn()::text", &s); err != nil {
				return err
			}
			before, err = pglogrepl.ParseLSN(s)
			return err
		})
		if err != nil {
			fail(err)
			return
		}
	}
	if err := retry(func() error {
		return e.admin.Exec(ctx, "INSERT INTO t_marker (id, ver) VALUES (1, 1)")
	}); err != nil {
		fail(fmt.Errorf("marker: %w", err))
		return
	}
	var file string
	var pos uint64
	if !e.pg {
		err = retry(func() error {
			// MySQL 9 renamed SHOW MASTER STATUS; MariaDB knows only the old name.
			q := "SHOW BINARY LOG STATUS"
			if strings.Contains(e.name, "mariadb") {
				q = "SHOW MASTER STATUS"
			}
			n := 0
			err := e.admin.Query(ctx, q, func(scan func(...any) error) error {
				n++
				var rest []any
				if e.name == "mariadb" {
					rest = []any{new(sql.RawBytes), new(sql.RawBytes)} // Binlog_Do_DB, Binlog_Ignore_DB
				} else {
					rest = []any{new(sql.RawBytes), new(sql.RawBytes), new(sql.RawBytes)} // …, Executed_Gtid_Set
				}
				return scan(append([]any{&file, &pos}, rest...)...)
			})
			if err == nil && n != 1 {
				err = fmt.Errorf("%s: %d rows", q, n)
			}
			return err
		})
		if err != nil {
			fail(err)
			return
		}
	}
	passed := func(p *pipe) bool {
		v, ok := e.storedOffset(ctx, p)
		if !ok {
			return false
		}
		var doc struct {
			LSN  uint64 `json:"lsn"`
			File string `json:"file"`
			Pos  uint64 `json:"pos"`
		}
		if json.Unmarshal(v, &doc) != nil {
			return false
		}
		if e.pg {
			return pglogrepl.LSN(doc.LSN) > before
		}
		return doc.File > file || doc.File == file && doc.Pos >= pos
	}
	kafkaDrained := false
	for _, p := range e.pipes {
		var err error
		switch p.sink {
		case sinkKafka:
			if err = waitFor(ctx, time.Until(deadline), e.kafkaMarkerSeen); err != nil {
				err = fmt.Errorf("the marker row did not reach Kafka in %v", limit)
			} else if err = waitFor(ctx, time.Until(deadline), func() bool { return passed(p) }); err != nil {
				v, _ := e.storedOffset(ctx, p)
				err = fmt.Errorf("the stored offset did not pass the marker in %v (PostgreSQL LSN before it %s, binlog %s:%d; stored: %s)", limit, before, file, pos, v)
			}
			kafkaDrained = err == nil
		case sinkCH:
			if err = waitFor(ctx, time.Until(deadline), func() bool { return chMarkerSeen(ctx, e.chConn, p.chDB) }); err != nil {
				err = fmt.Errorf("the marker row did not reach ClickHouse %s in %v", p.chDB, limit)
			} else if err = waitFor(ctx, time.Until(deadline), func() bool { return passed(p) }); err != nil {
				v, _ := e.storedOffset(ctx, p)
				err = fmt.Errorf("the offsets topic did not pass the marker in %v (PostgreSQL LSN before it %s, binlog %s:%d; stored: %s)", limit, before, file, pos, v)
			}
		case sinkKafkaCH:
			if !kafkaDrained {
				err = errors.New("the kafka pipeline did not drain")
			} else if err = waitFor(ctx, time.Until(deadline), func() bool { return e.groupCaughtUp(ctx) && chMarkerSeen(ctx, e.chConn, p.chDB) }); err != nil {
				err = fmt.Errorf("the consumer group did not commit the end of every topic, or the marker row is not in ClickHouse %s, in %v", p.chDB, limit)
			}
		}
		p.res.DrainS = time.Since(t0).Seconds()
		if err != nil {
			p.res.DrainError = err.Error()
			log.Printf("[%s] %s not drained: %v", e.name, p.sink, err)
		} else {
			p.res.Drained = true
		}
	}
}

// kafkaMarkerSeen reports whether the marker's record is in its topic.
func (e *pathEnv) kafkaMarkerSeen() bool {
	cl, adm, err := adminClient(kafka.ClientConfig{Brokers: kafka.ParseBrokers(e.kafka.addr())}, "torture-drain")
	if err != nil {
		return false
	}
	defer cl.Close()
	for t, n := range endOffsets(context.Background(), adm, e.prefix+".") {
		if strings.HasSuffix(t, ".t_marker") {
			return n > 0
		}
	}
	return false
}

// groupCaughtUp reports whether `sluice clickhouse`'s consumer group has committed the end
// offset of every topic of the path (it commits only what ClickHouse acknowledged).
func (e *pathEnv) groupCaughtUp(ctx context.Context) bool {
	cl, adm, err := adminClient(kafka.ClientConfig{Brokers: kafka.ParseBrokers(e.kafka.addr())}, "torture-drain")
	if err != nil {
		return false
	}
	defer cl.Close()
	ends := endOffsets(ctx, adm, e.prefix+".")
	if ends == nil {
		return false
	}
	fctx, cancel := context.WithTimeout(ctx, pollTimeout)
	defer cancel()
	res, err := adm.FetchOffsets(fctx, "torture")
	if err != nil {
		return false
	}
	for t, end := range ends {
		var at int64
		for _, o := range res[t] {
			if o.Err == nil && o.At > 0 {
				at += o.At
			}
		}
		if end > 0 && at < end {
			return false
		}
	}
	return true
}
