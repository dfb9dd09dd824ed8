package replication

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Dump flags.
const (
	dumpNonBlock        = 0x01 // BINLOG_DUMP_NON_BLOCK: EOF at the end instead of waiting
	dumpSendAnnotate    = 0x02 // MariaDB BINLOG_SEND_ANNOTATE_ROWS_EVENT
	dumpThroughGTID     = 0x04 // BINLOG_THROUGH_GTID (COM_BINLOG_DUMP_GTID)
	mariadbCapabilityV4 = 4    // MARIA_SLAVE_CAPABILITY_GTID
)

// StartPosition says where the dump starts. Exactly one way is used, in this order:
// MariaDBGTID if set, else GTIDSet if non-nil, else File/Pos.
type StartPosition struct {
	// File and Pos: a binlog file name and the offset of an event in it (Pos 0 means 4, the
	// first event). An empty File on MySQL means the first binlog the server has.
	File string
	Pos  uint32

	// GTIDSet (MySQL): the transactions already seen, in the binary form COM_BINLOG_DUMP_GTID
	// carries: n_sids uint64, then per source {uuid [16]byte, n_intervals uint64, then
	// {start, end_exclusive int64} per interval}, all little-endian; a set with tagged GTIDs
	// (MySQL 8.3+) uses the tagged form (binlog.MySQLGTIDSet.AppendBinary writes both). The
	// server sends every transaction not in the set. An encoded empty set (8 zero bytes) starts
	// at the oldest binlog.
	GTIDSet []byte

	// MariaDBGTID (MariaDB): the last applied GTID per domain, as in @@gtid_slave_pos, e.g.
	// "0-1-100,1-2-7". The server sends what follows. Strict mode is on: a GTID the server
	// never logged is an error rather than a silent skip.
	MariaDBGTID string
}

func (p StartPosition) String() string {
	switch {
	case p.MariaDBGTID != "":
		return "gtid " + p.MariaDBGTID
	case p.GTIDSet != nil:
		return fmt.Sprintf("gtid set (%d bytes)", len(p.GTIDSet))
	}
	return p.File + ":" + strconv.FormatUint(uint64(max(p.Pos, 4)), 10)
}

// Checksum is the binlog checksum algorithm the server uses (and was told this replica
// accepts): "CRC32" or "NONE"; empty before StartDump or on servers without checksums.
// Every event Next returns then ends with its 4-byte CRC32.
func (c *Conn) Checksum() string { return c.checksum }

