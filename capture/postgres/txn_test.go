package postgres

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/postgres/pgoutput"
	"github.com/sluicecdc/sluice/internal/testkit"
)

// streamSource is a Source past its snapshot, with relation 1 = benchRelation and no
// connection: messages go in through its batch.
func streamSource(t *testing.T) *Source {
	s := &Source{log: slog.New(slog.DiscardHandler), dbName: "postgres", rels: map[uint32]*relation{1: benchRelation()},
		streaming: true, skipped: map[byte]bool{}, spools: map[uint32]*spool{}}
	s.cfg.SpoolDir = t.TempDir()
	return s
}

// run hands msgs to s as the receive loop would (the i-th at LSN 0x1000+i*0x10) and returns
// every event Next makes of them.
func run(t *testing.T, s *Source, msgs ...[]byte) ([]capture.Event, error) {
	t.Helper()
	for i, m := range msgs {
		s.batch = append(s.batch, wireMsg{lsn: 0x1000 + uint64(i)*0x10, data: m})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Next returns ctx.Err() once the batch is used up
	var evs []capture.Event
	for {
		ev, err := s.Next(ctx)
		if errors.Is(err, context.Canceled) {
			return evs, nil
		}
		if err != nil {
			return evs, err
		}
		evs = append(evs, ev)
	}
}

// kinds renders events as "B c u d C": Begin/Commit/Keepalive by kind, changes by op.
func kinds(evs []capture.Event) string {
	var b []byte
	for _, ev := range evs {
		switch ev.Kind {
		case capture.Begin:
			b = append(b, 'B')
		case capture.Commit:
			b = append(b, 'C')
		case capture.Keepalive:
			b = append(b, 'K')
		default:
			b = append(b, byte(ev.Op))
		}
	}
	return string(b)
}

func text(s string) testkit.PgoutputValue { return testkit.PgoutputText(s) }

var null = testkit.PgoutputValue{Kind: 'n'}

// orderRow is a row of benchRelation with id and name; unchanged name when name is "".
func orderRow(id, name string) []byte {
	n := text(name)
	if name == "" {
		n = testkit.PgoutputValue{Kind: 'u'}
	}
	return testkit.PgoutputTuple(text(id), n, text("1.50"), text("2024-01-15 10:30:00+00"), text("t"), text("{}"), text("7"), null)
}

func TestTransaction(t *testing.T) {
	s := streamSource(t)
	evs, err := run(t, s,
		testkit.PgoutputBegin(0x2000, 1, 700),
		testkit.PgoutputInsert(0, 1, orderRow("1", "a")),
		testkit.PgoutputUpdate(0, 1, 'K', orderRow("1", "a"), orderRow("2", "b")),
		// REPLICA IDENTITY FULL, name TOASTed and unchanged: the old row has it.
		testkit.PgoutputUpdate(0, 1, 'O', orderRow("2", "long name"), orderRow("3", "")),
		testkit.PgoutputDelete(0, 1, 'K', orderRow("3", "x")),
		testkit.PgoutputTruncate(0, 0, 1, 99),
		testkit.PgoutputMessage(0, true, 0x1060, "app", []byte("hi")),
		testkit.PgoutputCommit(0x2000, 0x2030, 1),
	)
	if err != nil {
		t.Fatal(err)
	}
	if k := kinds(evs); k != "BcuudtmC" {
		t.Fatalf("events %s", k)
	}
	if got := string(evs[3].After[1].Bytes); got != "long name" {
		t.Errorf("TOASTed column = %q, want the old row's", got)
	}
	for i, typ := range []string{"BEGIN", "INSERT", "UPDATE", "UPDATE", "DELETE", "TRUNCATE", "MESSAGE", "COMMIT"} {
		if p := evs[i].Position.(*Position); p.Type != typ {
			t.Errorf("event %d: position type %s, want %s", i, p.Type, typ)
		}
	}
	if c := evs[7].Position.(*Position); c.CommitLSN != 0x2030 || c.TxID != 700 {
		t.Errorf("commit position %+v", c)
	}
	if ts := evs[1].Source.TsMicros; ts != pgoutput.Time(1).UnixMicro() {
		t.Errorf("commit time %d", ts)
	}
}

// TestKeyChangeKeepsToastPlaceholder: a primary-key change under the default replica identity
// sends the old key only ('K': every other column NULL). An unchanged TOASTed column must then
// stay the unavailable placeholder, as Debezium writes it; the key tuple's NULL is not its value
// (the torture harness found such rows arriving with the column empty).
func TestKeyChangeKeepsToastPlaceholder(t *testing.T) {
	s := streamSource(t)
	key := testkit.PgoutputTuple(text("1"), null, null, null, null, null, null, null)
	evs, err := run(t, s,
		testkit.PgoutputBegin(0x2000, 1, 700),
		testkit.PgoutputUpdate(0, 1, 'K', key, orderRow("2", "")),
		testkit.PgoutputCommit(0x2000, 0x2030, 1),
	)
	if err != nil {
		t.Fatal(err)
	}
	if k := kinds(evs); k != "BuC" {
		t.Fatalf("events %s", k)
	}
	if got := evs[1].After[1]; got.Kind != capture.Unavailable {
		t.Errorf("unchanged TOASTed column after a key change = %s, want the unavailable placeholder", show(got))
	}
}

// TestIdleKeepaliveMovesPosition: a server keepalive between transactions becomes a Keepalive
// event at the server's WAL end, so the pipeline can store and confirm it (an idle slot must
// not stay at the last commit: it pins WAL and a fast shutdown waits for the confirmation); one
// inside a transaction, or not past the last commit, does not.
func TestIdleKeepaliveMovesPosition(t *testing.T) {
	s := streamSource(t)
	s.batch = append(s.batch, wireMsg{walEnd: 0x1800}) // idle, before the transaction: an event
	evs, err := run(t, s,
		testkit.PgoutputBegin(0x2000, 1, 700),
		testkit.PgoutputInsert(0, 1, orderRow("1", "a")),
		testkit.PgoutputCommit(0x2000, 0x2030, 1),
	)
	if err != nil || kinds(evs) != "KBcC" {
		t.Fatalf("events %s, %v", kinds(evs), err)
	}
	s.inTx = true
	s.batch = append(s.batch, wireMsg{walEnd: 0x2800})
	if evs, err = run(t, s); err != nil || len(evs) != 0 {
		t.Fatalf("keepalive inside a transaction: events %s, %v", kinds(evs), err)
	}
	s.inTx = false
	s.batch = append(s.batch, wireMsg{walEnd: 0x2030}, wireMsg{walEnd: 0x5000})
	evs, err = run(t, s)
	if err != nil || kinds(evs) != "K" {
		t.Fatalf("idle keepalives: events %s, %v", kinds(evs), err)
	}
	if p := evs[0].Position.(*Position); p.LSN != 0x5000 || p.CommitLSN != 0x5000 || p.Type != "HEARTBEAT" {
		t.Errorf("idle position %+v, want LSN and commit LSN 0x5000", p)
	}
	// The next transaction's positions do not fall behind the idle one (the slot may be
	// confirmed there; a stored offset behind it would read as a gap on restart).
	evs, err = run(t, s,
		testkit.PgoutputBegin(0x6000, 1, 701),
		testkit.PgoutputInsert(0, 1, orderRow("2", "b")),
		testkit.PgoutputCommit(0x6000, 0x6030, 1),
	)
	if err != nil || kinds(evs) != "BcC" {
		t.Fatalf("events %s, %v", kinds(evs), err)
	}
	for i, want := range []uint64{0x5000, 0x5000, 0x6030} {
		if p := evs[i].Position.(*Position); p.CommitLSN != want {
			t.Errorf("event %d: commit LSN %#x, want %#x", i, p.CommitLSN, want)
		}
	}
	if got := evs[1].Source.LastCommitLSN; got != 0x2030 {
		t.Errorf("source.sequence's last commit %#x, want the last commit 0x2030 (records unchanged)", got)
	}
}

func TestTransactionWithoutChanges(t *testing.T) {
	s := streamSource(t)
	s.rels[2] = &relation{table: benchRelation().table, included: false}
	evs, err := run(t, s, testkit.PgoutputBegin(0x2000, 1, 700), testkit.PgoutputInsert(0, 2, orderRow("1", "a")), testkit.PgoutputCommit(0x2000, 0x2030, 1))
	if err != nil || kinds(evs) != "K" {
		t.Fatalf("events %s, %v", kinds(evs), err)
	}
}

// TestStreamedTransaction: protocol 2 sends a large transaction in blocks before its commit;
// the source spools the blocks and replays them at Stream Commit, without the subtransaction
// that was rolled back.
func TestStreamedTransaction(t *testing.T) {
	s := streamSource(t)
	evs, err := run(t, s,
		testkit.PgoutputStreamStart(800, true),
		testkit.PgoutputInsert(800, 1, orderRow("1", "a")),
		testkit.PgoutputInsert(801, 1, orderRow("2", "b")), // SAVEPOINT s1
		testkit.PgoutputStreamStop(),
		testkit.PgoutputBegin(0x2000, 1, 700), // another transaction commits meanwhile
		testkit.PgoutputInsert(0, 1, orderRow("9", "z")),
		testkit.PgoutputCommit(0x2000, 0x2030, 1),
		testkit.PgoutputStreamAbort(800, 801), // ROLLBACK TO SAVEPOINT s1
		testkit.PgoutputStreamStart(800, false),
		testkit.PgoutputInsert(800, 1, orderRow("3", "c")),
		testkit.PgoutputStreamStop(),
		testkit.PgoutputStreamCommit(800, 0x3000, 0x3030, 2),
	)
	if err != nil {
		t.Fatal(err)
	}
	if k := kinds(evs); k != "BcCBccC" {
		t.Fatalf("events %s", k)
	}
	if id := evs[4].After[0].Int; id != 1 {
		t.Errorf("first replayed row id %d", id)
	}
	if id := evs[5].After[0].Int; id != 3 {
		t.Errorf("second replayed row id %d (the rolled-back one came through?)", id)
	}
	if c := evs[6].Position.(*Position); c.CommitLSN != 0x3030 || c.TxID != 800 {
		t.Errorf("commit position %+v", c)
	}
	if st := s.Stats(); st.StreamedTransactions != 1 || st.SpooledToDisk != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestHandleErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		msg  []byte
		want error
	}{
		{"truncated BEGIN", testkit.PgoutputBegin(1, 2, 3)[:10], pgoutput.ErrTruncated},
		{"unknown message", []byte{'Z'}, pgoutput.ErrUnknownMessage},
		{"bad tuple", testkit.PgoutputInsert(0, 1, orderRow("x", "a")), nil},
		{"short tuple", testkit.PgoutputInsert(0, 1, orderRow("1", "a")[:20]), pgoutput.ErrTruncated},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := run(t, streamSource(t), c.msg)
			var de *pgoutput.DecodeError
			if !errors.As(err, &de) || de.LSN != 0x1000 || (c.want != nil && !errors.Is(err, c.want)) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	if _, err := run(t, streamSource(t), testkit.PgoutputInsert(0, 5, orderRow("1", "a"))); err == nil {
		t.Error("change of an undescribed relation: no error")
	}
	if _, err := run(t, streamSource(t), testkit.PgoutputCommitPrepared(1, 2, 3, 4, "g")); err == nil {
		t.Error("two-phase message: no error")
	}
}
