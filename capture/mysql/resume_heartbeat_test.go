package mysql

import (
	"context"
	"testing"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/mysql/binlog"
)

// TestHeartbeatBeforeStart: started by GTID set, the server reads the binlog file from its
// start, skips the transactions in the set and sends heartbeats at the skipped positions, the
// last one right before the partly delivered transaction. None of them may become a Keepalive
// whose position is behind the start: saved, it dropped the offset's event and row counts and
// the next restart repeated the rows already delivered (TestRestartAtRandomPoints on MySQL).
func TestHeartbeatBeforeStart(t *testing.T) {
	const gtids = "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-41:tag:1-2"
	for _, c := range []struct {
		name      string
		start     Position
		file      string // the file the server streams from
		heartbeat uint32
		keepalive bool
	}{
		{"inside a transaction, heartbeat at its start", Position{File: "binlog.000110", Pos: 45054220, GTIDs: gtids, Event: 2, Row: 9}, "binlog.000110", 45054220, false},
		{"inside a transaction, heartbeat while skipping", Position{File: "binlog.000110", Pos: 45054220, GTIDs: gtids, Event: 2, Row: 9}, "binlog.000110", 1200, false},
		{"between transactions, heartbeat while skipping", Position{File: "binlog.000110", Pos: 45054220, GTIDs: gtids}, "binlog.000110", 1200, false},
		{"between transactions, idle at the start", Position{File: "binlog.000110", Pos: 45054220, GTIDs: gtids}, "binlog.000110", 45054220, true},
		{"between transactions, later", Position{File: "binlog.000110", Pos: 45054220, GTIDs: gtids}, "binlog.000110", 45060000, true},
		// After a fail-over the file/pos are the new server's: nothing to compare with.
		{"another server's file", Position{File: "binlog.000110", Pos: 45054220, GTIDs: gtids}, "binlog.000003", 1200, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := &Source{}
			start := c.start
			if err := s.startStream(&start); err != nil {
				t.Fatal(err)
			}
			s.st.skipEvents, s.st.skipRows = start.Event, start.Row // as connect arms them
			s.st.skipArmed = start.Event > 0 || start.Row > 0
			s.st.file = c.file
			hb := binlog.Event{Header: binlog.Header{Type: binlog.HeartbeatEvent, LogPos: c.heartbeat}, Data: &binlog.Heartbeat{}}
			if err := s.handle(context.Background(), hb); err != nil {
				t.Fatal(err)
			}
			var got []*Position
			for _, ev := range s.queue {
				if ev.Kind == capture.Keepalive {
					got = append(got, ev.Position.(*Position))
				}
			}
			want := 0
			if c.keepalive {
				want = 1
			}
			if len(got) != want {
				t.Fatalf("keepalives %v, want %d", got, want)
			}
		})
	}
}
