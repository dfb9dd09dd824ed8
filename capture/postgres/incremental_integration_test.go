//go:build integration

package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/signal"
)

const signalDDL = "CREATE TABLE debezium_signal (id varchar(42) PRIMARY KEY, type varchar(32) NOT NULL, data varchar(2048))"

// incrDB makes table t (ids 1..n, v = 0, every update adds 1), the signal table and a
// sentinel table, and a config that reads signals in chunks of chunk rows.
func incrDB(t *testing.T, db *testDB, n, chunk int) Config {
	t.Helper()
	db.exec("CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)",
		fmt.Sprintf("INSERT INTO t SELECT g, 0 FROM generate_series(1, %d) g", n),
		signalDDL, "CREATE TABLE sentinel (id int PRIMARY KEY)")
	cfg := db.config()
	cfg.SignalDataCollection = "public.debezium_signal"
	cfg.TableExclude = []string{`public\.debezium_signal`}
	cfg.SnapshotChunkRows = chunk
	return cfg
}

// load updates (v+1) and deletes random keys of t on its own connection until stop.
type load struct {
	txns atomic.Int64 // transactions committed
	halt chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// startLoad starts a load on t (ids 1..n); it stops with the test at the latest.
func startLoad(t *testing.T, db *testDB, n int) *load {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), db.dsn)
	if err != nil {
		t.Fatal(err)
	}
	l := &load{halt: make(chan struct{})}
	t.Cleanup(l.stop)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		defer conn.Close(context.Background())
		for {
			select {
			case <-l.halt:
				return
			default:
			}
			id := 1 + rand.IntN(n)
			q := "UPDATE t SET v = v + 1 WHERE id = $1"
			if rand.IntN(50) == 0 {
				q = "DELETE FROM t WHERE id = $1"
			}
			if _, err := conn.Exec(context.Background(), q, id); err != nil {
				t.Error(err)
				return
			}
			l.txns.Add(1)
		}
	}()
	return l
}

// stop ends the load and waits for its last transaction; later calls do nothing.
func (l *load) stop() {
	l.once.Do(func() { close(l.halt) })
	l.wg.Wait()
}

// keyState is what the events said of one key.
type keyState struct {
	v       int64
	deleted bool
	seen    bool
	xid     int64
	lsn     uint64
}

// follow applies the events of t to state and checks that no snapshot read of a key is older
// than a stream event emitted before it for the same key (v only grows; a deleted key is never
// read again). It returns the number of incremental reads.
func follow(t *testing.T, ev capture.Event, state map[int64]*keyState) int {
	t.Helper()
	if ev.Kind != capture.Change || ev.Table == nil || ev.Table.ID.Table != "t" {
		return 0
	}
	row := ev.After
	if ev.Op == capture.OpDelete {
		row = ev.Before
	}
	id := row[0].Int
	st := state[id]
	if st == nil {
		st = &keyState{}
		state[id] = st
	}
	switch ev.Op {
	case capture.OpRead:
		if ev.Source.Snapshot != capture.SnapshotIncremental {
			t.Fatalf("read of id %d has source.snapshot %v, want incremental", id, ev.Source.Snapshot)
		}
		v := row[1].Int
		if st.deleted {
			t.Fatalf("id %d: a snapshot read (v=%d) after its delete was streamed: a stale chunk row", id, v)
		}
		if st.seen && v < st.v {
			t.Fatalf("id %d: a snapshot read v=%d (lsn %d) after a stream event v=%d (xid %d lsn %d): a stale chunk row", id, v, ev.Source.LSN, st.v, st.xid, st.lsn)
		}
		st.v, st.seen = v, true
		return 1
	case capture.OpDelete:
		st.deleted = true
	default:
		st.v, st.seen, st.deleted = row[1].Int, true, false
		st.xid, st.lsn = ev.Source.TxID, ev.Source.LSN
	}
	return 0
}

// finalState reads t.
func finalState(t *testing.T, db *testDB) map[int64]int64 {
	t.Helper()
	rows, err := db.conn.Query(context.Background(), "SELECT id, v FROM t")
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]int64{}
	for rows.Next() {
		var id, v int64
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		out[id] = v
	}
	return out
}

