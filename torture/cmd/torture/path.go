package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pglogrepl"

	"github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// pathResult is one path's line of the report.
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
	Records         int            `json:"records"`
	Lost            int            `json:"lost"`
	Differing       int            `json:"differing"`
	Undeleted       int            `json:"undeleted"`
	Duplicated      int            `json:"duplicated"`
	TruthMismatch   int            `json:"truth_mismatch"`
	Unreadable      int            `json:"unreadable"`
	LongestStallS   float64        `json:"longest_stall_s"`
	Drained         bool           `json:"drained"`
	DrainS          float64        `json:"drain_s"`
	DBFastStopHangs int            `json:"db_fast_stop_hangs"`
	SluiceExits     int            `json:"sluice_unexpected_exits"`
	ExitExamples    []string       `json:"sluice_exit_examples,omitempty"`
	Tables          []tableResult  `json:"tables"`
	Error           string         `json:"error,omitempty"`
	DurationS       float64        `json:"duration_s"`
	Log             string         `json:"sluice_log"`
}

func (r *pathResult) ok() bool {
	return r.Error == "" && r.Drained && r.Lost+r.Differing+r.Undeleted+r.TruthMismatch+r.Unreadable == 0
}

type pathEnv struct {
	o      options
	name   string
	pg     bool
	db     *server
	kafka  *broker
	proxy  *testkit.Proxy
	work   string
	admin  sqlDB // the workload's and the checker's connection: direct, never through the proxy
	prefix string

	fastStopHangs int
}

