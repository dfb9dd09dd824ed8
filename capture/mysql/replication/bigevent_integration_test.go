//go:build integration

package replication

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"strconv"
	"strings"
	"testing"
)

// TestDumpBigEvent: a row of 20 MB makes a rows event larger than one protocol packet
// (16 MiB); Next must reassemble it exactly (its size field and CRC32 agree). The INSERT itself
// is a 20 MB query, which exercises the writer's packet splitting.
func TestDumpBigEvent(t *testing.T) {
	for _, s := range []*testServer{mariaDB(t), mySQL(t)} {
		t.Run(s.name, func(t *testing.T) {
			admin := s.admin(t)
			if v, _ := strconv.Atoi(mustValue(t, mustQuery(t, admin, "SELECT @@global.max_allowed_packet AS m"), "m")); v < 64<<20 {
				mustExec(t, admin, "SET GLOBAL max_allowed_packet = 67108864")
			}
			writeTxn(t, admin, "before big")
			mustExec(t, admin, "CREATE TABLE IF NOT EXISTS sluice_repl_test.big (id INT AUTO_INCREMENT PRIMARY KEY, b LONGBLOB)")
			file, pos, _ := binlogStatus(t, s, admin)
			writer := s.dial(t, s.config(s.user, s.pass)) // a new session sees the new max_allowed_packet
			const size = 20_000_000
			mustExec(t, writer, "INSERT INTO sluice_repl_test.big (b) VALUES ('"+strings.Repeat("x", size)+"')")

			cfg := s.config(s.user, s.pass)
			cfg.NonBlocking = true
			c := s.dial(t, cfg)
			ctx := testCtx(t)
			if err := c.StartDump(ctx, StartPosition{File: file, Pos: pos}); err != nil {
				t.Fatal(err)
			}
			for {
				ev, err := c.Next(ctx)
				if err != nil {
					t.Fatalf("no event larger than %d bytes before %v", size, err)
				}
				checkCRC(t, ev)
				if len(ev) > size {
					if !bytes.Contains(ev, bytes.Repeat([]byte("x"), size)) {
						t.Errorf("the big event does not hold the 20 MB value")
					}
					t.Logf("%s: event type %d of %d bytes reassembled", s.name, evType(ev), len(ev))
					return
				}
			}
		})
	}
}

// checkCRC verifies an event's size field and trailing CRC32 (binlog_checksum=CRC32).
func checkCRC(t *testing.T, ev []byte) {
	t.Helper()
	if int(evSize(ev)) != len(ev) {
		t.Fatalf("event type %d: size field %d, got %d bytes", evType(ev), evSize(ev), len(ev))
	}
	if got, want := crc32.ChecksumIEEE(ev[:len(ev)-4]), binary.LittleEndian.Uint32(ev[len(ev)-4:]); got != want {
		t.Fatalf("event type %d at %d: CRC32 %08x, trailer says %08x", evType(ev), evLogPos(ev), got, want)
	}
}
