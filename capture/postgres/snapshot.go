package postgres

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/capture/postgres/pgoutput"
)

// snapTable is one table of the initial snapshot.
type snapTable struct {
	rel      *relation
	name     string // quoted schema.table
	from     string // what a read selects from: "ONLY name", or name for a partitioned root
	root     bool   // a partitioned root: its rows are its partitions'
	cols     string // quoted column list, in relation order
	pk       []string
	pkIdx    []int // index of each key column in the select list
	intPK    bool
	estimate int64 // pg_class.reltuples, or the live rows counted since (statistics lost in a crash: 0)
	locks    int   // locks a read of it holds until its transaction ends
	done     int64
	streamed int64 // a resumed keyless table's chunk rows dropped as versions the stream delivered (keyless.go)
	// visWarned: the reader logged that the snapshot's transaction list does not apply (keyless.go).
	visWarned bool
	progress  *capture.TableProgress
	where     string // an incremental snapshot's additional condition (SQL), "" = none
	// resume is the key (columns' text) after which a blocking snapshot cut by a restart goes
	// on reading the table (blocking.go); nil: from its first row.
	resume []string
	// bins is how each selected column is read (binNone: text), formats the same as the
	// result format codes of a read (nil: all text).
	bins    []binKind
	formats []int16
}

// unit is a piece of work: a whole table, or a primary-key range of one.
type unit struct {
	t      *snapTable
	lo, hi *int64 // [lo, hi) on a single integer key; nil = open
	rows   chan *snapBatch
	err    error // set before rows is closed
	// sn, index: the unit's snapshot and place in its units; held the bytes of its batches
	// queued in rows or handed out now (sn.budget).
	sn    *snapshot
	index int
	held  atomic.Int64
}

