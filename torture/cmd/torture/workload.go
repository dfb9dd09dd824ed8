package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The workload's tables. Every value is a function of (table, key, version), so the checker
// needs only the version of each row to know its whole content.
const (
	tKV     = "t_kv"     // inserts, updates, deletes, primary-key changes, big transactions, ALTER TABLE
	tToast  = "t_toast"  // 6–16 KB values (out of line in PostgreSQL: TOAST), updated with and without them
	tNoKey  = "t_nokey"  // no primary key: uid is unique by construction and is the checker's key
	tMarker = "t_marker" // one row written after the faults stop: the drain point
)

var tables = []string{tKV, tToast, tNoKey}

// note is the text of t_kv.note and t_nokey.note for one version.
func note(id, ver int64) string {
	return fmt.Sprintf("n%d-v%d-%s", id, ver, strings.Repeat("x", int(uint64(id*31+ver)%97)))
}

// big is t_toast.big for one content version: hex of pseudo-random bytes, so it compresses
// only to half and stays out of line.
func big(id, bver int64) string {
	r := rand.New(rand.NewPCG(uint64(id), uint64(bver)))
	n := 3<<10 + r.IntN(5<<10)
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return hex.EncodeToString(b)
}

// row is the workload's truth about one key. moved: t_toast.big came with a primary-key change
// from another key and no write of this key has set it since, so a change stream may carry it
// only as the unchanged-TOAST placeholder (PostgreSQL sends no value for it: Debezium's
// documented limit) and a sink cannot know it.
type row struct {
	ver, bver int64
	moved     bool
}

type truthTable struct {
	rows map[int64]row
	live []int64
	idx  map[int64]int
}

func newTruthTable() *truthTable {
	return &truthTable{rows: map[int64]row{}, idx: map[int64]int{}}
}

func (t *truthTable) set(id int64, r row) {
	if _, ok := t.rows[id]; !ok {
		t.idx[id] = len(t.live)
		t.live = append(t.live, id)
	}
	t.rows[id] = r
}

func (t *truthTable) del(id int64) {
	i, ok := t.idx[id]
	if !ok {
		return
	}
	last := t.live[len(t.live)-1]
	t.live[i], t.idx[last] = last, i
	t.live = t.live[:len(t.live)-1]
	delete(t.idx, id)
	delete(t.rows, id)
}

func (t *truthTable) pick(r *rand.Rand) (int64, bool) {
	if len(t.live) == 0 {
		return 0, false
	}
	return t.live[r.IntN(len(t.live))], true
}

// dialect is what differs between PostgreSQL and MySQL/MariaDB for the workload.
type dialect struct {
	pg bool
}

func (d dialect) setup() []string {
	textType, bigType := "text", "text"
	if !d.pg {
		textType, bigType = "varchar(255)", "longtext"
	}
	s := []string{
		"CREATE TABLE t_kv (id bigint PRIMARY KEY, ver bigint NOT NULL, note " + textType + " NOT NULL)",
		"CREATE TABLE t_toast (id bigint PRIMARY KEY, ver bigint NOT NULL, bver bigint NOT NULL, big " + bigType + " NOT NULL)",
		"CREATE TABLE t_nokey (uid bigint NOT NULL, ver bigint NOT NULL, note " + textType + " NOT NULL)",
		"CREATE TABLE t_marker (id int PRIMARY KEY, ver bigint NOT NULL)",
	}
	if d.pg {
		// Without a key PostgreSQL refuses UPDATE/DELETE on a published table unless the
		// replica identity is FULL (Debezium's documented requirement too).
		s = append(s, "ALTER TABLE t_nokey REPLICA IDENTITY FULL")
	}
	return s
}

// change is one truth update a transaction makes if it commits.
type change struct {
	table string
	id    int64
	r     row
	del   bool
}

type workloadConfig struct {
	BigRows    int           // rows of a big transaction
	BigEvery   time.Duration // how often one runs
	AlterEvery time.Duration
	Pause      time.Duration // between small transactions
}

