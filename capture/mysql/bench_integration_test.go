//go:build integration

package mysql

import (
	"context"
	"fmt"
	"os"
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
	freshDB(t, db, "sl_bench")
	mustExec(t, db, "CREATE TABLE sl_bench.orders(id bigint AUTO_INCREMENT PRIMARY KEY, customer_id bigint, amount decimal(12,2), status varchar(16), created_at timestamp(6), payload json)")
	ts := newTestSource(t, srv, "sl_bench")
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
		exec(fmt.Sprintf("INSERT INTO sl_bench.orders(customer_id,amount,status,created_at,payload) SELECT seq%%10007,(seq%%100000)/100.0,'new',now(6),JSON_OBJECT('sku',CONCAT('SKU-',seq),'qty',seq%%10,'note',MD5(seq)) FROM sl_bench.seq_%d_to_%d", a, a+txn-1))
	}
	for a := 1; a <= rows/2; a += txn {
		exec(fmt.Sprintf("UPDATE sl_bench.orders SET status='paid', amount=amount+1 WHERE id BETWEEN %d AND %d", a, a+txn-1))
	}
	for a := rows - rows/5 + 1; a <= rows; a += txn {
		exec(fmt.Sprintf("DELETE FROM sl_bench.orders WHERE id BETWEEN %d AND %d", a, a+txn-1))
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
	}
	el := time.Since(t1)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) * time.Nanosecond
	t.Logf("%d changes in %.2f s = %.0f changes/s; process CPU %.2f s = %.2f µs/change; max RSS %d MB",
		n, el.Seconds(), float64(n)/el.Seconds(), cpu.Seconds(), float64(cpu.Microseconds())/float64(n), ru1.Maxrss/1024)
}