// TestIncrementalSnapshotUnderLoad: an execute-snapshot signal inserted into the signal table
// reads t in chunks while another connection updates and deletes its rows. Every key's final
// state from the events equals the table's, and no snapshot read is older than a stream event
// emitted before it for the same key (the window drops chunk rows the stream changed).
func TestIncrementalSnapshotUnderLoad(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		const n = 5000
		s := db.open(incrDB(t, db, n, 200))
		ld := startLoad(t, db, n)
		db.exec(`INSERT INTO debezium_signal VALUES ('ad-hoc-1', 'execute-snapshot', '{"data-collections": ["public.t"], "type": "incremental"}')`)
		incrementalUnderLoad(t, db, s, n, ld)
	})
}

// incrementalUnderLoad follows s (acking) through an incremental snapshot of t (ids 1..n)
// under ld: the load stops once the snapshot completed, and a sentinel row ends the stream.
// Every key's final state from the events must equal the table's, with 1..n reads, none
// stale (follow).
func incrementalUnderLoad(t *testing.T, db *testDB, s *Source, n int, ld *load) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	state := map[int64]*keyState{}
	reads, stopped := 0, false
	for {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("Next after %d reads: %v", reads, err)
		}
		if ev.Position != nil {
			s.Ack(ctx, ev.Position)
		}
		if ev.Table != nil && ev.Table.ID.Table == "debezium_signal" {
			t.Fatal("the signal table is excluded: its rows must not be emitted")
		}
		if isSentinel(ev) {
			break
		}
		reads += follow(t, ev, state)
		if !stopped && s.Progress().Snapshot.Completed.Load() {
			stopped = true
			ld.stop()
			db.exec("INSERT INTO sentinel VALUES (1)")
		}
	}
	want := finalState(t, db)
	for id, v := range want {
		st := state[id]
		if st == nil || !st.seen || st.deleted || st.v != v {
			t.Errorf("id %d: events end at %+v, table has v=%d", id, st, v)
		}
	}
	for id, st := range state {
		if _, ok := want[id]; !ok && !st.deleted {
			t.Errorf("id %d: deleted in the table, events end at %+v", id, st)
		}
	}
	t.Logf("%d incremental reads of %d rows, %d concurrent transactions", reads, n, ld.txns.Load())
	if reads == 0 || reads > n {
		t.Errorf("%d incremental reads, want 1..%d", reads, n)
	}
}

// incrReads reads events until done says stop, acking each, and returns the incremental
// reads' ids and the last position.
func incrReads(t *testing.T, s *Source, done func(ev capture.Event, reads int) bool) ([]int64, capture.Position) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var ids []int64
	var last capture.Position
	for {
		ev, err := s.Next(ctx)
		if err != nil {
			t.Fatalf("Next after %d reads: %v", len(ids), err)
		}
		if ev.Position != nil {
			s.Ack(ctx, ev.Position)
			last = ev.Position
		}
		if ev.Kind == capture.Change && ev.Op == capture.OpRead {
			ids = append(ids, ev.After[0].Int)
		}
		if done(ev, len(ids)) {
			return ids, last
		}
	}
}

// ticker inserts a sentinel row every 50 ms until the test ends, so a reader waiting for a
// state change always has an event to check it at.
func ticker(t *testing.T, db *testDB) {
	conn, err := pgx.Connect(context.Background(), db.dsn)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer conn.Close(context.Background())
		for i := 1000000; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			conn.Exec(context.Background(), "INSERT INTO sentinel VALUES ($1)", i)
		}
	}()
	t.Cleanup(func() { close(stop); wg.Wait() })
}

func isSentinel(ev capture.Event) bool {
	return ev.Kind == capture.Change && ev.Table != nil && ev.Table.ID.Table == "sentinel"
}