// workload writes to the source the whole time and records the truth of every write.
type workload struct {
	db  sqlDB
	d   dialect
	cfg workloadConfig
	rng *rand.Rand

	mu        sync.Mutex
	truth     map[string]*truthTable
	uncertain map[string]map[int64]bool // keys of a transaction whose COMMIT failed: outcome unknown

	nextID   map[string]int64
	ver      int64
	Writes   atomic.Int64 // row changes committed
	Txns     atomic.Int64
	Big      atomic.Int64
	Alters   atomic.Int64
	Errors   atomic.Int64
	Unknown  atomic.Int64 // commits with an unknown outcome (resolved by reading the rows back)
	lastErr  atomic.Value
	alterReq atomic.Bool // an ALTER TABLE asked for by a fault (disk_full: the schema history must grow)
}

// AlterSoon asks for an ALTER TABLE as the next write.
func (w *workload) AlterSoon() { w.alterReq.Store(true) }

func newWorkload(db sqlDB, d dialect, cfg workloadConfig, seed uint64) *workload {
	w := &workload{db: db, d: d, cfg: cfg, rng: rand.New(rand.NewPCG(seed, 0x70727475)),
		truth: map[string]*truthTable{}, uncertain: map[string]map[int64]bool{}, nextID: map[string]int64{}}
	for _, t := range tables {
		w.truth[t] = newTruthTable()
		w.uncertain[t] = map[int64]bool{}
		w.nextID[t] = 1
	}
	return w
}

func (w *workload) newID(t string) int64 { id := w.nextID[t]; w.nextID[t]++; return id }
func (w *workload) newVer() int64        { w.ver++; return w.ver }
func q(s string) string                  { return "'" + s + "'" } // values are [0-9a-z-] only
func i64(v int64) string                 { return strconv.FormatInt(v, 10) }

// keyCol is the key column of a workload table (t_nokey has a unique column, not a key).
func keyCol(t string) string {
	if t == tNoKey {
		return "uid"
	}
	return "id"
}

func (w *workload) pick(t string) (int64, bool) { return w.truth[t].pick(w.rng) }

// Run writes until ctx ends. Errors (the database restarting, a cut) are counted and retried
// after a short pause; they never stop the workload.
func (w *workload) Run(ctx context.Context) {
	nextBig := time.Now().Add(w.cfg.BigEvery / 2)
	nextAlter := time.Now().Add(w.cfg.AlterEvery / 2)
	for ctx.Err() == nil {
		if err := w.resolve(ctx); err != nil {
			w.fail(ctx, err)
			continue
		}
		var err error
		switch {
		case time.Now().After(nextBig):
			err = w.bigTxn(ctx)
			if err == nil {
				nextBig = time.Now().Add(w.cfg.BigEvery)
			}
		case w.alterReq.Swap(false) || time.Now().After(nextAlter):
			err = w.alter(ctx)
			if err == nil {
				nextAlter = time.Now().Add(w.cfg.AlterEvery)
			}
		default:
			err = w.smallTxn(ctx)
		}
		if err != nil {
			w.fail(ctx, err)
			continue
		}
		if w.cfg.Pause > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(w.cfg.Pause):
			}
		}
	}
}

func (w *workload) fail(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	w.Errors.Add(1)
	w.lastErr.Store(err.Error())
	select {
	case <-ctx.Done():
	case <-time.After(200 * time.Millisecond):
	}
}

