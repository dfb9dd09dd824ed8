package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

// snapshotState reads the captured tables inside one consistent-snapshot transaction.
type snapshotState struct {
	data    bool
	started bool
	conn    *sql.Conn   // the connection that holds the lock and reads the position
	workers []*sql.Conn // readers, each in a consistent snapshot opened under the same lock
	pos     *Position   // binlog position of the snapshot (Snapshot=true)
	tables  []*schema.Table
	outs    []*tableRows
	ti      int
	view    *tableView
	tableN  int64
	totalN  int64
	tStart  time.Time
	start   time.Time
	lastLog time.Time
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	pending       *capture.Event
	pendingFirstT bool
	pendingFirst  bool
	sawAny        bool
	newTable      bool
}

// tableRows carries one table's rows from a reader to Next, in key order.
type tableRows struct {
	ch  chan capture.Row // closed after the last row
	err error            // set before ch is closed
}

func (st *snapshotState) close() {
	if st.cancel != nil {
		st.cancel()
		st.cancel = nil
	}
	st.wg.Wait()
	// end the snapshot transactions before the connections go back to the pool
	done := func(c *sql.Conn) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, _ = c.ExecContext(ctx, "COMMIT")
		c.Close()
	}
	for _, c := range st.workers {
		if c != st.conn {
			done(c)
		}
	}
	st.workers = nil
	if st.conn != nil {
		done(st.conn)
		st.conn = nil
	}
}

// snapshotBegin locks (minimal), opens the consistent snapshot, reads the binlog position and
// the schemas, and unlocks.
func (s *Source) snapshotBegin(ctx context.Context) error {
	st := s.snap
	st.started = true
	st.start = time.Now()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return errorf("snapshot connection: %w", err)
	}
	st.conn = conn
	exec := func(q string) error {
		_, err := conn.ExecContext(ctx, q)
		return err
	}
	locked := false
	if s.cfg.SnapshotLocking == LockMinimal {
		if err := exec("FLUSH TABLES WITH READ LOCK"); err != nil {
			return errorf("snapshot: FLUSH TABLES WITH READ LOCK: %v. Fix: GRANT RELOAD ON *.* TO the connector user, or run with --snapshot-locking none (then no DDL may run during the snapshot)", err)
		}
		locked = true
		s.log.Info("snapshot: global read lock taken")
	}
	unlock := func() {
		if locked {
			_ = exec("UNLOCK TABLES")
			locked = false
			s.log.Info("snapshot: global read lock released")
		}
	}
	defer unlock()
	if err := exec("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"); err != nil {
		return errorf("snapshot: %w", err)
	}
	if err := exec("START TRANSACTION WITH CONSISTENT SNAPSHOT"); err != nil {
		return errorf("snapshot: START TRANSACTION WITH CONSISTENT SNAPSHOT: %w", err)
	}
	st.workers = []*sql.Conn{conn}
	if locked {
		// More readers, each opening its consistent snapshot while the lock still holds, so
		// all of them see the same state.
		for len(st.workers) < s.cfg.SnapshotWorkers {
			wc, err := s.db.Conn(ctx)
			if err == nil {
				_, err = wc.ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
				if err == nil {
					_, err = wc.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT")
				}
				if err != nil {
					wc.Close()
				}
			}
			if err != nil {
				s.log.Warn("snapshot: extra reader not opened; reading with fewer", "err", err)
				break
			}
			st.workers = append(st.workers, wc)
		}
	}
	pos, err := s.binlogPosition(ctx, conn, !locked)
	if err != nil {
		return err
	}
	pos.TsSec = time.Now().Unix()
	st.pos = pos
	if err := s.captureSchema(ctx, conn, pos, true); err != nil {
		return err
	}
	unlock()
	for _, t := range s.cat.Tables() {
		if s.f.table(t.ID.DB, t.ID.Table) {
			st.tables = append(st.tables, t)
		}
	}
	s.log.Info("snapshot started", "file", pos.File, "pos", pos.Pos, "gtids", pos.GTIDs, "tables", len(st.tables), "data", st.data, "readers", len(st.workers))
	if st.data {
		s.startReaders()
	}
	return nil
}

// startReaders starts one goroutine per reader connection; they take the tables in order and
// hand their rows to Next through bounded channels, so at most one table per reader is ahead.
func (s *Source) startReaders() {
	st := s.snap
	ctx, cancel := context.WithCancel(context.Background())
	st.cancel = cancel
	st.outs = make([]*tableRows, len(st.tables))
	for i := range st.outs {
		st.outs[i] = &tableRows{ch: make(chan capture.Row, 512)}
	}
	var next atomic.Int32
	for _, c := range st.workers {
		st.wg.Add(1)
		go func(c *sql.Conn) {
			defer st.wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(st.tables) {
					return
				}
				out := st.outs[i]
				out.err = s.readTable(ctx, c, st.tables[i], out.ch)
				close(out.ch)
				if out.err != nil {
					return
				}
			}
		}(c)
	}
}