// TestIncrementalSnapshotPauseResumeStop: pause-snapshot stops the chunk reads (the stream
// goes on), resume-snapshot goes on, stop-snapshot ends the snapshot before the table's end;
// a log signal and a bad signal do not stop the stream.
func TestIncrementalSnapshotPauseResumeStop(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		const n, chunk = 20000, 100
		s := db.open(incrDB(t, db, n, chunk))
		db.exec(`INSERT INTO debezium_signal VALUES ('bad', 'execute-snapshot', '{"data-collections": "public.t"}')`,
			`INSERT INTO debezium_signal VALUES ('log', 'log', '{"message": "hello at {}"}')`,
			`INSERT INTO debezium_signal VALUES ('go', 'execute-snapshot', '{"data-collections": ["public.t"]}')`)
		ids, _ := incrReads(t, s, func(_ capture.Event, reads int) bool { return reads > 0 })
		db.exec(`INSERT INTO debezium_signal VALUES ('p', 'pause-snapshot', NULL)`, "INSERT INTO sentinel VALUES (0)")
		more, _ := incrReads(t, s, func(ev capture.Event, _ int) bool { return isSentinel(ev) })
		ids = append(ids, more...)
		if !s.Progress().Snapshot.Paused.Load() {
			t.Fatal("SnapshotPaused is false after pause-snapshot")
		}
		atPause := len(ids)
		// While paused, the stream goes on and no more than the chunks already read come.
		for i := 1; i <= 20; i++ {
			db.exec(fmt.Sprintf("INSERT INTO sentinel VALUES (%d)", i))
			time.Sleep(20 * time.Millisecond)
		}
		sentinels := 0
		more, _ = incrReads(t, s, func(ev capture.Event, _ int) bool {
			if isSentinel(ev) {
				sentinels++
			}
			return sentinels == 20
		})
		ids = append(ids, more...)
		if len(ids) > atPause+3*chunk {
			t.Fatalf("paused: %d reads after the pause took effect (%d), want at most the %d rows of chunks already read", len(ids)-atPause, atPause, 3*chunk)
		}
		if len(ids) >= n {
			t.Fatalf("the whole table was read while paused")
		}
		db.exec(`INSERT INTO debezium_signal VALUES ('r', 'resume-snapshot', '{"type": "incremental"}')`)
		more, _ = incrReads(t, s, func(_ capture.Event, reads int) bool { return reads >= 10*chunk })
		ids = append(ids, more...)
		db.exec(`INSERT INTO debezium_signal VALUES ('s', 'stop-snapshot', '{"data-collections": ["public.t"], "type": "incremental"}')`)
		ticker(t, db)
		more, _ = incrReads(t, s, func(ev capture.Event, _ int) bool {
			return isSentinel(ev) && s.Progress().Snapshot.Completed.Load()
		})
		ids = append(ids, more...)
		if len(ids) >= n {
			t.Fatalf("%d reads: stop-snapshot did not stop the snapshot", len(ids))
		}
		t.Logf("%d of %d rows read before the stop", len(ids), n)
	})
}

// TestIncrementalSnapshotResumesAfterRestart: a source closed part way through an
// incremental snapshot carries on from its stored offset at the chunk after the last one
// emitted: every row is read, and at most the chunks in flight twice.
func TestIncrementalSnapshotResumesAfterRestart(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		const n, chunk = 3000, 100
		cfg := incrDB(t, db, n, chunk)
		s := db.open(cfg)
		db.exec(`INSERT INTO debezium_signal VALUES ('go', 'execute-snapshot', '{"data-collections": ["public.t"]}')`)
		first, pos := incrReads(t, s, func(_ capture.Event, reads int) bool { return reads >= n/2 })
		off := pos.AppendOffset(nil)
		if !strings.Contains(string(off), `"incremental_snapshot_tables":["public.t"]`) {
			t.Fatalf("the offset carries no incremental snapshot progress: %s", off)
		}
		s.Close()
		cfg.Offset = off
		s = db.open(cfg)
		ticker(t, db)
		second, _ := incrReads(t, s, func(ev capture.Event, _ int) bool {
			return isSentinel(ev) && s.Progress().Snapshot.Completed.Load()
		})
		seen := map[int64]bool{}
		for _, id := range append(first, second...) {
			seen[id] = true
		}
		for id := int64(1); id <= n; id++ {
			if !seen[id] {
				t.Fatalf("id %d never read (%d reads before the restart, %d after)", id, len(first), len(second))
			}
		}
		if len(first)+len(second) > n+3*chunk {
			t.Errorf("%d reads for %d rows: the restart read more than the chunks in flight again", len(first)+len(second), n)
		}
		t.Logf("%d reads before the restart, %d after, %d rows", len(first), len(second), n)
	})
}

