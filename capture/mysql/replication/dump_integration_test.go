//go:build integration

package replication

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/capture"
)

// binlogStatus returns the server's current binlog file, position and GTID state
// (Conn.BinlogStatus, checked for plausibility).
func binlogStatus(t *testing.T, s *testServer, admin *Conn) (file string, pos uint32, gtid string) {
	t.Helper()
	st, err := admin.BinlogStatus(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(st.File, "binlog.") || st.Pos < 4 || st.GTID == "" {
		t.Fatalf("implausible binlog status %+v", st)
	}
	return st.File, st.Pos, st.GTID
}

// writeTxn runs one small transaction on the test table.
func writeTxn(t *testing.T, admin *Conn, tag string) {
	t.Helper()
	mustExec(t, admin, "CREATE DATABASE IF NOT EXISTS sluice_repl_test",
		"CREATE TABLE IF NOT EXISTS sluice_repl_test.t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(64))",
		"INSERT INTO sluice_repl_test.t (v) VALUES ('"+tag+"')")
}

func (s *testServer) gtidEventType() byte {
	if s.flavor == FlavorMariaDB {
		return typeMariaGTID
	}
	return typeGTID
}

// dumpUntilGTID dumps from pos and returns the first transaction's events (from its GTID event
// up to its XID event) and the events seen before it, copied.
func dumpUntilGTID(t *testing.T, s *testServer, cfg Config, pos StartPosition) (txn [][]byte, before []byte) {
	t.Helper()
	cfg.NonBlocking = true
	c := s.dial(t, cfg)
	ctx := testCtx(t)
	if err := c.StartDump(ctx, pos); err != nil {
		t.Fatalf("StartDump(%s): %v", pos, err)
	}
	if got := c.Checksum(); got != "CRC32" {
		t.Errorf("Checksum() = %q, want CRC32", got)
	}
	for {
		ev, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("Next from %s after %d events (types %v, none a GTID event): %v", pos, len(before), before, err)
		}
		if len(ev) < 19 {
			t.Fatalf("event of %d bytes", len(ev))
		}
		checkCRC(t, ev)
		if evType(ev) == s.gtidEventType() || len(txn) > 0 {
			txn = append(txn, bytes.Clone(ev))
			if evType(ev) == typeXID {
				return txn, before
			}
			continue
		}
		before = append(before, evType(ev))
	}
}

// TestDumpFilePosAndGTIDAgree: a dump from the file/position before a transaction and one from
// the GTID state before it deliver the same transaction first, byte for byte.
func TestDumpFilePosAndGTIDAgree(t *testing.T) {
	for _, s := range []*testServer{mariaDB(t), mySQL(t)} {
		t.Run(s.name, func(t *testing.T) {
			admin := s.admin(t)
			writeTxn(t, admin, "warm-up") // the table exists before the positions are read
			if s.flavor == FlavorMySQL {
				// A tagged GTID (MySQL 8.4+) puts the GTID set in the tagged binary form.
				mustExec(t, admin, "SET gtid_next = 'AUTOMATIC:sluice_repl'")
				writeTxn(t, admin, "tagged")
				mustExec(t, admin, "SET gtid_next = 'AUTOMATIC'")
			}
			file, pos, gtid := binlogStatus(t, s, admin)
			writeTxn(t, admin, "first after "+file)
			cfg := s.config(s.user, s.pass)

			byPos, before := dumpUntilGTID(t, s, cfg, StartPosition{File: file, Pos: pos})
			if want := []byte{typeRotate, typeFormatDesc}; !bytes.Equal(before, want) {
				t.Errorf("events before the transaction from file/pos: types %v, want %v", before, want)
			}
			if got := evLogPos(byPos[0]) - evSize(byPos[0]); got != pos {
				t.Errorf("first event from file/pos starts at %d, want %d", got, pos)
			}
			var gpos StartPosition
			if s.flavor == FlavorMariaDB {
				gpos.MariaDBGTID = gtid
			} else {
				if !strings.Contains(gtid, ":sluice_repl:") {
					t.Errorf("GTID set %q lacks the tagged transaction", gtid)
				}
				gpos.GTIDSet = encodeGTIDSet(t, gtid)
			}
			byGTID, _ := dumpUntilGTID(t, s, cfg, gpos)
			if len(byPos) != len(byGTID) {
				t.Fatalf("file/pos gave %d events, GTID %d", len(byPos), len(byGTID))
			}
			for i := range byPos {
				if !bytes.Equal(byPos[i], byGTID[i]) {
					t.Errorf("event %d (type %d at %d) differs:\nfile/pos %x\ngtid     %x", i, evType(byPos[i]),
						evLogPos(byPos[i]), byPos[i], byGTID[i])
				}
			}
			t.Logf("%s: %s:%d / gtid %q -> first transaction %d events, GTID event at %d", s.name, file, pos, gtid,
				len(byPos), evLogPos(byPos[0])-evSize(byPos[0]))
		})
	}
}