// snapshot reads the tables inside the slot's exported snapshot with several connections and
// hands the rows out in unit order, so each table's rows come out together and the
// first/last markers can be set.
type snapshot struct {
	s            *Source
	lsn          uint64
	units        []*unit
	cur          int
	batch        []capture.Row
	bi           int
	batchTs      int64
	pos          *Position   // the position of the row pull returned last
	batchPos     *Position   // shared by the rows of the current batch before its last
	lastPos      *Position   // the batch's last row's: the batch is done (nil: as batchPos)
	heldRow      capture.Row // the row read last, emitted once the next is read
	heldT        *snapTable
	heldTs       int64
	heldPos      *Position
	hasHeld      bool
	emitted      int64
	firstOfTable bool
	conns        []*pgx.Conn
	readers      []*snapReader
	stats        *capture.SnapshotStats
	cancel       context.CancelFunc
	wg           sync.WaitGroup
	lastLog      time.Time
	start        time.Time
	// A blocking snapshot's (blocking.go): the rows' position (streaming paused there, the
	// tables in progress) and the connection whose transaction exported the snapshot.
	base      *Position
	export    *pgx.Conn
	blockLeft map[*snapTable][]string // each table's tables left, itself first
	// xids: the initial snapshot's transaction list, kept in its positions when a table
	// without a key is captured (Position.SnapXids).
	xids string

	// budget bounds the bytes of the batches read and not yet handed out, over all readers
	// (--snapshot-max-buffered-bytes); head is cur for the readers, whose reader may go over
	// the budget when it holds no batch (capture.ReadBudget); held is the batch handed out now.
	budget capture.ReadBudget
	head   atomic.Int32
	held   int64
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// startSnapshot opens the reader connections, imports the exported snapshot into each (this
// must happen before the replication connection runs another command), lists the tables and
// starts the readers.
//
// only, when set, limits the snapshot to its tables with their conditions (a blocking
// snapshot).
func (s *Source) startSnapshot(ctx context.Context, name string, lsn uint64, only *blockReq) (*snapshot, error) {
	sn := &snapshot{s: s, lsn: lsn, start: time.Now(), lastLog: time.Now(), stats: &s.cfg.Stats.Snapshot}
	ok := false
	defer func() {
		if !ok {
			sn.close()
		}
	}()
	for i := 0; i < s.cfg.SnapshotWorkers; i++ {
		c, err := s.snapshotConnect(ctx)
		if err != nil {
			return nil, err
		}
		r := &snapReader{s: s, c: c, name: name}
		sn.conns = append(sn.conns, c)
		sn.readers = append(sn.readers, r)
		if err := r.begin(ctx); err != nil {
			return nil, err
		}
	}
	plan := sn.readers[0]
	var lt lockTable
	if err := s.bounded(ctx, "read the lock table size", func(ctx context.Context) error {
		return plan.c.QueryRow(ctx, `SELECT current_setting('max_locks_per_transaction')::int, current_setting('max_connections')::int,
  current_setting('max_prepared_transactions')::int`).Scan(&lt.perTx, &lt.conns, &lt.prepared)
	}); err != nil {
		return nil, fmt.Errorf("postgres snapshot: read max_locks_per_transaction: %w", err)
	}
	for _, r := range sn.readers {
		r.budget = lt.budget()
	}
	var tables []*snapTable
	if err := s.bounded(ctx, "list the snapshot's tables", func(ctx context.Context) (err error) {
		tables, err = s.snapshotTables(ctx, plan.c)
		return err
	}); err != nil {
		return nil, err
	}
	if only != nil {
		tables = only.filter(tables, s.log)
	}
	s.warnLocks(tables, lt)
	if only == nil && s.version >= 130000 && slices.ContainsFunc(tables, func(t *snapTable) bool { return len(t.pk) == 0 }) {
		var xids string
		var n int
		if err := s.bounded(ctx, "read the snapshot's transactions", func(ctx context.Context) error {
			return plan.c.QueryRow(ctx, "SELECT pg_current_snapshot()::text, (SELECT count(*) FROM pg_snapshot_xip(pg_current_snapshot()))::int").Scan(&xids, &n)
		}); err != nil {
			return nil, fmt.Errorf("postgres snapshot: read the snapshot's transactions: %w", err)
		}
		if n <= maxSnapXids {
			sn.xids = xids
		}
	}
	if err := s.bounded(ctx, "read the key ranges", func(ctx context.Context) (err error) {
		sn.units, err = s.planUnits(ctx, plan, tables)
		return err
	}); err != nil {
		return nil, err
	}
	sn.stats.Running.Store(true)
	sn.stats.Completed.Store(false)
	sn.stats.StartedUnixNano.Store(sn.start.UnixNano())
	sn.stats.EndedUnixNano.Store(0)
	sn.stats.TotalTables.Store(int64(len(tables)))
	sn.stats.RemainingTables.Store(int64(len(tables)))
	for _, t := range tables {
		t.progress = sn.stats.Table(t.rel.table.ID.Schema + "." + t.rel.table.ID.Table)
		t.progress.Rows.Store(0)
		t.progress.Done.Store(false)
		t.progress.Estimate.Store(max(t.estimate, 0))
	}
	s.log.Info("snapshot started", "tables", len(tables), "units", len(sn.units), "workers", len(sn.conns), "lsn", strconv.FormatUint(lsn, 10),
		"locks_per_transaction", lt.budget())
	work := make(chan *unit, len(sn.units))
	sn.budget.Limit, sn.budget.Stats = s.cfg.SnapshotMaxBufferedBytes, sn.stats
	sn.stats.MaxBufferedBytes.Store(s.cfg.SnapshotMaxBufferedBytes)
	for i, u := range sn.units {
		u.rows = make(chan *snapBatch, 4)
		u.sn, u.index = sn, i
		work <- u
	}
	close(work)
	wctx, cancel := context.WithCancel(context.Background())
	sn.cancel = cancel
	for _, r := range sn.readers {
		sn.wg.Add(1)
		go func(r *snapReader) {
			defer sn.wg.Done()
			for u := range work {
				u.err = s.bounded(wctx, "re-import the snapshot", func(ctx context.Context) error { return r.enter(ctx, u.t) })
				if u.err == nil {
					u.err = s.readUnit(wctx, r.c, u)
				}
				close(u.rows)
			}
		}(r)
	}
	ok = true
	return sn, nil
}

// lockTable is the size of the server's shared lock table: max_locks_per_transaction ×
// (max_connections + max_prepared_transactions) locks, plus the background processes' share.
type lockTable struct{ perTx, conns, prepared int }

func (l lockTable) size() int { return l.perTx * (l.conns + l.prepared) }

// budget is how many locks a reader may hold before it commits and re-imports the snapshot:
// half of one transaction's share, so the readers together stay far below the table whatever
// the other sessions hold.
func (l lockTable) budget() int { return max(l.perTx/2, 2) }

// warnLocks warns when a table needs more locks to be read than a reader's share of the lock
// table: it is read in a transaction of its own, which may still fail with "out of shared
// memory". Nothing else is needed: the readers commit before they would hold more.
func (s *Source) warnLocks(tables []*snapTable, lt lockTable) {
	for _, t := range tables {
		if t.locks > lt.perTx {
			s.log.Warn("a snapshot table needs more locks than max_locks_per_transaction; if the snapshot fails with \"out of shared memory\", raise max_locks_per_transaction (server restart)",
				"table", t.rel.table.ID.String(), "locks", t.locks, "tables", len(tables),
				"max_locks_per_transaction", lt.perTx, "lock_table_size", lt.size())
		}
	}
}

// snapReader is one reader connection in a transaction that imported the exported snapshot.
// A table read keeps its AccessShareLock (and its indexes') until the transaction ends, so a
// reader that read thousands of tables would fill the server's lock table ("out of shared
// memory"). enter commits and begins a new transaction with the same snapshot before the locks
// held would pass budget: the exported snapshot stays importable while the slot's exporting
// transaction is open, i.e. until the replication connection runs its next command, which it
// does only after the snapshot (START_REPLICATION).
type snapReader struct {
	s      *Source
	c      *pgx.Conn
	name   string // the exported snapshot
	budget int    // locks per transaction
	held   int    // locks taken by the tables entered in this transaction (an estimate)
	last   *snapTable
	txs    int // transactions begun
}

// begin starts a transaction in the exported snapshot.
func (r *snapReader) begin(ctx context.Context) error {
	// lock_timeout bounds every lock wait of the transaction (checkNotRewritten's LOCK, the
	// key ranges' and the reads' own): --snapshot-lock-timeout, not --query-timeout.
	q := "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '" + r.name + "'; " + r.s.lockTimeoutSQL()
	if r.txs > 0 {
		q = "COMMIT; " + q
	}
	if err := r.s.bounded(ctx, "import the snapshot", func(ctx context.Context) error {
		_, err := r.c.Exec(ctx, q)
		return err
	}); err != nil {
		return fmt.Errorf("postgres snapshot: import snapshot %s (transaction %d of this reader): %w", r.name, r.txs+1, err)
	}
	r.txs++
	r.held, r.last = 0, nil
	return nil
}

// enter accounts for the locks reading t takes, first committing and re-importing the snapshot
// when they would pass the budget. Only between units: a table's unit is read in one
// transaction.
func (r *snapReader) enter(ctx context.Context, t *snapTable) error {
	if t == r.last {
		return nil
	}
	if r.held > 0 && r.held+t.locks > r.budget {
		if err := r.begin(ctx); err != nil {
			return err
		}
	}
	r.held += t.locks
	r.last = t
	return nil
}

// snapshotReadBuffer is the read buffer of a snapshot connection: rows arrive in bulk, and
// pgproto3's own 8 KiB buffer costs a read system call (and often a wait) per ~50 rows.
const snapshotReadBuffer = 256 << 10

// snapshotConnect opens a reader connection with a big read buffer, each of whose reads may
// wait at most QueryTimeout for a byte (idleConn).
func (s *Source) snapshotConnect(ctx context.Context) (*pgx.Conn, error) {
	cc, err := pgx.ParseConfig("")
	if err != nil {
		return nil, err
	}
	cc.Config = *s.connCfg.Copy()
	cc.DialFunc = idleDialer(cc.DialFunc, s.cfg.QueryTimeout)
	cc.BuildFrontend = func(r io.Reader, w io.Writer) *pgproto3.Frontend {
		return pgproto3.NewFrontend(bufio.NewReaderSize(r, snapshotReadBuffer), w)
	}
	conn, err := pgx.ConnectConfig(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect to %s:%d as %s: %w", s.connCfg.Host, s.connCfg.Port, s.connCfg.User, err)
	}
	return conn, nil
}

// snapshotTables lists the published tables that pass the filters, with their relation state.
// Three catalog queries whatever the number of tables (tables; columns; key columns): one
// query per table cost ~1 ms each, seconds at 10,000 tables. Catalog rows take no lock on the
// tables themselves.
func (s *Source) snapshotTables(ctx context.Context, c *pgx.Conn) ([]*snapTable, error) {
	// locks: what reading the table holds until the transaction ends: the table, every index
	// (the planner opens them all) and the TOAST table with its index. The function, not the
	// view pg_publication_tables, whose join by name costs ~0.5 s at 10,000 tables.
	// estimate: reltuples, or for a table never vacuumed nor analyzed (-1) the live rows the
	// statistics collector counted: reading its key range to decide whether to split it costs
	// ~1 ms a table (the first access of a table in a backend builds its cache entry), 10 s
	// for 10,000 new tables.
	rows, err := c.Query(ctx, `SELECT cl.oid, n.nspname, cl.relname, cl.relreplident, cl.relkind = 'p',
  CASE WHEN cl.reltuples >= 0 THEN cl.reltuples::bigint ELSE pg_stat_get_live_tuples(cl.oid) END,
  1 + (SELECT count(*) FROM pg_index i WHERE i.indrelid = cl.oid)::int + CASE WHEN cl.reltoastrelid <> 0 THEN 2 ELSE 0 END
FROM pg_get_publication_tables($1::text) p JOIN pg_class cl ON cl.oid = p.relid JOIN pg_namespace n ON n.oid = cl.relnamespace
ORDER BY n.nspname, cl.relname`, s.cfg.Publication)
	if err != nil {
		return nil, fmt.Errorf("postgres snapshot: list tables of publication %s: %w", s.cfg.Publication, err)
	}
	type tbl struct {
		oid      uint32
		ns, name string
		ident    string
		root     bool // partitioned: the publication publishes its partitions' rows as its own
		estimate int64
		locks    int
		msg      pgoutput.RelationMessage
		meta     tableMeta
	}
	var list []*tbl
	byOID := map[uint32]*tbl{}
	var oids []uint32
	for rows.Next() {
		t := &tbl{}
		if err := rows.Scan(&t.oid, &t.ns, &t.name, &t.ident, &t.root, &t.estimate, &t.locks); err != nil {
			rows.Close()
			return nil, err
		}
		if s.filter.table(t.ns, t.name) {
			t.msg = pgoutput.RelationMessage{RelationID: t.oid, Namespace: t.ns, RelationName: t.name, ReplicaIdentity: t.ident[0]}
			t.meta = tableMeta{notNull: map[string]bool{}, defaults: map[string]string{}}
			list = append(list, t)
			byOID[t.oid] = t
			oids = append(oids, t.oid)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// The columns as pgoutput sends them (no generated columns) and the metadata of all.
	rows, err = c.Query(ctx, `SELECT a.attrelid, a.attname, a.atttypid, a.atttypmod, a.attnotnull, a.attgenerated <> '',
  pg_get_expr(d.adbin, d.adrelid)
FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attrelid, a.attnum`, oids)
	if err != nil {
		return nil, fmt.Errorf("postgres snapshot: read the columns of %d tables: %w", len(oids), err)
	}
	for rows.Next() {
		var oid uint32
		var rc pgoutput.RelationMessageColumn
		var nn, generated bool
		var def *string
		if err := rows.Scan(&oid, &rc.Name, &rc.DataType, &rc.TypeModifier, &nn, &generated, &def); err != nil {
			rows.Close()
			return nil, err
		}
		t := byOID[oid]
		if t == nil {
			continue
		}
		t.meta.notNull[rc.Name] = nn
		if def != nil {
			t.meta.defaults[rc.Name] = *def
		}
		if !generated {
			t.msg.Columns = append(t.msg.Columns, rc)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = c.Query(ctx, `SELECT i.indrelid, a.attname FROM pg_index i
JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
WHERE i.indrelid = ANY($1::oid[]) AND `+KeyIndexSQL+` ORDER BY i.indrelid, k.ord`, oids)
	if err != nil {
		return nil, fmt.Errorf("postgres snapshot: read the primary keys of %d tables: %w", len(oids), err)
	}
	for rows.Next() {
		var oid uint32
		var col string
		if err := rows.Scan(&oid, &col); err != nil {
			rows.Close()
			return nil, err
		}
		if t := byOID[oid]; t != nil {
			t.meta.pk = append(t.meta.pk, col)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]*snapTable, 0, len(list))
	for _, t := range list {
		m := t.msg
		rel, err := s.buildRelationMeta(ctx, m, s.rels[t.oid], &t.meta)
		if err != nil {
			return nil, err
		}
		s.rels[t.oid] = rel
		st := &snapTable{rel: rel, name: quoteIdent(t.ns) + "." + quoteIdent(t.name), estimate: t.estimate, locks: t.locks}
		// ONLY keeps an inheritance parent's read to its own rows (its children are published
		// apart); a partitioned root holds none itself: ONLY read nothing of it.
		st.from = "ONLY " + st.name
		if t.root {
			st.from, st.root = st.name, true
		}
		var cols []string
		for _, c := range m.Columns {
			cols = append(cols, quoteIdent(c.Name))
		}
		st.cols = strings.Join(cols, ", ")
		for _, k := range rel.table.PrimaryKey {
			name := rel.table.Columns[k].Name
			st.pk = append(st.pk, quoteIdent(name))
			for i, c := range m.Columns {
				if c.Name == name {
					st.pkIdx = append(st.pkIdx, i)
				}
			}
		}
		st.binary()
		if len(st.pk) == 1 {
			switch rel.table.Columns[rel.table.PrimaryKey[0]].Type {
			case "int2", "int4", "int8":
				st.intPK = true
			}
		}
		out = append(out, st)
	}
	return out, nil
}

// planUnits splits each large table with a single integer key into ranges read in parallel.
// The key ranges of the tables that may be large are read in batches, one round trip for as
// many tables as one transaction of r may lock: one query per table cost ~1 ms, 10 s at
// 10,000 never-analyzed tables.
func (s *Source) planUnits(ctx context.Context, r *snapReader, tables []*snapTable) ([]*unit, error) {
	chunk := int64(s.cfg.SnapshotChunkRows)
	workers := int64(s.cfg.SnapshotWorkers)
	type keyRange struct{ lo, hi int64 }
	ranges := map[*snapTable]keyRange{}
	var group []*snapTable
	var q strings.Builder
	flush := func() error {
		if len(group) == 0 {
			return nil
		}
		res, err := r.c.PgConn().Exec(ctx, q.String()).ReadAll()
		if err != nil {
			return s.lockWaited(fmt.Errorf("postgres snapshot: key ranges of %d tables from %s: %w", len(group), group[0].name, err), names(group)...)
		}
		for i, t := range group {
			if i >= len(res) || len(res[i].Rows) != 1 || len(res[i].Rows[0]) != 2 {
				return fmt.Errorf("postgres snapshot: key range of %s: no result", t.name)
			}
			row := res[i].Rows[0]
			if row[0] == nil || row[1] == nil {
				continue // empty
			}
			lo, err1 := strconv.ParseInt(string(row[0]), 10, 64)
			hi, err2 := strconv.ParseInt(string(row[1]), 10, 64)
			if err := errors.Join(err1, err2); err != nil {
				return fmt.Errorf("postgres snapshot: key range of %s: %w", t.name, err)
			}
			ranges[t] = keyRange{lo, hi}
		}
		group = group[:0]
		q.Reset()
		return nil
	}
	for _, t := range tables {
		if !t.intPK || workers < 2 || (t.estimate >= 0 && t.estimate < 2*chunk) {
			continue
		}
		if r.held > 0 && r.held+t.locks > r.budget {
			if err := flush(); err != nil { // before enter commits the transaction
				return nil, err
			}
		}
		if err := r.enter(ctx, t); err != nil {
			return nil, err
		}
		group = append(group, t)
		q.WriteString("SELECT min(" + t.pk[0] + ")::int8, max(" + t.pk[0] + ")::int8 FROM " + t.from + ";")
	}
	if err := flush(); err != nil {
		return nil, err
	}
	var units []*unit
	for _, t := range tables {
		kr, ok := ranges[t]
		if !ok {
			units = append(units, &unit{t: t})
			continue
		}
		units = append(units, splitRange(t, kr.lo, kr.hi, chunk, workers)...)
	}
	return units, nil
}

// splitRange splits t's key range [lo, hi] into up to 4 units per worker of at least ~chunk
// rows each (by the estimate; the key span when the table was never analyzed).
func splitRange(t *snapTable, lo, hi, chunk, workers int64) []*unit {
	est := t.estimate
	if est < 0 {
		est = hi - lo + 1
	}
	k := min(est/chunk, workers*4)
	if k < 2 {
		return []*unit{{t: t}}
	}
	span := (hi - lo + 1 + k - 1) / k
	var units []*unit
	for i := int64(0); i < k; i++ {
		a := lo + i*span
		if a > hi {
			break
		}
		u := &unit{t: t}
		if i > 0 {
			a := a
			u.lo = &a
		}
		if b := a + span; b <= hi && i < k-1 {
			u.hi = &b
		}
		units = append(units, u)
	}
	return units
}

// snapBatch is a run of decoded rows of one unit, read at ts (µs since the epoch). The rows'
// values live in the batch's own memory (vals, buf), never in pgconn's buffers; the memory is
// reused once the pipeline has encoded the rows (snapPool).
type snapBatch struct {
	rows  []capture.Row
	ts    int64
	after []string        // the key of the unit's row before the batch (Position.SnapAfter)
	last  []string        // the key of the batch's last row (nil: a keyless table)
	vals  []capture.Value // the rows' Values: snapBatchRows rows
	used  int             // Values of vals handed out
	buf   []byte          // the rows' copied bytes (Copy)
	size  int64           // bytes: the Values and the row data (snapshot.budget)
}

// snapBatchRows and snapBatchMaxBytes end a batch: wide rows fill one with fewer rows, so the
// budget counts them in small steps (and a 4 MB row is a batch of its own).
const (
	snapBatchRows     = 512
	snapBatchMaxBytes = 256 << 10
)

// readUnit reads one unit in key order, chunk by chunk (keyset pagination), and sends batches
// of decoded rows.
func (s *Source) readUnit(ctx context.Context, c *pgx.Conn, u *unit) error {
	t := u.t
	if testHookUnitRead != nil {
		testHookUnitRead(t)
	}
	if err := s.bounded(ctx, "check "+t.name+" against the snapshot", func(ctx context.Context) error {
		return checkNotRewritten(ctx, c, t)
	}); err != nil {
		return s.lockWaited(err, t.name)
	}
	chunk := s.cfg.SnapshotChunkRows
	ncol := len(t.rel.table.Columns)
	var last [][]byte // the key of the chunk's last row: the next chunk starts after it
	if len(t.pk) > 0 {
		last = make([][]byte, len(t.pkIdx))
	}
	var params [][]byte
	var conds []string
	first := true
	// after is what the stored offset says is done when a batch's first row is the last one
	// delivered: the rows before the batch. A unit that starts at lo follows the unit that
	// ended at lo-1.
	var after []string
	if u.lo != nil {
		after = []string{strconv.FormatInt(*u.lo-1, 10)}
	}
	if t.resume != nil {
		// A blocking snapshot going on after a restart: the rows after its last key read.
		first = false
		for i, k := range t.resume {
			last[i] = []byte(k)
		}
		if lo, err := strconv.ParseInt(t.resume[0], 10, 64); u.lo == nil || (err == nil && lo >= *u.lo-1) {
			after = t.resume
		}
	}
	batchLast := make([][]byte, len(t.pkIdx)) // the key of the batch's last row
	b := takeSnapBatch(&s.snapMem, ncol)
	b.ts, b.after = time.Now().UnixMicro(), after
	var data int64 // b's row data bytes
	sn := u.sn
	// alone: Next waits for this unit and holds none of it, so this batch must go through
	// whatever the other readers hold (called under the budget's lock).
	alone := func() bool { return int(sn.head.Load()) == u.index && u.held.Load() == 0 }
	send := func() error {
		b.size, data = data+int64(len(b.vals))*int64(unsafe.Sizeof(capture.Value{})), 0
		if err := sn.budget.Acquire(ctx, b.size, alone); err != nil {
			return err
		}
		u.held.Add(b.size)
		b.last = nil // a reused batch's may be set
		if len(batchLast) > 0 {
			after = make([]string, len(batchLast))
			for i, k := range batchLast {
				after[i] = string(k)
			}
			b.last = after
		}
		select {
		case u.rows <- b:
		case <-ctx.Done():
			return ctx.Err()
		}
		b = takeSnapBatch(&s.snapMem, ncol)
		b.ts, b.after = time.Now().UnixMicro(), after
		return nil
	}
	for {
		params, conds = params[:0], conds[:0]
		if u.lo != nil {
			params = append(params, []byte(strconv.FormatInt(*u.lo, 10)))
			conds = append(conds, fmt.Sprintf("%s >= $%d", t.pk[0], len(params)))
		}
		if u.hi != nil {
			params = append(params, []byte(strconv.FormatInt(*u.hi, 10)))
			conds = append(conds, fmt.Sprintf("%s < $%d", t.pk[0], len(params)))
		}
		if !first {
			var ph []string
			for _, v := range last {
				params = append(params, v)
				ph = append(ph, fmt.Sprintf("$%d", len(params)))
			}
			conds = append(conds, fmt.Sprintf("(%s) > (%s)", strings.Join(t.pk, ", "), strings.Join(ph, ", ")))
		}
		if t.where != "" {
			conds = append(conds, "("+t.where+")") // a blocking snapshot's additional condition
		}
		q := "SELECT " + t.cols + " FROM " + t.from
		if len(conds) > 0 {
			q += " WHERE " + strings.Join(conds, " AND ")
		}
		if len(t.pk) > 0 {
			q += " ORDER BY " + strings.Join(t.pk, ", ") + " LIMIT " + strconv.Itoa(chunk)
		}
		rr := c.PgConn().ExecParams(ctx, q, params, nil, nil, t.formats)
		n := 0
		for rr.NextRow() {
			vals := rr.Values()
			for _, v := range vals {
				data += int64(len(v))
			}
			for j, i := range t.pkIdx {
				batchLast[j] = append(batchLast[j][:0], vals[i]...)
			}
			row := b.row(ncol)
			if err := t.decodeInto(row, b, vals); err != nil {
				rr.Close()
				return err
			}
			b.rows = append(b.rows, row)
			n++
			if len(b.rows) == snapBatchRows || data >= snapBatchMaxBytes {
				if err := send(); err != nil {
					rr.Close()
					return err
				}
			}
		}
		if _, err := rr.Close(); err != nil {
			var idle *idleError
			if errors.As(err, &idle) {
				return &QueryTimeoutError{What: "snapshot read of " + t.name, Timeout: idle.idle, Err: err}
			}
			return fmt.Errorf("postgres snapshot: read %s: %w", t.name, err)
		}
		if len(t.pk) == 0 || n < chunk {
			if len(b.rows) > 0 {
				return send()
			}
			return nil
		}
		first = false
		for j, k := range batchLast { // the chunk's last row is its last batch's
			last[j] = append(last[j][:0], k...)
		}
	}
}

// binary chooses the columns read in binary (decode_binary.go): those of a type with a binary
// decoder, except the key columns, whose text is the resume point (Position.SnapAfter) and the
// next chunk's lower bound.
func (t *snapTable) binary() {
	t.bins = make([]binKind, len(t.rel.decs))
	t.formats = nil
	for i, d := range t.rel.decs {
		o := t.rel.out[i]
		if o < 0 || slices.Contains(t.pkIdx, i) {
			continue
		}
		t.bins[i] = binaryKind(d, t.rel.table.Columns[o].Type)
	}
	for i, k := range t.bins {
		if k != binNone {
			if t.formats == nil {
				t.formats = make([]int16, len(t.bins))
			}
			t.formats[i] = 1
		}
	}
}

// decodeRow decodes one result row of t (columns in relation order, in the formats of
// t.formats) into a row of ncol values in memory of its own (alloc): vals die at the next row.
func (t *snapTable) decodeRow(alloc *capture.Alloc, vals [][]byte, ncol int) (capture.Row, error) {
	row := alloc.Row(ncol)
	return row, t.decodeInto(row, alloc, vals)
}

// byteCopier copies a value's bytes into memory that lives as long as its row.
type byteCopier interface{ Copy(b []byte) []byte }

// decodeInto decodes one result row of t into row (zero Values), copying the bytes a value
// keeps with mem.
func (t *snapTable) decodeInto(row capture.Row, mem byteCopier, vals [][]byte) error {
	out, decs, bins := t.rel.out, t.rel.decs, t.bins
	for i, v := range vals {
		o := out[i]
		if o < 0 || v == nil {
			continue
		}
		d := decs[i]
		if bins != nil && bins[i] != binNone {
			k := bins[i]
			if err := d.decodeBinary(k, &row[o], v); err != nil {
				return fmt.Errorf("postgres snapshot: %s column %s binary value %x: %w", t.name, t.rel.table.Columns[o].Name, v, err)
			}
			continue
		}
		b := v
		if d.aliases() {
			b = mem.Copy(v)
		}
		if err := d.decodeTo(&row[o], b); err != nil {
			return fmt.Errorf("postgres snapshot: %s column %s value %q: %w", t.name, t.rel.table.Columns[o].Name, v, err)
		}
	}
	return nil
}

// pull returns the next row in unit order and the time it was read.
func (sn *snapshot) pull(ctx context.Context) (capture.Row, *snapTable, int64, bool, error) {
	for {
		if sn.bi < len(sn.batch) {
			r := sn.batch[sn.bi]
			sn.bi++
			sn.pos = sn.batchPos
			if sn.bi == len(sn.batch) && sn.lastPos != nil {
				sn.pos = sn.lastPos
			}
			return r, sn.units[sn.cur].t, sn.batchTs, true, nil
		}
		if sn.cur >= len(sn.units) {
			return nil, nil, 0, false, nil
		}
		u := sn.units[sn.cur]
		if sn.held > 0 {
			// The batch handed out is done: its bytes go back before pull waits for the next,
			// so that u's reader, if it waits for the budget, may go through (alone).
			u.held.Add(-sn.held)
			sn.budget.Release(sn.held)
			sn.held = 0
		}
		select {
		case b, ok := <-u.rows:
			if !ok {
				if u.err != nil {
					return nil, nil, 0, false, u.err
				}
				sn.cur++
				sn.head.Store(int32(sn.cur))
				sn.budget.Wake()
				if sn.cur == len(sn.units) || sn.units[sn.cur].t != u.t {
					u.t.progress.Done.Store(true)
					sn.stats.RemainingTables.Add(-1)
				}
				continue
			}
			u.t.progress.Rows.Add(int64(len(b.rows)))
			sn.s.snapMem.HandOut(b)
			sn.batch, sn.bi = b.rows, 0
			sn.held = b.size
			// Two positions per batch: rows read together share their time and offset, which
			// says the rows before the batch are done (a restart re-reads at most the batches
			// in flight), so the rows before the last say they reread (capture.Rereader) and
			// the last one's says the batch is done: an exactly-once sink ends a transaction
			// there only. A keyless table has no progress to name: a restart reads it again
			// whole (its rows do not say so, or a transaction would hold the whole table).
			sn.batchTs = b.ts
			id := u.t.rel.table.ID
			sn.lastPos = nil
			if sn.base != nil {
				sn.batchPos, sn.lastPos = sn.blockingPos(u.t, b)
			} else {
				sn.batchPos = &Position{LSN: sn.lsn, TsMicros: b.ts, Snapshot: true, SnapSchema: id.Schema, SnapTable: id.Table, SnapAfter: b.after, SnapXids: sn.xids,
					SignalOffset: sn.s.sigNext, HasSignalOffset: sn.s.hasSigNext, Filters: sn.s.filters, rereads: b.last != nil}
				if b.last != nil {
					p := *sn.batchPos
					p.SnapAfter, p.rereads = b.last, false
					sn.lastPos = &p
				}
			}
		case <-ctx.Done():
			return nil, nil, 0, false, ctx.Err()
		}
	}
}

// next fills ev with the next snapshot event; done is true after the last one. Each row is
// held back until the next one is read, which says whether it was the last of its table (the
// markers); the held row's event is built once, in place.
func (sn *snapshot) next(ctx context.Context, ev *capture.Event) (done bool, err error) {
	for {
		row, t, ts, ok, err := sn.pull(ctx)
		if err != nil {
			return false, err
		}
		if !ok {
			if !sn.hasHeld {
				sn.stats.Running.Store(false)
				sn.stats.Completed.Store(true)
				sn.stats.EndedUnixNano.Store(time.Now().UnixNano())
				sn.s.log.Info("snapshot completed", "rows", sn.emitted, "tables", sn.stats.TotalTables.Load(), "seconds", time.Since(sn.start).Seconds())
				return true, nil
			}
			sn.release(nil, ev)
			return false, nil
		}
		if !sn.hasHeld {
			sn.hold(row, t, ts)
			continue
		}
		sn.release(t, ev)
		sn.hold(row, t, ts)
		return false, nil
	}
}

func (sn *snapshot) hold(row capture.Row, t *snapTable, ts int64) {
	sn.firstOfTable = sn.heldT != t
	sn.heldT, sn.heldRow, sn.heldTs, sn.heldPos = t, row, ts, sn.pos
	sn.hasHeld = true
}

// release fills ev with the held row's event and its marker; next is the table of the
// following row (nil at the end).
func (sn *snapshot) release(next *snapTable, ev *capture.Event) {
	t := sn.heldT
	var m capture.Snapshot
	switch {
	case next == nil:
		m = capture.SnapshotLast
	case sn.emitted == 0:
		m = capture.SnapshotFirst
	case next != t:
		m = capture.SnapshotLastInTable
	case sn.firstOfTable:
		m = capture.SnapshotFirstInTable
	default:
		m = capture.SnapshotTrue
	}
	sn.firstOfTable = false
	tab := t.rel.table
	pos := sn.heldPos
	if next == nil {
		p := *pos
		p.LastSnapshotRow = true
		pos = &p
	}
	*ev = capture.Event{Kind: capture.Change, Op: capture.OpRead, Table: tab, After: sn.heldRow, Position: pos,
		Source: capture.Source{Connector: "postgresql", DB: sn.s.dbName, Schema: tab.ID.Schema, Table: tab.ID.Table, TsMicros: sn.heldTs,
			LSN: sn.lsn, HasLSN: true, Snapshot: m}}
	sn.emitted++
	t.done++
	sn.hasHeld = false
	if next != t {
		sn.s.log.Info("snapshot table done", "table", tab.ID.String(), "rows", t.done)
	} else if t.done%4096 == 0 && time.Since(sn.lastLog) > 10*time.Second {
		sn.lastLog = time.Now()
		sn.s.log.Info("snapshot progress", "table", tab.ID.String(), "rows", t.done, "estimate", t.estimate)
	}
}

func (sn *snapshot) close() {
	if sn.stats != nil && sn.stats.Running.Load() {
		sn.stats.Running.Store(false)
		sn.stats.Aborted.Store(true)
	}
	if sn.cancel != nil {
		sn.cancel()
	}
	// Unblock workers waiting to send.
	for _, u := range sn.units {
		if u.rows != nil {
			go func(ch chan *snapBatch) {
				for range ch {
				}
			}(u.rows)
		}
	}
	sn.wg.Wait()
	sn.budget.Reset()
	sn.s.snapMem.Reset() // the free batches are not kept after the snapshot
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, c := range sn.conns {
		c.Close(ctx)
	}
	sn.conns = nil
	if sn.export != nil {
		sn.export.Close(ctx)
		sn.export = nil
	}
	sn.units = nil
}

// testHookUnitRead, set by tests, runs in a snapshot reader before it reads a unit.
var testHookUnitRead func(t *snapTable)

// checkNotRewritten locks t (ACCESS SHARE, as its read does anyway: from here on no rewrite
// can run until the transaction ends) and fails, retryable (ErrTableRewritten), when its files
// (or a partition's) are not those the snapshot's catalog names. A rewrite committed after
// the snapshot began (ALTER TABLE … TYPE, TRUNCATE, VACUUM FULL, CLUSTER) gave the table new
// files, and a read through the older snapshot reads those: the rows ALTER … TYPE wrote again
// are new versions it does not see, so the table looks empty, and the rewrite streams no row.
// Reopened, the source resumes the snapshot and reads the rest as the table is now (chunk.go).
func checkNotRewritten(ctx context.Context, c *pgx.Conn, t *snapTable) error {
	// c.relfilenode is the snapshot's catalog row; pg_relation_filenode reads the current one.
	q := `SELECT coalesce(array_agg(c.oid::regclass::text), '{}') FROM pg_class c
WHERE c.oid = $1::regclass AND c.relkind <> 'p' AND pg_relation_filenode(c.oid) IS DISTINCT FROM c.relfilenode`
	if t.root {
		q = `SELECT coalesce(array_agg(c.oid::regclass::text), '{}') FROM pg_class c
WHERE c.oid IN (SELECT relid FROM pg_partition_tree($1::regclass)) AND c.relkind <> 'p' AND pg_relation_filenode(c.oid) IS DISTINCT FROM c.relfilenode`
	}
	// One round trip (a snapshot of 10,000 small tables pays it 10,000 times).
	var b pgx.Batch
	b.Queue("LOCK TABLE " + t.from + " IN ACCESS SHARE MODE")
	b.Queue(q, t.name)
	br := c.SendBatch(ctx, &b)
	var changed []string
	if _, err := br.Exec(); err != nil {
		br.Close()
		return fmt.Errorf("postgres snapshot: lock %s: %w", t.name, err)
	}
	if err := br.QueryRow().Scan(&changed); err != nil {
		br.Close()
		return fmt.Errorf("postgres snapshot: read the files of %s: %w", t.name, err)
	}
	if err := br.Close(); err != nil {
		return fmt.Errorf("postgres snapshot: check %s: %w", t.name, err)
	}
	if len(changed) > 0 {
		return retryable{fmt.Errorf("%w: %s (%s): read through the snapshot it may look empty; reopening the source resumes the snapshot and reads the rest as the table is now",
			ErrTableRewritten, t.name, strings.Join(changed, ", "))}
	}
	return nil
}

// names are the tables' names as their queries spell them (snapTable.name).
func names(ts []*snapTable) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.name
	}
	return out
}
