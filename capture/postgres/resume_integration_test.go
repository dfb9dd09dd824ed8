//go:build integration

package postgres

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestLargeTransaction streams a 1,000,000-row transaction. With logical_decoding_work_mem at
// 1MB the server streams it in pieces (PG ≥ 14); sluice spools them to disk until the commit,
// so the heap stays small while all rows come through in order.
func TestLargeTransaction(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE big (id int PRIMARY KEY, v text NOT NULL)")
		cfg := db.config()
		cfg.DSN += "&logical_decoding_work_mem=1MB"
		cfg.SpoolDir = t.TempDir()
		s := db.open(cfg)
		const n = 1_000_000
		go func() {
			db.conn.Exec(context.Background(), fmt.Sprintf("INSERT INTO big SELECT g, 'row number ' || g FROM generate_series(1, %d) g", n))
		}()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		var got int
		var maxHeap uint64
		var ms runtime.MemStats
		var start time.Time
		next := int64(1)
		for {
			ev, err := s.Next(ctx)
			if err != nil {
				t.Fatalf("after %d rows: %v", got, err)
			}
			if ev.Kind == capture.Begin {
				start = time.Now()
			}
			if ev.Kind == capture.Change {
				if ev.After[0].Int != next {
					t.Fatalf("row %d: id %d, want %d", got, ev.After[0].Int, next)
				}
				next++
				got++
				if got%100000 == 0 {
					runtime.ReadMemStats(&ms)
					maxHeap = max(maxHeap, ms.HeapAlloc)
				}
			}
			if ev.Position != nil {
				s.Ack(ctx, ev.Position)
			}
			if ev.Kind == capture.Commit {
				break
			}
		}
		el := time.Since(start)
		st := s.Stats()
		t.Logf("%d rows in %v (%.0f rows/s after BEGIN); max heap %d MB; streamed txns %d, spooled %d MB, to disk %d",
			got, el.Round(time.Millisecond), float64(got)/el.Seconds(), maxHeap>>20, st.StreamedTransactions, st.SpooledBytes>>20, st.SpooledToDisk)
		if got != n {
			t.Fatalf("%d rows, want %d", got, n)
		}
		if maxHeap > 200<<20 {
			t.Errorf("heap reached %d MB", maxHeap>>20)
		}
		if st.StreamedTransactions != 1 || st.SpooledToDisk != 1 {
			t.Errorf("the transaction was not streamed and spooled to disk: %+v", st)
		}
	})
}

