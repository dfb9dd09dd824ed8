package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/sluicecdc/sluice/envelope"
)

// table is the sink's view of one target table.
type table struct {
	name       string // the table that holds the rows (see layout)
	view       string // the view of the current rows under the table's own name; "" when name is it
	exists     bool
	cols       map[string]string // column → type, from DESCRIBE
	order      []string
	keys       []string // ORDER BY columns as created (or as the records say)
	maxVersion uint64
	binds      map[*envSchema]*binding
	schemaless *binding
	toast      bool // track keys per row: unchanged-TOAST values seen in this table
	queued     bool // in Sink.order
	batch      *tableBatch
	// twins counts, for a table with _row_id, the rows of version twinsAt by image hash, so that
	// identical rows at one position get different _row_ids (see rowID).
	twins     map[uint64]uint32
	twinsAt   uint64
	twinsFrom uint64 // the upstream session (Sink.SetOrigin) of the rows counted
	// reads counts the snapshot reads (op r) of a table with _row_id by image hash since the
	// upstream session readsFrom began (see readRowID).
	reads     map[uint64]uint32
	readsFrom uint64
	warned    bool // the keyless-layout warning was logged
}

// maxTableSchemas bounds the bindings a table keeps, one per record schema seen for it.
const maxTableSchemas = 64

// maxTwins bounds the identical-row counter of a keyless table (about 2 MB). Past it the counter
// starts over: identical rows of one position that far apart then share a _row_id.
const maxTwins = 1 << 16

// rowID is the _row_id of a row of a keyless table: the hash of its row image, plus k for the
// k-th identical image at the same version, so that every row of a snapshot or of a multi-row
// statement (one position for all) is kept, identical rows included. A replayed row has the
// same version and image, and, replayed in the same order as its first copy (replays start at a
// position and re-send what follows), the same k, so it collapses with that copy instead of
// adding a row. The count also starts over when the upstream session changes (origin, see
// Sink.SetOrigin): a restarted upstream re-sends from its stored offset, so a row of the new
// session at the version counted is a replay of one counted before, not one more twin (without
// this, a replay that followed its first copy with no other version of the table in between
// was counted on, got k = 1, and stayed in ClickHouse twice).
//
// A streamed row with a place (at, change.rowAt: a binlog row's file, position and row index;
// a PostgreSQL row's LSN and ordinal at that LSN) gets its _row_id from the place, not from a
// count: the image's hash mixed with the place. A row read again, by a restarted upstream, by
// this consumer after its partition came back (a rebalance, a broker restart), or by a new
// sink whose source resumed between two identical rows, gets its first copy's id whatever
// came before it in this process, and an identical row at another place another id. (A count
// kept by place held only while this process lived: a sink restarted between two identical
// rows counted the second from zero and gave it the first one's id.)
func (t *table) rowID(version, sum, origin, at uint64) uint64 {
	if at != 0 {
		return sum ^ mixPlace(at)
	}
	if t.twins == nil || t.twinsAt != version || t.twinsFrom != origin || len(t.twins) >= maxTwins {
		clear(t.twins)
		if t.twins == nil {
			t.twins = map[uint64]uint32{}
		}
		t.twinsAt, t.twinsFrom = version, origin
	}
	k := t.twins[sum]
	t.twins[sum] = k + 1
	return sum + uint64(k)
}

// readVersion is the _version of the snapshot reads (op r) of a table without a key that
// readRowID counts: one version for all of them, whichever attempt read them.
const readVersion = 0

// readSalt sets the _row_ids of counted snapshot reads apart from those of other rows at
// version 0 (records without a source position).
const readSalt = 0x6b65796c65737372 // "keylessr"

// maxReads bounds the distinct images readRowID counts per table (about 20 MB). Reads of
// further images keep their position's version (see readRowID).
var maxReads = 1 << 20

// readRowID is the _row_id of a snapshot read (op r) of a table without a key: the hash of its
// image plus k for its k-th identical image among the table's reads of this snapshot, at
// readVersion. A snapshot interrupted in such a table reads it again from its start on resume
// (PostgreSQL: in ctid ranges, each at its window's position; MySQL/MariaDB: whole, at the
// resumed snapshot's position), so versioned by position its rows were stored once per attempt
// (every row the first attempt delivered twice). Versioned alike and counted from zero in each
// attempt (a new attempt is a new sink, or a new upstream session in `sluice clickhouse`, and
// begins with the table's first read, source.snapshot "first" or "first_in_data_collection"),
// the k identical rows the first attempt delivered get the ids of the first k of the new
// attempt's, whatever order either read them in: the table ends with each row once and each
// twin as often as the source has it. A later snapshot of the table (a blocking snapshot
// signal) gives the same ids again. Unlike rowID the count does not start over at rows of other
// versions: a resumed snapshot's reads come between streamed changes of the same table.
//
// counted is false for a new image once maxReads images are counted: the row then gets its
// id from rowID at its position's version, as before, so a resume stores it again, but no two
// rows of the table ever share an id (starting the count over would give a twin far from its
// first copy that copy's id, and lose it).
func (t *table) readRowID(sum, origin uint64) (id uint64, counted bool) {
	if t.reads == nil || t.readsFrom != origin {
		clear(t.reads)
		if t.reads == nil {
			t.reads = map[uint64]uint32{}
		}
		t.readsFrom = origin
	}
	k, ok := t.reads[sum]
	if !ok && len(t.reads) >= maxReads {
		return 0, false
	}
	t.reads[sum] = k + 1
	return (sum + uint64(k)) ^ readSalt, true
}

// mixPlace spreads a place over 64 bits (the splitmix64 finalizer, a bijection), so that two
// places give two ids for one image and ids of distinct images stay as far apart as hashes.
func mixPlace(at uint64) uint64 {
	at ^= at >> 30
	at *= 0xbf58476d1ce4e5b9
	at ^= at >> 27
	at *= 0x94d049bb133111eb
	return at ^ at>>31
}

// binding is how the rows of one record schema are written into the table as it is now.
type binding struct {
	cols  []column
	index map[string]int
	// pos[j] is the column of the j-th member of the newest row (-1: none): rows of one
	// schema repeat their member order, so a key compare replaces the map lookup.
	pos     []int
	keyIdx  []int
	noSchem bool
	rowID   bool        // the table has a _row_id column (tables without a key)
	spare   *tableBatch // an inserted batch, emptied, for the next one (Sink.recycle)
}

