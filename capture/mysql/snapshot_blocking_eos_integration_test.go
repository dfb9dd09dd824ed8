//go:build integration

package mysql

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/signal"
)

// txnModel is what a transactional Kafka sink (--exactly-once) commits of a source's events:
// the records go into an open transaction, which commits at every event whose position covers
// it (capture.Rereads false, the pipeline's EventDone rule) together with that offset; a kill
// loses the open transaction and the restart reads from the offset committed last.
type txnModel struct {
	open      []string       // the reads (table/key) of the open transaction
	committed map[string]int // reads committed, by table/key
	off       []byte         // the offset committed last
}

func (m *txnModel) apply(recs []rec) {
	for _, r := range recs {
		if r.kind == capture.Change && r.op == capture.OpRead {
			m.open = append(m.open, r.tbl+"/"+valText(r.ev.After[0]))
		}
		if r.ev.Position != nil && !capture.Rereads(r.ev.Position) {
			for _, k := range m.open {
				m.committed[k]++
			}
			m.open = m.open[:0]
			m.off = r.ev.Position.AppendOffset(nil)
		}
	}
	m.open = m.open[:0] // killed: the open transaction is aborted
}

// TestMySQLBlockingSnapshotCutExactlyOnce cuts a blocking snapshot of two tables twice (in the
// middle of the first table's second chunk, then in the second table) and restarts it each
// time from the offset an exactly-once sink committed last: every row must be committed once
// (0 lost, 0 duplicated). The same cuts restarted from the last position handed out (the
// at-least-once offsets save) must lose nothing. Before, every row carried the pause position
// with the tables left and said it covered itself: a transaction ended at any row, and the
// restart read the tables again whole (the committed rows a second time).
func TestMySQLBlockingSnapshotCutExactlyOnce(t *testing.T) {
	for _, srv := range servers(t) {
		for _, mode := range []string{"exactly-once", "at-least-once"} {
			t.Run(srv.name+"/"+mode, func(t *testing.T) { blockingCut(t, srv, mode == "exactly-once") })
		}
	}
}

func blockingCut(t *testing.T, srv server, eos bool) {
	const na, nb = 2500, 700
	base := "sl_blkcut_a"
	if eos {
		base = "sl_blkcut_e"
	}
	db, dbName := snapshotDB(t, srv, base, false, "a (id INT PRIMARY KEY, v INT NOT NULL)", "b (id INT PRIMARY KEY, v INT NOT NULL)")
	mustExec(t, db, "INSERT INTO "+dbName+".a VALUES "+strings.Join(zeroRows(na), ","),
		"INSERT INTO "+dbName+".b VALUES "+strings.Join(zeroRows(nb), ","))
	ts := newTestSource(t, srv, dbName)
	ts.cfg.SnapshotMode = SnapshotNoData
	ts.cfg.SnapshotChunkRows = 1000
	ts.cfg.SignalDataCollection = dbName + ".sig"

	s := ts.open(t)
	ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
		return len(recs) > 0 && recs[len(recs)-1].kind == capture.SnapshotDone
	})
	m := &txnModel{committed: map[string]int{}}
	m.apply(nil)
	m.off = ts.off
	delivered := map[string]int{}
	deliver := func(recs []rec) {
		for _, r := range recs {
			if r.kind == capture.Change && r.op == capture.OpRead {
				delivered[r.tbl+"/"+valText(r.ev.After[0])]++
			}
		}
		if eos {
			m.apply(recs)
			ts.off = m.off
		}
	}
	mustExec(t, db, `INSERT INTO `+dbName+`.sig VALUES ('block-1', 'execute-snapshot', '{"data-collections": ["`+dbName+`.a", "`+dbName+`.b"], "type": "blocking"}')`)
	recs := ts.collect(t, s, time.Minute, readsAtLeast(1300))
	s.Close()
	deliver(recs)

	// Cut again once the second table is being read.
	s = ts.open(t)
	inB := 0
	recs = ts.collect(t, s, time.Minute, func(recs []rec) bool {
		if n := len(recs); n > 0 && recs[n-1].op == capture.OpRead && recs[n-1].tbl == "b" {
			inB++
		}
		return inB >= 300
	})
	s.Close()
	deliver(recs)

	s = ts.open(t)
	defer s.Close()
	started := false
	recs = ts.collect(t, s, time.Minute, func(recs []rec) bool {
		if n := len(recs); n > 0 && recs[n-1].op == capture.OpRead {
			started = true
		}
		return started && s.block == nil
	})
	deliver(recs)
	if strings.Contains(string(ts.off), "blocking_snapshot") {
		t.Fatalf("the offset after the blocking snapshot still names it: %s", ts.off)
	}

	got := delivered
	if eos {
		got = m.committed
	}
	var lost, dup []string
	for tbl, n := range map[string]int{"a": na, "b": nb} {
		for id := 1; id <= n; id++ {
			k := fmt.Sprintf("%s/%d", tbl, id)
			switch c := got[k]; {
			case c == 0:
				lost = append(lost, k)
			case c > 1 && eos:
				dup = append(dup, k)
			}
		}
	}
	t.Logf("%d keys delivered, %d read events delivered in all; %d lost, %d duplicated", len(got), sum(delivered), len(lost), len(dup))
	if len(lost) > 0 {
		t.Errorf("%d rows lost, e.g. %v", len(lost), lost[:min(5, len(lost))])
	}
	if len(dup) > 0 {
		t.Errorf("%d rows committed more than once, e.g. %v", len(dup), dup[:min(5, len(dup))])
	}
}