// TestDumpHeartbeat: an idle dump receives heartbeat events.
func TestDumpHeartbeat(t *testing.T) {
	for _, s := range []*testServer{mariaDB(t), mySQL(t)} {
		t.Run(s.name, func(t *testing.T) {
			admin := s.admin(t)
			file, pos, _ := binlogStatus(t, s, admin)
			cfg := s.config(s.user, s.pass)
			cfg.HeartbeatPeriod = 100 * time.Millisecond
			c := s.dial(t, cfg)
			ctx := testCtx(t)
			if err := c.StartDump(ctx, StartPosition{File: file, Pos: pos}); err != nil {
				t.Fatal(err)
			}
			var types []byte
			for {
				ev, err := c.Next(ctx)
				if err != nil {
					t.Fatalf("after event types %v: %v", types, err)
				}
				if ty := evType(ev); ty == typeHeartbeat || ty == typeHeartbeatV2 {
					t.Logf("%s: heartbeat type %d after %v", s.name, ty, types)
					return
				}
				types = append(types, evType(ev))
			}
		})
	}
}

// TestDumpPurged: a binlog file the server does not have gives ErrBinlogPurged with advice.
func TestDumpPurged(t *testing.T) {
	for _, s := range []*testServer{mariaDB(t), mySQL(t)} {
		t.Run(s.name, func(t *testing.T) {
			c := s.dial(t, s.config(s.user, s.pass))
			err := c.StartDump(testCtx(t), StartPosition{File: "binlog.999999", Pos: 4})
			var se *ServerError
			if !errors.As(err, &se) || se.Code != 1236 || !errors.Is(err, ErrBinlogPurged) {
				t.Fatalf("got %v, want server error 1236 classified ErrBinlogPurged", err)
			}
			if !strings.Contains(err.Error(), "take a new snapshot") {
				t.Errorf("no advice in %v", err)
			}
			t.Logf("%s: %v", s.name, err)
		})
	}
}

// TestDumpUnknownGTID: a GTID the server never logged is refused (ErrInvalidPosition on
// MariaDB strict mode; MySQL says the replica has more GTIDs than the source).
func TestDumpUnknownGTID(t *testing.T) {
	for _, s := range []*testServer{mariaDB(t), mySQL(t)} {
		t.Run(s.name, func(t *testing.T) {
			c := s.dial(t, s.config(s.user, s.pass))
			var pos StartPosition
			if s.flavor == FlavorMariaDB {
				pos.MariaDBGTID = "0-1-999999999"
			} else {
				// A set with more of the server's own transactions than it has.
				uuid := mustValue(t, mustQuery(t, s.admin(t), "SELECT @@server_uuid AS u"), "u")
				pos.GTIDSet = encodeGTIDSet(t, uuid+":1-999999999")
			}
			err := c.StartDump(testCtx(t), pos)
			for err == nil {
				_, err = c.Next(testCtx(t))
			}
			var se *ServerError
			if !errors.As(err, &se) || se.Code != 1236 {
				t.Fatalf("got %v, want server error 1236", err)
			}
			if !errors.Is(err, ErrInvalidPosition) && !errors.Is(err, ErrBinlogPurged) {
				t.Errorf("%v is neither ErrInvalidPosition nor ErrBinlogPurged", err)
			}
			t.Logf("%s: %v", s.name, err)
		})
	}
}

// TestMissingGrants: without REPLICATION CLIENT (BINLOG MONITOR) the binlog status query fails
// with 1227; without REPLICATION SLAVE the servers answer COM_REGISTER_SLAVE with 1045 (not
// 1227), which must still come out as ErrMissingPrivilege with the GRANT to run.
func TestMissingGrants(t *testing.T) {
	for _, s := range []*testServer{mariaDB(t), mySQL(t)} {
		t.Run(s.name, func(t *testing.T) {
			s.createUser(t, "sluice_t_nogrant", "IDENTIFIED BY 'pw-nogrant'", "SELECT")
			c := s.dial(t, s.config("sluice_t_nogrant", "pw-nogrant"))
			status := "SHOW BINARY LOG STATUS"
			if s.flavor == FlavorMariaDB {
				status = "SHOW BINLOG STATUS"
			}
			_, err := c.Query(testCtx(t), status)
			checkGrantError(t, err, 1227, "")
			_, err = c.BinlogStatus(testCtx(t))
			want := "GRANT REPLICATION CLIENT ON *.* TO 'sluice_t_nogrant'"
			if s.flavor == FlavorMariaDB {
				want = "GRANT BINLOG MONITOR ON *.* TO 'sluice_t_nogrant'"
			}
			checkGrantError(t, err, 1227, want)

			err = c.StartDump(testCtx(t), StartPosition{})
			checkGrantError(t, err, 1045, "GRANT REPLICATION SLAVE ON *.* TO 'sluice_t_nogrant'")
		})
	}
}

func checkGrantError(t *testing.T, err error, code uint16, hint string) {
	t.Helper()
	var se *ServerError
	if !errors.As(err, &se) || se.Code != code || !errors.Is(err, ErrMissingPrivilege) {
		t.Fatalf("got %v, want server error %d (ErrMissingPrivilege)", err, code)
	}
	if !strings.Contains(err.Error(), hint) {
		t.Errorf("error %q does not say %q", err, hint)
	}
	t.Log(err)
}