// tableBatch holds a table's pending rows column-wise.
type tableBatch struct {
	bind     *binding
	bufs     []colBuf
	versions []uint64
	deleted  []uint8
	sums     []uint64 // per row: hash of the row image it was built from (the dedup token's input)
	rowIDs   []uint64 // with bind.rowID
	tsMs     int64
	raws     [][]byte
	keyRow   map[string]int // with toast: key → its latest row in this batch (stream order)
	// prevRow (with toast), per row: the row of the same key before it in this batch, or -1.
	// A key's records are in stream order but not always in version order (a source re-sends
	// what follows its last confirmed position), so a placeholder's predecessor is found by
	// walking back to the first row that is not newer (see predecessor).
	prevRow []int
	fixups  []fixup
	// unresolved: row·len(cols)+col → index in fixups of every value that waits for
	// ClickHouse, so that a later placeholder of the same key copies no empty slot but joins
	// its chain.
	unresolved map[int]int
	// carried (with toast): the rows that are the delete of a primary-key change's old key,
	// whose String columns carry that key's last values (see appendRow).
	carried map[int]bool
}

// fixup is an unchanged-TOAST value that waits for ClickHouse. Fixups of one key and column
// linked by predecessor form a chain (root: the index in fixups of its first one): a stretch
// of the key's history in which the column did not change, so they all get one value.
type fixup struct {
	row, col int
	key      []string // key column values as text
	root     int
	// old (a root only): the old key of a row created by a primary-key change, whose
	// predecessor is that key's row before the change (see resolveToast).
	old     []string
	oldSeen bool // the old key's delete was in the batch
}

func (b *tableBatch) rows() int { return len(b.versions) }

func (b *tableBatch) reset() {
	for _, c := range b.bufs {
		c.truncate(0)
	}
	b.versions = b.versions[:0]
	b.deleted = b.deleted[:0]
	b.sums = b.sums[:0]
	b.rowIDs = b.rowIDs[:0]
	b.tsMs = 0
	b.keyRow = nil
	b.prevRow = b.prevRow[:0]
	b.fixups = b.fixups[:0]
	b.unresolved = nil
	b.carried = nil
}

func newBatch(bd *binding) *tableBatch {
	b := &tableBatch{bind: bd, raws: make([][]byte, len(bd.cols))}
	for _, c := range bd.cols {
		b.bufs = append(b.bufs, c.newBuf())
	}
	return b
}

var errToastFlush = errors.New("flush before tracking unchanged-TOAST values")

// table returns the state of a table, reading its columns from the server on first sight.
func (s *Sink) table(ctx context.Context, name string) (*table, error) {
	if t, ok := s.tables[name]; ok {
		return t, nil
	}
	t := &table{name: name, binds: map[*envSchema]*binding{}}
	if err := s.layout(ctx, t, name); err != nil {
		return nil, err
	}
	if err := s.describe(ctx, t); err != nil {
		return nil, err
	}
	if _, ok := t.cols["_version"]; ok {
		// the newest version already applied: an older record seen after a restart must not
		// drop columns added since (see bind)
		err := s.retry(ctx, "read max(_version) of "+name, func(ctx context.Context) error {
			return s.conn.QueryRow(ctx, "SELECT max(`_version`) FROM "+s.db+"."+quoteIdent(t.name)).Scan(&t.maxVersion)
		})
		if err != nil {
			return nil, err
		}
	}
	if err := s.ensureView(ctx, t); err != nil { // missing or stale after a crash between ALTER and view
		return nil, err
	}
	s.tables[name] = t
	return t, nil
}