// smallTxn is 1–20 random changes over the three tables.
func (w *workload) smallTxn(ctx context.Context) error {
	n := 1
	if w.rng.IntN(3) == 0 {
		n = 1 + w.rng.IntN(20)
	}
	var stmts []string
	var chs []change
	touched := map[string]map[int64]bool{}
	touch := func(t string, id int64) bool {
		if touched[t] == nil {
			touched[t] = map[int64]bool{}
		}
		if touched[t][id] {
			return false
		}
		touched[t][id] = true
		return true
	}
	for range n {
		t := [...]string{tKV, tKV, tToast, tNoKey}[w.rng.IntN(4)]
		op := w.rng.IntN(100)
		id, ok := w.pick(t)
		if !ok || len(w.truth[t].live) < 50 || op < 40 || !touch(t, id) {
			op = -1 // insert
		}
		ver := w.newVer()
		switch {
		case op < 0: // insert
			id = w.newID(t)
			touch(t, id)
			switch t {
			case tKV:
				stmts = append(stmts, "INSERT INTO t_kv (id, ver, note) VALUES ("+i64(id)+", "+i64(ver)+", "+q(note(id, ver))+")")
			case tNoKey:
				stmts = append(stmts, "INSERT INTO t_nokey (uid, ver, note) VALUES ("+i64(id)+", "+i64(ver)+", "+q(note(id, ver))+")")
			case tToast:
				stmts = append(stmts, "INSERT INTO t_toast (id, ver, bver, big) VALUES ("+i64(id)+", "+i64(ver)+", "+i64(ver)+", "+q(big(id, ver))+")")
			}
			chs = append(chs, change{table: t, id: id, r: row{ver: ver, bver: ver}})
		case op < 75: // update
			switch t {
			case tKV, tNoKey:
				stmts = append(stmts, "UPDATE "+t+" SET ver = "+i64(ver)+", note = "+q(note(id, ver))+" WHERE "+keyCol(t)+" = "+i64(id))
				chs = append(chs, change{table: t, id: id, r: row{ver: ver}})
			case tToast:
				old := w.truth[t].rows[id]
				if w.rng.IntN(2) == 0 { // the big value unchanged: PostgreSQL sends it as "unchanged TOAST"
					stmts = append(stmts, "UPDATE t_toast SET ver = "+i64(ver)+" WHERE id = "+i64(id))
					chs = append(chs, change{table: t, id: id, r: row{ver, old.bver, old.moved}})
				} else {
					stmts = append(stmts, "UPDATE t_toast SET ver = "+i64(ver)+", bver = "+i64(ver)+", big = "+q(big(id, ver))+" WHERE id = "+i64(id))
					chs = append(chs, change{table: t, id: id, r: row{ver: ver, bver: ver}})
				}
			}
		case op < 85 && t != tNoKey: // primary-key change
			nid := w.newID(t)
			touch(t, nid)
			old := w.truth[t].rows[id]
			stmts = append(stmts, "UPDATE "+t+" SET id = "+i64(nid)+", ver = "+i64(ver)+" WHERE id = "+i64(id))
			if t == tKV {
				// note follows (id, ver); keep it consistent with the new key
				stmts[len(stmts)-1] = "UPDATE t_kv SET id = " + i64(nid) + ", ver = " + i64(ver) + ", note = " + q(note(nid, ver)) + " WHERE id = " + i64(id)
			}
			chs = append(chs, change{table: t, id: id, del: true}, change{table: t, id: nid, r: row{ver, old.bver, t == tToast}})
		default: // delete
			stmts = append(stmts, "DELETE FROM "+t+" WHERE "+keyCol(t)+" = "+i64(id))
			chs = append(chs, change{table: t, id: id, del: true})
		}
	}
	return w.txn(ctx, stmts, chs)
}

// bigTxn inserts BigRows rows into t_kv in one transaction, or updates as many.
func (w *workload) bigTxn(ctx context.Context) error {
	var stmts []string
	var chs []change
	const chunk = 1000
	if w.rng.IntN(2) == 0 || len(w.truth[tKV].live) < w.cfg.BigRows {
		for done := 0; done < w.cfg.BigRows; done += chunk {
			var b strings.Builder
			b.WriteString("INSERT INTO t_kv (id, ver, note) VALUES ")
			for i := 0; i < chunk && done+i < w.cfg.BigRows; i++ {
				id, ver := w.newID(tKV), w.newVer()
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString("(" + i64(id) + ", " + i64(ver) + ", " + q(note(id, ver)) + ")")
				chs = append(chs, change{table: tKV, id: id, r: row{ver: ver}})
			}
			stmts = append(stmts, b.String())
		}
	} else {
		// One UPDATE over a contiguous range of ids: ver = base + id, so the truth is known per row.
		lo := w.truth[tKV].live[w.rng.IntN(len(w.truth[tKV].live))]
		hi := lo + int64(w.cfg.BigRows)
		base := w.ver + 1
		w.ver += hi - lo + 1 // reserve every version the update can write
		// note must match note(id, ver): built by the database from the same format
		noteExpr := w.noteSQL("id", "("+i64(base)+" + id - "+i64(lo)+")")
		stmts = append(stmts, "UPDATE t_kv SET ver = "+i64(base)+" + id - "+i64(lo)+", note = "+noteExpr+" WHERE id BETWEEN "+i64(lo)+" AND "+i64(hi))
		for id := lo; id <= hi; id++ {
			if _, ok := w.truth[tKV].rows[id]; ok {
				chs = append(chs, change{table: tKV, id: id, r: row{ver: base + id - lo}})
			}
		}
	}
	if err := w.txn(ctx, stmts, chs); err != nil {
		return err
	}
	w.Big.Add(1)
	return nil
}