// StartDump prepares the session (checksum, heartbeat, MariaDB GTID capability), registers as
// replica Config.ServerID and asks for the binlog from pos. It waits for the server's first
// answer, so a missing grant, a purged file or an unknown GTID are reported here rather than by
// the first Next. After StartDump the connection carries only the event stream.
func (c *Conn) StartDump(ctx context.Context, pos StartPosition) error {
	if err := c.usable(); err != nil {
		return err
	}
	if c.dumping {
		return errors.New("replication: StartDump called twice on one connection")
	}
	c.idle.Store(false) // from here on the connection belongs to the dump
	mariadb := c.flavor == FlavorMariaDB
	if pos.MariaDBGTID != "" && !mariadb {
		return fmt.Errorf("replication: %w: a MariaDB GTID start position on a %s server", ErrUnsupported, c.flavor)
	}
	if pos.GTIDSet != nil && pos.MariaDBGTID == "" && mariadb {
		return fmt.Errorf("replication: %w: COM_BINLOG_DUMP_GTID (MySQL GTID set) on a MariaDB server; use MariaDBGTID", ErrUnsupported)
	}

	// Checksums: tell the server we understand the one it uses, or it refuses to dump.
	res, err := c.Query(ctx, "SELECT @@global.binlog_checksum AS checksum, @@server_id AS server_id")
	switch {
	case err == nil:
		c.checksum, _ = res.Get(0, "checksum")
		if id, _ := res.Get(0, "server_id"); id == strconv.FormatUint(uint64(c.cfg.ServerID), 10) {
			c.log.Warn("the replica server id equals the server's own server_id; give this replica an id of its own",
				"server_id", id)
		}
	case IsCode(err, codeUnknownSystemVar):
		c.checksum = "" // MySQL < 5.6: no checksums
	default:
		return err
	}
	var set []string
	if c.checksum != "" {
		set = append(set, "@master_binlog_checksum = @@global.binlog_checksum")
		if !mariadb {
			set = append(set, "@source_binlog_checksum = @@global.binlog_checksum")
		}
	}
	if hb := c.cfg.heartbeat(); hb > 0 {
		ns := strconv.FormatInt(hb.Nanoseconds(), 10)
		set = append(set, "@master_heartbeat_period = "+ns)
		if !mariadb {
			set = append(set, "@source_heartbeat_period = "+ns)
		}
	}
	if mariadb {
		set = append(set, "@mariadb_slave_capability = "+strconv.Itoa(mariadbCapabilityV4))
		if pos.MariaDBGTID != "" {
			if strings.ContainsAny(pos.MariaDBGTID, "'\\") {
				return fmt.Errorf("replication: bad MariaDB GTID position %q", pos.MariaDBGTID)
			}
			set = append(set, "@slave_connect_state = '"+pos.MariaDBGTID+"'",
				"@slave_gtid_strict_mode = 1", "@slave_gtid_ignore_duplicates = 0")
		}
	}
	if len(set) > 0 {
		if err := c.Exec(ctx, "SET "+strings.Join(set, ", ")); err != nil {
			return err
		}
	}

	// COM_REGISTER_SLAVE.
	b := append(c.w.start(), comRegisterSlave)
	b = appendU32(b, c.cfg.ServerID)
	b = appendShortString(b, c.cfg.ReportHost)
	b = appendShortString(b, c.cfg.User)
	b = appendShortString(b, "")
	b = appendU16(b, c.cfg.ReportPort)
	b = appendU32(b, 0) // replication rank, unused
	b = appendU32(b, 0) // master id, filled in by the server
	if err := c.writePacket(ctx, "register replica", b, 0); err != nil {
		return err
	}
	data, err := c.readPacket(ctx, "register replica")
	if err != nil {
		return err
	}
	if len(data) > 0 && data[0] == 0xff {
		return c.serverError("register replica (COM_REGISTER_SLAVE)", data)
	}

	// COM_BINLOG_DUMP / COM_BINLOG_DUMP_GTID.
	var flags uint16
	if c.cfg.NonBlocking {
		flags |= dumpNonBlock
	}
	if mariadb && c.cfg.AnnotateRows {
		flags |= dumpSendAnnotate
	}
	op := "binlog dump from " + pos.String()
	b = c.w.start()
	if pos.GTIDSet != nil && pos.MariaDBGTID == "" {
		b = append(b, comBinlogDumpGTID)
		b = appendU16(b, flags|dumpThroughGTID)
		b = appendU32(b, c.cfg.ServerID)
		b = appendU32(b, uint32(len(pos.File)))
		b = append(b, pos.File...)
		b = appendU64(b, uint64(max(pos.Pos, 4)))
		b = appendU32(b, uint32(len(pos.GTIDSet)))
		b = append(b, pos.GTIDSet...)
		op = "binlog dump (COM_BINLOG_DUMP_GTID)"
	} else {
		file, p := pos.File, max(pos.Pos, 4)
		if pos.MariaDBGTID != "" {
			file, p = "", 4 // the server starts from @slave_connect_state
		}
		b = append(b, comBinlogDump)
		b = appendU32(b, p)
		b = appendU16(b, flags)
		b = appendU32(b, c.cfg.ServerID)
		b = append(b, file...)
	}
	if err := c.writePacket(ctx, op, b, 0); err != nil {
		return err
	}
	c.dumping = true
	c.timeout = c.cfg.readTimeout()

	// The first answer: an event (kept for Next), EOF or an error.
	ev, err := c.Next(ctx)
	switch {
	case errors.Is(err, io.EOF):
		c.stash, c.stashEOF = nil, true
	case err != nil:
		return err
	default:
		c.stash = ev
	}
	c.log.Info("binlog dump started", "server_id", c.cfg.ServerID, "from", pos.String(), "checksum", c.checksum,
		"heartbeat", c.cfg.heartbeat().String())
	return nil
}

func appendShortString(b []byte, s string) []byte {
	if len(s) > 255 {
		s = s[:255]
	}
	return append(append(b, byte(len(s))), s...)
}

// Next returns the next binlog event: header, body and checksum as the server sent them. The
// slice is valid only until the next call to Next. It blocks until an event arrives, ctx is
// done (then the Conn is unusable: close it), the read timeout passes without even a
// heartbeat (a retryable *NetError), or the server ends the stream: io.EOF with
// Config.NonBlocking at the end of the binlog; without it an end of stream (server shutdown) is
// a retryable *NetError, and a server error a *ServerError (e.g. ErrServerIDConflict,
// ErrBinlogPurged).
func (c *Conn) Next(ctx context.Context) ([]byte, error) {
	if ev := c.stash; ev != nil {
		c.stash = nil
		return ev, nil
	}
	if c.stashEOF {
		return nil, io.EOF
	}
	if !c.dumping {
		return nil, errors.New("replication: Next before StartDump")
	}
	if err := c.usable(); err != nil {
		return nil, err
	}
	if done := ctx.Done(); done != nil {
		select {
		case <-done:
			return nil, ctx.Err()
		default:
		}
	}
	c.ctx = ctx
	data, err := c.r.next()
	c.ctx = nil
	if err != nil {
		return nil, c.fail(ctx, "binlog dump", err)
	}
	if len(data) > 0 && data[0] == 0x00 {
		return data[1:], nil
	}
	switch {
	case len(data) == 0:
		err = &ProtocolError{Op: "binlog dump", Msg: "empty packet"}
	case data[0] == 0xff:
		err = c.serverError("binlog dump", data)
	case data[0] == 0xfe && len(data) < 9:
		if c.cfg.NonBlocking {
			c.stashEOF = true
			return nil, io.EOF
		}
		// A blocking dump never ends by itself: the server is shutting down (MariaDB says
		// so with an EOF packet) or killed the dump thread.
		err = &NetError{Op: "binlog dump", Addr: c.addr, Err: errors.New("the server ended the binlog dump (shutting down or the dump thread was killed)")}
	default:
		err = &ProtocolError{Op: "binlog dump", Msg: fmt.Sprintf("unexpected packet 0x%02x", data[0])}
	}
	c.broken = err
	return nil, err
}