// TestServerIDConflict: a second replica with the same server id makes the server drop the
// first one, which sees ErrServerIDConflict.
func TestServerIDConflict(t *testing.T) {
	for _, s := range []*testServer{mariaDB(t), mySQL(t)} {
		t.Run(s.name, func(t *testing.T) {
			admin := s.admin(t)
			file, pos, _ := binlogStatus(t, s, admin)
			cfg := s.config(s.user, s.pass)
			cfg.HeartbeatPeriod = 50 * time.Millisecond
			ctx := testCtx(t)
			first := s.dial(t, cfg)
			if err := first.StartDump(ctx, StartPosition{File: file, Pos: pos}); err != nil {
				t.Fatal(err)
			}
			// Read up to the first heartbeat: the first dump thread is registered and idle.
			for {
				ev, err := first.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if ty := evType(ev); ty == typeHeartbeat || ty == typeHeartbeatV2 {
					break
				}
			}
			second := s.dial(t, cfg)
			if err := second.StartDump(ctx, StartPosition{File: file, Pos: pos}); err != nil {
				t.Fatalf("second replica: %v", err)
			}
			var err error
			for err == nil {
				_, err = first.Next(ctx)
			}
			t.Logf("%s: first replica: %v", s.name, err)
			if !errors.Is(err, ErrServerIDConflict) {
				t.Fatalf("first replica got %v, want ErrServerIDConflict", err)
			}
			if !strings.Contains(err.Error(), "unique server id") {
				t.Errorf("no advice in %v", err)
			}
			// The second one streams on.
			for {
				ev, err := second.Next(ctx)
				if err != nil {
					t.Fatalf("second replica: %v", err)
				}
				if ty := evType(ev); ty == typeHeartbeat || ty == typeHeartbeatV2 {
					break
				}
			}
		})
	}
}

// TestNextCancel: cancelling the context unblocks a Next waiting on an idle server.
func TestNextCancel(t *testing.T) {
	for _, s := range []*testServer{mariaDB(t), mySQL(t)} {
		t.Run(s.name, func(t *testing.T) {
			admin := s.admin(t)
			file, pos, _ := binlogStatus(t, s, admin)
			cfg := s.config(s.user, s.pass)
			cfg.HeartbeatPeriod = -1
			c := s.dial(t, cfg)
			if err := c.StartDump(testCtx(t), StartPosition{File: file, Pos: pos}); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			var err error
			go func() {
				time.Sleep(100 * time.Millisecond)
				cancel()
			}()
			for err == nil {
				_, err = c.Next(ctx)
			}
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want context.Canceled", err)
			}
			if _, err := c.Next(context.Background()); !errors.Is(err, ErrClosed) {
				t.Errorf("Next after cancel: %v, want ErrClosed", err)
			}
		})
	}
}

// TestNonBlockingEOF: with NonBlocking the dump ends with io.EOF at the end of the binlog.
func TestNonBlockingEOF(t *testing.T) {
	for _, s := range []*testServer{mariaDB(t), mySQL(t)} {
		t.Run(s.name, func(t *testing.T) {
			admin := s.admin(t)
			file, pos, _ := binlogStatus(t, s, admin)
			cfg := s.config(s.user, s.pass)
			cfg.NonBlocking = true
			c := s.dial(t, cfg)
			ctx := testCtx(t)
			if err := c.StartDump(ctx, StartPosition{File: file, Pos: pos}); err != nil {
				t.Fatal(err)
			}
			n := 0
			for {
				_, err := c.Next(ctx)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			if n < 2 {
				t.Errorf("only %d events before EOF, want at least ROTATE and FORMAT_DESCRIPTION", n)
			}
		})
	}
}

// TestDumpKilled: the dump connection killed on the server (as a shutdown or an operator
// would) ends Next with a retryable error, so the pipeline reconnects.
func TestDumpKilled(t *testing.T) {
	for _, s := range []*testServer{mariaDB(t), mySQL(t)} {
		t.Run(s.name, func(t *testing.T) {
			admin := s.admin(t)
			file, pos, _ := binlogStatus(t, s, admin)
			c := s.dial(t, s.config(s.user, s.pass))
			ctx := testCtx(t)
			if err := c.StartDump(ctx, StartPosition{File: file, Pos: pos}); err != nil {
				t.Fatal(err)
			}
			for range 2 { // ROTATE, FORMAT_DESCRIPTION: the dump thread is running
				if _, err := c.Next(ctx); err != nil {
					t.Fatal(err)
				}
			}
			mustExec(t, admin, "KILL CONNECTION "+strconv.FormatUint(uint64(c.ConnectionID()), 10))
			var err error
			for err == nil {
				_, err = c.Next(ctx)
			}
			if !capture.Retryable(err) {
				t.Fatalf("got %v (%T), want a retryable error", err, err)
			}
			t.Logf("%s: %v", s.name, err)
		})
	}
}