// TestIncrementalSnapshotPausedAfterRestart: a source closed while its incremental snapshot
// is paused (pause-snapshot) starts again from the stored offset still paused: no chunk is
// read while the stream goes on, until a resume-snapshot signal; then every row is read.
func TestIncrementalSnapshotPausedAfterRestart(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		const n, chunk = 3000, 100
		cfg := incrDB(t, db, n, chunk)
		s := db.open(cfg)
		db.exec(`INSERT INTO debezium_signal VALUES ('go', 'execute-snapshot', '{"data-collections": ["public.t"]}')`)
		ids, _ := incrReads(t, s, func(_ capture.Event, reads int) bool { return reads >= 3*chunk })
		db.exec(`INSERT INTO debezium_signal VALUES ('p', 'pause-snapshot', NULL)`, "INSERT INTO sentinel VALUES (0)")
		more, pos := incrReads(t, s, func(ev capture.Event, _ int) bool { return isSentinel(ev) })
		ids = append(ids, more...)
		off := pos.AppendOffset(nil)
		if !strings.Contains(string(off), `"incremental_snapshot_paused":true`) {
			t.Errorf("the offset after the pause does not say paused: %s", off)
		}
		s.Close()
		if len(ids) >= n {
			t.Fatalf("the snapshot ended before the pause (%d reads); the test needs more rows", len(ids))
		}
		cfg.Offset = off
		s = db.open(cfg)
		ticker(t, db)
		// Paused: about a second of stream (20 sentinels at 50 ms) and no chunk.
		sentinels := 0
		more, _ = incrReads(t, s, func(ev capture.Event, _ int) bool {
			if isSentinel(ev) {
				sentinels++
			}
			return sentinels == 20
		})
		if len(more) > 0 {
			t.Fatalf("after the restart the paused snapshot read %d rows before any resume-snapshot signal", len(more))
		}
		if !s.Progress().Snapshot.Paused.Load() {
			t.Error("SnapshotPaused is false after the restart of a paused snapshot")
		}
		db.exec(`INSERT INTO debezium_signal VALUES ('r', 'resume-snapshot', NULL)`)
		more, _ = incrReads(t, s, func(ev capture.Event, _ int) bool {
			return isSentinel(ev) && s.Progress().Snapshot.Completed.Load()
		})
		seen := map[int64]bool{}
		for _, id := range append(ids, more...) {
			seen[id] = true
		}
		for id := int64(1); id <= n; id++ {
			if !seen[id] {
				t.Fatalf("id %d never read (%d reads before the restart, %d after the resume)", id, len(ids), len(more))
			}
		}
	})
}

// TestIncrementalSnapshotKafkaSignal: a signal of the Kafka channel (parsed by
// signal.ParseKafka, handed over with Source.Signal) starts an incremental snapshot as a
// signal-table row does.
func TestIncrementalSnapshotKafkaSignal(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		const n = 1000
		s := db.open(incrDB(t, db, n, 100))
		ticker(t, db)
		sig, ok, err := signal.ParseKafka("dbserver1", []byte("dbserver1"),
			[]byte(`{"type": "execute-snapshot", "data": {"data-collections": ["public.t"], "type": "INCREMENTAL"}}`), 0, 7)
		if !ok || err != nil {
			t.Fatal(ok, err)
		}
		s.Signal(sig)
		ids, _ := incrReads(t, s, func(ev capture.Event, _ int) bool {
			return isSentinel(ev) && s.Progress().Snapshot.Completed.Load()
		})
		if len(ids) != n {
			t.Fatalf("%d incremental reads, want %d", len(ids), n)
		}
	})
}

// TestSignalWakesIdleSource: a signal handed over (the Kafka channel) while the database is
// idle is acted on at once: it wakes a Next waiting for the stream. Before, it waited for the
// next stream message, a keepalive up to half of --read-timeout (30 s) away.
func TestSignalWakesIdleSource(t *testing.T) {
	eachServer(t, func(t *testing.T, db *testDB) {
		const n = 300
		s := db.open(incrDB(t, db, n, 100))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		go func() {
			time.Sleep(time.Second) // Next is waiting by then
			sig, _, _ := signal.ParseKafka("app", []byte("app"), []byte(`{"type": "execute-snapshot", "data": {"data-collections": ["public.t"]}}`), 0, 1)
			s.Signal(sig)
		}()
		reads := 0
		for reads < n {
			ev, err := s.Next(ctx)
			if err != nil {
				t.Fatalf("Next after %d reads: %v", reads, err)
			}
			if ev.Position != nil {
				s.Ack(ctx, ev.Position)
			}
			if ev.Kind == capture.Change && ev.Op == capture.OpRead {
				reads++
			}
		}
	})
}