// describe reloads the table's columns (DESCRIBE TABLE); a missing table leaves exists false.
func (s *Sink) describe(ctx context.Context, t *table) error {
	var exists uint8
	err := s.retry(ctx, "describe "+t.name, func(ctx context.Context) error {
		return s.conn.QueryRow(ctx, "EXISTS TABLE "+s.db+"."+quoteIdent(t.name)).Scan(&exists)
	})
	if err != nil {
		return err
	}
	t.cols, t.order, t.exists = map[string]string{}, nil, exists == 1
	if !t.exists {
		return nil
	}
	return s.retry(ctx, "describe "+t.name, func(ctx context.Context) error {
		rows, err := s.conn.Query(ctx, "SELECT name, type FROM system.columns WHERE database = "+
			quoteString(s.cfg.Database)+" AND table = "+quoteString(t.name))
		if err != nil {
			return err
		}
		defer rows.Close()
		cols, order := map[string]string{}, []string(nil)
		for rows.Next() {
			var n, ty string
			if err := rows.Scan(&n, &ty); err != nil {
				return err
			}
			cols[n] = ty
			order = append(order, n)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		t.cols, t.order = cols, order
		return nil
	})
}

func isMeta(name string) bool {
	return name == "_version" || name == "_is_deleted" || name == "_row_id"
}

// bind finds or builds the binding of c's schema to table t, creating or altering the table
// first when needed (at a batch boundary: everything pending is flushed before any DDL).
func (s *Sink) bind(ctx context.Context, t *table, c *change) (*binding, error) {
	if c.schema == nil {
		return s.bindSchemaless(ctx, t, c)
	}
	if b, ok := t.binds[c.schema]; ok {
		return s.use(ctx, t, b)
	}
	// The cache may have evicted this schema and read it again: the same bytes keep their
	// binding (a new one would force a flush of the table's batch, and pile up).
	for old, b := range t.binds {
		if string(old.valueSchema) == string(c.schema.valueSchema) && string(old.keySchema) == string(c.schema.keySchema) {
			delete(t.binds, old)
			t.binds[c.schema] = b
			return s.use(ctx, t, b)
		}
	}
	if len(t.binds) >= maxTableSchemas {
		clear(t.binds) // old schema versions of this table: rebuilt if they come back
	}
	e := c.schema
	if e.err != nil {
		return nil, e.err
	}
	keys := e.keys
	if keys == nil && c.key != nil {
		keys, _ = keyNames(c.key)
	}
	created := !t.exists
	if created {
		if err := s.flushLocked(ctx); err != nil {
			return nil, err
		}
		if err := s.create(ctx, t, e.cols, keys); err != nil {
			return nil, err
		}
	}
	// Compare the record's columns with the table's and plan the ALTERs.
	var ddl []alter
	cols := make([]column, len(e.cols))
	var incompatible []string
	prev := ""
	for i, col := range e.cols {
		cols[i] = col
		have, ok := t.cols[col.name]
		want := col.chType()
		switch {
		case !ok:
			q := "ALTER TABLE " + s.db + "." + quoteIdent(t.name) + " ADD COLUMN " + quoteIdent(col.name) + " " + want
			if d, ok := col.defaultSQL(); ok {
				q += " DEFAULT " + d
			}
			if prev != "" {
				q += " AFTER " + quoteIdent(prev)
			}
			ddl = append(ddl, alter{q, col.name, want})
		case have == want:
		case sameBase(have, want) && widens(want, have):
			// e.g. the table is Nullable(T), the record not: write with the table's wrapping
			b, n, a, in, _ := splitType(have)
			_ = b
			cols[i].nullable, cols[i].array, cols[i].itemsNullable = n, a, in
		case widens(have, want):
			q := "ALTER TABLE " + s.db + "." + quoteIdent(t.name) + " MODIFY COLUMN " + quoteIdent(col.name) + " " + want
			if d, ok := col.defaultSQL(); ok { // without it, MODIFY drops the column's default
				q += " DEFAULT " + d
			}
			ddl = append(ddl, alter{q, col.name, want})
		case widens(want, have):
			// an older record, written before the column was widened: use the table's type
			dc, err := describedColumn(col.name, have)
			if err != nil {
				incompatible = append(incompatible, fmt.Sprintf("%s: %v", col.name, err))
				break
			}
			cols[i] = dc
		default:
			incompatible = append(incompatible, fmt.Sprintf("column %s is %s in ClickHouse but %s in the record", col.name, have, want))
		}
		prev = col.name
	}
	if len(incompatible) > 0 {
		return nil, fmt.Errorf("%w in table %s: %s (ALTER the table by hand, then replay the parked records)",
			ErrIncompatible, t.name, strings.Join(incompatible, "; "))
	}
	if !s.cfg.KeepDroppedColumns && c.version > t.maxVersion {
		inRec := map[string]bool{}
		for _, col := range e.cols {
			inRec[col.name] = true
		}
		isKey := map[string]bool{}
		for _, k := range keys {
			isKey[k] = true
		}
		for _, n := range t.order {
			if !inRec[n] && !isMeta(n) && !isKey[n] {
				ddl = append(ddl, alter{"ALTER TABLE " + s.db + "." + quoteIdent(t.name) + " DROP COLUMN " + quoteIdent(n), n, ""})
			}
		}
	}
	if len(ddl) > 0 {
		if err := s.flushLocked(ctx); err != nil {
			return nil, err
		}
		for _, a := range ddl {
			if err := s.exec(ctx, a.sql, func(ctx context.Context) bool { return s.altered(ctx, t.name, a) }); err != nil {
				return nil, err
			}
		}
		if err := s.waitColumns(ctx, t, cols); err != nil {
			return nil, err
		}
		// the table changed: every cached binding is stale
		t.binds = map[*envSchema]*binding{}
		t.schemaless = nil
	}
	if created || len(ddl) > 0 {
		if err := s.ensureView(ctx, t); err != nil {
			return nil, err
		}
	}
	b := newBinding(cols, keys)
	s.setRowID(t, b)
	t.binds[c.schema] = b
	return s.use(ctx, t, b)
}

// setRowID writes _row_id when the table has it. A table without a key made by an older sluice
// (ORDER BY _version alone) keeps one row per source position: say so once, loudly.
func (s *Sink) setRowID(t *table, b *binding) {
	_, b.rowID = t.cols["_row_id"]
	if !b.rowID && len(b.keyIdx) == 0 && !t.warned {
		if _, ok := t.cols["_version"]; ok {
			t.warned = true
			s.log.Error("clickhouse table without a key and without _row_id: rows that share a source position (a snapshot, a multi-row statement) collapse into one; recreate the table (DROP TABLE, then re-snapshot) so that sluice creates it ordered by (_version, _row_id)",
				"table", t.name)
		}
	}
}

func sameBase(a, b string) bool {
	ab, _, _, _, e1 := splitType(a)
	bb, _, _, _, e2 := splitType(b)
	return e1 == nil && e2 == nil && ab == bb
}

func newBinding(cols []column, keys []string) *binding {
	b := &binding{cols: cols, index: make(map[string]int, len(cols)), pos: make([]int, len(cols)+4)}
	for i, c := range cols {
		b.index[c.name] = i
	}
	for j := range b.pos {
		b.pos[j] = -1
	}
	for _, k := range keys {
		if i, ok := b.index[k]; ok {
			b.keyIdx = append(b.keyIdx, i)
		}
	}
	return b
}

// use makes b the binding of t's pending batch, flushing first if the batch uses another one.
func (s *Sink) use(ctx context.Context, t *table, b *binding) (*binding, error) {
	if t.batch != nil && t.batch.bind == b {
		return b, nil
	}
	if t.batch != nil && t.batch.rows() > 0 {
		if err := s.flushLocked(ctx); err != nil {
			return nil, err
		}
	}
	t.batch = newBatch(b)
	return b, nil
}

// waitColumns polls the table until every column of cols is visible with its type.
func (s *Sink) waitColumns(ctx context.Context, t *table, cols []column) error {
	for i := 0; ; i++ {
		if err := s.describe(ctx, t); err != nil {
			return err
		}
		missing := ""
		for _, c := range cols {
			if _, ok := t.cols[c.name]; !ok {
				missing = c.name
				break
			}
		}
		if missing == "" {
			return nil
		}
		if i == 100 {
			return fmt.Errorf("column %s of table %s not visible after ALTER TABLE", missing, t.name)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// create creates the table from the record's columns: ReplacingMergeTree ordered by the key.
func (s *Sink) create(ctx context.Context, t *table, cols []column, keys []string) error {
	if err := s.exec(ctx, createTableSQL(s.db, t.name, cols, keys, s.modern), nil); err != nil {
		return err
	}
	t.keys = keys
	return s.waitColumns(ctx, t, cols)
}

// createTableSQL is the CREATE TABLE statement of a table (db already quoted).
func createTableSQL(db, name string, cols []column, keys []string, modern bool) string {
	var defs []string
	isKey := map[string]bool{}
	for _, k := range keys {
		isKey[k] = true
	}
	for _, c := range cols {
		if isKey[c.name] {
			c.nullable = false // ClickHouse sorting keys cannot be Nullable
		}
		defs = append(defs, quoteIdent(c.name)+" "+c.chType())
	}
	defs = append(defs, "`_version` UInt64", "`_is_deleted` UInt8")
	// Tables without a key are a log of changes. Many rows share a version (a snapshot, a
	// multi-row statement), so _row_id (see table.rowID) keeps them apart while a replayed row
	// still collapses with its first copy.
	order := "(`_version`, `_row_id`)"
	if len(keys) == 0 {
		defs = append(defs, "`_row_id` UInt64")
	} else {
		q := make([]string, len(keys))
		for i, k := range keys {
			q[i] = quoteIdent(k)
		}
		order = "(" + strings.Join(q, ", ") + ")"
	}
	engine := "ReplacingMergeTree(`_version`)"
	settings := ""
	if modern {
		engine = "ReplacingMergeTree(`_version`, `_is_deleted`)"
		settings = " SETTINGS non_replicated_deduplication_window = 1000"
	}
	return "CREATE TABLE IF NOT EXISTS " + db + "." + quoteIdent(name) + " (" + strings.Join(defs, ", ") +
		") ENGINE = " + engine + " ORDER BY " + order + settings
}

// bindSchemaless binds records without schemas to the table's current columns.
func (s *Sink) bindSchemaless(ctx context.Context, t *table, c *change) (*binding, error) {
	if !t.exists {
		// The user may have created the table since: look again where the rows go.
		name := t.name
		if t.view != "" {
			name = t.view
		}
		t.name, t.view = name, ""
		if err := s.layout(ctx, t, name); err != nil {
			return nil, err
		}
		if err := s.describe(ctx, t); err != nil {
			return nil, err
		}
		if !t.exists {
			return nil, fmt.Errorf("%w (table %s)", ErrNoSchema, t.name)
		}
		if err := s.ensureView(ctx, t); err != nil {
			return nil, err
		}
	}
	if t.schemaless == nil {
		var cols []column
		for _, n := range t.order {
			if isMeta(n) {
				continue
			}
			col, err := describedColumn(n, t.cols[n])
			if err != nil {
				return nil, err
			}
			cols = append(cols, col)
		}
		keys := t.keys
		if keys == nil && c.key != nil {
			keys, _ = keyNames(c.key)
		}
		t.schemaless = newBinding(cols, keys)
		t.schemaless.noSchem = true
		s.setRowID(t, t.schemaless)
	}
	return s.use(ctx, t, t.schemaless)
}

// appendChange appends the rows of one change: new versions for c/r/u, a deleted version of
// the old key when an update changed the key, a deleted version for d.
func (s *Sink) appendChange(ctx context.Context, t *table, b *binding, c *change) error {
	s.rowAt = c.rowAt
	switch c.op {
	case 'c', 'r':
		if c.after == nil {
			return fmt.Errorf("op %c without after", c.op)
		}
		if c.op == 'r' && b.rowID {
			s.read = true // see readRowID
			if c.firstRead {
				clear(t.reads)
			}
		}
		err := s.appendRow(t, c.after, c.afterF, false, c.version, c.oldKey, nil, false)
		s.read = false
		if err != nil {
			return err
		}
		if c.lastRead {
			t.reads = nil // the snapshot of the table is read: free the count
		}
	case 'u':
		if c.after == nil {
			return errors.New("op u without after")
		}
		start := t.batch.rows()
		var old []byte // the old key's row when the update changed the key
		var oldF []rawField
		if c.before != nil && len(b.keyIdx) > 0 {
			changed, err := keyChanged(b, c)
			if err != nil {
				return err
			}
			if changed {
				if err := s.appendRow(t, c.before, c.beforeF, true, c.version, nil, nil, true); err != nil {
					return err
				}
				old, oldF = c.before, c.beforeF
			}
		}
		if err := s.appendRow(t, c.after, c.afterF, false, c.version, old, oldF, false); err != nil {
			if t.batch.rows() > start { // drop the delete of the old key appended above
				t.batch.truncateRows(start)
				s.rows--
			}
			return err
		}
	case 'd':
		row, fields := c.before, c.beforeF
		if row == nil {
			row, fields = c.key, nil // no old row image: the key identifies the deleted row
		}
		if row == nil {
			return errors.New("delete without before image or key (REPLICA IDENTITY NOTHING?)")
		}
		if err := s.appendRow(t, row, fields, true, c.version, nil, nil, c.moved); err != nil {
			return err
		}
	}
	if c.version > t.maxVersion {
		t.maxVersion = c.version
	}
	return nil
}

func (b *tableBatch) truncateRows(n int) {
	if n < 0 || n >= b.rows() {
		return
	}
	for _, c := range b.bufs {
		c.truncate(n)
	}
	b.versions = b.versions[:n]
	b.deleted = b.deleted[:n]
	b.sums = b.sums[:n]
	if b.bind.rowID {
		b.rowIDs = b.rowIDs[:n]
	}
	if len(b.prevRow) > n { // point no key at a dropped row
		for k, r := range b.keyRow {
			for r >= n {
				r = b.prevRow[r]
			}
			if r < 0 {
				delete(b.keyRow, k)
			} else {
				b.keyRow[k] = r
			}
		}
		b.prevRow = b.prevRow[:n]
	}
	for r := range b.carried {
		if r >= n {
			delete(b.carried, r)
		}
	}
	for len(b.fixups) > 0 && b.fixups[len(b.fixups)-1].row >= n {
		f := b.fixups[len(b.fixups)-1]
		delete(b.unresolved, f.row*len(b.bufs)+f.col)
		b.fixups = b.fixups[:len(b.fixups)-1]
	}
}

// predecessor is the row in the batch whose value an unchanged-TOAST value of key at version
// carries, or -1 (then it is in ClickHouse, or nowhere): walking back from the key's latest
// row, the first one not newer than version. The rows of a key arrive as stretches of its
// history, each in order and each starting no later than just after the one before (a re-send
// starts at or before the first change not yet confirmed), so that row is the change right
// before this one, or a copy of this one.
func (b *tableBatch) predecessor(key string, version uint64) int {
	r, ok := b.keyRow[key]
	if !ok {
		return -1
	}
	for r >= 0 && b.versions[r] > version {
		r = b.prevRow[r]
	}
	return r
}

// carrier is the row in the batch whose value an unchanged-TOAST value of key at version
// carries, or -1. Without old it is key's predecessor. A row created by a primary-key change
// (old: its old key) first appears at version, where its placeholders stand for the old key's
// values: it carries from a copy of itself (a replay), else from the old key's last row before
// version, past the delete of that key at version (a delete has no values). An earlier row of
// key itself is an earlier life of that key, never the carrier. seen reports that the old key's delete at version (or a later row) is in the batch, so its
// earlier rows are in the batch or in ClickHouse.
func (b *tableBatch) carrier(key, old string, version uint64) (r int, seen bool) {
	r = b.predecessor(key, version)
	if old == "" || r >= 0 && b.versions[r] == version && b.deleted[r] == 0 {
		return r, false
	}
	r, ok := b.keyRow[old]
	if !ok || b.versions[r] < version {
		// The old key's delete at version is not in the batch: it may be in ClickHouse, or
		// (the old key on another Kafka partition) not read yet; resolveToast tells which.
		return -1, false
	}
	for r >= 0 && b.versions[r] > version {
		r = b.prevRow[r]
	}
	if r >= 0 && b.versions[r] == version && b.carried[r] {
		return r, true // the old key's delete, which carries its last values
	}
	for r >= 0 && b.versions[r] >= version {
		r = b.prevRow[r]
	}
	if r >= 0 && b.deleted[r] != 0 {
		return -1, true // not the old key's history before the change: ask ClickHouse
	}
	return r, true
}

// oldKeyOf reads the key columns of bd from old (a row or a key object, also inside a
// "payload" member as a JSON header converter writes it; members oldF, or nil) as keyString
// and keyTexts put them; "" when old lacks one: the old key is then unknown, as without it.
func oldKeyOf(bd *binding, old []byte, oldF []rawField) (string, []string) {
	if oldF == nil {
		if p, err := fieldOf(old, "payload"); err == nil && len(p) > 0 && p[0] == '{' {
			old = p
		}
	}
	raws := make([][]byte, len(bd.cols))
	for _, i := range bd.keyIdx {
		v, err := memberOf(old, oldF, bd.cols[i].name)
		if err != nil || v == nil || isNull(v) {
			return "", nil
		}
		raws[i] = v
	}
	return keyString(raws, bd.keyIdx), keyTexts(raws, bd.keyIdx)
}

// hasHeader reports whether a record has the header key.
func hasHeader(hs []envelope.Header, key string) bool {
	for _, h := range hs {
		if h.Key == key {
			return true
		}
	}
	return false
}

// oldKeyHeader is the __debezium.oldkey header of a record (nil without).
func oldKeyHeader(hs []envelope.Header) []byte {
	for _, h := range hs {
		if h.Key == envelope.HeaderOldKey {
			return h.Value
		}
	}
	return nil
}

func keyChanged(b *binding, c *change) (bool, error) {
	for _, i := range b.keyIdx {
		name := b.cols[i].name
		x, err := memberOf(c.before, c.beforeF, name)
		if err != nil {
			return false, err
		}
		y, err := memberOf(c.after, c.afterF, name)
		if err != nil {
			return false, err
		}
		if x != nil && y != nil && string(x) != string(y) {
			return true, nil
		}
	}
	return false, nil
}

// memberOf returns the raw value of key in the row object row, from its members when they
// were read already (fields), or nil.
func memberOf(row []byte, fields []rawField, key string) ([]byte, error) {
	if fields == nil {
		return fieldOf(row, key)
	}
	for _, f := range fields {
		if string(f.k) == key {
			return f.v, nil
		}
	}
	return nil, nil
}

// column returns the column of the j-th member of a row, named k; ok is false when the
// binding has no such column.
func (bd *binding) column(j int, k []byte) (int, bool) {
	if j < len(bd.pos) {
		if i := bd.pos[j]; i >= 0 && bd.cols[i].name == string(k) {
			return i, true
		}
	}
	i, ok := bd.index[string(k)]
	if ok && j < len(bd.pos) {
		bd.pos[j] = i
	}
	return i, ok
}

// appendRow converts one row object into the batch; on error nothing is appended. fields are
// row's members when parseChange read them already (nil: appendRow reads row). old (members
// oldF, or nil) holds the old key of a row that a primary-key change created: its
// unchanged-TOAST values are carried from that key (see carrier).
//
// moved marks the delete of such a change's old key. Its String columns carry the key's last
// values, as a placeholder would: the new key's placeholders take them from there. A merge
// keeps only a key's newest row, so once this delete is in ClickHouse the old key's earlier
// rows may be gone, while the new key's create is not there yet (the batch ended between the
// two and sluice stopped, or the new key's records are on another Kafka partition).
func (s *Sink) appendRow(t *table, row []byte, fields []rawField, deleted bool, version uint64, old []byte, oldF []rawField, moved bool) error {
	b := t.batch
	bd := b.bind
	raws := b.raws
	for i := range raws {
		raws[i] = nil
	}
	var err error
	if fields != nil {
		for j := range fields {
			f := &fields[j]
			i, ok := bd.column(j, f.k)
			if !ok {
				if bd.noSchem {
					return fmt.Errorf("field %q has no column in table %s (records without schemas: add the column, then replay the parked records)", f.k, t.name)
				}
				continue
			}
			raws[i] = f.v
		}
	} else {
		j := 0
		err = eachField(row, func(k, v []byte) error {
			i, ok := bd.column(j, k)
			j++
			if !ok {
				if bd.noSchem {
					return fmt.Errorf("field %q has no column in table %s (records without schemas: add the column, then replay the parked records)", k, t.name)
				}
				return nil
			}
			raws[i] = v
			return nil
		})
		if err != nil {
			return err
		}
	}
	n := b.rows()
	carry := moved && deleted && len(bd.keyIdx) > 0
	if carry && !t.toast {
		return errToastFlush // track keys first: nothing appended yet
	}
	var key, oldKey string
	var oldTexts []string
	if t.toast && len(bd.keyIdx) > 0 {
		key = keyString(raws, bd.keyIdx)
		if old != nil && !deleted {
			oldKey, oldTexts = oldKeyOf(bd, old, oldF)
		}
	}
	for i, raw := range raws {
		if carry && isStringBuf(b.bufs[i]) && !slices.Contains(bd.keyIdx, i) {
			// The key's last value: from the batch, or (waiting) from ClickHouse; without
			// one anywhere the delete keeps its own.
			r := b.predecessor(key, version)
			if r >= 0 && !b.waits(r, i) {
				b.bufs[i].appendCopy(r)
				continue
			}
			root := len(b.fixups)
			if r >= 0 {
				root = b.fixups[b.unresolved[r*len(raws)+i]].root
			}
			if b.unresolved == nil {
				b.unresolved = map[int]int{}
			}
			b.unresolved[n*len(raws)+i] = len(b.fixups)
			b.fixups = append(b.fixups, fixup{row: n, col: i, key: keyTexts(raws, bd.keyIdx), root: root})
		}
		if raw != nil && !deleted && isPlaceholder(raw) {
			if len(bd.keyIdx) == 0 {
				err = fmt.Errorf("column %s: unchanged-TOAST placeholder in a table without key", bd.cols[i].name)
			} else if !t.toast {
				err = errToastFlush
			} else if r, seen := b.carrier(key, oldKey, version); r >= 0 && !b.waits(r, i) {
				b.bufs[i].appendCopy(r)
				continue
			} else {
				// No predecessor in this batch (a chain of its own), or one that waits for
				// ClickHouse itself (its chain: the same value).
				root := len(b.fixups)
				f := fixup{row: n, col: i, key: keyTexts(raws, bd.keyIdx)}
				if r >= 0 {
					root = b.fixups[b.unresolved[r*len(raws)+i]].root
				} else if oldKey != "" {
					f.old, f.oldSeen = oldTexts, seen // a chain of its own: read under the old key
				}
				f.root = root
				if b.unresolved == nil {
					b.unresolved = map[int]int{}
				}
				b.unresolved[n*len(raws)+i] = len(b.fixups)
				b.fixups = append(b.fixups, f)
				raw = nil
			}
			if err != nil {
				break
			}
		}
		if deleted && raw != nil && isPlaceholder(raw) {
			raw = nil
		}
		if e := b.bufs[i].appendRaw(raw); e != nil {
			err = fmt.Errorf("column %s: %w", bd.cols[i].name, e)
			break
		}
	}
	if err != nil {
		for _, c := range b.bufs {
			c.truncate(n)
		}
		for len(b.fixups) > 0 && b.fixups[len(b.fixups)-1].row == n {
			delete(b.unresolved, n*len(raws)+b.fixups[len(b.fixups)-1].col)
			b.fixups = b.fixups[:len(b.fixups)-1]
		}
		return err
	}
	sum := xxhash.Sum64(row)
	if bd.rowID {
		var id uint64
		counted := false
		if s.read {
			id, counted = t.readRowID(sum, s.origin.Load())
		}
		if counted {
			version = readVersion
		} else {
			id = t.rowID(version, sum, s.origin.Load(), s.rowAt)
		}
		b.rowIDs = append(b.rowIDs, id)
	}
	b.versions = append(b.versions, version)
	b.sums = append(b.sums, sum)
	var d uint8
	if deleted {
		d = 1
	}
	b.deleted = append(b.deleted, d)
	if carry {
		if b.carried == nil {
			b.carried = map[int]bool{}
		}
		b.carried[n] = true
	}
	if t.toast {
		prev := -1
		if key != "" {
			if b.keyRow == nil {
				b.keyRow = map[string]int{}
			}
			if r, ok := b.keyRow[key]; ok {
				prev = r
			}
			b.keyRow[key] = n
		}
		b.prevRow = append(b.prevRow, prev)
	}
	if !t.queued {
		t.queued = true
		s.order = append(s.order, t)
	}
	s.rows++
	return nil
}

// isStringBuf reports whether c holds a String column (the values a delete carries).
func isStringBuf(c colBuf) bool {
	switch c.(type) {
	case *strBuf, *buf[string]:
		return true
	}
	return false
}

// waits reports whether column col of row r waits for a value from ClickHouse.
func (b *tableBatch) waits(r, col int) bool {
	_, ok := b.unresolved[r*len(b.bufs)+col]
	return ok
}

func keyString(raws [][]byte, idx []int) string {
	var sb strings.Builder
	for _, i := range idx {
		sb.Write(raws[i])
		sb.WriteByte(0)
	}
	return sb.String()
}

// keyTexts are the key members' JSON, as the record has them: lookupToast converts them with
// their columns' codecs (keyLiteral).
func keyTexts(raws [][]byte, idx []int) []string {
	out := make([]string, len(idx))
	for j, i := range idx {
		out[j] = string(raws[i])
	}
	return out
}

// resolveToast fills the unchanged-TOAST values that wait for ClickHouse, one value per chain
// (see fixup): the key's newest version in ClickHouse at or below the chain's newest version.
// That row is the right one whatever ClickHouse holds, as long as the key's earlier batches
// are in it (they are: the sink inserts one batch at a time). Either the chain is new, and the
// row is its predecessor; or the chain is a replay (a restart re-reads from the committed
// offset; a source re-sends from its confirmed position) and the row is the first copy of one
// of its records, all of which carry the chain's value. Merges keep only the newest version of
// a key and may take the others, but never that one: bounded by the chain's first version,
// the lookup found nothing once a merge had left only the chain's newest copy, or found a
// version older than the real predecessor, and stored that (empty, or wrong) in the key's
// newest row. Only a chain that is all older than the key's newest row in ClickHouse may get
// an older value, in rows that the newest one outranks.
func (s *Sink) resolveToast(ctx context.Context, name string, b *tableBatch) error {
	if len(b.fixups) == 0 {
		return nil
	}
	keyText := func(k []string) string { return strings.Join(k, "\x00") }
	type chain struct {
		key     []string
		text    string
		old     []string // the root's old key (a primary-key change)
		oldSeen bool
		first   uint64 // the root's version
		bound   uint64 // the newest version of the chain's rows of key
		members []int  // rows
		mixed   bool   // rows of another key joined it (a primary-key change)
	}
	chains := map[int]*chain{} // by root
	byCol := map[int][]*chain{}
	for _, f := range b.fixups {
		c := chains[f.root] // a root comes before the rest of its chain
		if c == nil {
			c = &chain{key: f.key, text: keyText(f.key), old: f.old, oldSeen: f.oldSeen, first: b.versions[f.row]}
			chains[f.root] = c
			byCol[f.col] = append(byCol[f.col], c)
		}
		// A row of another key joined the chain through a primary-key change: its version
		// (at or after that key's delete) does not bound this key's lookup.
		if slices.Equal(f.key, c.key) {
			c.bound = max(c.bound, b.versions[f.row])
		} else {
			c.mixed = true
		}
		c.members = append(c.members, f.row)
	}
	for col, cs := range byCol {
		if !isStringBuf(b.bufs[col]) {
			// Only a String column takes a value read back as text (setString); its lookup
			// would print the column (toString), which for a Decimal128 crashes 18.16.
			n := 0
			for _, c := range cs {
				n += len(c.members)
			}
			s.stats.toast.Add(uint64(n))
			s.log.Warn("unchanged-TOAST value in a non-String column cannot be carried from ClickHouse; storing NULL/empty",
				"table", name, "column", b.bind.cols[col].name, "rows", n)
			continue
		}
		// A chain rooted at a row that a primary-key change created reads its own key from
		// that row on (a replay finds its first copy), else the old key below the change
		// (the old key's delete at the change's version has no value).
		reqs := make([]toastReq, len(cs))
		for i, c := range cs {
			reqs[i] = toastReq{key: c.key, text: c.text, hi: c.bound}
			if c.old != nil {
				reqs[i].lo = c.first
			}
		}
		colName := quoteIdent(b.bind.cols[col].name)
		vals, err := s.lookupToast(ctx, name, colName, reqs, b.bind)
		if err != nil {
			return err
		}
		var oldReqs, ask []toastReq
		var oldOf, askOf []int
		for i, c := range cs {
			if _, ok := vals[i]; !ok && c.old != nil && c.first > 0 {
				// At or below the change: the old key's delete at it carries its last
				// values (a merge may have left nothing else of that key).
				r := toastReq{key: c.old, text: keyText(c.old), hi: c.first}
				if c.oldSeen {
					ask, askOf = append(ask, r), append(askOf, i)
				} else {
					oldReqs, oldOf = append(oldReqs, r), append(oldOf, i)
				}
			}
		}
		unseen := map[int]bool{}
		if len(oldReqs) > 0 {
			// The old key's records may be on another Kafka partition than the new key's,
			// read later: only once its delete at the change (or a later row) is in
			// ClickHouse are its rows below the change all there, and the newest of them the
			// value the new key took over; before, it may be an older one.
			seen := make([]toastReq, len(oldReqs))
			for j, r := range oldReqs {
				seen[j] = toastReq{key: r.key, text: r.text, lo: r.hi, hi: math.MaxUint64}
			}
			svals, err := s.lookupToast(ctx, name, "`_version`", seen, b.bind)
			if err != nil {
				return err
			}
			for j, r := range oldReqs {
				if _, ok := svals[j]; ok {
					ask = append(ask, r)
					askOf = append(askOf, oldOf[j])
				} else {
					unseen[oldOf[j]] = true
				}
			}
		}
		if len(ask) > 0 {
			ovals, err := s.lookupToast(ctx, name, colName, ask, b.bind)
			if err != nil {
				return err
			}
			for j, v := range ovals {
				vals[askOf[j]] = v
			}
		}
		// A chain of one key with a newer version of that key in ClickHouse is a replay of
		// records whose predecessors a merge removed: its rows, empty or not, are never the
		// key's current one (ReplacingMergeTree keeps the newest version; lookups of later
		// records find that one first), so their empty values are no loss to warn about.
		var newer []toastReq
		var newerOf []int
		for i, c := range cs {
			if _, ok := vals[i]; !ok && !unseen[i] && !c.mixed && c.bound < math.MaxUint64 {
				newer = append(newer, toastReq{key: c.key, text: c.text, lo: c.bound + 1, hi: math.MaxUint64})
				newerOf = append(newerOf, i)
			}
		}
		outranked := map[int]bool{}
		if len(newer) > 0 {
			nvals, err := s.lookupToast(ctx, name, "`_version`", newer, b.bind)
			if err != nil {
				return err
			}
			for j := range nvals {
				outranked[newerOf[j]] = true
			}
		}
		for i, c := range cs {
			v, ok := vals[i]
			if !ok && outranked[i] {
				s.log.Debug("unchanged-TOAST value with no earlier version in ClickHouse, in rows a newer version of the key outranks (a replay after a merge); storing NULL/empty",
					"table", name, "column", b.bind.cols[col].name, "key", c.key, "rows", len(c.members), "version", c.bound)
				continue
			}
			if !ok && unseen[i] {
				s.stats.toast.Add(uint64(len(c.members)))
				s.log.Warn("unchanged-TOAST value of a primary-key change whose old key's delete is not in ClickHouse yet (its records on another Kafka partition, read later); storing NULL/empty",
					"table", name, "column", b.bind.cols[col].name, "key", c.key, "old_key", c.old, "rows", len(c.members), "version", c.first)
				continue
			}
			if !ok {
				// A delete that would carry the value keeps its own; the rest go empty.
				n := 0
				for _, r := range c.members {
					if !b.carried[r] {
						n++
					}
				}
				if n > 0 {
					s.stats.toast.Add(uint64(n))
					s.log.Warn("unchanged-TOAST value with no earlier version in ClickHouse; storing NULL/empty",
						"table", name, "column", b.bind.cols[col].name, "key", c.key, "old_key", c.old, "rows", n, "version", c.bound)
				}
				continue
			}
			for _, r := range c.members {
				if !b.bufs[col].setString(r, v) {
					s.stats.toast.Add(1)
					s.log.Warn("unchanged-TOAST value in a non-String column cannot be carried from ClickHouse",
						"table", name, "column", b.bind.cols[col].name)
				}
			}
		}
	}
	b.fixups = b.fixups[:0]
	b.unresolved = nil
	return nil
}

// toastReq is one lookup of resolveToast: key's newest value with a version in [lo, hi].
type toastReq struct {
	key    []string // the key members' JSON (keyTexts)
	text   string   // key joined, to see it once per round
	lo, hi uint64
}

// maxLookupBytes bounds the keys' part of one lookup query (lookupToast).
const maxLookupBytes = 128 << 10

// lookupToast answers reqs for colName (a column or expression), by index in reqs. A key has
// one request per stretch of its history in the batch (one, or a few when the source
// re-sent): one query per round, with each key once.
//
// Keys compare as values of their columns' types (keyLiteral), never as text: a key's text is
// not its JSON for a Decimal (Base64 bytes), a Date or a timestamp, so such keys matched
// nothing and their values were stored empty; and toString of a Decimal128 (precision > 18)
// overruns memory on ClickHouse 18.16 and crashes the server. A row tells its key by
// _sluice_i, the key's place in the round: indexOf in the round's keys for a one-column key;
// for a composite key each column's place in that column's distinct values, combined into
// one number that transform maps to the place (18.16's indexOf over an array of tuples
// compares element by element: minutes for a few thousand keys). PREWHERE reads the keys'
// rows first, so the indexOf run only on them.
func (s *Sink) lookupToast(ctx context.Context, name, colName string, reqs []toastReq, bd *binding) (map[int]string, error) {
	nk := len(bd.keyIdx)
	keyCols := make([]string, nk)
	for j, i := range bd.keyIdx {
		keyCols[j] = quoteIdent(bd.cols[i].name)
	}
	keyExpr := keyCols[0]
	if nk > 1 {
		keyExpr = "(" + strings.Join(keyCols, ", ") + ")"
	}
	// A composite key's place numbers multiply: at most maxRound keys a round keeps their
	// product (maxRound+1)^nk below 2^63.
	maxRound := math.MaxInt
	if nk > 1 {
		maxRound = max(1, int(math.Pow(2, 63/float64(nk)))-1)
	}
	// Each request's key as literals, and about what it adds to a query.
	litsOf := make([][]string, len(reqs))
	sizeOf := make([]int, len(reqs))
	for i := range reqs {
		l := make([]string, nk)
		n := 40 // its bounds, its code and place, separators
		for j, k := range reqs[i].key {
			lit, err := bd.cols[bd.keyIdx[j]].keyLiteral([]byte(k))
			if err != nil {
				return nil, fmt.Errorf("unchanged-TOAST lookup in %s: key column %s: %w", name, bd.cols[bd.keyIdx[j]].name, err)
			}
			l[j] = lit
			n += 2*len(lit) + 4 // in the IN set and in its column's array
		}
		litsOf[i], sizeOf[i] = l, n
	}
	vals := map[int]string{}
	todo := make([]int, len(reqs))
	for i := range todo {
		todo[i] = i
	}
	for len(todo) > 0 {
		var round, rest []int
		inRound := map[string]bool{}
		size := 0
		for _, i := range todo {
			// A round stays well below the server's max_query_size (256 KiB by default):
			// beyond it the query is refused, and refused again at every retry.
			if inRound[reqs[i].text] || len(round) == maxRound || len(round) > 0 && size+sizeOf[i] > maxLookupBytes {
				rest = append(rest, i)
				continue
			}
			inRound[reqs[i].text] = true
			round = append(round, i)
			size += sizeOf[i]
		}
		todo = rest
		set := make([]string, 0, len(round))
		hi := make([]string, 0, len(round))
		lo := make([]string, 0, len(round))
		anyLo := false
		// Per key column, its distinct literals in the round and each one's place (1-based).
		distinct := make([][]string, nk)
		place := make([]map[string]uint64, nk)
		for j := range place {
			place[j] = map[string]uint64{}
		}
		lits := make([][]string, 0, len(round))
		for _, i := range round {
			r := &reqs[i]
			l := litsOf[i]
			for j, lit := range l {
				if _, ok := place[j][lit]; !ok {
					distinct[j] = append(distinct[j], lit)
					place[j][lit] = uint64(len(distinct[j]))
				}
			}
			lits = append(lits, l)
			if nk == 1 {
				set = append(set, l[0])
			} else {
				set = append(set, "("+strings.Join(l, ", ")+")")
			}
			hi = append(hi, strconv.FormatUint(r.hi, 10))
			lo = append(lo, strconv.FormatUint(r.lo, 10))
			anyLo = anyLo || r.lo > 0
		}
		arrayOf := func(j int) string {
			return "CAST([" + strings.Join(distinct[j], ", ") + "] AS Array(" + bd.cols[bd.keyIdx[j]].chType() + "))"
		}
		var id string
		if nk == 1 {
			id = "indexOf(" + arrayOf(0) + ", " + keyCols[0] + ")" // distinct[0] is the round's keys, in order
		} else {
			code := ""
			for j := range nk {
				t := "toUInt64(indexOf(" + arrayOf(j) + ", " + keyCols[j] + "))"
				if j == 0 {
					code = t
				} else {
					code = "(" + code + ") * " + strconv.Itoa(len(distinct[j])+1) + " + " + t
				}
			}
			codes := make([]string, len(round))
			places := make([]string, len(round))
			for n, l := range lits {
				var code uint64
				for j, lit := range l {
					code = code*uint64(len(distinct[j])+1) + place[j][lit]
				}
				codes[n] = strconv.FormatUint(code, 10)
				places[n] = strconv.Itoa(n + 1)
			}
			id = "transform(" + code + ", CAST([" + strings.Join(codes, ", ") + "] AS Array(UInt64)), CAST([" +
				strings.Join(places, ", ") + "] AS Array(UInt64)), toUInt64(0))"
		}
		// A delete row's empty value is no value (a delete that carried none: no earlier
		// value, or written before deletes carried them).
		q := "SELECT " + id + " AS _sluice_i, toString(argMaxIf(" + colName + ", `_version`, `_is_deleted` = 0 OR notEmpty(toString(" + colName + ")))) FROM " +
			s.db + "." + quoteIdent(name) + " PREWHERE " + keyExpr + " IN (" + strings.Join(set, ", ") + ")" +
			" WHERE `_version` <= arrayElement(CAST([" + strings.Join(hi, ", ") + "] AS Array(UInt64)), _sluice_i)"
		if anyLo {
			q += " AND `_version` >= arrayElement(CAST([" + strings.Join(lo, ", ") + "] AS Array(UInt64)), _sluice_i)"
		}
		q += " GROUP BY _sluice_i"
		read := s.readToast
		if s.toastLookup != nil {
			read = s.toastLookup
		}
		found, err := read(ctx, name, q)
		if err != nil {
			return nil, err
		}
		for j, i := range round {
			if v, ok := found[j+1]; ok {
				vals[i] = v
			}
		}
	}
	return vals, nil
}

// readToast runs a lookup of resolveToast: the value (not NULL) by the key's place in the
// round (_sluice_i).
func (s *Sink) readToast(ctx context.Context, name, q string) (map[int]string, error) {
	var found map[int]string
	err := s.retry(ctx, "read unchanged-TOAST values of "+name, func(ctx context.Context) error {
		found = map[int]string{} // an attempt cut off half-way reads again from the start
		rows, err := s.conn.Query(ctx, q)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var i uint64
			var v *string // NULL: only NULLs (argMax skips them), e.g. a value stored NULL for want of one
			if err := rows.Scan(&i, &v); err != nil {
				return err
			}
			if v != nil && i > 0 {
				found[int(i)] = *v
			}
		}
		return rows.Err()
	})
	return found, err
}

// alter is one ALTER TABLE on a column: its SQL, the column and the type it leaves ("" for a
// drop).
type alter struct {
	sql, col, typ string
}

// altered reports whether the table already is as a has it (the column there with its type, or
// gone): the answer to an ALTER can be lost with the connection after the server applied it,
// and ClickHouse 18.16 has no ADD/DROP COLUMN IF [NOT] EXISTS, so the retry would fail for
// ever ("Cannot find column … to drop").
func (s *Sink) altered(ctx context.Context, table string, a alter) bool {
	var typ string
	var n uint64
	err := s.conn.QueryRow(ctx, "SELECT count(), any(type) FROM system.columns WHERE database = "+quoteString(s.cfg.Database)+
		" AND table = "+quoteString(table)+" AND name = "+quoteString(a.col)).Scan(&n, &typ)
	if err != nil {
		return false
	}
	if a.typ == "" {
		return n == 0
	}
	return n == 1 && typ == a.typ
}