// noteSQL is note(id, ver) as an SQL expression.
func (w *workload) noteSQL(id, ver string) string {
	rep := "mod(" + id + " * 31 + " + ver + ", 97)"
	if w.d.pg {
		return "'n' || " + id + " || '-v' || " + ver + " || '-' || repeat('x', (" + rep + ")::int)"
	}
	return "CONCAT('n', " + id + ", '-v', " + ver + ", '-', REPEAT('x', " + rep + "))"
}

// alter adds t_kv.extra if it is missing and drops it otherwise.
func (w *workload) alter(ctx context.Context) error {
	var n int
	err := queryOne(ctx, w.db, "SELECT count(*) FROM information_schema.columns WHERE table_name = 't_kv' AND column_name = 'extra' AND table_schema = "+w.schemaExpr(), &n)
	if err != nil {
		return err
	}
	stmt := "ALTER TABLE t_kv ADD COLUMN extra int DEFAULT 7"
	if n > 0 {
		stmt = "ALTER TABLE t_kv DROP COLUMN extra"
	}
	if err := w.db.Exec(ctx, stmt); err != nil {
		return err
	}
	w.Alters.Add(1)
	return nil
}

func (w *workload) schemaExpr() string {
	if w.d.pg {
		return "current_schema()"
	}
	return "DATABASE()"
}

// txn runs stmts in one transaction and applies chs to the truth if it commits. An error before
// COMMIT means a rollback; a failed COMMIT has an unknown outcome, so its keys are read back.
func (w *workload) txn(ctx context.Context, stmts []string, chs []change) error {
	committing, err := w.db.Txn(ctx, stmts)
	if err != nil && !committing {
		return err
	}
	if err != nil {
		w.Unknown.Add(1)
		w.mu.Lock()
		for _, c := range chs {
			w.uncertain[c.table][c.id] = true
		}
		w.mu.Unlock()
		return fmt.Errorf("commit: %w", err)
	}
	w.mu.Lock()
	for _, c := range chs {
		if c.del {
			w.truth[c.table].del(c.id)
		} else {
			w.truth[c.table].set(c.id, c.r)
		}
	}
	w.mu.Unlock()
	w.Writes.Add(int64(len(chs)))
	w.Txns.Add(1)
	return nil
}

// resolve reads back the keys of commits with an unknown outcome.
func (w *workload) resolve(ctx context.Context) error {
	for _, t := range tables {
		w.mu.Lock()
		ids := make([]int64, 0, len(w.uncertain[t]))
		for id := range w.uncertain[t] {
			ids = append(ids, id)
		}
		w.mu.Unlock()
		for len(ids) > 0 {
			n := min(len(ids), 1000)
			part := ids[:n]
			ids = ids[n:]
			cols := keyCol(t) + ", ver, " + map[bool]string{true: "bver", false: "0"}[t == tToast]
			var in strings.Builder
			for i, id := range part {
				if i > 0 {
					in.WriteString(",")
				}
				in.WriteString(i64(id))
			}
			found := map[int64]row{}
			err := w.db.Query(ctx, "SELECT "+cols+" FROM "+t+" WHERE "+keyCol(t)+" IN ("+in.String()+")", func(scan func(...any) error) error {
				var id int64
				var r row
				if err := scan(&id, &r.ver, &r.bver); err != nil {
					return err
				}
				found[id] = r
				return nil
			})
			if err != nil {
				return err
			}
			w.mu.Lock()
			for _, id := range part {
				if r, ok := found[id]; ok {
					// A value written by this key (bver = ver) is not moved; one kept from
					// before keeps its state; otherwise the key may have come by a key
					// change: allow the placeholder (lenient, never a false failure).
					if old, known := w.truth[t].rows[id]; r.bver != r.ver && t == tToast {
						r.moved = !known || old.bver != r.bver || old.moved
					}
					w.truth[t].set(id, r)
				} else {
					w.truth[t].del(id)
				}
				delete(w.uncertain[t], id)
			}
			w.mu.Unlock()
		}
	}
	return nil
}

// Truth returns a copy of the truth of table t.
func (w *workload) Truth(t string) map[int64]row {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := make(map[int64]row, len(w.truth[t].rows))
	for k, v := range w.truth[t].rows {
		m[k] = v
	}
	return m
}

func (w *workload) LastError() string {
	s, _ := w.lastErr.Load().(string)
	return s
}

var errNotDrained = errors.New("not drained")