func runPath(ctx context.Context, o options, i int, name string) *pathResult {
	t0 := time.Now()
	r := &pathResult{Path: name, Faults: map[string]int{}}
	for _, k := range faultKinds {
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
	e.db = newServer(o.repo, o.infra, dbName, o.portBase+10*i+1)
	e.work = filepath.Join(o.infra, "work-"+name)
	os.RemoveAll(e.work)
	if err := os.MkdirAll(e.work, 0o755); err != nil {
		return err
	}
	logf := func(format string, args ...any) { log.Printf("["+name+"] "+format, args...) }

	// Servers: the database kept between runs (its torture database is recreated), the broker
	// started from an empty log.
	var err error
	kdir := filepath.Join(o.infra, "kafka-"+name)
	os.RemoveAll(kdir)
	if e.kafka, err = newBroker(filepath.Join(o.bin, "kfakebroker"), kdir, o.portBase+10*i+2); err != nil {
		return err
	}
	logf("starting %s on %s and kfake on 127.0.0.1:%d (through %s)", dbName, e.db.addr(), o.portBase+10*i+2, e.kafka.addr())
	if err := e.db.Start(ctx); err != nil {
		return err
	}
	if !o.keep {
		defer e.db.Stop(context.WithoutCancel(ctx))
	}
	if err := e.kafka.Start(ctx); err != nil {
		return err
	}
	defer func() {
		e.kafka.Close()
		if !o.keep { // a full run writes GBs; the broker's log file stays
			os.RemoveAll(filepath.Join(kdir, "data"))
		}
	}()
	if e.admin, err = e.setupDB(ctx); err != nil {
		return fmt.Errorf("set up the source: %w", err)
	}
	defer e.admin.Close()
	r.Source = e.version(ctx)
	if e.proxy, err = testkit.ListenProxy(e.db.addr()); err != nil {
		return err
	}
	defer e.proxy.Close()

	// sluice, under a supervisor that restarts it whenever it ends.
	offsets := filepath.Join(e.work, "offsets.json")
	args := []string{"--sink", "kafka", "--kafka-brokers", e.kafka.addr(), "--topic-prefix", e.prefix,
		"--offsets-file", offsets, "--schemas-enable=false", "--log-format", "json", "--topic-partitions", "1"}
	bin := filepath.Join(o.bin, "sluice-mysql")
	if e.pg {
		bin = filepath.Join(o.bin, "sluice-postgres")
		args = append(args, "--dsn", "postgres://postgres:postgres@"+e.proxy.Addr()+"/torture?sslmode=disable",
			"--slot", "torture_"+name, "--publication", "torture", "--status-interval", "1s")
	} else {
		args = append(args, "--dsn", "mysql://root@"+e.proxy.Addr(), "--server-id", strconv.Itoa(4100+i),
			"--database-include", "torture")
	}
	args = append(args, o.sluiceArgs...)
	r.Log = filepath.Join(e.work, "sluice.log")
	sup, err := newSupervisor(bin, args, r.Log)
	if err != nil {
		return err
	}
	supCtx, supStop := context.WithCancel(context.WithoutCancel(ctx))
	go sup.Run(supCtx)
	defer func() { supStop(); sup.Wait() }()
	if err := waitFor(ctx, 90*time.Second, func() bool { _, err := os.Stat(offsets); return err == nil }); err != nil {
		return fmt.Errorf("sluice wrote no offsets in 90 s (log %s)", r.Log)
	}
	logf("sluice is up; workload and faults start")

	// Workload, progress watch and faults.
	cfg := workloadConfig{BigRows: 100000, BigEvery: 90 * time.Second, AlterEvery: 60 * time.Second, Pause: 2 * time.Millisecond}
	if o.quick {
		cfg = workloadConfig{BigRows: 20000, BigEvery: 25 * time.Second, AlterEvery: 15 * time.Second, Pause: 2 * time.Millisecond}
	}
	w := newWorkload(e.admin, dialect{pg: e.pg}, cfg, o.seed^hash(name))
	wctx, wstop := context.WithCancel(ctx)
	var wwg sync.WaitGroup
	wwg.Add(2)
	go func() { defer wwg.Done(); w.Run(wctx) }()
	prog := &progress{writes: w.Writes.Load}
	go func() { defer wwg.Done(); prog.Run(wctx, e.kafka.addr(), e.prefix) }()

	plan := schedule(o.seed, name, o.quick)
	for n, f := range plan {
		select {
		case <-ctx.Done():
		case <-time.After(f.Gap):
		}
		if ctx.Err() != nil {
			break
		}
		logf("fault %d/%d: %s for %v (rows written so far %d)", n+1, len(plan), f.Kind, f.Dur, w.Writes.Load())
		if err := e.inject(ctx, sup, f); err != nil {
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
	stall, stallAt := prog.Longest()
	r.LongestStallS = stall.Seconds()
	if stall > 30*time.Second {
		logf("longest stall %v, ended %s", stall, stallAt.Format(time.TimeOnly))
	}
	if err := w.resolve(ctx); err != nil {
		return fmt.Errorf("resolve the workload's unknown commits: %w", err)
	}
	r.RowsWritten, r.Txns, r.BigTxns, r.Alters = w.Writes.Load(), w.Txns.Load(), w.Big.Load(), w.Alters.Load()
	r.WorkloadErrors, r.UnknownCommits = w.Errors.Load(), w.Unknown.Load()
	logf("workload stopped: %d rows in %d transactions (%d big, %d ALTER), %d errors (last: %s); draining",
		r.RowsWritten, r.Txns, r.BigTxns, r.Alters, r.WorkloadErrors, w.LastError())

	drainT0 := time.Now()
	drainLimit := 5 * time.Minute
	if o.quick {
		drainLimit = 90 * time.Second
	}
	if err := e.drain(ctx, offsets, drainLimit); err != nil {
		logf("not drained: %v", err)
	} else {
		r.Drained = true
	}
	r.DrainS = time.Since(drainT0).Seconds()
	r.SluiceExits, r.ExitExamples = sup.Exits()
	r.DBFastStopHangs = e.fastStopHangs
	if len(r.ExitExamples) > 5 {
		r.ExitExamples = r.ExitExamples[len(r.ExitExamples)-5:]
	}

	topics, err := readTopics(ctx, e.kafka.addr(), e.prefix)
	if err != nil {
		return fmt.Errorf("read the topics: %w", err)
	}
	res, err := check(ctx, e.admin, w, topics)
	if err != nil {
		return err
	}
	r.Tables = res
	for _, t := range res {
		r.Records += t.Records
		r.Lost += t.Missing
		r.Differing += t.Differing
		r.Undeleted += t.Undeleted
		r.Duplicated += t.Duplicates
		r.TruthMismatch += t.TruthMismatch
		r.Unreadable += t.Unreadable
		for _, ex := range t.Examples {
			logf("  %s", ex)
		}
	}
	logf("checked: %d records, lost %d, differing %d, undeleted %d, duplicated %d, truth mismatch %d",
		r.Records, r.Lost, r.Differing, r.Undeleted, r.Duplicated, r.TruthMismatch)
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

// inject runs one fault and returns when it is over.
func (e *pathEnv) inject(ctx context.Context, sup *supervisor, f fault) error {
	switch f.Kind {
	case "kill9":
		waitFor(ctx, 10*time.Second, sup.Running)
		if !sup.Kill9() {
			return fmt.Errorf("sluice is not running")
		}
	case "sigstop":
		waitFor(ctx, 10*time.Second, sup.Running)
		if !sup.Pause(ctx, f.Dur) {
			return fmt.Errorf("sluice is not running")
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
			"SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 'torture_" + e.name + "' AND active_pid IS NOT NULL",
			"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'torture_" + e.name + "'",
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

// drain writes the marker row and waits until its record is in Kafka and sluice's stored
// offset has passed it (PostgreSQL: the LSN before the marker; MySQL: the binlog position
// after it).
func (e *pathEnv) drain(ctx context.Context, offsets string, limit time.Duration) error {
	var err error
	deadline := time.Now().Add(limit)
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
			return err
		}
	}
	if err := retry(func() error {
		return e.admin.Exec(ctx, "INSERT INTO t_marker (id, ver) VALUES (1, 1)")
	}); err != nil {
		return fmt.Errorf("marker: %w", err)
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
			return err
		}
	}
	markerSeen := func() bool {
		cc := kafka.ClientConfig{Brokers: kafka.ParseBrokers(e.kafka.addr())}
		client, err := sarama.NewClient(cc.Brokers, cc.Sarama("torture-drain")) // polled: one try each
		if err != nil {
			return false
		}
		defer client.Close()
		topics, err := client.Topics()
		if err != nil {
			return false
		}
		for _, t := range topics {
			if strings.HasPrefix(t, e.prefix+".") && strings.HasSuffix(t, ".t_marker") {
				n, err := client.GetOffset(t, 0, sarama.OffsetNewest)
				return err == nil && n > 0
			}
		}
		return false
	}
	stored := func() bool {
		b, err := os.ReadFile(offsets)
		if err != nil {
			return false
		}
		var doc struct {
			Value struct {
				LSN  uint64 `json:"lsn"`
				File string `json:"file"`
				Pos  uint64 `json:"pos"`
			} `json:"value"`
		}
		if json.Unmarshal(b, &doc) != nil {
			return false
		}
		if e.pg {
			return pglogrepl.LSN(doc.Value.LSN) > before
		}
		return doc.Value.File > file || doc.Value.File == file && doc.Value.Pos >= pos
	}
	if err := waitFor(ctx, time.Until(deadline), markerSeen); err != nil {
		return fmt.Errorf("the marker row did not reach Kafka in %v", limit)
	}
	if err := waitFor(ctx, time.Until(deadline), stored); err != nil {
		b, _ := os.ReadFile(offsets)
		return fmt.Errorf("the stored offset did not pass the marker in %v (PostgreSQL LSN before it %s, binlog %s:%d; stored: %s)", limit, before, file, pos, strings.TrimSpace(string(b)))
	}
	return nil
}