// TestResumeHelper is the "sluice process" of TestKillResume: it runs a Source and writes one line
// per event, event and offset in a single write, then acks. Only runs as a subprocess.
func TestResumeHelper(t *testing.T) {
	out := os.Getenv("SLUICE_PG_HELPER_OUT")
	if out == "" {
		t.Skip("helper process only")
	}
	var offset []byte
	if b, err := os.ReadFile(out); err == nil {
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if last := lines[len(lines)-1]; last != "" {
			offset = []byte(last[strings.Index(last, "\t")+1:])
		}
	}
	ctx := context.Background()
	s, err := Open(ctx, Config{DSN: os.Getenv("SLUICE_PG_HELPER_DSN"), Slot: os.Getenv("SLUICE_PG_HELPER_SLOT"), Publication: "sluice",
		SnapshotMode: SnapshotNoData, Offset: offset, StatusInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	var buf []byte
	for {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Position == nil {
			continue
		}
		buf = buf[:0]
		switch ev.Kind {
		case capture.Change:
			buf = fmt.Appendf(buf, "%c %d %d", ev.Op, ev.After[0].Int, ev.Source.TxID)
		case capture.Begin:
			buf = fmt.Appendf(buf, "B 0 %d", ev.Source.TxID)
		case capture.Commit:
			buf = fmt.Appendf(buf, "C 0 %d", ev.Source.TxID)
		default:
			buf = append(buf, "K 0 0"...)
		}
		buf = append(buf, '\t')
		buf = ev.Position.AppendOffset(buf)
		buf = append(buf, '\n')
		if _, err := f.Write(buf); err != nil {
			t.Fatal(err)
		}
		s.Ack(ctx, ev.Position)
	}
}

// TestKillResume kills the capturing process with SIGKILL in the middle of a transaction,
// restarts it from its last written offset, and checks that every change arrives exactly once
// and that the slot was never confirmed beyond acknowledged data.
func TestKillResume(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE k (id int PRIMARY KEY, v text)", "CREATE PUBLICATION sluice FOR ALL TABLES")
		out := t.TempDir() + "/events"
		start := func() *exec.Cmd {
			cmd := exec.Command(os.Args[0], "-test.run=^TestResumeHelper$", "-test.count=1")
			cmd.Env = append(os.Environ(), "SLUICE_PG_HELPER_OUT="+out, "SLUICE_PG_HELPER_DSN="+db.dsn, "SLUICE_PG_HELPER_SLOT="+db.name)
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			return cmd
		}
		lines := func() []string {
			b, _ := os.ReadFile(out)
			s := strings.TrimSpace(string(b))
			if s == "" {
				return nil
			}
			return strings.Split(s, "\n")
		}
		waitLines := func(n int) []string {
			deadline := time.Now().Add(time.Minute)
			for time.Now().Before(deadline) {
				if l := lines(); len(l) >= n {
					return l
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Fatalf("timed out waiting for %d lines (have %d)", n, len(lines()))
			return nil
		}
		// waitSize polls the size (cheap) to catch the helper in the middle of a transaction.
		waitSize := func(size int64) {
			deadline := time.Now().Add(time.Minute)
			for time.Now().Before(deadline) {
				if fi, err := os.Stat(out); err == nil && fi.Size() >= size {
					return
				}
				time.Sleep(time.Millisecond)
			}
			t.Fatalf("timed out waiting for %d bytes", size)
		}
		const txns, per = 3, 20000
		cmd := start()
		// Let the helper create the slot, then write.
		waitSlot(t, db)
		for i := 0; i < txns; i++ {
			db.exec(fmt.Sprintf("INSERT INTO k SELECT g, 'v' FROM generate_series(%d, %d) g", i*per+1, (i+1)*per))
		}
		waitSize(int64(per+per/2) * 150) // lines are about 180 bytes
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		l := lines()
		last := l[len(l)-1]
		t.Logf("killed after %d lines; last: %s", len(l), last)
		p, err := ParseOffset([]byte(last[strings.Index(last, "\t")+1:]))
		if err != nil {
			t.Fatal(err)
		}
		var confirmed uint64
		var confirmedText string
		db.conn.QueryRow(context.Background(), "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", db.name).Scan(&confirmedText)
		confirmed = parseLSN(t, confirmedText)
		if confirmed > p.CommitLSN {
			t.Errorf("slot confirmed to %d beyond the last acknowledged commit %d", confirmed, p.CommitLSN)
		}
		if p.Type == "COMMIT" || p.Type == "BEGIN" {
			t.Logf("note: the kill landed on a %s, not mid-transaction", p.Type)
		}
		cmd = start()
		defer func() { cmd.Process.Signal(syscall.SIGKILL); cmd.Wait() }()
		// Done at the last commit; idle keepalives ("K") may follow it.
		for countPrefix(l, "C ") < txns {
			l = waitLines(len(l) + 1)
		}
		seen := map[string]int{}
		for _, line := range l {
			f := strings.Fields(line[:strings.Index(line, "\t")])
			switch f[0] {
			case "c":
				seen["row "+f[1]]++
			case "B", "C":
				seen[f[0]+" "+f[2]]++
			}
		}
		rows := 0
		for k, n := range seen {
			if n != 1 {
				t.Errorf("%s delivered %d times", k, n)
			}
			if strings.HasPrefix(k, "row ") {
				rows++
			}
		}
		if rows != txns*per {
			t.Errorf("%d distinct rows, want %d", rows, txns*per)
		}
	})
}

func countPrefix(l []string, p string) int {
	n := 0
	for _, s := range l {
		if strings.HasPrefix(s, p) {
			n++
		}
	}
	return n
}

func waitSlot(t *testing.T, db *testDB) {
	t.Helper()
	for i := 0; i < 600; i++ {
		var active bool
		db.conn.QueryRow(context.Background(), "SELECT active FROM pg_replication_slots WHERE slot_name = $1", db.name).Scan(&active)
		if active {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("slot never became active")
}

func parseLSN(t *testing.T, s string) uint64 {
	t.Helper()
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		t.Fatalf("lsn %q", s)
	}
	hi, _ := strconv.ParseUint(a, 16, 32)
	lo, _ := strconv.ParseUint(b, 16, 32)
	return hi<<32 | lo
}
