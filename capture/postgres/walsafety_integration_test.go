//go:build integration

package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// smallWAL makes a private server whose slot loses its WAL after a few megabytes.
var smallWAL = testkit.PGOptions{InitdbArgs: []string{"--wal-segsize=1"}, Conf: "max_slot_wal_keep_size = 2MB\nmax_wal_size = 4MB\nmin_wal_size = 2MB\n"}

func exec1(t *testing.T, c *pgx.Conn, sqls ...string) {
	t.Helper()
	for _, q := range sqls {
		if _, err := c.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// slotWAL reads a slot's retained WAL (current - restart_lsn) and unconfirmed WAL (current -
// confirmed_flush_lsn), in bytes.
func slotWAL(t *testing.T, c *pgx.Conn, slot string) (retained, unconfirmed int64) {
	t.Helper()
	err := c.QueryRow(context.Background(), `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint,
  pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint FROM pg_replication_slots WHERE slot_name = $1`, slot).Scan(&retained, &unconfirmed)
	if err != nil {
		t.Fatal(err)
	}
	return retained, unconfirmed
}

// consume reads s until ctx ends, acknowledging every position at once (a sink that is always
// durable), and counts the published (Change) events.
func consume(ctx context.Context, s *Source, changes *int64, mu *sync.Mutex, errp *error) {
	for {
		ev, err := s.Next(ctx)
		if err != nil {
			if ctx.Err() == nil {
				mu.Lock()
				*errp = err
				mu.Unlock()
			}
			return
		}
		if ev.Kind == capture.Change {
			mu.Lock()
			*changes++
			mu.Unlock()
		}
		if ev.Position != nil {
			s.Ack(ctx, ev.Position)
		}
	}
}

// TestIdleSlotAdvances writes only to a table the publication leaves out, at a high rate, while
// three sources stream from their own slots: the default (keepalive positions and heartbeat
// messages confirmed), heartbeat messages only (lsn.flush.mode connector, Debezium's default,
// plus the slot heartbeat), and neither (connector, no heartbeat: Debezium's behaviour without
// heartbeat.action.query). The first two must keep their slots' retained WAL bounded; the
// third retains everything written, which is what the first two would do without the fix.
// SLUICE_WALSAFE_DURATION sets how long it writes (default 6s, 10-25 MiB of WAL a second).
func TestIdleSlotAdvances(t *testing.T) {
	pg := testkit.StartPG(t, testkit.PGOptions{})
	adm := pg.Connect("postgres")
	dur := 6 * time.Second
	if d, err := time.ParseDuration(os.Getenv("SLUICE_WALSAFE_DURATION")); err == nil && d > 0 {
		dur = d
	}
	type variant struct {
		slot      string
		mode      LSNFlushMode
		heartbeat time.Duration
		bounded   bool
	}
	variants := []variant{
		{"walsafe_default", "", 0, true},
		{"walsafe_heartbeat_only", FlushConnector, time.Second, true},
		{"walsafe_off", FlushConnector, -1, false},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	var mu sync.Mutex
	errs := make([]error, len(variants))
	changes := make([]int64, len(variants))
	stats := make([]*capture.Stats, len(variants))
	logs := make([]testkit.SyncBuffer, len(variants))
	writers := make([]*pgx.Conn, len(variants))
	for i, v := range variants {
		// A database each: the heartbeat messages of one source's database would move the
		// slots of all the sources of that database.
		exec1(t, adm, "CREATE DATABASE "+v.slot)
		writers[i] = pg.Connect(v.slot)
		exec1(t, writers[i], "CREATE TABLE captured (id int PRIMARY KEY)", "CREATE TABLE other (id bigserial PRIMARY KEY, pad text)",
			"CREATE PUBLICATION sluice FOR TABLE captured")
		stats[i] = new(capture.Stats)
		cfg := Config{DSN: pg.DSN("", v.slot), Slot: v.slot, Publication: "sluice", SnapshotMode: SnapshotNoData, StatusInterval: 200 * time.Millisecond,
			LSNFlushMode: v.mode, SlotHeartbeatInterval: v.heartbeat, SlotCheckInterval: 500 * time.Millisecond, Stats: stats[i],
			RetainedWALWarn: 8 << 20, Logger: slog.New(slog.NewTextHandler(&logs[i], nil))}
		octx, ocancel := context.WithTimeout(ctx, time.Minute)
		s, err := Open(octx, cfg)
		ocancel()
		if err != nil {
			t.Fatalf("Open %s: %v", v.slot, err)
		}
		t.Cleanup(func() { s.Close() })
		wg.Add(1)
		go func() {
			defer wg.Done()
			consume(ctx, s, &changes[i], &mu, &errs[i])
		}()
	}
	var start string
	if err := adm.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&start); err != nil {
		t.Fatal(err)
	}
	// One captured change, so every source has streamed a transaction before the idle spell.
	for _, w := range writers {
		exec1(t, w, "INSERT INTO captured VALUES (1)")
	}
	end := time.Now().Add(dur)
	for time.Now().Before(end) {
		for _, w := range writers {
			exec1(t, w, "INSERT INTO other (pad) SELECT repeat('x', 200) FROM generate_series(1, 300)")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A checkpoint logs the running transactions, from which a slot's restart_lsn may move;
	// the server logs them on its own every 15 s while busy.
	exec1(t, adm, "CHECKPOINT")
	var written int64
	if err := adm.QueryRow(ctx, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint", start).Scan(&written); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d MiB of WAL in %s, none of it for the captured table", written>>20, dur)
	// The bounded slots must get there within a few status intervals.
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok := true
		for _, v := range variants {
			r, _ := slotWAL(t, adm, v.slot)
			if v.bounded && r > written/10 {
				ok = false
			}
		}
		if ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second) // a slot check interval, for the stats
	mu.Lock()
	defer mu.Unlock()
	for i, v := range variants {
		r, u := slotWAL(t, adm, v.slot)
		t.Logf("%s: retained %d KiB, unconfirmed %d KiB; stats: retained %d KiB, flush lag %d KiB; changes %d",
			v.slot, r>>10, u>>10, stats[i].Stream.RetainedWALBytes.Load()>>10, stats[i].Stream.ConfirmedFlushLagBytes.Load()>>10, changes[i])
		if errs[i] != nil {
			t.Errorf("%s: Next: %v", v.slot, errs[i])
		}
		if changes[i] != 1 {
			t.Errorf("%s: %d changes, want 1 (heartbeat messages must not be published)", v.slot, changes[i])
		}
		if v.bounded {
			if r > written/10 || u > written/10 {
				t.Errorf("%s: the slot retains %d bytes (unconfirmed %d) of %d written elsewhere: it did not move while the captured table was idle", v.slot, r, u, written)
			}
			if got := stats[i].Stream.RetainedWALBytes.Load(); got < 0 || got > written/5 {
				t.Errorf("%s: Stats.Stream.RetainedWALBytes = %d, want the slot's retained WAL (%d)", v.slot, got, r)
			}
		} else {
			if r < written*9/10 {
				t.Errorf("%s: the slot without idle confirmation retains only %d of %d bytes written: the comparison proves nothing", v.slot, r, written)
			}
			if !strings.Contains(logs[i].String(), "retains more WAL than --retained-wal-warn") {
				t.Errorf("%s: no warning with %d bytes retained above --retained-wal-warn 8 MiB; logs:\n%s", v.slot, r, logs[i].String())
			}
		}
	}
}

// TestSlotLost lets the server remove WAL a slot still needs (max_slot_wal_keep_size) while
// the slot is not read, then opens the source with the stored offset: it must fail, not
// retryable, with ErrSlotLost and the fix, instead of the server's bare "can no longer get
// changes" (or, worse, a retry loop). With --snapshot-mode when_needed it re-snapshots.
func TestSlotLost(t *testing.T) {
	pg := testkit.StartPG(t, smallWAL)
	adm := pg.Connect("postgres")
	exec1(t, adm, "CREATE TABLE captured (id int PRIMARY KEY, pad text)", "CREATE PUBLICATION sluice FOR TABLE captured")
	cfg := Config{DSN: pg.DSN("", "postgres"), Slot: "lost", Publication: "sluice", SnapshotMode: SnapshotNoData, StatusInterval: 100 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	exec1(t, adm, "INSERT INTO captured VALUES (1, 'a')")
	var offset []byte
	for offset == nil {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == capture.Commit {
			s.Ack(ctx, ev.Position)
			offset = ev.Position.(*Position).AppendOffset(nil)
		}
	}
	s.Close()
	// The source is down; rows are written and the server recycles WAL past the slot's limit.
	for i := 0; i < 20; i++ {
		exec1(t, adm, fmt.Sprintf("INSERT INTO captured SELECT g, repeat('x', 500) FROM generate_series(%d, %d) g", 2+i*1000, 1001+i*1000), "CHECKPOINT")
	}
	var status string
	if err := adm.QueryRow(ctx, "SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'lost'").Scan(&status); err != nil {
		t.Fatal(err)
	}
	if status != "lost" {
		t.Fatalf("wal_status %s, want lost: the test did not lose the slot", status)
	}
	cfg.Offset = offset
	_, err = Open(ctx, cfg)
	if !errors.Is(err, ErrSlotLost) || capture.Retryable(err) {
		t.Fatalf("Open on a lost slot: %v (retryable %v), want ErrSlotLost, not retryable", err, capture.Retryable(err))
	}
	for _, fix := range []string{"--snapshot-mode when_needed", "--drop-existing-slot", "max_slot_wal_keep_size"} {
		if !strings.Contains(err.Error(), fix) {
			t.Errorf("the error does not name %q: %v", fix, err)
		}
	}
	t.Logf("lost slot: %v", err)
	cfg.SnapshotMode = SnapshotWhenNeeded
	s, err = Open(ctx, cfg)
	if err != nil {
		t.Fatalf("Open with when_needed on a lost slot: %v", err)
	}
	defer s.Close()
	var rows int
	for {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == capture.SnapshotDone {
			break
		}
		if ev.Kind == capture.Change {
			rows++
		}
	}
	if rows != 20001 {
		t.Errorf("the new snapshot read %d rows, want 20001", rows)
	}
}

// TestIdleConfirmWaitsForAck: keepalives and heartbeat messages are positions for the pipeline
// to acknowledge, never confirmed by the source on its own: while a captured change is not
// acknowledged (not yet durable in the sink), the slot stays before it however much WAL is
// written elsewhere; once the pipeline acknowledges, the idle positions after it move the slot.
func TestIdleConfirmWaitsForAck(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		db.exec("CREATE TABLE captured (id int PRIMARY KEY)", "CREATE TABLE other (id bigserial PRIMARY KEY, pad text)",
			"CREATE PUBLICATION sluice FOR TABLE captured")
		cfg := db.config()
		cfg.SlotHeartbeatInterval = 100 * time.Millisecond
		cfg.SlotCheckInterval = 200 * time.Millisecond
		s := db.open(cfg)
		db.exec("INSERT INTO captured VALUES (1)")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var change capture.Event
		for change.Position == nil {
			ev, err := s.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind == capture.Change {
				change = ev
			}
		}
		// Read on without acknowledging, as a pipeline whose sink has not delivered the change.
		positions := make(chan capture.Position, 1024)
		rctx, rcancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				ev, err := s.Next(rctx)
				if err != nil {
					return
				}
				if ev.Position != nil {
					select {
					case positions <- ev.Position:
					default:
					}
				}
			}
		}()
		for i := 0; i < 30; i++ {
			db.exec("INSERT INTO other (pad) SELECT repeat('x', 200) FROM generate_series(1, 200)")
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(time.Second) // status intervals and heartbeats
		confirmed := parseLSN(t, db.slotConfirmed())
		if confirmed > change.Source.LSN {
			t.Fatalf("the slot is confirmed up to %X, past the unacknowledged change at %X", confirmed, change.Source.LSN)
		}
		if len(positions) == 0 {
			t.Fatal("no idle position while the captured table was idle")
		}
		// The sink delivers: the change and every idle position after it are acknowledged.
		s.Ack(ctx, change.Position)
		for len(positions) > 0 {
			s.Ack(ctx, <-positions)
		}
		deadline := time.Now().Add(10 * time.Second)
		for parseLSN(t, db.slotConfirmed()) <= change.Source.LSN {
			if time.Now().After(deadline) {
				t.Fatalf("the slot stayed at %s after the change and the idle positions were acknowledged", db.slotConfirmed())
			}
			time.Sleep(100 * time.Millisecond)
		}
		rcancel()
		<-done
	})
}

// TestSlotLostWhileStreaming: the replication connection stalls (its bytes held by a proxy) while
// the server removes WAL the slot needs; the slot watch, on its own connection, sees wal_status
// lost and Next fails with ErrSlotLost and the fix, not retryable, long before the stream's
// read timeout would have reopened it.
func TestSlotLostWhileStreaming(t *testing.T) {
	pg := testkit.StartPG(t, smallWAL)
	adm := pg.Connect("postgres")
	exec1(t, adm, "CREATE TABLE captured (id int PRIMARY KEY, pad text)", "CREATE PUBLICATION sluice FOR TABLE captured")
	proxy := testkit.StartProxy(t, pg.Addr)
	cfg := Config{DSN: "postgres://postgres@" + proxy.Addr() + "/postgres?sslmode=disable", Slot: "lost_streaming", Publication: "sluice",
		SnapshotMode: SnapshotNoData, StatusInterval: 100 * time.Millisecond, ReadTimeout: 5 * time.Minute,
		SlotCheckInterval: 200 * time.Millisecond, SlotHeartbeatInterval: -1}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	exec1(t, adm, "INSERT INTO captured VALUES (0, 'a')")
	for {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Position != nil {
			s.Ack(ctx, ev.Position)
		}
		if ev.Kind == capture.Commit {
			break
		}
	}
	addr := s.repl.Conn().LocalAddr().String()
	if n := proxy.StallWhere(func(a net.Addr) bool { return a.String() == addr }); n != 1 {
		t.Fatalf("stalled %d connections, want 1", n)
	}
	for i := 0; i < 20; i++ {
		exec1(t, adm, fmt.Sprintf("INSERT INTO captured SELECT g, repeat('x', 500) FROM generate_series(%d, %d) g", 1+i*1000, 1000+i*1000), "CHECKPOINT")
	}
	start := time.Now()
	for {
		ev, err := s.Next(ctx)
		if err != nil {
			if !errors.Is(err, ErrSlotLost) || capture.Retryable(err) {
				t.Fatalf("Next: %v (retryable %v), want ErrSlotLost, not retryable", err, capture.Retryable(err))
			}
			t.Logf("after %s: %v", time.Since(start).Round(time.Millisecond), err)
			return
		}
		if ev.Position != nil {
			s.Ack(ctx, ev.Position)
		}
	}
}