// readTable reads t in primary-key chunks (one scan without a key) and sends each row.
func (s *Source) readTable(ctx context.Context, c *sql.Conn, t *schema.Table, out chan<- capture.Row) error {
	raw := make([]sql.RawBytes, len(t.Columns))
	ptrs := make([]any, len(t.Columns))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	var lastKey []any
	for {
		q, args := snapshotQuery(t, lastKey, s.cfg.SnapshotChunkRows)
		rows, err := c.QueryContext(ctx, q, args...)
		if err != nil {
			return errorf("snapshot of %s: %w", t.ID, err)
		}
		n := 0
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return errorf("snapshot of %s: %w", t.ID, err)
			}
			n++
			row := make(capture.Row, len(t.Columns))
			for i := range t.Columns {
				v, err := textValue(&t.Columns[i], raw[i])
				if err != nil {
					rows.Close()
					return errorf("snapshot of %s column %s: %w", t.ID, t.Columns[i].Name, err)
				}
				row[i] = v
			}
			if len(t.PrimaryKey) > 0 {
				lastKey = lastKey[:0]
				for _, k := range t.PrimaryKey {
					if isBinaryType(t.Columns[k].Type) {
						lastKey = append(lastKey, append([]byte(nil), raw[k]...))
					} else {
						lastKey = append(lastKey, string(raw[k]))
					}
				}
			}
			select {
			case out <- row:
			case <-ctx.Done():
				rows.Close()
				return ctx.Err()
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return errorf("snapshot of %s: %w", t.ID, err)
		}
		if len(t.PrimaryKey) == 0 || n < s.cfg.SnapshotChunkRows {
			return nil
		}
	}
}

// binlogPosition reads the current binlog position and GTID set. Without the global read lock
// on MariaDB it uses the consistent snapshot's own position (binlog_snapshot_file/position).
func (s *Source) binlogPosition(ctx context.Context, conn *sql.Conn, unlocked bool) (*Position, error) {
	p := &Position{Snapshot: true}
	if s.info.MariaDB {
		if unlocked {
			m, err := queryMap(ctx, conn, "SHOW STATUS LIKE 'binlog_snapshot_%'")
			if err != nil {
				return nil, errorf("snapshot: read binlog position: %w", err)
			}
			p.File = m["binlog_snapshot_file"]
			p.Pos, _ = strconv.ParseUint(m["binlog_snapshot_position"], 10, 64)
			return p, nil
		}
		m, err := queryRow(ctx, conn, "SHOW MASTER STATUS")
		if err != nil {
			return nil, errorf("snapshot: SHOW MASTER STATUS: %w", err)
		}
		p.File = m["File"]
		p.Pos, _ = strconv.ParseUint(m["Position"], 10, 64)
		g, err := queryRow(ctx, conn, "SELECT @@gtid_binlog_pos AS g")
		if err != nil {
			return nil, errorf("snapshot: read gtid_binlog_pos: %w", err)
		}
		p.GTIDs = g["g"]
		return p, nil
	}
	m, err := queryRow(ctx, conn, "SHOW BINARY LOG STATUS")
	if err != nil {
		m, err = queryRow(ctx, conn, "SHOW MASTER STATUS")
	}
	if err != nil {
		return nil, errorf("snapshot: read binlog position: %w", err)
	}
	if m["File"] == "" {
		return nil, fmt.Errorf("mysql: %w: the binary log is off. Fix: start the server with log_bin (and binlog_format=ROW)", ErrPreflight)
	}
	p.File = m["File"]
	p.Pos, _ = strconv.ParseUint(m["Position"], 10, 64)
	if s.info.GTIDMode {
		p.GTIDs = strings.ReplaceAll(strings.ReplaceAll(m["Executed_Gtid_Set"], "\n", ""), " ", "")
	}
	return p, nil
}

// snapshotStep queues the next snapshot events.
func (s *Source) snapshotStep(ctx context.Context) error {
	st := s.snap
	if !st.started {
		if err := s.snapshotBegin(ctx); err != nil {
			return err
		}
		if len(s.queue) > 0 {
			return nil
		}
	}
	for len(s.queue) == 0 {
		if !st.data || st.ti >= len(st.tables) {
			return s.snapshotEnd(ctx)
		}
		ev, ok, err := s.snapshotRow(ctx)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		s.pushSnapshot(ev, false)
	}
	return nil
}

