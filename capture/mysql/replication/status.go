package replication

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// BinlogStatus is the server's current binlog coordinates: where a dump started now would
// begin, in both forms.
type BinlogStatus struct {
	File string // current binlog file, e.g. "binlog.000042"
	Pos  uint32 // offset of the next event in File
	// GTID is the GTID state at File/Pos: MySQL's Executed_Gtid_Set (@@gtid_executed, empty
	// with gtid_mode=OFF) or MariaDB's BINLOG_GTID_POS(File, Pos), e.g. "0-1-100".
	GTID string
}

// BinlogStatus reads the current binlog coordinates. MySQL 8.2+ answers SHOW BINARY LOG
// STATUS (older ones SHOW MASTER STATUS), both needing REPLICATION CLIENT; MariaDB answers SHOW
// MASTER STATUS (BINLOG MONITOR) and BINLOG_GTID_POS, which maps the file/position to its GTID
// position exactly, with no race against concurrent commits.
func (c *Conn) BinlogStatus(ctx context.Context) (BinlogStatus, error) {
	var st BinlogStatus
	stmt := "SHOW MASTER STATUS"
	if c.flavor == FlavorMySQL {
		stmt = "SHOW BINARY LOG STATUS"
	}
	r, err := c.Query(ctx, stmt)
	if c.flavor == FlavorMySQL && IsCode(err, 1064) { // MySQL < 8.2
		r, err = c.Query(ctx, "SHOW MASTER STATUS")
	}
	if err != nil {
		return st, err
	}
	if len(r.Rows) == 0 {
		return st, fmt.Errorf("%s: %w: the binary log is disabled; start the server with log_bin, binlog_format=ROW "+
			"and binlog_row_image=FULL", stmt, ErrUnsupported)
	}
	st.File, _ = r.Get(0, "File")
	p, _ := r.Get(0, "Position")
	pos, err := strconv.ParseUint(p, 10, 32)
	if err != nil {
		return st, &ProtocolError{Op: stmt, Msg: fmt.Sprintf("bad Position %q", p)}
	}
	st.Pos = uint32(pos)
	if c.flavor == FlavorMariaDB {
		if strings.ContainsAny(st.File, "'\\") {
			return st, &ProtocolError{Op: stmt, Msg: fmt.Sprintf("odd binlog file name %q", st.File)}
		}
		r, err := c.Query(ctx, fmt.Sprintf("SELECT BINLOG_GTID_POS('%s', %d) AS g", st.File, st.Pos))
		if err != nil {
			return st, err
		}
		st.GTID, _ = r.Get(0, "g")
		return st, nil
	}
	g, _ := r.Get(0, "Executed_Gtid_Set")
	st.GTID = strings.ReplaceAll(g, "\n", "")
	return st, nil
}
