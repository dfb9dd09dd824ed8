//go:build integration

package mysql

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/envelope"
)

// TestStreamThroughput (SLUICE_BENCH_MYSQL=1, MariaDB) streams the orders workload of
// ../shared/limits.md (ROWS inserts, then ROWS/2 updates, ROWS/5 deletes in 10,000-row
// transactions; default 1,000,000 rows = 1.7 M changes) through the source and reports
// changes/s and CPU per change. The source's events are read and dropped (no envelope, no sink).
func TestStreamThroughput(t *testing.T) {
	if os.Getenv("SLUICE_BENCH_MYSQL") != "1" {
		t.Skip("set SLUICE_BENCH_MYSQL=1")
	}
	var srv server
	for _, s := range servers(t) {
		if s.name == "mariadb" {
			srv = s
		}
	}
	if srv.dsn == "" {
		t.Skip("needs MariaDB (seq engine)")
	}
	rows := 1000000
	if v, err := strconv.Atoi(os.Getenv("SLUICE_BENCH_ROWS")); err == nil {
		rows = v
	}
	db := openDB(t, srv.dsn)
	freshDB(t, db, dbBench)
	mustExec(t, db, "CREATE TABLE "+dbBench+".orders(id bigint AUTO_INCREMENT PRIMARY KEY, customer_id bigint, amount decimal(12,2), status varchar(16), created_at timestamp(6), payload json)")
	ts := newTestSource(t, srv, dbBench)
	ts.cfg.SnapshotMode = SnapshotNoData
	s := ts.open(t)
	ts.collect(t, s, 30*time.Second, untilSnapshotDone)
	s.Close()
	start := ts.off
	t0 := time.Now()
	const txn = 10000
	want := 0
	exec := func(q string) {
		r, err := db.Exec(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		n, _ := r.RowsAffected()
		want += int(n)
	}
	for a := 1; a <= rows; a += txn {
		exec(fmt.Sprintf("INSERT INTO "+dbBench+".orders(customer_id,amount,status,created_at,payload) SELECT seq%%10007,(seq%%100000)/100.0,'new',now(6),JSON_OBJECT('sku',CONCAT('SKU-',seq),'qty',seq%%10,'note',MD5(seq)) FROM "+dbBench+".seq_%d_to_%d", a, a+txn-1))
	}
	for a := 1; a <= rows/2; a += txn {
		exec(fmt.Sprintf("UPDATE "+dbBench+".orders SET status='paid', amount=amount+1 WHERE id BETWEEN %d AND %d", a, a+txn-1))
	}
	for a := rows - rows/5 + 1; a <= rows; a += txn {
		exec(fmt.Sprintf("DELETE FROM "+dbBench+".orders WHERE id BETWEEN %d AND %d", a, a+txn-1))
	}
	t.Logf("workload written in %.1f s", time.Since(t0).Seconds())
	ts.off = start
	s = ts.open(t)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	t1 := time.Now()
	n := 0
	var enc *envelope.Encoder
	if os.Getenv("SLUICE_BENCH_ENCODE") == "1" {
		enc, _ = envelope.NewEncoder(envelope.Config{TopicPrefix: "tp", TombstonesOnDelete: true})
	}
	var recs []envelope.Record
	for n < want {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == capture.Change {
			n++
		}
		if enc != nil {
			if recs, err = enc.Encode(recs[:0], &ev); err != nil {
				t.Fatal(err)
			}
		}
		if ev.Kind == capture.Change && ev.Op == capture.OpRead {
			s.ReadsDone(&ev) // as the pipeline does: the rows' memory is reused
		}
	}
	el := time.Since(t1)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) * time.Nanosecond
	t.Logf("%d changes in %.2f s = %.0f changes/s; process CPU %.2f s = %.2f µs/change; max RSS %d MB",
		n, el.Seconds(), float64(n)/el.Seconds(), cpu.Seconds(), float64(cpu.Microseconds())/float64(n), ru1.Maxrss/1024)
}