func sum(m map[string]int) (n int) {
	for _, c := range m {
		n += c
	}
	return n
}

// TestMySQLBlockingSnapshotSignalDuringSurvivesRestart: an execute-snapshot that comes through
// the Kafka channel while a blocking snapshot runs (blocking: its tables join the running one;
// incremental: it starts and reads once streaming goes on) must survive a crash before the
// blocking snapshot ends: the rows' positions carry the channel's next offset, past the
// signal, so a restart never reads it again. Before, the incremental one was lost: no
// blocking row's offset had its progress (b never read after the restart).
func TestMySQLBlockingSnapshotSignalDuringSurvivesRestart(t *testing.T) {
	for _, srv := range servers(t) {
		for _, typ := range []string{"blocking", "incremental"} {
			t.Run(srv.name+"/"+typ, func(t *testing.T) { blockingSignalDuring(t, srv, typ) })
		}
	}
}

func blockingSignalDuring(t *testing.T, srv server, typ string) {
	db, dbName := snapshotDB(t, srv, "sl_blksig_"+typ[:1], false, "a (id INT PRIMARY KEY, v INT NOT NULL)", "b (id INT PRIMARY KEY, v INT NOT NULL)")
	mustExec(t, db, "INSERT INTO "+dbName+".a VALUES "+strings.Join(zeroRows(2000), ","),
		"INSERT INTO "+dbName+".b VALUES "+strings.Join(zeroRows(300), ","))
	ts := newTestSource(t, srv, dbName)
	ts.cfg.SnapshotMode = SnapshotNoData
	ts.cfg.SnapshotChunkRows = 500
	ts.cfg.SignalDataCollection = dbName + ".sig"
	s := ts.open(t)
	ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
		return len(recs) > 0 && recs[len(recs)-1].kind == capture.SnapshotDone
	})
	mustExec(t, db, `INSERT INTO `+dbName+`.sig VALUES ('block-1', 'execute-snapshot', '{"data-collections": ["`+dbName+`.a"], "type": "blocking"}')`)
	sent := false
	ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
		reads := 0
		for _, r := range recs {
			if r.op == capture.OpRead {
				reads++
			}
		}
		if reads >= 100 && !sent {
			sent = true
			sig, err := signal.Parse("k-1", "execute-snapshot", []byte(`{"data-collections": ["`+dbName+`.b"], "type": "`+typ+`"}`))
			if err != nil {
				t.Fatal(err)
			}
			s.ReceiveSignal(&sig, 7)
		}
		return reads >= 1200
	})
	s.Close()
	if !strings.Contains(string(ts.off), `"signal_kafka_offset":8`) {
		t.Fatalf("the offset does not say the Kafka signal was read: %s", ts.off)
	}
	t.Logf("offset at the cut: %s", ts.off)
	s = ts.open(t)
	defer s.Close()
	got := map[string]int{}
	seen := 0
	ts.collect(t, s, 30*time.Second, func(recs []rec) bool {
		for ; seen < len(recs); seen++ {
			if recs[seen].op == capture.OpRead {
				got[recs[seen].tbl]++
			}
		}
		if len(recs) > 0 && len(recs)%50 == 0 {
			db.Exec("INSERT INTO " + dbName + ".fence VALUES (" + fmt.Sprint(len(recs)) + ") ON DUPLICATE KEY UPDATE id = id") // stream events close the windows
		}
		// An incremental snapshot runs first: the stored blocking snapshot waits for it.
		return got["b"] >= 300 && got["a"] > 0 && s.block == nil
	})
	if got["a"] == 0 || got["a"] > 2000-1200+500 {
		t.Errorf("after the restart: %v reads, want the rest of a (and all 300 of b)", got)
	}
}