// pushSnapshot holds one row back so its marker can say whether it was the last of its table
// or of the snapshot.
func (s *Source) pushSnapshot(ev *capture.Event, end bool) {
	st := s.snap
	if st.pending != nil {
		p := st.pending
		lastInTable := end || ev.Table.ID != p.Table.ID
		switch {
		case end:
			p.Source.Snapshot = capture.SnapshotLast
		case st.pendingFirst:
			p.Source.Snapshot = capture.SnapshotFirst
		case lastInTable:
			p.Source.Snapshot = capture.SnapshotLastInTable
		case st.pendingFirstT:
			p.Source.Snapshot = capture.SnapshotFirstInTable
		default:
			p.Source.Snapshot = capture.SnapshotTrue
		}
		s.emit(*p)
	}
	if end {
		st.pending = nil
		return
	}
	st.pending = ev
	st.pendingFirst = !st.sawAny
	st.pendingFirstT = st.newTable
	st.newTable = false
	st.sawAny = true
}

// snapshotRow takes the next row of the current table from its reader; ok false means the
// table ended.
func (s *Source) snapshotRow(ctx context.Context) (*capture.Event, bool, error) {
	st := s.snap
	t := st.tables[st.ti]
	if st.view == nil {
		st.view = s.view(t)
		st.tableN = 0
		st.tStart = time.Now()
		st.newTable = true
	}
	out := st.outs[st.ti]
	var row capture.Row
	var ok bool
	select {
	case row, ok = <-out.ch:
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
	if !ok {
		if out.err != nil {
			return nil, false, out.err
		}
		s.log.Info("snapshot: table done", "table", t.ID.String(), "rows", st.tableN, "seconds", time.Since(st.tStart).Seconds())
		st.ti++
		st.view = nil
		return nil, false, nil
	}
	st.tableN++
	st.totalN++
	if st.tableN%1024 == 0 && time.Since(st.lastLog) > 10*time.Second {
		st.lastLog = time.Now()
		s.log.Info("snapshot: progress", "table", t.ID.String(), "rows", st.tableN, "total_rows", st.totalN, "table_index", st.ti+1, "tables", len(st.tables))
	}
	v := st.view
	after := row
	if v.keep != nil {
		var buf capture.Row
		after = append(capture.Row(nil), v.project(row, &buf)...)
	}
	ev := &capture.Event{Kind: capture.Change, Op: capture.OpRead, Table: v.t, After: after,
		Source: s.snapshotSource(st.pos, t.ID.DB, t.ID.Table), Position: st.pos}
	return ev, true, nil
}

func isBinaryType(t string) bool {
	switch t {
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "bit":
		return true
	}
	return false
}

// snapshotQuery is one primary-key chunk: rows after lastKey in key order (a full scan for
// tables without a key).
func snapshotQuery(t *schema.Table, lastKey []any, n int) (string, []any) {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quoteID(c.Name))
	}
	b.WriteString(" FROM ")
	b.WriteString(quoteID(t.ID.DB) + "." + quoteID(t.ID.Table))
	if len(t.PrimaryKey) == 0 {
		return b.String(), nil
	}
	keys := make([]string, len(t.PrimaryKey))
	for i, k := range t.PrimaryKey {
		keys[i] = quoteID(t.Columns[k].Name)
	}
	if lastKey != nil {
		b.WriteString(" WHERE (" + strings.Join(keys, ",") + ") > (" + inList(len(keys)) + ")")
	}
	b.WriteString(" ORDER BY " + strings.Join(keys, ","))
	b.WriteString(" LIMIT " + strconv.Itoa(n))
	return b.String(), lastKey
}

// snapshotEnd commits the snapshot transaction, emits the last row and SnapshotDone, and
// hands over to streaming at the snapshot's binlog position.
func (s *Source) snapshotEnd(ctx context.Context) error {
	st := s.snap
	s.pushSnapshot(nil, true)
	st.close()
	p := *st.pos
	p.Snapshot = false
	s.log.Info("snapshot done", "rows", st.totalN, "tables", len(st.tables), "seconds", time.Since(st.start).Seconds())
	s.emit(capture.Event{Kind: capture.SnapshotDone, Position: &p})
	s.snap = nil
	if s.cfg.SnapshotMode == SnapshotInitialOnly {
		s.phase = phaseDone
		return nil
	}
	return s.startStream(&p)
}

// queryRow runs q and returns its first row by column name ("" for NULL).
func queryRow(ctx context.Context, q queryer, query string) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	if !rows.Next() {
		return m, rows.Err()
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, err
	}
	for i, c := range cols {
		m[c] = vals[i].String
	}
	return m, rows.Err()
}

// queryMap runs a two-column query (SHOW VARIABLES/STATUS) into a map.
func queryMap(ctx context.Context, q queryer, query string) (map[string]string, error) {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var k string
		var v sql.NullString
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		m[k] = v.String
	}
	return m, rows.Err()
}