// TestSnapshotThroughput (SLUICE_BENCH_MYSQL=1, MySQL) snapshots SLUICE_BENCH_ROWS rows
// (default 300,000) of the bench's mysnapshot table (bench/bench.sh) with 4 readers and
// reports rows/s and CPU per million rows of the source alone (events read and dropped; with
// SLUICE_BENCH_ENCODE=1 also encoded). SLUICE_BENCH_PROFILE names a CPU profile to write.
func TestSnapshotThroughput(t *testing.T) {
	if os.Getenv("SLUICE_BENCH_MYSQL") != "1" {
		t.Skip("set SLUICE_BENCH_MYSQL=1")
	}
	var srv server
	for _, s := range servers(t) {
		if s.name == "mysql" {
			srv = s
		}
	}
	if srv.dsn == "" {
		t.Skip("needs MySQL")
	}
	rows := 300000
	if v, err := strconv.Atoi(os.Getenv("SLUICE_BENCH_ROWS")); err == nil {
		rows = v
	}
	db := openDB(t, srv.dsn)
	name := "sl_snapbench_" + strconv.Itoa(os.Getpid())
	freshDB(t, db, name)
	t.Cleanup(func() { db.Exec("DROP DATABASE IF EXISTS " + name) })
	mustExec(t, db, "CREATE TABLE "+name+".d(i int PRIMARY KEY)", "INSERT INTO "+name+".d VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)",
		"CREATE TABLE "+name+".nums(n int PRIMARY KEY)",
		"INSERT INTO "+name+".nums SELECT a.i + 10 * b.i + 100 * c.i + 1000 * e.i FROM "+name+".d a, "+name+".d b, "+name+".d c, "+name+".d e",
		"CREATE TABLE "+name+".snap(id bigint PRIMARY KEY, customer_id bigint, amount decimal(12,2), status varchar(32), created_at timestamp(6) NULL, payload json)")
	for s := 1; s <= rows; s += 10000 {
		mustExec(t, db, fmt.Sprintf("INSERT INTO %[1]s.snap SELECT %[2]d+n,(%[2]d+n)%%10007,((%[2]d+n)%%100000)/100.0,'new',now(6),"+
			"JSON_OBJECT('sku',CONCAT('SKU-',%[2]d+n),'qty',(%[2]d+n)%%10,'note',LEFT(SHA2(CONCAT(%[2]d+n),256),32)) FROM %[1]s.nums WHERE %[2]d+n <= %[3]d", name, s, rows))
	}
	ts := newTestSource(t, srv, name)
	ts.cfg.TableInclude = []string{name + `\.snap`}
	ts.cfg.SnapshotMode = SnapshotInitialOnly
	ts.cfg.SnapshotWorkers = 4
	ts.cfg.SnapshotChunkRows = 0
	if prof := os.Getenv("SLUICE_BENCH_PROFILE"); prof != "" {
		f, err := os.Create(prof)
		if err != nil {
			t.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	t1 := time.Now()
	s := ts.open(t)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var enc *envelope.Encoder
	if os.Getenv("SLUICE_BENCH_ENCODE") == "1" {
		enc, _ = envelope.NewEncoder(envelope.Config{TopicPrefix: "tp"})
	}
	var recs []envelope.Record
	n := 0
	for {
		ev, err := s.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == capture.Change {
			n++
		}
		if enc != nil {
			if recs, err = enc.Encode(recs[:0], &ev); err != nil {
				t.Fatal(err)
			}
		}
		if ev.Kind == capture.Change && ev.Op == capture.OpRead {
			s.ReadsDone(&ev) // as the pipeline does: the rows' memory is reused
		}
	}
	el := time.Since(t1)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) * time.Nanosecond
	if n != rows {
		t.Fatalf("%d rows read, want %d", n, rows)
	}
	var load [3]float64
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Sscan(string(b), &load[0], &load[1], &load[2])
	}
	t.Logf("%d rows in %.2f s = %.0f rows/s; process CPU %.2f s = %.2f CPU-s per M rows; max RSS %d MB; load %.1f",
		n, el.Seconds(), float64(n)/el.Seconds(), cpu.Seconds(), cpu.Seconds()*1e6/float64(n), ru1.Maxrss/1024, load[0])
}
