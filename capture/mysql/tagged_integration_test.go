//go:build integration

package mysql

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// TestTaggedGTID (MySQL 8.4+): a transaction with a tagged GTID gets source.gtid
// "uuid:tag:n", joins the offset's GTID set with its tag, and a restart after it resumes there
// by that GTID set (COM_BINLOG_DUMP_GTID in the tagged format), not by binlog file and position.
func TestTaggedGTID(t *testing.T) {
	for _, srv := range servers(t) {
		if srv.name != "mysql" {
			continue
		}
		t.Run(srv.name, func(t *testing.T) {
			db := openDB(t, srv.dsn)
			freshDB(t, db, dbTag)
			mustExec(t, db, "CREATE TABLE "+dbTag+".t (id INT PRIMARY KEY)")
			ts := newTestSource(t, srv, dbTag)
			s := ts.open(t)
			ts.collect(t, s, 30*time.Second, untilSnapshotDone)
			conn, err := db.Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{"SET gtid_next='AUTOMATIC:sluice_it'", "INSERT INTO " + dbTag + ".t VALUES (1)", "SET gtid_next='AUTOMATIC'"} {
				if _, err := conn.ExecContext(context.Background(), q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			conn.Close()
			ch := changes(ts.collect(t, s, 20*time.Second, func(r []rec) bool { return len(changes(r)) == 1 && r[len(r)-1].ev.Position != nil && len(r) > 2 }))
			if g := ch[0].ev.Source.GTID; !strings.Contains(g, ":sluice_it:") {
				t.Fatalf("gtid %q", g)
			}
			if !strings.Contains(string(ts.off), ":sluice_it:") {
				t.Fatalf("offset %s lacks the tagged GTID", ts.off)
			}
			s.Close()
			mustExec(t, db, "INSERT INTO "+dbTag+".t VALUES (2)")
			var logs lockedLog
			ts.cfg.Logger = logs.logger()
			s = ts.open(t)
			defer s.Close()
			ch = changes(ts.collect(t, s, 20*time.Second, func(r []rec) bool { return len(changes(r)) == 1 }))
			if ch[0].text != "-(2)" {
				t.Fatalf("after restart %s", ch[0].text)
			}
			// File/pos names one server's binlog: after a failover it would skip or repeat changes.
			if l := logs.String(); !strings.Contains(l, `start="gtid set`) {
				t.Fatalf("the restart did not resume by GTID set:\n%s", l)
			}
		})
	}
}

// TestTaggedGTIDReadOnlyWindows (MySQL 8.4+): a --read-only incremental snapshot while every
// write to the table has a tagged GTID. Each chunk's window closes on the server's GTID set
// read after the chunk, which then holds tagged GTIDs: the stream must count them to close it
// (else the snapshot stalls), and no read may be older than a change streamed before it
// (replaying every event gives the table as the server has it).
func TestTaggedGTIDReadOnlyWindows(t *testing.T) {
	for _, srv := range servers(t) {
		if srv.name != "mysql" {
			continue
		}
		t.Run(srv.name, func(t *testing.T) {
			const rows = 600
			db, dbName := snapshotDB(t, srv, "sl_tagro", true, "t (id INT PRIMARY KEY, v INT NOT NULL)")
			mustExec(t, db, "INSERT INTO "+dbName+".t VALUES "+strings.Join(zeroRows(rows), ","))
			ts := newTestSource(t, srv, dbName)
			ts.cfg.SnapshotMode = SnapshotNoData
			ts.cfg.SnapshotChunkRows = 100
			ts.cfg.SignalDataCollection = dbName + ".sig"
			ts.cfg.ReadOnly = true

			// The writer: one session, every transaction tagged.
			ctx := context.Background()
			conn, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.ExecContext(ctx, "SET gtid_next='AUTOMATIC:sluice_ro'"); err != nil {
				t.Fatal(err)
			}
			var stop atomic.Bool
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				for i := 0; !stop.Load(); i++ {
					q := fmt.Sprintf("UPDATE %s.t SET v = v + 1 WHERE id = %d", dbName, 1+(i*37)%rows)
					if _, err := conn.ExecContext(ctx, q); err != nil {
						t.Errorf("writer: %s: %v", q, err)
						return
					}
				}
			}()
			defer func() { stop.Store(true); wg.Wait() }()

			state := map[string]string{}
			var bad []string
			streamed := map[string]string{}
			reads := 0
			check := func(recs []rec) {
				for _, r := range recs {
					if r.kind != capture.Change || r.tbl != "t" {
						continue
					}
					k, after := r.tbl+"/"+valText(r.ev.After[0]), rowText(r.ev.After)
					if r.ev.Op == capture.OpRead {
						reads++
						if last, ok := streamed[k]; ok && last != after {
							bad = append(bad, fmt.Sprintf("stale read %s %s after the stream's %s", k, after, last))
						}
					} else {
						streamed[k] = after
					}
					state[k] = after
				}
			}
			s := ts.open(t)
			defer s.Close()
			check(ts.collect(t, s, 30*time.Second, untilSnapshotDone))
			mustExec(t, db, `INSERT INTO `+dbName+`.sig VALUES ('snap-1', 'execute-snapshot', '{"data-collections": ["`+dbName+`.t"], "type": "incremental"}')`)
			fenced, started := false, false
			check(ts.collect(t, s, 60*time.Second, func(recs []rec) bool {
				started = started || len(recs) > 0 && recs[len(recs)-1].op == capture.OpRead
				if !fenced && started && s.resumed == nil { // the incremental snapshot ended
					fenced = true
					stop.Store(true)
					wg.Wait()
					mustExec(t, db, "INSERT INTO "+dbName+".fence VALUES (1)")
				}
				return fenced && len(recs) > 0 && recs[len(recs)-1].tbl == "fence"
			}))
			if !strings.Contains(string(ts.off), ":sluice_ro:") {
				t.Fatalf("offset %s lacks the tagged GTIDs", ts.off)
			}
			want := map[string]string{}
			rs, err := db.Query("SELECT * FROM " + dbName + ".t")
			if err != nil {
				t.Fatal(err)
			}
			readTable(t, rs, "t", want)
			bad = append(bad, stateDiffs(want, state)...)
			// A window drops the rows the stream changed while it was open (the change carries
			// the row), so fewer reads than rows is right; every key must still be there.
			if reads < rows/2 {
				bad = append(bad, fmt.Sprintf("only %d snapshot reads of %d rows", reads, rows))
			}
			if len(bad) > 0 {
				t.Fatalf("%d problems, e.g. %s", len(bad), strings.Join(bad[:min(len(bad), 10)], "; "))
			}
			t.Logf("%d reads, %d keys", reads, len(state))
		})
	}
}
